package identityhttp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/nimbus-cloud/nimbus/internal/api"
	"github.com/nimbus-cloud/nimbus/internal/identity"
)

func (h *Handler) complianceRoutes(srv *api.Server) {
	srv.Handle("GET /v3/users/{user_id}/access_rules", h.authed(h.listAccessRules))
	srv.Handle("GET /v3/users/{user_id}/access_rules/{access_rule_id}", h.authed(h.getAccessRule))
	srv.Handle("DELETE /v3/users/{user_id}/access_rules/{access_rule_id}", h.authed(h.deleteAccessRule))
}

// accessRuleRef is an access rule inside an application credential or a token
// (api-ref: Application Credentials, "Create application credential" response
// and "Authenticating with an Application Credential").
type accessRuleRef struct {
	ID      string `json:"id"`
	Service string `json:"service"`
	Path    string `json:"path"`
	Method  string `json:"method"`
}

// accessRuleRefs renders access rules inside another resource; nil for none,
// so that the member is left out as keystone leaves it out.
func accessRuleRefs(rules []identity.AccessRule) []accessRuleRef {
	if len(rules) == 0 {
		return nil
	}
	out := make([]accessRuleRef, len(rules))
	for i, r := range rules {
		out[i] = accessRuleRef{ID: r.ID, Service: r.Service, Path: r.Path, Method: r.Method}
	}
	return out
}

// accessRuleView is an access rule as GET /v3/users/{user_id}/access_rules
// renders it (api-ref: Application Credentials, "List access rules" and "Show
// access rule details"). The self link names the rule's real location, below
// its user.
type accessRuleView struct {
	accessRuleRef
	Links map[string]any `json:"links"`
}

func newAccessRuleView(r *http.Request, rule identity.AccessRule) accessRuleView {
	return accessRuleView{accessRuleRef: accessRuleRef{ID: rule.ID, Service: rule.Service, Path: rule.Path, Method: rule.Method},
		Links: selfLink(r, "/v3/users/"+rule.UserID+"/access_rules/"+rule.ID)}
}

// parseAccessRules reads the "access_rules" member of an application
// credential create body: a list of objects with optional id, service, path
// and method strings; other members are ignored, as keystone's schema allows.
func parseAccessRules(raw json.RawMessage) ([]identity.AccessRule, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil || items == nil {
		return nil, api.BadRequest("Invalid input for field/attribute access_rules. Value: %s. %s is not of type 'array'",
			compactJSON(raw), compactJSON(raw))
	}
	rules := make([]identity.AccessRule, len(items))
	for i, item := range items {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(item, &obj); err != nil || obj == nil {
			return nil, api.BadRequest("Invalid input for field/attribute %d. Value: %s. %s is not of type 'object'",
				i, compactJSON(item), compactJSON(item))
		}
		fields := []struct {
			name string
			dst  *string
		}{{"id", &rules[i].ID}, {"service", &rules[i].Service}, {"path", &rules[i].Path}, {"method", &rules[i].Method}}
		for _, f := range fields {
			v, ok := obj[f.name]
			if !ok {
				continue
			}
			if err := json.Unmarshal(v, f.dst); err != nil || string(v) == "null" {
				return nil, api.BadRequest("Invalid input for field/attribute %s. Value: %s. %s is not of type 'string'",
					f.name, compactJSON(v), compactJSON(v))
			}
		}
	}
	return rules, nil
}

// compactJSON renders a JSON value on one line for an error message.
func compactJSON(raw json.RawMessage) string {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return fmt.Sprintf("%q", raw)
	}
	return b.String()
}

func (h *Handler) listAccessRules(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	rules, err := h.svc.ListAccessRules(r.Context(), r.PathValue("user_id"),
		identity.AccessRuleFilter{Service: q.Get("service"), Path: q.Get("path"), Method: q.Get("method")})
	if err != nil {
		writeError(w, r, err)
		return
	}
	views := make([]accessRuleView, len(rules))
	for i, rule := range rules {
		views[i] = newAccessRuleView(r, rule)
	}
	api.WriteJSON(w, http.StatusOK, listBody(h, r, "access_rules", views))
}

func (h *Handler) getAccessRule(w http.ResponseWriter, r *http.Request) {
	rule, err := h.svc.GetAccessRule(r.Context(), r.PathValue("user_id"), r.PathValue("access_rule_id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"access_rule": newAccessRuleView(r, rule)})
}

func (h *Handler) deleteAccessRule(w http.ResponseWriter, r *http.Request) {
	writeNoContent(w, r, h.svc.DeleteAccessRule(r.Context(), r.PathValue("user_id"), r.PathValue("access_rule_id")))
}
