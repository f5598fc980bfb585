package app_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/hypervisors"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/services"

	"github.com/nimbus-cloud/nimbus/internal/cloudtest"
)

// TestHypervisors lists, shows, searches and sums two fake compute hosts
// with one server through os-hypervisors, at the microversions that
// changed its shape.
func TestHypervisors(t *testing.T) {
	t.Parallel()
	p := startPlane(t, cloudtest.WithOption("compute.fake_host_count", "2"),
		cloudtest.WithOption("compute.fake_vcpus", "8"), cloudtest.WithOption("compute.fake_memory_mb", "8192"),
		cloudtest.WithOption("compute.fake_disk_gb", "100"))
	ctx := context.Background()
	id := p.boot(t, "busy", p.flavor(t, "m1.small", 2, 1024, 10))
	srv := p.waitStatus(t, id, "ACTIVE")
	p.compute.Microversion = "2.53"

	list := func(opts hypervisors.ListOpts) []hypervisors.Hypervisor {
		t.Helper()
		pages, err := hypervisors.List(p.compute, opts).AllPages(ctx)
		if err != nil {
			t.Fatalf("list hypervisors: %v", err)
		}
		hs, err := hypervisors.ExtractHypervisors(pages)
		if err != nil {
			t.Fatal(err)
		}
		return hs
	}
	var hs []hypervisors.Hypervisor
	cloudtest.Eventually(t, 10e9, func() bool {
		hs = list(hypervisors.ListOpts{})
		used := 0
		for _, h := range hs {
			used += h.VCPUsUsed
		}
		return len(hs) == 2 && used == 2
	}, "two hypervisors, one server's CPUs used")
	busy := map[string]hypervisors.Hypervisor{}
	for _, h := range hs {
		if uuid.Validate(h.ID) != nil || h.State != "up" || h.Status != "enabled" || h.VCPUs != 8 ||
			h.MemoryMB != 8192 || h.LocalGB != 100 || h.HypervisorType == "" || h.Service.Host != h.HypervisorHostname {
			t.Errorf("hypervisor %+v", h)
		}
		if h.Service.Host == srv.Host {
			busy[h.ID] = h
		}
	}
	if len(busy) != 1 {
		t.Fatalf("no hypervisor is the server's host %s: %+v", srv.Host, hs)
	}
	for hid, h := range busy {
		if h.RunningVMs != 1 || h.VCPUsUsed != 2 || h.MemoryMBUsed < 1024 || h.FreeRamMB != h.MemoryMB-h.MemoryMBUsed {
			t.Errorf("busy hypervisor %+v", h)
		}
		yes := true
		got, err := hypervisors.GetExt(ctx, p.compute, hid, hypervisors.GetOpts{WithServers: &yes}).Extract()
		if err != nil {
			t.Fatalf("show hypervisor: %v", err)
		}
		if got.Servers == nil || len(*got.Servers) != 1 || (*got.Servers)[0].UUID != id || (*got.Servers)[0].Name != "busy" {
			t.Errorf("servers of the busy hypervisor %+v", got.Servers)
		}
	}

	yes, pattern := true, srv.Host
	found := list(hypervisors.ListOpts{HypervisorHostnamePattern: &pattern, WithServers: &yes})
	if len(found) != 1 || found[0].Servers == nil || len(*found[0].Servers) != 1 {
		t.Errorf("search %q: %+v", pattern, found)
	}
	p.compute.Microversion = "2.87"
	stats, err := hypervisors.GetStatistics(ctx, p.compute).Extract()
	if err != nil {
		t.Fatalf("statistics: %v", err)
	}
	if stats.Count != 2 || stats.VCPUs != 16 || stats.VCPUsUsed != 2 || stats.RunningVMs != 1 || stats.LocalGB != 200 {
		t.Errorf("statistics %+v", stats)
	}

	// Disabling the service shows on its hypervisor.
	p.compute.Microversion = "2.53"
	var svcID string
	for _, s := range p.listServices(t, "nova-compute") {
		if s.Host == srv.Host {
			svcID = s.ID
		}
	}
	if _, err := services.Update(ctx, p.compute, svcID, services.UpdateOpts{Status: services.ServiceDisabled,
		DisabledReason: "patching"}).Extract(); err != nil {
		t.Fatal(err)
	}
	for hid := range busy {
		got, err := hypervisors.Get(ctx, p.compute, hid).Extract()
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != "disabled" || got.Service.DisabledReason != "patching" || got.Service.ID != svcID {
			t.Errorf("disabled hypervisor %+v", got)
		}
	}

	token := p.Token(t, cloudtest.Admin)
	do := func(path, version string) *cloudtest.Response {
		return p.Do(t, "GET", p.ComputeURL+path, token, nil, "OpenStack-API-Version", "compute "+version)
	}
	detail88 := do("/os-hypervisors/detail", "2.88").JSON(t)["hypervisors"].([]any)[0].(map[string]any)
	if _, ok := detail88["vcpus"]; ok {
		t.Errorf("vcpus shown at 2.88: %v", detail88)
	}
	if _, ok := detail88["uptime"]; !ok {
		t.Errorf("uptime missing at 2.88: %v", detail88)
	}
	old := do("/os-hypervisors/detail", "2.27").JSON(t)["hypervisors"].([]any)[0].(map[string]any)
	if _, ok := old["id"].(float64); !ok {
		t.Errorf("id %v before 2.53", old["id"])
	}
	if _, ok := old["cpu_info"].(string); !ok {
		t.Errorf("cpu_info %v before 2.28, want a JSON string", old["cpu_info"])
	}
	paged := do("/os-hypervisors?limit=1", "2.53").JSON(t)
	if len(paged["hypervisors"].([]any)) != 1 || paged["hypervisors_links"] == nil {
		t.Errorf("first page %v", paged)
	}
	cases := []struct {
		path, version string
		status        int
		want          string
	}{
		{"/os-hypervisors/" + srv.Host + "/servers", "2.52", 200, id},
		{"/os-hypervisors/" + srv.Host + "/search", "2.52", 200, `"hypervisor_hostname":"` + srv.Host + `"`},
		{"/os-hypervisors/nowhere/search", "2.52", 404, "No hypervisor matching 'nowhere' could be found."},
		{"/os-hypervisors/" + srv.Host + "/search", "2.53", 404, ""},
		{"/os-hypervisors/statistics", "2.88", 404, ""},
		{"/os-hypervisors/" + strconv.Itoa(int(old["id"].(float64))), "2.1", 200, `"hypervisor"`},
		{"/os-hypervisors/abc", "2.52", 404, "Hypervisor with ID 'abc' could not be found."},
		{"/os-hypervisors/abc", "2.53", 400, "Invalid uuid abc"},
		{"/os-hypervisors/" + uuid.NewString(), "2.53", 404, "could not be found"},
		{"/os-hypervisors?marker=nope", "2.53", 400, "marker [nope] not found"},
		{"/os-hypervisors?hypervisor_hostname_pattern=x&limit=1", "2.53", 400, "Paging over hypervisors"},
		{"/os-hypervisors?color=red", "2.53", 400, "color"},
		{"/os-hypervisors?with_servers=maybe", "2.53", 400, "with_servers"},
		{"/os-hypervisors?with_servers=true", "2.75", 200, `"servers":[]`},
	}
	for _, c := range cases {
		r := do(c.path, c.version)
		if r.Status != c.status || !strings.Contains(string(r.Body), c.want) {
			t.Errorf("GET %s at %s: %d %s, want %d with %q", c.path, c.version, r.Status, r.Body, c.status, c.want)
		}
	}
	if r := p.Do(t, "GET", p.ComputeURL+"/os-hypervisors", p.memberToken(t), nil); r.Status != http.StatusForbidden {
		t.Errorf("member list: %d %s", r.Status, r.Body)
	}
}
