package conductor

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/compute"
	"github.com/nimbus-cloud/nimbus/internal/rpc"
)

// fakeMigrations keeps migration records in memory.
type fakeMigrations struct {
	mu   sync.Mutex
	recs []compute.Migration
}

func (f *fakeMigrations) RecordMigration(_ context.Context, m compute.Migration) (compute.Migration, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m.ID = int64(len(f.recs) + 1)
	f.recs = append(f.recs, m)
	return m, nil
}

func (f *fakeMigrations) UpdateMigration(_ context.Context, id string, mutate func(*compute.Migration) error) (compute.Migration, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := len(f.recs) - 1; i >= 0; i-- {
		if f.recs[i].InstanceUUID == id {
			m := f.recs[i]
			if err := mutate(&m); err != nil {
				return compute.Migration{}, err
			}
			f.recs[i] = m
			return m, nil
		}
	}
	return compute.Migration{}, fmt.Errorf("migration of %s: %w", id, compute.ErrNotFound)
}

// statuses lists the records' types and statuses, oldest first.
func (f *fakeMigrations) statuses() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, m := range f.recs {
		out = append(out, m.MigrationType+":"+m.Status)
	}
	return out
}

func (f *fakeMigrations) last() compute.Migration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.recs[len(f.recs)-1]
}

func withMigrations(e *env) *fakeMigrations {
	m := &fakeMigrations{}
	e.srv.mig = m
	return m
}

func ptrTo[T any](v T) *T { return &v }

// TestResizeRecord follows a resize's record from the conductor's start
// through the hosts' reports to its confirmation.
func TestResizeRecord(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	recs := withMigrations(e)
	moving(e, compute.TaskResizePrep)
	e.sched.sels = []rpc.Selection{{InstanceUUID: "i1", Host: choice("b")}}
	e.srv.sched = &claimingScheduler{fakeScheduler: e.sched, pl: e.pl}
	medium := medium
	medium.ID = 42
	if err := e.srv.MigrateServer(reqCtx(), rpc.MigrateServerRequest{InstanceUUID: "i1", Flavor: medium}); err != nil {
		t.Fatal(err)
	}
	m := recs.last()
	if m.MigrationType != compute.MigrationTypeResize || m.Status != compute.MigrationPreMigrating ||
		m.SourceCompute != "a" || m.DestCompute != "b" || m.DestNode != "b-node" || *m.NewInstanceTypeID != 42 ||
		m.ProjectID != "p1" || m.UserID != "u1" {
		t.Fatalf("record after scheduling %+v", m)
	}
	report := func(host string, expect []string, u rpc.InstanceUpdateRequest) {
		t.Helper()
		u.InstanceUUID, u.Host, u.ExpectedTaskStates = "i1", host, expect
		if _, err := e.srv.InstanceUpdate(reqCtx(), u); err != nil {
			t.Fatal(err)
		}
	}
	report("a", []string{"resize_prep"}, rpc.InstanceUpdateRequest{TaskState: ptrTo("resize_migrating")})
	if s := recs.last().Status; s != compute.MigrationMigrating {
		t.Errorf("status once the source starts %q", s)
	}
	report("a", []string{"resize_migrating"}, rpc.InstanceUpdateRequest{TaskState: ptrTo("resize_migrated"),
		MoveTo: &rpc.HostNode{Host: "b", Node: "b-node"}})
	report("b", []string{"resize_migrated"}, rpc.InstanceUpdateRequest{TaskState: ptrTo("resize_finish")})
	if s := recs.last().Status; s != compute.MigrationPostMigrating {
		t.Errorf("status once the disk moved %q", s)
	}
	report("b", []string{"resize_finish"}, rpc.InstanceUpdateRequest{VMState: ptrTo("resized"), TaskState: ptrTo(""),
		FlavorNew: true})
	if s := recs.last().Status; s != compute.MigrationFinished {
		t.Errorf("status once resized %q", s)
	}
	// A report delivered again changes nothing.
	report("b", nil, rpc.InstanceUpdateRequest{VMState: ptrTo("resized")})
	if _, err := e.srv.InstanceUpdate(reqCtx(), rpc.InstanceUpdateRequest{InstanceUUID: "i1", Host: "a",
		ExpectedTaskStates: []string{"resize_prep"}, TaskState: ptrTo("resize_migrating")}); err == nil {
		t.Error("a late report from the source was applied")
	}
	if s := recs.last().Status; s != compute.MigrationFinished {
		t.Errorf("status after repeated reports %q", s)
	}

	if _, err := e.inst.SaveInstance(context.Background(), "i1", func(i *compute.Instance) error {
		i.TaskState = compute.TaskResizeConfirming
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.ConfirmResize(reqCtx(), "i1"); err != nil {
		t.Fatal(err)
	}
	if got := recs.statuses(); !slices.Equal(got, []string{"resize:confirmed"}) {
		t.Errorf("records %v", got)
	}
}

// TestMoveRecordsThatFail ends records of moves that could not start or
// failed on the way: error for a resize, failed for a live migration and
// an evacuation.
func TestMoveRecordsThatFail(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	recs := withMigrations(e)
	moving(e, compute.TaskResizePrep)
	e.sched.err = &rpc.Error{Kind: rpc.KindNoValidHost, Message: "No valid host was found."}
	if err := e.srv.MigrateServer(reqCtx(), rpc.MigrateServerRequest{InstanceUUID: "i1", Flavor: medium, Migrate: true}); err != nil {
		t.Fatal(err)
	}
	if got := recs.statuses(); !slices.Equal(got, []string{"migration:error"}) {
		t.Errorf("records of a cold migration no host takes: %v", got)
	}

	e2 := newEnv(t)
	recs2 := withMigrations(e2)
	moving(e2, compute.TaskMigrating)
	e2.sched.sels = []rpc.Selection{{InstanceUUID: "i1", Host: choice("b")}}
	if err := e2.srv.LiveMigrateInstance(reqCtx(), rpc.LiveMigrateRequest{InstanceUUID: "i1"}); err != nil {
		t.Fatal(err)
	}
	if m := recs2.last(); m.Status != compute.MigrationRunning || m.DestCompute != "b" || m.SourceCompute != "a" {
		t.Errorf("live migration record under way %+v", m)
	}
	if err := e2.srv.LiveMigrationDone(reqCtx(), rpc.LiveMigrationResult{InstanceUUID: "i1", Source: "a",
		Dest: rpc.HostNode{Host: "b"}, Error: "guest refused to move"}); err != nil {
		t.Fatal(err)
	}
	if got := recs2.statuses(); !slices.Equal(got, []string{"live-migration:failed"}) {
		t.Errorf("records of a failed live migration: %v", got)
	}

	// Cancelled by live_migration_abort: the record ends cancelled, the
	// instance stays on its source without a fault, holding its own
	// allocation again.
	ec := newEnv(t)
	recsc := withMigrations(ec)
	moving(ec, compute.TaskMigrating)
	ec.sched.sels = []rpc.Selection{{InstanceUUID: "i1", Host: choice("b")}}
	ec.srv.sched = &claimingScheduler{fakeScheduler: ec.sched, pl: ec.pl}
	if err := ec.srv.LiveMigrateInstance(reqCtx(), rpc.LiveMigrateRequest{InstanceUUID: "i1"}); err != nil {
		t.Fatal(err)
	}
	if err := ec.srv.LiveMigrationDone(reqCtx(), rpc.LiveMigrationResult{InstanceUUID: "i1", Source: "a",
		Dest: rpc.HostNode{Host: "b"}, Error: "live migration cancelled", Cancelled: true}); err != nil {
		t.Fatal(err)
	}
	if got := recsc.statuses(); !slices.Equal(got, []string{"live-migration:cancelled"}) {
		t.Errorf("records of a cancelled live migration: %v", got)
	}
	if inst := ec.inst.get("i1"); inst.Host != "a" || inst.TaskState != compute.TaskNone || ec.inst.lastFault("i1").Message != "" {
		t.Errorf("instance on %s in %q with fault %q after a cancelled live migration", inst.Host, inst.TaskState,
			ec.inst.lastFault("i1").Message)
	}
	if a, _ := ec.pl.holds("i1"); a["rp-a"] == nil || a["rp-b"] != nil {
		t.Errorf("instance holds %v after a cancelled live migration", a)
	}
	if _, held := ec.pl.holds(migrationUUID("i1")); held {
		t.Error("the migration still holds the source's allocation")
	}

	e3 := newEnv(t)
	recs3 := withMigrations(e3)
	moving(e3, compute.TaskRebuilding)
	e3.sched.sels = []rpc.Selection{{InstanceUUID: "i1", Host: choice("b")}}
	if err := e3.srv.EvacuateInstance(reqCtx(), rpc.EvacuateRequest{InstanceUUID: "i1"}); err != nil {
		t.Fatal(err)
	}
	if m := recs3.last(); m.Status != compute.MigrationPreMigrating || m.DestCompute != "b" {
		t.Errorf("evacuation record under way %+v", m)
	}
	if _, err := e3.srv.InstanceUpdate(reqCtx(), rpc.InstanceUpdateRequest{InstanceUUID: "i1", Host: "b",
		ExpectedTaskStates: []string{"rebuilding"}, TaskState: ptrTo(""), VMState: ptrTo("error")}); err != nil {
		t.Fatal(err)
	}
	if got := recs3.statuses(); !slices.Equal(got, []string{"evacuation:failed"}) {
		t.Errorf("records of an evacuation that failed on its destination: %v", got)
	}
}
