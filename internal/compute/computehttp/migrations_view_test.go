package computehttp

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/api"
	"github.com/nimbus-cloud/nimbus/internal/compute"
)

func TestMigrationViewShapes(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest("GET", "http://cloud/v2.1/os-migrations", nil)
	v := func(minor int) api.Version { return api.Version{Major: 2, Minor: minor} }
	old := int64(1)
	live := compute.Migration{ID: 5, UUID: "m-uuid", InstanceUUID: "i-1", SourceCompute: "c1", SourceNode: "c1",
		DestCompute: "c2", Status: compute.MigrationRunning, MigrationType: compute.MigrationTypeLive,
		OldInstanceTypeID: &old, NewInstanceTypeID: &old, ProjectID: "p1", UserID: "u1",
		CreatedAt: time.Date(2026, 5, 1, 1, 2, 3, 4000, time.UTC)}
	for _, tc := range []struct {
		name   string
		minor  int
		m      compute.Migration
		hosts  bool
		has    []string
		hasNot []string
	}{
		{"2.1", 1, live, true, []string{"id", "dest_host", "old_instance_type_id", "updated_at"},
			[]string{"migration_type", "links", "uuid", "user_id"}},
		{"2.23 live under way", 23, live, true, []string{"migration_type", "links"}, []string{"uuid"}},
		{"2.59", 59, live, true, []string{"uuid"}, []string{"project_id"}},
		{"2.80", 80, live, true, []string{"user_id", "project_id"}, nil},
	} {
		out := migrationView(r, v(tc.minor), tc.m, tc.hosts)
		for _, k := range tc.has {
			if _, ok := out[k]; !ok {
				t.Errorf("%s: %s missing from %v", tc.name, k, out)
			}
		}
		for _, k := range tc.hasNot {
			if _, ok := out[k]; ok {
				t.Errorf("%s: %s shown in %v", tc.name, k, out)
			}
		}
	}
	out := migrationView(r, v(23), live, true)
	if l := out["links"].([]linkView); l[0].Href != "http://cloud/v2.1/servers/i-1/migrations/5" ||
		l[1].Href != "http://cloud/servers/i-1/migrations/5" {
		t.Errorf("links %v", l)
	}
	if out["created_at"] != "2026-05-01T01:02:03.000004" || out["updated_at"] != nil || out["dest_node"] != nil ||
		out["dest_compute"] != "c2" {
		t.Errorf("record %v", out)
	}
	done := live
	done.Status = compute.MigrationCompleted
	if _, ok := migrationView(r, v(23), done, true)["links"]; ok {
		t.Error("a completed live migration has links")
	}
	hidden := migrationView(r, v(23), live, false)
	for _, k := range []string{"source_compute", "source_node", "dest_compute", "dest_node", "dest_host"} {
		if v, ok := hidden[k]; !ok || v != nil {
			t.Errorf("%s = %v without the host policy; want null", k, v)
		}
	}
	sm := serverMigrationView(v(80), live, true)
	if sm["server_uuid"] != "i-1" || sm["memory_total_bytes"] != nil || sm["user_id"] != "u1" || sm["uuid"] != "m-uuid" {
		t.Errorf("server migration %v", sm)
	}
}

func TestImageViewStatuses(t *testing.T) {
	t.Parallel()
	h := &Handler{imageURL: "http://glance"}
	r := httptest.NewRequest("GET", "http://cloud/v2.1/images/detail", nil)
	for status, want := range map[string][2]any{"active": {"ACTIVE", 100}, "queued": {"SAVING", 25},
		"saving": {"SAVING", 50}, "killed": {"ERROR", 0}, "pending_delete": {"DELETED", 0}, "importing": {"UNKNOWN", 0}} {
		out := h.imageView(r, compute.ImageRecord{ID: "img", Status: status, Properties: map[string]string{}})
		if out["status"] != want[0] || out["progress"] != want[1] {
			t.Errorf("%s: status %v progress %v; want %v", status, out["status"], out["progress"], want)
		}
	}
	out := h.imageView(r, compute.ImageRecord{ID: "img", Status: "active",
		Properties: map[string]string{"auto_disk_config": "False", "instance_uuid": "i-1"}})
	if out["OS-DCF:diskConfig"] != "MANUAL" || out["server"].(map[string]any)["id"] != "i-1" || out["created"] != nil {
		t.Errorf("snapshot view %v", out)
	}
	if l := out["links"].([]linkView); len(l) != 3 || l[2].Href != "http://glance/images/img" {
		t.Errorf("links %v", l)
	}
}
