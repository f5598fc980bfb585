// Package computehttp speaks the OpenStack Compute API (nova, microversions
// 2.1 to 2.100) over HTTP: it negotiates the microversion, validates the
// request against nova's schema of that microversion, calls one
// compute.Service method and renders nova's JSON for that microversion.
package computehttp

import (
	"errors"
	"net/http"

	"github.com/nimbus-cloud/nimbus/internal/api"
	"github.com/nimbus-cloud/nimbus/internal/auth"
	"github.com/nimbus-cloud/nimbus/internal/auth/authhttp"
	"github.com/nimbus-cloud/nimbus/internal/compute"
)

// Microversions is the range of compute microversions served. Every
// resource served follows each microversion up to Max.
var Microversions = api.Microversions{
	Service:      "compute",
	LegacyHeader: "X-OpenStack-Nova-API-Version",
	Min:          api.Version{Major: 2, Minor: 1},
	Max:          api.Version{Major: 2, Minor: 100},
}

// RequestIDHeader is compute's own copy of the request id header.
const RequestIDHeader = "X-Compute-Request-Id"

// Handler serves the compute API.
type Handler struct {
	svc     *compute.Service
	mw      *authhttp.Middleware
	maxBody int64
	// imageURL is the image service's endpoint, for the image proxy.
	imageURL string
}

// Register adds every compute route to srv. Routes other than version
// discovery require a valid X-Auth-Token, which v validates.
func Register(srv *api.Server, svc *compute.Service, v auth.Validator, maxBody int64) *Handler {
	h := &Handler{svc: svc, maxBody: maxBody,
		mw: &authhttp.Middleware{Validator: v, Render: renderAuthError, Service: "compute"}}
	h.versionRoutes(srv)
	h.flavorRoutes(srv)
	h.extraSpecRoutes(srv)
	h.flavorAccessRoutes(srv)
	h.keypairRoutes(srv)
	h.quotaRoutes(srv)
	h.limitRoutes(srv)
	h.zoneRoutes(srv)
	h.serverGroupRoutes(srv)
	h.aggregateRoutes(srv)
	h.serviceRoutes(srv)
	h.hypervisorRoutes(srv)
	h.consoleAuthTokenRoutes(srv)
	h.migrationRoutes(srv)
	h.usageRoutes(srv)
	h.extensionRoutes(srv)
	h.imageRoutes(srv)
	h.hostRoutes(srv)
	h.eventAuditRoutes(srv)
	// The servers API is offered only where servers can be carried out:
	// a cloud without a conductor does not advertise half a feature.
	if svc.ServesServers() {
		h.serverRoutes(srv)
		h.serverMigrationRoutes(srv)
	}
	return h
}

// SetIdentityURL makes 401 answers name the identity endpoint in
// WWW-Authenticate, as keystonemiddleware does.
func (h *Handler) SetIdentityURL(url string) { h.mw.IdentityURL = url }

// versioned is a handler of a microversioned route; it returns an error to
// render instead of writing one.
type versioned func(w http.ResponseWriter, r *http.Request, v api.Version) error

// route registers f for pattern behind token validation and microversion
// negotiation, in nova's order: an unauthenticated request is refused
// before its microversion is looked at.
func (h *Handler) route(srv *api.Server, pattern string, f versioned) {
	srv.Handle(pattern, h.mw.Require(h.negotiated(f)))
}

// negotiated wraps f with microversion negotiation alone.
func (h *Handler) negotiated(f versioned) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, aerr := Microversions.Negotiate(w, r)
		if aerr != nil {
			writeError(w, r, aerr)
			return
		}
		r = r.WithContext(compute.WithRequestID(r.Context(), api.RequestID(r.Context())))
		if err := f(w, r, v); err != nil {
			writeError(w, r, err)
		}
	})
}

// faultNames are nova's names of error bodies by status (wsgi.Fault).
var faultNames = map[int]string{
	400: "badRequest", 401: "unauthorized", 403: "forbidden", 404: "itemNotFound", 405: "badMethod",
	409: "conflictingRequest", 413: "overLimit", 415: "badMediaType", 429: "overLimit", 501: "notImplemented",
	503: "serviceUnavailable",
}

// RenderError writes nova's error body: {"itemNotFound": {"code": 404,
// "message": "..."}}, "computeFault" for statuses without a name of their own.
func RenderError(w http.ResponseWriter, r *http.Request, status int, message string) {
	name, ok := faultNames[status]
	if !ok {
		name = "computeFault"
	}
	api.WriteJSON(w, status, map[string]any{name: map[string]any{"code": status, "message": message}})
}

// renderAuthError writes the token middleware's answers. Nova's 401 comes
// from keystonemiddleware, in keystone's error shape.
func renderAuthError(w http.ResponseWriter, r *http.Request, status int, message string) {
	if status != http.StatusUnauthorized {
		RenderError(w, r, status, message)
		return
	}
	api.WriteJSON(w, status, map[string]any{"error": map[string]any{
		"code": status, "title": "Unauthorized", "message": message}})
}

// writeError maps a service or decoding error to its status code and renders
// it. Errors without a client-facing message become a 500 naming only the
// request id; the cause goes to the log.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	var (
		ae *api.Error
		ce *compute.Error
		qe *compute.QuotaExceeded
	)
	switch {
	case errors.As(err, &ae):
		RenderError(w, r, ae.Status, ae.Message)
		return
	case errors.As(err, &ce):
		RenderError(w, r, statusOf(ce.Kind), ce.Message)
		return
	case errors.As(err, &qe):
		RenderError(w, r, statusOf(qe), qe.Error())
		return
	}
	api.Logger(r.Context()).Error("request failed", "error", err)
	RenderError(w, r, http.StatusInternalServerError,
		"An unexpected error prevented the server from fulfilling your request. (request "+
			api.RequestID(r.Context())+")")
}

// statusOf maps a service sentinel to its status code.
func statusOf(err error) int {
	switch {
	case errors.Is(err, compute.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, compute.ErrConflict):
		return http.StatusConflict
	case errors.Is(err, compute.ErrInvalid):
		return http.StatusBadRequest
	case errors.Is(err, compute.ErrUnauthorized):
		return http.StatusUnauthorized
	case errors.Is(err, compute.ErrForbidden):
		return http.StatusForbidden
	case errors.Is(err, compute.ErrOverLimit):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, compute.ErrNotImplemented):
		return http.StatusNotImplemented
	}
	return http.StatusInternalServerError
}

// notFound is nova's answer to a method a microversion does not have: a
// bare 404, as if the route did not exist.
func notFound() error {
	return api.Errorf(http.StatusNotFound, "The resource could not be found.")
}

// at reports whether the negotiated version is major.minor or later.
func at(v api.Version, minor int) bool { return v.AtLeast(api.Version{Major: 2, Minor: minor}) }

// noContent writes a status without a body.
func noContent(w http.ResponseWriter, status int) { w.WriteHeader(status) }
