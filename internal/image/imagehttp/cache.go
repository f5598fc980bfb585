package imagehttp

import (
	"net/http"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/api"
	"github.com/nimbus-cloud/nimbus/internal/image"
)

// cacheRoutes adds the cache management API (api-ref image v2 "Cache
// Manage", since 2.14).
func (h *Handler) cacheRoutes(srv *api.Server) {
	srv.Handle("GET /v2/cache", h.mw.RequireFunc(h.cacheState))
	srv.Handle("DELETE /v2/cache", h.mw.RequireFunc(h.clearCache))
	srv.Handle("PUT /v2/cache/{image_id}", h.mw.RequireFunc(h.queueCacheImage))
	srv.Handle("DELETE /v2/cache/{image_id}", h.mw.RequireFunc(h.deleteCacheEntry))
}

// cachedImageView is one entry of cached_images in GET /v2/cache (2.14):
// times are epoch seconds with a fraction, as glance's drivers give them.
type cachedImageView struct {
	ImageID      string  `json:"image_id"`
	Hits         int64   `json:"hits"`
	LastAccessed float64 `json:"last_accessed"`
	LastModified float64 `json:"last_modified"`
	Size         int64   `json:"size"`
}

// cacheStateView is the body of GET /v2/cache (2.14).
type cacheStateView struct {
	CachedImages []cachedImageView `json:"cached_images"`
	QueuedImages []string          `json:"queued_images"`
}

// epoch is t in seconds since 1970, with its fraction.
func epoch(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixNano()) / 1e9
}

func newCacheStateView(st image.CacheState) cacheStateView {
	v := cacheStateView{CachedImages: make([]cachedImageView, 0, len(st.Cached)), QueuedImages: st.Queued}
	for _, e := range st.Cached {
		v.CachedImages = append(v.CachedImages, cachedImageView{ImageID: e.ImageID, Hits: e.Hits,
			LastAccessed: epoch(e.LastAccessed), LastModified: epoch(e.LastModified), Size: e.Size})
	}
	if v.QueuedImages == nil {
		v.QueuedImages = []string{}
	}
	return v
}

// cacheState is GET /v2/cache: 200 with the cached and queued images. Like
// glance, the request must not carry a body.
func (h *Handler) cacheState(w http.ResponseWriter, r *http.Request) {
	if r.ContentLength > 0 || len(r.TransferEncoding) > 0 {
		h.mw.Render(w, r, http.StatusBadRequest, "A body is not expected with this request.")
		return
	}
	st, err := h.svc.CacheState(r.Context())
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, newCacheStateView(st))
}

// clearCache is DELETE /v2/cache: 204 once the cache, the queue or both
// (x-image-cache-clear-target: cache, queue, or absent) are empty.
func (h *Handler) clearCache(w http.ResponseWriter, r *http.Request) {
	if _, err := h.svc.ClearCache(r.Context(), r.Header.Get("X-Image-Cache-Clear-Target")); err != nil {
		writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// queueCacheImage is PUT /v2/cache/{image_id}: 202 once the image is queued.
func (h *Handler) queueCacheImage(w http.ResponseWriter, r *http.Request) {
	if err := h.svc.QueueCacheImage(r.Context(), r.PathValue("image_id")); err != nil {
		writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// deleteCacheEntry is DELETE /v2/cache/{image_id}: 204 once the image is
// neither cached nor queued.
func (h *Handler) deleteCacheEntry(w http.ResponseWriter, r *http.Request) {
	if err := h.svc.DeleteCacheEntry(r.Context(), r.PathValue("image_id")); err != nil {
		writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
