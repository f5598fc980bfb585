package computehttp_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/pagination"

	"github.com/nimbus-cloud/nimbus/internal/cloudtest"
)

func TestServersNeedAConductor(t *testing.T) {
	t.Parallel()
	h := newServersHarness(t, false)
	h.do(t, tAlice, "", "GET", "/servers", nil).want(t, http.StatusNotFound)
	h.do(t, tAlice, "", "POST", "/servers", map[string]any{"server": map[string]any{"name": "x"}}).want(t, http.StatusNotFound)
	// The rest of the API is there.
	h.do(t, tAlice, "", "GET", "/flavors", nil).want(t, http.StatusOK)
}

func TestServersWithGophercloud(t *testing.T) {
	t.Parallel()
	h := newServersHarness(t, true)
	ctx := context.Background()
	alice := h.client(tAlice, "2.90")
	s, err := servers.Create(ctx, alice, servers.CreateOpts{Name: "web", ImageRef: imgCirros, FlavorRef: "1",
		Networks: "none", Metadata: map[string]string{"role": "web"}, Hostname: "web-host", Min: 1, Max: 1,
		UserData: []byte("#!/bin/sh\necho hi\n"), Tags: []string{"prod"}}, nil).Extract()
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if s.ID == "" || s.AdminPass == "" {
		t.Fatalf("created %+v", s)
	}
	got, err := servers.Get(ctx, alice, s.ID).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != "ACTIVE" || got.Name != "web" || got.Metadata["role"] != "web" || got.TenantID != "p1" ||
		got.Flavor["original_name"] != "m1.tiny" || got.Image["id"] != imgCirros || got.HostID == "" ||
		!slices.Equal(*got.Tags, []string{"prod"}) || got.Locked == nil || *got.Locked {
		t.Errorf("server %+v", got)
	}
	for i := range 4 {
		if _, err := servers.Create(ctx, alice, servers.CreateOpts{Name: "n" + string(rune('a'+i)), ImageRef: imgCirros,
			FlavorRef: "1", Networks: "auto"}, nil).Extract(); err != nil {
			t.Fatal(err)
		}
	}
	var pages, total int
	err = servers.List(alice, servers.ListOpts{Limit: 2}).EachPage(ctx, func(_ context.Context, p pagination.Page) (bool, error) {
		list, err := servers.ExtractServers(p)
		pages++
		total += len(list)
		return true, err
	})
	if err != nil || total != 5 || pages != 3 {
		t.Fatalf("paged: %d servers in %d pages: %v", total, pages, err)
	}
	all, err := servers.List(alice, servers.ListOpts{Name: "^n", Status: "ACTIVE"}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if list, _ := servers.ExtractServers(all); len(list) != 4 {
		t.Errorf("name filter kept %d", len(list))
	}
	upd, err := servers.Update(ctx, alice, s.ID, servers.UpdateOpts{Name: "web2",
		AccessIPv6: "0000:0000:0000:0000:0000:babe:220.12.22.2", AccessIPv4: "192.0.2.7"}).Extract()
	if err != nil || upd.Name != "web2" {
		t.Fatalf("update: %+v %v", upd, err)
	}
	// Access addresses are kept in their canonical form, as nova keeps them.
	if upd.AccessIPv6 != "::babe:dc0c:1602" || upd.AccessIPv4 != "192.0.2.7" {
		t.Errorf("access addresses %q and %q", upd.AccessIPv4, upd.AccessIPv6)
	}
	if err := servers.Stop(ctx, alice, s.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if got, _ := servers.Get(ctx, alice, s.ID).Extract(); got.Status != "SHUTOFF" || got.PowerState != servers.SHUTDOWN {
		t.Errorf("stopped: %s %v", got.Status, got.PowerState)
	}
	// A second stop is refused in nova's words.
	err = servers.Stop(ctx, alice, s.ID).ExtractErr()
	if !gophercloud.ResponseCodeIs(err, http.StatusConflict) || !strings.Contains(err.Error(), "vm_state stopped") {
		t.Fatalf("second stop: %v", err)
	}
	if err := servers.Start(ctx, alice, s.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if err := servers.Reboot(ctx, alice, s.ID, servers.RebootOpts{Type: servers.HardReboot}).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if _, err := servers.Get(ctx, h.client(tBob, "2.1"), s.ID).Extract(); !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		t.Fatalf("another project sees the server: %v", err)
	}
	if err := servers.Delete(ctx, alice, s.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if _, err := servers.Get(ctx, alice, s.ID).Extract(); !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		t.Fatalf("deleted server: %v", err)
	}
}

// TestServerShapes checks the fields of GET /servers/{id} across
// microversions and policy.
func TestServerShapes(t *testing.T) {
	t.Parallel()
	h := newServersHarness(t, true)
	id := h.boot(t, tAlice, "web", nil)
	cases := []struct {
		mv, token   string
		has, hasNot []string
	}{
		{"2.1", tAlice, []string{"OS-EXT-STS:vm_state", "OS-EXT-AZ:availability_zone", "os-extended-volumes:volumes_attached",
			"OS-SRV-USG:launched_at", "config_drive", "key_name", "progress", "hostId"},
			[]string{"locked", "description", "tags", "OS-EXT-SRV-ATTR:host", "host_status", "security_groups"}},
		{"2.1", tAdmin, []string{"OS-EXT-SRV-ATTR:host", "OS-EXT-SRV-ATTR:instance_name", "OS-EXT-SRV-ATTR:hypervisor_hostname"},
			[]string{"OS-EXT-SRV-ATTR:reservation_id"}},
		{"2.3", tAdmin, []string{"OS-EXT-SRV-ATTR:reservation_id", "OS-EXT-SRV-ATTR:user_data", "OS-EXT-SRV-ATTR:launch_index"}, nil},
		{"2.9", tAlice, []string{"locked"}, []string{"host_status"}},
		{"2.16", tAdmin, []string{"host_status"}, nil},
		{"2.16", tAlice, nil, []string{"host_status"}},
		{"2.19", tAlice, []string{"description"}, []string{"tags"}},
		{"2.26", tAlice, []string{"tags"}, []string{"trusted_image_certificates"}},
		{"2.63", tAlice, []string{"trusted_image_certificates"}, []string{"server_groups"}},
		{"2.71", tAlice, []string{"server_groups"}, []string{"locked_reason"}},
		{"2.73", tAlice, []string{"locked_reason"}, []string{"OS-EXT-SRV-ATTR:hostname"}},
		{"2.90", tAlice, []string{"OS-EXT-SRV-ATTR:hostname"}, []string{"OS-EXT-SRV-ATTR:host", "pinned_availability_zone"}},
		{"2.96", tAlice, []string{"pinned_availability_zone"}, []string{"scheduler_hints"}},
		{"2.100", tAlice, []string{"scheduler_hints"}, nil},
	}
	for _, tc := range cases {
		s := h.server(t, tc.token, tc.mv, id)
		for _, k := range tc.has {
			if _, ok := s[k]; !ok {
				t.Errorf("%s as %s: no %s in %s", tc.mv, tc.token, k, keys(s))
			}
		}
		for _, k := range tc.hasNot {
			if _, ok := s[k]; ok {
				t.Errorf("%s as %s: %s should be absent", tc.mv, tc.token, k)
			}
		}
	}
	// The flavor is a link before 2.47 and embedded since, extra specs
	// for readers of the project.
	old := h.server(t, tAlice, "2.46", id)["flavor"].(map[string]any)
	if old["id"] != "1" || len(old["links"].([]any)) != 1 {
		t.Errorf("flavor at 2.46: %v", old)
	}
	f := h.server(t, tAlice, "2.47", id)["flavor"].(map[string]any)
	if f["original_name"] != "m1.tiny" || f["vcpus"] != float64(1) || f["extra_specs"].(map[string]any)["hw:cpu_policy"] != "shared" {
		t.Errorf("flavor at 2.47: %v", f)
	}
	img := h.server(t, tAlice, "2.98", id)["image"].(map[string]any)
	props := img["properties"].(map[string]any)
	if props["os_distro"] != "cirros" || props["hw_disk_bus"] != "virtio" || props["custom"] != nil {
		t.Errorf("image properties at 2.98: %v", props)
	}
	s := h.server(t, tAlice, "2.100", id)
	if s["status"] != "ACTIVE" || s["OS-EXT-STS:power_state"] != float64(1) || s["OS-EXT-AZ:availability_zone"] != "nova" ||
		s["OS-DCF:diskConfig"] != "MANUAL" || s["progress"] != float64(0) || len(s["addresses"].(map[string]any)) != 0 ||
		s["OS-SRV-USG:terminated_at"] != nil || !strings.HasSuffix(s["created"].(string), "Z") {
		t.Errorf("server at 2.100: %v", s)
	}
	links := s["links"].([]any)
	if !strings.HasSuffix(links[0].(map[string]any)["href"].(string), "/v2.1/servers/"+id) ||
		!strings.HasSuffix(links[1].(map[string]any)["href"].(string), "/servers/"+id) {
		t.Errorf("links %v", links)
	}
	// A failed build shows its fault, with details only to admins for 500s.
	h.cond.FailBuilds("No valid host was found. ")
	bad := h.boot(t, tAlice, "bad", nil)
	fault := h.server(t, tAlice, "2.1", bad)["fault"].(map[string]any)
	if fault["code"] != float64(500) || fault["message"] != "No valid host was found. " || fault["details"] != nil {
		t.Errorf("member's fault %v", fault)
	}
	if h.server(t, tAdmin, "2.1", bad)["fault"].(map[string]any)["details"] == nil {
		t.Error("admin sees no fault details")
	}
}

func TestServerCreateResponses(t *testing.T) {
	t.Parallel()
	h := newServersHarness(t, true)
	r := h.do(t, tAlice, "2.52", "POST", "/servers", map[string]any{"server": map[string]any{"name": "a",
		"imageRef": imgCirros, "flavorRef": "1", "networks": "none", "security_groups": []any{map[string]any{"name": "web"}},
		"tags": []string{"x"}}}).want(t, http.StatusAccepted)
	s := r.json(t)["server"].(map[string]any)
	if s["OS-DCF:diskConfig"] != "MANUAL" || len(s["adminPass"].(string)) != 12 ||
		s["security_groups"].([]any)[0].(map[string]any)["name"] != "web" ||
		!strings.HasSuffix(r.Header.Get("Location"), "/v2.1/servers/"+s["id"].(string)) {
		t.Errorf("create response %v, Location %s", s, r.Header.Get("Location"))
	}
	r = h.do(t, tAlice, "", "POST", "/servers", map[string]any{"server": map[string]any{"name": "b", "imageRef": imgCirros,
		"flavorRef": "http://x/flavors/1", "return_reservation_id": "True", "min_count": "2"}}).want(t, http.StatusAccepted)
	if rid, _ := r.json(t)["reservation_id"].(string); !strings.HasPrefix(rid, "r-") {
		t.Errorf("reservation response %s", r.Body)
	}
	r = h.do(t, tAdmin, "2.1", "GET", "/servers/detail?all_tenants=1&reservation_id="+
		r.json(t)["reservation_id"].(string), nil).want(t, http.StatusOK)
	if n := len(r.json(t)["servers"].([]any)); n != 2 {
		t.Errorf("%d servers of the reservation", n)
	}

	bad := []struct {
		name, mv string
		body     any
		status   int
		msg      string
	}{
		{"no name", "", map[string]any{"server": map[string]any{"imageRef": imgCirros, "flavorRef": "1"}}, 400,
			"'name' is a required property"},
		{"networks required", "2.37", map[string]any{"server": map[string]any{"name": "x", "imageRef": imgCirros, "flavorRef": "1"}},
			400, "'networks' is a required property"},
		{"networks word", "2.37", map[string]any{"server": map[string]any{"name": "x", "imageRef": imgCirros, "flavorRef": "1",
			"networks": "some"}}, 400, "is not valid under any of the given schemas"},
		{"network list", "2.37", map[string]any{"server": map[string]any{"name": "x", "imageRef": imgCirros, "flavorRef": "1",
			"networks": []any{map[string]any{"uuid": imgOther}}}}, 400, "Networking is not available"},
		{"image id", "", map[string]any{"server": map[string]any{"name": "x", "imageRef": "cirros", "flavorRef": "1"}}, 400,
			"is not valid under any of the given schemas"},
		{"user data", "", map[string]any{"server": map[string]any{"name": "x", "imageRef": imgCirros, "flavorRef": "1",
			"user_data": "abc"}}, 400, "'abc' is not a 'base64'"},
		{"tags before 2.52", "2.51", map[string]any{"server": map[string]any{"name": "x", "imageRef": imgCirros,
			"flavorRef": "1", "networks": "none", "tags": []string{"a"}}}, 400, "Additional properties are not allowed ('tags' was unexpected)"},
		{"access ip", "", map[string]any{"server": map[string]any{"name": "x", "imageRef": imgCirros, "flavorRef": "1",
			"accessIPv4": "10.0.0"}}, 400, "'10.0.0' is not a 'ipv4'"},
		{"hostname", "2.90", map[string]any{"server": map[string]any{"name": "x", "imageRef": imgCirros, "flavorRef": "1",
			"networks": "none", "hostname": "a_b"}}, 400, "does not match"},
		{"personality gone", "2.57", map[string]any{"server": map[string]any{"name": "x", "imageRef": imgCirros,
			"flavorRef": "1", "networks": "none", "personality": []any{}}}, 400, "('personality' was unexpected)"},
		{"flavor", "", map[string]any{"server": map[string]any{"name": "x", "imageRef": imgCirros, "flavorRef": "9"}}, 400,
			"Flavor 9 could not be found."},
		{"hints", "", map[string]any{"server": map[string]any{"name": "x", "imageRef": imgCirros, "flavorRef": "1"},
			"os:scheduler_hints": map[string]any{"group": "nope"}}, 400, "'nope' is not valid under any of the given schemas"},
		{"malformed", "", `{"server": `, 400, "Malformed request body"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			h.do(t, tAlice, tc.mv, "POST", "/servers", tc.body).wantFault(t, tc.status, "badRequest", tc.msg)
		})
	}
	// Scheduler hints and the zone asked for show from 2.100 and 2.96.
	r = h.do(t, tAlice, "2.100", "POST", "/servers", map[string]any{"server": map[string]any{"name": "h",
		"imageRef": imgCirros, "flavorRef": "1", "networks": "auto", "availability_zone": "nova"},
		"os:scheduler_hints": map[string]any{"different_host": []string{imgOther}, "_nova_internal": "x",
			"custom": 3}}).want(t, http.StatusAccepted)
	s = h.server(t, tAlice, "2.100", r.json(t)["server"].(map[string]any)["id"].(string))
	hints := s["scheduler_hints"].(map[string]any)
	if len(hints) != 2 || hints["different_host"].([]any)[0] != imgOther || hints["custom"].([]any)[0] != "3" ||
		s["pinned_availability_zone"] != "nova" {
		t.Errorf("hints %v, pinned %v", hints, s["pinned_availability_zone"])
	}
}

func TestServerListQuery(t *testing.T) {
	t.Parallel()
	h := newServersHarness(t, true)
	h.boot(t, tAlice, "a1", nil)
	h.boot(t, tAlice, "a2", nil)
	h.boot(t, tBob, "b1", nil)
	names := func(r reply) []string {
		var out []string
		for _, s := range r.json(t)["servers"].([]any) {
			out = append(out, s.(map[string]any)["name"].(string))
		}
		return out
	}
	if got := names(h.do(t, tAlice, "", "GET", "/servers?sort_key=display_name&sort_dir=asc", nil).want(t, 200)); !slices.Equal(got, []string{"a1", "a2"}) {
		t.Errorf("sorted %v", got)
	}
	if got := names(h.do(t, tAlice, "", "GET", "/servers?sort_key=display_name", nil).want(t, 200)); !slices.Equal(got, []string{"a2", "a1"}) {
		t.Errorf("a sort key without a direction sorts descending, as nova: %v", got)
	}
	// An ignored sort key is accepted before 2.75, refused after.
	h.do(t, tAlice, "2.74", "GET", "/servers?sort_key=vcpus", nil).want(t, 200)
	h.do(t, tAlice, "2.75", "GET", "/servers?sort_key=vcpus", nil).wantFault(t, 400, "badRequest", "is not one of")
	h.do(t, tAlice, "2.75", "GET", "/servers?foo=1", nil).wantFault(t, 400, "badRequest", "('foo' was unexpected)")
	h.do(t, tAlice, "2.74", "GET", "/servers?foo=1", nil).want(t, 200)
	h.do(t, tAlice, "", "GET", "/servers?name=(", nil).wantFault(t, 400, "badRequest", "is not a 'regex'")
	h.do(t, tAlice, "", "GET", "/servers?changes-since=yesterday", nil).wantFault(t, 400, "badRequest", "is not a 'date-time'")
	h.do(t, tAlice, "2.38", "GET", "/servers?status=NAP", nil).wantFault(t, 400, "badRequest", "Invalid status value")
	if got := names(h.do(t, tAlice, "2.37", "GET", "/servers?status=NAP", nil).want(t, 200)); len(got) != 0 {
		t.Errorf("unknown status before 2.38 lists %v", got)
	}
	h.do(t, tAlice, "", "GET", "/servers?all_tenants=1", nil).wantFault(t, 403, "forbidden", "get_all_tenants")
	if got := names(h.do(t, tAdmin, "", "GET", "/servers?all_tenants&sort_key=display_name&sort_dir=asc", nil).want(t, 200)); !slices.Equal(got, []string{"a1", "a2", "b1"}) {
		t.Errorf("all tenants %v", got)
	}
	h.do(t, tAlice, "2.73", "GET", "/servers?locked=maybe", nil).wantFault(t, 400, "badRequest", "Unrecognized value 'maybe'")
	h.do(t, tAlice, "", "GET", "/servers?marker=nope", nil).wantFault(t, 400, "badRequest", "marker [nope] not found")
	r := h.do(t, tAlice, "", "GET", "/servers/detail?limit=1", nil).want(t, 200)
	next := r.json(t)["servers_links"].([]any)[0].(map[string]any)["href"].(string)
	if !strings.Contains(next, "/v2.1/servers/detail?") || !strings.Contains(next, "marker=") {
		t.Errorf("next link %s", next)
	}
	d := r.json(t)["servers"].([]any)[0].(map[string]any)
	if d["OS-EXT-STS:vm_state"] != "active" || d["OS-EXT-SRV-ATTR:host"] != nil {
		t.Errorf("member's detail %v", d)
	}
}

// TestCloudOffersNoServersYet checks the composition root: until a
// conductor is wired in, the running cloud does not expose servers.
func TestCloudOffersNoServersYet(t *testing.T) {
	t.Parallel()
	c := cloudtest.Start(t)
	token := c.Token(t, cloudtest.Admin)
	resp := api(t, c, token, "2.1", "GET", "/servers", nil)
	if resp.Status != http.StatusNotFound {
		t.Fatalf("GET /servers on a cloud without a conductor: %d %s", resp.Status, resp.Body)
	}
	if resp := api(t, c, token, "2.1", "GET", "/limits", nil); resp.Status != http.StatusOK {
		t.Fatalf("limits: %d", resp.Status)
	}
}
