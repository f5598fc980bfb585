package computehttp

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/nimbus-cloud/nimbus/internal/api"
	"github.com/nimbus-cloud/nimbus/internal/compute"
)

// Server group schemas (schemas/server_groups.py; api-ref "Server groups").
var (
	groupPoliciesV21 = &schema{types: []string{"array"}, minItems: intp(1), maxItems: intp(1),
		items: &schema{types: []string{"string"}, enum: []any{compute.PolicyAntiAffinity, compute.PolicyAffinity}}}
	// groupPoliciesV215 adds the soft policies.
	groupPoliciesV215 = &schema{types: []string{"array"}, minItems: intp(1), maxItems: intp(1),
		items: &schema{types: []string{"string"}, enum: []any{compute.PolicyAntiAffinity, compute.PolicyAffinity,
			compute.PolicySoftAntiAffinity, compute.PolicySoftAffinity}}}
	groupPolicyV264 = &schema{types: []string{"string"}, enum: []any{compute.PolicyAntiAffinity, compute.PolicyAffinity,
		compute.PolicySoftAntiAffinity, compute.PolicySoftAffinity}}
	groupRulesV264 = &schema{types: []string{"object"},
		props: []prop{{compute.RuleMaxServerPerHost, positiveInteger}}, additional: no()}

	serverGroupCreateV21 = serverGroupBody([]string{"name", "policies"},
		prop{"name", nameParam}, prop{"policies", groupPoliciesV21})
	serverGroupCreateV215 = serverGroupBody([]string{"name", "policies"},
		prop{"name", nameParam}, prop{"policies", groupPoliciesV215})
	serverGroupCreateV264 = serverGroupBody([]string{"name", "policy"},
		prop{"name", nameParam}, prop{"policy", groupPolicyV264}, prop{"rules", groupRulesV264})

	// serverGroupQueryV275 is the list query from 2.75, which refuses
	// other parameters; earlier versions ignore them.
	serverGroupQueryV275 = (&schema{types: []string{"object"}, props: []prop{{"all_projects", anyString},
		{"limit", nonNegative}, {"offset", nonNegative}}, additional: no()}).compile()
	serverGroupQueryV21 = (&schema{types: []string{"object"}, props: []prop{{"limit", nonNegative},
		{"offset", nonNegative}}}).compile()
)

// serverGroupBody is a {"server_group": {...}} create schema.
func serverGroupBody(required []string, ps ...prop) *schema {
	return (&schema{types: []string{"object"}, props: []prop{{"server_group", &schema{types: []string{"object"},
		props: ps, required: required, additional: no()}}}, required: []string{"server_group"},
		additional: no()}).compile()
}

func (h *Handler) serverGroupRoutes(srv *api.Server) {
	h.route(srv, "GET /v2.1/os-server-groups", h.listServerGroups)
	h.route(srv, "POST /v2.1/os-server-groups", h.createServerGroup)
	h.route(srv, "GET /v2.1/os-server-groups/{id}", h.showServerGroup)
	h.route(srv, "DELETE /v2.1/os-server-groups/{id}", h.deleteServerGroup)
}

// serverGroupView is a group as the microversion shows it: policies and
// metadata before 2.64, policy and rules from it; owners from 2.13.
func serverGroupView(g compute.ServerGroup, v api.Version) map[string]any {
	members := g.Members
	if members == nil {
		members = []string{}
	}
	out := map[string]any{"id": g.UUID, "name": g.Name, "members": members}
	if at(v, 64) {
		out["policy"] = g.Policy
		rules := map[string]any{}
		for k, n := range g.Rules {
			rules[k] = n
		}
		out["rules"] = rules
	} else {
		out["policies"] = []string{g.Policy}
		out["metadata"] = map[string]any{}
	}
	if at(v, 13) {
		out["project_id"] = g.ProjectID
		out["user_id"] = g.UserID
	}
	return out
}

func (h *Handler) createServerGroup(w http.ResponseWriter, r *http.Request, v api.Version) error {
	body, err := h.readBody(w, r)
	if err != nil {
		return err
	}
	s := serverGroupCreateV21
	switch {
	case at(v, 64):
		s = serverGroupCreateV264
	case at(v, 15):
		s = serverGroupCreateV215
	}
	if err := validateBody(s, body); err != nil {
		return err
	}
	in := body.(map[string]any)["server_group"].(map[string]any)
	gc := compute.ServerGroupCreate{Name: in["name"].(string)}
	if at(v, 64) {
		gc.Policy = in["policy"].(string)
		if rules, ok := in["rules"].(map[string]any); ok {
			gc.Rules = map[string]int{}
			for k, raw := range rules {
				n, err := strconv.Atoi(fmt.Sprint(raw))
				if err != nil {
					return api.BadRequest("Invalid input for field/attribute %s. Value: %v. It must be an integer.",
						k, raw)
				}
				gc.Rules[k] = n
			}
		}
	} else {
		gc.Policy = in["policies"].([]any)[0].(string)
	}
	g, err := h.svc.CreateServerGroup(r.Context(), gc)
	if err != nil {
		return err
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"server_group": serverGroupView(g, v)})
	return nil
}

func (h *Handler) listServerGroups(w http.ResponseWriter, r *http.Request, v api.Version) error {
	q := r.URL.Query()
	s := serverGroupQueryV21
	if at(v, 75) {
		s = serverGroupQueryV275
	}
	if err := validateQuery(s, q); err != nil {
		return err
	}
	var limit *int
	offset := 0
	if p, ok := last(q, "limit"); ok {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return api.BadRequest("limit param must be an integer")
		}
		limit = &n
	}
	if p, ok := last(q, "offset"); ok {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return api.BadRequest("offset param must be an integer")
		}
		offset = n
	}
	// nova looks only at whether all_projects is present.
	_, all := q["all_projects"]
	gs, err := h.svc.ServerGroups(r.Context(), all, offset, limit)
	if err != nil {
		return err
	}
	list := make([]map[string]any, len(gs))
	for i, g := range gs {
		list[i] = serverGroupView(g, v)
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"server_groups": list})
	return nil
}

func (h *Handler) showServerGroup(w http.ResponseWriter, r *http.Request, v api.Version) error {
	g, err := h.svc.ServerGroup(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"server_group": serverGroupView(g, v)})
	return nil
}

func (h *Handler) deleteServerGroup(w http.ResponseWriter, r *http.Request, _ api.Version) error {
	if err := h.svc.DeleteServerGroup(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	noContent(w, http.StatusNoContent)
	return nil
}
