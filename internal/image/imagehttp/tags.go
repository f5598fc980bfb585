package imagehttp

import (
	"net/http"

	"github.com/nimbus-cloud/nimbus/internal/api"
)

func (h *Handler) tagRoutes(srv *api.Server) {
	srv.Handle("PUT /v2/images/{image_id}/tags/{tag}", h.mw.RequireFunc(h.addTag))
	srv.Handle("DELETE /v2/images/{image_id}/tags/{tag}", h.mw.RequireFunc(h.deleteTag))
}

// addTag is PUT /v2/images/{image_id}/tags/{tag} (api-ref "Image tags").
func (h *Handler) addTag(w http.ResponseWriter, r *http.Request) {
	if err := h.svc.AddTag(r.Context(), r.PathValue("image_id"), r.PathValue("tag")); err != nil {
		writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// deleteTag is DELETE /v2/images/{image_id}/tags/{tag}.
func (h *Handler) deleteTag(w http.ResponseWriter, r *http.Request) {
	if err := h.svc.DeleteTag(r.Context(), r.PathValue("image_id"), r.PathValue("tag")); err != nil {
		writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
