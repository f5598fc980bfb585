// Package identityhttp speaks the Identity v3 API (keystone) over HTTP: it decodes
// requests, calls one identity.Service method, and renders keystone's JSON.
package identityhttp

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/nimbus-cloud/nimbus/internal/api"
	"github.com/nimbus-cloud/nimbus/internal/auth"
	"github.com/nimbus-cloud/nimbus/internal/auth/authhttp"
	"github.com/nimbus-cloud/nimbus/internal/identity"
)

// Handler serves the Identity v3 API.
type Handler struct {
	svc     *identity.Service
	mw      *authhttp.Middleware
	maxBody int64
	catalog atomic.Pointer[renderedCatalog]
}

// Register adds every identity route to srv. Routes other than version discovery
// and token issue require a valid X-Auth-Token.
func Register(srv *api.Server, svc *identity.Service, maxBody int64) *Handler {
	h := &Handler{svc: svc, maxBody: maxBody,
		mw: &authhttp.Middleware{Validator: validator{svc}, Render: RenderError, Service: "identity"}}
	h.versionRoutes(srv)
	h.tokenRoutes(srv)
	h.domainRoutes(srv)
	h.projectRoutes(srv)
	h.userRoutes(srv)
	h.groupRoutes(srv)
	h.roleRoutes(srv)
	h.grantRoutes(srv)
	h.assignmentRoutes(srv)
	h.catalogRoutes(srv)
	h.appCredRoutes(srv)
	h.credentialRoutes(srv)
	h.trustRoutes(srv)
	h.extrasRoutes(srv)
	h.complianceRoutes(srv)
	return h
}

// validator adapts the service to auth.Validator for the middleware.
type validator struct{ svc *identity.Service }

func (v validator) ValidateToken(ctx context.Context, token string) (*auth.Caller, error) {
	return v.svc.ValidateCaller(ctx, token)
}

// authed wraps f so it runs with a validated caller in its context.
func (h *Handler) authed(f http.HandlerFunc) http.Handler { return h.mw.Require(f) }

// RenderError writes keystone's error body:
// {"error": {"code": 404, "title": "Not Found", "message": "..."}}.
func RenderError(w http.ResponseWriter, r *http.Request, status int, message string) {
	api.WriteJSON(w, status, map[string]any{"error": map[string]any{
		"code": status, "title": http.StatusText(status), "message": message,
	}})
}

// writeError maps a service or decoding error to its status code and renders it.
// Errors without a client-facing message become a 500 that names only the
// request id; the cause goes to the log.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	var (
		ae *api.Error
		ie *identity.Error
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
		RenderError(w, r, status, "An unexpected error prevented the server from fulfilling your request. (request "+api.RequestID(r.Context())+")")
		return
	}
	RenderError(w, r, status, defaultMessage(status))
}

func statusOf(err error) int {
	switch {
	case errors.Is(err, identity.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, identity.ErrConflict):
		return http.StatusConflict
	case errors.Is(err, identity.ErrValidation):
		return http.StatusBadRequest
	case errors.Is(err, identity.ErrUnauthorized):
		return http.StatusUnauthorized
	case errors.Is(err, identity.ErrForbidden):
		return http.StatusForbidden
	}
	return http.StatusInternalServerError
}

func defaultMessage(status int) string {
	switch status {
	case http.StatusUnauthorized:
		return "The request you have made requires authentication."
	case http.StatusForbidden:
		return "You are not authorized to perform the requested action."
	case http.StatusNotFound:
		return "Could not find the requested entity."
	case http.StatusConflict:
		return "Conflict occurred attempting to store the entity."
	}
	return "Invalid request."
}

// decode reads the JSON body into v; on failure it writes the error and returns false.
func (h *Handler) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := api.DecodeJSON(w, r, h.maxBody, v); err != nil {
		writeError(w, r, err)
		return false
	}
	return true
}

// selfLink is an entity's {"self": url} links object.
func selfLink(r *http.Request, path string) map[string]any {
	return map[string]any{"self": api.BaseURL(r) + path}
}

// collectionLinks is a list's {"self", "previous", "next"} links object.
func collectionLinks(r *http.Request) map[string]any {
	return map[string]any{"self": api.BaseURL(r) + r.URL.RequestURI(), "previous": nil, "next": nil}
}

// boolQuery reads a keystone boolean query parameter: present without a value,
// or any value but "0"/"false", means true. ok is false when it is absent.
func boolQuery(r *http.Request, name string) (value, ok bool) {
	q := r.URL.Query()
	if !q.Has(name) {
		return false, false
	}
	v := strings.ToLower(q.Get(name))
	return v != "0" && v != "false", true
}

// optionalBool turns a present boolean query into a filter pointer.
func optionalBool(r *http.Request, name string) *bool {
	v, ok := boolQuery(r, name)
	if !ok {
		return nil
	}
	return &v
}
