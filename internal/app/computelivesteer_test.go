package app_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"

	"github.com/nimbus-cloud/nimbus/internal/cloudtest"
)

// TestLiveMigrationAbortAndForceComplete steers live migrations the fake
// driver holds under way through the API: an abort (DELETE, 2.24) leaves
// the server running on its host with the migration cancelled and no
// fault; a force complete (2.22) moves it.
func TestLiveMigrationAbortAndForceComplete(t *testing.T) {
	t.Parallel()
	p := startPlane(t, cloudtest.WithOption("compute.fake_host_count", "2"))
	ctx := context.Background()
	token := p.Token(t, cloudtest.Admin)
	id := p.boot(t, "steered", p.flavor(t, "m1.tiny", 1, 512, 1))
	first := p.waitStatus(t, id, "ACTIVE").Host
	p.FakeDriver(first).HoldLiveMigrations(true)
	do := func(method, path, mv string, body any) *cloudtest.Response {
		return p.Do(t, method, p.ComputeURL+"/servers/"+id+path, token, body, "OpenStack-API-Version", "compute "+mv)
	}
	// start live-migrates the server and waits until its host's driver
	// moves it; it returns the migration's id.
	start := func() string {
		t.Helper()
		no := false
		if err := servers.LiveMigrate(ctx, p.compute, id, servers.LiveMigrateOpts{BlockMigration: &no}).ExtractErr(); err != nil {
			t.Fatal(err)
		}
		cloudtest.Eventually(t, 10*time.Second, func() bool { return p.FakeDriver(first).LiveMigrationUnderWay(id) },
			"the live migration under way on "+first)
		m := p.waitMigration(t, token, id, "running")
		return fmt.Sprint(m["id"])
	}

	mid := start()
	if r := do("DELETE", "/migrations/"+mid, "2.24", nil); r.Status != http.StatusAccepted {
		t.Fatalf("abort: %d %s", r.Status, r.Body)
	}
	p.waitMigration(t, token, id, "cancelled")
	s := p.waitStatus(t, id, "ACTIVE")
	if s.Host != first || s.Fault.Message != "" || s.PowerState != servers.RUNNING {
		t.Errorf("after the abort the server is on %s (want %s), power %v, fault %q", s.Host, first, s.PowerState, s.Fault.Message)
	}
	if list, _ := p.FakeDriver(first).ListInstances(ctx); len(list) != 1 {
		t.Errorf("the source has %v after the abort", list)
	}
	if n := p.actionCount(t, id, "live_migration_cancel"); n != 1 {
		t.Errorf("%d live_migration_cancel actions", n)
	}
	if u := p.usages(t); u["VCPU"] != 1 {
		t.Errorf("usages after a cancelled live migration: %v", u)
	}

	mid = start()
	if r := do("POST", "/migrations/"+mid+"/action", "2.22", map[string]any{"force_complete": nil}); r.Status != http.StatusAccepted {
		t.Fatalf("force complete: %d %s", r.Status, r.Body)
	}
	p.waitMigration(t, token, id, "completed")
	cloudtest.Eventually(t, 10*time.Second, func() bool {
		s = p.server(t, id)
		return s.Status == "ACTIVE" && s.TaskState == "" && s.Host != first
	}, "the live migration forced to complete")
	if list, _ := p.FakeDriver(first).ListInstances(ctx); len(list) != 0 {
		t.Errorf("the source kept %v", list)
	}
	if n := p.actionCount(t, id, "live_migration_force_complete"); n != 1 {
		t.Errorf("%d live_migration_force_complete actions", n)
	}
	// The source host records its steering under each action.
	var ev map[string]string
	cloudtest.Eventually(t, 10*time.Second, func() bool {
		ev = p.events(t, id)
		return ev["live_migration_cancel/compute_live_migration_abort"] == "Success" &&
			ev["live_migration_force_complete/compute_live_migration_force_complete"] == "Success"
	}, "steering events recorded")
}
