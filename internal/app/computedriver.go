package app

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/config"
	"github.com/nimbus-cloud/nimbus/internal/virt"
	"github.com/nimbus-cloud/nimbus/internal/virt/fake"
	"github.com/nimbus-cloud/nimbus/internal/virt/libvirt"
	"github.com/nimbus-cloud/nimbus/internal/virt/qemu"
)

// The virt drivers [compute] compute_driver names.
const (
	driverFake    = "fake"
	driverQEMU    = "qemu"
	driverLibvirt = "libvirt"
)

// computeDriverName is the driver of this process's compute hosts:
// compute_driver, or when it is empty qemu where qemu-system-x86_64 is
// installed and fake elsewhere, said in the log either way.
func computeDriverName(cfg *config.Config, log *slog.Logger) string {
	if d := cfg.Compute.ComputeDriver; d != "" {
		return d
	}
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		log.Warn("qemu-system-x86_64 is not installed: compute_driver fake, servers are records without guests "+
			"(install qemu-system-x86 and qemu-utils, or set [compute] compute_driver)", "compute_driver", driverFake)
		return driverFake
	}
	log.Info("qemu-system-x86_64 is installed: servers are QEMU guests", "compute_driver", driverQEMU)
	return driverQEMU
}

// drivers makes the virt drivers of this process's compute hosts, all of
// one kind, and lets them go when the cloud closes.
type drivers struct {
	cfg    *config.Config
	name   string // fake or qemu
	images qemu.ImageFetcher
	log    *slog.Logger
	// display is the VNC server the fake driver's instances share (nil:
	// none; their consoles lead nowhere).
	display *fake.Display

	mu sync.Mutex
	// open are the qemu and libvirt drivers made, which Close lets go.
	open []io.Closer
}

func newDrivers(cfg *config.Config, images qemu.ImageFetcher, display *fake.Display, log *slog.Logger) *drivers {
	return &drivers{cfg: cfg, name: computeDriverName(cfg, log), images: images, log: log, display: display}
}

// hosts are the compute hosts this process serves: the host itself for
// one, host-1 ... host-N for more (fake_host_count or qemu_host_count).
func (ds *drivers) hosts(host string) []string {
	n := ds.cfg.Compute.FakeHostCount
	if ds.name != driverFake {
		n = ds.cfg.Compute.QEMUHostCount
	}
	return fakeHostNames(host, n)
}

// newDriver builds the virt driver of one compute host; the agent inits it.
// A qemu host keeps its instances in state_path/instances, or in
// state_path/hosts/<host>/instances when this process serves several.
func (ds *drivers) newDriver(host string) (virt.Driver, error) {
	cfg := ds.cfg
	switch ds.name {
	case driverFake:
		return fake.New(fake.Options{VCPUs: cfg.Compute.FakeVCPUs, MemoryMB: int64(cfg.Compute.FakeMemoryMB),
			DiskGB: int64(cfg.Compute.FakeDiskGB), VNCHost: cfg.Default.MyIP, Display: ds.display}), nil
	case driverQEMU:
		o := qemuOptions(cfg)
		o.StateDir, o.Images, o.Log = ds.stateDir(host), ds.images, ds.log
		d := qemu.New(o)
		ds.keep(d)
		return d, nil
	case driverLibvirt:
		o := libvirtOptions(cfg)
		o.StateDir, o.Images, o.Log = ds.stateDir(host), ds.images, ds.log
		d := libvirt.New(o)
		ds.keep(d)
		return d, nil
	default:
		return nil, fmt.Errorf("compute_driver %q: no such virt driver (fake, qemu or libvirt)", ds.name)
	}
}

// qemuOptions are the qemu driver's options of the configuration. Live
// migrations come in on [qemu] live_migration_inbound_addr, else my_ip:
// the destination's driver listens there and tells the source so in its
// migrate data, so it must be an address of this host other hosts reach.
func qemuOptions(cfg *config.Config) qemu.Options {
	return qemu.Options{
		VNCListen:              cfg.VNC.ServerListen,
		VNCHost:                cfg.VNC.ServerProxyclientAddress,
		Accel:                  qemuAccel(cfg.QEMU.VirtType),
		MigrationListen:        cmp.Or(cfg.QEMU.LiveMigrationInboundAddr, cfg.Default.MyIP),
		LiveMigrationBandwidth: int64(cfg.QEMU.LiveMigrationBandwidth) << 20,
		KeepQcow2Bases:         !cfg.Compute.ForceRawImages,
		ConfigDriveFormat:      cfg.Compute.ConfigDriveFormat,
		ForceConfigDrive:       cfg.Compute.ForceConfigDrive,
		CleanShutdownTimeout:   time.Duration(cfg.Compute.ShutdownTimeout) * time.Second,
		SoftRebootTimeout:      time.Duration(cfg.QEMU.WaitSoftRebootSeconds) * time.Second,
	}
}

// libvirtOptions are the libvirt driver's options of the configuration:
// nova's [libvirt] options, the compute and VNC ones the qemu driver
// takes too. A %s in live_migration_uri is, as in nova, the destination's
// live_migration_inbound_addr: this host's, as the URI is how sources
// reach this host.
func libvirtOptions(cfg *config.Config) libvirt.Options {
	inbound := cmp.Or(cfg.Libvirt.LiveMigrationInboundAddr, cfg.Default.MyIP)
	return libvirt.Options{
		ConnectionURI:        cfg.Libvirt.ConnectionURI,
		VirtType:             cfg.Libvirt.VirtType,
		VNCListen:            cfg.VNC.ServerListen,
		VNCHost:              cfg.VNC.ServerProxyclientAddress,
		KeepQcow2Bases:       !cfg.Compute.ForceRawImages,
		ConfigDriveFormat:    cfg.Compute.ConfigDriveFormat,
		ForceConfigDrive:     cfg.Compute.ForceConfigDrive,
		CleanShutdownTimeout: time.Duration(cfg.Compute.ShutdownTimeout) * time.Second,
		SoftRebootTimeout:    time.Duration(cfg.Libvirt.WaitSoftRebootSeconds) * time.Second,
		LiveMigrationURI:     strings.ReplaceAll(cfg.Libvirt.LiveMigrationURI, "%s", inbound),
		MigrationAddress:     inbound,
	}
}

// stateDir is where a host's instances live: state_path/instances, or
// state_path/hosts/<host>/instances when this process serves several.
func (ds *drivers) stateDir(host string) string {
	if ds.cfg.Compute.QEMUHostCount > 1 {
		return filepath.Join(ds.cfg.Default.StatePath, "hosts", host)
	}
	return ds.cfg.Default.StatePath
}

// qemuAccel is the qemu driver's accelerator of nova's virt_type; empty
// probes for KVM.
func qemuAccel(virtType string) string {
	if virtType == "qemu" {
		return "tcg"
	}
	return virtType
}

// keep remembers a driver for Close.
func (ds *drivers) keep(d io.Closer) {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	ds.open = append(ds.open, d)
}

// Close lets go of the qemu and libvirt drivers; their guests keep
// running for the next start to adopt.
func (ds *drivers) Close() error {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	var errs []error
	for _, d := range ds.open {
		errs = append(errs, d.Close())
	}
	return errors.Join(errs...)
}
