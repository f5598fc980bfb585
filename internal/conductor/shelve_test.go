package conductor

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/compute"
	"github.com/nimbus-cloud/nimbus/internal/rpc"
)

// shelving is an instance on host a in a task state of a shelve.
func shelving(task compute.TaskState) compute.Instance {
	i := building("i1")
	i.Host, i.Node, i.VMState, i.TaskState = "a", "a-node", compute.VMActive, task
	return i
}

func TestInstanceShelved(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, offloaded := range []bool{false, true} {
		e := newEnv(t)
		e.inst.add(shelving(compute.TaskShelvingImageUploading))
		e.pl.allocs["i1"] = choice("a").Allocation
		r := rpc.InstanceShelvedRequest{InstanceUUID: "i1", Host: "b", ImageID: "snap", DiskFormat: "qcow2",
			PowerState: 4, Offloaded: offloaded}
		if err := e.srv.InstanceShelved(ctx, r); !errors.Is(err, rpc.ErrWrongHost) {
			t.Errorf("report from another host: %v", err)
		}
		r.Host = "a"
		if err := e.srv.InstanceShelved(ctx, r); err != nil {
			t.Fatal(err)
		}
		got := e.inst.get("i1")
		sys := got.SystemMetadata
		if sys[compute.SysShelvedImageID] != "snap" || sys[compute.SysShelvedHost] != "a" ||
			sys[compute.SysShelvedAt] != "2026-01-02T03:04:05.000000" || sys[sysShelvedFormat] != "qcow2" {
			t.Errorf("system metadata %v", sys)
		}
		_, held := e.pl.holds("i1")
		switch {
		case offloaded && (got.VMState != compute.VMShelvedOffloaded || got.Host != "" || got.Node != "" || held):
			t.Errorf("offloaded: %s on %q, allocation held %v", got.VMState, got.Host, held)
		case !offloaded && (got.VMState != compute.VMShelved || got.Host != "a" || !held || got.PowerState != 4):
			t.Errorf("shelved: %s on %q power %d, allocation held %v", got.VMState, got.Host, got.PowerState, held)
		}
		// A duplicate report finds the task moved on.
		if err := e.srv.InstanceShelved(ctx, r); err == nil {
			t.Error("a second report was accepted")
		}
	}
}

func TestUnshelveOffloaded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	e.reg.Report(rpc.ServiceReport{Host: "b", Binary: rpc.BinaryCompute})
	inst := shelving(compute.TaskUnshelving)
	inst.VMState, inst.Host, inst.Node = compute.VMShelvedOffloaded, "", ""
	zone := "az1"
	inst.PinnedAvailabilityZone = &zone
	inst.SystemMetadata = map[string]string{compute.SysShelvedImageID: "snap", sysShelvedFormat: "qcow2",
		compute.SysShelvedHost: "a", compute.SysShelvedAt: "x"}
	e.inst.add(inst)
	e.sched.sels = []rpc.Selection{{InstanceUUID: "i1", Host: choice("b")}}
	if err := e.srv.UnshelveInstance(ctx, rpc.UnshelveRequest{InstanceUUID: "i1", Host: "b"}); err != nil {
		t.Fatal(err)
	}
	spec := e.sched.specs[0]
	if spec.Image.ID != "snap" || spec.Image.DiskFormat != "qcow2" || spec.AvailabilityZone != "az1" ||
		spec.RequestedHost != "b" || spec.Flavor.VCPUs != 1 {
		t.Errorf("request spec %+v", spec)
	}
	if got := e.inst.get("i1"); got.Host != "b" || got.Node != "b-node" || got.TaskState != compute.TaskUnshelving {
		t.Errorf("after scheduling: %s on %q", got.TaskState, got.Host)
	}
	if len(e.comp.steps) != 1 || e.comp.steps[0] != "unshelve b/i1" {
		t.Errorf("casts %v", e.comp.steps)
	}
	// The host reports success: ACTIVE, the shelved keys gone.
	if err := e.srv.InstanceUnshelved(ctx, rpc.InstanceUnshelvedRequest{InstanceUUID: "i1", Host: "b", Spawned: true,
		PowerState: 1}); err != nil {
		t.Fatal(err)
	}
	got := e.inst.get("i1")
	if got.VMState != compute.VMActive || got.TaskState != compute.TaskNone || len(got.SystemMetadata) != 0 {
		t.Errorf("after unshelve: %s/%q sys %v", got.VMState, got.TaskState, got.SystemMetadata)
	}
}

func TestUnshelveFailures(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	offloaded := func(e *env) {
		inst := shelving(compute.TaskUnshelving)
		inst.VMState, inst.Host, inst.Node = compute.VMShelvedOffloaded, "", ""
		inst.SystemMetadata = map[string]string{compute.SysShelvedImageID: "snap"}
		e.inst.add(inst)
	}
	// No host: the instance stays offloaded, with the scheduler's fault.
	e := newEnv(t)
	offloaded(e)
	e.sched.err = rpc.Errorf(rpc.KindNoValidHost, "No valid host was found. RamFilter rejected 3 hosts")
	if err := e.srv.UnshelveInstance(ctx, rpc.UnshelveRequest{InstanceUUID: "i1"}); err != nil {
		t.Fatal(err)
	}
	if got := e.inst.get("i1"); got.VMState != compute.VMShelvedOffloaded || got.TaskState != compute.TaskNone ||
		!strings.Contains(e.inst.lastFault("i1").Message, "RamFilter") {
		t.Errorf("after no host: %s/%q fault %+v", got.VMState, got.TaskState, e.inst.lastFault("i1"))
	}
	// The spawn fails on the host: the claim goes, back to offloaded.
	e = newEnv(t)
	offloaded(e)
	e.sched.sels = []rpc.Selection{{InstanceUUID: "i1", Host: choice("b")}}
	e.pl.allocs["i1"] = choice("b").Allocation
	if err := e.srv.UnshelveInstance(ctx, rpc.UnshelveRequest{InstanceUUID: "i1"}); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.InstanceUnshelved(ctx, rpc.InstanceUnshelvedRequest{InstanceUUID: "i1", Host: "b", Spawned: true,
		Error: "spawn failed: disk full"}); err != nil {
		t.Fatal(err)
	}
	got := e.inst.get("i1")
	if _, held := e.pl.holds("i1"); held || got.VMState != compute.VMShelvedOffloaded || got.Host != "" ||
		got.SystemMetadata[compute.SysShelvedImageID] != "snap" ||
		!strings.Contains(e.inst.lastFault("i1").Message, "disk full") {
		t.Errorf("after a failed spawn: %s on %q, held %v, fault %+v", got.VMState, got.Host, held, e.inst.lastFault("i1"))
	}
	// A zone the request names (2.77) wins over the pinned one; null
	// unpins.
	for _, tc := range []struct {
		zone *string
		want string
	}{{ptr("az2"), "az2"}, {nil, ""}} {
		e = newEnv(t)
		offloaded(e)
		pinned := "az1"
		e.inst.insts["i1"].PinnedAvailabilityZone = &pinned
		e.sched.err = rpc.Errorf(rpc.KindNoValidHost, "No valid host was found.")
		if err := e.srv.UnshelveInstance(ctx, rpc.UnshelveRequest{InstanceUUID: "i1", ZoneSet: true,
			AvailabilityZone: tc.zone}); err != nil {
			t.Fatal(err)
		}
		if got := e.sched.specs[0].AvailabilityZone; got != tc.want {
			t.Errorf("zone asked of the scheduler %q, want %q", got, tc.want)
		}
	}
	// An offloaded instance without a shelved image cannot come back.
	e = newEnv(t)
	offloaded(e)
	e.inst.insts["i1"].SystemMetadata = nil
	if err := e.srv.UnshelveInstance(ctx, rpc.UnshelveRequest{InstanceUUID: "i1"}); err != nil {
		t.Fatal(err)
	}
	if f := e.inst.lastFault("i1"); !strings.Contains(f.Message, "image_id is not provided") {
		t.Errorf("fault %+v", f)
	}
	// A shelved instance whose host is down stays shelved.
	e = newEnv(t)
	inst := shelving(compute.TaskUnshelving)
	inst.VMState = compute.VMShelved
	e.inst.add(inst)
	if err := e.srv.UnshelveInstance(ctx, rpc.UnshelveRequest{InstanceUUID: "i1"}); err != nil {
		t.Fatal(err)
	}
	if got := e.inst.get("i1"); got.VMState != compute.VMShelved || got.TaskState != compute.TaskNone ||
		len(e.comp.steps) != 0 {
		t.Errorf("unshelve on a down host: %s/%q casts %v", got.VMState, got.TaskState, e.comp.steps)
	}
}

func ptr[T any](v T) *T { return &v }

func TestShelvedInstances(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	shelved := shelving(compute.TaskNone)
	shelved.VMState = compute.VMShelved
	shelved.SystemMetadata = map[string]string{compute.SysShelvedAt: "2026-01-01T10:00:00.000000"}
	e.inst.add(shelved)
	other := shelving(compute.TaskNone)
	other.UUID, other.VMState = "i2", compute.VMShelved
	other.Host = "b"
	e.inst.add(other)
	active := shelving(compute.TaskNone)
	active.UUID = "i3"
	e.inst.add(active)
	reply, err := e.srv.ShelvedInstances(context.Background(), rpc.ShelvedInstancesRequest{Host: "a",
		InstanceUUIDs: []string{"i1", "i2", "i3", "gone"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(reply.Instances) != 1 || reply.Instances[0].UUID != "i1" ||
		reply.Instances[0].ShelvedAt.Format(shelvedAtFormat) != "2026-01-01T10:00:00.000000" {
		t.Errorf("shelved instances %+v", reply.Instances)
	}
}
