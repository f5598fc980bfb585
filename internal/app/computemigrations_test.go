package app_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"

	"github.com/nimbus-cloud/nimbus/internal/cloudtest"
)

// migrationsOf lists the os-migrations records of a server at microversion
// mv, oldest first.
func (p *plane) migrationsOf(t *testing.T, token, id, mv string) []map[string]any {
	t.Helper()
	r := p.Do(t, "GET", p.ComputeURL+"/os-migrations?instance_uuid="+id, token, nil, "OpenStack-API-Version", "compute "+mv)
	if r.Status != http.StatusOK {
		t.Fatalf("list migrations: %d %s", r.Status, r.Body)
	}
	var out []map[string]any
	for _, m := range r.JSON(t)["migrations"].([]any) {
		out = append([]map[string]any{m.(map[string]any)}, out...)
	}
	if mv < "2.59" { // before 2.59 the order is the records' own
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	}
	return out
}

// waitMigration waits until the newest record of a server has status.
func (p *plane) waitMigration(t *testing.T, token, id, status string) map[string]any {
	t.Helper()
	var last map[string]any
	cloudtest.Eventually(t, 10*time.Second, func() bool {
		ms := p.migrationsOf(t, token, id, "2.80")
		if len(ms) == 0 {
			return false
		}
		last = ms[len(ms)-1]
		return last["status"] == status
	}, fmt.Sprintf("migration of %s %s (last %v)", id, status, last))
	return last
}

// TestMigrationRecords takes a server through a resize, a cold migration,
// a live migration and an evacuation and reads the records each leaves in
// os-migrations, at the microversions that change their shape.
func TestMigrationRecords(t *testing.T) {
	t.Parallel()
	p := startPlane(t, cloudtest.WithOption("compute.fake_host_count", "3"),
		cloudtest.WithOption("compute.service_down_time", "1"))
	ctx := context.Background()
	token := p.Token(t, cloudtest.Admin)
	small, medium := p.flavor(t, "m1.small", 1, 512, 1), p.flavor(t, "m1.medium", 2, 1024, 2)
	id := p.boot(t, "mover", small)
	first := p.waitStatus(t, id, "ACTIVE").Host

	if err := servers.Resize(ctx, p.compute, id, servers.ResizeOpts{FlavorRef: medium}).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	second := p.waitStatus(t, id, "VERIFY_RESIZE").Host
	m := p.waitMigration(t, token, id, "finished")
	if m["migration_type"] != "resize" || m["source_compute"] != first || m["dest_compute"] != second ||
		m["dest_node"] == nil || m["source_node"] == nil || m["old_instance_type_id"] == m["new_instance_type_id"] ||
		m["uuid"] == nil || m["project_id"] == nil || m["user_id"] == nil || m["updated_at"] == nil {
		t.Errorf("resize record %v", m)
	}
	if _, ok := m["links"]; ok {
		t.Errorf("a resize record has links: %v", m)
	}
	if err := servers.ConfirmResize(ctx, p.compute, id).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	p.waitStatus(t, id, "ACTIVE")
	p.waitMigration(t, token, id, "confirmed")

	if err := servers.Migrate(ctx, p.compute, id).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	p.waitStatus(t, id, "VERIFY_RESIZE")
	m = p.waitMigration(t, token, id, "finished")
	if m["migration_type"] != "migration" || m["old_instance_type_id"] != m["new_instance_type_id"] {
		t.Errorf("cold migration record %v", m)
	}
	if err := servers.RevertResize(ctx, p.compute, id).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	p.waitStatus(t, id, "ACTIVE")
	p.waitMigration(t, token, id, "reverted")

	no := false
	if err := servers.LiveMigrate(ctx, p.compute, id, servers.LiveMigrateOpts{BlockMigration: &no}).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	m = p.waitMigration(t, token, id, "completed")
	live := p.waitStatus(t, id, "ACTIVE").Host
	if m["migration_type"] != "live-migration" || m["source_compute"] != second || m["dest_compute"] != live {
		t.Errorf("live migration record %v (from %s to %s)", m, second, live)
	}

	// An evacuation of a server whose host died ends done.
	if err := p.StopComputeHost(ctx, live); err != nil {
		t.Fatal(err)
	}
	cloudtest.Eventually(t, 10*time.Second, func() bool {
		r := p.Do(t, "POST", p.ComputeURL+"/servers/"+id+"/action", token, map[string]any{"evacuate": map[string]any{}},
			"OpenStack-API-Version", "compute 2.47")
		return r.Status == http.StatusOK
	}, "evacuation accepted")
	m = p.waitMigration(t, token, id, "done")
	if m["migration_type"] != "evacuation" || m["source_compute"] != live || m["dest_compute"] == live {
		t.Errorf("evacuation record %v", m)
	}

	// The shape follows the microversion.
	all := p.migrationsOf(t, token, id, "2.1")
	if len(all) != 4 {
		t.Fatalf("records at 2.1: %v", all)
	}
	for _, k := range []string{"migration_type", "uuid", "links", "user_id"} {
		if _, ok := all[0][k]; ok {
			t.Errorf("2.1 record shows %s: %v", k, all[0])
		}
	}
	if all[0]["status"] != "confirmed" || all[1]["status"] != "reverted" || all[2]["status"] != "completed" {
		t.Errorf("statuses at 2.1: %v %v %v", all[0]["status"], all[1]["status"], all[2]["status"])
	}
	if v23 := p.migrationsOf(t, token, id, "2.23"); v23[0]["migration_type"] != "resize" || v23[0]["uuid"] != nil {
		t.Errorf("2.23 record %v", v23[0])
	}

	// Filters and paging (2.59): newest first, marker is a uuid.
	get := func(q, mv string) *cloudtest.Response {
		return p.Do(t, "GET", p.ComputeURL+"/os-migrations"+q, token, nil, "OpenStack-API-Version", "compute "+mv)
	}
	r := get("?migration_type=resize", "2.23")
	if ms := r.JSON(t)["migrations"].([]any); len(ms) != 1 {
		t.Errorf("resize filter: %s", r.Body)
	}
	r = get("?host="+live+"&status=done", "2.23")
	if ms := r.JSON(t)["migrations"].([]any); len(ms) != 1 {
		t.Errorf("host and status filter: %s", r.Body)
	}
	r = get("?limit=2", "2.59")
	body := r.JSON(t)
	page := body["migrations"].([]any)
	if len(page) != 2 || page[0].(map[string]any)["migration_type"] != "evacuation" || body["migrations_links"] == nil {
		t.Fatalf("first page: %s", r.Body)
	}
	marker := page[1].(map[string]any)["uuid"].(string)
	if next := body["migrations_links"].([]any)[0].(map[string]any)["href"].(string); !strings.Contains(next, "marker="+marker) {
		t.Errorf("next link %s, want marker %s", next, marker)
	}
	r = get("?limit=5&marker="+marker, "2.59")
	if page := r.JSON(t)["migrations"].([]any); len(page) != 2 || page[1].(map[string]any)["migration_type"] != "resize" {
		t.Errorf("second page: %s", r.Body)
	}
	for _, tc := range []struct {
		q, mv string
		want  int
		msg   string
	}{
		{"?marker=nope", "2.59", 400, "Marker nope could not be found."},
		{"?user_id=x", "2.79", 400, "Additional properties are not allowed"},
		{"?changes-before=2020-01-01T00:00:00Z", "2.65", 400, "Additional properties are not allowed"},
		{"?changes-since=2030-01-01T00:00:00Z&changes-before=2020-01-01T00:00:00Z", "2.66", 400,
			"The value of changes-since must be less than or equal to changes-before."},
		{"?limit=-1", "2.59", 400, "limit"},
		{"?user_id=x", "2.80", 200, `"migrations": []`},
		{"?changes-since=2030-01-01T00:00:00Z", "2.59", 200, `"migrations": []`},
		{"?changes-since=2030-01-01T00:00:00Z", "2.58", 200, `"migration_type": "evacuation"`},
	} {
		r := get(tc.q, tc.mv)
		if r.Status != tc.want || !strings.Contains(strings.ReplaceAll(string(r.Body), `":`, `": `), tc.msg) {
			t.Errorf("GET os-migrations%s at %s = %d %s; want %d with %q", tc.q, tc.mv, r.Status, r.Body, tc.want, tc.msg)
		}
	}

	// A server's in-progress live migrations: none once it completed.
	mid := fmt.Sprint(all[2]["id"])
	do := func(method, path, mv string, body any) *cloudtest.Response {
		return p.Do(t, method, p.ComputeURL+"/servers/"+id+path, token, body, "OpenStack-API-Version", "compute "+mv)
	}
	for _, tc := range []struct {
		method, path, mv string
		body             any
		want             int
		msg              string
	}{
		{"GET", "/migrations", "2.23", nil, 200, `"migrations": []`},
		{"GET", "/migrations", "2.22", nil, 404, "could not be found"},
		{"GET", "/migrations/" + mid, "2.23", nil, 404, "Live migration " + mid + " for server " + id + " is not in progress."},
		{"GET", "/migrations/" + fmt.Sprint(all[0]["id"]), "2.23", nil, 404, "is not live-migration."},
		{"GET", "/migrations/999", "2.23", nil, 404, "In-progress live migration 999 is not found for server " + id + "."},
		{"POST", "/migrations/" + mid + "/action", "2.22", map[string]any{"force_complete": nil}, 409,
			"Cannot 'force_complete' instance " + id + " while it is in task_state None"},
		{"POST", "/migrations/" + mid + "/action", "2.22", map[string]any{"force_complete": 1}, 400, "force_complete"},
		{"POST", "/migrations/" + mid + "/action", "2.21", map[string]any{"force_complete": nil}, 404, "could not be found"},
		{"DELETE", "/migrations/" + mid, "2.24", nil, 409,
			"Cannot 'abort live migration' instance " + id + " while it is in task_state None"},
		{"DELETE", "/migrations/" + mid, "2.23", nil, 404, "could not be found"},
	} {
		r := do(tc.method, tc.path, tc.mv, tc.body)
		if r.Status != tc.want || !strings.Contains(strings.ReplaceAll(string(r.Body), `":`, `": `), tc.msg) {
			t.Errorf("%s %s at %s = %d %s; want %d with %q", tc.method, tc.path, tc.mv, r.Status, r.Body, tc.want, tc.msg)
		}
	}

	// A member may not list migrations.
	if r := p.Do(t, "GET", p.ComputeURL+"/os-migrations", p.memberToken(t), nil); r.Status != http.StatusForbidden {
		t.Errorf("member lists migrations: %d %s", r.Status, r.Body)
	}
}
