package conductor

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/compute"
	"github.com/nimbus-cloud/nimbus/internal/rpc"
)

func onHost(uuid, host string, vm compute.VMState, task compute.TaskState, power compute.PowerState) compute.Instance {
	i := building(uuid)
	i.Host, i.VMState, i.TaskState, i.PowerState = host, vm, task, power
	return i
}

func TestInstanceUpdate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.inst.add(onHost("i1", "a", compute.VMBuilding, compute.TaskSpawning, compute.PowerNoState))
	gone := onHost("gone", "a", compute.VMActive, compute.TaskNone, compute.PowerRunning)
	gone.Deleted = true
	e.inst.add(gone)
	active, none, running := "active", "", 1

	for _, tc := range []struct {
		name string
		req  rpc.InstanceUpdateRequest
		kind error
	}{
		{"wrong host", rpc.InstanceUpdateRequest{InstanceUUID: "i1", Host: "b", VMState: &active}, rpc.ErrWrongHost},
		{"unexpected task", rpc.InstanceUpdateRequest{InstanceUUID: "i1", Host: "a", ExpectedTaskStates: []string{"scheduling"},
			VMState: &active}, rpc.ErrUnexpectedTaskState},
		{"deleted", rpc.InstanceUpdateRequest{InstanceUUID: "gone", Host: "a", VMState: &active}, rpc.ErrInstanceNotFound},
		{"unknown", rpc.InstanceUpdateRequest{InstanceUUID: "nope", Host: "a", VMState: &active}, rpc.ErrInstanceNotFound},
	} {
		_, err := e.srv.InstanceUpdate(reqCtx(), tc.req)
		// The reply travels as an rpc.Error; its kind must survive.
		if got := rpc.AsError(err); !errors.Is(got, tc.kind) {
			t.Errorf("%s: %v (kind %s), want %v", tc.name, err, got.Kind, tc.kind)
		}
	}
	if inst := e.inst.get("i1"); inst.VMState != compute.VMBuilding {
		t.Errorf("a refused update changed the instance: %s", inst.VMState)
	}

	st, err := e.srv.InstanceUpdate(reqCtx(), rpc.InstanceUpdateRequest{InstanceUUID: "i1", Host: "a",
		ExpectedTaskStates: []string{"spawning"}, VMState: &active, TaskState: &none, PowerState: &running,
		Launched: true, Fault: &rpc.Fault{Code: 500, Message: "warning"}})
	if err != nil {
		t.Fatal(err)
	}
	if st != (rpc.InstanceState{VMState: "active", TaskState: "", PowerState: 1}) {
		t.Errorf("state %+v", st)
	}
	inst := e.inst.get("i1")
	if inst.VMState != compute.VMActive || inst.TaskState != compute.TaskNone || inst.PowerState != compute.PowerRunning ||
		!inst.LaunchedAt.Equal(e.inst.now) {
		t.Errorf("instance %+v", inst)
	}
	if f := e.inst.lastFault("i1"); f.Message != "warning" || f.Host != "a" {
		t.Errorf("fault %+v", f)
	}
}

func TestInstanceEvent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, r := range []rpc.InstanceEventRequest{
		{InstanceUUID: "i1", RequestID: "req-9", Event: "compute_stop_instance", Host: "a"},
		{InstanceUUID: "i1", RequestID: "req-9", Event: "compute_stop_instance", Finish: true, Error: "power off failed"},
		{InstanceUUID: "i1", Event: "periodic"},
	} {
		if err := e.srv.InstanceEvent(reqCtx(), r); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"start i1 compute_stop_instance req-9", "finish i1 compute_stop_instance Error: power off failed"}
	if got := e.inst.eventLog(); !slices.Equal(got, want) {
		t.Errorf("events %q, want %q", got, want)
	}
}

func TestInstanceDestroyed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.inst.add(onHost("i1", "a", compute.VMActive, compute.TaskDeleting, compute.PowerRunning))
	e.pl.allocs["i1"] = choice("a").Allocation
	if err := e.srv.InstanceDestroyed(reqCtx(), rpc.InstanceDestroyedRequest{InstanceUUID: "i1", Host: "b"}); !errors.Is(rpc.AsError(err), rpc.ErrWrongHost) {
		t.Errorf("another host's report: %v", err)
	}
	if err := e.srv.InstanceDestroyed(reqCtx(), rpc.InstanceDestroyedRequest{InstanceUUID: "i1", Host: "a"}); err != nil {
		t.Fatal(err)
	}
	if inst := e.inst.get("i1"); !inst.Deleted {
		t.Error("instance not deleted")
	}
	if _, held := e.pl.holds("i1"); held {
		t.Error("allocations of a destroyed instance held")
	}
	// A second report (a redelivery) only makes sure allocations are gone.
	e.pl.allocs["i1"] = choice("a").Allocation
	if err := e.srv.InstanceDestroyed(reqCtx(), rpc.InstanceDestroyedRequest{InstanceUUID: "i1", Host: "a"}); err != nil {
		t.Fatal(err)
	}
	if _, held := e.pl.holds("i1"); held {
		t.Error("allocations left by a redelivered report")
	}
	e.pl.fail = errors.New("placement down")
	e.inst.add(onHost("i2", "a", compute.VMActive, compute.TaskDeleting, compute.PowerRunning))
	if err := e.srv.InstanceDestroyed(reqCtx(), rpc.InstanceDestroyedRequest{InstanceUUID: "i2", Host: "a"}); err == nil {
		t.Error("a failed release was not reported")
	}
	if inst := e.inst.get("i2"); inst.Deleted {
		t.Error("an instance whose allocations could not be released was deleted")
	}
}

func TestPowerSync(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		vm     compute.VMState
		hv     compute.PowerState
		want   syncVerdict
		reason string
	}{
		{compute.VMActive, compute.PowerRunning, syncVerdict{compute.VMActive, compute.PowerRunning, ""}, "in line"},
		{compute.VMActive, compute.PowerShutdown, syncVerdict{compute.VMStopped, compute.PowerShutdown, ""}, "shut down by itself"},
		{compute.VMActive, compute.PowerCrashed, syncVerdict{compute.VMStopped, compute.PowerCrashed, ""}, "crashed"},
		{compute.VMActive, compute.PowerSuspended, syncVerdict{compute.VMStopped, compute.PowerShutdown, rpc.SyncPowerOff}, "suspended under an active instance"},
		{compute.VMActive, compute.PowerPaused, syncVerdict{compute.VMActive, compute.PowerPaused, ""}, "paused unexpectedly: ignored"},
		{compute.VMActive, compute.PowerNoState, syncVerdict{compute.VMActive, compute.PowerNoState, ""}, "missing: ignored"},
		{compute.VMStopped, compute.PowerRunning, syncVerdict{compute.VMStopped, compute.PowerShutdown, rpc.SyncPowerOff}, "running while stopped"},
		{compute.VMStopped, compute.PowerCrashed, syncVerdict{compute.VMStopped, compute.PowerCrashed, ""}, "stopped and crashed"},
		{compute.VMPaused, compute.PowerShutdown, syncVerdict{compute.VMStopped, compute.PowerShutdown, ""}, "paused then shut down"},
		{compute.VMSuspended, compute.PowerRunning, syncVerdict{compute.VMSuspended, compute.PowerRunning, ""}, "suspended: power only"},
		{compute.VMError, compute.PowerShutdown, syncVerdict{compute.VMError, compute.PowerShutdown, ""}, "error: power only"},
	} {
		if got := powerSync(tc.vm, tc.hv); got != tc.want {
			t.Errorf("%s (%s, %d): %+v, want %+v", tc.reason, tc.vm, tc.hv, got, tc.want)
		}
	}
}

func TestSyncPowerStates(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.inst.add(onHost("crashed", "a", compute.VMActive, compute.TaskNone, compute.PowerRunning))
	e.inst.add(onHost("stopped", "a", compute.VMStopped, compute.TaskNone, compute.PowerShutdown))
	e.inst.add(onHost("busy", "a", compute.VMActive, compute.TaskPoweringOff, compute.PowerRunning))
	e.inst.add(onHost("moved", "b", compute.VMActive, compute.TaskNone, compute.PowerRunning))
	e.inst.add(onHost("resized", "b", compute.VMResized, compute.TaskNone, compute.PowerRunning))
	e.inst.add(onHost("migrating", "b", compute.VMActive, compute.TaskMigrating, compute.PowerRunning))
	deleted := onHost("deleted", "a", compute.VMActive, compute.TaskNone, compute.PowerRunning)
	deleted.Deleted = true
	e.inst.add(deleted)
	reply, err := e.srv.SyncPowerStates(reqCtx(), rpc.PowerSyncRequest{Host: "a", Instances: []rpc.InstancePower{
		{UUID: "crashed", PowerState: 6}, {UUID: "stopped", PowerState: 1}, {UUID: "busy", PowerState: 4},
		{UUID: "moved", PowerState: 4}, {UUID: "deleted", PowerState: 1}, {UUID: "unknown", PowerState: 1},
		{UUID: "resized", PowerState: 4}, {UUID: "migrating", PowerState: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	// The guest of an instance evacuated to b is reaped; a resize's source
	// copy and a live migration under way are not. The power off is the
	// host's part of a stop action.
	want := []rpc.PowerSyncAction{{UUID: "stopped", Action: rpc.SyncPowerOff}, {UUID: "moved", Action: rpc.SyncDestroy},
		{UUID: "deleted", Action: rpc.SyncDestroy}, {UUID: "unknown", Action: rpc.SyncDestroy}}
	var powerOffReq string
	if len(reply.Actions) > 0 {
		powerOffReq = reply.Actions[0].RequestID
		reply.Actions[0].RequestID = ""
	}
	if !slices.Equal(reply.Actions, want) || !strings.HasPrefix(powerOffReq, "req-") {
		t.Errorf("actions %v (power off of request %q), want %v", reply.Actions, powerOffReq, want)
	}
	if i := e.inst.get("crashed"); i.VMState != compute.VMStopped || i.PowerState != compute.PowerCrashed {
		t.Errorf("crashed instance %s/%d", i.VMState, i.PowerState)
	}
	// The crash stopped the instance as nova's stop API does: a stop
	// action of the sync's own request, with the host's stop event (the
	// guest is down: nothing left for the host to do); the running guest
	// of the stopped instance gets a stop action whose event the host
	// records as it powers the guest off.
	log := e.inst.eventLog()
	if len(log) != 4 {
		t.Fatalf("records %q", log)
	}
	crashReq := strings.TrimPrefix(log[0], "action crashed stop ")
	if want := []string{"action crashed stop " + crashReq, "start crashed compute_stop_instance " + crashReq,
		"finish crashed compute_stop_instance Success", "action stopped stop " + powerOffReq}; !slices.Equal(log, want) ||
		!strings.HasPrefix(crashReq, "req-") || crashReq == powerOffReq {
		t.Errorf("records %q, want %q", log, want)
	}
	if i := e.inst.get("busy"); i.PowerState != compute.PowerRunning || i.TaskState != compute.TaskPoweringOff {
		t.Error("an instance with a task was synced")
	}
	if i := e.inst.get("moved"); i.VMState != compute.VMActive || i.PowerState != compute.PowerRunning {
		t.Error("another host's instance was synced")
	}
	// The reaped guest's report drops the migration's share of the dead
	// host, and leaves the instance alone.
	e.reg.Report(rpc.ServiceReport{Host: "a", Binary: rpc.BinaryCompute, Node: &rpc.ComputeNode{ProviderUUID: "rp-a"}})
	e.pl.allocs[migrationUUID("moved")] = choice("a").Allocation
	if err := e.srv.InstanceDestroyed(reqCtx(), rpc.InstanceDestroyedRequest{InstanceUUID: "moved", Host: "a"}); err != nil {
		t.Fatal(err)
	}
	if _, held := e.pl.holds(migrationUUID("moved")); held || e.inst.get("moved").Deleted {
		t.Error("reaping an evacuated guest")
	}
}

func TestRegistry(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r := NewRegistry(RegistryOptions{ServiceDownTime: 60 * time.Second, ComputeZone: "nova", InternalZone: "internal",
		Now: func() time.Time { return now }})
	r.Report(rpc.ServiceReport{Host: "c2", Binary: rpc.BinaryCompute, ReportCount: 1,
		Node: &rpc.ComputeNode{ProviderUUID: "rp2"}, Instances: []string{"i1"}})
	r.Report(rpc.ServiceReport{Host: "c1", Binary: rpc.BinaryCompute, ReportCount: 1})
	r.Report(rpc.ServiceReport{Host: "ctl", Binary: rpc.BinaryConductor})
	svcs := r.Services()
	if len(svcs) != 3 || svcs[0].Host != "c1" || svcs[2].Binary != rpc.BinaryConductor || svcs[2].Zone != "internal" ||
		svcs[1].Zone != "nova" || !svcs[1].Up || svcs[1].Node.ProviderUUID != "rp2" || svcs[1].Instances[0] != "i1" {
		t.Fatalf("services %+v", svcs)
	}
	if svcs[0].ID == svcs[1].ID {
		t.Error("services share an id")
	}
	now = now.Add(61 * time.Second)
	r.Report(rpc.ServiceReport{Host: "c1", Binary: rpc.BinaryCompute, ReportCount: 2})
	if r.HostUp("c2") || !r.HostUp("c1") || r.HostUp("nowhere") {
		t.Errorf("liveness: c2 %v c1 %v", r.HostUp("c2"), r.HostUp("c1"))
	}
	if s, _ := r.Compute("c2"); s.Node == nil || s.Node.ProviderUUID != "rp2" {
		t.Error("a silent host lost its node")
	}
	ctx := context.Background()
	if r.SetForcedDown(ctx, "c1", rpc.BinaryCompute, true) != nil || r.HostUp("c1") {
		t.Error("forced down host is up")
	}
	if r.SetDisabled(ctx, "c1", rpc.BinaryCompute, true, "maintenance") != nil {
		t.Fatal("disable")
	}
	r.Report(rpc.ServiceReport{Host: "c1", Binary: rpc.BinaryCompute, ReportCount: 3})
	if s, _ := r.Compute("c1"); !s.Disabled || s.DisabledReason != "maintenance" || s.ReportCount != 3 {
		t.Errorf("heartbeat changed what the operator set: %+v", s)
	}
	if r.SetDisabled(ctx, "nowhere", rpc.BinaryCompute, true, "") == nil || r.Remove(ctx, "c2", rpc.BinaryCompute) != nil ||
		len(r.Computes()) != 1 {
		t.Error("unknown services or removal")
	}
	if got := r.ComputeZone("c1"); got != "nova" {
		t.Errorf("zone %q", got)
	}
	if !strings.Contains(wrongHost("i", "a", "b").Error(), `on host "b", not on "a"`) {
		t.Error("wrong host message")
	}
}
