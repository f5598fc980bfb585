package imagehttp_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/cloudtest"
)

// TestSeveralStores runs a site with two file stores: uploads go to the
// default one or the one X-Image-Meta-Store names, copy-image copies to the
// others, imports go to the stores they name, and delete empties them all.
func TestSeveralStores(t *testing.T) {
	t.Parallel()
	c := startDataCloud(t,
		cloudtest.WithOption("image.enabled_backends", "fast:file,cheap:file"),
		cloudtest.WithOption("image.enabled_import_methods", "glance-direct,copy-image"))
	data := pattern(200_000)
	wantMD5, _, _ := hexSum(data)

	resp := c.Do(t, "GET", c.ImageURL+"/v2/info/stores", c.tok, nil)
	if resp.Status != http.StatusOK || string(bytes.TrimSpace(resp.Body)) != `{"stores":[{"id":"fast","default":true},{"id":"cheap"}]}` {
		t.Fatalf("info/stores: %d %s", resp.Status, resp.Body)
	}

	id := c.create(t, "raw")
	if status, body := c.send(t, "PUT", id, "file", bytes.NewReader(data)); status != http.StatusNoContent {
		t.Fatalf("upload: %d %s", status, body)
	}
	if st := c.image(t, id)["stores"]; st != "fast" {
		t.Fatalf("stores after upload = %v, want fast", st)
	}
	resp = c.Do(t, "POST", c.ImageURL+"/v2/images/"+id+"/import", c.tok, map[string]any{
		"method": map[string]any{"name": "copy-image"}, "all_stores": true, "all_stores_must_succeed": false})
	if resp.Status != http.StatusAccepted {
		t.Fatalf("copy-image: %d %s", resp.Status, resp.Body)
	}
	cloudtest.Eventually(t, 10*time.Second, func() bool { return c.image(t, id)["stores"] == "cheap,fast" }, "copy to cheap")
	if files := c.leftovers(t, id); len(files) != 2 ||
		!slices.ContainsFunc(files, func(f string) bool { return filepath.Base(filepath.Dir(f)) == "cheap" }) {
		t.Fatalf("files after copy-image: %v", files)
	}
	dl, err := http.NewRequest("GET", c.ImageURL+"/v2/images/"+id+"/file", nil)
	if err != nil {
		t.Fatal(err)
	}
	dl.Header.Set("X-Auth-Token", c.tok)
	dresp, err := http.DefaultClient.Do(dl)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(dresp.Body)
	dresp.Body.Close()
	if !bytes.Equal(got, data) {
		t.Fatalf("download after copy-image: %d bytes, want %d", len(got), len(data))
	}
	if resp = c.Do(t, "DELETE", c.ImageURL+"/v2/images/"+id, c.tok, nil); resp.Status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", resp.Status, resp.Body)
	}
	if files := c.leftovers(t, id); len(files) != 0 {
		t.Fatalf("files after delete: %v", files)
	}

	t.Run("upload to a named store", func(t *testing.T) {
		id := c.create(t, "raw")
		if status, body := c.send(t, "PUT", id, "file", bytes.NewReader(data), "X-Image-Meta-Store", "nowhere"); status != http.StatusBadRequest {
			t.Fatalf("upload to an unknown store: %d %s", status, body)
		}
		if status, body := c.send(t, "PUT", id, "file", bytes.NewReader(data), "X-Image-Meta-Store", "cheap"); status != http.StatusNoContent {
			t.Fatalf("upload to cheap: %d %s", status, body)
		}
		if img := c.image(t, id); img["stores"] != "cheap" || img["checksum"] != wantMD5 {
			t.Fatalf("image uploaded to cheap: %v", img)
		}
	})
	t.Run("import to named stores", func(t *testing.T) {
		id := c.create(t, "raw")
		if status, body := c.send(t, "PUT", id, "stage", bytes.NewReader(data)); status != http.StatusNoContent {
			t.Fatalf("stage: %d %s", status, body)
		}
		for _, bad := range []map[string]any{
			{"method": map[string]any{"name": "glance-direct"}, "stores": []string{"nowhere"}},
			{"method": map[string]any{"name": "glance-direct"}, "stores": []string{"fast"}, "all_stores": true},
		} {
			if resp := c.Do(t, "POST", c.ImageURL+"/v2/images/"+id+"/import", c.tok, bad); resp.Status/100 != 4 {
				t.Errorf("import %v: %d %s, want refused", bad, resp.Status, resp.Body)
			}
		}
		resp := c.Do(t, "POST", c.ImageURL+"/v2/images/"+id+"/import", c.tok, map[string]any{
			"method": map[string]any{"name": "glance-direct"}, "stores": []string{"cheap", "fast"}})
		if resp.Status != http.StatusAccepted {
			t.Fatalf("import: %d %s", resp.Status, resp.Body)
		}
		cloudtest.Eventually(t, 10*time.Second, func() bool { return c.image(t, id)["stores"] == "cheap,fast" }, "import to both stores")
		if img := c.image(t, id); img["status"] != "active" || img["checksum"] != wantMD5 || img["os_glance_importing_to_stores"] != "" || img["os_glance_failed_import"] != "" {
			t.Fatalf("image imported to both stores: %v", img)
		}
	})
}

// TestHTTPStore serves images made from http locations through a read-only
// http store, and never writes to it.
func TestHTTPStore(t *testing.T) {
	t.Parallel()
	data := pattern(123_457)
	src := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "disk.raw", time.Time{}, bytes.NewReader(data))
	}))
	t.Cleanup(src.Close)
	c := startDataCloud(t,
		cloudtest.WithOption("image.enabled_backends", "fast:file,web:http"),
		cloudtest.WithOption("image.web_download_allowed_hosts", "127.0.0.1"),
		cloudtest.WithOption("image.show_multiple_locations", "true"),
		cloudtest.WithOption("image.enabled_import_methods", "glance-direct"))
	resp := c.Do(t, "GET", c.ImageURL+"/v2/info/stores", c.tok, nil)
	if want := `{"stores":[{"id":"fast","default":true},{"id":"web","read-only":"true"}]}`; string(bytes.TrimSpace(resp.Body)) != want {
		t.Fatalf("info/stores: %s, want %s", resp.Body, want)
	}
	id := c.create(t, "raw")
	resp = c.Do(t, "PATCH", c.ImageURL+"/v2/images/"+id, c.tok,
		[]map[string]any{{"op": "add", "path": "/locations/-", "value": map[string]any{"url": src.URL + "/disk.raw", "metadata": map[string]any{}}}},
		"Content-Type", "application/openstack-images-v2.1-json-patch")
	if resp.Status != http.StatusOK {
		t.Fatalf("add location: %d %s", resp.Status, resp.Body)
	}
	req, _ := http.NewRequest("GET", c.ImageURL+"/v2/images/"+id+"/file", nil)
	req.Header.Set("X-Auth-Token", c.tok)
	req.Header.Set("Range", "bytes=100-")
	dresp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(dresp.Body)
	dresp.Body.Close()
	if dresp.StatusCode != http.StatusPartialContent || !bytes.Equal(got, data[100:]) {
		t.Fatalf("ranged download through the http store: %d, %d bytes", dresp.StatusCode, len(got))
	}

	staged := c.create(t, "raw")
	if status, body := c.send(t, "PUT", staged, "stage", bytes.NewReader(data)); status != http.StatusNoContent {
		t.Fatalf("stage: %d %s", status, body)
	}
	resp = c.Do(t, "POST", c.ImageURL+"/v2/images/"+staged+"/import", c.tok,
		map[string]any{"method": map[string]any{"name": "glance-direct"}, "stores": []string{"web"}})
	if resp.Status != http.StatusConflict || !bytes.Contains(resp.Body, []byte("read-only")) {
		t.Fatalf("import to the read-only store: %d %s", resp.Status, resp.Body)
	}
	resp = c.Do(t, "POST", c.ImageURL+"/v2/images/"+staged+"/import", c.tok,
		map[string]any{"method": map[string]any{"name": "glance-direct"}, "all_stores": true})
	if resp.Status != http.StatusAccepted {
		t.Fatalf("import to all stores: %d %s", resp.Status, resp.Body)
	}
	cloudtest.Eventually(t, 10*time.Second, func() bool { return c.image(t, staged)["status"] == "active" }, "import")
	if st := c.image(t, staged)["stores"]; st != "fast" {
		t.Fatalf("all_stores imported to %v, want the writable store fast", st)
	}
}
