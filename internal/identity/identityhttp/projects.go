package identityhttp

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/nimbus-cloud/nimbus/internal/api"
	"github.com/nimbus-cloud/nimbus/internal/identity"
)

func (h *Handler) projectRoutes(srv *api.Server) {
	srv.Handle("POST /v3/projects", h.authed(h.createProject))
	srv.Handle("GET /v3/projects", h.authed(h.listProjects))
	srv.Handle("GET /v3/projects/{project_id}", h.authed(h.getProject))
	srv.Handle("PATCH /v3/projects/{project_id}", h.authed(h.updateProject))
	srv.Handle("DELETE /v3/projects/{project_id}", h.authed(h.deleteProject))
	srv.Handle("GET /v3/projects/{project_id}/tags", h.authed(h.listProjectTags))
	srv.Handle("PUT /v3/projects/{project_id}/tags", h.authed(h.setProjectTags))
	srv.Handle("DELETE /v3/projects/{project_id}/tags", h.authed(h.deleteProjectTags))
	srv.Handle("GET /v3/projects/{project_id}/tags/{value}", h.authed(h.checkProjectTag))
	srv.Handle("PUT /v3/projects/{project_id}/tags/{value}", h.authed(h.addProjectTag))
	srv.Handle("DELETE /v3/projects/{project_id}/tags/{value}", h.authed(h.deleteProjectTag))
	srv.Handle("GET /v3/auth/projects", h.authed(h.authProjects))
	srv.Handle("GET /v3/users/{user_id}/projects", h.authed(h.listUserProjects))
}

// projectView renders a project as keystone does (api-ref: identity v3,
// "Projects", "Show project details"; tags since v3.10): parent_id is the
// domain's id for a top-level project, and is_domain is false: projects acting
// as domains are rendered by domainProjectView.
func projectView(r *http.Request, p identity.Project) map[string]any {
	parent := p.ParentID
	if parent == "" {
		parent = p.DomainID
	}
	tags, opts := p.Tags, p.Options
	if tags == nil {
		tags = []string{}
	}
	if opts == nil {
		opts = map[string]any{}
	}
	return map[string]any{"id": p.ID, "name": p.Name, "domain_id": p.DomainID, "parent_id": parent,
		"is_domain": false, "enabled": p.Enabled, "description": p.Description, "tags": tags,
		"options": opts, "links": selfLink(r, "/v3/projects/"+p.ID)}
}

// wrappedProjects renders parents_as_list and subtree_as_list entries, each
// wrapped as {"project": {...}} as keystone does.
func wrappedProjects(r *http.Request, ps []identity.Project) []any {
	out := make([]any, len(ps))
	for i, p := range ps {
		out[i] = map[string]any{"project": projectView(r, p)}
	}
	return out
}

func (h *Handler) writeProjects(w http.ResponseWriter, r *http.Request, ps []identity.Project) {
	views := make([]any, len(ps))
	for i, p := range ps {
		views[i] = projectView(r, p)
	}
	h.writeEntityList(w, r, "projects", views)
}

// createProject serves POST /v3/projects (api-ref: "Create project"):
// {"project": {"name", "domain_id", "parent_id", "description", "enabled",
// "is_domain", "tags", "options"}}.
func (h *Handler) createProject(w http.ResponseWriter, r *http.Request) {
	e, ok := h.decodeEntity(w, r, "project")
	if !ok {
		return
	}
	var in identity.ProjectCreate
	var isDomain *bool
	err := e.require("name")
	if err == nil {
		err = e.fields(
			e.strInto("name", &in.Name),
			e.nullableStrInto("domain_id", &in.DomainID),
			e.nullableStrInto("parent_id", &in.ParentID),
			e.nullableStrInto("description", &in.Description),
			e.boolInto("enabled", &in.Enabled),
			e.boolInto("is_domain", &isDomain),
			e.listInto("tags", &in.Tags),
			e.objectInto("options", &in.Options))
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	in.IsDomain = isDomain != nil && *isDomain
	if in.IsDomain {
		h.createDomainProject(w, r, in)
		return
	}
	p, err := h.svc.CreateProject(r.Context(), in)
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusCreated, map[string]any{"project": projectView(r, p)})
}

// listProjects serves GET /v3/projects (api-ref: "List projects"), filtered by
// domain_id, enabled, name, parent_id, is_domain, and the tag filters tags,
// tags-any, not-tags and not-tags-any (comma-separated).
func (h *Handler) listProjects(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	pq := identity.ProjectQuery{IsDomain: optionalBool(r, "is_domain")}
	pq.DomainID, pq.Name, pq.ParentID = q.Get("domain_id"), q.Get("name"), q.Get("parent_id")
	pq.Enabled = optionalBool(r, "enabled")
	pq.Tags, pq.TagsAny = tagQuery(q, "tags"), tagQuery(q, "tags-any")
	pq.NotTags, pq.NotTagsAny = tagQuery(q, "not-tags"), tagQuery(q, "not-tags-any")
	if pq.IsDomain != nil && *pq.IsDomain {
		h.listDomainProjects(w, r, pq)
		return
	}
	ps, err := h.svc.ListProjects(r.Context(), pq)
	if err != nil {
		writeError(w, r, err)
		return
	}
	h.writeProjects(w, r, ps)
}

// tagQuery splits a comma-separated tag filter; nil when absent or empty.
func tagQuery(q url.Values, name string) []string {
	v := q.Get(name)
	if v == "" {
		return nil
	}
	return strings.Split(v, ",")
}

// getProject serves GET /v3/projects/{project_id} (api-ref: "Show project
// details"), with parents_as_list, parents_as_ids, subtree_as_list and
// subtree_as_ids.
func (h *Handler) getProject(w http.ResponseWriter, r *http.Request) {
	flag := func(name string) bool { v, _ := boolQuery(r, name); return v }
	x := identity.ProjectExpand{ParentsAsList: flag("parents_as_list"), ParentsAsIDs: flag("parents_as_ids"),
		SubtreeAsList: flag("subtree_as_list"), SubtreeAsIDs: flag("subtree_as_ids")}
	d, err := h.svc.GetProject(r.Context(), r.PathValue("project_id"), x)
	if h.actsAsDomain(r, err) {
		h.getDomainProject(w, r)
		return
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	v := projectView(r, d.Project)
	switch {
	case x.ParentsAsList:
		v["parents"] = wrappedProjects(r, d.Parents)
	case x.ParentsAsIDs:
		v["parents"] = d.ParentIDs
	}
	switch {
	case x.SubtreeAsList:
		v["subtree"] = wrappedProjects(r, d.Subtree)
	case x.SubtreeAsIDs:
		v["subtree"] = d.SubtreeIDs
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"project": v})
}

// updateProject serves PATCH /v3/projects/{project_id} (api-ref: "Update project").
func (h *Handler) updateProject(w http.ResponseWriter, r *http.Request) {
	e, ok := h.decodeEntity(w, r, "project")
	if !ok {
		return
	}
	var u identity.ProjectUpdate
	err := e.notEmpty()
	if err == nil {
		err = e.fields(
			e.strPtr("id", &u.ID),
			e.strPtr("name", &u.Name),
			e.nullableStrPtr("description", &u.Description),
			e.nullableStrPtr("domain_id", &u.DomainID),
			e.nullableStrPtr("parent_id", &u.ParentID),
			e.boolInto("enabled", &u.Enabled),
			e.boolInto("is_domain", &u.IsDomain),
			e.listPtr("tags", &u.Tags),
			e.objectInto("options", &u.Options))
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	p, err := h.svc.UpdateProject(r.Context(), r.PathValue("project_id"), u)
	if h.actsAsDomain(r, err) {
		h.updateDomainProject(w, r, u)
		return
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"project": projectView(r, p)})
}

// deleteProject serves DELETE /v3/projects/{project_id} (api-ref: "Delete project").
func (h *Handler) deleteProject(w http.ResponseWriter, r *http.Request) {
	err := h.svc.DeleteProject(r.Context(), r.PathValue("project_id"))
	if h.actsAsDomain(r, err) {
		h.deleteDomainProject(w, r)
		return
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// tagsView is a project's tag list (api-ref: "List tags for a project"):
// {"tags": [...], "links": {"self": ...}}.
func tagsView(r *http.Request, tags []string) map[string]any {
	if tags == nil {
		tags = []string{}
	}
	return map[string]any{"tags": tags, "links": map[string]any{"self": api.BaseURL(r) + r.URL.Path}}
}

// listProjectTags serves GET /v3/projects/{project_id}/tags.
func (h *Handler) listProjectTags(w http.ResponseWriter, r *http.Request) {
	tags, err := h.svc.ListProjectTags(r.Context(), r.PathValue("project_id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, tagsView(r, tags))
}

// setProjectTags serves PUT /v3/projects/{project_id}/tags (api-ref: "Modify
// tag list for a project"): {"tags": [...]} replaces every tag.
func (h *Handler) setProjectTags(w http.ResponseWriter, r *http.Request) {
	var body entity
	if !h.decode(w, r, &body) {
		return
	}
	var tags []string
	err := body.require("tags")
	if err == nil {
		err = body.listInto("tags", &tags)
	}
	if err == nil && tags == nil {
		tags = []string{}
	}
	if err == nil {
		tags, err = h.svc.SetProjectTags(r.Context(), r.PathValue("project_id"), tags)
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, tagsView(r, tags))
}

// deleteProjectTags serves DELETE /v3/projects/{project_id}/tags (api-ref:
// "Remove all tags from a project").
func (h *Handler) deleteProjectTags(w http.ResponseWriter, r *http.Request) {
	if _, err := h.svc.SetProjectTags(r.Context(), r.PathValue("project_id"), nil); err != nil {
		writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// checkProjectTag serves GET and HEAD /v3/projects/{project_id}/tags/{value}
// (api-ref: "Check if project contains tag"): 204 or 404.
func (h *Handler) checkProjectTag(w http.ResponseWriter, r *http.Request) {
	if err := h.svc.CheckProjectTag(r.Context(), r.PathValue("project_id"), r.PathValue("value")); err != nil {
		writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// addProjectTag serves PUT /v3/projects/{project_id}/tags/{value} (api-ref: "Add
// single tag to a project"): 201 with the tag's URL in Location.
func (h *Handler) addProjectTag(w http.ResponseWriter, r *http.Request) {
	id, tag := r.PathValue("project_id"), r.PathValue("value")
	if err := h.svc.AddProjectTag(r.Context(), id, tag); err != nil {
		writeError(w, r, err)
		return
	}
	w.Header().Set("Location", api.BaseURL(r)+"/v3/projects/"+id+"/tags/"+url.PathEscape(tag))
	w.WriteHeader(http.StatusCreated)
}

// deleteProjectTag serves DELETE /v3/projects/{project_id}/tags/{value}
// (api-ref: "Delete single tag from project").
func (h *Handler) deleteProjectTag(w http.ResponseWriter, r *http.Request) {
	if err := h.svc.DeleteProjectTag(r.Context(), r.PathValue("project_id"), r.PathValue("value")); err != nil {
		writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// authProjects serves GET /v3/auth/projects (api-ref: "Get available project
// scopes").
func (h *Handler) authProjects(w http.ResponseWriter, r *http.Request) {
	ps, err := h.svc.AuthProjects(r.Context())
	if err != nil {
		writeError(w, r, err)
		return
	}
	h.writeProjects(w, r, ps)
}

// listUserProjects serves GET /v3/users/{user_id}/projects (api-ref: "List
// projects for user"), filtered by domain_id, enabled and name.
func (h *Handler) listUserProjects(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := identity.ProjectFilter{DomainID: q.Get("domain_id"), Name: q.Get("name"), Enabled: optionalBool(r, "enabled")}
	ps, err := h.svc.ListUserProjects(r.Context(), r.PathValue("user_id"), f)
	if err != nil {
		writeError(w, r, err)
		return
	}
	h.writeProjects(w, r, ps)
}
