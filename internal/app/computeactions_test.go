package app_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"

	"github.com/nimbus-cloud/nimbus/internal/cloudtest"
)

// act posts a server action at microversion mv as the admin.
func (p *plane) act(t *testing.T, id, mv string, body any) *cloudtest.Response {
	t.Helper()
	return p.Do(t, http.MethodPost, p.compute.ServiceURL("servers", id, "action"), p.Token(t, cloudtest.Admin), body,
		"X-OpenStack-Nova-API-Version", mv)
}

// get reads a compute resource at microversion mv as the admin.
func (p *plane) get(t *testing.T, mv string, path ...string) *cloudtest.Response {
	t.Helper()
	return p.Do(t, http.MethodGet, p.compute.ServiceURL(path...), p.Token(t, cloudtest.Admin), nil,
		"X-OpenStack-Nova-API-Version", mv)
}

// image returns an image by id, nil once it is gone.
func (p *plane) image(t *testing.T, id string) *images.Image {
	t.Helper()
	img, err := images.Get(context.Background(), p.ImageClient(t, cloudtest.Admin), id).Extract()
	if gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// absolute returns the limits' absolute usage figures.
func (p *plane) absolute(t *testing.T) map[string]any {
	t.Helper()
	r := p.get(t, "2.47", "limits")
	return r.JSON(t)["limits"].(map[string]any)["absolute"].(map[string]any)
}

func wantStatus(t *testing.T, r *cloudtest.Response, status int, what string) {
	t.Helper()
	if r.Status != status {
		t.Errorf("%s: %d %s, want %d", what, r.Status, r.Body, status)
	}
}

// TestShelveOffloadUnshelve shelves a server with shelved_offload_time 0:
// it is snapshotted into <name>-shelved and offloaded at once, its
// allocation released while quota still counts it; unshelve schedules it
// again, claims its resources and deletes the shelved image.
func TestShelveOffloadUnshelve(t *testing.T) {
	t.Parallel()
	p := startPlane(t)
	ctx := context.Background()
	flavor := p.flavor(t, "m1.small", 2, 2048, 10)
	id := p.boot(t, "web", flavor)
	p.waitStatus(t, id, "ACTIVE")

	wantStatus(t, p.act(t, id, "2.1", map[string]any{"unshelve": nil}), 409, "unshelve an active server")
	wantStatus(t, p.act(t, id, "2.1", map[string]any{"shelveOffload": nil}), 409, "offload an active server")

	if err := servers.Shelve(ctx, p.compute, id).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	s := p.waitStatus(t, id, "SHELVED_OFFLOADED")
	if s.Host != "" {
		t.Errorf("offloaded server on host %q", s.Host)
	}
	if u := p.usages(t); u["VCPU"] != 0 || u["MEMORY_MB"] != 0 || u["DISK_GB"] != 0 {
		t.Errorf("usages after offload: %v", u)
	}
	if a := p.absolute(t); a["totalInstancesUsed"] != 1.0 || a["totalCoresUsed"] != 2.0 || a["totalRAMUsed"] != 2048.0 {
		t.Errorf("quota usage of an offloaded server: %v", a)
	}
	pages, err := images.List(p.ImageClient(t, cloudtest.Admin), images.ListOpts{Name: "web-shelved"}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	shelved, err := images.ExtractImages(pages)
	if err != nil || len(shelved) != 1 {
		t.Fatalf("shelved images: %v, %v", shelved, err)
	}
	img := shelved[0]
	if img.Status != images.ImageStatusActive || img.Properties["instance_uuid"] != id || img.SizeBytes != 1024 {
		t.Errorf("shelved image %+v", img)
	}
	ev := p.events(t, id)
	if ev["shelve/compute_shelve_instance"] != "Success" {
		t.Errorf("shelve events %v", ev)
	}
	wantStatus(t, p.act(t, id, "2.1", map[string]any{"shelve": nil}), 409, "shelve an offloaded server")
	wantStatus(t, p.act(t, id, "2.1", map[string]any{"os-stop": nil}), 409, "stop an offloaded server")

	// 2.77 may name a zone; one that does not exist is refused.
	wantStatus(t, p.act(t, id, "2.77", map[string]any{"unshelve": map[string]any{"availability_zone": "nowhere"}}),
		400, "unshelve into an unknown zone")
	wantStatus(t, p.act(t, id, "2.77", map[string]any{"unshelve": map[string]any{"availability_zone": "nova"}}),
		202, "unshelve")
	s = p.waitStatus(t, id, "ACTIVE")
	if s.Host == "" || s.PowerState != servers.RUNNING {
		t.Errorf("unshelved server on %q, power %v", s.Host, s.PowerState)
	}
	if u := p.usages(t); u["VCPU"] != 2 || u["MEMORY_MB"] != 2048 || u["DISK_GB"] != 10 {
		t.Errorf("usages after unshelve: %v", u)
	}
	cloudtest.Eventually(t, 5*time.Second, func() bool { return p.image(t, img.ID) == nil }, "shelved image deleted")
	ev = p.events(t, id)
	if ev["unshelve/conductor_unshelve_instance"] != "Success" || ev["unshelve/compute_unshelve_instance"] != "Success" {
		t.Errorf("unshelve events %v", ev)
	}
	if drv := p.FakeDriver(s.Host); drv == nil || drv.ImageCount() != 1 {
		t.Errorf("fake driver of %s after unshelve", s.Host)
	}
	if err := servers.Delete(ctx, p.compute, id).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	p.waitGone(t, id)
}

// TestShelveKeepsHost shelves with shelved_offload_time -1: the server
// keeps its host and allocation until an admin offloads it; a server
// unshelved before that powers on where it is.
func TestShelveKeepsHost(t *testing.T) {
	t.Parallel()
	p := startPlane(t, cloudtest.WithOption("DEFAULT.shelved_offload_time", "-1"))
	ctx := context.Background()
	flavor := p.flavor(t, "m1.small", 2, 2048, 10)
	id := p.boot(t, "db", flavor)
	host := p.waitStatus(t, id, "ACTIVE").Host

	if err := servers.Shelve(ctx, p.compute, id).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	s := p.waitStatus(t, id, "SHELVED")
	if s.Host != host || s.PowerState != servers.SHUTDOWN {
		t.Errorf("shelved server on %q (was %q), power %v", s.Host, host, s.PowerState)
	}
	if u := p.usages(t); u["VCPU"] != 2 {
		t.Errorf("usages of a shelved server: %v", u)
	}
	// 2.77 names a zone only for an offloaded server.
	wantStatus(t, p.act(t, id, "2.77", map[string]any{"unshelve": map[string]any{"availability_zone": "nova"}}),
		409, "unshelve a shelved server into a zone")
	wantStatus(t, p.act(t, id, "2.1", map[string]any{"unshelve": nil}), 202, "unshelve")
	s = p.waitStatus(t, id, "ACTIVE")
	if s.Host != host || s.PowerState != servers.RUNNING {
		t.Errorf("unshelved server on %q, power %v", s.Host, s.PowerState)
	}

	if err := servers.Shelve(ctx, p.compute, id).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	p.waitStatus(t, id, "SHELVED")
	wantStatus(t, p.act(t, id, "2.1", map[string]any{"shelveOffload": nil}), 202, "offload")
	if s := p.waitStatus(t, id, "SHELVED_OFFLOADED"); s.Host != "" {
		t.Errorf("offloaded server on %q", s.Host)
	}
	if u := p.usages(t); u["VCPU"] != 0 {
		t.Errorf("usages after offload: %v", u)
	}
	if drv := p.FakeDriver(host); drv.ImageCount() != 0 {
		t.Errorf("offload left %d images in the driver", drv.ImageCount())
	}
	// 2.91 names a host (admins).
	wantStatus(t, p.act(t, id, "2.91", map[string]any{"unshelve": map[string]any{"host": "nohost"}}), 400,
		"unshelve to an unknown host")
	wantStatus(t, p.act(t, id, "2.91", map[string]any{"unshelve": map[string]any{"host": host}}), 202,
		"unshelve to a host")
	if s := p.waitStatus(t, id, "ACTIVE"); s.Host != host {
		t.Errorf("unshelved onto %q, want %q", s.Host, host)
	}
	if u := p.usages(t); u["VCPU"] != 2 {
		t.Errorf("usages after unshelve: %v", u)
	}
}

// TestShelvedOffloadTime offloads a shelved server once
// shelved_offload_time has passed.
func TestShelvedOffloadTime(t *testing.T) {
	t.Parallel()
	p := startPlane(t, cloudtest.WithOption("DEFAULT.shelved_offload_time", "1"))
	id := p.boot(t, "cache", p.flavor(t, "m1.tiny", 1, 512, 1))
	p.waitStatus(t, id, "ACTIVE")
	if err := servers.Shelve(context.Background(), p.compute, id).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	p.waitStatus(t, id, "SHELVED_OFFLOADED")
	if u := p.usages(t); u["VCPU"] != 0 {
		t.Errorf("usages after the timed offload: %v", u)
	}
}

// TestRescueAndResetState rescues a server from its image and back, and
// resets its state as an admin.
func TestRescueAndResetState(t *testing.T) {
	t.Parallel()
	p := startPlane(t)
	id := p.boot(t, "rescue-me", p.flavor(t, "m1.small", 2, 2048, 10))
	s := p.waitStatus(t, id, "ACTIVE")
	drv := p.FakeDriver(s.Host)

	wantStatus(t, p.act(t, id, "2.1", map[string]any{"unrescue": nil}), 409, "unrescue an active server")
	wantStatus(t, p.act(t, id, "2.1", map[string]any{"rescue": map[string]any{
		"rescue_image_ref": "7b3c1b6e-5d0e-4b0c-9d5e-2f4a1c3b9e10"}}), 400, "rescue from an unknown image")
	wantStatus(t, p.act(t, id, "2.1", map[string]any{"rescue": map[string]any{"bogus": 1}}), 400, "rescue with a bad body")
	r := p.act(t, id, "2.1", map[string]any{"rescue": map[string]any{"adminPass": "s3cret", "rescue_image_ref": p.imageID}})
	wantStatus(t, r, 200, "rescue")
	if pass := r.JSON(t)["adminPass"]; pass != "s3cret" {
		t.Errorf("rescue password %v", pass)
	}
	p.waitStatus(t, id, "RESCUE")
	if ok, img := drv.Rescued(id); !ok || img != p.imageID {
		t.Errorf("driver rescued %v from %q", ok, img)
	}
	wantStatus(t, p.act(t, id, "2.1", map[string]any{"rescue": nil}), 409, "rescue a rescued server")
	wantStatus(t, p.act(t, id, "2.1", map[string]any{"createImage": map[string]any{"name": "x"}}), 409,
		"snapshot a rescued server")
	wantStatus(t, p.act(t, id, "2.1", map[string]any{"unrescue": nil}), 202, "unrescue")
	if s := p.waitStatus(t, id, "ACTIVE"); s.PowerState != servers.RUNNING {
		t.Errorf("unrescued server power %v", s.PowerState)
	}
	if ok, _ := drv.Rescued(id); ok {
		t.Error("driver still rescued")
	}
	// Without a body the password is generated.
	r = p.act(t, id, "2.1", map[string]any{"rescue": nil})
	wantStatus(t, r, 200, "rescue without a body")
	if pass, _ := r.JSON(t)["adminPass"].(string); len(pass) < 8 {
		t.Errorf("generated rescue password %q", pass)
	}
	p.waitStatus(t, id, "RESCUE")
	ev := p.events(t, id)
	if ev["rescue/compute_rescue_instance"] != "Success" || ev["unrescue/compute_unrescue_instance"] != "Success" {
		t.Errorf("rescue events %v", ev)
	}

	wantStatus(t, p.act(t, id, "2.1", map[string]any{"os-resetState": map[string]any{"state": "paused"}}), 400,
		"reset to a state not allowed")
	wantStatus(t, p.act(t, id, "2.1", map[string]any{"os-resetState": map[string]any{"state": "error"}}), 202,
		"reset to error")
	if s := p.server(t, id); s.Status != "ERROR" || s.TaskState != "" {
		t.Errorf("after reset: %s task %q", s.Status, s.TaskState)
	}
	wantStatus(t, p.act(t, id, "2.1", map[string]any{"os-resetState": map[string]any{"state": "active"}}), 202,
		"reset to active")
	p.waitStatus(t, id, "ACTIVE")
	wantStatus(t, p.act(t, id, "2.1", map[string]any{"injectNetworkInfo": nil}), 202, "inject network info")
	acts := p.get(t, "2.1", "servers", id, "os-instance-actions").JSON(t)["instanceActions"].([]any)
	if len(acts) == 0 || acts[0].(map[string]any)["action"] != "resetState" {
		t.Errorf("latest action %v", acts[0])
	}
}

// TestCreateBackup backs a server up three times keeping two: the oldest
// goes; a rotation of 0 keeps none.
func TestCreateBackup(t *testing.T) {
	t.Parallel()
	p := startPlane(t)
	ctx := context.Background()
	id := p.boot(t, "backed", p.flavor(t, "m1.small", 2, 2048, 10))
	p.waitStatus(t, id, "ACTIVE")
	backup := func(mv, name string, rotation any) *cloudtest.Response {
		return p.act(t, id, mv, map[string]any{"createBackup": map[string]any{"name": name, "backup_type": "daily",
			"rotation": rotation}})
	}
	wantStatus(t, backup("2.1", "b", -1), 400, "negative rotation")
	wantStatus(t, p.act(t, id, "2.1", map[string]any{"createBackup": map[string]any{"name": "b"}}), 400,
		"backup without type")
	var ids []string
	for i, mv := range []string{"2.1", "2.45", "2.45"} {
		if i > 0 {
			// The image service orders images by creation to the second,
			// as glance shows it: backups a second apart rotate in order.
			time.Sleep(time.Second)
		}
		r := backup(mv, "b"+string(rune('1'+i)), "2")
		wantStatus(t, r, 202, "backup")
		if mv == "2.1" {
			loc := r.Header.Get("Location")
			ids = append(ids, loc[strings.LastIndex(loc, "/")+1:])
		} else {
			ids = append(ids, r.JSON(t)["image_id"].(string))
		}
		p.waitStatus(t, id, "ACTIVE")
	}
	cloudtest.Eventually(t, 5*time.Second, func() bool { return p.image(t, ids[0]) == nil }, "oldest backup rotated out")
	for _, b := range ids[1:] {
		img := p.image(t, b)
		if img == nil || img.Status != images.ImageStatusActive || img.Properties["image_type"] != "backup" ||
			img.Properties["backup_type"] != "daily" || img.Properties["instance_uuid"] != id {
			t.Errorf("backup %s: %+v", b, img)
		}
	}
	if ev := p.events(t, id); ev["createBackup/compute_backup_instance"] != "Success" {
		t.Errorf("backup events %v", ev)
	}
	r := backup("2.1", "b4", 0)
	wantStatus(t, r, 202, "backup with rotation 0")
	if loc := r.Header.Get("Location"); loc != "" {
		t.Errorf("Location %q with rotation 0", loc)
	}
	p.waitStatus(t, id, "ACTIVE")
	cloudtest.Eventually(t, 5*time.Second, func() bool { return p.image(t, ids[1]) == nil && p.image(t, ids[2]) == nil },
		"rotation 0 deletes every backup")
	if err := servers.Pause(ctx, p.compute, id).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	p.waitStatus(t, id, "PAUSED")
	r = backup("2.45", "paused", 1)
	wantStatus(t, r, 202, "backup of a paused server")
	p.waitStatus(t, id, "PAUSED")
}

// TestDiagnosticsAndPassword reads a server's diagnostics in both shapes
// and its (empty) password, which it clears.
func TestDiagnosticsAndPassword(t *testing.T) {
	t.Parallel()
	p := startPlane(t)
	id := p.boot(t, "diag", p.flavor(t, "m1.small", 2, 2048, 10))
	p.waitStatus(t, id, "ACTIVE")

	r := p.get(t, "2.1", "servers", id, "diagnostics")
	wantStatus(t, r, 200, "legacy diagnostics")
	if m := r.JSON(t); m["memory"] != 2048.0*1024 || m["cpu1_time"] == nil || m["vda_read"] == nil {
		t.Errorf("legacy diagnostics %v", m)
	}
	r = p.get(t, "2.48", "servers", id, "diagnostics")
	wantStatus(t, r, 200, "diagnostics")
	m := r.JSON(t)
	if m["state"] != "running" || m["driver"] != "libvirt" || m["num_cpus"] != 2.0 || m["num_disks"] != 1.0 ||
		m["memory_details"].(map[string]any)["maximum"] != 2048.0 || len(m["cpu_details"].([]any)) != 2 {
		t.Errorf("diagnostics %v", m)
	}
	wantStatus(t, p.get(t, "2.48", "servers", "00000000-0000-4000-8000-000000000000", "diagnostics"), 404,
		"diagnostics of no server")

	r = p.get(t, "2.1", "servers", id, "os-server-password")
	wantStatus(t, r, 200, "server password")
	if pw, ok := r.JSON(t)["password"]; !ok || pw != "" {
		t.Errorf("password %v", pw)
	}
	wantStatus(t, p.Do(t, http.MethodDelete, p.compute.ServiceURL("servers", id, "os-server-password"),
		p.Token(t, cloudtest.Admin), nil), 204, "clear password")

	ctx := context.Background()
	if err := servers.Shelve(ctx, p.compute, id).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	p.waitStatus(t, id, "SHELVED_OFFLOADED")
	wantStatus(t, p.get(t, "2.48", "servers", id, "diagnostics"), 409, "diagnostics of an offloaded server")
	// Deleting a shelved server deletes its shelved image.
	pages, err := images.List(p.ImageClient(t, cloudtest.Admin), images.ListOpts{Name: "diag-shelved"}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	shelved, err := images.ExtractImages(pages)
	if err != nil || len(shelved) != 1 {
		t.Fatalf("shelved images %v, %v", shelved, err)
	}
	if err := servers.Delete(ctx, p.compute, id).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	p.waitGone(t, id)
	if img := p.image(t, shelved[0].ID); img != nil {
		t.Errorf("the shelved image of a deleted server stays: %+v", img)
	}
}
