package compute_test

import (
	"strconv"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/compute"
)

// TestSteerLiveMigration lists, shows, forces and aborts a live migration
// under way, and refuses what nova refuses: a migration of the wrong
// status, of another server, of a locked server.
func TestSteerLiveMigration(t *testing.T) {
	t.Parallel()
	c := newCloud(t, nil)
	id := c.boot(t, alice, "mover").UUID
	c.cond.Hold("LiveMigrateInstance", true)
	if err := c.svc.LiveMigrateServer(admin, id, "", nil, false); err != nil {
		t.Fatal(err)
	}
	m := must(c.svc.RecordMigration(admin, compute.Migration{InstanceUUID: id, SourceCompute: "compute1",
		DestCompute: "compute2", MigrationType: compute.MigrationTypeLive, Status: compute.MigrationRunning,
		ProjectID: "p1", UserID: "alice"}))(t)
	mid := strconv.FormatInt(m.ID, 10)
	setStatus := func(status string) {
		t.Helper()
		must(c.svc.UpdateMigration(admin, id, func(m *compute.Migration) error { m.Status = status; return nil }))(t)
	}

	list := must(c.svc.ServerMigrations(admin, id))(t)
	if len(list.Migrations) != 1 || !list.Hosts || list.Migrations[0].UUID == "" {
		t.Fatalf("server migrations %+v", list)
	}
	if got := must(c.svc.ServerMigration(admin, id, mid))(t); got.DestCompute != "compute2" {
		t.Errorf("migration %+v", got)
	}
	if err := c.svc.ForceCompleteMigration(admin, id, mid); err != nil {
		t.Errorf("force complete: %v", err)
	}
	if acts := must(c.svc.ServerActions(admin, id, compute.ActionListOptions{}))(t); acts[0].Action != "live_migration_force_complete" {
		t.Errorf("newest action %q", acts[0].Action)
	}
	wantErr(t, c.svc.ForceCompleteMigration(admin, id, "999"), compute.ErrInvalid,
		"Migration 999 not found for instance "+id)
	wantErr(t, c.svc.AbortMigration(admin, id, "999", false), compute.ErrNotFound, "Migration 999 not found for instance")
	wantErr(t, c.svc.ForceCompleteMigration(alice, id, mid), compute.ErrForbidden, "force_complete")

	setStatus(compute.MigrationQueued)
	wantErr(t, c.svc.ForceCompleteMigration(admin, id, mid), compute.ErrInvalid,
		"Migration "+mid+" state of instance "+id+" is queued. Cannot force complete while the migration is in this state.")
	wantErr(t, c.svc.AbortMigration(admin, id, mid, false), compute.ErrInvalid, "Cannot abort live migration")
	if err := c.svc.AbortMigration(admin, id, mid, true); err != nil {
		t.Errorf("abort of a queued migration from 2.65: %v", err)
	}

	// Another project's manager sees the record without its hosts.
	manager := as("mona", "p1", "manager", "member", "reader")
	own := must(c.svc.Migrations(manager, compute.MigrationListOptions{ProjectID: "p1"}))(t)
	if len(own.Migrations) != 1 || own.Hosts {
		t.Errorf("a manager's list %+v", own)
	}
	if _, err := c.svc.Migrations(manager, compute.MigrationListOptions{}); err == nil {
		t.Error("a manager listed every project's migrations")
	}

	if err := c.svc.LockServer(admin, id, nil); err != nil {
		t.Fatal(err)
	}
	wantErr(t, c.svc.AbortMigration(admin, id, mid, true), compute.ErrConflict, "is locked")

	setStatus(compute.MigrationCompleted)
	_, err := c.svc.ServerMigration(admin, id, mid)
	wantErr(t, err, compute.ErrNotFound, "Live migration "+mid+" for server "+id+" is not in progress.")
	if list := must(c.svc.ServerMigrations(admin, id))(t); len(list.Migrations) != 0 {
		t.Errorf("a completed migration is listed as under way: %+v", list)
	}
}
