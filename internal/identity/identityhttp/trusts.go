package identityhttp

import (
	"encoding/json"
	"net/http"

	"github.com/nimbus-cloud/nimbus/internal/api"
	"github.com/nimbus-cloud/nimbus/internal/identity"
)

// trustRoutes serves OS-TRUST (api-ref: identity v3-ext, "OS-TRUST API").
// Keystone answers the collection with and without a trailing slash, and
// Tempest asks for "OS-TRUST/trusts/"; a GET route answers HEAD too.
func (h *Handler) trustRoutes(srv *api.Server) {
	for _, p := range []string{"/v3/OS-TRUST/trusts", "/v3/OS-TRUST/trusts/{$}"} {
		srv.Handle("GET "+p, h.authed(h.listTrusts))
		srv.Handle("POST "+p, h.authed(h.createTrust))
	}
	srv.Handle("GET /v3/OS-TRUST/trusts/{trust_id}", h.authed(h.getTrust))
	srv.Handle("DELETE /v3/OS-TRUST/trusts/{trust_id}", h.authed(h.deleteTrust))
	srv.Handle("GET /v3/OS-TRUST/trusts/{trust_id}/roles", h.authed(h.listTrustRoles))
	srv.Handle("GET /v3/OS-TRUST/trusts/{trust_id}/roles/{role_id}", h.authed(h.getTrustRole))
}

// trustView is a trust as keystone renders it in lists (api-ref: identity
// v3-ext, "List trusts"): every stored attribute, null when unset.
type trustView struct {
	ID                 string         `json:"id"`
	TrustorUserID      string         `json:"trustor_user_id"`
	TrusteeUserID      string         `json:"trustee_user_id"`
	ProjectID          *string        `json:"project_id"`
	Impersonation      bool           `json:"impersonation"`
	ExpiresAt          *string        `json:"expires_at"`
	RemainingUses      *int           `json:"remaining_uses"`
	RedelegatedTrustID *string        `json:"redelegated_trust_id"`
	RedelegationCount  int            `json:"redelegation_count"`
	DeletedAt          *string        `json:"deleted_at"`
	Links              map[string]any `json:"links"`
}

// trustDetailView is one trust with its roles (api-ref: identity v3-ext,
// "Create trust" and "Get trust").
type trustDetailView struct {
	trustView
	Roles      []roleView     `json:"roles"`
	RolesLinks map[string]any `json:"roles_links"`
}

func trustPath(id string) string { return "/v3/OS-TRUST/trusts/" + id }

func newTrustView(r *http.Request, t identity.Trust) trustView {
	v := trustView{ID: t.ID, TrustorUserID: t.TrustorUserID, TrusteeUserID: t.TrusteeUserID,
		ProjectID: nullIfEmpty(t.ProjectID), Impersonation: t.Impersonation, RemainingUses: t.RemainingUses,
		RedelegatedTrustID: nullIfEmpty(t.RedelegatedTrustID), RedelegationCount: t.RedelegationCount,
		Links: selfLink(r, trustPath(t.ID))}
	if !t.ExpiresAt.IsZero() {
		exp := timestamp(t.ExpiresAt)
		v.ExpiresAt = &exp
	}
	return v
}

// newTrustDetailView renders one trust with its roles.
func newTrustDetailView(r *http.Request, d identity.TrustDetail) trustDetailView {
	return trustDetailView{trustView: newTrustView(r, d.Trust), Roles: roleViews(r, d.Roles),
		RolesLinks: trustRolesLinks(r, d.ID)}
}

// trustRolesLinks is the links object of a trust's role list.
func trustRolesLinks(r *http.Request, id string) map[string]any {
	return map[string]any{"self": api.BaseURL(r) + trustPath(id) + "/roles", "previous": nil, "next": nil}
}

// trustBody is the "trust" object of POST /v3/OS-TRUST/trusts (api-ref:
// identity v3-ext, "Create trust"), typed as keystone's schema: other members
// are ignored.
type trustBody struct {
	TrustorUserID     jsonOpt[string]   `json:"trustor_user_id"`
	TrusteeUserID     jsonOpt[string]   `json:"trustee_user_id"`
	Impersonation     jsonOpt[bool]     `json:"impersonation"`
	ProjectID         jsonOpt[string]   `json:"project_id"`
	ExpiresAt         jsonOpt[string]   `json:"expires_at"`
	RemainingUses     jsonOpt[int]      `json:"remaining_uses"`
	AllowRedelegation jsonOpt[bool]     `json:"allow_redelegation"`
	RedelegationCount jsonOpt[int]      `json:"redelegation_count"`
	Roles             []json.RawMessage `json:"roles"`
}

// request converts the body into the service's TrustRequest.
func (b *trustBody) request() (identity.TrustRequest, error) {
	var req identity.TrustRequest
	for _, f := range []struct {
		name string
		set  bool
	}{{"trustor_user_id", b.TrustorUserID.Set}, {"trustee_user_id", b.TrusteeUserID.Set}, {"impersonation", b.Impersonation.Set}} {
		if !f.set {
			return req, api.BadRequest("Invalid input for field/attribute trust. '%s' is a required property", f.name)
		}
	}
	trustor, err := b.TrustorUserID.value("trustor_user_id", "string")
	if err != nil {
		return req, err
	}
	trustee, err := b.TrusteeUserID.value("trustee_user_id", "string")
	if err != nil {
		return req, err
	}
	impersonation, err := b.Impersonation.value("impersonation", "boolean")
	if err != nil {
		return req, err
	}
	req = identity.TrustRequest{TrustorUserID: *trustor, TrusteeUserID: *trustee, Impersonation: *impersonation,
		ProjectID: b.ProjectID.V, AllowRedelegation: b.AllowRedelegation.V}
	if b.RemainingUses.Set && !b.RemainingUses.Null {
		req.RemainingUses = &b.RemainingUses.V
	}
	if b.RedelegationCount.Set && !b.RedelegationCount.Null {
		req.RedelegationCount = &b.RedelegationCount.V
	}
	if b.ExpiresAt.Set && !b.ExpiresAt.Null {
		t, ok := parseISO8601(b.ExpiresAt.V)
		if !ok {
			return req, api.BadRequest("Timestamp not in expected format. The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.")
		}
		req.ExpiresAt = t
	}
	for _, raw := range b.Roles {
		ref, err := trustRoleRef(raw)
		if err != nil {
			return req, err
		}
		req.Roles = append(req.Roles, ref)
	}
	return req, nil
}

// trustRoleRef reads one item of a trust's roles: an object with exactly one
// of "id" and "name", a string.
func trustRoleRef(raw json.RawMessage) (identity.RoleRef, error) {
	bad := api.BadRequest("Invalid input for field/attribute roles. Value: %s. Each role must be an object with exactly one of 'id' and 'name'", raw)
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil || len(m) != 1 {
		return identity.RoleRef{}, bad
	}
	var ref identity.RoleRef
	for k, v := range m {
		var s string
		if json.Unmarshal(v, &s) != nil || s == "" {
			return ref, bad
		}
		switch k {
		case "id":
			ref.ID = s
		case "name":
			ref.Name = s
		default:
			return ref, bad
		}
	}
	return ref, nil
}

func (h *Handler) createTrust(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Trust *trustBody `json:"trust"`
	}
	if !h.decode(w, r, &body) {
		return
	}
	if body.Trust == nil {
		writeError(w, r, missingMember("trust"))
		return
	}
	req, err := body.Trust.request()
	if err != nil {
		writeError(w, r, err)
		return
	}
	d, err := h.svc.CreateTrust(r.Context(), req)
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusCreated, map[string]any{"trust": newTrustDetailView(r, d)})
}

func (h *Handler) listTrusts(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	trusts, err := h.svc.ListTrusts(r.Context(), q.Get("trustor_user_id"), q.Get("trustee_user_id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	views := make([]trustView, len(trusts))
	for i, t := range trusts {
		views[i] = newTrustView(r, t)
	}
	api.WriteJSON(w, http.StatusOK, listBody(h, r, "trusts", views))
}

func (h *Handler) getTrust(w http.ResponseWriter, r *http.Request) {
	d, err := h.svc.GetTrust(r.Context(), r.PathValue("trust_id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"trust": newTrustDetailView(r, d)})
}

func (h *Handler) deleteTrust(w http.ResponseWriter, r *http.Request) {
	writeNoContent(w, r, h.svc.DeleteTrust(r.Context(), r.PathValue("trust_id")))
}

func (h *Handler) listTrustRoles(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("trust_id")
	roles, err := h.svc.ListTrustRoles(r.Context(), id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"roles": roleViews(r, roles), "links": trustRolesLinks(r, id)})
}

// getTrustRole serves GET and HEAD; HEAD answers 200 without a body, as
// keystone does.
func (h *Handler) getTrustRole(w http.ResponseWriter, r *http.Request) {
	role, err := h.svc.GetTrustRole(r.Context(), r.PathValue("trust_id"), r.PathValue("role_id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"role": newRoleView(r, role)})
}
