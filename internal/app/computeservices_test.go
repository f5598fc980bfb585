package app_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/services"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/projects"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/roles"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/users"

	"github.com/nimbus-cloud/nimbus/internal/cloudtest"
)

// listServices lists the services of binary through gophercloud.
func (p *plane) listServices(t *testing.T, binary string) []services.Service {
	t.Helper()
	pages, err := services.List(p.compute, services.ListOpts{Binary: binary}).AllPages(context.Background())
	if err != nil {
		t.Fatalf("list services: %v", err)
	}
	all, err := services.ExtractServices(pages)
	if err != nil {
		t.Fatal(err)
	}
	return all
}

// TestServicesDisableBlocksScheduling disables the only compute host
// through os-services: a boot fails naming ComputeFilter and the reason;
// once enabled again, a boot succeeds. Forcing the service down shows it
// down at once.
func TestServicesDisableBlocksScheduling(t *testing.T) {
	t.Parallel()
	p := startPlane(t, cloudtest.WithOption("compute.fake_host_count", "1"))
	p.compute.Microversion = "2.53"
	ctx := context.Background()
	flavor := p.flavor(t, "m1.small", 1, 256, 1)

	var computes []services.Service
	cloudtest.Eventually(t, 10e9, func() bool {
		computes = p.listServices(t, "nova-compute")
		return len(computes) == 1 && computes[0].State == "up"
	}, "one compute service up")
	svc := computes[0]
	if uuid.Validate(svc.ID) != nil || svc.Status != "enabled" || svc.Zone != "nova" || svc.ForcedDown {
		t.Fatalf("compute service %+v", svc)
	}
	if others := p.listServices(t, "nova-scheduler"); len(others) != 1 || others[0].Zone != "internal" {
		t.Errorf("scheduler services %+v", others)
	}

	got, err := services.Update(ctx, p.compute, svc.ID, services.UpdateOpts{Status: services.ServiceDisabled,
		DisabledReason: "maintenance"}).Extract()
	if err != nil {
		t.Fatalf("disable: %v", err)
	}
	if got.Status != "disabled" || got.DisabledReason != "maintenance" || got.ID != svc.ID {
		t.Fatalf("disabled service %+v", got)
	}
	id := p.boot(t, "on-disabled", flavor)
	s := p.waitStatus(t, id, "ERROR")
	if !strings.Contains(s.Fault.Message, "ComputeFilter rejected 1 host (disabled: maintenance)") {
		t.Errorf("fault %q, want ComputeFilter naming the reason", s.Fault.Message)
	}

	if _, err := services.Update(ctx, p.compute, svc.ID, services.UpdateOpts{Status: services.ServiceEnabled}).Extract(); err != nil {
		t.Fatalf("enable: %v", err)
	}
	id = p.boot(t, "on-enabled", flavor)
	if s := p.waitStatus(t, id, "ACTIVE"); s.Host == "" {
		t.Errorf("active server without host")
	}

	down := true
	got, err = services.Update(ctx, p.compute, svc.ID, services.UpdateOpts{ForcedDown: down}).Extract()
	if err != nil {
		t.Fatalf("force down: %v", err)
	}
	if got.State != "down" || !got.ForcedDown {
		t.Errorf("forced down service %+v", got)
	}
	// A compute service hosting a server may not be deleted.
	err = services.Delete(ctx, p.compute, svc.ID).ExtractErr()
	if !gophercloud.ResponseCodeIs(err, http.StatusConflict) {
		t.Errorf("delete of a busy compute service: %v, want 409", err)
	}
}

// TestServicesLegacyActions drives os-services before 2.53: integer ids,
// actions by host and binary, and nova's refusals.
func TestServicesLegacyActions(t *testing.T) {
	t.Parallel()
	p := startPlane(t, cloudtest.WithOption("compute.fake_host_count", "1"))
	token := p.Token(t, cloudtest.Admin)
	host := p.ComputeHosts()[0]
	do := func(method, path, version string, body any) *cloudtest.Response {
		return p.Do(t, method, p.ComputeURL+path, token, body, "OpenStack-API-Version", "compute "+version)
	}
	cloudtest.Eventually(t, 10e9, func() bool {
		r := do("GET", "/os-services?binary=nova-compute", "2.10", nil)
		return r.Status == http.StatusOK && len(r.JSON(t)["services"].([]any)) == 1
	}, "compute service registered")
	list := do("GET", "/os-services?binary=nova-compute&host="+host, "2.10", nil).JSON(t)["services"].([]any)
	first := list[0].(map[string]any)
	if _, ok := first["id"].(float64); !ok {
		t.Errorf("id %v before 2.53, want an integer", first["id"])
	}
	if _, ok := first["forced_down"]; ok {
		t.Errorf("forced_down shown before 2.11: %v", first)
	}

	cases := []struct {
		name, path, version string
		body                map[string]any
		status              int
		want                string
	}{
		{"disable with reason", "/os-services/disable-log-reason", "2.11",
			map[string]any{"host": host, "binary": "nova-compute", "disabled_reason": "disk swap"}, 200, `"disabled_reason":"disk swap"`},
		{"missing reason", "/os-services/disable-log-reason", "2.11",
			map[string]any{"host": host, "binary": "nova-compute"}, 400, "Missing disabled reason field"},
		{"enable", "/os-services/enable", "2.1", map[string]any{"host": host, "binary": "nova-compute"}, 200, `"status":"enabled"`},
		{"scheduler refused", "/os-services/disable", "2.1", map[string]any{"host": host, "binary": "nova-scheduler"}, 400,
			"Updating a nova-scheduler service is not supported. Only nova-compute services can be updated."},
		{"unknown host", "/os-services/disable", "2.1", map[string]any{"host": "nowhere", "binary": "nova-compute"}, 404,
			"Could not find binary nova-compute on host nowhere."},
		{"force down", "/os-services/force-down", "2.11",
			map[string]any{"host": host, "binary": "nova-compute", "forced_down": true}, 200, `"forced_down":true`},
		{"force down before 2.11", "/os-services/force-down", "2.10",
			map[string]any{"host": host, "binary": "nova-compute", "forced_down": true}, 404, "Unknown action"},
		{"unknown action", "/os-services/reboot", "2.1", map[string]any{"host": host, "binary": "nova-compute"}, 404,
			"Unknown action"},
		{"extra field", "/os-services/enable", "2.1",
			map[string]any{"host": host, "binary": "nova-compute", "color": "red"}, 400, "color"},
		{"missing host", "/os-services/enable", "2.1", map[string]any{"binary": "nova-compute"}, 400, "host"},
	}
	for _, c := range cases {
		r := do("PUT", c.path, c.version, c.body)
		if r.Status != c.status || !strings.Contains(string(r.Body), c.want) {
			t.Errorf("%s: %d %s, want %d with %q", c.name, r.Status, r.Body, c.status, c.want)
		}
	}
	svc := do("GET", "/os-services?binary=nova-compute", "2.11", nil).JSON(t)["services"].([]any)[0].(map[string]any)
	if svc["state"] != "down" || svc["forced_down"] != true || svc["status"] != "enabled" {
		t.Errorf("service after actions %v", svc)
	}

	if r := do("GET", "/os-services?color=red", "2.75", nil); r.Status != 400 {
		t.Errorf("unknown query at 2.75: %d %s", r.Status, r.Body)
	}
	if r := do("GET", "/os-services?color=red", "2.74", nil); r.Status != 200 {
		t.Errorf("unknown query at 2.74: %d %s", r.Status, r.Body)
	}
	if r := do("DELETE", "/os-services/abc", "2.52", nil); r.Status != 400 {
		t.Errorf("delete by a non-integer: %d %s", r.Status, r.Body)
	}
	if r := do("DELETE", "/os-services/abc", "2.53", nil); r.Status != 400 || !strings.Contains(string(r.Body), "Invalid uuid abc") {
		t.Errorf("delete by a non-uuid: %d %s", r.Status, r.Body)
	}
	if r := do("DELETE", "/os-services/"+uuid.NewString(), "2.53", nil); r.Status != 404 {
		t.Errorf("delete of an unknown service: %d %s", r.Status, r.Body)
	}
	if r := do("PUT", "/os-services/"+uuid.NewString(), "2.53", map[string]any{"status": "enabled"}); r.Status != 404 {
		t.Errorf("update of an unknown service: %d %s", r.Status, r.Body)
	}
	id := svc["id"].(float64)
	r := do("GET", "/os-services?binary=nova-compute", "2.53", nil)
	uid := r.JSON(t)["services"].([]any)[0].(map[string]any)["id"].(string)
	for _, c := range []struct {
		body map[string]any
		want string
	}{
		{map[string]any{}, "No updates were requested"},
		{map[string]any{"status": "enabled", "disabled_reason": "x"}, "Specifying 'disabled_reason' with status 'enabled' is invalid."},
		{map[string]any{"status": "off"}, "status"},
		{map[string]any{"forced_down": "maybe"}, "forced_down"},
	} {
		if r := do("PUT", "/os-services/"+uid, "2.53", c.body); r.Status != 400 || !strings.Contains(string(r.Body), c.want) {
			t.Errorf("update %v: %d %s, want 400 with %q", c.body, r.Status, r.Body, c.want)
		}
	}

	// A non-admin is refused by policy.
	member := p.memberToken(t)
	if r := p.Do(t, "GET", p.ComputeURL+"/os-services", member, nil); r.Status != http.StatusForbidden {
		t.Errorf("member list: %d %s", r.Status, r.Body)
	}

	// An idle compute service is deleted by its integer id.
	if r := do("DELETE", "/os-services/"+strconv.Itoa(int(id)), "2.52", nil); r.Status != http.StatusNoContent {
		t.Fatalf("delete idle compute service: %d %s", r.Status, r.Body)
	}
}

// memberToken creates a user with the member role on the admin project and
// returns a token of theirs.
func (p *plane) memberToken(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	ic := p.IdentityClient(t, cloudtest.Admin)
	pages, err := projects.List(ic, projects.ListOpts{Name: "admin"}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ps, err := projects.ExtractProjects(pages)
	if err != nil || len(ps) != 1 {
		t.Fatalf("admin project: %v %v", ps, err)
	}
	rpages, err := roles.List(ic, roles.ListOpts{Name: "member"}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := roles.ExtractRoles(rpages)
	if err != nil || len(rs) != 1 {
		t.Fatalf("member role: %v %v", rs, err)
	}
	u, err := users.Create(ctx, ic, users.CreateOpts{Name: "operator-member", Password: "member-secret",
		DomainID: "default"}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if err := roles.Assign(ctx, ic, rs[0].ID, roles.AssignOpts{UserID: u.ID, ProjectID: ps[0].ID}).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	return p.Token(t, cloudtest.Credentials{Username: "operator-member", Password: "member-secret", ProjectName: "admin"})
}
