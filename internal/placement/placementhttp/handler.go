// Package placementhttp speaks the Placement API over HTTP: it negotiates the
// microversion, decodes and validates requests as placement's JSON schemas
// do, calls one placement.Service method, and renders placement's JSON and
// error bodies.
package placementhttp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"html"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/api"
	"github.com/nimbus-cloud/nimbus/internal/auth"
	"github.com/nimbus-cloud/nimbus/internal/auth/authhttp"
	"github.com/nimbus-cloud/nimbus/internal/placement"
)

// Microversions are the placement microversions served: every one up to
// MaxVersion is honoured.
var Microversions = api.Microversions{Service: "placement", Min: api.Version{Major: 1, Minor: 0},
	Max: api.Version{Major: 1, Minor: 39}}

// Handler serves the Placement API.
type Handler struct {
	svc     *placement.Service
	mw      *authhttp.Middleware
	maxBody int64
	now     func() time.Time
	// methods lists each path's methods in registration order, for the 405
	// answer's Allow header.
	methods map[string][]string
	paths   []string
}

// Register adds every placement route to srv. Routes other than the root
// version document require a valid X-Auth-Token, which v validates.
func Register(srv *api.Server, svc *placement.Service, v auth.Validator, maxBody int64) *Handler {
	h := &Handler{svc: svc, maxBody: maxBody, now: time.Now, methods: map[string][]string{},
		mw: &authhttp.Middleware{Validator: v, Render: RenderError, Service: "placement"}}
	srv.Handle("GET /{$}", h.open(h.root))
	srv.Handle("/{$}", h.versioned(mv(0), api.Version{}, 0, h.notAllowed([]string{http.MethodGet})))
	h.providerRoutes(srv)
	h.inventoryRoutes(srv)
	h.classRoutes(srv)
	h.traitRoutes(srv)
	h.aggregateRoutes(srv)
	h.allocationRoutes(srv)
	h.usageRoutes(srv)
	h.candidateRoutes(srv)
	h.reshaperRoutes(srv)
	for _, path := range h.paths {
		srv.Handle(path, h.mw.Require(h.versioned(mv(0), api.Version{}, 0, h.notAllowed(h.methods[path]))))
	}
	return h
}

// notAllowed answers 405 with the path's methods in Allow, as placement's
// router does for a known path.
func (h *Handler) notAllowed(methods []string) route {
	allow := strings.Join(methods, ", ")
	return func(w http.ResponseWriter, r *http.Request, v api.Version) error {
		w.Header().Set("Allow", allow)
		render(w, r, http.StatusMethodNotAllowed, "The method "+r.Method+" is not allowed for this resource.", "", nil)
		return nil
	}
}

// noCode marks errors raised before a microversion was agreed, which carry
// no error code.
const noCode = "-"

// requestedRaw returns the placement version string a request sent.
func requestedRaw(r *http.Request) string {
	for _, hv := range r.Header.Values("OpenStack-API-Version") {
		for _, part := range strings.Split(hv, ",") {
			svc, ver, ok := strings.Cut(strings.TrimSpace(part), " ")
			if ok && strings.EqualFold(svc, "placement") {
				return strings.TrimSpace(ver)
			}
		}
	}
	return ""
}

// SetIdentityURL makes 401 answers name the identity endpoint in
// WWW-Authenticate, as keystonemiddleware does.
func (h *Handler) SetIdentityURL(url string) { h.mw.IdentityURL = url }

// route is a handler that knows its microversion and returns its error.
type route func(w http.ResponseWriter, r *http.Request, v api.Version) error

type versionKey struct{}

// versionOf returns the request's negotiated microversion.
func versionOf(r *http.Request) (api.Version, bool) {
	v, ok := r.Context().Value(versionKey{}).(api.Version)
	return v, ok
}

// since returns the microversion as "1.N".
func mv(minor int) api.Version { return api.Version{Major: 1, Minor: minor} }

// handle registers an authenticated route available from min (and up to max
// when max is not zero); outside the range it answers outside (404 or 405),
// as placement's version_handler does.
func (h *Handler) handle(srv *api.Server, pattern string, min, max api.Version, outside int, fn route) {
	method, path, _ := strings.Cut(pattern, " ")
	if _, ok := h.methods[path]; !ok {
		h.paths = append(h.paths, path)
	}
	h.methods[path] = append(h.methods[path], method)
	srv.Handle(pattern, h.mw.Require(h.versioned(min, max, outside, fn)))
}

// open serves a route without authentication (the root document).
func (h *Handler) open(fn route) http.Handler {
	return h.versioned(mv(0), api.Version{}, http.StatusNotFound, fn)
}

// versioned checks the request's framing, negotiates the microversion and
// runs fn, rendering its error.
func (h *Handler) versioned(min, max api.Version, outside int, fn route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if cl := r.Header.Get("Content-Length"); cl != "" {
			n, err := strconv.ParseInt(cl, 10, 64)
			if err != nil {
				render(w, r, http.StatusBadRequest, "content-length header must be an integer", "", nil)
				return
			}
			if n > 0 && r.Header.Get("Content-Type") == "" {
				render(w, r, http.StatusBadRequest, "content-type header required when content-length > 0", "", nil)
				return
			}
		}
		v, aerr := Microversions.Negotiate(w, r)
		if aerr != nil {
			raw := requestedRaw(r)
			if aerr.Status == http.StatusNotAcceptable {
				render(w, r, aerr.Status, "Invalid microversion: Unacceptable version header: "+raw, noCode,
					map[string]any{"min_version": Microversions.Min.String(), "max_version": Microversions.Max.String()})
			} else {
				render(w, r, aerr.Status, "Invalid microversion: invalid version string: "+raw, noCode, nil)
			}
			return
		}
		// Placement names the header in lower case in Vary.
		if vary := w.Header().Values("Vary"); len(vary) > 0 {
			for i, val := range vary {
				vary[i] = strings.ReplaceAll(val, "OpenStack-API-Version", "openstack-api-version")
			}
		}
		r = r.WithContext(context.WithValue(r.Context(), versionKey{}, v))
		if v.Less(min) || (max != (api.Version{}) && max.Less(v)) {
			if outside == http.StatusMethodNotAllowed {
				render(w, r, outside, "The method specified is not allowed for this resource.", "", nil)
			} else {
				render(w, r, http.StatusNotFound, "The resource could not be found.", "", nil)
			}
			return
		}
		if err := fn(w, r, v); err != nil {
			writeError(w, r, err)
		}
	})
}

// RenderError writes placement's error body; api.Server and the token
// middleware use it for 401, 404, 405 and 500.
func RenderError(w http.ResponseWriter, r *http.Request, status int, message string) {
	render(w, r, status, message, "", nil)
}

// render writes {"errors": [{"status", "title", "detail", "code" (1.23),
// "request_id"}]}, placement's shape (the API-WG errors guideline).
func render(w http.ResponseWriter, r *http.Request, status int, message, code string, extra map[string]any) {
	e := map[string]any{"status": status, "title": http.StatusText(status), "detail": message}
	v, ok := versionOf(r)
	if !ok {
		// Errors before negotiation (401 from the token check) still carry the
		// code when the request asked for a version that has one.
		v, ok = requestedVersion(r)
	}
	if ok && v.AtLeast(mv(23)) && code != noCode {
		if code == "" {
			code = placement.CodeDefault
		}
		e["code"] = code
	}
	if id := api.RequestID(r.Context()); id != "" {
		e["request_id"] = id
	}
	for k, val := range extra {
		e[k] = val
	}
	switch errorMedia(r) {
	case "text/html":
		w.Header().Set("Content-Type", "text/html; charset=UTF-8")
		w.WriteHeader(status)
		t := html.EscapeString(strconv.Itoa(status) + " " + http.StatusText(status))
		_, _ = io.WriteString(w, "<html>\n <head>\n  <title>"+t+"</title>\n </head>\n <body>\n  <h1>"+t+"</h1>\n  "+
			html.EscapeString(message)+"<br /><br />\n\n\n\n </body>\n</html>")
	case "text/plain":
		w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, strconv.Itoa(status)+" "+http.StatusText(status)+"\n\n"+message+"\n\n")
	default:
		api.WriteJSON(w, status, map[string]any{"errors": []any{e}})
	}
}

// errorMedia picks the error body's media type from Accept, as webob does
// for placement: JSON unless the client asks for HTML or plain text only.
func errorMedia(r *http.Request) string {
	accept := r.Header.Get("Accept")
	if accept == "" {
		return "application/json"
	}
	var html, plain bool
	for _, part := range strings.Split(accept, ",") {
		media, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil || params["q"] == "0" {
			continue
		}
		switch media {
		case "application/json", "application/*", "*/*":
			return "application/json"
		case "text/html":
			html = true
		case "text/plain", "text/*":
			plain = true
		}
	}
	switch {
	case html:
		return "text/html"
	case plain:
		return "text/plain"
	}
	return "application/json"
}

// requestedVersion parses the version a request asks for, without negotiating.
func requestedVersion(r *http.Request) (api.Version, bool) {
	for _, hv := range r.Header.Values("OpenStack-API-Version") {
		for _, part := range strings.Split(hv, ",") {
			svc, ver, ok := strings.Cut(strings.TrimSpace(part), " ")
			if !ok || !strings.EqualFold(svc, "placement") {
				continue
			}
			if strings.EqualFold(strings.TrimSpace(ver), "latest") {
				return Microversions.Max, true
			}
			v, err := api.ParseVersion(ver)
			return v, err == nil
		}
	}
	return Microversions.Min, true
}

// writeError maps a service or decoding error to its status and renders it.
// Errors without a client-facing message become a 500 naming only the
// request id; the cause goes to the log.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	var (
		ae *api.Error
		pe *placement.Error
	)
	switch {
	case errors.As(err, &ae):
		render(w, r, ae.Status, ae.Message, "", nil)
		return
	case errors.As(err, &pe):
		render(w, r, statusOf(pe.Kind), pe.Message, pe.Code, nil)
		return
	}
	api.Logger(r.Context()).Error("request failed", "error", err)
	render(w, r, http.StatusInternalServerError,
		"An unexpected error prevented the server from fulfilling your request. (request "+api.RequestID(r.Context())+")", "", nil)
}

// statusOf maps a service sentinel to its status code.
func statusOf(kind error) int {
	switch {
	case errors.Is(kind, placement.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(kind, placement.ErrConflict):
		return http.StatusConflict
	case errors.Is(kind, placement.ErrBadRequest):
		return http.StatusBadRequest
	case errors.Is(kind, placement.ErrUnauthorized):
		return http.StatusUnauthorized
	case errors.Is(kind, placement.ErrForbidden):
		return http.StatusForbidden
	}
	return http.StatusInternalServerError
}

// requireJSON refuses a body that is not application/json (415), as
// placement's require_content does.
func requireJSON(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	media, _, _ := mime.ParseMediaType(ct)
	if media == "application/json" {
		return nil
	}
	if ct == "" {
		ct = "None"
	} else if media != "" {
		ct = media
	}
	return api.Errorf(http.StatusUnsupportedMediaType, "The media type %s is not supported, use application/json", ct)
}

// checkAccept refuses an Accept header that rules out JSON (406), as
// placement's check_accept does.
func checkAccept(r *http.Request) error {
	accept := r.Header.Get("Accept")
	if accept == "" {
		return nil
	}
	for _, part := range strings.Split(accept, ",") {
		media, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		if q, ok := params["q"]; ok {
			if f, err := strconv.ParseFloat(q, 64); err == nil && f == 0 {
				continue
			}
		}
		if media == "application/json" || media == "application/*" || media == "*/*" {
			return nil
		}
	}
	return api.Errorf(http.StatusNotAcceptable, "Only application/json is provided")
}

// readBody reads a JSON body (415 unless it is JSON), checks it against s
// and decodes it into out.
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request, s schema, out any) error {
	if err := requireJSON(r); err != nil {
		return err
	}
	limit := h.maxBody
	if limit <= 0 {
		limit = api.DefaultMaxBody
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return api.Errorf(http.StatusRequestEntityTooLarge, "Request body is larger than the limit of %d bytes.", limit)
		}
		return api.BadRequest("Malformed JSON: %v", err)
	}
	var doc any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return api.BadRequest("Malformed JSON: %s", jsonProblem(err))
	}
	if dec.More() {
		return api.BadRequest("Malformed JSON: extra data after the JSON document")
	}
	if e := s.check(doc); e != nil {
		return api.BadRequest("JSON does not validate: %s", e)
	}
	if out == nil {
		return nil
	}
	d2 := json.NewDecoder(bytes.NewReader(raw))
	d2.UseNumber()
	if err := d2.Decode(out); err != nil {
		return api.BadRequest("JSON does not validate: %v", err)
	}
	return nil
}

func jsonProblem(err error) string {
	var syn *json.SyntaxError
	switch {
	case errors.Is(err, io.EOF):
		return "Expecting value: line 1 column 1 (char 0)"
	case errors.As(err, &syn):
		return syn.Error() + " at offset " + strconv.FormatInt(syn.Offset, 10)
	}
	return err.Error()
}

// cacheHeaders sets Last-Modified and Cache-Control: no-cache (1.15).
func cacheHeaders(w http.ResponseWriter, v api.Version, modified time.Time) {
	if v.Less(mv(15)) {
		return
	}
	if modified.IsZero() {
		modified = time.Now()
	}
	w.Header().Set("Last-Modified", modified.UTC().Format(http.TimeFormat))
	w.Header().Set("Cache-Control", "no-cache")
}

// writeJSON renders a body with status, and cache headers from 1.15.
func writeJSON(w http.ResponseWriter, v api.Version, status int, modified time.Time, body any) {
	cacheHeaders(w, v, modified)
	api.WriteJSON(w, status, body)
}

// noContent answers 204 with no body.
func noContent(w http.ResponseWriter) { w.WriteHeader(http.StatusNoContent) }

// latestOf returns the latest time, or the zero time for none.
func latestOf[T any](items []T, at func(T) time.Time) time.Time {
	var out time.Time
	for _, it := range items {
		if t := at(it); t.After(out) {
			out = t
		}
	}
	return out
}
