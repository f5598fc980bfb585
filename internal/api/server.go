// Package api is the HTTP plumbing every OpenStack API service of Nimbus shares:
// request ids, access logs, panic recovery, metrics, JSON bodies, upstream error
// bodies, pagination and microversions. Routing is the standard library's ServeMux
// with method patterns ("GET /v3/users/{user_id}").
package api

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
)

// RequestIDHeader carries the request id on every response, as upstream.
const RequestIDHeader = "X-Openstack-Request-Id"

// ErrorRenderer writes an error response in one service's upstream body shape.
type ErrorRenderer func(w http.ResponseWriter, r *http.Request, status int, message string)

// Server is one API service's HTTP handler: routes plus the shared plumbing.
type Server struct {
	name    string
	mux     *http.ServeMux
	render  ErrorRenderer
	log     *slog.Logger
	metrics *Metrics
	// extraIDHeaders are service-specific aliases of the request id header
	// (compute also sends X-Compute-Request-Id).
	extraIDHeaders []string
}

// Options configure a Server.
type Options struct {
	// Name is the service name used in logs and metrics ("identity", "compute").
	Name string
	// Render writes errors in the service's upstream shape; required.
	Render ErrorRenderer
	// Log receives the access log; nil discards it.
	Log *slog.Logger
	// Metrics records requests per route; nil records nothing.
	Metrics *Metrics
	// RequestIDHeaders are extra headers that repeat the request id.
	RequestIDHeaders []string
}

// NewServer returns a Server with no routes but /healthcheck.
func NewServer(o Options) *Server {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	s := &Server{name: o.Name, mux: http.NewServeMux(), render: o.Render, log: o.Log,
		metrics: o.Metrics, extraIDHeaders: o.RequestIDHeaders}
	s.mux.HandleFunc("GET /healthcheck", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("OK"))
	})
	return s
}

// Handle registers h for a ServeMux pattern such as "GET /v3/users/{user_id}".
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// HandleFunc registers f for a ServeMux pattern.
func (s *Server) HandleFunc(pattern string, f http.HandlerFunc) { s.mux.Handle(pattern, f) }

// Render writes an error in the service's shape.
func (s *Server) Render(w http.ResponseWriter, r *http.Request, status int, message string) {
	s.render(w, r, status, message)
}

type ctxKey int

const (
	requestIDKey ctxKey = iota
	loggerKey
)

// RequestID returns the request id of the request ctx belongs to, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// Logger returns the request-scoped logger (with its request id), or the default.
func Logger(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(loggerKey).(*slog.Logger); ok {
		return l
	}
	return slog.Default()
}

// ServeHTTP runs the request through request id, recovery, routing, logging and metrics.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := "req-" + uuid.NewString()
	rw := &responseWriter{ResponseWriter: w, status: http.StatusOK}
	h := w.Header()
	h.Set(RequestIDHeader, id)
	for _, name := range s.extraIDHeaders {
		h.Set(name, id)
	}
	log := s.log.With("request_id", id)
	ctx := context.WithValue(r.Context(), requestIDKey, id)
	ctx = context.WithValue(ctx, loggerKey, log)
	r = r.WithContext(ctx)

	_, pattern := s.mux.Handler(r)
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			log.Error("panic serving request", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(p))
			if !rw.wrote {
				s.render(rw, r, http.StatusInternalServerError,
					"An unexpected error prevented the server from fulfilling your request. (request "+id+")")
			}
		}
		elapsed := time.Since(start)
		route := pattern
		if route == "" {
			route = "unmatched"
		}
		s.metrics.observe(s.name, route, r.Method, rw.status, elapsed)
		log.Info("request", "method", r.Method, "path", r.URL.Path, "status", rw.status,
			"bytes", rw.bytes, "duration_ms", float64(elapsed.Microseconds())/1000, "remote", r.RemoteAddr)
	}()
	if pattern == "" {
		s.unmatched(rw, r)
		return
	}
	s.mux.ServeHTTP(rw, r)
}

// unmatched answers a request no pattern matched: 405 when the path exists for
// other methods, else 404, in the service's error shape.
func (s *Server) unmatched(w http.ResponseWriter, r *http.Request) {
	var allowed []string
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		if m == r.Method {
			continue
		}
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, p := s.mux.Handler(probe); p != "" {
			allowed = append(allowed, m)
		}
	}
	if len(allowed) > 0 {
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		s.render(w, r, http.StatusMethodNotAllowed, "The method "+r.Method+" is not allowed for this resource.")
		return
	}
	s.render(w, r, http.StatusNotFound, "The resource could not be found.")
}

// responseWriter records the status and size of a response.
type responseWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
	wrote  bool
}

func (w *responseWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status = code
		w.wrote = true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(b []byte) (int, error) {
	w.wrote = true
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// ReadFrom lets io.Copy from a file use the connection's sendfile path, as the
// standard library's own response writer does.
func (w *responseWriter) ReadFrom(r io.Reader) (int64, error) {
	w.wrote = true
	var n int64
	var err error
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(r)
	} else {
		n, err = io.Copy(struct{ io.Writer }{w.ResponseWriter}, r)
	}
	w.bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer (flush, deadlines).
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
