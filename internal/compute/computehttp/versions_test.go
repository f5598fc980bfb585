package computehttp_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/cloudtest"
)

func TestVersionsAndNegotiation(t *testing.T) {
	t.Parallel()
	c := cloudtest.Start(t)
	base := strings.TrimSuffix(c.ComputeURL, "/v2.1")
	token := c.Token(t, cloudtest.Admin)

	resp := c.Do(t, "GET", base+"/", "", nil)
	if resp.Status != http.StatusOK {
		t.Fatalf("GET /: %d %s", resp.Status, resp.Body)
	}
	versions := resp.JSON(t)["versions"].([]any)
	if len(versions) != 2 {
		t.Fatalf("versions %v", versions)
	}
	v21 := versions[1].(map[string]any)
	if v21["id"] != "v2.1" || v21["status"] != "CURRENT" || v21["version"] != "2.100" || v21["min_version"] != "2.1" ||
		v21["links"].([]any)[0].(map[string]any)["href"] != base+"/v2.1/" {
		t.Errorf("v2.1 entry %v", v21)
	}
	if v20 := versions[0].(map[string]any); v20["id"] != "v2.0" || v20["status"] != "DEPRECATED" || v20["version"] != "" {
		t.Errorf("v2.0 entry %v", v20)
	}
	if resp.Header.Get("OpenStack-API-Version") != "" {
		t.Error("the root is not under microversion control")
	}

	// GET /v2.1 needs no token; GET /v2.1/ does, as in nova.
	resp = c.Do(t, "GET", base+"/v2.1", "", nil)
	if resp.Status != http.StatusOK {
		t.Fatalf("GET /v2.1: %d %s", resp.Status, resp.Body)
	}
	v := obj(t, resp.JSON(t), "version")
	if v["version"] != "2.100" || v["links"].([]any)[0].(map[string]any)["href"] != base+"/v2.1/" {
		t.Errorf("version %v", v)
	}
	if got := resp.Header.Get("OpenStack-API-Version"); got != "compute 2.1" {
		t.Errorf("OpenStack-API-Version = %q", got)
	}
	resp = c.Do(t, "GET", base+"/v2.1/", "", nil)
	if resp.Status != http.StatusUnauthorized || obj(t, resp.JSON(t), "error")["title"] != "Unauthorized" ||
		!strings.Contains(resp.Header.Get("WWW-Authenticate"), c.IdentityURL) {
		t.Fatalf("GET /v2.1/ without a token: %d %v %s", resp.Status, resp.Header, resp.Body)
	}
	resp = c.Do(t, "GET", base+"/v2.1/", token, nil)
	if resp.Status != http.StatusOK || obj(t, resp.JSON(t), "version")["id"] != "v2.1" {
		t.Fatalf("GET /v2.1/: %d %s", resp.Status, resp.Body)
	}
	for _, path := range []string{"/v2", "/v2/"} {
		resp = c.Do(t, "GET", base+path, token, nil)
		if resp.Status != http.StatusOK || obj(t, resp.JSON(t), "version")["id"] != "v2.0" {
			t.Fatalf("GET %s: %d %s", path, resp.Status, resp.Body)
		}
	}

	cases := []struct {
		name    string
		headers []string
		status  int
		want    string
	}{
		{"none is the minimum", nil, 200, "2.1"},
		{"new style", []string{"OpenStack-API-Version", "compute 2.61"}, 200, "2.61"},
		{"legacy header", []string{"X-OpenStack-Nova-API-Version", "2.35"}, 200, "2.35"},
		{"latest", []string{"OpenStack-API-Version", "compute latest"}, 200, "2.100"},
		{"other service ignored", []string{"OpenStack-API-Version", "volume 3.1"}, 200, "2.1"},
		{"too new", []string{"OpenStack-API-Version", "compute 2.101"}, 406, ""},
		{"too old", []string{"X-OpenStack-Nova-API-Version", "2.0"}, 406, ""},
		{"malformed", []string{"OpenStack-API-Version", "compute two"}, 400, ""},
	}
	for _, tc := range cases {
		resp := c.Do(t, "GET", c.ComputeURL+"/flavors", token, nil, tc.headers...)
		if resp.Status != tc.status {
			t.Errorf("%s: status %d, want %d: %s", tc.name, resp.Status, tc.status, resp.Body)
			continue
		}
		if tc.status != 200 {
			continue
		}
		if got := resp.Header.Get("OpenStack-API-Version"); got != "compute "+tc.want {
			t.Errorf("%s: OpenStack-API-Version = %q", tc.name, got)
		}
		if got := resp.Header.Get("X-OpenStack-Nova-API-Version"); got != tc.want {
			t.Errorf("%s: X-OpenStack-Nova-API-Version = %q", tc.name, got)
		}
		if vary := strings.Join(resp.Header.Values("Vary"), ","); !strings.Contains(vary, "OpenStack-API-Version") ||
			!strings.Contains(vary, "X-OpenStack-Nova-API-Version") {
			t.Errorf("%s: Vary = %q", tc.name, vary)
		}
		if resp.Header.Get("X-Compute-Request-Id") == "" || resp.Header.Get("X-Openstack-Request-Id") == "" {
			t.Errorf("%s: request id headers missing", tc.name)
		}
	}
	resp = c.Do(t, "GET", c.ComputeURL+"/flavors", token, nil, "OpenStack-API-Version", "compute 2.101")
	fault(t, resp, 406, "computeFault", "Version 2.101 is not supported by the API. Minimum is 2.1 and maximum is 2.100.")
	fault(t, c.Do(t, "GET", c.ComputeURL+"/no-such-thing", token, nil), 404, "itemNotFound", "could not be found")
	fault(t, c.Do(t, "PATCH", c.ComputeURL+"/flavors", token, nil), 405, "badMethod", "not allowed")
}
