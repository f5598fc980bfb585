package imagehttp

import (
	"net/http"
	"strings"

	"github.com/nimbus-cloud/nimbus/internal/api"
	"github.com/nimbus-cloud/nimbus/internal/image"
)

// Metadata definitions' objects, properties and tags (api-ref "Metadata
// definitions": objects, properties, tags), Image v2.17.

// propertyView is a property definition inside a properties map, where the
// name is the key.
type propertyView = image.PropertySchema

// propertyDetailView is one property definition, named.
type propertyDetailView struct {
	Name string `json:"name"`
	image.PropertySchema
}

// propertyRequest is the body of POST and PUT .../{ns}/properties[/{name}],
// and a value of a properties map.
type propertyRequest struct {
	Name string `json:"name"`
	image.PropertySchema
}

func (p propertyRequest) toProperty(name string) image.MetadefProperty {
	if name == "" {
		name = p.Name
	}
	return image.MetadefProperty{Name: name, Schema: p.PropertySchema}
}

// objectView is an object definition.
type objectView struct {
	Name        string                  `json:"name"`
	Description string                  `json:"description,omitempty"`
	Required    []string                `json:"required,omitempty"`
	Properties  map[string]propertyView `json:"properties"`
	Schema      string                  `json:"schema"`
	Self        string                  `json:"self"`
	CreatedAt   string                  `json:"created_at"`
	UpdatedAt   string                  `json:"updated_at"`
}

// objectRequest is the body of POST and PUT .../{ns}/objects[/{name}].
type objectRequest struct {
	Name        string                     `json:"name"`
	Description string                     `json:"description"`
	Required    []string                   `json:"required"`
	Properties  map[string]propertyRequest `json:"properties"`
}

func (o objectRequest) toObject() image.MetadefObject {
	out := image.MetadefObject{Name: o.Name, Description: o.Description, Required: o.Required}
	if len(o.Properties) > 0 {
		out.Properties = make(map[string]image.PropertySchema, len(o.Properties))
		for name, p := range o.Properties {
			out.Properties[name] = p.PropertySchema
		}
	}
	return out
}

// tagView is a tag definition.
type tagView struct {
	Name      string `json:"name"`
	CreatedAt string `json:"created_at"`
	UpdatedAt string `json:"updated_at"`
}

// tagRequest is the body of PUT .../{ns}/tags/{name} and an entry of POST .../{ns}/tags.
type tagRequest struct {
	Name string `json:"name"`
}

func newPropertiesView(ps []image.MetadefProperty) map[string]propertyView {
	out := make(map[string]propertyView, len(ps))
	for _, p := range ps {
		out[p.Name] = p.Schema
	}
	return out
}

func newObjectView(ns string, o image.MetadefObject) objectView {
	props := o.Properties
	if props == nil {
		props = map[string]image.PropertySchema{}
	}
	return objectView{Name: o.Name, Description: o.Description, Required: o.Required, Properties: props,
		Schema: "/v2/schemas/metadefs/object", Self: metadefsPath + "/" + ns + "/objects/" + o.Name,
		CreatedAt: imageTime(o.CreatedAt), UpdatedAt: imageTime(o.UpdatedAt)}
}

func newTagView(t image.MetadefTag) tagView {
	return tagView{Name: t.Name, CreatedAt: imageTime(t.CreatedAt), UpdatedAt: imageTime(t.UpdatedAt)}
}

func (h *Handler) metadefItemRoutes(srv *api.Server) {
	ns := metadefsPath + "/{ns}"
	srv.Handle("GET "+ns+"/objects", h.mw.RequireFunc(h.listObjects))
	srv.Handle("POST "+ns+"/objects", h.mw.RequireFunc(h.createObject))
	srv.Handle("GET "+ns+"/objects/{name}", h.mw.RequireFunc(h.getObject))
	srv.Handle("PUT "+ns+"/objects/{name}", h.mw.RequireFunc(h.updateObject))
	srv.Handle("DELETE "+ns+"/objects/{name}", h.mw.RequireFunc(h.deleteObject))
	srv.Handle("GET "+ns+"/properties", h.mw.RequireFunc(h.listProperties))
	srv.Handle("POST "+ns+"/properties", h.mw.RequireFunc(h.createProperty))
	srv.Handle("GET "+ns+"/properties/{name}", h.mw.RequireFunc(h.getProperty))
	srv.Handle("PUT "+ns+"/properties/{name}", h.mw.RequireFunc(h.updateProperty))
	srv.Handle("DELETE "+ns+"/properties/{name}", h.mw.RequireFunc(h.deleteProperty))
	srv.Handle("GET "+ns+"/tags", h.mw.RequireFunc(h.listMetadefTags))
	srv.Handle("POST "+ns+"/tags", h.mw.RequireFunc(h.createMetadefTags))
	srv.Handle("DELETE "+ns+"/tags", h.mw.RequireFunc(h.deleteMetadefTags))
	srv.Handle("GET "+ns+"/tags/{name}", h.mw.RequireFunc(h.getMetadefTag))
	srv.Handle("POST "+ns+"/tags/{name}", h.mw.RequireFunc(h.createMetadefTag))
	srv.Handle("PUT "+ns+"/tags/{name}", h.mw.RequireFunc(h.updateMetadefTag))
	srv.Handle("DELETE "+ns+"/tags/{name}", h.mw.RequireFunc(h.deleteMetadefTag))
}

// listObjects is GET .../{ns}/objects.
func (h *Handler) listObjects(w http.ResponseWriter, r *http.Request) {
	objs, err := h.svc.ListObjects(r.Context(), r.PathValue("ns"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	views := make([]objectView, len(objs))
	for i, o := range objs {
		views[i] = newObjectView(r.PathValue("ns"), o)
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"objects": views, "schema": "v2/schemas/metadefs/objects"})
}

// createObject is POST .../{ns}/objects.
func (h *Handler) createObject(w http.ResponseWriter, r *http.Request) {
	var req objectRequest
	if err := h.readJSON(w, r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	o, err := h.svc.CreateObject(r.Context(), r.PathValue("ns"), req.toObject())
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusCreated, newObjectView(r.PathValue("ns"), o))
}

// getObject is GET .../{ns}/objects/{name}.
func (h *Handler) getObject(w http.ResponseWriter, r *http.Request) {
	o, err := h.svc.GetObject(r.Context(), r.PathValue("ns"), r.PathValue("name"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, newObjectView(r.PathValue("ns"), o))
}

// updateObject is PUT .../{ns}/objects/{name}.
func (h *Handler) updateObject(w http.ResponseWriter, r *http.Request) {
	var req objectRequest
	if err := h.readJSON(w, r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	o, err := h.svc.UpdateObject(r.Context(), r.PathValue("ns"), r.PathValue("name"), req.toObject())
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, newObjectView(r.PathValue("ns"), o))
}

// deleteObject is DELETE .../{ns}/objects/{name}.
func (h *Handler) deleteObject(w http.ResponseWriter, r *http.Request) {
	if err := h.svc.DeleteObject(r.Context(), r.PathValue("ns"), r.PathValue("name")); err != nil {
		writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// listProperties is GET .../{ns}/properties: a map keyed by property name.
func (h *Handler) listProperties(w http.ResponseWriter, r *http.Request) {
	ps, err := h.svc.ListProperties(r.Context(), r.PathValue("ns"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"properties": newPropertiesView(ps),
		"schema": "v2/schemas/metadefs/properties"})
}

// createProperty is POST .../{ns}/properties.
func (h *Handler) createProperty(w http.ResponseWriter, r *http.Request) {
	var req propertyRequest
	if err := h.readJSON(w, r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	p, err := h.svc.CreateProperty(r.Context(), r.PathValue("ns"), req.toProperty(""))
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusCreated, propertyDetailView{Name: p.Name, PropertySchema: p.Schema})
}

// getProperty is GET .../{ns}/properties/{name}.
func (h *Handler) getProperty(w http.ResponseWriter, r *http.Request) {
	p, err := h.svc.GetProperty(r.Context(), r.PathValue("ns"), r.PathValue("name"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, propertyDetailView{Name: p.Name, PropertySchema: p.Schema})
}

// updateProperty is PUT .../{ns}/properties/{name}.
func (h *Handler) updateProperty(w http.ResponseWriter, r *http.Request) {
	var req propertyRequest
	if err := h.readJSON(w, r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	p, err := h.svc.UpdateProperty(r.Context(), r.PathValue("ns"), r.PathValue("name"), req.toProperty(""))
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, propertyDetailView{Name: p.Name, PropertySchema: p.Schema})
}

// deleteProperty is DELETE .../{ns}/properties/{name}.
func (h *Handler) deleteProperty(w http.ResponseWriter, r *http.Request) {
	if err := h.svc.DeleteProperty(r.Context(), r.PathValue("ns"), r.PathValue("name")); err != nil {
		writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// listMetadefTags is GET .../{ns}/tags.
func (h *Handler) listMetadefTags(w http.ResponseWriter, r *http.Request) {
	ts, err := h.svc.ListMetadefTags(r.Context(), r.PathValue("ns"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	views := make([]tagView, len(ts))
	for i, t := range ts {
		views[i] = newTagView(t)
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"tags": views})
}

// createMetadefTags is POST .../{ns}/tags: {"tags": [{"name": ...}]}. The
// tags replace the existing ones unless X-Openstack-Append is true.
func (h *Handler) createMetadefTags(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Tags []tagRequest `json:"tags"`
	}
	if err := h.readJSON(w, r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	names := make([]string, len(req.Tags))
	for i, t := range req.Tags {
		names[i] = t.Name
	}
	appendTags := strings.EqualFold(r.Header.Get("X-Openstack-Append"), "true")
	ts, err := h.svc.CreateMetadefTags(r.Context(), r.PathValue("ns"), names, appendTags)
	if err != nil {
		writeError(w, r, err)
		return
	}
	views := make([]tagView, len(ts))
	for i, t := range ts {
		views[i] = newTagView(t)
	}
	api.WriteJSON(w, http.StatusCreated, map[string]any{"tags": views})
}

// deleteMetadefTags is DELETE .../{ns}/tags.
func (h *Handler) deleteMetadefTags(w http.ResponseWriter, r *http.Request) {
	if err := h.svc.DeleteMetadefTags(r.Context(), r.PathValue("ns")); err != nil {
		writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// getMetadefTag is GET .../{ns}/tags/{name}.
func (h *Handler) getMetadefTag(w http.ResponseWriter, r *http.Request) {
	t, err := h.svc.GetMetadefTag(r.Context(), r.PathValue("ns"), r.PathValue("name"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, newTagView(t))
}

// createMetadefTag is POST .../{ns}/tags/{name}; it takes no body.
func (h *Handler) createMetadefTag(w http.ResponseWriter, r *http.Request) {
	t, err := h.svc.CreateMetadefTag(r.Context(), r.PathValue("ns"), r.PathValue("name"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusCreated, newTagView(t))
}

// updateMetadefTag is PUT .../{ns}/tags/{name}: {"name": new name}.
func (h *Handler) updateMetadefTag(w http.ResponseWriter, r *http.Request) {
	var req tagRequest
	if err := h.readJSON(w, r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	t, err := h.svc.UpdateMetadefTag(r.Context(), r.PathValue("ns"), r.PathValue("name"), req.Name)
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, newTagView(t))
}

// deleteMetadefTag is DELETE .../{ns}/tags/{name}.
func (h *Handler) deleteMetadefTag(w http.ResponseWriter, r *http.Request) {
	if err := h.svc.DeleteMetadefTag(r.Context(), r.PathValue("ns"), r.PathValue("name")); err != nil {
		writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
