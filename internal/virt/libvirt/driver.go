// Package libvirt is the virt.Driver that runs instances as libvirt
// domains, through libvirtd's RPC socket (github.com/digitalocean/go-libvirt),
// for hosts that already run libvirtd, as nova's libvirt driver does. The
// domain XML is built as data (libvirt.org/go/libvirtxml). Disks, the base
// image cache and the config drive are package disk's, the same as the
// QEMU driver's: instances live under <state>/instances/<uuid>/ with a
// qcow2 overlay on a base in _base, and an instance.json records the
// instance so that a restarted agent knows its instances again; their
// power state is always libvirt's.
//
// Domains are of type qemu (TCG) or kvm ([libvirt] virt_type). Suspend is
// libvirt's managed save; a rescue defines the domain again booting from
// a rescue disk, the root disk second; lifecycle events come from
// libvirt's domain event callbacks, and a lost connection to libvirtd is
// made again. Live
// migration is libvirt's peer-to-peer migration with non-shared storage:
// the destination's driver prepares the disks, the source's libvirtd
// copies them and the memory to the destination's.
package libvirt

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"
	"github.com/google/uuid"
	"libvirt.org/go/libvirtxml"

	"github.com/nimbus-cloud/nimbus/internal/virt"
	"github.com/nimbus-cloud/nimbus/internal/virt/disk"
)

// Options configure the driver; the names in brackets are nova's options.
type Options struct {
	// StateDir holds instances/ (nova's state_path).
	StateDir string
	// ConnectionURI is libvirtd's URI ([libvirt] connection_uri); empty
	// is qemu:///system.
	ConnectionURI string
	// VirtType is the domain type, qemu or kvm ([libvirt] virt_type);
	// empty is kvm when libvirt offers it, qemu otherwise.
	VirtType string
	// QEMUImg is qemu-img; default from PATH.
	QEMUImg string
	// VNCListen is where guests' VNC servers listen; VNCHost is the
	// address reported to the console proxy (default VNCListen).
	VNCListen, VNCHost string
	// KeepQcow2Bases keeps qcow2 images as qcow2 base files; by default
	// every base is converted to raw (nova's force_raw_images).
	KeepQcow2Bases bool
	// ConfigDriveFormat is iso9660 (default) or vfat.
	ConfigDriveFormat string
	// ForceConfigDrive gives every instance a config drive.
	ForceConfigDrive bool
	// CleanShutdownTimeout bounds the ACPI shutdown before a cold
	// migration (nova's shutdown_timeout; default 60 s).
	CleanShutdownTimeout time.Duration
	// SoftRebootTimeout is how long a soft reboot waits for the guest to
	// shut down before it is destroyed and started again (nova's
	// wait_soft_reboot_seconds; default 120 s).
	SoftRebootTimeout time.Duration
	// Images fetches kernels and ramdisks; without it such images fail.
	Images disk.Fetcher
	// LiveMigrationURI is how other hosts' libvirtd reach this host's
	// for a live migration (nova's live_migration_uri); empty is
	// qemu+tcp://<MigrationAddress>/system.
	LiveMigrationURI string
	// MigrationAddress is the address of this host other hosts send live
	// migrations' memory and disks to (nova's
	// live_migration_inbound_addr); default 127.0.0.1.
	MigrationAddress string
	// Dial connects to libvirtd; nil dials ConnectionURI over its socket.
	Dial func(uri string) (Conn, error)
	// EventBuffer is how many lifecycle events wait for a reader.
	EventBuffer int
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// Log receives the driver's log; nil is slog.Default().
	Log *slog.Logger
}

// Driver runs the instances of one host as libvirt domains.
type Driver struct {
	opts   Options
	log    *slog.Logger
	events chan virt.LifecycleEvent
	root   string // <state>/instances
	disks  *disk.Cache

	mu       sync.Mutex
	conn     Conn
	stop     context.CancelFunc
	host     string
	virtType string
	// hvVersion is QEMU's version as libvirt reports it.
	hvVersion int64
	instances map[string]*instance
	// migrating are cold migrations' source copies (<uuid>_resize).
	migrating map[string]*instance
	// incoming are live migrations PreLiveMigration made ready.
	incoming map[string]*instance
	dropped  int
}

var _ virt.Driver = (*Driver)(nil)

// New returns a driver; Init connects it.
func New(opts Options) *Driver {
	opts.ConnectionURI = cmp.Or(opts.ConnectionURI, "qemu:///system")
	opts.VNCListen = cmp.Or(opts.VNCListen, "127.0.0.1")
	opts.VNCHost = cmp.Or(opts.VNCHost, opts.VNCListen)
	opts.MigrationAddress = cmp.Or(opts.MigrationAddress, "127.0.0.1")
	opts.LiveMigrationURI = cmp.Or(opts.LiveMigrationURI, "qemu+tcp://"+opts.MigrationAddress+"/system")
	opts.ConfigDriveFormat = cmp.Or(opts.ConfigDriveFormat, "iso9660")
	opts.EventBuffer = cmp.Or(opts.EventBuffer, 1024)
	opts.SoftRebootTimeout = cmp.Or(opts.SoftRebootTimeout, 120*time.Second)
	opts.CleanShutdownTimeout = cmp.Or(opts.CleanShutdownTimeout, 60*time.Second)
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Dial == nil {
		opts.Dial = func(uri string) (Conn, error) { return Dial(uri) }
	}
	log := opts.Log
	if log == nil {
		log = slog.Default()
	}
	return &Driver{opts: opts, log: log.With("driver", "libvirt"), events: make(chan virt.LifecycleEvent, opts.EventBuffer),
		instances: map[string]*instance{}, migrating: map[string]*instance{}, incoming: map[string]*instance{}}
}

// Init connects to libvirtd, subscribes to its lifecycle events, chooses
// the domain type and takes back the instances a previous run recorded.
func (d *Driver) Init(ctx context.Context, host string) error {
	if host == "" {
		return fmt.Errorf("init libvirt driver: %w: empty host name", virt.ErrInvalidSpec)
	}
	if d.opts.StateDir == "" {
		return fmt.Errorf("init libvirt driver: %w: no state directory", virt.ErrInvalidSpec)
	}
	switch d.opts.VirtType {
	case "", "qemu", "kvm":
	default:
		return fmt.Errorf("init libvirt driver: %w: virt_type %q is not qemu or kvm", virt.ErrInvalidSpec, d.opts.VirtType)
	}
	state, err := filepath.Abs(d.opts.StateDir)
	if err != nil {
		return fmt.Errorf("init libvirt driver: %w", err)
	}
	img, err := exec.LookPath(cmp.Or(d.opts.QEMUImg, "qemu-img"))
	if err != nil {
		return fmt.Errorf("init libvirt driver: %w (install qemu-utils)", err)
	}
	root := filepath.Join(state, "instances")
	// The guests' QEMU runs as libvirt's user: it must reach the disks.
	for _, dir := range []string{root, filepath.Join(root, "_base")} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("init libvirt driver: %w", err)
		}
	}
	conn, err := d.opts.Dial(d.opts.ConnectionURI)
	if err != nil {
		return fmt.Errorf("init libvirt driver: %w", err)
	}
	caps, err := capabilities(conn)
	if err != nil {
		conn.Disconnect()
		return fmt.Errorf("init libvirt driver: %w", err)
	}
	virtType := d.opts.VirtType
	if !slices.Contains(caps.domainTypes, cmp.Or(virtType, "qemu")) {
		conn.Disconnect()
		return fmt.Errorf("init libvirt driver: %w: libvirt at %s offers x86_64 domains of types %v, not %s",
			virt.ErrNotSupported, d.opts.ConnectionURI, caps.domainTypes, cmp.Or(virtType, "qemu"))
	}
	if virtType == "" {
		virtType = "qemu"
		if slices.Contains(caps.domainTypes, "kvm") {
			virtType = "kvm"
		}
	}
	hv, err := conn.ConnectGetVersion()
	if err != nil {
		conn.Disconnect()
		return fmt.Errorf("init libvirt driver: hypervisor version: %w", err)
	}
	evctx, stop := context.WithCancel(context.Background())
	events, err := conn.LifecycleEvents(evctx)
	if err != nil {
		stop()
		conn.Disconnect()
		return fmt.Errorf("init libvirt driver: subscribe to lifecycle events: %w", err)
	}
	d.mu.Lock()
	d.opts.StateDir, d.root = state, root
	d.disks = &disk.Cache{QEMUImg: img, Dir: filepath.Join(root, "_base"), KeepQcow2Bases: d.opts.KeepQcow2Bases, Images: d.opts.Images}
	d.conn, d.stop, d.host, d.virtType, d.hvVersion = conn, stop, host, virtType, int64(hv)
	d.mu.Unlock()
	go d.watch(evctx, conn, events)
	d.log.InfoContext(ctx, "libvirt driver ready", "host", host, "uri", d.opts.ConnectionURI, "virt_type", virtType)
	if dir := closedAncestor(root); dir != "" {
		d.log.WarnContext(ctx, "libvirt runs QEMU as its own user, which cannot reach the instances through this folder: guests will not start (chmod o+x it)",
			"folder", dir)
	}
	return d.adoptAll(ctx)
}

// Close ends the connection to libvirtd; the domains keep running.
func (d *Driver) Close() error {
	d.mu.Lock()
	conn, stop := d.conn, d.stop
	d.conn, d.stop = nil, nil
	d.mu.Unlock()
	if stop != nil {
		stop()
	}
	if conn == nil {
		return nil
	}
	return conn.Disconnect()
}

// VirtType is the domain type guests run as: kvm or qemu.
func (d *Driver) VirtType() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.virtType
}

// hostCaps is what the driver takes from libvirt's capabilities.
type hostCaps struct {
	cpu         virt.CPUInfo
	domainTypes []string
}

func capabilities(conn Conn) (hostCaps, error) {
	doc, err := conn.ConnectGetCapabilities()
	if err != nil {
		return hostCaps{}, fmt.Errorf("capabilities: %w", err)
	}
	var caps libvirtxml.Caps
	if err := caps.Unmarshal(doc); err != nil {
		return hostCaps{}, fmt.Errorf("decode capabilities: %w", err)
	}
	var out hostCaps
	if c := caps.Host.CPU; c != nil {
		out.cpu = virt.CPUInfo{Arch: c.Arch, Vendor: c.Vendor, Model: c.Model}
		for _, f := range c.FeatureFlags {
			out.cpu.Features = append(out.cpu.Features, f.Name)
		}
		if t := c.Topology; t != nil {
			out.cpu.Sockets, out.cpu.Cores, out.cpu.Threads = t.Sockets, t.Cores, t.Threads
		}
		if m := c.MaxPhysAddr; m != nil {
			out.cpu.MaxPhysAddrBits = int(m.Bits)
		}
	}
	for _, g := range caps.Guests {
		if g.OSType != "hvm" || g.Arch.Name != "x86_64" {
			continue
		}
		for _, dom := range g.Arch.Domains {
			if !slices.Contains(out.domainTypes, dom.Type) {
				out.domainTypes = append(out.domainTypes, dom.Type)
			}
		}
	}
	return out, nil
}

// HostResources reports the host as libvirt sees it (nodeinfo and
// capabilities) and what its instances' flavors take, counting stopped
// instances and unconfirmed migrations as nova does.
func (d *Driver) HostResources(ctx context.Context) (virt.HostResources, error) {
	conn, err := d.connection()
	if err != nil {
		return virt.HostResources{}, fmt.Errorf("host resources: %w", err)
	}
	_, memKiB, cpus, _, _, _, _, _, err := conn.NodeGetInfo()
	if err != nil {
		return virt.HostResources{}, fmt.Errorf("host resources: node info: %w", err)
	}
	caps, err := capabilities(conn)
	if err != nil {
		return virt.HostResources{}, fmt.Errorf("host resources: %w", err)
	}
	var fs statfs
	if err := fs.of(d.opts.StateDir); err != nil {
		return virt.HostResources{}, fmt.Errorf("host resources: %w", err)
	}
	h := virt.HostResources{VCPUs: int(cpus), MemoryMB: int64(memKiB / 1024), DiskGB: fs.totalGB, CPUInfo: caps.cpu}
	d.mu.Lock()
	for _, set := range []map[string]*instance{d.instances, d.migrating, d.incoming} {
		for _, in := range set {
			f := in.rec.Spec.Flavor
			h.VCPUsUsed += f.VCPUs
			h.MemoryMBUsed += int64(f.MemoryMB)
			h.DiskGBUsed += int64(f.RootGB+f.EphemeralGB) + int64(f.SwapMB+1023)/1024
		}
	}
	h.HypervisorType = "QEMU"
	h.HypervisorVersion = d.hvVersion
	h.HypervisorHostname = d.host
	h.SupportedInstances = []virt.SupportedInstance{{Arch: "x86_64", HypervisorType: d.virtType, VMMode: "hvm"}}
	d.mu.Unlock()
	return h, nil
}

// connection is the libvirt connection, or an error before Init.
func (d *Driver) connection() (Conn, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.conn == nil {
		if d.stop != nil {
			return nil, fmt.Errorf("the connection to libvirtd at %s was lost; reconnecting", d.opts.ConnectionURI)
		}
		return nil, errors.New("the driver is not connected to libvirt")
	}
	return d.conn, nil
}

// ListInstances lists the host's instances, running or not, by name.
func (d *Driver) ListInstances(ctx context.Context) ([]virt.InstanceInfo, error) {
	d.mu.Lock()
	ins := make([]*instance, 0, len(d.instances))
	for _, in := range d.instances {
		ins = append(ins, in)
	}
	d.mu.Unlock()
	out := make([]virt.InstanceInfo, 0, len(ins))
	for _, in := range ins {
		st, err := d.state(in)
		if err != nil {
			return nil, fmt.Errorf("list instances: %w", err)
		}
		out = append(out, virt.InstanceInfo{UUID: in.rec.Spec.UUID, Name: in.rec.Spec.Name, State: st})
	}
	slices.SortFunc(out, func(a, b virt.InstanceInfo) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.UUID, b.UUID))
	})
	return out, nil
}

// GetInfo is one instance's power state, as libvirt tells it.
func (d *Driver) GetInfo(ctx context.Context, uuid string) (virt.InstanceInfo, error) {
	d.mu.Lock()
	in, ok := d.instances[uuid]
	d.mu.Unlock()
	if !ok {
		return virt.InstanceInfo{}, virt.NotFound(uuid)
	}
	st, err := d.state(in)
	if err != nil {
		return virt.InstanceInfo{}, fmt.Errorf("get info %s: %w", uuid, err)
	}
	return virt.InstanceInfo{UUID: uuid, Name: in.rec.Spec.Name, State: st}, nil
}

// Events delivers lifecycle events.
func (d *Driver) Events() <-chan virt.LifecycleEvent { return d.events }

// DroppedEvents counts events no reader took in time.
func (d *Driver) DroppedEvents() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.dropped
}

// emit queues an event without blocking; the caller holds d.mu.
func (d *Driver) emit(in *instance, t virt.Transition) {
	in.reported = t.PowerState()
	select {
	case d.events <- virt.LifecycleEvent{UUID: in.rec.Spec.UUID, Transition: t, Time: d.opts.Now()}:
	default:
		d.dropped++
	}
}

// domainOf is the libvirt handle of an instance's domain.
func domainOf(in *instance) golibvirt.Domain {
	return golibvirt.Domain{Name: in.rec.Spec.Name, UUID: golibvirt.UUID(uuid.MustParse(in.rec.Spec.UUID))}
}

// hostname is the guest's host name.
func hostname(spec *virt.InstanceSpec) string { return cmp.Or(spec.Hostname, spec.Name) }

// closedAncestor is the first folder on the way to dir that others may
// not traverse, or "".
func closedAncestor(dir string) string {
	for p := dir; ; p = filepath.Dir(p) {
		if st, err := os.Stat(p); err == nil && st.Mode().Perm()&0o001 == 0 {
			return p
		}
		if p == filepath.Dir(p) {
			return ""
		}
	}
}
