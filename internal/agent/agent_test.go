package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/rpc"
	"github.com/nimbus-cloud/nimbus/internal/virt"
	"github.com/nimbus-cloud/nimbus/internal/virt/fake"
)

// fakeConductor keeps instances' states as the conductor would and records
// every report.
type fakeConductor struct {
	mu      sync.Mutex
	states  map[string]*rpc.InstanceState
	hosts   map[string]string
	updates []rpc.InstanceUpdateRequest
	events  []string
	// eventRequests are the events' request ids.
	eventRequests []string
	reschedules   []rpc.BuildAndRunRequest
	// resizeFailures are the moves handed back.
	resizeFailures []rpc.ResizeFailedRequest
	lives          []rpc.LiveMigrationResult
	destroyed      []string
	syncs          []rpc.PowerSyncRequest
	syncReply      rpc.PowerSyncReply
	reports        []rpc.ServiceReport
	// failUpdate fails the updates that expect this task state.
	failUpdate map[string]error
	// onMove runs for updates that hand an instance to another host.
	onMove func(rpc.InstanceUpdateRequest)
	// shelved and unshelved are the shelve reports.
	shelved   []rpc.InstanceShelvedRequest
	unshelved []rpc.InstanceUnshelvedRequest
	// shelvedAt is when shelved_instances says instances were shelved.
	shelvedAt time.Time
}

func newFakeConductor() *fakeConductor {
	return &fakeConductor{states: map[string]*rpc.InstanceState{}, hosts: map[string]string{}, failUpdate: map[string]error{}}
}

func (f *fakeConductor) add(uuid, host, vm, task string, power int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.states[uuid] = &rpc.InstanceState{VMState: vm, TaskState: task, PowerState: power}
	f.hosts[uuid] = host
}

func (f *fakeConductor) state(uuid string) rpc.InstanceState {
	f.mu.Lock()
	defer f.mu.Unlock()
	return *f.states[uuid]
}

func (f *fakeConductor) UpdateInstance(ctx context.Context, r rpc.InstanceUpdateRequest) (rpc.InstanceState, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.updates = append(f.updates, r)
	for _, t := range r.ExpectedTaskStates {
		if err := f.failUpdate[t]; err != nil {
			return rpc.InstanceState{}, err
		}
	}
	st, ok := f.states[r.InstanceUUID]
	if !ok {
		return rpc.InstanceState{}, rpc.Errorf(rpc.KindInstanceNotFound, "instance %s not found", r.InstanceUUID)
	}
	if f.hosts[r.InstanceUUID] != r.Host {
		return rpc.InstanceState{}, rpc.Errorf(rpc.KindWrongHost, "wrong host")
	}
	if r.ExpectedTaskStates != nil && !slices.Contains(r.ExpectedTaskStates, st.TaskState) {
		return rpc.InstanceState{}, rpc.Errorf(rpc.KindUnexpectedTaskState, "task %q", st.TaskState)
	}
	if r.VMState != nil {
		st.VMState = *r.VMState
	}
	if r.TaskState != nil {
		st.TaskState = *r.TaskState
	}
	if r.PowerState != nil {
		st.PowerState = *r.PowerState
	}
	if r.MoveTo != nil && f.onMove != nil {
		f.onMove(r)
	}
	return *st, nil
}

func (f *fakeConductor) Event(ctx context.Context, r rpc.InstanceEventRequest) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	phase := "start"
	if r.Finish {
		phase = "finish"
		if r.Error != "" {
			phase = "error"
		}
	}
	f.events = append(f.events, phase+" "+r.Event)
	f.eventRequests = append(f.eventRequests, r.RequestID)
	return nil
}

func (f *fakeConductor) Destroyed(ctx context.Context, r rpc.InstanceDestroyedRequest) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.destroyed = append(f.destroyed, r.InstanceUUID)
	delete(f.states, r.InstanceUUID)
	return nil
}

func (f *fakeConductor) Reschedule(ctx context.Context, r rpc.BuildAndRunRequest) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reschedules = append(f.reschedules, r)
	return nil
}

func (f *fakeConductor) ResizeFailed(ctx context.Context, r rpc.ResizeFailedRequest) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.resizeFailures = append(f.resizeFailures, r)
	return nil
}

func (f *fakeConductor) LiveMigrationDone(ctx context.Context, r rpc.LiveMigrationResult) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lives = append(f.lives, r)
	return nil
}

func (f *fakeConductor) SyncPowerStates(ctx context.Context, r rpc.PowerSyncRequest) (rpc.PowerSyncReply, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.syncs = append(f.syncs, r)
	return f.syncReply, nil
}

func (f *fakeConductor) ReportService(ctx context.Context, r rpc.ServiceReport) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reports = append(f.reports, r)
	return nil
}

func (f *fakeConductor) InstanceShelved(ctx context.Context, r rpc.InstanceShelvedRequest) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.shelved = append(f.shelved, r)
	if st := f.states[r.InstanceUUID]; st != nil {
		st.VMState, st.TaskState, st.PowerState = "shelved", "", r.PowerState
		if r.Offloaded {
			st.VMState = "shelved_offloaded"
		}
	}
	return nil
}

func (f *fakeConductor) InstanceUnshelved(ctx context.Context, r rpc.InstanceUnshelvedRequest) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.unshelved = append(f.unshelved, r)
	if st := f.states[r.InstanceUUID]; st != nil && r.Error == "" {
		st.VMState, st.TaskState, st.PowerState = "active", "", r.PowerState
	}
	return nil
}

func (f *fakeConductor) ShelvedInstances(ctx context.Context, r rpc.ShelvedInstancesRequest) (rpc.ShelvedInstancesReply, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var reply rpc.ShelvedInstancesReply
	for _, id := range r.InstanceUUIDs {
		if st := f.states[id]; st != nil && st.VMState == "shelved" && st.TaskState == "" && f.hosts[id] == r.Host {
			reply.Instances = append(reply.Instances, rpc.ShelvedInstance{UUID: id, ShelvedAt: f.shelvedAt})
		}
	}
	return reply, nil
}

func (f *fakeConductor) log() (events []string, updates []rpc.InstanceUpdateRequest) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.events), slices.Clone(f.updates)
}

// fakePlacement keeps providers by name with their inventories.
type fakePlacement struct {
	mu        sync.Mutex
	byName    map[string]string
	gen       map[string]int64
	inv       map[string]map[string]Inventory
	writes    int
	conflicts int // refuse this many writes as generation conflicts
}

func newFakePlacement() *fakePlacement {
	return &fakePlacement{byName: map[string]string{}, gen: map[string]int64{}, inv: map[string]map[string]Inventory{}}
}

func (p *fakePlacement) EnsureProvider(ctx context.Context, name string) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if u, ok := p.byName[name]; ok {
		return u, nil
	}
	u := "rp-" + name
	if _, ok := p.gen[u]; ok {
		// A provider of this name was deleted: a new one has a new uuid.
		u = fmt.Sprintf("%s-%d", u, len(p.gen)+1)
	}
	p.byName[name] = u
	p.gen[u] = 0
	p.inv[u] = map[string]Inventory{}
	return u, nil
}

func (p *fakePlacement) Inventories(ctx context.Context, uuid string) (int64, map[string]Inventory, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	inv, ok := p.inv[uuid]
	if !ok {
		return 0, nil, fmt.Errorf("provider %s: %w", uuid, ErrProviderNotFound)
	}
	return p.gen[uuid], maps.Clone(inv), nil
}

// remove deletes the provider named name, as deleting its compute service
// does.
func (p *fakePlacement) remove(name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.inv, p.byName[name])
	delete(p.byName, name)
}

func (p *fakePlacement) SetInventories(ctx context.Context, uuid string, generation int64, inv map[string]Inventory) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conflicts > 0 {
		p.conflicts--
		p.gen[uuid]++
		return false, nil
	}
	if generation != p.gen[uuid] {
		return false, nil
	}
	p.writes++
	p.gen[uuid]++
	p.inv[uuid] = maps.Clone(inv)
	return true, nil
}

// fakeImages serves image data and counts downloads.
type fakeImages struct {
	mu        sync.Mutex
	data      map[string]string
	downloads int
	gate      chan struct{}
}

func (f *fakeImages) Download(ctx context.Context, id string) (io.ReadCloser, error) {
	if f.gate != nil {
		<-f.gate
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	d, ok := f.data[id]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrImageNotFound, id)
	}
	f.downloads++
	return io.NopCloser(strings.NewReader(d)), nil
}

type harness struct {
	a      *Agent
	drv    *fake.Driver
	cond   *fakeConductor
	pl     *fakePlacement
	images *fakeImages
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{drv: fake.New(fake.Options{VCPUs: 8, MemoryMB: 16384, DiskGB: 200}), cond: newFakeConductor(),
		pl: newFakePlacement(), images: &fakeImages{data: map[string]string{"img": "disk bytes"}}}
	a, err := New(Config{Host: "h1", ImageCacheDir: t.TempDir(), ShutdownTimeout: time.Second,
		Resources: ResourceOptions{InitialCPUAllocationRatio: 4, InitialRAMAllocationRatio: 1, InitialDiskAllocationRatio: 1,
			ReservedHostMemoryMB: 512, ReservedHostDiskMB: 1500}},
		Deps{Driver: h.drv, Conductor: h.cond, Placement: h.pl, Images: h.images})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.drv.Init(context.Background(), "h1"); err != nil {
		t.Fatal(err)
	}
	h.a = a
	return h
}

func buildReq(uuid string) rpc.BuildAndRunRequest {
	zero := 0
	return rpc.BuildAndRunRequest{Attempt: 1, Host: rpc.HostChoice{Host: "h1", Node: "h1"},
		Instance: rpc.InstanceSpec{UUID: uuid, Name: "instance-" + uuid, ProjectID: "p", UserID: "u",
			Flavor: rpc.Flavor{Name: "m1.small", VCPUs: 2, MemoryMB: 2048, RootGB: 10}, UserData: "aGVsbG8=",
			Image:        rpc.ImageMeta{ID: "img", DiskFormat: "raw"},
			BlockDevices: []rpc.BlockDevice{{BootIndex: &zero, SourceType: "image", DestinationType: "local", ImageID: "img"}}}}
}

func ctxReq() context.Context {
	return rpc.WithContext(context.Background(), rpc.Context{RequestID: "req-1"})
}

func TestBuildAndRun(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, id := range []string{"i1", "i2"} {
		h.cond.add(id, "h1", "building", "scheduling", 0)
		if err := h.a.BuildAndRun(ctxReq(), buildReq(id)); err != nil {
			t.Fatal(err)
		}
		if st := h.cond.state(id); st != (rpc.InstanceState{VMState: "active", TaskState: "", PowerState: 1}) {
			t.Errorf("%s: %+v", id, st)
		}
	}
	if h.images.downloads != 1 {
		t.Errorf("image downloaded %d times for two builds", h.images.downloads)
	}
	info, err := h.drv.GetInfo(context.Background(), "i1")
	if err != nil || info.State != virt.Running || info.Name != "instance-i1" {
		t.Errorf("guest %+v, %v", info, err)
	}
	events, updates := h.cond.log()
	if !slices.Equal(events[:2], []string{"start compute__do_build_and_run_instance", "finish compute__do_build_and_run_instance"}) {
		t.Errorf("events %v", events)
	}
	last := updates[1]
	if !last.Launched || last.Host != "h1" || !slices.Equal(last.ExpectedTaskStates, []string{"spawning"}) {
		t.Errorf("final update %+v", last)
	}
}

func TestBuildAbandonedWhenInstanceMovedOn(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.cond.add("i1", "h1", "building", "deleting", 0)
	if err := h.a.BuildAndRun(ctxReq(), buildReq("i1")); err != nil {
		t.Fatal(err)
	}
	if list, _ := h.drv.ListInstances(context.Background()); len(list) != 0 {
		t.Errorf("a build of a deleting instance spawned %v", list)
	}
	if len(h.cond.reschedules) != 0 {
		t.Error("an abandoned build was rescheduled")
	}
}

func TestBuildFailureReschedules(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.cond.add("i1", "h1", "building", "scheduling", 0)
	h.drv.FailNext(fake.OpSpawn, 1)
	req := buildReq("i1")
	req.Alternates = []rpc.HostChoice{{Host: "h2"}}
	if err := h.a.BuildAndRun(ctxReq(), req); err != nil {
		t.Fatal(err)
	}
	if len(h.cond.reschedules) != 1 {
		t.Fatalf("reschedules %v", h.cond.reschedules)
	}
	r := h.cond.reschedules[0]
	if len(r.Failures) != 1 || r.Failures[0].Host != "h1" || r.Failures[0].Abort ||
		!strings.Contains(r.Failures[0].Reason, "injected failure") || len(r.Alternates) != 1 {
		t.Errorf("handed back %+v", r)
	}
	if list, _ := h.drv.ListInstances(context.Background()); len(list) != 0 {
		t.Errorf("a failed spawn left %v", list)
	}
	if events, _ := h.cond.log(); events[len(events)-1] != "error compute__do_build_and_run_instance" {
		t.Errorf("events %v", events)
	}

	// A missing image fails on every host alike: no retry.
	h.cond.add("i2", "h1", "building", "scheduling", 0)
	req = buildReq("i2")
	req.Instance.Image.ID = "gone"
	req.Instance.BlockDevices[0].ImageID = "gone"
	if err := h.a.BuildAndRun(ctxReq(), req); err != nil {
		t.Fatal(err)
	}
	if r := h.cond.reschedules[1]; !r.Failures[0].Abort || !strings.Contains(r.Failures[0].Reason, "image not found") {
		t.Errorf("missing image handed back %+v", r.Failures)
	}
}

func TestBuildOfInstanceDeletedDuringSpawn(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.cond.add("i1", "h1", "building", "scheduling", 0)
	h.cond.failUpdate["spawning"] = rpc.Errorf(rpc.KindInstanceNotFound, "gone")
	if err := h.a.BuildAndRun(ctxReq(), buildReq("i1")); err != nil {
		t.Fatal(err)
	}
	if list, _ := h.drv.ListInstances(context.Background()); len(list) != 0 {
		t.Errorf("the guest of a deleted instance stayed: %v", list)
	}
	// Its build, delivered again, does nothing.
	delete(h.cond.failUpdate, "spawning")
	h.cond.add("i1", "h1", "building", "scheduling", 0)
	if err := h.a.BuildAndRun(ctxReq(), buildReq("i1")); err != nil {
		t.Fatal(err)
	}
	if list, _ := h.drv.ListInstances(context.Background()); len(list) != 0 {
		t.Errorf("a destroyed instance came back: %v", list)
	}
}

func TestTerminate(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.cond.add("i1", "h1", "building", "scheduling", 0)
	if err := h.a.BuildAndRun(ctxReq(), buildReq("i1")); err != nil {
		t.Fatal(err)
	}
	if err := h.a.Terminate(ctxReq(), rpc.InstanceRequest{InstanceUUID: "i1"}); err != nil {
		t.Fatal(err)
	}
	if list, _ := h.drv.ListInstances(context.Background()); len(list) != 0 || !slices.Equal(h.cond.destroyed, []string{"i1"}) {
		t.Errorf("guests %v, destroyed reported %v", list, h.cond.destroyed)
	}
	// Terminating what is gone succeeds (nova's driver contract) and
	// reports again.
	if err := h.a.Terminate(ctxReq(), rpc.InstanceRequest{InstanceUUID: "never"}); err != nil || len(h.cond.destroyed) != 2 {
		t.Errorf("terminate of an unknown instance: %v, %v", err, h.cond.destroyed)
	}
	// A failed destroy puts the instance in ERROR with a fault.
	h.cond.add("i3", "h1", "building", "scheduling", 0)
	if err := h.a.BuildAndRun(ctxReq(), buildReq("i3")); err != nil {
		t.Fatal(err)
	}
	h.cond.add("i3", "h1", "active", "deleting", 1)
	h.drv.FailNext(fake.OpDestroy, 1)
	if err := h.a.Terminate(ctxReq(), rpc.InstanceRequest{InstanceUUID: "i3"}); err != nil {
		t.Fatal(err)
	}
	_, updates := h.cond.log()
	last := updates[len(updates)-1]
	if st := h.cond.state("i3"); st.VMState != "error" || st.TaskState != "" || last.Fault == nil ||
		!strings.Contains(last.Fault.Message, "injected failure") {
		t.Errorf("after a failed destroy: %+v, fault %+v", st, last.Fault)
	}
}

func TestPowerActions(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.cond.add("i1", "h1", "building", "scheduling", 0)
	if err := h.a.BuildAndRun(ctxReq(), buildReq("i1")); err != nil {
		t.Fatal(err)
	}
	r := rpc.InstanceRequest{InstanceUUID: "i1"}
	steps := []struct {
		task string
		do   func(context.Context, rpc.InstanceRequest) error
		req  rpc.InstanceRequest
		want rpc.InstanceState
	}{
		{"powering-off", h.a.StopInstance, r, rpc.InstanceState{VMState: "stopped", PowerState: 4}},
		{"powering-on", h.a.StartInstance, r, rpc.InstanceState{VMState: "active", PowerState: 1}},
		{"rebooting_hard", h.a.RebootInstance, rpc.InstanceRequest{InstanceUUID: "i1", RebootType: "HARD"},
			rpc.InstanceState{VMState: "active", PowerState: 1}},
		{"pausing", h.a.PauseInstance, r, rpc.InstanceState{VMState: "paused", PowerState: 3}},
		{"unpausing", h.a.UnpauseInstance, r, rpc.InstanceState{VMState: "active", PowerState: 1}},
		{"suspending", h.a.SuspendInstance, r, rpc.InstanceState{VMState: "suspended", PowerState: 7}},
		{"resuming", h.a.ResumeInstance, r, rpc.InstanceState{VMState: "active", PowerState: 1}},
		{"rebooting", h.a.RebootInstance, r, rpc.InstanceState{VMState: "active", PowerState: 1}},
	}
	for _, st := range steps {
		cur := h.cond.state("i1")
		h.cond.add("i1", "h1", cur.VMState, st.task, cur.PowerState)
		if err := st.do(ctxReq(), st.req); err != nil {
			t.Fatalf("%s: %v", st.task, err)
		}
		if got := h.cond.state("i1"); got != st.want {
			t.Errorf("after %s: %+v, want %+v", st.task, got, st.want)
		}
	}
	// A refused action reverts the task and records a fault: the driver
	// cannot unpause a running guest.
	h.cond.add("i1", "h1", "paused", "unpausing", 3)
	if err := h.a.UnpauseInstance(ctxReq(), r); err != nil {
		t.Fatal(err)
	}
	_, updates := h.cond.log()
	last := updates[len(updates)-1]
	if st := h.cond.state("i1"); st.TaskState != "" || st.VMState != "paused" || st.PowerState != 1 || last.Fault == nil ||
		!strings.Contains(last.Fault.Message, "cannot unpause") {
		t.Errorf("after a refused unpause: %+v fault %+v", st, last.Fault)
	}
}

func TestConsoleOutput(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.cond.add("i1", "h1", "building", "scheduling", 0)
	if err := h.a.BuildAndRun(ctxReq(), buildReq("i1")); err != nil {
		t.Fatal(err)
	}
	all, err := h.a.ConsoleOutput(ctxReq(), rpc.ConsoleOutputRequest{InstanceUUID: "i1", Length: -1})
	if err != nil || strings.Count(all.Output, "\n") < 2 {
		t.Fatalf("console %q, %v", all.Output, err)
	}
	two, _ := h.a.ConsoleOutput(ctxReq(), rpc.ConsoleOutputRequest{InstanceUUID: "i1", Length: 2})
	if !strings.HasSuffix(all.Output, two.Output) || len(strings.Split(two.Output, "\n")) != 2 {
		t.Errorf("last two lines %q of %q", two.Output, all.Output)
	}
	if _, err := h.a.ConsoleOutput(ctxReq(), rpc.ConsoleOutputRequest{InstanceUUID: "nope"}); !errors.Is(rpc.AsError(err), rpc.ErrInstanceNotFound) {
		t.Errorf("unknown instance: %v", err)
	}
	for in, want := range map[string]string{"a\nb\nc\n": "c\n", "a\nb\nc": "b\nc", "a": "a", "": ""} {
		if got := tail(in, 2); got != want {
			t.Errorf("tail(%q, 2) = %q, want %q", in, got, want)
		}
	}
}

func TestResources(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	if err := h.a.updateResources(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	inv := h.pl.inv["rp-h1"]
	want := map[string]Inventory{
		"VCPU":      {Total: 8, MinUnit: 1, MaxUnit: 8, StepSize: 1, AllocationRatio: 4},
		"MEMORY_MB": {Total: 16384, Reserved: 512, MinUnit: 1, MaxUnit: 16384, StepSize: 1, AllocationRatio: 1},
		"DISK_GB":   {Total: 200, Reserved: 2, MinUnit: 1, MaxUnit: 200, StepSize: 1, AllocationRatio: 1},
	}
	if !maps.Equal(inv, want) {
		t.Errorf("inventory %+v, want %+v", inv, want)
	}
	// An operator's ratio in placement is kept when the option is unset.
	h.pl.mu.Lock()
	v := h.pl.inv["rp-h1"]["VCPU"]
	v.AllocationRatio = 8
	h.pl.inv["rp-h1"]["VCPU"] = v
	h.pl.gen["rp-h1"]++
	h.pl.conflicts = 1
	h.pl.mu.Unlock()
	writes := h.pl.writes
	if err := h.a.updateResources(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	if h.pl.writes != writes || h.pl.inv["rp-h1"]["VCPU"].AllocationRatio != 8 {
		t.Errorf("the operator's ratio was overwritten: %+v", h.pl.inv["rp-h1"]["VCPU"])
	}
	// A set option wins, and reserves larger than the host are cut to it.
	got := desiredInventory(ResourceOptions{CPUAllocationRatio: 2, ReservedHostCPUs: 99}, 8, 1024, 0, inv)
	if got["VCPU"].AllocationRatio != 2 || got["VCPU"].Reserved != 8 || len(got) != 2 {
		t.Errorf("desired %+v", got)
	}
}

// A provider deleted with the host's compute service while the agent ran
// is made anew at the next forced update, and the heartbeat reports it.
func TestResourceProviderRecreated(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	if err := h.a.updateResources(ctx, true); err != nil {
		t.Fatal(err)
	}
	h.pl.remove("h1")
	if err := h.a.updateResources(ctx, false); err != nil {
		t.Fatalf("unforced update: %v", err)
	}
	if err := h.a.updateResources(ctx, true); err != nil {
		t.Fatalf("forced update after the provider went: %v", err)
	}
	h.pl.mu.Lock()
	rp := h.pl.byName["h1"]
	inv := h.pl.inv[rp]
	h.pl.mu.Unlock()
	if rp == "" || rp == "rp-h1" || inv["VCPU"].Total != 8 {
		t.Fatalf("new provider %q with inventory %+v; want a new uuid holding the host's VCPUs", rp, inv)
	}
	h.a.heartbeat(ctx)
	if rep := h.cond.reports[len(h.cond.reports)-1]; rep.Node == nil || rep.Node.ProviderUUID != rp {
		t.Errorf("heartbeat node %+v; want provider %s", rep.Node, rp)
	}
}

func TestHeartbeatAndPowerSync(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.cond.add("i1", "h1", "building", "scheduling", 0)
	if err := h.a.BuildAndRun(ctxReq(), buildReq("i1")); err != nil {
		t.Fatal(err)
	}
	h.a.heartbeat(context.Background())
	rep := h.cond.reports[0]
	if rep.Host != "h1" || rep.Binary != rpc.BinaryCompute || rep.Node == nil || rep.Node.ProviderUUID != "rp-h1" ||
		rep.Node.VCPUs != 8 || rep.Node.VCPUsUsed != 2 || !slices.Equal(rep.Instances, []string{"i1"}) {
		t.Errorf("heartbeat %+v node %+v", rep, rep.Node)
	}
	h.cond.syncReply = rpc.PowerSyncReply{Actions: []rpc.PowerSyncAction{{UUID: "i1", Action: rpc.SyncPowerOff,
		RequestID: "req-sync"}}}
	h.cond.mu.Lock()
	events := len(h.cond.events)
	h.cond.mu.Unlock()
	h.a.syncPowerStates(context.Background())
	if s := h.cond.syncs[0]; len(s.Instances) != 1 || s.Instances[0] != (rpc.InstancePower{UUID: "i1", PowerState: 1}) {
		t.Errorf("sync %+v", s)
	}
	if info, _ := h.drv.GetInfo(context.Background(), "i1"); info.State != virt.Shutdown {
		t.Errorf("guest not powered off: %s", info.State)
	}
	// The power off is the host's event of the conductor's stop action.
	h.cond.mu.Lock()
	got, reqs := slices.Clone(h.cond.events[events:]), slices.Clone(h.cond.eventRequests[events:])
	h.cond.mu.Unlock()
	if want := []string{"start compute_stop_instance", "finish compute_stop_instance"}; !slices.Equal(got, want) ||
		!slices.Equal(reqs, []string{"req-sync", "req-sync"}) {
		t.Errorf("events %q of requests %q, want %q of req-sync", got, reqs, want)
	}
	h.cond.syncReply = rpc.PowerSyncReply{Actions: []rpc.PowerSyncAction{{UUID: "i1", Action: rpc.SyncDestroy}}}
	h.a.syncPowerStates(context.Background())
	if list, _ := h.drv.ListInstances(context.Background()); len(list) != 0 || !slices.Contains(h.cond.destroyed, "i1") {
		t.Errorf("lingering guest %v, reported %v", list, h.cond.destroyed)
	}
}

// watchedGuest is a harness with instance i1 built and the agent watching
// the driver's lifecycle events until stop.
func watchedGuest(t *testing.T) (h *harness, stop func()) {
	t.Helper()
	h = newHarness(t)
	h.cond.add("i1", "h1", "building", "scheduling", 0)
	if err := h.a.BuildAndRun(ctxReq(), buildReq("i1")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.a.watchEvents(ctx); close(done) }()
	return h, func() { cancel(); <-done }
}

func TestLifecycleEventsSync(t *testing.T) {
	t.Parallel()
	h, stop := watchedGuest(t)
	if err := h.drv.CrashInstance("i1"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		h.cond.mu.Lock()
		n := len(h.cond.syncs)
		var got rpc.PowerSyncRequest
		if n > 0 {
			got = h.cond.syncs[n-1]
		}
		h.cond.mu.Unlock()
		if n > 0 && got.Instances[0].PowerState == int(virt.Crashed) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no sync of the crashed guest; syncs %d", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	stop()
	// The Started event of the build told nothing new: no sync for it.
	h.cond.mu.Lock()
	defer h.cond.mu.Unlock()
	for _, s := range h.cond.syncs {
		if s.Instances[0].PowerState == int(virt.Running) {
			t.Errorf("a sync for what the host reported already: %+v", s)
		}
	}
}

// A guest that crashes while an operation on it still holds its lock is
// synced once the operation ends, not dropped until the periodic sync.
func TestLifecycleEventWaitsForOperation(t *testing.T) {
	t.Parallel()
	h, stop := watchedGuest(t)
	defer stop()
	crashed := func() bool {
		h.cond.mu.Lock()
		defer h.cond.mu.Unlock()
		for _, s := range h.cond.syncs {
			if s.Instances[0].PowerState == int(virt.Crashed) {
				return true
			}
		}
		return false
	}
	unlock := h.a.locks.lock("i1")
	if err := h.drv.CrashInstance("i1"); err != nil {
		t.Fatal(err)
	}
	// The event waits for the lock: the watcher handles no other event
	// first (the channel is read), and nothing is synced meanwhile.
	waitFor(t, func() bool { return len(h.drv.Events()) == 0 }, "the crash event read")
	if crashed() {
		t.Fatal("synced while the operation held the instance")
	}
	unlock()
	waitFor(t, crashed, "the crash synced after the operation")
}

func TestImageCacheDownloadsOnce(t *testing.T) {
	t.Parallel()
	imgs := &fakeImages{data: map[string]string{"img": "data"}, gate: make(chan struct{})}
	c := newImageCache(t.TempDir(), imgs)
	var wg sync.WaitGroup
	paths := make([]string, 8)
	for i := range paths {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := c.Path(context.Background(), "img")
			if err != nil {
				t.Error(err)
			}
			paths[i] = p
		}()
	}
	// Hold the download until it is under way, so callers meet it.
	for {
		c.mu.Lock()
		n := len(c.inflight)
		c.mu.Unlock()
		if n > 0 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	close(imgs.gate)
	wg.Wait()
	distinct := map[string]bool{}
	for _, p := range paths {
		distinct[p] = true
	}
	if imgs.downloads != 1 || len(distinct) != 1 || paths[0] == "" {
		t.Errorf("%d downloads, paths %v", imgs.downloads, paths)
	}
	if _, err := c.Path(context.Background(), "../etc/passwd"); !errors.Is(err, ErrImageNotFound) {
		t.Errorf("path outside the cache: %v", err)
	}
}
