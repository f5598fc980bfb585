package computehttp_test

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/cloudtest"
)

func TestAggregatesAPI(t *testing.T) {
	t.Parallel()
	c := cloudtest.Start(t)
	admin := c.Token(t, cloudtest.Admin)
	resp := api(t, c, admin, "2.41", "POST", "/os-aggregates",
		map[string]any{"aggregate": map[string]any{"name": "rack1"}})
	if resp.Status != http.StatusOK {
		t.Fatalf("create: %d %s", resp.Status, resp.Body)
	}
	agg := obj(t, resp.JSON(t), "aggregate")
	for _, k := range []string{"id", "uuid", "name", "availability_zone", "created_at", "updated_at", "deleted", "deleted_at"} {
		if _, ok := agg[k]; !ok {
			t.Errorf("create view lacks %s: %v", k, agg)
		}
	}
	if agg["availability_zone"] != nil {
		t.Errorf("zone %v; want null", agg["availability_zone"])
	}
	path := "/os-aggregates/" + strconv.Itoa(int(agg["id"].(float64)))

	resp = api(t, c, admin, "2.1", "PUT", path, map[string]any{"aggregate": map[string]any{"availability_zone": "az1"}})
	if resp.Status != http.StatusOK {
		t.Fatalf("update: %d %s", resp.Status, resp.Body)
	}
	got := obj(t, resp.JSON(t), "aggregate")
	if got["availability_zone"] != "az1" || got["uuid"] != nil || obj(t, got, "metadata")["availability_zone"] != "az1" {
		t.Errorf("updated at 2.1: %v", got)
	}

	for _, tc := range []struct {
		name, method, path string
		body               any
		status             int
		fault, msg         string
	}{
		{"no name", "POST", "/os-aggregates", map[string]any{"aggregate": map[string]any{}}, 400, "badRequest", "name"},
		{"empty zone", "POST", "/os-aggregates", map[string]any{"aggregate": map[string]any{"name": "x",
			"availability_zone": ""}}, 400, "badRequest", "availability_zone"},
		{"internal zone", "POST", "/os-aggregates", map[string]any{"aggregate": map[string]any{"name": "x",
			"availability_zone": "internal"}}, 400, "badRequest", "internal"},
		{"same name", "POST", "/os-aggregates", map[string]any{"aggregate": map[string]any{"name": "rack1"}}, 409,
			"conflictingRequest", "Aggregate rack1 already exists."},
		{"empty update", "PUT", path, map[string]any{"aggregate": map[string]any{}}, 400, "badRequest", "aggregate"},
		{"unknown", "GET", "/os-aggregates/999", nil, 404, "itemNotFound", "Aggregate 999 could not be found."},
		{"not a number", "GET", "/os-aggregates/abc", nil, 404, "itemNotFound", "abc"},
		{"two actions", "POST", path + "/action", map[string]any{"add_host": map[string]any{"host": "h"},
			"remove_host": map[string]any{"host": "h"}}, 400, "badRequest", "exactly one"},
		{"unknown action", "POST", path + "/action", map[string]any{"evacuate": map[string]any{}}, 400, "badRequest", "evacuate"},
		{"host missing", "POST", path + "/action", map[string]any{"add_host": map[string]any{}}, 400, "badRequest", "host"},
		{"bad metadata key", "POST", path + "/action", map[string]any{"set_metadata": map[string]any{
			"metadata": map[string]any{"a/b": "x"}}}, 400, "badRequest", "a/b"},
		{"no compute hosts", "POST", path + "/action", map[string]any{"add_host": map[string]any{"host": "h"}}, 404,
			"itemNotFound", "Compute host h could not be found."},
		{"remove absent", "POST", path + "/action", map[string]any{"remove_host": map[string]any{"host": "h"}}, 404,
			"itemNotFound", "has no host h"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fault(t, api(t, c, admin, "2.41", tc.method, tc.path, tc.body), tc.status, tc.fault, tc.msg)
		})
	}

	resp = api(t, c, admin, "2.41", "POST", path+"/action", map[string]any{"set_metadata": map[string]any{
		"metadata": map[string]any{"availability_zone": nil, "ssd": "true"}}})
	if resp.Status != http.StatusOK {
		t.Fatalf("set metadata: %d %s", resp.Status, resp.Body)
	}
	got = obj(t, resp.JSON(t), "aggregate")
	if got["availability_zone"] != nil || obj(t, got, "metadata")["ssd"] != "true" {
		t.Errorf("after set_metadata: %v", got)
	}

	cr, _, _ := newUser(t, c, admin, "alice")
	alice := c.Token(t, cr)
	fault(t, api(t, c, alice, "2.41", "GET", "/os-aggregates", nil), 403, "forbidden", "os_compute_api:os-aggregates:index")
	fault(t, api(t, c, alice, "2.41", "DELETE", path, nil), 403, "forbidden", "os_compute_api:os-aggregates:delete")

	if r := api(t, c, admin, "2.41", "DELETE", path, nil); r.Status != http.StatusOK {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
	resp = api(t, c, admin, "2.41", "GET", "/os-aggregates", nil)
	if list := resp.JSON(t)["aggregates"].([]any); len(list) != 0 {
		t.Errorf("list after delete: %v", list)
	}
}
