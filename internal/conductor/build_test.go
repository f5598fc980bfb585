package conductor

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/compute"
	"github.com/nimbus-cloud/nimbus/internal/rpc"
)

func TestBuildInstancesDispatches(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.reg.Report(rpc.ServiceReport{Host: "a", Binary: rpc.BinaryCompute})
	e.inst.add(building("i1"))
	other := building("other")
	other.Host = "c"
	other.VMState, other.TaskState = compute.VMActive, compute.TaskNone
	e.inst.add(other)
	e.sched.sels = []rpc.Selection{{InstanceUUID: "i1", Host: choice("a"), Alternates: []rpc.HostChoice{choice("b")}}}
	req := rpc.BuildInstancesRequest{InstanceUUIDs: []string{"i1"}, AdminPass: "secret",
		Image:          rpc.ImageMeta{ID: "img", DiskFormat: "qcow2", Properties: map[string]string{"hw_architecture": "x86_64"}},
		SchedulerHints: map[string][]string{"different_host": {"other"}}, AvailabilityZone: "az1"}
	if err := e.srv.BuildInstances(reqCtx(), req); err != nil {
		t.Fatal(err)
	}
	inst := e.inst.get("i1")
	if inst.Host != "a" || inst.Node != "a-node" || inst.AvailabilityZone != "az1" || inst.TaskState != compute.TaskScheduling {
		t.Errorf("instance after dispatch: host %q node %q zone %q task %q", inst.Host, inst.Node,
			inst.AvailabilityZone, inst.TaskState)
	}
	if len(e.comp.builds) != 1 || e.comp.hosts[0] != "a" {
		t.Fatalf("casts %v to %v", e.comp.builds, e.comp.hosts)
	}
	b := e.comp.builds[0]
	if b.Attempt != 1 || b.AdminPass != "secret" || len(b.Alternates) != 1 || b.Alternates[0].Host != "b" ||
		b.Instance.Name != "instance-00000007" || b.Instance.Image.DiskFormat != "qcow2" || b.Instance.Flavor.VCPUs != 1 {
		t.Errorf("build request %+v", b)
	}
	spec := e.sched.specs[0]
	if spec.ProjectID != "p1" || spec.Flavor.MemoryMB != 512 || spec.AvailabilityZone != "az1" ||
		len(spec.DifferentHost) != 1 || spec.DifferentHost[0] != (rpc.InstanceHost{UUID: "other", Host: "c"}) {
		t.Errorf("request spec %+v", spec)
	}
	want := []string{"start i1 conductor_schedule_and_build_instances req-1",
		"finish i1 conductor_schedule_and_build_instances Success"}
	if got := e.inst.eventLog(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("events %q", got)
	}
}

func TestBuildInstancesSchedulingFails(t *testing.T) {
	t.Parallel()
	nvh := fmt.Errorf("call scheduler.select_destinations: %w", &rpc.Error{Kind: rpc.KindNoValidHost, Remote: true,
		Message: "No valid host was found. There are not enough hosts available. RamFilter rejected 2 hosts (needs 4096 MB)."})
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"no valid host", nvh, "No valid host was found. There are not enough hosts available. RamFilter rejected 2 hosts (needs 4096 MB)."},
		{"scheduler unreachable", errors.New("call scheduler: timed out"), "Failed to schedule the instance: call scheduler: timed out"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.inst.add(building("i1"))
			e.inst.add(building("i2"))
			e.sched.err = tc.err
			if err := e.srv.BuildInstances(reqCtx(), rpc.BuildInstancesRequest{InstanceUUIDs: []string{"i1", "i2"}}); err != nil {
				t.Fatal(err)
			}
			for _, id := range []string{"i1", "i2"} {
				inst := e.inst.get(id)
				if inst.VMState != compute.VMError || inst.TaskState != compute.TaskNone || inst.Host != "" {
					t.Errorf("%s: %s/%s on %q", id, inst.VMState, inst.TaskState, inst.Host)
				}
				if f := e.inst.lastFault(id); f.Message != tc.want || f.Code != 500 {
					t.Errorf("%s fault %+v, want %q", id, f, tc.want)
				}
			}
			if ev := e.inst.eventLog(); !strings.Contains(ev[len(ev)-1], "Error: "+tc.want) {
				t.Errorf("events %q", ev)
			}
			if len(e.comp.builds) != 0 {
				t.Errorf("casts after a failed schedule: %v", e.comp.builds)
			}
		})
	}
}

func TestBuildInstancesSkipsInstancesThatMovedOn(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	taken := building("taken")
	taken.Host = "a"
	deleting := building("deleting")
	deleting.TaskState = compute.TaskDeleting
	gone := building("gone")
	gone.Deleted = true
	for _, i := range []compute.Instance{taken, deleting, gone} {
		e.inst.add(i)
	}
	err := e.srv.BuildInstances(reqCtx(), rpc.BuildInstancesRequest{InstanceUUIDs: []string{"taken", "deleting", "gone", "purged"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(e.sched.specs) != 0 || len(e.comp.builds) != 0 {
		t.Errorf("scheduled %v, cast %v", e.sched.specs, e.comp.builds)
	}
}

// deletingScheduler deletes the instance while it is scheduled, as a
// user's local delete does.
type deletingScheduler struct {
	fakeScheduler
	inst *fakeInstances
}

func (d *deletingScheduler) SelectDestinations(ctx context.Context, spec rpc.RequestSpec) ([]rpc.Selection, error) {
	for _, u := range spec.InstanceUUIDs {
		_ = d.inst.DestroyInstance(ctx, u)
	}
	return d.fakeScheduler.SelectDestinations(ctx, spec)
}

func TestBuildOfInstanceDeletedWhileScheduledReleasesClaim(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.inst.add(building("i1"))
	ds := &deletingScheduler{inst: e.inst}
	ds.sels = []rpc.Selection{{InstanceUUID: "i1", Host: choice("a")}}
	e.srv.sched = ds
	e.pl.allocs["i1"] = choice("a").Allocation // the scheduler's claim
	if err := e.srv.BuildInstances(reqCtx(), rpc.BuildInstancesRequest{InstanceUUIDs: []string{"i1"}}); err != nil {
		t.Fatal(err)
	}
	if _, held := e.pl.holds("i1"); held {
		t.Error("the claim of a deleted instance is still held")
	}
	if len(e.comp.builds) != 0 {
		t.Errorf("cast the build of a deleted instance: %v", e.comp.builds)
	}
}

func TestUnreachableHostCountsAsFailedBuild(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.inst.add(building("i1"))
	e.comp.unreachable["a"] = true
	e.pl.allocs["i1"] = choice("a").Allocation
	e.sched.sels = []rpc.Selection{{InstanceUUID: "i1", Host: choice("a"), Alternates: []rpc.HostChoice{choice("b")}}}
	if err := e.srv.BuildInstances(reqCtx(), rpc.BuildInstancesRequest{InstanceUUIDs: []string{"i1"}}); err != nil {
		t.Fatal(err)
	}
	if len(e.comp.hosts) != 1 || e.comp.hosts[0] != "b" {
		t.Fatalf("builds cast to %v, want b", e.comp.hosts)
	}
	b := e.comp.builds[0]
	if b.Attempt != 2 || len(b.Failures) != 1 || b.Failures[0].Host != "a" ||
		!strings.Contains(b.Failures[0].Reason, "could not be reached") {
		t.Errorf("rescheduled request %+v", b)
	}
	if a, _ := e.pl.holds("i1"); a["rp-b"] == nil {
		t.Errorf("allocation %v, want on rp-b", a)
	}
	if inst := e.inst.get("i1"); inst.Host != "b" {
		t.Errorf("instance on %q", inst.Host)
	}
}

// failedOn is an instance whose build failed on host, as the agent hands
// it back, with its claim there still held.
func failedOn(e *env, host string, alts ...string) rpc.BuildAndRunRequest {
	inst := building("i1")
	inst.Host, inst.TaskState = host, compute.TaskSpawning
	e.inst.add(inst)
	e.pl.allocs["i1"] = choice(host).Allocation
	req := rpc.BuildAndRunRequest{Instance: instanceSpec(&inst, rpc.ImageMeta{ID: "img"}), Host: choice(host),
		Attempt: 1, Failures: []rpc.HostFailure{{Host: host, Reason: "spawn failed: boom"}}}
	for _, a := range alts {
		req.Alternates = append(req.Alternates, choice(a))
	}
	return req
}

func TestRescheduleInstance(t *testing.T) {
	t.Parallel()
	t.Run("next alternate", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		req := failedOn(e, "a", "b", "c")
		if err := e.srv.RescheduleInstance(reqCtx(), req); err != nil {
			t.Fatal(err)
		}
		if len(e.comp.builds) != 1 || e.comp.hosts[0] != "b" {
			t.Fatalf("cast to %v", e.comp.hosts)
		}
		b := e.comp.builds[0]
		if b.Attempt != 2 || len(b.Alternates) != 1 || b.Alternates[0].Host != "c" || len(b.Failures) != 1 {
			t.Errorf("next request %+v", b)
		}
		if a, _ := e.pl.holds("i1"); a["rp-b"] == nil || a["rp-a"] != nil {
			t.Errorf("allocation %v, want on rp-b only", a)
		}
		if inst := e.inst.get("i1"); inst.Host != "b" || inst.TaskState != compute.TaskScheduling {
			t.Errorf("instance on %q in %q", inst.Host, inst.TaskState)
		}
	})
	t.Run("refused claim takes the next", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		req := failedOn(e, "a", "b", "c")
		e.pl.refuse["rp-b"] = true
		if err := e.srv.RescheduleInstance(reqCtx(), req); err != nil {
			t.Fatal(err)
		}
		if len(e.comp.hosts) != 1 || e.comp.hosts[0] != "c" {
			t.Fatalf("cast to %v, want c", e.comp.hosts)
		}
		if f := e.comp.builds[0].Failures; len(f) != 2 || f[1].Host != "b" || !strings.Contains(f[1].Reason, "taken") {
			t.Errorf("failures %+v", f)
		}
	})
	t.Run("exhausted", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		req := failedOn(e, "a", "b")
		e.pl.refuse["rp-b"] = true
		if err := e.srv.RescheduleInstance(reqCtx(), req); err != nil {
			t.Fatal(err)
		}
		inst := e.inst.get("i1")
		if inst.VMState != compute.VMError || inst.TaskState != compute.TaskNone || inst.Host != "" {
			t.Errorf("instance %s/%s on %q", inst.VMState, inst.TaskState, inst.Host)
		}
		f := e.inst.lastFault("i1")
		if !strings.HasPrefix(f.Message, "Exceeded maximum number of retries. Exhausted all hosts available for "+
			"retrying build failures for instance i1. Tried a, b;") ||
			f.Details != "a: spawn failed: boom; b: its resources were taken meanwhile" {
			t.Errorf("fault %+v", f)
		}
		if _, held := e.pl.holds("i1"); held {
			t.Error("a failed build still holds its claim")
		}
	})
	t.Run("abort", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		req := failedOn(e, "a", "b")
		req.Failures[0] = rpc.HostFailure{Host: "a", Reason: "image img not found", Abort: true}
		if err := e.srv.RescheduleInstance(reqCtx(), req); err != nil {
			t.Fatal(err)
		}
		if len(e.comp.builds) != 0 {
			t.Errorf("an aborted build was retried on %v", e.comp.hosts)
		}
		if f := e.inst.lastFault("i1"); f.Message != "Build of instance i1 aborted on a: image img not found" {
			t.Errorf("fault %q", f.Message)
		}
		if _, held := e.pl.holds("i1"); held {
			t.Error("an aborted build still holds its claim")
		}
	})
	t.Run("single attempt", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		if err := e.srv.RescheduleInstance(reqCtx(), failedOn(e, "a")); err != nil {
			t.Fatal(err)
		}
		if f := e.inst.lastFault("i1"); f.Message != "Build of instance i1 failed on a: spawn failed: boom" {
			t.Errorf("fault %q", f.Message)
		}
	})
	t.Run("deleting instance", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		req := failedOn(e, "a", "b")
		if _, err := e.inst.SaveInstance(reqCtx(), "i1", func(i *compute.Instance) error {
			i.TaskState = compute.TaskDeleting
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if err := e.srv.RescheduleInstance(reqCtx(), req); err != nil {
			t.Fatal(err)
		}
		if inst := e.inst.get("i1"); inst.TaskState != compute.TaskDeleting || inst.VMState == compute.VMError {
			t.Errorf("a deleting instance became %s/%s", inst.VMState, inst.TaskState)
		}
		if len(e.comp.builds) != 0 {
			t.Errorf("a deleting instance was rebuilt on %v", e.comp.hosts)
		}
		if _, held := e.pl.holds("i1"); held {
			t.Error("the claim of the failed host is still held")
		}
	})
	t.Run("release fails", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		req := failedOn(e, "a", "b")
		e.pl.fail = errors.New("placement is down")
		if err := e.srv.RescheduleInstance(reqCtx(), req); err != nil {
			t.Fatal(err)
		}
		if inst := e.inst.get("i1"); inst.VMState != compute.VMError {
			t.Errorf("instance %s", inst.VMState)
		}
		if f := e.inst.lastFault("i1"); !strings.Contains(f.Message, "placement is down") {
			t.Errorf("fault %q", f.Message)
		}
	})
}

func TestBuildFaultTruncatesMessage(t *testing.T) {
	t.Parallel()
	req := rpc.BuildAndRunRequest{Attempt: 3}
	for _, h := range []string{"a", "b", "c"} {
		req.Failures = append(req.Failures, rpc.HostFailure{Host: h, Reason: strings.Repeat("é", 200)})
	}
	f := buildFault("i1", req, false)
	if len(f.Message) > maxFaultMessage || !strings.HasPrefix(f.Message, "Exceeded maximum number of retries") ||
		!strings.Contains(f.Details, "c: ") || strings.ContainsRune(f.Message, '\uFFFD') {
		t.Errorf("fault message %d bytes %q", len(f.Message), f.Message)
	}
}

func TestRebuildServer(t *testing.T) {
	t.Parallel()
	rebuilding := func(e *env) {
		inst := onHost("i1", "a", compute.VMActive, compute.TaskRebuilding, compute.PowerRunning)
		inst.ImageRef = "new"
		e.inst.add(inst)
	}
	req := rpc.RebuildServerRequest{InstanceUUID: "i1", OriginalImageRef: "old", AdminPass: "pw",
		Image: rpc.ImageMeta{ID: "new", DiskFormat: "qcow2", Properties: map[string]string{"hw_architecture": "aarch64"}}}
	t.Run("checked and cast", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		rebuilding(e)
		if err := e.srv.RebuildServer(reqCtx(), req); err != nil {
			t.Fatal(err)
		}
		if len(e.sched.specs) != 1 || !e.sched.specs[0].Rebuild || e.sched.specs[0].RequestedHost != "a" ||
			e.sched.specs[0].Image.Properties["hw_architecture"] != "aarch64" {
			t.Errorf("scheduler asked %+v", e.sched.specs)
		}
		if len(e.comp.rebuilds) != 1 || e.comp.hosts[0] != "a" {
			t.Fatalf("rebuilds %v on %v", e.comp.rebuilds, e.comp.hosts)
		}
		r := e.comp.rebuilds[0]
		if r.VMState != "active" || r.AdminPass != "pw" || r.Instance.Image.ID != "new" || r.Instance.Image.DiskFormat != "qcow2" {
			t.Errorf("rebuild request %+v", r)
		}
	})
	t.Run("same image skips the scheduler", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		rebuilding(e)
		same := req
		same.OriginalImageRef = "new"
		if err := e.srv.RebuildServer(reqCtx(), same); err != nil {
			t.Fatal(err)
		}
		if len(e.sched.specs) != 0 || len(e.comp.rebuilds) != 1 {
			t.Errorf("scheduler %v, rebuilds %v", e.sched.specs, e.comp.rebuilds)
		}
	})
	t.Run("image the host cannot run", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		rebuilding(e)
		e.sched.err = &rpc.Error{Kind: rpc.KindNoValidHost, Message: "No valid host was found. ImagePropertiesFilter rejected 1 host"}
		if err := e.srv.RebuildServer(reqCtx(), req); err != nil {
			t.Fatal(err)
		}
		inst := e.inst.get("i1")
		if inst.VMState != compute.VMError || inst.TaskState != compute.TaskNone || inst.ImageRef != "old" {
			t.Errorf("instance %s/%s on image %s", inst.VMState, inst.TaskState, inst.ImageRef)
		}
		if f := e.inst.lastFault("i1"); !strings.Contains(f.Message, "ImagePropertiesFilter") {
			t.Errorf("fault %q", f.Message)
		}
		if len(e.comp.rebuilds) != 0 {
			t.Error("rebuilt despite the scheduler")
		}
	})
	t.Run("host unreachable", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		rebuilding(e)
		e.comp.unreachable["a"] = true
		if err := e.srv.RebuildServer(reqCtx(), req); err != nil {
			t.Fatal(err)
		}
		if inst := e.inst.get("i1"); inst.TaskState != compute.TaskNone || inst.VMState != compute.VMActive {
			t.Errorf("instance %s/%s", inst.VMState, inst.TaskState)
		}
	})
	t.Run("moved on", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.inst.add(onHost("i1", "a", compute.VMActive, compute.TaskDeleting, compute.PowerRunning))
		if err := e.srv.RebuildServer(reqCtx(), req); err != nil || len(e.comp.rebuilds) != 0 || len(e.sched.specs) != 0 {
			t.Errorf("rebuild of a deleting instance: %v, %v", err, e.comp.rebuilds)
		}
	})
}
