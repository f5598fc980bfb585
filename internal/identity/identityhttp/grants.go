package identityhttp

import (
	"context"
	"net/http"

	"github.com/nimbus-cloud/nimbus/internal/api"
	"github.com/nimbus-cloud/nimbus/internal/identity"
)

// grantFamily is one set of grant routes: base is the roles collection of an
// actor on a target; suffix follows the role id (OS-INHERIT's
// "/inherited_to_projects"). Every family answers PUT, GET/HEAD and DELETE on a
// role with 204; list says whether GET on the collection exists.
type grantFamily struct {
	base, suffix      string
	system, inherited bool
	list              bool
}

// grantFamilies are the grant routes of api-ref sections Roles ("Assign role to
// user on project" and siblings), System Role Assignments and OS-INHERIT.
var grantFamilies = []grantFamily{
	{base: "/v3/projects/{project_id}/users/{user_id}/roles", list: true},
	{base: "/v3/projects/{project_id}/groups/{group_id}/roles", list: true},
	{base: "/v3/domains/{domain_id}/users/{user_id}/roles", list: true},
	{base: "/v3/domains/{domain_id}/groups/{group_id}/roles", list: true},
	{base: "/v3/system/users/{user_id}/roles", system: true, list: true},
	{base: "/v3/system/groups/{group_id}/roles", system: true, list: true},
	{base: "/v3/OS-INHERIT/domains/{domain_id}/users/{user_id}/roles", suffix: "/inherited_to_projects", inherited: true, list: true},
	{base: "/v3/OS-INHERIT/domains/{domain_id}/groups/{group_id}/roles", suffix: "/inherited_to_projects", inherited: true, list: true},
	{base: "/v3/OS-INHERIT/projects/{project_id}/users/{user_id}/roles", suffix: "/inherited_to_projects", inherited: true},
	{base: "/v3/OS-INHERIT/projects/{project_id}/groups/{group_id}/roles", suffix: "/inherited_to_projects", inherited: true},
}

func (h *Handler) grantRoutes(srv *api.Server) {
	for _, f := range grantFamilies {
		one := f.base + "/{role_id}" + f.suffix
		srv.Handle("PUT "+one, h.authed(h.grantHandler(f, h.svc.CreateGrant)))
		srv.Handle("GET "+one, h.authed(h.grantHandler(f, h.svc.CheckGrant)))
		srv.Handle("DELETE "+one, h.authed(h.grantHandler(f, h.svc.RevokeGrant)))
		if f.list {
			srv.Handle("GET "+f.base+f.suffix, h.authed(h.listGrantsHandler(f)))
		}
	}
}

// grant reads the grant a request names from its path.
func (f grantFamily) grant(r *http.Request) identity.Grant {
	return identity.Grant{
		UserID: r.PathValue("user_id"), GroupID: r.PathValue("group_id"),
		ProjectID: r.PathValue("project_id"), DomainID: r.PathValue("domain_id"),
		System: f.system, RoleID: r.PathValue("role_id"), Inherited: f.inherited,
	}
}

// grantHandler serves one grant verb; keystone answers each with 204.
func (h *Handler) grantHandler(f grantFamily, op func(context.Context, identity.Grant) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := op(r.Context(), f.grant(r)); err != nil {
			writeError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

// listGrantsHandler lists the roles of one actor on one target (api-ref: Roles,
// "List role assignments for user on project" and siblings).
func (h *Handler) listGrantsHandler(f grantFamily) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		roles, err := h.svc.ListGrants(r.Context(), f.grant(r))
		if err != nil {
			writeError(w, r, err)
			return
		}
		api.WriteJSON(w, http.StatusOK, listBody(h, r, "roles", roleViews(r, roles)))
	}
}
