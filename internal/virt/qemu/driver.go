// Package qemu is the virt.Driver that runs each instance as a QEMU process
// it starts and owns (never daemonized), driven over QMP (package qmp).
// Instances live under <state>/instances/<uuid>/ as nova lays them out:
// a qcow2 overlay on a base image cached by image id in _base, ephemeral
// and swap disks, a config drive, the serial console log, the QMP socket
// and QEMU's pid file. The process is started paused and resumed once the
// driver holds its monitor. An instance.json beside the disks records the
// instance, so that a restarted agent adopts running guests through their
// QMP sockets and pid files and knows the stopped ones.
//
// Guests run under KVM when a probe boot proves KVM runs guests, otherwise
// under TCG. Networking is QEMU's user-mode network (or a tap device a
// network agent made), so guests boot without privileges.
package qemu

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/virt"
	"github.com/nimbus-cloud/nimbus/internal/virt/disk"
	"github.com/nimbus-cloud/nimbus/internal/virt/qemu/qmp"
)

// ImageFetcher downloads images the driver needs beyond the root disk's:
// the kernel and ramdisk of kernel_id/ramdisk_id images.
type ImageFetcher interface {
	Download(ctx context.Context, imageID string) (io.ReadCloser, error)
}

// Options configure the driver.
type Options struct {
	// StateDir holds instances/ (nova's state_path).
	StateDir string
	// QEMU is the emulator binary; default qemu-system-x86_64 on PATH.
	QEMU string
	// QEMUImg is qemu-img; default from PATH.
	QEMUImg string
	// Accel is tcg or kvm; empty probes KVM once and falls back to tcg.
	Accel string
	// VNCListen is where guests' VNC servers listen; VNCHost is the
	// address reported to the console proxy (default VNCListen).
	VNCListen, VNCHost string
	// VNCPortMin and VNCPortMax bound the VNC ports (5900 and up).
	VNCPortMin, VNCPortMax int
	// MigrationListen is the address incoming live migrations and their
	// disk copies listen on (nova's live_migration_inbound_addr).
	MigrationListen string
	// LiveMigrationBandwidth caps a live migration's memory transfer, in
	// bytes per second, until it is forced to complete; 0 is no cap.
	LiveMigrationBandwidth int64
	// KeepQcow2Bases keeps qcow2 images as qcow2 base files; by default
	// every base is converted to raw, as nova's force_raw_images.
	KeepQcow2Bases bool
	// ConfigDriveFormat is iso9660 (default) or vfat.
	ConfigDriveFormat string
	// ForceConfigDrive gives every instance a config drive.
	ForceConfigDrive bool
	// CleanShutdownTimeout bounds the ACPI shutdown before a cold
	// migration (nova's shutdown_timeout; default 60 s).
	CleanShutdownTimeout time.Duration
	// SoftRebootTimeout is how long a soft reboot waits for the guest to
	// go down before it resets it (nova's wait_soft_reboot_seconds).
	SoftRebootTimeout time.Duration
	// NoSandbox runs QEMU without its seccomp sandbox.
	NoSandbox bool
	// Images fetches kernels and ramdisks; without it such images fail.
	Images ImageFetcher
	// EventBuffer is how many lifecycle events wait for a reader.
	EventBuffer int
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// Log receives the driver's log; nil is slog.Default().
	Log *slog.Logger
}

// Driver runs the instances of one host as QEMU processes.
type Driver struct {
	opts    Options
	log     *slog.Logger
	events  chan virt.LifecycleEvent
	root    string // <state>/instances
	base    string // <state>/instances/_base
	qemuBin string
	imgBin  string

	disks *disk.Cache

	mu        sync.Mutex
	host      string
	accel     string
	version   qmp.Version
	instances map[string]*instance
	// migrating are cold migrations' source copies (<uuid>_resize).
	migrating map[string]*instance
	// incoming are live migrations PreLiveMigration made ready.
	incoming map[string]*instance
	dropped  int
}

var _ virt.Driver = (*Driver)(nil)

// New returns a driver; Init readies it.
func New(opts Options) *Driver {
	opts.VNCListen = cmp.Or(opts.VNCListen, "127.0.0.1")
	opts.VNCHost = cmp.Or(opts.VNCHost, opts.VNCListen)
	opts.VNCPortMin = cmp.Or(opts.VNCPortMin, 5900)
	opts.VNCPortMax = cmp.Or(opts.VNCPortMax, 5900+1000)
	opts.MigrationListen = cmp.Or(opts.MigrationListen, "127.0.0.1")
	opts.ConfigDriveFormat = cmp.Or(opts.ConfigDriveFormat, "iso9660")
	opts.EventBuffer = cmp.Or(opts.EventBuffer, 1024)
	opts.SoftRebootTimeout = cmp.Or(opts.SoftRebootTimeout, 120*time.Second)
	opts.CleanShutdownTimeout = cmp.Or(opts.CleanShutdownTimeout, 60*time.Second)
	if opts.Now == nil {
		opts.Now = time.Now
	}
	log := opts.Log
	if log == nil {
		log = slog.Default()
	}
	root := filepath.Join(opts.StateDir, "instances")
	return &Driver{opts: opts, log: log.With("driver", "qemu"), events: make(chan virt.LifecycleEvent, opts.EventBuffer),
		root: root, base: filepath.Join(root, "_base"),
		instances: map[string]*instance{}, migrating: map[string]*instance{}, incoming: map[string]*instance{}}
}

// Init finds QEMU, chooses the accelerator and adopts the instances a
// previous run left: running guests through their monitors, stopped ones
// from their records.
func (d *Driver) Init(ctx context.Context, host string) error {
	if host == "" {
		return fmt.Errorf("init qemu driver: %w: empty host name", virt.ErrInvalidSpec)
	}
	if d.opts.StateDir == "" {
		return fmt.Errorf("init qemu driver: %w: no state directory", virt.ErrInvalidSpec)
	}
	state, err := filepath.Abs(d.opts.StateDir)
	if err != nil {
		return fmt.Errorf("init qemu driver: %w", err)
	}
	d.opts.StateDir, d.root, d.base = state, filepath.Join(state, "instances"), filepath.Join(state, "instances", "_base")
	// A unix socket's path has at most 107 bytes: the monitor's must fit.
	if sock := filepath.Join(d.root, "00000000-0000-0000-0000-000000000000", fileQMP); len(sock) > 107 {
		return fmt.Errorf("init qemu driver: %w: state path %s is too long for the instances' monitor sockets (%d of 107 bytes)",
			virt.ErrInvalidSpec, state, len(sock))
	}
	qemuBin, err := lookPath(d.opts.QEMU, "qemu-system-x86_64")
	if err != nil {
		return fmt.Errorf("init qemu driver: %w", err)
	}
	imgBin, err := lookPath(d.opts.QEMUImg, "qemu-img")
	if err != nil {
		return fmt.Errorf("init qemu driver: %w", err)
	}
	version, err := qemuVersion(ctx, qemuBin)
	if err != nil {
		return fmt.Errorf("init qemu driver: %w", err)
	}
	if err := os.MkdirAll(d.base, 0o700); err != nil {
		return fmt.Errorf("init qemu driver: %w", err)
	}
	accel := d.opts.Accel
	switch accel {
	case "tcg", "kvm":
	case "":
		accel = d.chooseAccel(ctx, qemuBin, version)
	default:
		return fmt.Errorf("init qemu driver: %w: accelerator %q is not tcg or kvm", virt.ErrInvalidSpec, accel)
	}
	d.mu.Lock()
	d.host, d.qemuBin, d.imgBin, d.version, d.accel = host, qemuBin, imgBin, version, accel
	d.disks = &disk.Cache{QEMUImg: imgBin, Dir: d.base, KeepQcow2Bases: d.opts.KeepQcow2Bases, Images: d.opts.Images}
	d.mu.Unlock()
	d.log.InfoContext(ctx, "qemu driver ready", "host", host, "qemu", version.String(), "accel", accel)
	return d.adoptAll(ctx)
}

func lookPath(configured, name string) (string, error) {
	p, err := exec.LookPath(cmp.Or(configured, name))
	if err != nil {
		return "", fmt.Errorf("%s not found (install qemu-system-x86 and qemu-utils): %w", cmp.Or(configured, name), err)
	}
	return p, nil
}

// Accel is the accelerator guests run under: kvm or tcg.
func (d *Driver) Accel() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.accel
}

// Close lets go of the guests without stopping them, as an agent that
// exits does: they keep running, and the next Init adopts them.
func (d *Driver) Close() error {
	d.mu.Lock()
	var procs []*process
	for _, set := range []map[string]*instance{d.instances, d.incoming} {
		for _, in := range set {
			if in.proc != nil {
				procs = append(procs, in.proc)
				in.proc.detached.Store(true)
			}
		}
	}
	d.mu.Unlock()
	for _, p := range procs {
		p.qmp.Close()
	}
	return nil
}

// HostResources reports the machine and what its instances' flavors take,
// counting stopped instances and unconfirmed migrations as nova does.
func (d *Driver) HostResources(ctx context.Context) (virt.HostResources, error) {
	d.mu.Lock()
	host, accel, version := d.host, d.accel, d.version
	var used virt.HostResources
	for _, set := range []map[string]*instance{d.instances, d.migrating, d.incoming} {
		for _, in := range set {
			f := in.rec.Spec.Flavor
			used.VCPUsUsed += f.VCPUs
			used.MemoryMBUsed += int64(f.MemoryMB)
			used.DiskGBUsed += int64(f.RootGB+f.EphemeralGB) + int64(f.SwapMB+1023)/1024
		}
	}
	d.mu.Unlock()
	h, err := probeHost(d.opts.StateDir)
	if err != nil {
		return virt.HostResources{}, fmt.Errorf("host resources: %w", err)
	}
	h.VCPUsUsed, h.MemoryMBUsed, h.DiskGBUsed = used.VCPUsUsed, used.MemoryMBUsed, used.DiskGBUsed
	h.HypervisorType = "QEMU"
	h.HypervisorVersion = version.Number()
	h.HypervisorHostname = host
	h.SupportedInstances = []virt.SupportedInstance{{Arch: "x86_64", HypervisorType: accelHV(accel), VMMode: "hvm"}}
	return h, nil
}

// accelHV is nova's hypervisor type name of an accelerator.
func accelHV(accel string) string {
	if accel == "kvm" {
		return "kvm"
	}
	return "qemu"
}

// ListInstances lists the host's instances, running or not, by name.
func (d *Driver) ListInstances(ctx context.Context) ([]virt.InstanceInfo, error) {
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
	d.mu.Lock()
	defer d.mu.Unlock()
	in, ok := d.instances[uuid]
	if !ok {
		return virt.InstanceInfo{}, virt.NotFound(uuid)
	}
	return in.info(), nil
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

// qemuVersion runs qemu --version.
func qemuVersion(ctx context.Context, bin string) (qmp.Version, error) {
	out, err := exec.CommandContext(ctx, bin, "--version").Output()
	if err != nil {
		return qmp.Version{}, fmt.Errorf("%s --version: %w", bin, err)
	}
	var v qmp.Version
	line, _, _ := strings.Cut(string(out), "\n")
	if _, err := fmt.Sscanf(line, "QEMU emulator version %d.%d.%d", &v.Major, &v.Minor, &v.Micro); err != nil {
		return qmp.Version{}, fmt.Errorf("%s --version said %q: %w", bin, line, err)
	}
	return v, nil
}
