package conductor

import (
	"context"
	"strings"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/compute"
	"github.com/nimbus-cloud/nimbus/internal/rpc"
)

// moving sets up an instance on host a being resized, with its claim on a
// and hosts a and b in the service group.
func moving(e *env, task compute.TaskState) {
	inst := onHost("i1", "a", compute.VMActive, task, compute.PowerRunning)
	e.inst.add(inst)
	e.pl.allocs["i1"] = choice("a").Allocation
	for _, h := range []string{"a", "b"} {
		e.reg.Report(rpc.ServiceReport{Host: h, Binary: rpc.BinaryCompute,
			Node: &rpc.ComputeNode{Host: h, Node: h + "-node", ProviderUUID: "rp-" + h}})
	}
}

var medium = rpc.Flavor{FlavorID: "2", Name: "m1.medium", VCPUs: 2, MemoryMB: 1024, RootGB: 2}

func TestMigrateServer(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	moving(e, compute.TaskResizePrep)
	e.sched.sels = []rpc.Selection{{InstanceUUID: "i1", Host: choice("b")}}
	// The scheduler's claim of b, made while it selects.
	e.srv.sched = &claimingScheduler{fakeScheduler: e.sched, pl: e.pl}
	if err := e.srv.MigrateServer(reqCtx(), rpc.MigrateServerRequest{InstanceUUID: "i1", Flavor: medium}); err != nil {
		t.Fatal(err)
	}
	spec := e.sched.specs[0]
	if spec.Flavor.Name != "m1.medium" || len(spec.IgnoreHosts) != 1 || spec.IgnoreHosts[0] != "a" {
		t.Errorf("request spec %+v", spec)
	}
	if a, _ := e.pl.holds(migrationUUID("i1")); a["rp-a"] == nil {
		t.Errorf("migration holds %v, want the source's allocation", a)
	}
	if a, _ := e.pl.holds("i1"); a["rp-b"] == nil {
		t.Errorf("instance holds %v, want the destination's claim", a)
	}
	inst := e.inst.get("i1")
	if inst.NewFlavor == nil || inst.NewFlavor.Name != "m1.medium" || inst.OldFlavor == nil || inst.OldFlavor.Name != "m1.tiny" ||
		inst.Flavor.Name != "m1.tiny" || inst.Host != "a" {
		t.Errorf("instance %+v", inst)
	}
	if len(e.comp.resizes) != 1 || e.comp.hosts[0] != "a" || e.comp.resizes[0].Dest.Host != "b" ||
		e.comp.resizes[0].NewFlavor.VCPUs != 2 || e.comp.resizes[0].VMState != "active" {
		t.Errorf("resize cast %+v to %v", e.comp.resizes, e.comp.hosts)
	}
	if migrationUUID("i1") == migrationUUID("i2") || migrationUUID("i1") != migrationUUID("i1") {
		t.Error("migration consumers are not one per instance")
	}
}

// claimingScheduler claims the destination in placement as the scheduler
// service does.
type claimingScheduler struct {
	*fakeScheduler
	pl *fakePlacement
}

func (c *claimingScheduler) SelectDestinations(ctx context.Context, spec rpc.RequestSpec) ([]rpc.Selection, error) {
	sels, err := c.fakeScheduler.SelectDestinations(ctx, spec)
	for _, s := range sels {
		if _, err := c.pl.Claim(ctx, s.InstanceUUID, spec.ProjectID, spec.UserID, s.Host.Allocation); err != nil {
			return nil, err
		}
	}
	return sels, err
}

func TestMigrateServerNoHost(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.srv.cfg.AllowResizeToSameHost = true
	moving(e, compute.TaskResizePrep)
	e.sched.err = &rpc.Error{Kind: rpc.KindNoValidHost, Message: "No valid host was found. RamFilter rejected 1 host"}
	if err := e.srv.MigrateServer(reqCtx(), rpc.MigrateServerRequest{InstanceUUID: "i1", Flavor: medium}); err != nil {
		t.Fatal(err)
	}
	if len(e.sched.specs[0].IgnoreHosts) != 0 {
		t.Errorf("a resize allowed on its host ignored %v", e.sched.specs[0].IgnoreHosts)
	}
	inst := e.inst.get("i1")
	if inst.TaskState != compute.TaskNone || inst.VMState != compute.VMActive || inst.NewFlavor != nil {
		t.Errorf("instance after a failed resize %s/%s new flavor %v", inst.VMState, inst.TaskState, inst.NewFlavor)
	}
	if a, _ := e.pl.holds("i1"); a["rp-a"] == nil {
		t.Errorf("the instance did not get its allocation back: %v", a)
	}
	if _, held := e.pl.holds(migrationUUID("i1")); held {
		t.Error("the migration still holds an allocation")
	}
	if f := e.inst.lastFault("i1"); !strings.Contains(f.Message, "RamFilter") {
		t.Errorf("fault %q", f.Message)
	}
}

func TestResizeFailed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	moving(e, compute.TaskResizeMigrating)
	e.pl.allocs[migrationUUID("i1")] = e.pl.allocs["i1"]
	e.pl.allocs["i1"] = choice("b").Allocation
	if err := e.srv.ResizeFailed(reqCtx(), rpc.ResizeFailedRequest{InstanceUUID: "i1", Host: "a", Reason: "disk too small"}); err != nil {
		t.Fatal(err)
	}
	if a, _ := e.pl.holds("i1"); a["rp-a"] == nil || a["rp-b"] != nil {
		t.Errorf("instance holds %v after a failed disk migration", a)
	}
	if inst := e.inst.get("i1"); inst.TaskState != compute.TaskNone || inst.Host != "a" {
		t.Errorf("instance %s on %s", inst.TaskState, inst.Host)
	}
	if f := e.inst.lastFault("i1"); !strings.Contains(f.Message, "disk too small") {
		t.Errorf("fault %q", f.Message)
	}
}

// resized sets up an instance resized from a to b, awaiting confirmation.
func resized(e *env, task compute.TaskState, power compute.PowerState) {
	moving(e, task)
	old, nw := e.inst.get("i1").Flavor, computeFlavor(medium)
	if _, err := e.inst.SaveInstance(reqCtx(), "i1", func(i *compute.Instance) error {
		i.Host, i.Node, i.VMState, i.PowerState = "b", "b-node", compute.VMResized, power
		i.Flavor, i.OldFlavor, i.NewFlavor = nw, &old, &nw
		return nil
	}); err != nil {
		panic(err)
	}
	e.pl.allocs[migrationUUID("i1")] = e.pl.allocs["i1"]
	e.pl.allocs["i1"] = choice("b").Allocation
}

func TestConfirmResize(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	resized(e, compute.TaskResizeConfirming, compute.PowerShutdown)
	if err := e.srv.ConfirmResize(reqCtx(), "i1"); err != nil {
		t.Fatal(err)
	}
	if len(e.comp.steps) != 1 || e.comp.steps[0] != "confirm a/i1" {
		t.Errorf("steps %v", e.comp.steps)
	}
	inst := e.inst.get("i1")
	if inst.VMState != compute.VMStopped || inst.TaskState != compute.TaskNone || inst.OldFlavor != nil ||
		inst.Flavor.Name != "m1.medium" || inst.Host != "b" {
		t.Errorf("confirmed instance %+v", inst)
	}
	if _, held := e.pl.holds(migrationUUID("i1")); held {
		t.Error("the source's allocation is still held")
	}
	// A source that is down cannot drop its copy: the confirm waits.
	e2 := newEnv(t)
	resized(e2, compute.TaskResizeConfirming, compute.PowerRunning)
	e2.comp.unreachable["a"] = true
	if err := e2.srv.ConfirmResize(reqCtx(), "i1"); err != nil {
		t.Fatal(err)
	}
	if inst := e2.inst.get("i1"); inst.VMState != compute.VMResized || inst.TaskState != compute.TaskNone {
		t.Errorf("after a failed confirm: %s/%s", inst.VMState, inst.TaskState)
	}
	if _, held := e2.pl.holds(migrationUUID("i1")); !held {
		t.Error("a failed confirm released the source's allocation")
	}
}

func TestRevertResize(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	resized(e, compute.TaskResizeReverting, compute.PowerRunning)
	if err := e.srv.RevertResize(reqCtx(), "i1"); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(e.comp.steps, ","); got != "revert b/i1,finish_revert a/i1" {
		t.Errorf("steps %s", got)
	}
	inst := e.inst.get("i1")
	if inst.Host != "a" || inst.Node != "a-node" || inst.Flavor.Name != "m1.tiny" || inst.NewFlavor != nil ||
		inst.VMState != compute.VMActive || inst.PowerState != compute.PowerRunning || inst.TaskState != compute.TaskNone {
		t.Errorf("reverted instance %+v", inst)
	}
	if a, _ := e.pl.holds("i1"); a["rp-a"] == nil || a["rp-b"] != nil {
		t.Errorf("instance holds %v after the revert", a)
	}
	// The source fails to bring its copy back: no guest is left anywhere.
	e2 := newEnv(t)
	resized(e2, compute.TaskResizeReverting, compute.PowerRunning)
	e2.srv.computes = &failingRevert{fakeComputes: e2.comp}
	if err := e2.srv.RevertResize(reqCtx(), "i1"); err != nil {
		t.Fatal(err)
	}
	if inst := e2.inst.get("i1"); inst.VMState != compute.VMError || inst.TaskState != compute.TaskNone {
		t.Errorf("after a failed revert: %s/%s", inst.VMState, inst.TaskState)
	}
}

// failingRevert fails the source's finish_revert_migration.
type failingRevert struct{ *fakeComputes }

func (f *failingRevert) FinishRevertMigration(ctx context.Context, host, uuid string, powerOn bool) (rpc.InstanceState, error) {
	return rpc.InstanceState{}, rpc.Errorf(rpc.KindInstanceNotFound, "no source copy of %s", uuid)
}

func TestDestroyedDuringResizeDropsTheSourceCopy(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	resized(e, compute.TaskDeleting, compute.PowerRunning)
	if err := e.srv.InstanceDestroyed(reqCtx(), rpc.InstanceDestroyedRequest{InstanceUUID: "i1", Host: "b"}); err != nil {
		t.Fatal(err)
	}
	if len(e.comp.steps) != 1 || e.comp.steps[0] != "confirm a/i1" {
		t.Errorf("steps %v", e.comp.steps)
	}
	for _, c := range []string{"i1", migrationUUID("i1")} {
		if _, held := e.pl.holds(c); held {
			t.Errorf("%s still holds an allocation", c)
		}
	}
}

func TestLiveMigrateInstance(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	moving(e, compute.TaskMigrating)
	e.sched.sels = []rpc.Selection{{InstanceUUID: "i1", Host: choice("b")}}
	e.srv.sched = &claimingScheduler{fakeScheduler: e.sched, pl: e.pl}
	if err := e.srv.LiveMigrateInstance(reqCtx(), rpc.LiveMigrateRequest{InstanceUUID: "i1", Host: "b", Force: true}); err != nil {
		t.Fatal(err)
	}
	if spec := e.sched.specs[0]; spec.ForcedHost != "b" || spec.IgnoreHosts[0] != "a" || spec.Flavor.Name != "m1.tiny" {
		t.Errorf("spec %+v", spec)
	}
	if len(e.comp.lives) != 1 || e.comp.hosts[0] != "a" || e.comp.lives[0].Dest.Host != "b" {
		t.Fatalf("live migrations %+v to %v", e.comp.lives, e.comp.hosts)
	}
	// Success: the instance is b's, the source's share goes.
	if err := e.srv.LiveMigrationDone(reqCtx(), rpc.LiveMigrationResult{InstanceUUID: "i1", Source: "a",
		Dest: rpc.HostNode{Host: "b", Node: "b-node"}}); err != nil {
		t.Fatal(err)
	}
	if inst := e.inst.get("i1"); inst.Host != "b" || inst.Node != "b-node" || inst.TaskState != compute.TaskNone {
		t.Errorf("instance on %s/%s in %q", inst.Host, inst.Node, inst.TaskState)
	}
	if _, held := e.pl.holds(migrationUUID("i1")); held {
		t.Error("the source's share is still held")
	}
	if a, _ := e.pl.holds("i1"); a["rp-b"] == nil {
		t.Errorf("instance holds %v", a)
	}

	// Failure: the destination's claim goes, the instance keeps its own.
	e2 := newEnv(t)
	moving(e2, compute.TaskMigrating)
	e2.pl.allocs[migrationUUID("i1")] = e2.pl.allocs["i1"]
	e2.pl.allocs["i1"] = choice("b").Allocation
	if err := e2.srv.LiveMigrationDone(reqCtx(), rpc.LiveMigrationResult{InstanceUUID: "i1", Source: "a",
		Dest: rpc.HostNode{Host: "b"}, Error: "guest refused to move"}); err != nil {
		t.Fatal(err)
	}
	if a, _ := e2.pl.holds("i1"); a["rp-a"] == nil || a["rp-b"] != nil {
		t.Errorf("instance holds %v after a failed live migration", a)
	}
	inst := e2.inst.get("i1")
	if inst.Host != "a" || inst.TaskState != compute.TaskNone || !strings.Contains(e2.inst.lastFault("i1").Message, "guest refused") {
		t.Errorf("instance on %s in %q, fault %q", inst.Host, inst.TaskState, e2.inst.lastFault("i1").Message)
	}

	// A source that is down cannot move anything.
	e3 := newEnv(t)
	e3.inst.add(onHost("i1", "gone", compute.VMActive, compute.TaskMigrating, compute.PowerRunning))
	if err := e3.srv.LiveMigrateInstance(reqCtx(), rpc.LiveMigrateRequest{InstanceUUID: "i1"}); err != nil {
		t.Fatal(err)
	}
	if len(e3.sched.specs) != 0 || e3.inst.get("i1").TaskState != compute.TaskNone {
		t.Error("a live migration from a dead host went ahead")
	}
}

func TestEvacuateInstance(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	moving(e, compute.TaskRebuilding)
	e.sched.sels = []rpc.Selection{{InstanceUUID: "i1", Host: choice("b")}}
	e.srv.sched = &claimingScheduler{fakeScheduler: e.sched, pl: e.pl}
	if err := e.srv.EvacuateInstance(reqCtx(), rpc.EvacuateRequest{InstanceUUID: "i1", TargetStopped: true, AdminPass: "pw"}); err != nil {
		t.Fatal(err)
	}
	inst := e.inst.get("i1")
	if inst.Host != "b" || inst.Node != "b-node" || inst.TaskState != compute.TaskRebuilding {
		t.Errorf("evacuated instance on %s/%s in %q", inst.Host, inst.Node, inst.TaskState)
	}
	if len(e.comp.rebuilds) != 1 || e.comp.hosts[0] != "b" || e.comp.rebuilds[0].VMState != "stopped" ||
		e.comp.rebuilds[0].AdminPass != "pw" {
		t.Errorf("rebuilds %+v on %v", e.comp.rebuilds, e.comp.hosts)
	}
	if a, _ := e.pl.holds(migrationUUID("i1")); a["rp-a"] == nil {
		t.Error("the dead host's share is not kept for its return")
	}
	// No host for it: ERROR, with the allocation back.
	e2 := newEnv(t)
	moving(e2, compute.TaskRebuilding)
	e2.sched.err = &rpc.Error{Kind: rpc.KindNoValidHost, Message: "No valid host was found. There are no compute hosts."}
	if err := e2.srv.EvacuateInstance(reqCtx(), rpc.EvacuateRequest{InstanceUUID: "i1"}); err != nil {
		t.Fatal(err)
	}
	if inst := e2.inst.get("i1"); inst.VMState != compute.VMError || inst.Host != "a" {
		t.Errorf("after a failed evacuation %s on %s", inst.VMState, inst.Host)
	}
	if a, _ := e2.pl.holds("i1"); a["rp-a"] == nil {
		t.Error("the instance did not get its allocation back")
	}
}
