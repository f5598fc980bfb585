package imagehttp_test

import (
	"net/http"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/cloudtest"
)

const patchType = "application/openstack-images-v2.1-json-patch"

func TestLocations(t *testing.T) {
	t.Parallel()
	c := cloudtest.Start(t, cloudtest.WithOption("image.show_multiple_locations", "true"),
		cloudtest.WithOption("image.show_image_direct_url", "true"))
	tok := c.Token(t, cloudtest.Admin)
	create := func() string {
		r := c.Do(t, "POST", c.ImageURL+"/v2/images", tok, `{"name":"loc","disk_format":"raw","container_format":"bare"}`)
		if r.Status != http.StatusCreated {
			t.Fatalf("create: %d %s", r.Status, r.Body)
		}
		v := r.JSON(t)
		if locs, ok := v["locations"].([]any); !ok || len(locs) != 0 {
			t.Fatalf("a new image's locations = %v, want []", v["locations"])
		}
		return v["id"].(string)
	}
	id := create()
	patch := func(id, body string) *cloudtest.Response {
		return c.Do(t, "PATCH", c.ImageURL+"/v2/images/"+id, tok, body, "Content-Type", patchType)
	}
	r := patch(id, `[{"op":"add","path":"/locations/-","value":{"url":"http://127.0.0.1:1/disk.raw","metadata":{}}}]`)
	if r.Status != http.StatusOK {
		t.Fatalf("add location: %d %s", r.Status, r.Body)
	}
	v := r.JSON(t)
	if v["status"] != "active" || v["direct_url"] != "http://127.0.0.1:1/disk.raw" {
		t.Errorf("after adding a location: status %v, direct_url %v", v["status"], v["direct_url"])
	}
	if locs := v["locations"].([]any); len(locs) != 1 || locs[0].(map[string]any)["url"] != "http://127.0.0.1:1/disk.raw" {
		t.Errorf("locations = %v", locs)
	}

	bad := []struct{ name, body string }{
		{"bad scheme", `[{"op":"add","path":"/locations/-","value":{"url":"file:///etc/passwd","metadata":{}}}]`},
		{"duplicate", `[{"op":"add","path":"/locations/-","value":{"url":"http://127.0.0.1:1/disk.raw","metadata":{}}}]`},
		{"not an object", `[{"op":"add","path":"/locations/-","value":"http://x"}]`},
	}
	for _, b := range bad {
		if r := patch(id, b.body); r.Status != http.StatusBadRequest {
			t.Errorf("%s: %d %s, want 400", b.name, r.Status, r.Body)
		}
	}
	other := create()
	if r := patch(other, `[{"op":"add","path":"/locations/-","value":{"url":"http://127.0.0.1:1/x","metadata":{},
		"validation_data":{"checksum":"0123456789abcdef0123456789abcdef","os_hash_algo":"sha256","os_hash_value":"00"}}}]`); r.Status != http.StatusBadRequest && r.Status != http.StatusConflict {
		t.Errorf("validation data with the wrong hash algorithm: %d %s", r.Status, r.Body)
	}
	if r := patch(id, `[{"op":"remove","path":"/locations/0"}]`); r.Status != http.StatusForbidden {
		t.Errorf("removing the last location: %d %s, want 403", r.Status, r.Body)
	}
}

func TestLocationsHiddenByDefault(t *testing.T) {
	t.Parallel()
	c := cloudtest.Start(t)
	tok := c.Token(t, cloudtest.Admin)
	r := c.Do(t, "POST", c.ImageURL+"/v2/images", tok, `{"name":"loc","disk_format":"raw","container_format":"bare"}`)
	v := r.JSON(t)
	if _, shown := v["locations"]; shown {
		t.Errorf("locations shown without show_multiple_locations: %v", v["locations"])
	}
	r = c.Do(t, "PATCH", c.ImageURL+"/v2/images/"+v["id"].(string), tok,
		`[{"op":"add","path":"/locations/-","value":{"url":"http://127.0.0.1:1/x","metadata":{}}}]`, "Content-Type", patchType)
	if r.Status != http.StatusForbidden {
		t.Errorf("adding a location while locations are off: %d %s, want 403", r.Status, r.Body)
	}
}
