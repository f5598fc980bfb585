package identityhttp

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/api"
	"github.com/nimbus-cloud/nimbus/internal/identity"
)

func (h *Handler) userRoutes(srv *api.Server) {
	srv.Handle("POST /v3/users", h.authed(h.createUser))
	srv.Handle("GET /v3/users", h.authed(h.listUsers))
	srv.Handle("GET /v3/users/{user_id}", h.authed(h.getUser))
	srv.Handle("PATCH /v3/users/{user_id}", h.authed(h.updateUser))
	srv.Handle("DELETE /v3/users/{user_id}", h.authed(h.deleteUser))
	// The original password is the credential: keystone asks for no token here.
	srv.HandleFunc("POST /v3/users/{user_id}/password", h.changePassword)
	srv.Handle("GET /v3/users/{user_id}/groups", h.authed(h.listUserGroups))
}

// passwordExpiryFormat is how keystone renders password_expires_at.
const passwordExpiryFormat = "2006-01-02T15:04:05.000000"

// userMembers are the members of a user object that are not extra attributes:
// the fields keystone has columns for, and what it computes or ignores.
var userMembers = []string{"id", "name", "domain_id", "enabled", "default_project_id", "description",
	"password", "options", "links", "password_expires_at", "federated"}

// userView renders a user as keystone does (api-ref: identity v3, "Users",
// "Show user details"): extra attributes flattened at the top level,
// default_project_id and description only when set, password_expires_at always.
// The password hash is never rendered.
func userView(r *http.Request, u identity.User) map[string]any {
	v := make(map[string]any, len(u.Extra)+8)
	for k, x := range u.Extra {
		v[k] = x
	}
	v["id"], v["name"], v["domain_id"], v["enabled"] = u.ID, u.Name, u.DomainID, u.Enabled
	if u.DefaultProjectID != "" {
		v["default_project_id"] = u.DefaultProjectID
	}
	if u.Description != "" {
		v["description"] = u.Description
	}
	v["password_expires_at"] = nil
	if !u.PasswordExpiresAt.IsZero() {
		v["password_expires_at"] = u.PasswordExpiresAt.UTC().Format(passwordExpiryFormat)
	}
	v["options"] = u.Options
	if u.Options == nil {
		v["options"] = map[string]any{}
	}
	v["links"] = selfLink(r, "/v3/users/"+u.ID)
	return v
}

func (h *Handler) writeUsers(w http.ResponseWriter, r *http.Request, us []identity.User) {
	views := make([]any, len(us))
	for i, u := range us {
		views[i] = userView(r, u)
	}
	h.writeEntityList(w, r, "users", views)
}

// extraMembers decodes the members of a user object that are extra attributes.
func (e entity) extraMembers() (map[string]any, error) {
	var extra map[string]any
	for k, raw := range e {
		if slices.Contains(userMembers, k) {
			continue
		}
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, typeError(k, raw, "JSON value")
		}
		if extra == nil {
			extra = map[string]any{}
		}
		extra[k] = v
	}
	return extra, nil
}

// createUser serves POST /v3/users (api-ref: "Create user"):
// {"user": {"name", "domain_id", "default_project_id", "description",
// "enabled", "password", "options", <extra attributes>...}}.
func (h *Handler) createUser(w http.ResponseWriter, r *http.Request) {
	e, ok := h.decodeEntity(w, r, "user")
	if !ok {
		return
	}
	var in identity.UserCreate
	var password string
	err := e.require("name")
	if err == nil {
		err = e.fields(
			e.strInto("name", &in.Name),
			e.strInto("domain_id", &in.DomainID),
			e.nullableStrInto("default_project_id", &in.DefaultProjectID),
			e.nullableStrInto("description", &in.Description),
			e.boolInto("enabled", &in.Enabled),
			e.objectInto("options", &in.Options))
	}
	if err == nil {
		var present, null bool
		present, null, err = e.decodeMember("password", "string', 'null", true, &password)
		if present && !null && err == nil {
			in.Password = &password
		}
	}
	if err == nil {
		in.Extra, err = e.extraMembers()
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	u, err := h.svc.CreateUser(r.Context(), in)
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusCreated, map[string]any{"user": userView(r, u)})
}

// listUsers serves GET /v3/users (api-ref: "List users"), filtered by
// domain_id, name, enabled and password_expires_at.
func (h *Handler) listUsers(w http.ResponseWriter, r *http.Request) {
	f, err := userFilter(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	us, err := h.svc.ListUsers(r.Context(), f)
	if err != nil {
		writeError(w, r, err)
		return
	}
	h.writeUsers(w, r, us)
}

// userFilter reads the filters of user lists from the query string.
func userFilter(r *http.Request) (identity.UserFilter, error) {
	q := r.URL.Query()
	f := identity.UserFilter{DomainID: q.Get("domain_id"), Name: q.Get("name"), Enabled: optionalBool(r, "enabled")}
	if v := q.Get("password_expires_at"); v != "" {
		var err error
		if f.PasswordExpiresOp, f.PasswordExpiresAt, err = parseExpiryFilter(v); err != nil {
			return f, err
		}
	}
	return f, nil
}

// parseExpiryFilter reads keystone's password_expires_at=<op>:<timestamp>; a
// bare timestamp means eq.
func parseExpiryFilter(v string) (string, time.Time, error) {
	op, stamp := "eq", v
	if len(v) >= 4 && strings.Contains(v[2:4], ":") {
		op, stamp, _ = strings.Cut(v, ":")
	}
	var t time.Time
	var err error
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04", "2006-01-02"} {
		if t, err = time.Parse(layout, stamp); err == nil {
			break
		}
	}
	if err != nil {
		return "", t, api.BadRequest("Timestamp not in expected format. The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.")
	}
	switch op {
	case "lt", "lte", "gt", "gte", "eq", "neq":
		return op, t.UTC(), nil
	}
	return "", t, api.BadRequest("The given operator %s is not valid. It must be one of the following: 'eq', 'neq', 'lt', 'lte', 'gt', or 'gte'.", op)
}

// getUser serves GET /v3/users/{user_id} (api-ref: "Show user details").
func (h *Handler) getUser(w http.ResponseWriter, r *http.Request) {
	u, err := h.svc.GetUser(r.Context(), r.PathValue("user_id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"user": userView(r, u)})
}

// updateUser serves PATCH /v3/users/{user_id} (api-ref: "Update user").
// "password": null removes the user's password.
func (h *Handler) updateUser(w http.ResponseWriter, r *http.Request) {
	e, ok := h.decodeEntity(w, r, "user")
	if !ok {
		return
	}
	var u identity.UserUpdate
	err := e.notEmpty()
	if err == nil {
		err = e.fields(
			e.strPtr("id", &u.ID),
			e.strPtr("name", &u.Name),
			e.strPtr("domain_id", &u.DomainID),
			e.nullableStrPtr("default_project_id", &u.DefaultProjectID),
			e.nullableStrPtr("description", &u.Description),
			e.boolInto("enabled", &u.Enabled),
			e.objectInto("options", &u.Options))
	}
	if err == nil {
		var pw string
		var present, null bool
		present, null, err = e.decodeMember("password", "string', 'null", true, &pw)
		switch {
		case err != nil || !present:
		case null:
			u.ClearPassword = true
		default:
			u.Password = &pw
		}
	}
	if err == nil {
		u.Extra, err = e.extraMembers()
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	user, err := h.svc.UpdateUser(r.Context(), r.PathValue("user_id"), u)
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"user": userView(r, user)})
}

// deleteUser serves DELETE /v3/users/{user_id} (api-ref: "Delete user").
func (h *Handler) deleteUser(w http.ResponseWriter, r *http.Request) {
	if err := h.svc.DeleteUser(r.Context(), r.PathValue("user_id")); err != nil {
		writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// changePassword serves POST /v3/users/{user_id}/password (api-ref: "Change
// password for user"): {"user": {"password", "original_password"}}, no token.
func (h *Handler) changePassword(w http.ResponseWriter, r *http.Request) {
	e, ok := h.decodeEntity(w, r, "user")
	if !ok {
		return
	}
	var original, password string
	err := e.fields(e.require("original_password"), e.require("password"))
	for k := range e {
		if err == nil && k != "original_password" && k != "password" {
			err = api.BadRequest("Additional properties are not allowed ('%s' was unexpected)", k)
		}
	}
	if err == nil {
		_, _, err = e.decodeMember("original_password", "string", false, &original)
	}
	if err == nil {
		_, _, err = e.decodeMember("password", "string", false, &password)
	}
	if err == nil {
		err = h.svc.ChangePassword(r.Context(), r.PathValue("user_id"), original, password)
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// userGroupView is a group in a user's group list (api-ref: "List groups to
// which a user belongs"), which adds membership_expires_at.
type userGroupView struct {
	groupView
	MembershipExpiresAt *string `json:"membership_expires_at"`
}

// listUserGroups serves GET /v3/users/{user_id}/groups, filtered by name.
func (h *Handler) listUserGroups(w http.ResponseWriter, r *http.Request) {
	gs, err := h.svc.ListUserGroups(r.Context(), r.PathValue("user_id"), r.URL.Query().Get("name"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	views := make([]any, len(gs))
	for i, g := range gs {
		views[i] = userGroupView{groupView: newGroupView(r, g)}
	}
	h.writeEntityList(w, r, "groups", views)
}
