package app_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/services"

	"github.com/nimbus-cloud/nimbus/internal/app"
	"github.com/nimbus-cloud/nimbus/internal/config"
)

// restartableConfig is a configuration whose listeners keep their ports
// across starts, so the catalog stays right.
func restartableConfig(t *testing.T) *config.Config {
	t.Helper()
	set := map[string]string{"DEFAULT.state_path": t.TempDir(), "DEFAULT.bind_host": "127.0.0.1",
		"DEFAULT.host": "node1", "identity.password_hash_rounds": "4", "compute.report_interval": "1",
		"vnc.novncproxy_host": "127.0.0.1", "vnc.novncproxy_port": "0", "compute.compute_driver": "fake"}
	for _, svc := range []string{"identity", "image", "placement", "compute"} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		set[svc+".bind_port"] = strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
		ln.Close()
	}
	cfg, err := config.Load(config.Source{Set: set})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func startRole(t *testing.T, cfg *config.Config, role string) *app.Cloud {
	t.Helper()
	c, err := app.Start(context.Background(), cfg, app.StartOptions{AdminPassword: "pw", Role: role,
		Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("start %s: %v", role, err)
	}
	return c
}

func computeServiceClient(t *testing.T, identityURL string) *gophercloud.ServiceClient {
	t.Helper()
	pc, err := openstack.AuthenticatedClient(context.Background(), gophercloud.AuthOptions{IdentityEndpoint: identityURL,
		Username: "admin", Password: "pw", DomainName: "Default",
		Scope: &gophercloud.AuthScope{ProjectName: "admin", DomainName: "Default"}})
	if err != nil {
		t.Fatal(err)
	}
	sc, err := openstack.NewComputeV2(pc, gophercloud.EndpointOpts{})
	if err != nil {
		t.Fatal(err)
	}
	sc.Microversion = "2.53"
	return sc
}

func listServices(t *testing.T, sc *gophercloud.ServiceClient) map[string]services.Service {
	t.Helper()
	pages, err := services.List(sc, nil).AllPages(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	all, err := services.ExtractServices(pages)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]services.Service{}
	for _, s := range all {
		out[s.Host+"/"+s.Binary] = s
	}
	return out
}

// The all-in-one cloud keeps its service group in its database: a
// disabled compute host stays disabled, under the same id, after a
// restart. A controller runs no compute agent.
func TestServiceGroupOutlivesRestart(t *testing.T) {
	t.Parallel()
	cfg := restartableConfig(t)
	c := startRole(t, cfg, app.RoleAll)
	if hosts := c.ComputeHosts(); len(hosts) != 1 || hosts[0] != "node1" {
		t.Fatalf("all-in-one compute hosts %v, want node1", hosts)
	}
	sc := computeServiceClient(t, c.IdentityURL)
	before := listServices(t, sc)
	cmp, ok := before["node1/nova-compute"]
	if !ok || cmp.State != "up" {
		t.Fatalf("services %v: want node1's nova-compute up", before)
	}
	if err := services.Update(context.Background(), sc, cmp.ID, services.UpdateOpts{Status: services.ServiceDisabled,
		DisabledReason: "rack move"}).Err; err != nil {
		t.Fatal(err)
	}
	if err := c.Close(context.Background()); err != nil {
		t.Fatal(err)
	}

	c = startRole(t, cfg, app.RoleController)
	defer c.Close(context.Background())
	if hosts := c.ComputeHosts(); len(hosts) != 0 {
		t.Errorf("a controller runs compute agents %v", hosts)
	}
	after := listServices(t, computeServiceClient(t, c.IdentityURL))
	got := after["node1/nova-compute"]
	if got.ID != cmp.ID || got.Status != "disabled" || got.DisabledReason != "rack move" {
		t.Errorf("after restart %+v; want id %s disabled for rack move", got, cmp.ID)
	}
	for key, s := range before {
		if after[key].ID != s.ID {
			t.Errorf("%s: id %s became %s", key, s.ID, after[key].ID)
		}
	}
}

// A compute node started before its controller waits for identity; one
// whose login identity refuses stops at once.
func TestComputeNodeJoins(t *testing.T) {
	t.Parallel()
	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error": {"code": 401, "title": "Unauthorized", "message": "The request you have made requires authentication."}}`))
	}))
	t.Cleanup(refusing.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	absent := "http://" + ln.Addr().String() + "/v3"
	ln.Close()

	for _, tc := range []struct {
		name, authURL string
		wait          bool
	}{
		{"controller not up yet", absent, true},
		{"wrong password", refusing.URL + "/v3", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := config.Load(config.Source{Set: map[string]string{"DEFAULT.state_path": t.TempDir(),
				"DEFAULT.transport_url": "rabbit://guest:guest@127.0.0.1:1/", "DEFAULT.host": "cmp1",
				"keystone_authtoken.auth_url": tc.authURL, "keystone_authtoken.password": "secret"}})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
			defer cancel()
			_, err = app.Start(ctx, cfg, app.StartOptions{Role: app.RoleCompute, Log: slog.New(slog.DiscardHandler)})
			if err == nil {
				t.Fatal("a compute node started without identity")
			}
			if waited := errors.Is(err, context.DeadlineExceeded); waited != tc.wait {
				t.Errorf("Start = %v; waited for identity %v, want %v", err, waited, tc.wait)
			}
		})
	}
}
