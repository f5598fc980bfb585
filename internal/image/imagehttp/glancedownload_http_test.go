package imagehttp_test

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/cloudtest"
)

// TestGlanceDownload copies an image from the image service the catalog names
// for a region: here the cloud's own, found through the caller's catalog.
func TestGlanceDownload(t *testing.T) {
	t.Parallel()
	c := startDataCloud(t, cloudtest.WithOption("image.enabled_import_methods", "glance-direct,glance-download"))
	data := pattern(300_000)
	wantMD5, _, _ := hexSum(data)
	src := c.create(t, "raw")
	if status, body := c.send(t, "PUT", src, "file", bytes.NewReader(data)); status != http.StatusNoContent {
		t.Fatalf("upload source: %d %s", status, body)
	}
	patch := func(id string, ops ...map[string]any) {
		t.Helper()
		resp := c.Do(t, "PATCH", c.ImageURL+"/v2/images/"+id, c.tok, ops,
			"Content-Type", "application/openstack-images-v2.1-json-patch")
		if resp.Status != http.StatusOK {
			t.Fatalf("patch: %d %s", resp.Status, resp.Body)
		}
	}
	add := func(k, v string) map[string]any { return map[string]any{"op": "add", "path": "/" + k, "value": v} }
	patch(src, add("hw_cpu_cores", "5"), add("os_distro", "rhel"), add("speed", "88mph"))

	importFrom := func(id string, method map[string]any) {
		t.Helper()
		method["name"] = "glance-download"
		resp := c.Do(t, "POST", c.ImageURL+"/v2/images/"+id+"/import", c.tok, map[string]any{"method": method})
		if resp.Status != http.StatusAccepted {
			t.Fatalf("import: %d %s", resp.Status, resp.Body)
		}
	}

	t.Run("success", func(t *testing.T) {
		dst := c.create(t, "iso")
		patch(dst, add("hw_cpu_cores", "1"), add("os_distro", "windows"))
		importFrom(dst, map[string]any{"glance_image_id": src, "glance_region": "RegionOne", "glance_service_interface": "public"})
		if task := c.waitTask(t, dst); task["status"] != "success" {
			t.Fatalf("task = %v", task)
		}
		img := c.image(t, dst)
		if img["status"] != "active" || img["checksum"] != wantMD5 || img["disk_format"] != "raw" ||
			img["hw_cpu_cores"] != "5" || img["os_distro"] != "rhel" || img["speed"] != nil {
			t.Fatalf("image after glance-download = %v", img)
		}
	})
	for _, tc := range []struct {
		name   string
		method map[string]any
	}{
		{"unknown region", map[string]any{"glance_image_id": src, "glance_region": "not a region"}},
		{"unknown interface", map[string]any{"glance_image_id": src, "glance_region": "RegionOne", "glance_service_interface": "not an interface"}},
		{"missing image", map[string]any{"glance_image_id": "36d4b546-64a2-4bb9-bdd0-ba676aa48f2c", "glance_region": "RegionOne"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst := c.create(t, "iso")
			patch(dst, add("hw_cpu_cores", "1"))
			importFrom(dst, tc.method)
			if task := c.waitTask(t, dst); task["status"] != "failure" || task["message"] == "" {
				t.Fatalf("task = %v, want a failure with a message", task)
			}
			img := c.image(t, dst)
			if img["status"] != "queued" || img["disk_format"] != "iso" || img["hw_cpu_cores"] != "1" {
				t.Fatalf("image after failed glance-download = %v", img)
			}
		})
	}
	t.Run("not a uuid", func(t *testing.T) {
		dst := c.create(t, "raw")
		resp := c.Do(t, "POST", c.ImageURL+"/v2/images/"+dst+"/import", c.tok, map[string]any{"method": map[string]any{
			"name": "glance-download", "glance_image_id": "foo", "glance_region": "RegionOne"}})
		if resp.Status != http.StatusBadRequest || !bytes.Contains(resp.Body, []byte("image id does not look like a UUID")) {
			t.Fatalf("import of a non-uuid: %d %s", resp.Status, resp.Body)
		}
	})
}
