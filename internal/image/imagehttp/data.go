package imagehttp

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/nimbus-cloud/nimbus/internal/api"
	"github.com/nimbus-cloud/nimbus/internal/image"
)

// downloadChunk is the copy buffer of downloads.
const downloadChunk = 1 << 20

// dataRoutes adds the image data, staging, import and discovery routes
// (api-ref image v2: "Image data", "Interoperable image import", "Stores").
func (h *Handler) dataRoutes(srv *api.Server) {
	srv.Handle("PUT /v2/images/{image_id}/file", h.mw.RequireFunc(h.uploadData))
	srv.Handle("GET /v2/images/{image_id}/file", h.mw.RequireFunc(h.downloadData))
	srv.Handle("PUT /v2/images/{image_id}/stage", h.mw.RequireFunc(h.stageData))
	srv.Handle("POST /v2/images/{image_id}/import", h.mw.RequireFunc(h.importData))
	srv.Handle("GET /v2/info/import", h.mw.RequireFunc(h.importInfo))
	srv.Handle("GET /v2/info/stores", h.mw.RequireFunc(h.storesInfo))
}

// uploadData is PUT /v2/images/{image_id}/file: 204 once the image is active.
func (h *Handler) uploadData(w http.ResponseWriter, r *http.Request) {
	size, ok := h.dataRequest(w, r)
	if !ok {
		return
	}
	if err := h.svc.UploadDataTo(r.Context(), r.PathValue("image_id"), r.Header.Get("X-Image-Meta-Store"), r.Body, size); err != nil {
		h.writeDataError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// stageData is PUT /v2/images/{image_id}/stage: 204 once the data is staged.
func (h *Handler) stageData(w http.ResponseWriter, r *http.Request) {
	size, ok := h.dataRequest(w, r)
	if !ok {
		return
	}
	if err := h.svc.StageData(r.Context(), r.PathValue("image_id"), r.Body, size); err != nil {
		h.writeDataError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// dataRequest checks an upload's content type (415 unless
// application/octet-stream) and returns its declared size:
// x-openstack-image-size, else Content-Length, else -1.
func (h *Handler) dataRequest(w http.ResponseWriter, r *http.Request) (int64, bool) {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/octet-stream" {
		h.mw.Render(w, r, http.StatusUnsupportedMediaType, fmt.Sprintf("Invalid content type %s", ct))
		return 0, false
	}
	if v := r.Header.Get("X-Openstack-Image-Size"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			h.mw.Render(w, r, http.StatusBadRequest, "Invalid or missing image size in request headers.")
			return 0, false
		}
		return n, true
	}
	if r.ContentLength > 0 {
		return r.ContentLength, true
	}
	return -1, true
}

// downloadData is GET /v2/images/{image_id}/file: the data with glance's
// headers, one byte range when asked (206, or 416 when unsatisfiable), 204
// when the image has no data.
func (h *Handler) downloadData(w http.ResponseWriter, r *http.Request) {
	d, err := h.svc.DownloadData(r.Context(), r.PathValue("image_id"))
	if errors.Is(err, image.ErrNoData) {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if err != nil {
		h.writeDataError(w, r, err)
		return
	}
	defer d.Body.Close()
	start, length, status := int64(0), d.Size, http.StatusOK
	if spec := r.Header.Get("Range"); spec != "" {
		var ok bool
		start, length, ok = parseRange(spec, d.Size)
		if !ok {
			w.Header().Set("Content-Range", fmt.Sprintf("bytes */%d", d.Size))
			h.mw.Render(w, r, http.StatusRequestedRangeNotSatisfiable, "Requested range not satisfiable")
			return
		}
		status = http.StatusPartialContent
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, start+length-1, d.Size))
	}
	if start > 0 {
		if _, err := d.Body.Seek(start, io.SeekStart); err != nil {
			h.writeDataError(w, r, fmt.Errorf("seek image data: %w", err))
			return
		}
	}
	hd := w.Header()
	hd.Set("Content-Type", "application/octet-stream")
	hd.Set("Content-Length", strconv.FormatInt(length, 10))
	if d.Image.Checksum != "" {
		// glance sends the hex md5 here, and its clients compare it as hex.
		hd.Set("Content-MD5", d.Image.Checksum)
	}
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return
	}
	buf := make([]byte, min(downloadChunk, max(length, 1)))
	if _, err := io.CopyBuffer(w, io.LimitReader(d.Body, length), buf); err != nil {
		api.Logger(r.Context()).Info("image download ended early", "image_id", d.Image.ID, "error", err)
	}
}

// parseRange reads a single "bytes=a-b", "bytes=a-" or "bytes=-n" range of
// data of size bytes, as RFC 9110 says; it returns the start and length.
func parseRange(spec string, size int64) (start, length int64, ok bool) {
	rest, found := strings.CutPrefix(strings.TrimSpace(spec), "bytes=")
	if !found || strings.Contains(rest, ",") {
		return 0, 0, false
	}
	a, b, found := strings.Cut(strings.TrimSpace(rest), "-")
	if !found {
		return 0, 0, false
	}
	if a == "" {
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n <= 0 || size == 0 {
			return 0, 0, false
		}
		n = min(n, size)
		return size - n, n, true
	}
	first, err := strconv.ParseInt(a, 10, 64)
	if err != nil || first < 0 || first >= size {
		return 0, 0, false
	}
	last := size - 1
	if b != "" {
		l, err := strconv.ParseInt(b, 10, 64)
		if err != nil || l < first {
			return 0, 0, false
		}
		last = min(l, size-1)
	}
	return first, last - first + 1, true
}

// importBody is the body of POST /v2/images/{image_id}/import (api-ref image
// v2 "Import an image", since 2.6).
type importBody struct {
	Method *struct {
		Name string `json:"name"`
		URI  string `json:"uri"`
		// glance-download's source.
		GlanceImageID          string `json:"glance_image_id"`
		GlanceRegion           string `json:"glance_region"`
		GlanceServiceInterface string `json:"glance_service_interface"`
	} `json:"method"`
	Stores               []string `json:"stores"`
	AllStores            *bool    `json:"all_stores"`
	AllStoresMustSucceed *bool    `json:"all_stores_must_succeed"`
}

// importData is POST /v2/images/{image_id}/import: 202 once accepted.
func (h *Handler) importData(w http.ResponseWriter, r *http.Request) {
	var body importBody
	if err := api.DecodeJSON(w, r, h.maxBody, &body); err != nil {
		h.mw.Render(w, r, err.Status, err.Message)
		return
	}
	if body.Method == nil {
		h.mw.Render(w, r, http.StatusBadRequest, "Import request requires a 'method' field.")
		return
	}
	req := image.ImportRequest{Method: body.Method.Name, URI: body.Method.URI, RequestID: api.RequestID(r.Context()),
		Remote: image.RemoteSource{ImageID: body.Method.GlanceImageID, Region: body.Method.GlanceRegion,
			Interface: body.Method.GlanceServiceInterface},
		Stores: body.Stores, AllStores: body.AllStores != nil && *body.AllStores,
		AllStoresMustSucceed: body.AllStoresMustSucceed, StoreHeader: r.Header.Get("X-Image-Meta-Store")}
	if err := h.svc.Import(r.Context(), r.PathValue("image_id"), req); err != nil {
		h.writeDataError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// importInfoView is GET /v2/info/import (api-ref image v2 "Import methods", 2.6).
type importInfoView struct {
	ImportMethods struct {
		Description string   `json:"description"`
		Type        string   `json:"type"`
		Value       []string `json:"value"`
	} `json:"import-methods"`
}

// importInfo is GET /v2/info/import.
func (h *Handler) importInfo(w http.ResponseWriter, r *http.Request) {
	var v importInfoView
	v.ImportMethods.Description = "Import methods available."
	v.ImportMethods.Type = "array"
	v.ImportMethods.Value = h.svc.ImportMethods()
	if v.ImportMethods.Value == nil {
		v.ImportMethods.Value = []string{}
	}
	api.WriteJSON(w, http.StatusOK, v)
}

// storeView is one store of GET /v2/info/stores (api-ref image v2 "Stores", 2.7).
type storeView struct {
	ID      string `json:"id"`
	Default bool   `json:"default,omitempty"`
	// ReadOnly is "true" on read-only stores, a string as glance renders it.
	ReadOnly string `json:"read-only,omitempty"`
}

// storesInfo is GET /v2/info/stores.
func (h *Handler) storesInfo(w http.ResponseWriter, r *http.Request) {
	stores := []storeView{}
	for _, s := range h.svc.Stores() {
		v := storeView{ID: s.ID, Default: s.Default}
		if s.ReadOnly {
			v.ReadOnly = "true"
		}
		stores = append(stores, v)
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"stores": stores})
}

// writeDataError renders a data path error with glance's status code.
func (h *Handler) writeDataError(w http.ResponseWriter, r *http.Request, err error) {
	status := dataStatus(err)
	var ie *image.Error
	switch {
	case errors.As(err, &ie):
		h.mw.Render(w, r, status, ie.Message)
	case status == http.StatusInternalServerError:
		api.Logger(r.Context()).Error("image data request failed", "error", err)
		h.mw.Render(w, r, status, "An unexpected error prevented the server from fulfilling your request. (request "+
			api.RequestID(r.Context())+")")
	default:
		h.mw.Render(w, r, status, http.StatusText(status))
	}
}

// dataStatus maps the image service's sentinels to glance's data path codes.
func dataStatus(err error) int {
	switch {
	case errors.Is(err, image.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, image.ErrConflict):
		return http.StatusConflict
	case errors.Is(err, image.ErrValidation):
		return http.StatusBadRequest
	case errors.Is(err, image.ErrUnauthorized):
		return http.StatusUnauthorized
	case errors.Is(err, image.ErrForbidden):
		return http.StatusForbidden
	case errors.Is(err, image.ErrTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, image.ErrGone):
		return http.StatusGone
	case errors.Is(err, image.ErrUnsupported):
		return http.StatusUnsupportedMediaType
	}
	return http.StatusInternalServerError
}
