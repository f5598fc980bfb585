package api_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/api"
)

func render(w http.ResponseWriter, r *http.Request, status int, msg string) {
	api.WriteJSON(w, status, map[string]any{"error": map[string]any{"code": status, "message": msg}})
}

func newServer() *api.Server {
	s := api.NewServer(api.Options{Name: "test", Render: render, Metrics: api.NewMetrics()})
	s.HandleFunc("GET /things/{id}", func(w http.ResponseWriter, r *http.Request) {
		api.WriteJSON(w, 200, map[string]string{"id": r.PathValue("id")})
	})
	s.HandleFunc("POST /things", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Name string `json:"name"`
			Size int    `json:"size"`
		}
		if err := api.DecodeJSON(w, r, 64, &body); err != nil {
			render(w, r, err.Status, err.Message)
			return
		}
		api.WriteJSON(w, 201, body)
	})
	s.HandleFunc("GET /panic", func(w http.ResponseWriter, r *http.Request) { panic("boom: secret detail") })
	return s
}

func do(t *testing.T, h http.Handler, method, path, body string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestServer(t *testing.T) {
	t.Parallel()
	s := newServer()
	cases := []struct {
		name, method, path, body string
		status                   int
		contains                 string
	}{
		{"route", "GET", "/things/42", "", 200, `"id":"42"`},
		{"healthcheck", "GET", "/healthcheck", "", 200, "OK"},
		{"unknown path", "GET", "/nothing", "", 404, "could not be found"},
		{"wrong method", "DELETE", "/things/1", "", 405, "not allowed"},
		{"panic", "GET", "/panic", "", 500, "request req-"},
		{"decode ok", "POST", "/things", `{"name":"a","size":3}`, 201, `"name":"a"`},
		{"malformed", "POST", "/things", `{"name":`, 400, "truncated"},
		{"wrong type", "POST", "/things", `{"size":"big"}`, 400, "Invalid input for field 'size'"},
		{"trailing data", "POST", "/things", `{} {}`, 400, "unexpected data"},
		{"too large", "POST", "/things", `{"name":"` + strings.Repeat("x", 100) + `"}`, 413, "larger than the limit"},
		{"empty", "POST", "/things", ``, 400, "empty"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			w := do(t, s, c.method, c.path, c.body)
			if w.Code != c.status || !strings.Contains(w.Body.String(), c.contains) {
				t.Fatalf("%s %s = %d %s; want %d containing %q", c.method, c.path, w.Code, w.Body, c.status, c.contains)
			}
			if id := w.Header().Get(api.RequestIDHeader); !strings.HasPrefix(id, "req-") {
				t.Errorf("request id = %q", id)
			}
			if strings.Contains(w.Body.String(), "secret detail") {
				t.Error("panic detail leaked to the client")
			}
		})
	}
	if w := do(t, s, "DELETE", "/things/1", ""); w.Header().Get("Allow") != "GET, HEAD" {
		t.Errorf("Allow = %q", w.Header().Get("Allow"))
	}
}

func TestMicroversions(t *testing.T) {
	t.Parallel()
	mv := api.Microversions{Service: "compute", LegacyHeader: "X-OpenStack-Nova-API-Version",
		Min: api.Version{2, 1}, Max: api.Version{2, 90}}
	cases := []struct {
		name, header, value string
		want                api.Version
		status              int
	}{
		{"none", "", "", api.Version{2, 1}, 0},
		{"standard", "OpenStack-API-Version", "compute 2.47", api.Version{2, 47}, 0},
		{"other service ignored", "OpenStack-API-Version", "volume 3.5", api.Version{2, 1}, 0},
		{"legacy", "X-OpenStack-Nova-API-Version", "2.10", api.Version{2, 10}, 0},
		{"latest", "OpenStack-API-Version", "compute latest", api.Version{2, 90}, 0},
		{"too new", "OpenStack-API-Version", "compute 2.91", api.Version{}, 406},
		{"too old", "OpenStack-API-Version", "compute 1.9", api.Version{}, 406},
		{"garbage", "OpenStack-API-Version", "compute two", api.Version{}, 400},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest("GET", "/", nil)
			if c.header != "" {
				r.Header.Set(c.header, c.value)
			}
			w := httptest.NewRecorder()
			v, err := mv.Negotiate(w, r)
			if c.status != 0 {
				if err == nil || err.Status != c.status {
					t.Fatalf("err = %v, want status %d", err, c.status)
				}
				return
			}
			if err != nil || v != c.want {
				t.Fatalf("Negotiate = %v, %v; want %v", v, err, c.want)
			}
			if got := w.Header().Get("OpenStack-API-Version"); got != "compute "+c.want.String() {
				t.Errorf("response header = %q", got)
			}
		})
	}
}

func TestPagination(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest("GET", "/servers?limit=500&marker=abc&name=x", nil)
	p, err := api.ParsePage(r, 100)
	if err != nil || p.Limit != 100 || p.Marker != "abc" {
		t.Fatalf("ParsePage = %+v, %v", p, err)
	}
	if _, err := api.ParsePage(httptest.NewRequest("GET", "/servers?limit=-1", nil), 100); err == nil || err.Status != 400 {
		t.Fatalf("negative limit: %v", err)
	}
	next := api.NextURL(r, "http://cloud:8774", "xyz")
	if next != "http://cloud:8774/servers?limit=500&marker=xyz&name=x" {
		t.Fatalf("next = %s", next)
	}
}

func TestMetricsCountRoutes(t *testing.T) {
	t.Parallel()
	m := api.NewMetrics()
	s := api.NewServer(api.Options{Name: "svc", Render: render, Metrics: m})
	s.HandleFunc("GET /things/{id}", func(w http.ResponseWriter, r *http.Request) {})
	do(t, s, "GET", "/things/1", "")
	do(t, s, "GET", "/things/2", "")
	w := do(t, m.Handler(), "GET", "/metrics", "")
	if !strings.Contains(w.Body.String(), `nimbus_http_requests_total{code="200",method="GET",route="GET /things/{id}",service="svc"} 2`) {
		t.Fatalf("metrics:\n%s", w.Body)
	}
}
