package imagehttp

import (
	"net/http"
	"strings"

	"github.com/nimbus-cloud/nimbus/internal/api"
	"github.com/nimbus-cloud/nimbus/internal/image"
)

// Metadata definitions (api-ref "Metadata definitions", Image v2.17):
// namespaces and their resource type associations. Objects, properties and
// tags are in metadefs_items.go, the schemas in metadefs_schemas.go.

const metadefsPath = "/v2/metadefs/namespaces"

// namespaceView is a namespace as glance renders it; the contents appear
// only on show and create, and only when there are some.
type namespaceView struct {
	Namespace                string                  `json:"namespace"`
	DisplayName              string                  `json:"display_name,omitempty"`
	Description              string                  `json:"description,omitempty"`
	Visibility               string                  `json:"visibility"`
	Protected                bool                    `json:"protected"`
	Owner                    string                  `json:"owner"`
	CreatedAt                string                  `json:"created_at"`
	UpdatedAt                string                  `json:"updated_at"`
	ResourceTypeAssociations []associationView       `json:"resource_type_associations,omitempty"`
	Properties               map[string]propertyView `json:"properties,omitempty"`
	Objects                  []objectView            `json:"objects,omitempty"`
	Tags                     []tagView               `json:"tags,omitempty"`
	Schema                   string                  `json:"schema"`
	Self                     string                  `json:"self"`
}

// associationView is a resource type association.
type associationView struct {
	Name             string `json:"name"`
	Prefix           string `json:"prefix,omitempty"`
	PropertiesTarget string `json:"properties_target,omitempty"`
	CreatedAt        string `json:"created_at"`
	UpdatedAt        string `json:"updated_at,omitempty"`
}

// resourceTypeView is an entry of GET /v2/metadefs/resource_types.
type resourceTypeView struct {
	Name      string `json:"name"`
	CreatedAt string `json:"created_at"`
	UpdatedAt string `json:"updated_at"`
}

// namespaceRequest is the body of POST and PUT /v2/metadefs/namespaces[/{ns}].
type namespaceRequest struct {
	Namespace                *string                    `json:"namespace"`
	DisplayName              string                     `json:"display_name"`
	Description              string                     `json:"description"`
	Visibility               string                     `json:"visibility"`
	Protected                *bool                      `json:"protected"`
	Owner                    string                     `json:"owner"`
	ResourceTypeAssociations []associationRequest       `json:"resource_type_associations"`
	Properties               map[string]propertyRequest `json:"properties"`
	Objects                  []objectRequest            `json:"objects"`
	Tags                     []tagRequest               `json:"tags"`
}

// associationRequest is the body of POST .../{ns}/resource_types.
type associationRequest struct {
	Name             string `json:"name"`
	Prefix           string `json:"prefix"`
	PropertiesTarget string `json:"properties_target"`
}

func (h *Handler) metadefRoutes(srv *api.Server) {
	h.metadefSchemaRoutes(srv)
	srv.Handle("GET "+metadefsPath, h.mw.RequireFunc(h.listNamespaces))
	srv.Handle("POST "+metadefsPath, h.mw.RequireFunc(h.createNamespace))
	srv.Handle("GET "+metadefsPath+"/{ns}", h.mw.RequireFunc(h.getNamespace))
	srv.Handle("PUT "+metadefsPath+"/{ns}", h.mw.RequireFunc(h.updateNamespace))
	srv.Handle("DELETE "+metadefsPath+"/{ns}", h.mw.RequireFunc(h.deleteNamespace))
	srv.Handle("GET /v2/metadefs/resource_types", h.mw.RequireFunc(h.listResourceTypes))
	srv.Handle("GET "+metadefsPath+"/{ns}/resource_types", h.mw.RequireFunc(h.listAssociations))
	srv.Handle("POST "+metadefsPath+"/{ns}/resource_types", h.mw.RequireFunc(h.createAssociation))
	srv.Handle("DELETE "+metadefsPath+"/{ns}/resource_types/{rt}", h.mw.RequireFunc(h.deleteAssociation))
	h.metadefItemRoutes(srv)
}

func newAssociationView(a image.ResourceTypeAssociation) associationView {
	return associationView{Name: a.Name, Prefix: a.Prefix, PropertiesTarget: a.PropertiesTarget,
		CreatedAt: imageTime(a.CreatedAt), UpdatedAt: imageTime(a.UpdatedAt)}
}

func newNamespaceView(ns image.Namespace) namespaceView {
	v := namespaceView{Namespace: ns.Name, DisplayName: ns.DisplayName, Description: ns.Description,
		Visibility: string(ns.Visibility), Protected: ns.Protected, Owner: ns.Owner,
		CreatedAt: imageTime(ns.CreatedAt), UpdatedAt: imageTime(ns.UpdatedAt),
		Schema: "/v2/schemas/metadefs/namespace", Self: metadefsPath + "/" + ns.Name}
	for _, a := range ns.ResourceTypes {
		v.ResourceTypeAssociations = append(v.ResourceTypeAssociations, newAssociationView(a))
	}
	return v
}

func newNamespaceDetailView(d image.NamespaceDetail) namespaceView {
	v := newNamespaceView(d.Namespace)
	if len(d.Properties) > 0 {
		v.Properties = newPropertiesView(d.Properties)
	}
	for _, o := range d.Objects {
		v.Objects = append(v.Objects, newObjectView(d.Name, o))
	}
	for _, t := range d.Tags {
		v.Tags = append(v.Tags, newTagView(t))
	}
	return v
}

// listNamespaces is GET /v2/metadefs/namespaces.
func (h *Handler) listNamespaces(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := image.NamespaceFilter{Visibility: image.Visibility(q.Get("visibility"))}
	if rts := q.Get("resource_types"); rts != "" {
		f.ResourceTypes = strings.Split(rts, ",")
	}
	nss, err := h.svc.ListNamespaces(r.Context(), f)
	if err != nil {
		writeError(w, r, err)
		return
	}
	views := make([]namespaceView, len(nss))
	for i, ns := range nss {
		views[i] = newNamespaceView(ns)
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"namespaces": views, "first": metadefsPath,
		"schema": "/v2/schemas/metadefs/namespaces"})
}

// createNamespace is POST /v2/metadefs/namespaces.
func (h *Handler) createNamespace(w http.ResponseWriter, r *http.Request) {
	var req namespaceRequest
	if err := h.readJSON(w, r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	if req.Namespace == nil {
		writeError(w, r, api.BadRequest("Provided object does not match schema 'namespace': 'namespace' is a required property"))
		return
	}
	d := image.NamespaceDetail{Namespace: image.Namespace{Name: *req.Namespace, DisplayName: req.DisplayName,
		Description: req.Description, Visibility: image.Visibility(req.Visibility), Owner: req.Owner,
		Protected: req.Protected != nil && *req.Protected}}
	for _, a := range req.ResourceTypeAssociations {
		d.ResourceTypes = append(d.ResourceTypes, image.ResourceTypeAssociation{Name: a.Name, Prefix: a.Prefix,
			PropertiesTarget: a.PropertiesTarget})
	}
	for name, p := range req.Properties {
		d.Properties = append(d.Properties, p.toProperty(name))
	}
	for _, o := range req.Objects {
		d.Objects = append(d.Objects, o.toObject())
	}
	for _, t := range req.Tags {
		d.Tags = append(d.Tags, image.MetadefTag{Name: t.Name})
	}
	out, err := h.svc.CreateNamespace(r.Context(), d)
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusCreated, newNamespaceDetailView(out))
}

// getNamespace is GET /v2/metadefs/namespaces/{ns}.
func (h *Handler) getNamespace(w http.ResponseWriter, r *http.Request) {
	d, err := h.svc.GetNamespace(r.Context(), r.PathValue("ns"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, newNamespaceDetailView(d))
}

// updateNamespace is PUT /v2/metadefs/namespaces/{ns}.
func (h *Handler) updateNamespace(w http.ResponseWriter, r *http.Request) {
	var req namespaceRequest
	if err := h.readJSON(w, r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	if req.Namespace == nil {
		writeError(w, r, api.BadRequest("Provided object does not match schema 'namespace': 'namespace' is a required property"))
		return
	}
	ns, err := h.svc.UpdateNamespace(r.Context(), r.PathValue("ns"), image.NamespaceUpdate{Name: *req.Namespace,
		DisplayName: req.DisplayName, Description: req.Description, Visibility: image.Visibility(req.Visibility),
		Protected: req.Protected != nil && *req.Protected, Owner: req.Owner})
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, newNamespaceView(ns))
}

// deleteNamespace is DELETE /v2/metadefs/namespaces/{ns}.
func (h *Handler) deleteNamespace(w http.ResponseWriter, r *http.Request) {
	if err := h.svc.DeleteNamespace(r.Context(), r.PathValue("ns")); err != nil {
		writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// listResourceTypes is GET /v2/metadefs/resource_types.
func (h *Handler) listResourceTypes(w http.ResponseWriter, r *http.Request) {
	rts, err := h.svc.ListResourceTypes(r.Context())
	if err != nil {
		writeError(w, r, err)
		return
	}
	views := make([]resourceTypeView, len(rts))
	for i, rt := range rts {
		views[i] = resourceTypeView{Name: rt.Name, CreatedAt: imageTime(rt.CreatedAt), UpdatedAt: imageTime(rt.UpdatedAt)}
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"resource_types": views})
}

// listAssociations is GET /v2/metadefs/namespaces/{ns}/resource_types.
func (h *Handler) listAssociations(w http.ResponseWriter, r *http.Request) {
	as, err := h.svc.ListAssociations(r.Context(), r.PathValue("ns"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	views := make([]associationView, len(as))
	for i, a := range as {
		views[i] = newAssociationView(a)
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"resource_type_associations": views})
}

// createAssociation is POST /v2/metadefs/namespaces/{ns}/resource_types.
func (h *Handler) createAssociation(w http.ResponseWriter, r *http.Request) {
	var req associationRequest
	if err := h.readJSON(w, r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	a, err := h.svc.CreateAssociation(r.Context(), r.PathValue("ns"), image.ResourceTypeAssociation{
		Name: req.Name, Prefix: req.Prefix, PropertiesTarget: req.PropertiesTarget})
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusCreated, newAssociationView(a))
}

// deleteAssociation is DELETE /v2/metadefs/namespaces/{ns}/resource_types/{rt}.
func (h *Handler) deleteAssociation(w http.ResponseWriter, r *http.Request) {
	if err := h.svc.DeleteAssociation(r.Context(), r.PathValue("ns"), r.PathValue("rt")); err != nil {
		writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
