package identityhttp

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/api"
	"github.com/nimbus-cloud/nimbus/internal/identity"
)

func (h *Handler) appCredRoutes(srv *api.Server) {
	srv.Handle("GET /v3/users/{user_id}/application_credentials", h.authed(h.listAppCreds))
	srv.Handle("POST /v3/users/{user_id}/application_credentials", h.authed(h.createAppCred))
	srv.Handle("GET /v3/users/{user_id}/application_credentials/{application_credential_id}", h.authed(h.getAppCred))
	srv.Handle("DELETE /v3/users/{user_id}/application_credentials/{application_credential_id}", h.authed(h.deleteAppCred))
}

// parseISO8601 reads the timestamps keystone accepts: RFC 3339 with or without
// fractional seconds, or without a zone (then UTC), as in "2026-02-27T18:30:59".
func parseISO8601(s string) (time.Time, bool) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, true
	}
	for _, layout := range []string{"2006-01-02T15:04:05.999999999", "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, strings.TrimSuffix(s, "Z")); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// appCredRoleView is a role of an application credential (api-ref: Application
// Credentials, "Show application credential details").
type appCredRoleView struct {
	ID          string         `json:"id"`
	Name        string         `json:"name"`
	DomainID    *string        `json:"domain_id"`
	Description *string        `json:"description"`
	Options     map[string]any `json:"options"`
}

// appCredView is an application credential as keystone renders it (api-ref:
// Application Credentials); secret appears only in the answer to creation and
// expires_at is null for a credential that never expires.
type appCredView struct {
	ID           string            `json:"id"`
	Name         string            `json:"name"`
	Description  *string           `json:"description"`
	UserID       string            `json:"user_id"`
	ProjectID    string            `json:"project_id"`
	ExpiresAt    *string           `json:"expires_at"`
	Unrestricted bool              `json:"unrestricted"`
	Roles        []appCredRoleView `json:"roles"`
	// AccessRules is left out for a credential without any, as keystone does.
	AccessRules []accessRuleRef `json:"access_rules,omitempty"`
	Secret      string          `json:"secret,omitempty"`
	Links       map[string]any  `json:"links"`
}

func newAppCredView(r *http.Request, d identity.AppCredDetail) appCredView {
	v := appCredView{ID: d.ID, Name: d.Name, Description: nullIfEmpty(d.Description), UserID: d.UserID,
		ProjectID: d.ProjectID, Unrestricted: d.Unrestricted, Secret: d.Secret,
		Roles: make([]appCredRoleView, len(d.Roles)), AccessRules: accessRuleRefs(d.AccessRules),
		Links: selfLink(r, "/v3/users/"+d.UserID+"/application_credentials/"+d.ID)}
	if !d.ExpiresAt.IsZero() {
		exp := d.ExpiresAt.UTC().Format("2006-01-02T15:04:05.000000")
		v.ExpiresAt = &exp
	}
	for i, role := range d.Roles {
		opts := role.Options
		if opts == nil {
			opts = map[string]any{}
		}
		v.Roles[i] = appCredRoleView{ID: role.ID, Name: role.Name, DomainID: nullIfEmpty(role.DomainID),
			Description: nullIfEmpty(role.Description), Options: opts}
	}
	return v
}

// appCredBody is the "application_credential" object of
// POST /v3/users/{user_id}/application_credentials (api-ref: Application
// Credentials, "Create application credential").
type appCredBody struct {
	Name         jsonOpt[string] `json:"name"`
	Description  jsonOpt[string] `json:"description"`
	Secret       jsonOpt[string] `json:"secret"`
	ExpiresAt    jsonOpt[string] `json:"expires_at"`
	Unrestricted jsonOpt[bool]   `json:"unrestricted"`
	Roles        []struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"roles"`
	AccessRules json.RawMessage `json:"access_rules"`
}

// request converts the body into the service's AppCredRequest.
func (b *appCredBody) request() (identity.AppCredRequest, error) {
	name, err := b.Name.value("name", "string")
	if err != nil {
		return identity.AppCredRequest{}, err
	}
	if name == nil {
		return identity.AppCredRequest{}, api.BadRequest("Invalid input for field/attribute application_credential. 'name' is a required property")
	}
	rules, err := parseAccessRules(b.AccessRules)
	if err != nil {
		return identity.AppCredRequest{}, err
	}
	req := identity.AppCredRequest{Name: *name, Description: b.Description.V, Secret: b.Secret.V,
		Unrestricted: b.Unrestricted.V, AccessRules: rules}
	if b.ExpiresAt.Set && !b.ExpiresAt.Null {
		t, ok := parseISO8601(b.ExpiresAt.V)
		if !ok {
			return req, api.BadRequest("Timestamp not in expected format. The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.")
		}
		req.ExpiresAt = t
	}
	for _, ref := range b.Roles {
		req.Roles = append(req.Roles, identity.RoleRef{ID: ref.ID, Name: ref.Name})
	}
	return req, nil
}

func (h *Handler) createAppCred(w http.ResponseWriter, r *http.Request) {
	var body struct {
		ApplicationCredential *appCredBody `json:"application_credential"`
	}
	if !h.decode(w, r, &body) {
		return
	}
	if body.ApplicationCredential == nil {
		writeError(w, r, missingMember("application_credential"))
		return
	}
	req, err := body.ApplicationCredential.request()
	if err != nil {
		writeError(w, r, err)
		return
	}
	d, err := h.svc.CreateApplicationCredential(r.Context(), r.PathValue("user_id"), req)
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusCreated, map[string]any{"application_credential": newAppCredView(r, d)})
}

func (h *Handler) getAppCred(w http.ResponseWriter, r *http.Request) {
	d, err := h.svc.GetApplicationCredential(r.Context(), r.PathValue("user_id"), r.PathValue("application_credential_id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"application_credential": newAppCredView(r, d)})
}

func (h *Handler) listAppCreds(w http.ResponseWriter, r *http.Request) {
	ds, err := h.svc.ListApplicationCredentials(r.Context(), r.PathValue("user_id"), r.URL.Query().Get("name"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	views := make([]appCredView, len(ds))
	for i, d := range ds {
		views[i] = newAppCredView(r, d)
	}
	api.WriteJSON(w, http.StatusOK, listBody(h, r, "application_credentials", views))
}

func (h *Handler) deleteAppCred(w http.ResponseWriter, r *http.Request) {
	writeNoContent(w, r, h.svc.DeleteApplicationCredential(r.Context(), r.PathValue("user_id"), r.PathValue("application_credential_id")))
}
