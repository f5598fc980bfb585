package app_test

import (
	"context"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/flavors"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"

	"github.com/nimbus-cloud/nimbus/internal/cloudtest"
)

// call sends an admin compute request at microversion mv.
func (p *plane) call(t *testing.T, mv, method, path string, body any) *cloudtest.Response {
	t.Helper()
	return p.Do(t, method, p.ComputeURL+path, p.Token(t, cloudtest.Admin), body, "OpenStack-API-Version", "compute "+mv)
}

// zoneHosts returns the compute hosts of each zone in the detailed list.
func (p *plane) zoneHosts(t *testing.T) map[string][]string {
	t.Helper()
	resp := p.call(t, "2.1", "GET", "/os-availability-zone/detail", nil)
	out := map[string][]string{}
	for _, z := range resp.JSON(t)["availabilityZoneInfo"].([]any) {
		zm := z.(map[string]any)
		hosts, _ := zm["hosts"].(map[string]any)
		for h, svcs := range hosts {
			if _, ok := svcs.(map[string]any)["nova-compute"]; ok {
				out[zm["zoneName"].(string)] = append(out[zm["zoneName"].(string)], h)
			}
		}
		sort.Strings(out[zm["zoneName"].(string)])
	}
	return out
}

// TestAggregateZonesAndMetadata puts a host in an aggregate with a zone
// and metadata: the zone is listed and servers asking for it land there,
// flavors asking for the metadata land there, and the aggregate's life
// cycle follows nova's rules.
func TestAggregateZonesAndMetadata(t *testing.T) {
	t.Parallel()
	p := startPlane(t, cloudtest.WithOption("compute.fake_host_count", "3"),
		cloudtest.WithOption("filter_scheduler.enabled_filters",
			"AvailabilityZoneFilter,ComputeFilter,AggregateInstanceExtraSpecsFilter"))
	var hosts []string
	cloudtest.Eventually(t, 10*time.Second, func() bool {
		hosts = p.zoneHosts(t)["nova"]
		return len(hosts) == 3
	}, "three compute hosts")

	resp := p.call(t, "2.41", "POST", "/os-aggregates", map[string]any{"aggregate": map[string]any{
		"name": "rack1", "availability_zone": "az1"}})
	if resp.Status != http.StatusOK {
		t.Fatalf("create: %d %s", resp.Status, resp.Body)
	}
	agg := resp.JSON(t)["aggregate"].(map[string]any)
	if agg["uuid"] == nil || agg["availability_zone"] != "az1" || agg["hosts"] != nil {
		t.Errorf("created %v", agg)
	}
	id := strconv.Itoa(int(agg["id"].(float64)))
	path := "/os-aggregates/" + id
	if r := p.call(t, "2.41", "POST", "/os-aggregates", map[string]any{"aggregate": map[string]any{"name": "rack1"}}); r.Status != http.StatusConflict {
		t.Errorf("same name: %d %s", r.Status, r.Body)
	}
	if r := p.call(t, "2.41", "POST", path+"/action", map[string]any{"add_host": map[string]any{"host": "nowhere"}}); r.Status != http.StatusNotFound {
		t.Errorf("unknown host: %d %s", r.Status, r.Body)
	}
	resp = p.call(t, "2.41", "POST", path+"/action", map[string]any{"add_host": map[string]any{"host": hosts[0]}})
	if resp.Status != http.StatusOK {
		t.Fatalf("add host: %d %s", resp.Status, resp.Body)
	}
	if got := resp.JSON(t)["aggregate"].(map[string]any)["hosts"].([]any); len(got) != 1 || got[0] != hosts[0] {
		t.Errorf("hosts %v", got)
	}
	if r := p.call(t, "2.41", "POST", path+"/action", map[string]any{"add_host": map[string]any{"host": hosts[0]}}); r.Status != http.StatusConflict {
		t.Errorf("add twice: %d %s", r.Status, r.Body)
	}
	resp = p.call(t, "2.41", "POST", path+"/action", map[string]any{"set_metadata": map[string]any{
		"metadata": map[string]any{"ssd": "true", "gone": nil}}})
	if resp.Status != http.StatusOK {
		t.Fatalf("set metadata: %d %s", resp.Status, resp.Body)
	}
	md := resp.JSON(t)["aggregate"].(map[string]any)["metadata"].(map[string]any)
	if md["ssd"] != "true" || md["availability_zone"] != "az1" || len(md) != 2 {
		t.Errorf("metadata %v", md)
	}

	zones := p.zoneHosts(t)
	if !slices.Equal(zones["az1"], hosts[:1]) || !slices.Equal(zones["nova"], hosts[1:]) {
		t.Errorf("zones %v; want az1 with %s", zones, hosts[0])
	}

	flavor := p.flavor(t, "m1.tiny", 1, 128, 1)
	for i := range 2 {
		s, err := servers.Create(context.Background(), p.compute, servers.CreateOpts{Name: "in-az1-" + strconv.Itoa(i),
			ImageRef: p.imageID, FlavorRef: flavor, Networks: "none", AvailabilityZone: "az1"}, nil).Extract()
		if err != nil {
			t.Fatal(err)
		}
		if got := p.waitStatus(t, s.ID, "ACTIVE"); got.Host != hosts[0] || got.AvailabilityZone != "az1" {
			t.Errorf("server in az1 on %s in zone %q; want %s in az1", got.Host, got.AvailabilityZone, hosts[0])
		}
	}
	if _, err := servers.Create(context.Background(), p.compute, servers.CreateOpts{Name: "nowhere", ImageRef: p.imageID,
		FlavorRef: flavor, Networks: "none", AvailabilityZone: "az9"}, nil).Extract(); err == nil {
		t.Error("a server in an unknown zone was accepted")
	}
	ssd := p.flavor(t, "m1.ssd", 1, 128, 1)
	if _, err := flavors.CreateExtraSpecs(context.Background(), p.compute, ssd, flavors.ExtraSpecsOpts{
		"aggregate_instance_extra_specs:ssd": "true"}).Extract(); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		id := p.boot(t, "ssd-"+strconv.Itoa(i), ssd)
		if got := p.waitStatus(t, id, "ACTIVE"); got.Host != hosts[0] {
			t.Errorf("ssd server on %s; want the aggregate's host %s", got.Host, hosts[0])
		}
	}

	// A host in a zone cannot join an aggregate of another zone.
	resp = p.call(t, "2.41", "POST", "/os-aggregates", map[string]any{"aggregate": map[string]any{
		"name": "rack2", "availability_zone": "az2"}})
	other := "/os-aggregates/" + strconv.Itoa(int(resp.JSON(t)["aggregate"].(map[string]any)["id"].(float64)))
	if r := p.call(t, "2.41", "POST", other+"/action", map[string]any{"add_host": map[string]any{"host": hosts[0]}}); r.Status != http.StatusConflict {
		t.Errorf("host in two zones: %d %s", r.Status, r.Body)
	}
	resp = p.call(t, "2.41", "PUT", other, map[string]any{"aggregate": map[string]any{"name": "rack-two"}})
	if resp.Status != http.StatusOK || resp.JSON(t)["aggregate"].(map[string]any)["updated_at"] == nil {
		t.Errorf("rename: %d %s", resp.Status, resp.Body)
	}

	if r := p.call(t, "2.41", "DELETE", path, nil); r.Status != http.StatusBadRequest {
		t.Errorf("delete with hosts: %d %s", r.Status, r.Body)
	}
	if r := p.call(t, "2.41", "POST", path+"/action", map[string]any{"remove_host": map[string]any{"host": hosts[1]}}); r.Status != http.StatusNotFound {
		t.Errorf("remove a host not in it: %d %s", r.Status, r.Body)
	}
	if r := p.call(t, "2.41", "POST", path+"/action", map[string]any{"remove_host": map[string]any{"host": hosts[0]}}); r.Status != http.StatusOK {
		t.Errorf("remove host: %d %s", r.Status, r.Body)
	}
	if r := p.call(t, "2.41", "DELETE", path, nil); r.Status != http.StatusOK {
		t.Errorf("delete: %d %s", r.Status, r.Body)
	}
	if r := p.call(t, "2.41", "GET", path, nil); r.Status != http.StatusNotFound {
		t.Errorf("show deleted: %d %s", r.Status, r.Body)
	}
	resp = p.call(t, "2.40", "GET", "/os-aggregates", nil)
	list := resp.JSON(t)["aggregates"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["uuid"] != nil || list[0].(map[string]any)["name"] != "rack-two" {
		t.Errorf("list at 2.40: %v", list)
	}
}
