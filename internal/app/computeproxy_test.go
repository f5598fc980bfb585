package app_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"

	"github.com/nimbus-cloud/nimbus/internal/cloudtest"
)

// TestImageProxy reads and changes an image made in the image service
// through the compute API's deprecated /images, and a server's snapshot
// with its server link; from 2.36 (metadata: 2.39) the routes are gone.
func TestImageProxy(t *testing.T) {
	t.Parallel()
	p := startPlane(t)
	ctx := context.Background()
	token := p.Token(t, cloudtest.Admin)
	ic := p.ImageClient(t, cloudtest.Admin)
	img, err := images.Create(ctx, ic, images.CreateOpts{Name: "proxied", DiskFormat: "qcow2", ContainerFormat: "bare",
		MinDisk: 2, MinRAM: 256, Properties: map[string]string{"os_distro": "cirros", "auto_disk_config": "true"}}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	do := func(method, path, mv string, body any) *cloudtest.Response {
		return p.Do(t, method, p.ComputeURL+path, token, body, "OpenStack-API-Version", "compute "+mv)
	}

	r := do("GET", "/images/"+img.ID, "2.35", nil)
	if r.Status != http.StatusOK {
		t.Fatalf("show image: %d %s", r.Status, r.Body)
	}
	got := r.JSON(t)["image"].(map[string]any)
	md := got["metadata"].(map[string]any)
	if got["name"] != "proxied" || got["status"] != "SAVING" || got["progress"] != 25.0 || got["minDisk"] != 2.0 ||
		got["minRam"] != 256.0 || md["os_distro"] != "cirros" || got["OS-DCF:diskConfig"] != "AUTO" ||
		got["OS-EXT-IMG-SIZE:size"] != nil || !strings.HasSuffix(got["created"].(string), "Z") {
		t.Errorf("queued image %v", got)
	}
	links := got["links"].([]any)
	if len(links) != 3 || links[2].(map[string]any)["href"] != p.ImageURL+"/images/"+img.ID ||
		links[2].(map[string]any)["type"] != "application/vnd.openstack.image" {
		t.Errorf("links %v", links)
	}
	if _, ok := got["server"]; ok {
		t.Errorf("an uploaded image has a server: %v", got)
	}

	// The plane's image is active with a size; lists page by id.
	r = do("GET", "/images/detail", "2.1", nil)
	var active map[string]any
	for _, i := range r.JSON(t)["images"].([]any) {
		if i := i.(map[string]any); i["id"] == p.imageID {
			active = i
		}
	}
	if active == nil || active["status"] != "ACTIVE" || active["progress"] != 100.0 || active["OS-EXT-IMG-SIZE:size"] != 1024.0 {
		t.Errorf("active image in detail list: %v", active)
	}
	r = do("GET", "/images?limit=1", "2.1", nil)
	body := r.JSON(t)
	page := body["images"].([]any)
	if len(page) != 1 || len(page[0].(map[string]any)) != 3 || body["images_links"] == nil {
		t.Errorf("first page %s", r.Body)
	}
	r = do("GET", "/images?limit=1&marker="+page[0].(map[string]any)["id"].(string), "2.1", nil)
	if next := r.JSON(t)["images"].([]any); len(next) != 1 || next[0].(map[string]any)["id"] == page[0].(map[string]any)["id"] {
		t.Errorf("second page %s", r.Body)
	}
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"?name=proxied", []string{img.ID}},
		{"?status=ACTIVE", []string{p.imageID}},
		{"?property-os_distro=cirros", []string{img.ID}},
		{"?minRam=200", []string{img.ID}},
		{"?minDisk=3", nil},
	} {
		r := do("GET", "/images"+tc.query, "2.1", nil)
		var ids []string
		for _, i := range r.JSON(t)["images"].([]any) {
			ids = append(ids, i.(map[string]any)["id"].(string))
		}
		if strings.Join(ids, ",") != strings.Join(tc.want, ",") {
			t.Errorf("GET /images%s = %v; want %v", tc.query, ids, tc.want)
		}
	}

	// Metadata: merge, set one, replace all, delete one.
	path := "/images/" + img.ID + "/metadata"
	r = do("POST", path, "2.38", map[string]any{"metadata": map[string]any{"color": "blue"}})
	if got := r.JSON(t)["metadata"].(map[string]any); r.Status != 200 || got["color"] != "blue" || got["os_distro"] != "cirros" {
		t.Errorf("merge metadata: %d %s", r.Status, r.Body)
	}
	if r := do("PUT", path+"/color", "2.38", map[string]any{"meta": map[string]any{"color": "red"}}); r.Status != 200 {
		t.Errorf("set metadata item: %d %s", r.Status, r.Body)
	}
	if r := do("GET", path+"/color", "2.38", nil); !strings.Contains(string(r.Body), `{"meta":{"color":"red"}}`) {
		t.Errorf("show metadata item: %d %s", r.Status, r.Body)
	}
	r = do("PUT", path, "2.38", map[string]any{"metadata": map[string]any{"shape": "round"}})
	if r.Status != 200 || strings.TrimSpace(string(r.Body)) != `{"metadata":{"shape":"round"}}` {
		t.Errorf("replace metadata: %d %s", r.Status, r.Body)
	}
	if r := do("GET", path, "2.1", nil); strings.TrimSpace(string(r.Body)) != `{"metadata":{"shape":"round"}}` {
		t.Errorf("metadata after replace: %s", r.Body)
	}
	if cur, err := images.Get(ctx, ic, img.ID).Extract(); err != nil || cur.Properties["shape"] != "round" ||
		cur.Properties["os_distro"] != nil {
		t.Errorf("image service's properties after replace: %v %v", cur.Properties, err)
	}
	if r := do("DELETE", path+"/shape", "2.38", nil); r.Status != http.StatusNoContent {
		t.Errorf("delete metadata item: %d %s", r.Status, r.Body)
	}
	for _, tc := range []struct {
		method, path, mv string
		body             any
		want             int
		msg              string
	}{
		{"DELETE", path + "/shape", "2.38", nil, 404, "Invalid metadata key"},
		{"GET", path + "/shape", "2.38", nil, 404, "could not be found"},
		{"PUT", path + "/a", "2.38", map[string]any{"meta": map[string]any{"b": "c"}}, 400, "Request body and URI mismatch"},
		{"POST", path, "2.38", map[string]any{"metadata": map[string]any{"bad/key": "x"}}, 400, "bad/key"},
		{"GET", path, "2.39", nil, 404, "could not be found"},
		{"GET", "/images/" + img.ID, "2.36", nil, 404, "could not be found"},
		{"GET", "/images", "2.36", nil, 404, "could not be found"},
		{"GET", "/images?limit=0", "2.35", nil, 400, "limit"},
		{"GET", "/images/nope", "2.35", nil, 404, "Image not found."},
		{"GET", "/images/nope/metadata", "2.35", nil, 404, "Image not found."},
		{"DELETE", "/images/nope", "2.35", nil, 404, "Image not found."},
		{"DELETE", "/images/", "2.35", nil, 404, ""},
		{"GET", "/images/" + p.imageID + "/metadata", "2.35", nil, 200, `{"metadata":{}}`},
	} {
		r := do(tc.method, tc.path, tc.mv, tc.body)
		if r.Status != tc.want || !strings.Contains(string(r.Body), tc.msg) {
			t.Errorf("%s %s at %s = %d %s; want %d with %q", tc.method, tc.path, tc.mv, r.Status, r.Body, tc.want, tc.msg)
		}
	}

	// A server's snapshot links to the server.
	id := p.boot(t, "snapper", p.flavor(t, "m1.snap", 1, 256, 1))
	p.waitStatus(t, id, "ACTIVE")
	r = do("POST", "/servers/"+id+"/action", "2.45", map[string]any{"createImage": map[string]any{"name": "snap"}})
	if r.Status != http.StatusAccepted {
		t.Fatalf("snapshot: %d %s", r.Status, r.Body)
	}
	snap := r.JSON(t)["image_id"].(string)
	var shown map[string]any
	cloudtest.Eventually(t, 10*time.Second, func() bool {
		shown = do("GET", "/images/"+snap, "2.35", nil).JSON(t)["image"].(map[string]any)
		return shown["status"] == "ACTIVE"
	}, "snapshot active")
	if srv, _ := shown["server"].(map[string]any); srv == nil || srv["id"] != id || len(srv["links"].([]any)) != 2 {
		t.Errorf("snapshot's server %v", shown["server"])
	}
	r = do("GET", "/images?server="+p.ComputeURL+"/servers/"+id, "2.35", nil)
	if list := r.JSON(t)["images"].([]any); len(list) != 1 || list[0].(map[string]any)["id"] != snap {
		t.Errorf("images of the server: %s", r.Body)
	}

	yes := true
	locked, err := images.Create(ctx, ic, images.CreateOpts{Name: "locked", Protected: &yes}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if r := do("DELETE", "/images/"+locked.ID, "2.35", nil); r.Status != http.StatusForbidden ||
		!strings.Contains(string(r.Body), "You are not allowed to delete the image.") {
		t.Errorf("delete a protected image: %d %s", r.Status, r.Body)
	}
	if r := do("DELETE", "/images/"+img.ID, "2.35", nil); r.Status != http.StatusNoContent {
		t.Errorf("delete image: %d %s", r.Status, r.Body)
	}
	if r := do("GET", "/images/"+img.ID, "2.35", nil); r.Status != http.StatusNotFound {
		t.Errorf("deleted image: %d %s", r.Status, r.Body)
	}
}

// TestHosts lists the service group by host through os-hosts, shows a
// compute host's resources with a server on it, and takes the fake
// driver's answers to updates and power actions (before 2.43).
func TestHosts(t *testing.T) {
	t.Parallel()
	p := startPlane(t)
	token := p.Token(t, cloudtest.Admin)
	do := func(method, path, mv string, body any) *cloudtest.Response {
		return p.Do(t, method, p.ComputeURL+path, token, body, "OpenStack-API-Version", "compute "+mv)
	}
	id := p.boot(t, "resident", p.flavor(t, "m1.host", 2, 256, 3))
	srv := p.waitStatus(t, id, "ACTIVE")

	r := do("GET", "/os-hosts", "2.42", nil)
	services := map[string]string{}
	for _, h := range r.JSON(t)["hosts"].([]any) {
		h := h.(map[string]any)
		services[h["service"].(string)] = h["zone"].(string)
		if h["service"] == "compute" && h["host_name"] != srv.Host {
			t.Errorf("compute host %v; the server is on %s", h, srv.Host)
		}
	}
	if services["compute"] != "nova" || services["conductor"] != "internal" || services["scheduler"] != "internal" {
		t.Errorf("hosts: %s", r.Body)
	}
	if r := do("GET", "/os-hosts?zone=nova", "2.1", nil); len(r.JSON(t)["hosts"].([]any)) != 1 {
		t.Errorf("hosts in zone nova: %s", r.Body)
	}
	if r := do("GET", "/os-hosts?zone=nowhere", "2.1", nil); len(r.JSON(t)["hosts"].([]any)) != 0 {
		t.Errorf("hosts in no zone: %s", r.Body)
	}

	r = do("GET", "/os-hosts/"+srv.Host, "2.1", nil)
	res := r.JSON(t)["host"].([]any)
	if len(res) != 4 {
		t.Fatalf("host resources: %s", r.Body)
	}
	byProject := map[string]map[string]any{}
	for _, x := range res {
		x := x.(map[string]any)["resource"].(map[string]any)
		byProject[x["project"].(string)] = x
	}
	if m := byProject["(used_max)"]; m["cpu"] != 2.0 || m["memory_mb"] != 256.0 || m["disk_gb"] != 3.0 {
		t.Errorf("used_max %v", m)
	}
	if m := byProject[srv.TenantID]; m == nil || m["cpu"] != 2.0 {
		t.Errorf("the project's share %v", byProject)
	}
	if m := byProject["(total)"]; m["cpu"].(float64) < 2 || m["host"] != srv.Host {
		t.Errorf("total %v", m)
	}

	for _, tc := range []struct {
		method, path, mv string
		body             any
		want             int
		msg              string
	}{
		{"PUT", "/os-hosts/" + srv.Host, "2.42", map[string]any{"status": "Disable", "maintenance_mode": "enable"}, 200,
			`"maintenance_mode":"on_maintenance","status":"disabled"`},
		{"PUT", "/os-hosts/" + srv.Host, "2.1", map[string]any{"status": "maybe"}, 400, "status"},
		{"PUT", "/os-hosts/" + srv.Host, "2.1", map[string]any{}, 400, "is not valid under any of the given schemas"},
		{"PUT", "/os-hosts/" + srv.Host, "2.1", map[string]any{"color": "red"}, 400, "Additional properties"},
		{"PUT", "/os-hosts/nowhere", "2.1", map[string]any{"status": "enable"}, 404, "Host nowhere could not be found."},
		{"GET", "/os-hosts/" + srv.Host + "/reboot", "2.1", nil, 200, `"power_action":"reboot"`},
		{"GET", "/os-hosts/" + srv.Host + "/startup", "2.1", nil, 200, `"power_action":"startup"`},
		{"GET", "/os-hosts/nowhere/shutdown", "2.1", nil, 404, "Host nowhere could not be found."},
		{"GET", "/os-hosts/nowhere", "2.1", nil, 404, "Compute host nowhere could not be found."},
		{"GET", "/os-hosts", "2.43", nil, 404, "could not be found"},
		{"GET", "/os-hosts/" + srv.Host + "/reboot", "2.43", nil, 404, "could not be found"},
	} {
		r := do(tc.method, tc.path, tc.mv, tc.body)
		if r.Status != tc.want || !strings.Contains(string(r.Body), tc.msg) {
			t.Errorf("%s %s at %s = %d %s; want %d with %q", tc.method, tc.path, tc.mv, r.Status, r.Body, tc.want, tc.msg)
		}
	}
	// The update is the fake driver's answer: the service stays enabled.
	if r := do("GET", "/os-hosts?zone=nova", "2.1", nil); len(r.JSON(t)["hosts"].([]any)) != 1 {
		t.Errorf("hosts after an update: %s", r.Body)
	}
	member := p.memberToken(t)
	for _, path := range []string{"/os-hosts", "/os-hosts/" + srv.Host, "/os-hosts/" + srv.Host + "/reboot"} {
		if r := p.Do(t, "GET", p.ComputeURL+path, member, nil); r.Status != http.StatusForbidden {
			t.Errorf("member GET %s: %d %s", path, r.Status, r.Body)
		}
	}
}
