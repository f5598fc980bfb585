package identityhttp

import (
	"context"
	"net/http"

	"github.com/nimbus-cloud/nimbus/internal/api"
	"github.com/nimbus-cloud/nimbus/internal/identity"
)

func (h *Handler) groupRoutes(srv *api.Server) {
	srv.Handle("POST /v3/groups", h.authed(h.createGroup))
	srv.Handle("GET /v3/groups", h.authed(h.listGroups))
	srv.Handle("GET /v3/groups/{group_id}", h.authed(h.getGroup))
	srv.Handle("PATCH /v3/groups/{group_id}", h.authed(h.updateGroup))
	srv.Handle("DELETE /v3/groups/{group_id}", h.authed(h.deleteGroup))
	srv.Handle("GET /v3/groups/{group_id}/users", h.authed(h.listGroupUsers))
	srv.Handle("PUT /v3/groups/{group_id}/users/{user_id}", h.authed(h.addUserToGroup))
	// GET patterns serve HEAD as well, which is how clients usually ask.
	srv.Handle("GET /v3/groups/{group_id}/users/{user_id}", h.authed(h.checkUserInGroup))
	srv.Handle("DELETE /v3/groups/{group_id}/users/{user_id}", h.authed(h.removeUserFromGroup))
}

// groupView is a group as keystone renders it (api-ref: identity v3, "Groups",
// "Show group details").
type groupView struct {
	ID          string         `json:"id"`
	Name        string         `json:"name"`
	DomainID    string         `json:"domain_id"`
	Description string         `json:"description"`
	Links       map[string]any `json:"links"`
}

func newGroupView(r *http.Request, g identity.Group) groupView {
	return groupView{ID: g.ID, Name: g.Name, DomainID: g.DomainID, Description: g.Description,
		Links: selfLink(r, "/v3/groups/"+g.ID)}
}

// createGroup serves POST /v3/groups (api-ref: "Create group"):
// {"group": {"name", "domain_id", "description"}}.
func (h *Handler) createGroup(w http.ResponseWriter, r *http.Request) {
	e, ok := h.decodeEntity(w, r, "group")
	if !ok {
		return
	}
	var in identity.GroupCreate
	err := e.require("name")
	if err == nil {
		err = e.fields(
			e.strInto("name", &in.Name),
			e.strInto("domain_id", &in.DomainID),
			e.nullableStrInto("description", &in.Description))
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	g, err := h.svc.CreateGroup(r.Context(), in)
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusCreated, map[string]any{"group": newGroupView(r, g)})
}

// listGroups serves GET /v3/groups (api-ref: "List groups"), filtered by
// domain_id and name.
func (h *Handler) listGroups(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	gs, err := h.svc.ListGroups(r.Context(), identity.GroupFilter{DomainID: q.Get("domain_id"), Name: q.Get("name")})
	if err != nil {
		writeError(w, r, err)
		return
	}
	views := make([]any, len(gs))
	for i, g := range gs {
		views[i] = newGroupView(r, g)
	}
	h.writeEntityList(w, r, "groups", views)
}

// getGroup serves GET /v3/groups/{group_id} (api-ref: "Show group details").
func (h *Handler) getGroup(w http.ResponseWriter, r *http.Request) {
	g, err := h.svc.GetGroup(r.Context(), r.PathValue("group_id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"group": newGroupView(r, g)})
}

// updateGroup serves PATCH /v3/groups/{group_id} (api-ref: "Update group").
func (h *Handler) updateGroup(w http.ResponseWriter, r *http.Request) {
	e, ok := h.decodeEntity(w, r, "group")
	if !ok {
		return
	}
	var u identity.GroupUpdate
	err := e.notEmpty()
	if err == nil {
		err = e.fields(
			e.strPtr("id", &u.ID),
			e.strPtr("name", &u.Name),
			e.strPtr("domain_id", &u.DomainID),
			e.nullableStrPtr("description", &u.Description))
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	g, err := h.svc.UpdateGroup(r.Context(), r.PathValue("group_id"), u)
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"group": newGroupView(r, g)})
}

// deleteGroup serves DELETE /v3/groups/{group_id} (api-ref: "Delete group").
func (h *Handler) deleteGroup(w http.ResponseWriter, r *http.Request) {
	if err := h.svc.DeleteGroup(r.Context(), r.PathValue("group_id")); err != nil {
		writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// listGroupUsers serves GET /v3/groups/{group_id}/users (api-ref: "List users
// in group"), with the filters of GET /v3/users.
func (h *Handler) listGroupUsers(w http.ResponseWriter, r *http.Request) {
	f, err := userFilter(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	us, err := h.svc.ListGroupUsers(r.Context(), r.PathValue("group_id"), f)
	if err != nil {
		writeError(w, r, err)
		return
	}
	h.writeUsers(w, r, us)
}

// addUserToGroup serves PUT /v3/groups/{group_id}/users/{user_id} (api-ref:
// "Add user to group").
func (h *Handler) addUserToGroup(w http.ResponseWriter, r *http.Request) {
	h.membership(w, r, h.svc.AddUserToGroup)
}

// checkUserInGroup serves HEAD and GET /v3/groups/{group_id}/users/{user_id}
// (api-ref: "Check whether user belongs to group").
func (h *Handler) checkUserInGroup(w http.ResponseWriter, r *http.Request) {
	h.membership(w, r, h.svc.CheckUserInGroup)
}

// removeUserFromGroup serves DELETE /v3/groups/{group_id}/users/{user_id}
// (api-ref: "Remove user from group").
func (h *Handler) removeUserFromGroup(w http.ResponseWriter, r *http.Request) {
	h.membership(w, r, h.svc.RemoveUserFromGroup)
}

// membership runs one membership call and answers 204.
func (h *Handler) membership(w http.ResponseWriter, r *http.Request,
	call func(ctx context.Context, groupID, userID string) error) {
	if err := call(r.Context(), r.PathValue("group_id"), r.PathValue("user_id")); err != nil {
		writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
