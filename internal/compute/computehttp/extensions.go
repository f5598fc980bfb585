package computehttp

import (
	"net/http"

	"github.com/nimbus-cloud/nimbus/internal/api"
)

// extensionRoutes serve nova's frozen v2.1 extension list.
func (h *Handler) extensionRoutes(srv *api.Server) {
	h.route(srv, "GET /v2.1/extensions", h.listExtensions)
	h.route(srv, "GET /v2.1/extensions/{alias}", h.showExtension)
}

// extensionView is an extension as GET /extensions shows it; every one has
// the same namespace and update time, and no links.
func extensionView(e [3]string) map[string]any {
	return map[string]any{"alias": e[0], "name": e[1], "description": e[2], "links": []any{},
		"namespace": "http://docs.openstack.org/compute/ext/fake_xml", "updated": "2014-12-03T00:00:00Z"}
}

func (h *Handler) listExtensions(w http.ResponseWriter, r *http.Request, _ api.Version) error {
	if err := h.svc.CheckExtensions(r.Context()); err != nil {
		return err
	}
	views := make([]map[string]any, len(extensionList))
	for i, e := range extensionList {
		views[i] = extensionView(e)
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"extensions": views})
	return nil
}

func (h *Handler) showExtension(w http.ResponseWriter, r *http.Request, _ api.Version) error {
	if err := h.svc.CheckExtensions(r.Context()); err != nil {
		return err
	}
	alias := r.PathValue("alias")
	for _, e := range extensionList {
		if e[0] == alias {
			api.WriteJSON(w, http.StatusOK, map[string]any{"extension": extensionView(e)})
			return nil
		}
	}
	return notFound()
}
