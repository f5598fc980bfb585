// Package fake is a virt.Driver without guests: instances are records in
// memory that move through power states as a hypervisor's would, refusing
// what a real one refuses (no pausing a stopped instance), emitting
// lifecycle events and writing a console log. The host's size is
// configurable, so one process can stand in for many hosts of any shape,
// and failures and delays can be injected per operation to exercise
// retries and cleanup.
package fake

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/virt"
)

// Options shape the fake host.
type Options struct {
	VCPUs    int
	MemoryMB int64
	DiskGB   int64

	HypervisorType    string
	HypervisorVersion int64
	CPUInfo           virt.CPUInfo

	// VNCHost is the address VNC consoles are reported on.
	VNCHost string
	// Display, when set, is every instance's VNC console (a real RFB
	// server); without it consoles are made-up ports on VNCHost.
	Display *Display
	// EventBuffer is how many lifecycle events wait for a reader before
	// new ones are dropped.
	EventBuffer int
	// MaxImageBytes bounds an image given as a stream, which the driver
	// keeps in memory (shared by instances of the same image) so that a
	// snapshot returns it.
	MaxImageBytes int64
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

// DefaultOptions is a large host, so that scale tests fit many instances.
func DefaultOptions() Options {
	return Options{
		VCPUs: 64, MemoryMB: 262144, DiskGB: 4096,
		HypervisorType: "fake", HypervisorVersion: 1000,
		CPUInfo: virt.CPUInfo{Arch: "x86_64", Vendor: "Intel", Model: "Nehalem", Features: []string{"pge", "clflush"},
			Sockets: 4, Cores: 8, Threads: 2},
		VNCHost:       "127.0.0.1",
		EventBuffer:   1024,
		MaxImageBytes: 64 << 20,
	}
}

// Driver is the fake hypervisor of one host.
type Driver struct {
	opts   Options
	events chan virt.LifecycleEvent

	mu        sync.Mutex
	host      string
	instances map[string]*instance
	// migrating are source copies of cold-migrated instances, kept until
	// the migration is confirmed or reverted.
	migrating map[string]*instance
	// incoming are live migrations announced by PreLiveMigration.
	incoming map[string]*instance
	// live are the live migrations held under way from this host, while
	// holdLive is on.
	live     map[string]*liveJob
	holdLive bool
	images   map[string]*image // by content digest
	vncPorts map[int]bool
	faults   []*faultRule
	dropped  int
	// started is when the driver was made: the fake host's boot.
	started time.Time
}

// instance is one fake guest.
type instance struct {
	spec    virt.InstanceSpec
	state   virt.PowerState
	image   *image // nil: booted from a volume
	console consoleLog
	vncPort int
	// rescue is the rescue disk's image while the instance is rescued.
	rescue *image
	// rescued is set while the instance runs from its rescue disk.
	rescued bool
}

// New returns a fake driver; zero Options fields take DefaultOptions'
// values.
func New(opts Options) *Driver {
	def := DefaultOptions()
	opts.VCPUs = cmp.Or(opts.VCPUs, def.VCPUs)
	opts.MemoryMB = cmp.Or(opts.MemoryMB, def.MemoryMB)
	opts.DiskGB = cmp.Or(opts.DiskGB, def.DiskGB)
	opts.HypervisorType = cmp.Or(opts.HypervisorType, def.HypervisorType)
	opts.HypervisorVersion = cmp.Or(opts.HypervisorVersion, def.HypervisorVersion)
	if opts.CPUInfo.Arch == "" {
		opts.CPUInfo = def.CPUInfo
	}
	opts.VNCHost = cmp.Or(opts.VNCHost, def.VNCHost)
	opts.EventBuffer = cmp.Or(opts.EventBuffer, def.EventBuffer)
	opts.MaxImageBytes = cmp.Or(opts.MaxImageBytes, def.MaxImageBytes)
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Driver{
		opts:      opts,
		events:    make(chan virt.LifecycleEvent, opts.EventBuffer),
		instances: map[string]*instance{},
		migrating: map[string]*instance{},
		incoming:  map[string]*instance{},
		live:      map[string]*liveJob{},
		images:    map[string]*image{},
		vncPorts:  map[int]bool{},
		started:   opts.Now().UTC(),
	}
}

var _ virt.Driver = (*Driver)(nil)

// Init records the host the driver serves.
func (d *Driver) Init(ctx context.Context, host string) error {
	if err := d.enter(ctx, OpInit, ""); err != nil {
		return err
	}
	if host == "" {
		return fmt.Errorf("init fake driver: %w: empty host name", virt.ErrInvalidSpec)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.host = host
	return nil
}

// Host is the host name Init recorded.
func (d *Driver) Host() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.host
}

// HostResources reports the configured size and the flavors of the
// instances on the host, including migrations not yet confirmed.
func (d *Driver) HostResources(ctx context.Context) (virt.HostResources, error) {
	if err := d.enter(ctx, OpHostResources, ""); err != nil {
		return virt.HostResources{}, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	r := virt.HostResources{
		VCPUs: d.opts.VCPUs, MemoryMB: d.opts.MemoryMB, DiskGB: d.opts.DiskGB,
		HypervisorType: d.opts.HypervisorType, HypervisorVersion: d.opts.HypervisorVersion,
		HypervisorHostname: d.host, CPUInfo: d.opts.CPUInfo,
		SupportedInstances: []virt.SupportedInstance{{Arch: d.opts.CPUInfo.Arch, HypervisorType: d.opts.HypervisorType, VMMode: "hvm"}},
		BootedAt:           d.started,
	}
	r.CPUInfo.Features = slices.Clone(d.opts.CPUInfo.Features)
	for _, set := range []map[string]*instance{d.instances, d.migrating, d.incoming} {
		for _, in := range set {
			f := in.spec.Flavor
			r.VCPUsUsed += f.VCPUs
			r.MemoryMBUsed += int64(f.MemoryMB)
			r.DiskGBUsed += int64(f.RootGB+f.EphemeralGB) + int64(f.SwapMB+1023)/1024
		}
	}
	return r, nil
}

// ListInstances lists the instances on the host by name.
func (d *Driver) ListInstances(ctx context.Context) ([]virt.InstanceInfo, error) {
	if err := d.enter(ctx, OpListInstances, ""); err != nil {
		return nil, err
	}
	d.mu.Lock()
	out := make([]virt.InstanceInfo, 0, len(d.instances))
	for _, in := range d.instances {
		out = append(out, in.info())
	}
	d.mu.Unlock()
	slices.SortFunc(out, func(a, b virt.InstanceInfo) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.UUID, b.UUID))
	})
	return out, nil
}

// GetInfo is one instance's power state.
func (d *Driver) GetInfo(ctx context.Context, uuid string) (virt.InstanceInfo, error) {
	if err := d.enter(ctx, OpGetInfo, uuid); err != nil {
		return virt.InstanceInfo{}, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	in, ok := d.instances[uuid]
	if !ok {
		return virt.InstanceInfo{}, virt.NotFound(uuid)
	}
	return in.info(), nil
}

func (in *instance) info() virt.InstanceInfo {
	return virt.InstanceInfo{UUID: in.spec.UUID, Name: in.spec.Name, State: in.state}
}

// Events delivers lifecycle events.
func (d *Driver) Events() <-chan virt.LifecycleEvent { return d.events }

// DroppedEvents counts the events no reader took in time.
func (d *Driver) DroppedEvents() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.dropped
}

// emit queues events for uuid without blocking; the caller holds d.mu.
func (d *Driver) emit(uuid string, ts ...virt.Transition) {
	for _, t := range ts {
		select {
		case d.events <- virt.LifecycleEvent{UUID: uuid, Transition: t, Time: d.opts.Now()}:
		default:
			d.dropped++
		}
	}
}

// CrashInstance makes a running instance crash, as a guest kernel panic
// would; the power state sync and events see it.
func (d *Driver) CrashInstance(uuid string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	in, ok := d.instances[uuid]
	if !ok {
		return virt.NotFound(uuid)
	}
	if in.state != virt.Running {
		return &virt.StateError{UUID: uuid, Op: "crash", State: in.state, Allowed: []virt.PowerState{virt.Running}}
	}
	in.state = virt.Crashed
	in.console.write("Kernel panic - not syncing: Fatal exception")
	d.emit(uuid, virt.EventStopped)
	return nil
}
