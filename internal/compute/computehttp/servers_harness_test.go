package computehttp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"

	nimbusapi "github.com/nimbus-cloud/nimbus/internal/api"
	"github.com/nimbus-cloud/nimbus/internal/auth"
	"github.com/nimbus-cloud/nimbus/internal/auth/policy"
	"github.com/nimbus-cloud/nimbus/internal/compute"
	"github.com/nimbus-cloud/nimbus/internal/compute/computehttp"
	"github.com/nimbus-cloud/nimbus/internal/compute/computesql"
	"github.com/nimbus-cloud/nimbus/internal/compute/computetest"
	"github.com/nimbus-cloud/nimbus/internal/db"
	"github.com/nimbus-cloud/nimbus/internal/db/dbtest"
)

// Images of the servers harness.
const (
	imgCirros = "11111111-1111-4111-8111-111111111111"
	imgOther  = "44444444-4444-4444-8444-444444444444"
)

// tokens is a fake token validator: each token is a caller.
type tokens map[string]*auth.Caller

func (t tokens) ValidateToken(_ context.Context, token string) (*auth.Caller, error) {
	c, ok := t[token]
	if !ok {
		return nil, auth.ErrUnauthorized
	}
	return c, nil
}

// Tokens of the harness's callers: alice and rita (a reader) of project
// p1, bob of p2, and an admin.
const (
	tAlice = "token-alice"
	tRita  = "token-rita"
	tBob   = "token-bob"
	tAdmin = "token-admin"
)

// serversHarness is the compute API over the real service and SQLite
// store with a fake conductor, image service and two compute hosts.
type serversHarness struct {
	URL    string
	svc    *compute.Service
	cond   *computetest.Conductor
	images *computetest.Images
}

func caller(user, project string, roles ...string) *auth.Caller {
	c := &auth.Caller{UserID: user, ProjectID: project}
	for _, r := range roles {
		c.Roles = append(c.Roles, auth.Role{Name: r})
	}
	return c
}

// newServersHarness starts the harness; withServers false builds the
// service without a conductor.
func newServersHarness(t testing.TB, withServers bool) *serversHarness {
	t.Helper()
	ms, err := computesql.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	d := dbtest.Open(t, db.SQLite)
	if _, err := db.Migrate(context.Background(), d, computesql.ServiceName, ms); err != nil {
		t.Fatal(err)
	}
	enf, err := policy.New(policy.ComputeDefaults(), policy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := &serversHarness{cond: computetest.NewConductor(), images: computetest.NewImages(
		compute.Image{ID: imgCirros, Name: "cirros", Status: "active", Size: 16 << 20, DiskFormat: "qcow2",
			Properties: map[string]string{"os_distro": "cirros", "hw_disk_bus": "virtio", "custom": "x"}},
		compute.Image{ID: imgOther, Name: "other", Status: "active", Size: 1 << 20})}
	deps := compute.Deps{Store: computesql.New(d), Authz: auth.NewAuthorizer(enf),
		Services: computetest.Services{
			{Host: "compute1", Binary: "nova-compute", Zone: "nova", Up: true},
			{Host: "compute2", Binary: "nova-compute", Zone: "nova", Up: true},
		}}
	if withServers {
		deps.Conductor, deps.Images = h.cond, h.images
	}
	deps.ConsoleTokens = consoleTokens{"tok-1": {InstanceUUID: "8d2c5c7e-2f43-4f7d-9b0e-6f1c2a3b4c5d",
		ConsoleType: "novnc", Host: "192.0.2.5", Port: 5901}}
	clock := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	deps.Now = func() time.Time { clock = clock.Add(time.Second); return clock }
	h.svc = compute.New(compute.Config{MaxLimit: 1000, Quota: map[string]int{"instances": 10, "cores": 20, "ram": 51200,
		"metadata_items": 128}}, deps)
	h.cond.Svc = h.svc
	srv := nimbusapi.NewServer(nimbusapi.Options{Name: "compute", Render: computehttp.RenderError,
		RequestIDHeaders: []string{computehttp.RequestIDHeader}})
	computehttp.Register(srv, h.svc, tokens{
		tAlice: caller("alice", "p1", "member", "reader"),
		tRita:  caller("rita", "p1", "reader"),
		tBob:   caller("bob", "p2", "member", "reader"),
		tAdmin: caller("root", "admin", "admin", "member", "reader"),
	}, 0)
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	h.URL = ts.URL
	admin := adminCtx()
	for _, f := range []compute.FlavorCreate{
		{ID: "1", Name: "m1.tiny", MemoryMB: 512, VCPUs: 1, RootGB: 1, RxTxFactor: 1, IsPublic: true},
		{ID: "2", Name: "m1.small", MemoryMB: 2048, VCPUs: 2, RootGB: 20, RxTxFactor: 1, IsPublic: true},
	} {
		if _, err := h.svc.CreateFlavor(admin, f); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := h.svc.CreateExtraSpecs(admin, "1", map[string]string{"hw:cpu_policy": "shared"}, true); err != nil {
		t.Fatal(err)
	}
	return h
}

// reply is a response of the harness.
type reply struct {
	Status int
	Header http.Header
	Body   []byte
}

// json decodes the body as an object.
func (r reply) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("decode %d %s: %v", r.Status, r.Body, err)
	}
	return m
}

// do sends a request at microversion mv ("" for none).
func (h *serversHarness) do(t testing.TB, token, mv, method, path string, body any) reply {
	t.Helper()
	var rd io.Reader
	if body != nil {
		if s, ok := body.(string); ok {
			rd = strings.NewReader(s)
		} else {
			b, err := json.Marshal(body)
			if err != nil {
				t.Fatal(err)
			}
			rd = bytes.NewReader(b)
		}
	}
	req, err := http.NewRequest(method, h.URL+"/v2.1"+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Auth-Token", token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if mv != "" {
		req.Header.Set("OpenStack-API-Version", "compute "+mv)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// want fails unless the reply has the status.
func (r reply) want(t testing.TB, status int) reply {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	return r
}

// wantFault checks nova's error body of the status and name, with a
// message containing msg.
func (r reply) wantFault(t testing.TB, status int, name, msg string) {
	t.Helper()
	r.want(t, status)
	f, ok := r.json(t)[name].(map[string]any)
	if !ok {
		t.Fatalf("no %q fault in %s", name, r.Body)
	}
	if m, _ := f["message"].(string); !strings.Contains(m, msg) || f["code"] != float64(status) {
		t.Fatalf("fault %v does not say %q", f, msg)
	}
}

// boot creates a server as token and returns its id.
func (h *serversHarness) boot(t testing.TB, token, name string, extra map[string]any) string {
	t.Helper()
	server := map[string]any{"name": name, "imageRef": imgCirros, "flavorRef": "1"}
	for k, v := range extra {
		server[k] = v
	}
	r := h.do(t, token, "", "POST", "/servers", map[string]any{"server": server}).want(t, http.StatusAccepted)
	return r.json(t)["server"].(map[string]any)["id"].(string)
}

// server returns GET /servers/{id} at microversion mv.
func (h *serversHarness) server(t testing.TB, token, mv, id string) map[string]any {
	t.Helper()
	return h.do(t, token, mv, "GET", "/servers/"+id, nil).want(t, http.StatusOK).json(t)["server"].(map[string]any)
}

// client is a gophercloud compute client of token at microversion mv.
func (h *serversHarness) client(token, mv string) *gophercloud.ServiceClient {
	p := &gophercloud.ProviderClient{HTTPClient: http.Client{}}
	p.SetToken(token)
	return &gophercloud.ServiceClient{ProviderClient: p, Endpoint: h.URL + "/v2.1/", Type: "compute",
		Microversion: mv}
}

// keys are the sorted keys of an object, for messages.
func keys(m map[string]any) string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return fmt.Sprint(out)
}

// adminCtx is a context of the harness's admin, for direct service calls.
func adminCtx() context.Context {
	return auth.WithCaller(context.Background(), caller("root", "admin", "admin", "member", "reader"))
}
