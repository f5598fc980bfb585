// Package cloudtest boots a real all-in-one Nimbus cloud inside a test process:
// SQLite under t.TempDir, listeners on 127.0.0.1 with free ports, cheap bcrypt.
// Tests reach it only over HTTP, with gophercloud or raw JSON.
package cloudtest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"

	"github.com/nimbus-cloud/nimbus/internal/app"
	"github.com/nimbus-cloud/nimbus/internal/config"
)

// AdminPassword is the admin user's password in every test cloud.
const AdminPassword = "cloudtest-admin-secret"

// Cloud is a running test cloud.
type Cloud struct {
	*app.Cloud
	// Config is the configuration the cloud runs with.
	Config *config.Config
	// start boots the cloud again on Config, for Restart.
	start func() (*app.Cloud, error)
}

// settings collect what Options change.
type settings struct {
	set   map[string]string
	log   io.Writer
	plane bool
	qemu  bool
	// open lets other users into the state folder (libvirt's QEMU).
	open bool
}

// Option changes a test cloud before it starts.
type Option func(*settings)

// WithOption sets one configuration option, "section.option" to value.
func WithOption(key, value string) Option {
	return func(s *settings) { s.set[key] = value }
}

// WithComputePlane runs the compute control plane (bus, conductor,
// scheduler and compute.fake_host_count agents with the fake driver), so
// the compute API serves servers; without it the cloud has no servers.
func WithComputePlane() Option {
	return func(s *settings) { s.plane = true }
}

// WithQEMU runs the compute plane with compute_driver qemu: servers are
// real QEMU guests, under TCG so that tests behave alike on every machine,
// with compute.qemu_host_count hosts. The state folder is short (QEMU's
// monitor sockets live in it), and QEMU processes the cloud leaves are
// killed when the test ends. The test skips when QEMU is not installed.
func WithQEMU() Option {
	return func(s *settings) {
		s.plane, s.qemu = true, true
		s.set["compute.compute_driver"] = "qemu"
		s.set["qemu.virt_type"] = "qemu"
	}
}

// WithLibvirt runs the compute plane with compute_driver libvirt against
// the libvirtd at uri (libvirttest.Require gives one): servers are real
// QEMU guests of libvirt domains, under TCG, with compute.qemu_host_count
// hosts. The state folder is short and open to the user libvirt runs
// QEMU as. The test skips when QEMU is not installed.
func WithLibvirt(uri string) Option {
	return func(s *settings) {
		s.plane, s.qemu, s.open = true, true, true
		s.set["compute.compute_driver"] = "libvirt"
		s.set["libvirt.connection_uri"] = uri
		s.set["libvirt.virt_type"] = "qemu"
	}
}

// WithLog sends the cloud's log, at debug level, to w.
func WithLog(w io.Writer) Option {
	return func(s *settings) { s.log = w }
}

// Start boots a cloud for t and stops it when t ends.
func Start(t testing.TB, opts ...Option) *Cloud {
	t.Helper()
	st := settings{set: map[string]string{
		"DEFAULT.state_path":            t.TempDir(),
		"DEFAULT.bind_host":             "127.0.0.1",
		"DEFAULT.my_ip":                 "127.0.0.1",
		"identity.bind_port":            "0",
		"image.bind_port":               "0",
		"placement.bind_port":           "0",
		"compute.bind_port":             "0",
		"vnc.novncproxy_host":           "127.0.0.1",
		"vnc.novncproxy_port":           "0",
		"identity.password_hash_rounds": "4",
		"compute.compute_driver":        "fake",
	}}
	if os.Getenv("NIMBUS_TEST_LOG") != "" {
		st.log = os.Stderr
	}
	for _, o := range opts {
		o(&st)
	}
	if st.qemu {
		RequireQEMU(t)
		st.set["DEFAULT.state_path"] = qemuStateDir(t)
		if st.open {
			if err := os.Chmod(st.set["DEFAULT.state_path"], 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	cfg, err := config.Load(config.Source{Set: st.set})
	if err != nil {
		t.Fatalf("test cloud config: %v", err)
	}
	log := slog.New(slog.DiscardHandler)
	if st.log != nil {
		log = slog.New(slog.NewTextHandler(st.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	start := func() (*app.Cloud, error) {
		return app.Start(context.Background(), cfg, app.StartOptions{AdminPassword: AdminPassword, Log: log,
			NoComputePlane: !st.plane})
	}
	ac, err := start()
	if err != nil {
		t.Fatalf("start test cloud: %v", err)
	}
	c := &Cloud{Cloud: ac, Config: cfg, start: start}
	t.Cleanup(func() {
		if c.Cloud == nil {
			return // a restart that failed closed it
		}
		if err := c.close(); err != nil {
			t.Errorf("stop test cloud: %v", err)
		}
	})
	return c
}

func (c *Cloud) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return c.Cloud.Close(ctx)
}

// Restart stops the cloud and starts it again on the same configuration
// and state folder, as a restart of the nimbus process does: its
// databases, keys, images and instances stay, and the guests of the qemu
// and libvirt drivers run on for the new agents to adopt. The listeners
// take new ports: clients made before the restart are stale.
func (c *Cloud) Restart(t testing.TB) {
	t.Helper()
	if err := c.close(); err != nil {
		c.Cloud = nil
		t.Fatalf("stop test cloud for a restart: %v", err)
	}
	ac, err := c.start()
	if err != nil {
		c.Cloud = nil
		t.Fatalf("restart test cloud: %v", err)
	}
	c.Cloud = ac
}

// Credentials name a user and the project to scope to ("" for unscoped).
type Credentials struct {
	Username, Password, ProjectName string
	DomainName                      string // default "Default"
}

// Admin are the admin's credentials on the admin project.
var Admin = Credentials{Username: "admin", Password: AdminPassword, ProjectName: "admin"}

// Provider authenticates with gophercloud and returns its provider client.
func (c *Cloud) Provider(t testing.TB, cr Credentials) *gophercloud.ProviderClient {
	t.Helper()
	if cr.DomainName == "" {
		cr.DomainName = "Default"
	}
	opts := gophercloud.AuthOptions{IdentityEndpoint: c.IdentityURL, Username: cr.Username,
		Password: cr.Password, DomainName: cr.DomainName}
	if cr.ProjectName != "" {
		opts.TenantName = cr.ProjectName
	}
	pc, err := openstack.AuthenticatedClient(context.Background(), opts)
	if err != nil {
		t.Fatalf("authenticate %s: %v", cr.Username, err)
	}
	return pc
}

// IdentityClient returns a gophercloud identity v3 client for the credentials.
func (c *Cloud) IdentityClient(t testing.TB, cr Credentials) *gophercloud.ServiceClient {
	t.Helper()
	sc, err := openstack.NewIdentityV3(c.Provider(t, cr), gophercloud.EndpointOpts{})
	if err != nil {
		t.Fatalf("identity client: %v", err)
	}
	return sc
}

// ImageClient returns a gophercloud image v2 client for the credentials; the
// cloud's image endpoint is c.ImageURL.
func (c *Cloud) ImageClient(t testing.TB, cr Credentials) *gophercloud.ServiceClient {
	t.Helper()
	sc, err := openstack.NewImageV2(c.Provider(t, cr), gophercloud.EndpointOpts{})
	if err != nil {
		t.Fatalf("image client: %v", err)
	}
	return sc
}

// ComputeClient returns a gophercloud compute v2 client for the credentials,
// speaking microversion 2.1 unless its Microversion is set; the cloud's
// compute endpoint is c.ComputeURL.
func (c *Cloud) ComputeClient(t testing.TB, cr Credentials) *gophercloud.ServiceClient {
	t.Helper()
	sc, err := openstack.NewComputeV2(c.Provider(t, cr), gophercloud.EndpointOpts{})
	if err != nil {
		t.Fatalf("compute client: %v", err)
	}
	return sc
}

// PlacementClient returns a gophercloud placement v1 client for the
// credentials, speaking microversion 1.0 unless its Microversion is set; the
// cloud's placement endpoint is c.PlacementURL.
func (c *Cloud) PlacementClient(t testing.TB, cr Credentials) *gophercloud.ServiceClient {
	t.Helper()
	sc, err := openstack.NewPlacementV1(c.Provider(t, cr), gophercloud.EndpointOpts{})
	if err != nil {
		t.Fatalf("placement client: %v", err)
	}
	return sc
}

// Token issues a token for the credentials with a raw request and returns it.
func (c *Cloud) Token(t testing.TB, cr Credentials) string {
	t.Helper()
	if cr.DomainName == "" {
		cr.DomainName = "Default"
	}
	body := map[string]any{"auth": map[string]any{
		"identity": map[string]any{"methods": []string{"password"}, "password": map[string]any{
			"user": map[string]any{"name": cr.Username, "password": cr.Password,
				"domain": map[string]any{"name": cr.DomainName}}}},
	}}
	if cr.ProjectName != "" {
		body["auth"].(map[string]any)["scope"] = map[string]any{"project": map[string]any{
			"name": cr.ProjectName, "domain": map[string]any{"name": cr.DomainName}}}
	}
	resp := c.Do(t, "POST", c.IdentityURL+"/auth/tokens", "", body)
	if resp.Status != http.StatusCreated {
		t.Fatalf("issue token for %s: %d %s", cr.Username, resp.Status, resp.Body)
	}
	return resp.Header.Get("X-Subject-Token")
}

// Response is a raw HTTP response with its body read.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into a generic map, failing the test if it is not JSON.
func (r *Response) JSON(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("response is not a JSON object: %v: %s", err, r.Body)
	}
	return m
}

// Do sends a request with an optional token and JSON body (a string or []byte is
// sent as is) and reads the whole response.
func (c *Cloud) Do(t testing.TB, method, url, token string, body any, headers ...string) *Response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatalf("encode body: %v", err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatalf("build request: %v", err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("X-Auth-Token", token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: raw}
}

// Eventually polls cond every 10 ms until it holds or timeout passes.
func Eventually(t testing.TB, timeout time.Duration, cond func() bool, msg string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %s: %s", timeout, msg)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
