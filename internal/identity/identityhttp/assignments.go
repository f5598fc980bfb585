package identityhttp

import (
	"net/http"
	"strings"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/api"
	"github.com/nimbus-cloud/nimbus/internal/identity"
)

func (h *Handler) assignmentRoutes(srv *api.Server) {
	srv.Handle("GET /v3/role_assignments", h.authed(h.listRoleAssignments))
	srv.Handle("GET /v3/OS-REVOKE/events", h.authed(h.listRevokeEvents))
}

// assignmentQuery reads the filters of GET /v3/role_assignments (api-ref: Roles,
// "List role assignments").
func assignmentQuery(r *http.Request) identity.AssignmentQuery {
	q := r.URL.Query()
	out := identity.AssignmentQuery{
		UserID: q.Get("user.id"), GroupID: q.Get("group.id"), RoleID: q.Get("role.id"),
		ProjectID: q.Get("scope.project.id"), DomainID: q.Get("scope.domain.id"),
		System: q.Get("scope.system"),
	}
	if q.Has("scope.OS-INHERIT:inherited_to") {
		inherited := q.Get("scope.OS-INHERIT:inherited_to") == "projects"
		out.Inherited = &inherited
	}
	out.Effective, _ = boolQuery(r, "effective")
	out.IncludeNames, _ = boolQuery(r, "include_names")
	out.IncludeSubtree, _ = boolQuery(r, "include_subtree")
	return out
}

func (h *Handler) listRoleAssignments(w http.ResponseWriter, r *http.Request) {
	entries, err := h.svc.ListRoleAssignments(r.Context(), assignmentQuery(r))
	if err != nil {
		writeError(w, r, err)
		return
	}
	views := make([]map[string]any, len(entries))
	for i, e := range entries {
		views[i] = assignmentView(r, e)
	}
	api.WriteJSON(w, http.StatusOK, listBody(h, r, "role_assignments", views))
}

// namedRef renders {"id", "name"} plus, when domainID is set, the owning domain;
// with names off it is just {"id"}.
func namedRef(id string, names bool, name, domainID, domainName string) map[string]any {
	ref := map[string]any{"id": id}
	if !names {
		return ref
	}
	ref["name"] = name
	if domainID != "" {
		ref["domain"] = map[string]any{"id": domainID, "name": domainName}
	}
	return ref
}

// assignmentView renders one role assignment as keystone does (api-ref: Roles,
// "List role assignments"): the role, the actor and the scope, with links to the
// grant behind it, to the group membership for a group-derived entry, and to the
// implication rule for an implied role.
func assignmentView(r *http.Request, e identity.RoleAssignment) map[string]any {
	n := e.Names
	named := n != nil
	if n == nil {
		n = &identity.AssignmentNames{}
	}
	base := api.BaseURL(r) + "/v3"
	links := map[string]any{}
	view := map[string]any{"links": links}
	var link strings.Builder
	scope := map[string]any{}
	switch {
	case e.ProjectID != "":
		scope["project"] = namedRef(e.ProjectID, named, n.Project, n.ProjectDomainID, n.ProjectDomain)
		switch {
		case e.FromDomainID != "":
			link.WriteString("/domains/" + e.FromDomainID)
		case e.FromProjectID != "":
			link.WriteString("/projects/" + e.FromProjectID)
		default:
			link.WriteString("/projects/" + e.ProjectID)
		}
	case e.DomainID != "":
		dom := map[string]any{"id": e.DomainID}
		if named {
			dom["name"] = n.Domain
		}
		scope["domain"] = dom
		link.WriteString("/domains/" + e.DomainID)
	case e.System:
		scope["system"] = map[string]any{"all": true}
		link.WriteString("/system")
	}
	view["scope"] = scope
	switch {
	case e.UserID != "":
		view["user"] = namedRef(e.UserID, named, n.User, n.UserDomainID, n.UserDomain)
		if e.FromGroupID != "" {
			links["membership"] = base + "/groups/" + e.FromGroupID + "/users/" + e.UserID
			link.WriteString("/groups/" + e.FromGroupID)
		} else {
			link.WriteString("/users/" + e.UserID)
		}
	case e.GroupID != "":
		view["group"] = namedRef(e.GroupID, named, n.Group, n.GroupDomainID, n.GroupDomain)
		link.WriteString("/groups/" + e.GroupID)
	}
	role := map[string]any{"id": e.RoleID}
	if named {
		role["name"] = n.Role
		if n.RoleDomainID != "" {
			role["domain"] = map[string]any{"id": n.RoleDomainID, "name": n.RoleDomain}
		}
	}
	view["role"] = role
	granted := e.GrantedRoleID
	if granted == "" {
		granted = e.RoleID
	}
	link.WriteString("/roles/" + granted)
	if e.FromRoleID != "" {
		links["prior_role"] = base + "/roles/" + e.FromRoleID + "/implies/" + e.RoleID
	}
	assignment := link.String()
	if e.Inherited {
		scope["OS-INHERIT:inherited_to"] = "projects"
		assignment = "/OS-INHERIT" + assignment + "/inherited_to_projects"
	}
	links["assignment"] = base + assignment
	return view
}

// revokeEventView is one event of GET /v3/OS-REVOKE/events (keystone's
// RevokeEvent.to_dict): only the attributes the event sets, plus
// application_credential_id, which keystone has no event field for.
func revokeEventView(ev identity.RevocationEvent) map[string]any {
	out := map[string]any{
		"issued_before": timestamp(ev.IssuedBefore),
		"revoked_at":    timestamp(ev.RevokedAt),
	}
	for k, v := range map[string]string{
		"user_id": ev.UserID, "project_id": ev.ProjectID, "domain_id": ev.DomainID, "role_id": ev.RoleID,
		"audit_id": ev.AuditID, "audit_chain_id": ev.AuditChainID, "application_credential_id": ev.AppCredID,
	} {
		if v != "" {
			out[k] = v
		}
	}
	return out
}

// listRevokeEvents serves GET /v3/OS-REVOKE/events?since=<ISO 8601 time>.
func (h *Handler) listRevokeEvents(w http.ResponseWriter, r *http.Request) {
	var since time.Time
	if v := r.URL.Query().Get("since"); v != "" {
		t, ok := parseISO8601(v)
		if !ok {
			writeError(w, r, api.BadRequest("invalidate date format %s", v))
			return
		}
		since = t
	}
	evs, err := h.svc.ListRevokeEvents(r.Context(), since)
	if err != nil {
		writeError(w, r, err)
		return
	}
	out := make([]map[string]any, len(evs))
	for i, ev := range evs {
		out[i] = revokeEventView(ev)
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"events": out, "links": map[string]any{
		"self": api.BaseURL(r) + "/v3/OS-REVOKE/events", "previous": nil, "next": nil,
	}})
}
