// Package imagehttp speaks the Image v2 API (glance) over HTTP: it decodes
// requests, calls one image.Service method, and renders glance's JSON.
package imagehttp

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/nimbus-cloud/nimbus/internal/api"
	"github.com/nimbus-cloud/nimbus/internal/auth"
	"github.com/nimbus-cloud/nimbus/internal/auth/authhttp"
	"github.com/nimbus-cloud/nimbus/internal/image"
)

// Handler serves the Image v2 API.
type Handler struct {
	svc     *image.Service
	mw      *authhttp.Middleware
	maxBody int64
}

// Register adds every image route to srv. Routes other than version discovery
// and the schemas' documents require a valid X-Auth-Token, which v validates.
func Register(srv *api.Server, svc *image.Service, v auth.Validator, maxBody int64) *Handler {
	h := &Handler{svc: svc, maxBody: maxBody,
		mw: &authhttp.Middleware{Validator: v, Render: RenderError, Service: "image"}}
	h.versionRoutes(srv)
	h.schemaRoutes(srv)
	h.imageRoutes(srv)
	h.memberRoutes(srv)
	h.tagRoutes(srv)
	h.dataRoutes(srv)
	h.metadefRoutes(srv)
	h.taskRoutes(srv)
	h.cacheRoutes(srv)
	return h
}

// SetIdentityURL makes 401 answers name the identity endpoint in
// WWW-Authenticate, as keystonemiddleware does.
func (h *Handler) SetIdentityURL(url string) { h.mw.IdentityURL = url }

// RenderError writes glance's error body, the shape webob gives a JSON client:
// {"code": "404 Not Found", "title": "Not Found", "message": "..."}.
func RenderError(w http.ResponseWriter, r *http.Request, status int, message string) {
	api.WriteJSON(w, status, map[string]any{
		"code": strconv.Itoa(status) + " " + http.StatusText(status), "title": http.StatusText(status),
		"message": message,
	})
}

// writeError maps a service or decoding error to its status code and renders
// it. Errors without a client-facing message become a 500 naming only the
// request id; the cause goes to the log.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	var (
		ae *api.Error
		ie *image.Error
	)
	switch {
	case errors.As(err, &ae):
		RenderError(w, r, ae.Status, ae.Message)
		return
	case errors.As(err, &ie):
		RenderError(w, r, statusOf(ie.Kind), ie.Message)
		return
	}
	status := statusOf(err)
	if status == http.StatusInternalServerError {
		api.Logger(r.Context()).Error("request failed", "error", err)
		RenderError(w, r, status, "An unexpected error prevented the server from fulfilling your request. (request "+
			api.RequestID(r.Context())+")")
		return
	}
	RenderError(w, r, status, http.StatusText(status))
}

// statusOf maps a service sentinel to its status code.
func statusOf(err error) int {
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
	case errors.Is(err, image.ErrUnsupported):
		return http.StatusUnsupportedMediaType
	}
	return http.StatusInternalServerError
}

// readJSON decodes a JSON body of at most maxBody bytes into v, keeping
// numbers exact. It does not look at the Content-Type; callers that care do.
func (h *Handler) readJSON(w http.ResponseWriter, r *http.Request, v any) error {
	limit := h.maxBody
	if limit <= 0 {
		limit = api.DefaultMaxBody
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			return api.Errorf(http.StatusRequestEntityTooLarge, "Request body is larger than the limit of %d bytes.", limit)
		case errors.Is(err, io.EOF):
			return api.BadRequest("Body expected in request.")
		}
		return api.BadRequest("Malformed JSON in request body.")
	}
	if dec.More() {
		return api.BadRequest("Malformed JSON in request body.")
	}
	return nil
}
