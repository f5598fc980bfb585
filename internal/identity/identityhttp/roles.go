package identityhttp

import (
	"encoding/json"
	"net/http"

	"github.com/nimbus-cloud/nimbus/internal/api"
	"github.com/nimbus-cloud/nimbus/internal/identity"
)

func (h *Handler) roleRoutes(srv *api.Server) {
	srv.Handle("GET /v3/roles", h.authed(h.listRoles))
	srv.Handle("POST /v3/roles", h.authed(h.createRole))
	srv.Handle("GET /v3/roles/{role_id}", h.authed(h.getRole))
	srv.Handle("PATCH /v3/roles/{role_id}", h.authed(h.updateRole))
	srv.Handle("DELETE /v3/roles/{role_id}", h.authed(h.deleteRole))
	srv.Handle("GET /v3/roles/{prior_role_id}/implies", h.authed(h.listImpliedRoles))
	srv.Handle("PUT /v3/roles/{prior_role_id}/implies/{implied_role_id}", h.authed(h.createImpliedRole))
	srv.Handle("GET /v3/roles/{prior_role_id}/implies/{implied_role_id}", h.authed(h.getImpliedRole))
	srv.Handle("HEAD /v3/roles/{prior_role_id}/implies/{implied_role_id}", h.authed(h.checkImpliedRole))
	srv.Handle("DELETE /v3/roles/{prior_role_id}/implies/{implied_role_id}", h.authed(h.deleteImpliedRole))
	srv.Handle("GET /v3/role_inferences", h.authed(h.listRoleInferences))
}

// jsonOpt is a member of a JSON object that may be absent, null or a value,
// for the PATCH bodies and nullable fields keystone accepts.
type jsonOpt[T any] struct {
	Set, Null bool
	V         T
}

// UnmarshalJSON records that the member was present and whether it was null.
func (o *jsonOpt[T]) UnmarshalJSON(b []byte) error {
	o.Set = true
	if string(b) == "null" {
		o.Null = true
		return nil
	}
	return json.Unmarshal(b, &o.V)
}

// nullable returns nil when the member is absent, a pointer to the zero value
// when it is null, and a pointer to the value otherwise.
func (o jsonOpt[T]) nullable() *T {
	if !o.Set {
		return nil
	}
	v := o.V
	return &v
}

// value returns nil when the member is absent and a pointer to the value
// otherwise; null is refused, as keystone's schema refuses it for field.
func (o jsonOpt[T]) value(field, jsonType string) (*T, error) {
	if !o.Set {
		return nil, nil
	}
	if o.Null {
		return nil, api.BadRequest("Invalid input for field/attribute %s. Value: None. None is not of type '%s'", field, jsonType)
	}
	v := o.V
	return &v, nil
}

// missingMember is keystone's 400 for a request body without a required member.
func missingMember(name string) error {
	return api.BadRequest("Expecting to find %s in request body. The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.", name)
}

// trimToListLimit applies keystone's [DEFAULT] list_limit: it keeps at most that
// many items and reports whether it cut any.
func trimToListLimit[T any](h *Handler, items []T) ([]T, bool) {
	limit := h.svc.Config().ListLimit
	if limit > 0 && len(items) > limit {
		return items[:limit], true
	}
	return items, false
}

// listBody renders a keystone collection: {key: items, "links": {...}}, with
// "truncated": true when list_limit cut it.
func listBody[T any](h *Handler, r *http.Request, key string, items []T) map[string]any {
	items, truncated := trimToListLimit(h, items)
	if items == nil {
		items = []T{}
	}
	body := map[string]any{key: items, "links": collectionLinks(r)}
	if truncated {
		body["truncated"] = true
	}
	return body
}

// roleView is a role as keystone renders it (api-ref: Roles, "Show role
// details"); a global role's domain_id is null.
type roleView struct {
	ID          string         `json:"id"`
	Name        string         `json:"name"`
	DomainID    *string        `json:"domain_id"`
	Description *string        `json:"description"`
	Options     map[string]any `json:"options"`
	Links       map[string]any `json:"links"`
}

// nullIfEmpty renders "" as JSON null.
func nullIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func newRoleView(r *http.Request, role identity.Role) roleView {
	opts := role.Options
	if opts == nil {
		opts = map[string]any{}
	}
	return roleView{ID: role.ID, Name: role.Name, DomainID: nullIfEmpty(role.DomainID),
		Description: nullIfEmpty(role.Description), Options: opts, Links: selfLink(r, "/v3/roles/"+role.ID)}
}

func roleViews(r *http.Request, roles []identity.Role) []roleView {
	out := make([]roleView, len(roles))
	for i, role := range roles {
		out[i] = newRoleView(r, role)
	}
	return out
}

// roleBody is the "role" object of POST /v3/roles and PATCH /v3/roles/{role_id}
// (api-ref: Roles, "Create role" and "Update role"). Other members are ignored.
type roleBody struct {
	ID          jsonOpt[string]         `json:"id"`
	Name        jsonOpt[string]         `json:"name"`
	Description jsonOpt[string]         `json:"description"`
	DomainID    jsonOpt[string]         `json:"domain_id"`
	Options     jsonOpt[map[string]any] `json:"options"`
}

// update converts the body into a RoleUpdate.
func (b *roleBody) update() (identity.RoleUpdate, error) {
	name, err := b.Name.value("name", "string")
	if err != nil {
		return identity.RoleUpdate{}, err
	}
	u := identity.RoleUpdate{Name: name, Description: b.Description.nullable(), DomainID: b.DomainID.nullable()}
	if b.Options.Set {
		u.Options = b.Options.V
		if u.Options == nil {
			u.Options = map[string]any{}
		}
	}
	return u, nil
}

func (h *Handler) listRoles(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	roles, err := h.svc.ListRoles(r.Context(), q.Get("name"), q.Get("domain_id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, listBody(h, r, "roles", roleViews(r, roles)))
}

func (h *Handler) createRole(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Role *roleBody `json:"role"`
	}
	if !h.decode(w, r, &body) {
		return
	}
	if body.Role == nil {
		writeError(w, r, missingMember("role"))
		return
	}
	if !body.Role.Name.Set {
		writeError(w, r, api.BadRequest("Invalid input for field/attribute role. 'name' is a required property"))
		return
	}
	u, err := body.Role.update()
	if err != nil {
		writeError(w, r, err)
		return
	}
	role := identity.Role{Name: *u.Name, Options: u.Options}
	if u.Description != nil {
		role.Description = *u.Description
	}
	if u.DomainID != nil {
		role.DomainID = *u.DomainID
	}
	created, err := h.svc.CreateRole(r.Context(), role)
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusCreated, map[string]any{"role": newRoleView(r, created)})
}

func (h *Handler) getRole(w http.ResponseWriter, r *http.Request) {
	role, err := h.svc.GetRole(r.Context(), r.PathValue("role_id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"role": newRoleView(r, role)})
}

func (h *Handler) updateRole(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Role *roleBody `json:"role"`
	}
	if !h.decode(w, r, &body) {
		return
	}
	id := r.PathValue("role_id")
	if body.Role == nil {
		writeError(w, r, missingMember("role"))
		return
	}
	b := body.Role
	if !b.ID.Set && !b.Name.Set && !b.Description.Set && !b.DomainID.Set && !b.Options.Set {
		writeError(w, r, api.BadRequest("Invalid input for field/attribute role. Value: {}. {} does not have enough properties"))
		return
	}
	if b.ID.Set && b.ID.V != id {
		writeError(w, r, api.BadRequest("Cannot change role ID"))
		return
	}
	u, err := b.update()
	if err != nil {
		writeError(w, r, err)
		return
	}
	role, err := h.svc.UpdateRole(r.Context(), id, u)
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"role": newRoleView(r, role)})
}

func (h *Handler) deleteRole(w http.ResponseWriter, r *http.Request) {
	if err := h.svc.DeleteRole(r.Context(), r.PathValue("role_id")); err != nil {
		writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// inferenceRoleView is a prior or implied role inside a role inference
// (api-ref: Roles, "Get role inference rule").
type inferenceRoleView struct {
	ID    string         `json:"id"`
	Name  string         `json:"name"`
	Links map[string]any `json:"links"`
}

func newInferenceRoleView(r *http.Request, role identity.Role) inferenceRoleView {
	return inferenceRoleView{ID: role.ID, Name: role.Name, Links: selfLink(r, "/v3/roles/"+role.ID)}
}

// inferenceView is one role inference with a single implied role (api-ref:
// Roles, "Create role inference rule" and "Get role inference rule").
func inferenceView(r *http.Request, inf identity.RoleInference) map[string]any {
	return map[string]any{
		"role_inference": map[string]any{
			"prior_role": newInferenceRoleView(r, inf.Prior),
			"implies":    newInferenceRoleView(r, inf.Implied),
		},
		"links": selfLink(r, "/v3/roles/"+inf.Prior.ID+"/implies/"+inf.Implied.ID),
	}
}

// inferenceRuleView is a prior role with the roles it implies (api-ref: Roles,
// "List implied (inference) roles for role" and "List all role inference rules").
func inferenceRuleView(r *http.Request, rule identity.RoleInferenceRule) map[string]any {
	implies := make([]inferenceRoleView, len(rule.Implies))
	for i, role := range rule.Implies {
		implies[i] = newInferenceRoleView(r, role)
	}
	return map[string]any{"prior_role": newInferenceRoleView(r, rule.Prior), "implies": implies}
}

func (h *Handler) createImpliedRole(w http.ResponseWriter, r *http.Request) {
	inf, err := h.svc.CreateImpliedRole(r.Context(), r.PathValue("prior_role_id"), r.PathValue("implied_role_id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusCreated, inferenceView(r, inf))
}

func (h *Handler) getImpliedRole(w http.ResponseWriter, r *http.Request) {
	inf, err := h.svc.GetImpliedRole(r.Context(), r.PathValue("prior_role_id"), r.PathValue("implied_role_id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, inferenceView(r, inf))
}

// checkImpliedRole answers 204, as keystone documents and does for HEAD.
func (h *Handler) checkImpliedRole(w http.ResponseWriter, r *http.Request) {
	if err := h.svc.CheckImpliedRole(r.Context(), r.PathValue("prior_role_id"), r.PathValue("implied_role_id")); err != nil {
		writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) deleteImpliedRole(w http.ResponseWriter, r *http.Request) {
	if err := h.svc.DeleteImpliedRole(r.Context(), r.PathValue("prior_role_id"), r.PathValue("implied_role_id")); err != nil {
		writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) listImpliedRoles(w http.ResponseWriter, r *http.Request) {
	prior := r.PathValue("prior_role_id")
	rule, err := h.svc.ListImpliedRoles(r.Context(), prior)
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{
		"role_inference": inferenceRuleView(r, rule),
		"links":          selfLink(r, "/v3/roles/"+prior+"/implies"),
	})
}

// listRoleInferences renders every rule; keystone sends no links here.
func (h *Handler) listRoleInferences(w http.ResponseWriter, r *http.Request) {
	rules, err := h.svc.ListRoleInferences(r.Context())
	if err != nil {
		writeError(w, r, err)
		return
	}
	out := make([]map[string]any, len(rules))
	for i, rule := range rules {
		out[i] = inferenceRuleView(r, rule)
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"role_inferences": out})
}
