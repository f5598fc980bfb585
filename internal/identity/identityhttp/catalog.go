package identityhttp

import (
	"net/http"

	"github.com/nimbus-cloud/nimbus/internal/api"
	"github.com/nimbus-cloud/nimbus/internal/identity"
)

func (h *Handler) catalogRoutes(srv *api.Server) {
	srv.Handle("GET /v3/regions", h.authed(h.listRegions))
	srv.Handle("POST /v3/regions", h.authed(h.createRegion))
	srv.Handle("GET /v3/regions/{region_id}", h.authed(h.getRegion))
	srv.Handle("PUT /v3/regions/{region_id}", h.authed(h.createRegion))
	srv.Handle("PATCH /v3/regions/{region_id}", h.authed(h.updateRegion))
	srv.Handle("DELETE /v3/regions/{region_id}", h.authed(h.deleteRegion))

	srv.Handle("GET /v3/services", h.authed(h.listServices))
	srv.Handle("POST /v3/services", h.authed(h.createService))
	srv.Handle("GET /v3/services/{service_id}", h.authed(h.getService))
	srv.Handle("PATCH /v3/services/{service_id}", h.authed(h.updateService))
	srv.Handle("DELETE /v3/services/{service_id}", h.authed(h.deleteService))

	srv.Handle("GET /v3/endpoints", h.authed(h.listEndpoints))
	srv.Handle("POST /v3/endpoints", h.authed(h.createEndpoint))
	srv.Handle("GET /v3/endpoints/{endpoint_id}", h.authed(h.getEndpoint))
	srv.Handle("PATCH /v3/endpoints/{endpoint_id}", h.authed(h.updateEndpoint))
	srv.Handle("DELETE /v3/endpoints/{endpoint_id}", h.authed(h.deleteEndpoint))
}

// writeNoContent answers 204 unless err is set.
func writeNoContent(w http.ResponseWriter, r *http.Request, err error) {
	if err != nil {
		writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// regionView is a region as keystone renders it (api-ref: Regions, "Show region
// details"); a top-level region's parent_region_id is null.
type regionView struct {
	ID             string         `json:"id"`
	Description    string         `json:"description"`
	ParentRegionID *string        `json:"parent_region_id"`
	Links          map[string]any `json:"links"`
}

func newRegionView(r *http.Request, reg identity.Region) regionView {
	return regionView{ID: reg.ID, Description: reg.Description, ParentRegionID: nullIfEmpty(reg.ParentRegionID),
		Links: selfLink(r, "/v3/regions/"+reg.ID)}
}

// regionBody is the "region" object of POST /v3/regions, PUT and PATCH
// /v3/regions/{region_id} (api-ref: Regions, "Create region", "Update region").
type regionBody struct {
	ID             jsonOpt[string] `json:"id"`
	Description    jsonOpt[string] `json:"description"`
	ParentRegionID jsonOpt[string] `json:"parent_region_id"`
}

func (h *Handler) decodeRegion(w http.ResponseWriter, r *http.Request) (*regionBody, bool) {
	var body struct {
		Region *regionBody `json:"region"`
	}
	if !h.decode(w, r, &body) {
		return nil, false
	}
	if body.Region == nil {
		writeError(w, r, missingMember("region"))
		return nil, false
	}
	return body.Region, true
}

// createRegion serves POST /v3/regions and PUT /v3/regions/{region_id}; both
// answer 201.
func (h *Handler) createRegion(w http.ResponseWriter, r *http.Request) {
	b, ok := h.decodeRegion(w, r)
	if !ok {
		return
	}
	reg := identity.Region{ID: b.ID.V, Description: b.Description.V, ParentRegionID: b.ParentRegionID.V}
	if pathID := r.PathValue("region_id"); pathID != "" {
		if b.ID.Set && b.ID.V != pathID {
			writeError(w, r, api.BadRequest(`Conflicting region IDs specified: "%s" != "%s"`, pathID, b.ID.V))
			return
		}
		reg.ID = pathID
	}
	created, err := h.svc.CreateRegion(r.Context(), reg)
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusCreated, map[string]any{"region": newRegionView(r, created)})
}

func (h *Handler) getRegion(w http.ResponseWriter, r *http.Request) {
	reg, err := h.svc.GetRegion(r.Context(), r.PathValue("region_id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"region": newRegionView(r, reg)})
}

func (h *Handler) listRegions(w http.ResponseWriter, r *http.Request) {
	regs, err := h.svc.ListRegions(r.Context(), r.URL.Query().Get("parent_region_id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	views := make([]regionView, len(regs))
	for i, reg := range regs {
		views[i] = newRegionView(r, reg)
	}
	api.WriteJSON(w, http.StatusOK, listBody(h, r, "regions", views))
}

func (h *Handler) updateRegion(w http.ResponseWriter, r *http.Request) {
	b, ok := h.decodeRegion(w, r)
	if !ok {
		return
	}
	id := r.PathValue("region_id")
	if !b.ID.Set && !b.Description.Set && !b.ParentRegionID.Set {
		writeError(w, r, api.BadRequest("Invalid input for field/attribute region. Value: {}. {} does not have enough properties"))
		return
	}
	if b.ID.Set && b.ID.V != id {
		writeError(w, r, api.BadRequest("Cannot change region ID"))
		return
	}
	reg, err := h.svc.UpdateRegion(r.Context(), id, identity.RegionUpdate{
		Description: b.Description.nullable(), ParentRegionID: b.ParentRegionID.nullable()})
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"region": newRegionView(r, reg)})
}

func (h *Handler) deleteRegion(w http.ResponseWriter, r *http.Request) {
	writeNoContent(w, r, h.svc.DeleteRegion(r.Context(), r.PathValue("region_id")))
}

// serviceView is a catalog service as keystone renders it (api-ref: Service
// catalog and endpoints, "Show service details").
type serviceView struct {
	ID          string         `json:"id"`
	Type        string         `json:"type"`
	Name        string         `json:"name"`
	Description string         `json:"description,omitempty"`
	Enabled     bool           `json:"enabled"`
	Links       map[string]any `json:"links"`
}

func newServiceView(r *http.Request, svc identity.CatalogService) serviceView {
	return serviceView{ID: svc.ID, Type: svc.Type, Name: svc.Name, Description: svc.Description,
		Enabled: svc.Enabled, Links: selfLink(r, "/v3/services/"+svc.ID)}
}

// serviceBody is the "service" object of POST /v3/services and PATCH
// /v3/services/{service_id} (api-ref: "Create service", "Update service").
type serviceBody struct {
	Type        jsonOpt[string] `json:"type"`
	Name        jsonOpt[string] `json:"name"`
	Description jsonOpt[string] `json:"description"`
	Enabled     jsonOpt[bool]   `json:"enabled"`
}

// update converts the body into a ServiceUpdate.
func (b *serviceBody) update() (identity.ServiceUpdate, error) {
	var u identity.ServiceUpdate
	var err error
	if u.Type, err = b.Type.value("type", "string"); err != nil {
		return u, err
	}
	if u.Name, err = b.Name.value("name", "string"); err != nil {
		return u, err
	}
	if u.Enabled, err = b.Enabled.value("enabled", "boolean"); err != nil {
		return u, err
	}
	u.Description = b.Description.nullable()
	return u, nil
}

func (h *Handler) decodeService(w http.ResponseWriter, r *http.Request) (identity.ServiceUpdate, bool) {
	var body struct {
		Service *serviceBody `json:"service"`
	}
	if !h.decode(w, r, &body) {
		return identity.ServiceUpdate{}, false
	}
	if body.Service == nil {
		writeError(w, r, missingMember("service"))
		return identity.ServiceUpdate{}, false
	}
	u, err := body.Service.update()
	if err != nil {
		writeError(w, r, err)
		return u, false
	}
	return u, true
}

func (h *Handler) createService(w http.ResponseWriter, r *http.Request) {
	u, ok := h.decodeService(w, r)
	if !ok {
		return
	}
	if u.Type == nil {
		writeError(w, r, api.BadRequest("Invalid input for field/attribute service. 'type' is a required property"))
		return
	}
	svc := identity.CatalogService{Type: *u.Type, Enabled: true}
	if u.Name != nil {
		svc.Name = *u.Name
	}
	if u.Description != nil {
		svc.Description = *u.Description
	}
	if u.Enabled != nil {
		svc.Enabled = *u.Enabled
	}
	created, err := h.svc.CreateService(r.Context(), svc)
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusCreated, map[string]any{"service": newServiceView(r, created)})
}

func (h *Handler) getService(w http.ResponseWriter, r *http.Request) {
	svc, err := h.svc.GetService(r.Context(), r.PathValue("service_id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"service": newServiceView(r, svc)})
}

func (h *Handler) listServices(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	svcs, err := h.svc.ListServices(r.Context(), identity.ServiceFilter{Type: q.Get("type"), Name: q.Get("name")})
	if err != nil {
		writeError(w, r, err)
		return
	}
	views := make([]serviceView, len(svcs))
	for i, svc := range svcs {
		views[i] = newServiceView(r, svc)
	}
	api.WriteJSON(w, http.StatusOK, listBody(h, r, "services", views))
}

func (h *Handler) updateService(w http.ResponseWriter, r *http.Request) {
	u, ok := h.decodeService(w, r)
	if !ok {
		return
	}
	if u == (identity.ServiceUpdate{}) {
		writeError(w, r, api.BadRequest("Invalid input for field/attribute service. Value: {}. {} does not have enough properties"))
		return
	}
	svc, err := h.svc.UpdateService(r.Context(), r.PathValue("service_id"), u)
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"service": newServiceView(r, svc)})
}

func (h *Handler) deleteService(w http.ResponseWriter, r *http.Request) {
	writeNoContent(w, r, h.svc.DeleteService(r.Context(), r.PathValue("service_id")))
}

// endpointView is an endpoint as keystone renders it (api-ref: Service catalog
// and endpoints, "Show endpoint details"), with the deprecated "region" repeating
// region_id.
type endpointView struct {
	ID        string         `json:"id"`
	Interface string         `json:"interface"`
	RegionID  *string        `json:"region_id"`
	Region    *string        `json:"region"`
	ServiceID string         `json:"service_id"`
	URL       string         `json:"url"`
	Enabled   bool           `json:"enabled"`
	Links     map[string]any `json:"links"`
}

func newEndpointView(r *http.Request, e identity.Endpoint) endpointView {
	return endpointView{ID: e.ID, Interface: e.Interface, RegionID: nullIfEmpty(e.RegionID),
		Region: nullIfEmpty(e.RegionID), ServiceID: e.ServiceID, URL: e.URL, Enabled: e.Enabled,
		Links: selfLink(r, "/v3/endpoints/"+e.ID)}
}

// endpointBody is the "endpoint" object of POST /v3/endpoints and PATCH
// /v3/endpoints/{endpoint_id} (api-ref: "Create endpoint", "Update endpoint").
type endpointBody struct {
	Interface jsonOpt[string] `json:"interface"`
	ServiceID jsonOpt[string] `json:"service_id"`
	URL       jsonOpt[string] `json:"url"`
	RegionID  jsonOpt[string] `json:"region_id"`
	Region    jsonOpt[string] `json:"region"`
	Enabled   jsonOpt[bool]   `json:"enabled"`
}

// update converts the body into an EndpointUpdate.
func (b *endpointBody) update() (identity.EndpointUpdate, error) {
	var u identity.EndpointUpdate
	var err error
	for _, f := range []struct {
		dst   **string
		src   jsonOpt[string]
		field string
	}{{&u.Interface, b.Interface, "interface"}, {&u.ServiceID, b.ServiceID, "service_id"}, {&u.URL, b.URL, "url"}} {
		if *f.dst, err = f.src.value(f.field, "string"); err != nil {
			return u, err
		}
	}
	if u.Enabled, err = b.Enabled.value("enabled", "boolean"); err != nil {
		return u, err
	}
	u.RegionID, u.LegacyRegion = b.RegionID.nullable(), b.Region.nullable()
	if b.RegionID.Null {
		// keystone treats region_id null like an absent one when "region" is given.
		if b.Region.Set && !b.Region.Null {
			u.RegionID = nil
		}
	}
	return u, nil
}

func (h *Handler) decodeEndpoint(w http.ResponseWriter, r *http.Request) (identity.EndpointUpdate, bool) {
	var body struct {
		Endpoint *endpointBody `json:"endpoint"`
	}
	if !h.decode(w, r, &body) {
		return identity.EndpointUpdate{}, false
	}
	if body.Endpoint == nil {
		writeError(w, r, missingMember("endpoint"))
		return identity.EndpointUpdate{}, false
	}
	u, err := body.Endpoint.update()
	if err != nil {
		writeError(w, r, err)
		return u, false
	}
	return u, true
}

func (h *Handler) createEndpoint(w http.ResponseWriter, r *http.Request) {
	u, ok := h.decodeEndpoint(w, r)
	if !ok {
		return
	}
	for _, req := range []struct {
		v    *string
		name string
	}{{u.Interface, "interface"}, {u.ServiceID, "service_id"}, {u.URL, "url"}} {
		if req.v == nil {
			writeError(w, r, api.BadRequest("Invalid input for field/attribute endpoint. '%s' is a required property", req.name))
			return
		}
	}
	e := identity.Endpoint{Interface: *u.Interface, ServiceID: *u.ServiceID, URL: *u.URL, Enabled: true}
	if u.RegionID != nil {
		e.RegionID = *u.RegionID
	}
	if u.Enabled != nil {
		e.Enabled = *u.Enabled
	}
	legacy := ""
	if u.LegacyRegion != nil {
		legacy = *u.LegacyRegion
	}
	created, err := h.svc.CreateEndpoint(r.Context(), e, legacy)
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusCreated, map[string]any{"endpoint": newEndpointView(r, created)})
}

func (h *Handler) getEndpoint(w http.ResponseWriter, r *http.Request) {
	e, err := h.svc.GetEndpoint(r.Context(), r.PathValue("endpoint_id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"endpoint": newEndpointView(r, e)})
}

func (h *Handler) listEndpoints(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	eps, err := h.svc.ListEndpoints(r.Context(), identity.EndpointFilter{
		ServiceID: q.Get("service_id"), Interface: q.Get("interface"), RegionID: q.Get("region_id")})
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

func (h *Handler) updateEndpoint(w http.ResponseWriter, r *http.Request) {
	u, ok := h.decodeEndpoint(w, r)
	if !ok {
		return
	}
	if u == (identity.EndpointUpdate{}) {
		writeError(w, r, api.BadRequest("Invalid input for field/attribute endpoint. Value: {}. {} does not have enough properties"))
		return
	}
	e, err := h.svc.UpdateEndpoint(r.Context(), r.PathValue("endpoint_id"), u)
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"endpoint": newEndpointView(r, e)})
}

func (h *Handler) deleteEndpoint(w http.ResponseWriter, r *http.Request) {
	writeNoContent(w, r, h.svc.DeleteEndpoint(r.Context(), r.PathValue("endpoint_id")))
}
