package identityhttp

import (
	"encoding/json"
	"net/http"
	"slices"

	"github.com/nimbus-cloud/nimbus/internal/api"
	"github.com/nimbus-cloud/nimbus/internal/identity"
)

// epFilterBase is the prefix of the OS-EP-FILTER extension (api-ref: identity
// v3-ext, "OS-EP-FILTER").
const epFilterBase = "/v3/OS-EP-FILTER"

func (h *Handler) epFilterRoutes(srv *api.Server) {
	groups := epFilterBase + "/endpoint_groups"
	group := groups + "/{endpoint_group_id}"
	srv.Handle("POST "+groups, h.authed(h.createEndpointGroup))
	srv.Handle("GET "+groups, h.authed(h.listEndpointGroups))
	srv.Handle("GET "+group, h.authed(h.getEndpointGroup))
	srv.Handle("PATCH "+group, h.authed(h.updateEndpointGroup))
	srv.Handle("DELETE "+group, h.authed(h.deleteEndpointGroup))
	srv.Handle("GET "+group+"/endpoints", h.authed(h.listEndpointGroupEndpoints))
	srv.Handle("GET "+group+"/projects", h.authed(h.listEndpointGroupProjects))
	srv.Handle("GET "+group+"/projects/{project_id}", h.authed(h.getEndpointGroupInProject))
	srv.Handle("PUT "+group+"/projects/{project_id}", h.authed(h.addEndpointGroupToProject))
	srv.Handle("DELETE "+group+"/projects/{project_id}", h.authed(h.removeEndpointGroupFromProject))

	project := epFilterBase + "/projects/{project_id}"
	srv.Handle("GET "+project+"/endpoint_groups", h.authed(h.listProjectEndpointGroups))
	srv.Handle("GET "+project+"/endpoints", h.authed(h.listProjectEndpoints))
	srv.Handle("GET "+project+"/endpoints/{endpoint_id}", h.authed(h.checkEndpointInProject))
	srv.Handle("PUT "+project+"/endpoints/{endpoint_id}", h.authed(h.addEndpointToProject))
	srv.Handle("DELETE "+project+"/endpoints/{endpoint_id}", h.authed(h.removeEndpointFromProject))
	srv.Handle("GET "+epFilterBase+"/endpoints/{endpoint_id}/projects", h.authed(h.listEndpointProjects))
}

// endpointGroupView renders an endpoint group (api-ref: OS-EP-FILTER, "Get
// endpoint group"): a missing description is null, and so is a region_id
// filter that selects endpoints without a region.
func endpointGroupView(r *http.Request, g identity.EndpointGroup) map[string]any {
	filters := map[string]any{}
	if f := g.Filters.ServiceID; f != nil {
		filters["service_id"] = *f
	}
	if f := g.Filters.Interface; f != nil {
		filters["interface"] = *f
	}
	if f := g.Filters.RegionID; f != nil {
		filters["region_id"] = nullIfEmpty(*f)
	}
	return map[string]any{"id": g.ID, "name": g.Name, "description": nullIfEmpty(g.Description),
		"filters": filters, "links": selfLink(r, epFilterBase+"/endpoint_groups/"+g.ID)}
}

// endpointGroupFilterKeys are the filters keystone accepts.
var endpointGroupFilterKeys = []string{"service_id", "region_id", "interface"}

// decodeFilters reads an endpoint group's "filters" object.
func decodeFilters(raw json.RawMessage) (identity.EndpointGroupFilters, error) {
	var f identity.EndpointGroupFilters
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return f, typeError("filters", raw, "object")
	}
	for k := range m {
		if !slices.Contains(endpointGroupFilterKeys, k) {
			return f, api.BadRequest("Expecting to find service_id or region_id or interface in endpoint_group. The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.")
		}
	}
	e := entity(m)
	var region *string
	err := e.fields(e.strPtr("service_id", &f.ServiceID), e.strPtr("interface", &f.Interface),
		e.nullableStrPtr("region_id", &region))
	f.RegionID = region
	return f, err
}

// decodeEndpointGroup reads {"endpoint_group": {"name", "description", "filters"}}
// (api-ref: "Create endpoint group", "Update endpoint group").
func (h *Handler) decodeEndpointGroup(w http.ResponseWriter, r *http.Request) (identity.EndpointGroupUpdate, bool) {
	var u identity.EndpointGroupUpdate
	e, ok := h.decodeEntity(w, r, "endpoint_group")
	if !ok {
		return u, false
	}
	err := e.notEmpty()
	for k := range e {
		if err == nil && !slices.Contains([]string{"name", "description", "filters"}, k) {
			err = api.BadRequest("Invalid input for field 'endpoint_group': Additional properties are not allowed ('%s' was unexpected)", k)
		}
	}
	if err == nil {
		err = e.fields(e.strPtr("name", &u.Name), e.nullableStrPtr("description", &u.Description))
	}
	if raw, present := e["filters"]; present && err == nil {
		var f identity.EndpointGroupFilters
		f, err = decodeFilters(raw)
		u.Filters = &f
	}
	if err != nil {
		writeError(w, r, err)
		return u, false
	}
	return u, true
}

// createEndpointGroup serves POST /v3/OS-EP-FILTER/endpoint_groups; name and
// filters are required.
func (h *Handler) createEndpointGroup(w http.ResponseWriter, r *http.Request) {
	u, ok := h.decodeEndpointGroup(w, r)
	if !ok {
		return
	}
	if u.Name == nil {
		writeError(w, r, api.BadRequest("Invalid input for field 'endpoint_group': 'name' is a required property"))
		return
	}
	g := identity.EndpointGroup{Name: *u.Name}
	if u.Description != nil {
		g.Description = *u.Description
	}
	if u.Filters != nil {
		g.Filters = *u.Filters
	}
	created, err := h.svc.CreateEndpointGroup(r.Context(), g)
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusCreated, map[string]any{"endpoint_group": endpointGroupView(r, created)})
}

// getEndpointGroup serves GET and HEAD /v3/OS-EP-FILTER/endpoint_groups/{endpoint_group_id}.
func (h *Handler) getEndpointGroup(w http.ResponseWriter, r *http.Request) {
	g, err := h.svc.GetEndpointGroup(r.Context(), r.PathValue("endpoint_group_id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"endpoint_group": endpointGroupView(r, g)})
}

// writeEndpointGroups renders a list of endpoint groups.
func (h *Handler) writeEndpointGroups(w http.ResponseWriter, r *http.Request, gs []identity.EndpointGroup, err error) {
	if err != nil {
		writeError(w, r, err)
		return
	}
	views := make([]any, len(gs))
	for i, g := range gs {
		views[i] = endpointGroupView(r, g)
	}
	h.writeEntityList(w, r, "endpoint_groups", views)
}

// listEndpointGroups serves GET /v3/OS-EP-FILTER/endpoint_groups, filtered by name.
func (h *Handler) listEndpointGroups(w http.ResponseWriter, r *http.Request) {
	gs, err := h.svc.ListEndpointGroups(r.Context(), r.URL.Query().Get("name"))
	h.writeEndpointGroups(w, r, gs, err)
}

// updateEndpointGroup serves PATCH /v3/OS-EP-FILTER/endpoint_groups/{endpoint_group_id}.
func (h *Handler) updateEndpointGroup(w http.ResponseWriter, r *http.Request) {
	u, ok := h.decodeEndpointGroup(w, r)
	if !ok {
		return
	}
	g, err := h.svc.UpdateEndpointGroup(r.Context(), r.PathValue("endpoint_group_id"), u)
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"endpoint_group": endpointGroupView(r, g)})
}

// deleteEndpointGroup serves DELETE /v3/OS-EP-FILTER/endpoint_groups/{endpoint_group_id}.
func (h *Handler) deleteEndpointGroup(w http.ResponseWriter, r *http.Request) {
	writeNoContent(w, r, h.svc.DeleteEndpointGroup(r.Context(), r.PathValue("endpoint_group_id")))
}

// writeEndpoints renders a list of endpoints as GET /v3/endpoints does.
func (h *Handler) writeEndpoints(w http.ResponseWriter, r *http.Request, eps []identity.Endpoint, err error) {
	if err != nil {
		writeError(w, r, err)
		return
	}
	views := make([]endpointView, len(eps))
	for i, e := range eps {
		views[i] = newEndpointView(r, e)
	}
	api.WriteJSON(w, http.StatusOK, listBody(h, r, "endpoints", views))
}

// listEndpointGroupEndpoints serves GET
// /v3/OS-EP-FILTER/endpoint_groups/{endpoint_group_id}/endpoints.
func (h *Handler) listEndpointGroupEndpoints(w http.ResponseWriter, r *http.Request) {
	eps, err := h.svc.ListEndpointGroupEndpoints(r.Context(), r.PathValue("endpoint_group_id"))
	h.writeEndpoints(w, r, eps, err)
}

// writeProjectList renders a list of projects, or the error.
func (h *Handler) writeProjectList(w http.ResponseWriter, r *http.Request, ps []identity.Project, err error) {
	if err != nil {
		writeError(w, r, err)
		return
	}
	h.writeProjects(w, r, ps)
}

// listEndpointGroupProjects serves GET
// /v3/OS-EP-FILTER/endpoint_groups/{endpoint_group_id}/projects.
func (h *Handler) listEndpointGroupProjects(w http.ResponseWriter, r *http.Request) {
	ps, err := h.svc.ListEndpointGroupProjects(r.Context(), r.PathValue("endpoint_group_id"))
	h.writeProjectList(w, r, ps, err)
}

// getEndpointGroupInProject serves GET and HEAD
// /v3/OS-EP-FILTER/endpoint_groups/{endpoint_group_id}/projects/{project_id}.
func (h *Handler) getEndpointGroupInProject(w http.ResponseWriter, r *http.Request) {
	groupID, projectID := r.PathValue("endpoint_group_id"), r.PathValue("project_id")
	if err := h.svc.GetEndpointGroupInProject(r.Context(), groupID, projectID); err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"project_endpoint_group": map[string]any{
		"endpoint_group_id": groupID, "project_id": projectID,
		"links": selfLink(r, epFilterBase+"/endpoint_groups/"+groupID+"/projects/"+projectID)}})
}

// addEndpointGroupToProject serves PUT
// /v3/OS-EP-FILTER/endpoint_groups/{endpoint_group_id}/projects/{project_id}.
func (h *Handler) addEndpointGroupToProject(w http.ResponseWriter, r *http.Request) {
	writeNoContent(w, r, h.svc.AddEndpointGroupToProject(r.Context(), r.PathValue("endpoint_group_id"),
		r.PathValue("project_id")))
}

// removeEndpointGroupFromProject serves DELETE
// /v3/OS-EP-FILTER/endpoint_groups/{endpoint_group_id}/projects/{project_id}.
func (h *Handler) removeEndpointGroupFromProject(w http.ResponseWriter, r *http.Request) {
	writeNoContent(w, r, h.svc.RemoveEndpointGroupFromProject(r.Context(), r.PathValue("endpoint_group_id"),
		r.PathValue("project_id")))
}

// listProjectEndpointGroups serves GET /v3/OS-EP-FILTER/projects/{project_id}/endpoint_groups.
func (h *Handler) listProjectEndpointGroups(w http.ResponseWriter, r *http.Request) {
	gs, err := h.svc.ListProjectEndpointGroups(r.Context(), r.PathValue("project_id"))
	h.writeEndpointGroups(w, r, gs, err)
}

// listProjectEndpoints serves GET /v3/OS-EP-FILTER/projects/{project_id}/endpoints.
func (h *Handler) listProjectEndpoints(w http.ResponseWriter, r *http.Request) {
	eps, err := h.svc.ListProjectEndpoints(r.Context(), r.PathValue("project_id"))
	h.writeEndpoints(w, r, eps, err)
}

// checkEndpointInProject serves GET and HEAD
// /v3/OS-EP-FILTER/projects/{project_id}/endpoints/{endpoint_id}: 204 or 404.
func (h *Handler) checkEndpointInProject(w http.ResponseWriter, r *http.Request) {
	writeNoContent(w, r, h.svc.CheckEndpointInProject(r.Context(), r.PathValue("project_id"), r.PathValue("endpoint_id")))
}

// addEndpointToProject serves PUT /v3/OS-EP-FILTER/projects/{project_id}/endpoints/{endpoint_id}.
func (h *Handler) addEndpointToProject(w http.ResponseWriter, r *http.Request) {
	writeNoContent(w, r, h.svc.AddEndpointToProject(r.Context(), r.PathValue("project_id"), r.PathValue("endpoint_id")))
}

// removeEndpointFromProject serves DELETE
// /v3/OS-EP-FILTER/projects/{project_id}/endpoints/{endpoint_id}.
func (h *Handler) removeEndpointFromProject(w http.ResponseWriter, r *http.Request) {
	writeNoContent(w, r, h.svc.RemoveEndpointFromProject(r.Context(), r.PathValue("project_id"), r.PathValue("endpoint_id")))
}

// listEndpointProjects serves GET /v3/OS-EP-FILTER/endpoints/{endpoint_id}/projects.
func (h *Handler) listEndpointProjects(w http.ResponseWriter, r *http.Request) {
	ps, err := h.svc.ListEndpointProjects(r.Context(), r.PathValue("endpoint_id"))
	h.writeProjectList(w, r, ps, err)
}
