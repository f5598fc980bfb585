package conductor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/compute"
	"github.com/nimbus-cloud/nimbus/internal/rpc"
)

// fakeInstances is an in-memory compute service with the lifecycle
// methods' semantics: a deleted instance cannot be saved.
type fakeInstances struct {
	mu     sync.Mutex
	insts  map[string]*compute.Instance
	faults map[string][]compute.Fault
	events []string // "start|finish uuid event [error]"
	now    time.Time
}

func newFakeInstances() *fakeInstances {
	return &fakeInstances{insts: map[string]*compute.Instance{}, faults: map[string][]compute.Fault{},
		now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (f *fakeInstances) add(inst compute.Instance) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := inst.Clone()
	f.insts[inst.UUID] = &c
}

func (f *fakeInstances) get(uuid string) compute.Instance {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.insts[uuid].Clone()
}

func (f *fakeInstances) Instance(ctx context.Context, uuid string) (compute.Instance, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	i, ok := f.insts[uuid]
	if !ok {
		return compute.Instance{}, fmt.Errorf("instance %s: %w", uuid, compute.ErrNotFound)
	}
	return i.Clone(), nil
}

func (f *fakeInstances) SaveInstance(ctx context.Context, uuid string, mutate func(*compute.Instance) error) (compute.Instance, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	i, ok := f.insts[uuid]
	if !ok || i.Deleted {
		return compute.Instance{}, fmt.Errorf("instance %s: %w", uuid, compute.ErrNotFound)
	}
	c := i.Clone()
	if err := mutate(&c); err != nil {
		return compute.Instance{}, err
	}
	f.insts[uuid] = &c
	return c.Clone(), nil
}

func (f *fakeInstances) SaveInstanceAction(ctx context.Context, uuid, action, requestID string, mutate func(*compute.Instance) error) (compute.Instance, error) {
	inst, err := f.SaveInstance(ctx, uuid, mutate)
	if err == nil {
		f.mu.Lock()
		f.events = append(f.events, fmt.Sprintf("action %s %s %s", uuid, action, requestID))
		f.mu.Unlock()
	}
	return inst, err
}

func (f *fakeInstances) DestroyInstance(ctx context.Context, uuid string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	i, ok := f.insts[uuid]
	if !ok || i.Deleted {
		return compute.ErrNotFound
	}
	i.Deleted, i.VMState, i.TaskState = true, compute.VMDeleted, compute.TaskNone
	return nil
}

func (f *fakeInstances) AddFault(ctx context.Context, uuid string, fault compute.Fault) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults[uuid] = append(f.faults[uuid], fault)
	return nil
}

func (f *fakeInstances) lastFault(uuid string) compute.Fault {
	f.mu.Lock()
	defer f.mu.Unlock()
	fs := f.faults[uuid]
	if len(fs) == 0 {
		return compute.Fault{}
	}
	return fs[len(fs)-1]
}

func (f *fakeInstances) StartEvent(ctx context.Context, uuid, requestID, event, host string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, fmt.Sprintf("start %s %s %s", uuid, event, requestID))
	return nil
}

func (f *fakeInstances) FinishEvent(ctx context.Context, uuid, requestID, event string, failure error) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	res := "Success"
	if failure != nil {
		res = "Error: " + failure.Error()
	}
	f.events = append(f.events, fmt.Sprintf("finish %s %s %s", uuid, event, res))
	return nil
}

func (f *fakeInstances) eventLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.events)
}

func (f *fakeInstances) Now() time.Time { return f.now }

// fakeScheduler answers with fixed selections or an error.
type fakeScheduler struct {
	sels  []rpc.Selection
	err   error
	specs []rpc.RequestSpec
}

func (f *fakeScheduler) SelectDestinations(ctx context.Context, spec rpc.RequestSpec) ([]rpc.Selection, error) {
	f.specs = append(f.specs, spec)
	return f.sels, f.err
}

// fakePlacement records claims and deletions; refuse lists hosts' providers
// whose claims it refuses.
type fakePlacement struct {
	mu      sync.Mutex
	allocs  map[string]rpc.Allocation
	refuse  map[string]bool
	deleted []string
	fail    error
}

func newFakePlacement() *fakePlacement {
	return &fakePlacement{allocs: map[string]rpc.Allocation{}, refuse: map[string]bool{}}
}

func (f *fakePlacement) Claim(ctx context.Context, consumer, projectID, userID string, alloc rpc.Allocation) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return false, f.fail
	}
	for rp := range alloc {
		if f.refuse[rp] {
			return false, nil
		}
	}
	if _, ok := f.allocs[consumer]; ok {
		return false, nil // consumer generation null, consumer exists
	}
	f.allocs[consumer] = alloc
	return true, nil
}

func (f *fakePlacement) DeleteAllocations(ctx context.Context, consumer string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return f.fail
	}
	delete(f.allocs, consumer)
	f.deleted = append(f.deleted, consumer)
	return nil
}

func (f *fakePlacement) Allocations(ctx context.Context, consumer string) (rpc.Allocation, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return nil, f.fail
	}
	return f.allocs[consumer], nil
}

func (f *fakePlacement) MoveAllocations(ctx context.Context, from, to, projectID, userID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return f.fail
	}
	a, ok := f.allocs[from]
	if !ok {
		return nil
	}
	f.allocs[to] = a
	delete(f.allocs, from)
	return nil
}

func (f *fakePlacement) holds(consumer string) (rpc.Allocation, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.allocs[consumer]
	return a, ok
}

// fakeComputes records casts; unreachable hosts fail them.
type fakeComputes struct {
	mu          sync.Mutex
	builds      []rpc.BuildAndRunRequest
	rebuilds    []rpc.RebuildRequest
	resizes     []rpc.ResizeRequest
	lives       []rpc.LiveMigrationRequest
	steps       []string
	hosts       []string
	terminated  []string
	unreachable map[string]bool
}

var errNoRoute = errors.New("no route to compute host")

func (f *fakeComputes) BuildAndRun(ctx context.Context, host string, req rpc.BuildAndRunRequest) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.unreachable[host] {
		return errNoRoute
	}
	f.builds = append(f.builds, req)
	f.hosts = append(f.hosts, host)
	return nil
}

func (f *fakeComputes) Rebuild(ctx context.Context, host string, req rpc.RebuildRequest) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.unreachable[host] {
		return errNoRoute
	}
	f.rebuilds = append(f.rebuilds, req)
	f.hosts = append(f.hosts, host)
	return nil
}

func (f *fakeComputes) Resize(ctx context.Context, host string, req rpc.ResizeRequest) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.unreachable[host] {
		return errNoRoute
	}
	f.resizes = append(f.resizes, req)
	f.hosts = append(f.hosts, host)
	return nil
}

func (f *fakeComputes) LiveMigrate(ctx context.Context, host string, req rpc.LiveMigrationRequest) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.unreachable[host] {
		return errNoRoute
	}
	f.lives = append(f.lives, req)
	f.hosts = append(f.hosts, host)
	return nil
}

func (f *fakeComputes) ConfirmMigration(ctx context.Context, host, uuid string) error {
	return f.step("confirm", host, uuid)
}

func (f *fakeComputes) RevertMigration(ctx context.Context, host, uuid string) error {
	return f.step("revert", host, uuid)
}

func (f *fakeComputes) FinishRevertMigration(ctx context.Context, host, uuid string, powerOn bool) (rpc.InstanceState, error) {
	if err := f.step("finish_revert", host, uuid); err != nil {
		return rpc.InstanceState{}, err
	}
	if powerOn {
		return rpc.InstanceState{PowerState: 1}, nil
	}
	return rpc.InstanceState{PowerState: 4}, nil
}

func (f *fakeComputes) step(name, host, uuid string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.unreachable[host] {
		return errNoRoute
	}
	f.steps = append(f.steps, name+" "+host+"/"+uuid)
	return nil
}

func (f *fakeComputes) UnshelveOnHost(ctx context.Context, host string, req rpc.UnshelveOnHostRequest) error {
	return f.step("unshelve", host, req.Instance.UUID)
}

func (f *fakeComputes) Terminate(ctx context.Context, host, uuid string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.terminated = append(f.terminated, host+"/"+uuid)
	return nil
}

// env is a conductor with fakes around it.
type env struct {
	srv   *Server
	inst  *fakeInstances
	sched *fakeScheduler
	pl    *fakePlacement
	comp  *fakeComputes
	reg   *Registry
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{inst: newFakeInstances(), sched: &fakeScheduler{}, pl: newFakePlacement(),
		comp: &fakeComputes{unreachable: map[string]bool{}}}
	e.reg = NewRegistry(RegistryOptions{ComputeZone: "az1"})
	e.srv = NewServer(Config{Host: "controller"}, Deps{Instances: e.inst, Scheduler: e.sched, Placement: e.pl,
		Computes: e.comp, Registry: e.reg})
	return e
}

// building is a new instance as the API records it.
func building(uuid string) compute.Instance {
	zero := 0
	return compute.Instance{ID: 7, UUID: uuid, DisplayName: "vm", ProjectID: "p1", UserID: "u1",
		Flavor:   compute.Flavor{FlavorID: "1", Name: "m1.tiny", VCPUs: 1, MemoryMB: 512, RootGB: 1},
		ImageRef: "img", ImageProperties: map[string]string{"disk_format": "raw", "hw_architecture": "x86_64"},
		VMState: compute.VMBuilding, TaskState: compute.TaskScheduling,
		BlockDevices: []compute.BlockDevice{{SourceType: "image", DestinationType: "local", BootIndex: &zero,
			ImageID: "img", DeleteOnTermination: true}}}
}

func choice(host string) rpc.HostChoice {
	return rpc.HostChoice{Host: host, Node: host + "-node", ProviderUUID: "rp-" + host,
		Allocation: rpc.Allocation{"rp-" + host: {"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 1}}}
}

func reqCtx() context.Context {
	return rpc.WithContext(context.Background(), rpc.Context{RequestID: "req-1", UserID: "u1", ProjectID: "p1"})
}
