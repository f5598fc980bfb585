package placementhttp

import (
	"net/http"

	"github.com/nimbus-cloud/nimbus/internal/api"
	"github.com/nimbus-cloud/nimbus/internal/placement"
)

// classView is a resource class (api-ref "Resource Classes").
type classView struct {
	Name  string     `json:"name"`
	Links []linkView `json:"links"`
}

func classBody(rc placement.ResourceClass) classView {
	return classView{Name: rc.Name, Links: []linkView{{"self", "/resource_classes/" + rc.Name}}}
}

func (h *Handler) classRoutes(srv *api.Server) {
	h.handle(srv, "GET /resource_classes", mv(2), api.Version{}, 404, h.listClasses)
	h.handle(srv, "POST /resource_classes", mv(2), api.Version{}, 404, h.createClass)
	h.handle(srv, "GET /resource_classes/{name}", mv(2), api.Version{}, 404, h.getClass)
	h.handle(srv, "PUT /resource_classes/{name}", mv(2), api.Version{}, 404, h.putClass)
	h.handle(srv, "DELETE /resource_classes/{name}", mv(2), api.Version{}, 404, h.deleteClass)
}

// classSchema is POST_RC_SCHEMA_V1_2: a custom class name.
var classSchema = object{props: map[string]schema{"name": str{re: customName, maxLen: 255}}, required: []string{"name"}}

func (h *Handler) listClasses(w http.ResponseWriter, r *http.Request, v api.Version) error {
	if err := checkAccept(r); err != nil {
		return err
	}
	rcs, err := h.svc.ListClasses(r.Context())
	if err != nil {
		return err
	}
	list := make([]classView, len(rcs))
	for i, rc := range rcs {
		list[i] = classBody(rc)
	}
	writeJSON(w, v, http.StatusOK, latestOf(rcs, placement.ResourceClass.Modified), map[string]any{"resource_classes": list})
	return nil
}

func (h *Handler) getClass(w http.ResponseWriter, r *http.Request, v api.Version) error {
	if err := checkAccept(r); err != nil {
		return err
	}
	rc, err := h.svc.GetClass(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	writeJSON(w, v, http.StatusOK, rc.Modified(), classBody(rc))
	return nil
}

func (h *Handler) createClass(w http.ResponseWriter, r *http.Request, v api.Version) error {
	if err := requireJSON(r); err != nil {
		return err
	}
	if err := h.svc.Check(r.Context(), placement.RuleClassCreate); err != nil {
		return err
	}
	var in struct {
		Name string `json:"name"`
	}
	if err := h.readBody(w, r, classSchema, &in); err != nil {
		return err
	}
	rc, err := h.svc.CreateClass(r.Context(), in.Name)
	if err != nil {
		return err
	}
	w.Header().Set("Location", api.BaseURL(r)+"/resource_classes/"+rc.Name)
	w.WriteHeader(http.StatusCreated)
	return nil
}

// putClass renames a class (1.2 to 1.6) or, from 1.7, creates it unless it
// exists: 201 when made, 204 when it was there.
func (h *Handler) putClass(w http.ResponseWriter, r *http.Request, v api.Version) error {
	name := r.PathValue("name")
	if v.Less(mv(7)) {
		if err := requireJSON(r); err != nil {
			return err
		}
	}
	if err := h.svc.Check(r.Context(), placement.RuleClassUpdate); err != nil {
		return err
	}
	if v.Less(mv(7)) {
		var in struct {
			Name string `json:"name"`
		}
		if err := h.readBody(w, r, classSchema, &in); err != nil {
			return err
		}
		rc, err := h.svc.RenameClass(r.Context(), name, in.Name)
		if err != nil {
			return err
		}
		api.WriteJSON(w, http.StatusOK, classBody(rc))
		return nil
	}
	if e := classSchema.check(map[string]any{"name": name}); e != nil {
		return api.BadRequest("JSON does not validate: %s", e)
	}
	rc, created, err := h.svc.EnsureClass(r.Context(), name)
	if err != nil {
		return err
	}
	w.Header().Set("Location", api.BaseURL(r)+"/resource_classes/"+rc.Name)
	if created {
		w.WriteHeader(http.StatusCreated)
	} else {
		noContent(w)
	}
	return nil
}

func (h *Handler) deleteClass(w http.ResponseWriter, r *http.Request, v api.Version) error {
	if err := h.svc.DeleteClass(r.Context(), r.PathValue("name")); err != nil {
		return err
	}
	noContent(w)
	return nil
}
