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
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/virt"
	"github.com/nimbus-cloud/nimbus/internal/virt/libvirt/libvirttest"
	"github.com/nimbus-cloud/nimbus/internal/virt/qemu"
	"github.com/nimbus-cloud/nimbus/internal/virt/virttest"
)

// The tests against a real libvirtd use one of libvirttest's; live
// migration needs a second, private libvirtd, with another host uuid.
// The tests stop the daemons they started when they end.

var (
	daemonOnce sync.Once
	daemonURI  string
	daemonErr  error
	peerOnce   sync.Once
	peerURI    string
	peerErr    error
	// stopDaemons ends the daemons the tests started.
	stopDaemons []func()
)

func TestMain(m *testing.M) {
	code := m.Run()
	for i := len(stopDaemons) - 1; i >= 0; i-- {
		stopDaemons[i]()
	}
	os.Exit(code)
}

// requireLibvirt skips a test that needs libvirtd on a machine where none
// can be had, and returns the URI of one.
func requireLibvirt(t testing.TB) string {
	t.Helper()
	libvirttest.RequireQEMU(t)
	daemonOnce.Do(func() {
		var stop func()
		daemonURI, stop, daemonErr = libvirttest.Shared("4e494d42-5553-4000-8000-000000000001", 25900)
		if daemonErr == nil {
			stopDaemons = append(stopDaemons, stop)
		}
	})
	if daemonErr != nil {
		t.Skipf("no libvirtd: %v", daemonErr)
	}
	return daemonURI
}

// peerLibvirt is a second libvirtd, the other host of a live migration,
// or why there is none.
func peerLibvirt() (string, error) {
	peerOnce.Do(func() {
		var stop func()
		peerURI, stop, peerErr = libvirttest.Private("4e494d42-5553-4000-8000-000000000002", 26400)
		if peerErr == nil {
			stopDaemons = append(stopDaemons, stop)
		}
	})
	return peerURI, peerErr
}

// stateDir is a temporary folder the guests' QEMU, which libvirt runs as
// its own user, can reach.
func stateDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "nlvs")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// newDriver is an initialized driver of TCG domains for host in its own
// state folder, destroying its instances when the test ends.
func newDriver(t testing.TB, uri, host string) *Driver {
	t.Helper()
	// TCG unless $NIMBUS_TEST_LIBVIRT_VIRT_TYPE says kvm: nested KVM is
	// not always fit to run guests. The boot sector guest ignores the
	// power button: short waits for it.
	virtType := cmp.Or(os.Getenv("NIMBUS_TEST_LIBVIRT_VIRT_TYPE"), "qemu")
	d := New(Options{StateDir: stateDir(t), ConnectionURI: uri, VirtType: virtType, LiveMigrationURI: uri,
		SoftRebootTimeout: time.Second, CleanShutdownTimeout: 100 * time.Millisecond,
		Log: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err := d.Init(t.Context(), host); err != nil {
		t.Fatalf("init: %v", err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		list, _ := d.ListInstances(ctx)
		for _, in := range list {
			if err := d.Destroy(ctx, in.UUID, false); err != nil {
				t.Errorf("cleanup: destroy %s: %v", in.UUID, err)
			}
		}
		d.mu.Lock()
		var migrating, incoming []string
		for u := range d.migrating {
			migrating = append(migrating, u)
		}
		for u := range d.incoming {
			incoming = append(incoming, u)
		}
		d.mu.Unlock()
		for _, u := range migrating {
			_ = d.ConfirmMigration(ctx, u)
		}
		for _, u := range incoming {
			_ = d.RollbackLiveMigrationAtDestination(ctx, u)
		}
		d.Close()
	})
	return d
}

var (
	bootImageOnce sync.Once
	bootImagePath string
	bootImageErr  error
)

// bootSectorBanner is what the boot sector guest prints.
const bootSectorBanner = "NIMBUS-BOOT: banner"

// bootSectorImage is a 1 MiB raw disk whose boot sector prints a banner on
// the serial console and halts: a guest that boots through the firmware
// like any other but costs no CPU once up.
func bootSectorImage(t testing.TB) virt.ImageRef {
	t.Helper()
	bootImageOnce.Do(func() {
		dir, err := os.MkdirTemp("", "nimbus-bootsector-")
		if err != nil {
			bootImageErr = err
			return
		}
		stopDaemons = append(stopDaemons, func() { os.RemoveAll(dir) })
		if bootImageErr = os.Chmod(dir, 0o755); bootImageErr != nil {
			return
		}
		bootImagePath = filepath.Join(dir, "boot.img")
		img := make([]byte, 1<<20)
		copy(img, qemu.BootSector(bootSectorBanner+"\r\n", 1, "NIMBUS-BOOT: halted\r\n"))
		bootImageErr = os.WriteFile(bootImagePath, img, 0o644)
	})
	if bootImageErr != nil {
		t.Fatal(bootImageErr)
	}
	return virt.ImageRef{ID: "bootsector", DiskFormat: "raw", Path: bootImagePath}
}

// bootedDriver waits, after a spawn, for the guest's banner on its
// console, so that the conformance suite's console checks find the
// guest's output rather than race its firmware.
type bootedDriver struct{ *Driver }

func (b bootedDriver) Spawn(ctx context.Context, spec *virt.InstanceSpec) error {
	if err := b.Driver.Spawn(ctx, spec); err != nil {
		return err
	}
	if !spec.StartStopped {
		waitConsole(ctx, b.Driver, spec.UUID, bootSectorBanner)
	}
	return nil
}

// waitConsole polls the console log until it holds want; it gives up
// after a minute, a guard against hangs that measures nothing.
func waitConsole(ctx context.Context, d *Driver, uuid, want string) string {
	deadline := time.Now().Add(time.Minute)
	for {
		out, err := d.GetConsoleOutput(ctx, uuid)
		if err == nil && strings.Contains(out, want) || time.Now().After(deadline) || ctx.Err() != nil {
			return out
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestConformance(t *testing.T) {
	uri := requireLibvirt(t)
	skip := map[string]string{}
	peer, err := peerLibvirt()
	if err != nil {
		skip["LiveMigration"] = "no second libvirtd: " + err.Error()
	}
	virttest.Suite{
		NewDriver: func(t *testing.T, host string) virt.Driver {
			// h2, the other host of migrations, has its own libvirtd.
			u := uri
			if host == "h2" && peer != "" {
				u = peer
			}
			return bootedDriver{newDriver(t, u, host)}
		},
		Image:  func(t *testing.T) virt.ImageRef { return bootSectorImage(t) },
		Flavor: virt.Flavor{Name: "tiny", VCPUs: 1, MemoryMB: 64, RootGB: 1},
		Skip:   skip,
	}.Run(t)
}

func TestGuestBootsAndShowsItsBanner(t *testing.T) {
	t.Parallel()
	uri := requireLibvirt(t)
	d := newDriver(t, uri, "h1")
	spec := &virt.InstanceSpec{UUID: "b0000000-0000-4000-8000-000000000001", Name: "instance-b0000001", ProjectID: "p",
		Flavor: virt.Flavor{VCPUs: 1, MemoryMB: 64, RootGB: 1}, Image: bootSectorImage(t), ConfigDrive: true}
	if err := d.Spawn(t.Context(), spec); err != nil {
		t.Fatal(err)
	}
	if out := waitConsole(t.Context(), d, spec.UUID, bootSectorBanner); !strings.Contains(out, bootSectorBanner) {
		t.Fatalf("console has no banner:\n%s", out)
	}
	conn, _ := d.connection()
	doc, err := conn.DomainGetXMLDesc(domainOf(d.instances[spec.UUID]), 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"type='qemu'", "disk.config", "console.log", "type='vnc'"} {
		if !strings.Contains(doc, want) {
			t.Errorf("live domain xml lacks %q:\n%s", want, doc)
		}
	}
}

var (
	testImageOnce sync.Once
	testImageDir  string
	testImageErr  error
)

// testImage builds the test guest (scripts/build-test-image.sh; quick
// when cached), a Linux kernel and busybox, and returns its folder.
func testImage(t testing.TB) string {
	t.Helper()
	testImageOnce.Do(func() {
		out, err := exec.Command("../../../scripts/build-test-image.sh").Output()
		if err != nil {
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				err = fmt.Errorf("%w: %s", err, ee.Stderr)
			}
			testImageErr = fmt.Errorf("build the test image: %w", err)
			return
		}
		testImageDir = strings.TrimSpace(string(out))
	})
	if testImageErr != nil {
		t.Fatal(testImageErr)
	}
	return testImageDir
}

// TestGuestFromDiskImage boots the real test guest from its disk image
// through libvirt: it reads its config drive, gets a lease on the
// user-mode network, and shuts down cleanly on the power button. Under
// TCG it costs a few CPU-seconds, so it is the one such guest.
func TestGuestFromDiskImage(t *testing.T) {
	t.Parallel()
	uri := requireLibvirt(t)
	dir := testImage(t)
	d := newDriver(t, uri, "h1")
	ctx := t.Context()
	spec := &virt.InstanceSpec{UUID: "d0000000-0000-4000-8000-000000000001", Name: "instance-d0000001", Hostname: "tiny", ProjectID: "p",
		Flavor:      virt.Flavor{VCPUs: 1, MemoryMB: 128, RootGB: 1},
		Image:       virt.ImageRef{ID: "tiny-disk", DiskFormat: "qcow2", Path: filepath.Join(dir, "disk.qcow2")},
		ConfigDrive: true, UserData: []byte("#cloud-config\nhostname: ignored\n")}
	start := time.Now()
	if err := d.Spawn(ctx, spec); err != nil {
		t.Fatal(err)
	}
	spawned := time.Since(start)
	out := waitConsole(ctx, d, spec.UUID, "NIMBUS-GUEST: ready")
	t.Logf("disk image through libvirt: spawn %s, ready after %s", spawned.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	for _, want := range []string{
		"NIMBUS-GUEST: ready",
		fmt.Sprintf("config-drive uuid=%s hostname=%s name=%s user_data=%dB network_data=yes", spec.UUID, spec.Hostname, spec.Name, len(spec.UserData)),
		"lease eth0 10.0.2.15/24 router=10.0.2.2",
	} {
		if !strings.Contains(out, want) {
			t.Fatalf("console lacks %q:\n%s", want, out)
		}
	}
	// The guest answers the power button: a clean power off.
	if err := d.PowerOff(ctx, spec.UUID, time.Minute); err != nil {
		t.Fatal(err)
	}
	if out, _ := d.GetConsoleOutput(ctx, spec.UUID); !strings.Contains(out, "acpi power button") {
		t.Errorf("the guest was not asked to power off:\n%s", out)
	}
	if info, _ := d.GetInfo(ctx, spec.UUID); info.State != virt.Shutdown {
		t.Errorf("after the power off: %s", info.State)
	}
}

// TestRescueBootsTheRescueImage boots a guest through libvirt, rescues it
// from an image whose boot sector prints another banner, and unrescues
// it: each boot shows on the console from the disk it should.
func TestRescueBootsTheRescueImage(t *testing.T) {
	t.Parallel()
	uri := requireLibvirt(t)
	d := newDriver(t, uri, "h1")
	ctx := t.Context()
	spec := &virt.InstanceSpec{UUID: "b0000000-0000-4000-8000-00000000a001", Name: "instance-b000a001", ProjectID: "p",
		Flavor: virt.Flavor{VCPUs: 1, MemoryMB: 64, RootGB: 1}, Image: bootSectorImage(t)}
	if err := d.Spawn(ctx, spec); err != nil {
		t.Fatal(err)
	}
	waitConsole(ctx, d, spec.UUID, bootSectorBanner)
	const rescueBanner = "NIMBUS-RESCUE: banner"
	dir := stateDir(t)
	path := filepath.Join(dir, "rescue.img")
	img := make([]byte, 1<<20)
	copy(img, qemu.BootSector(rescueBanner+"\r\n", 1, "NIMBUS-RESCUE: halted\r\n"))
	if err := os.WriteFile(path, img, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := d.Rescue(ctx, spec, virt.ImageRef{ID: "rescue-image", DiskFormat: "raw", Path: path}, ""); err != nil {
		t.Fatal(err)
	}
	if out := waitConsole(ctx, d, spec.UUID, rescueBanner); !strings.Contains(out, rescueBanner) {
		t.Fatalf("the rescue disk did not boot: %q", out)
	}
	if err := d.Unrescue(ctx, spec.UUID); err != nil {
		t.Fatal(err)
	}
	// The instance's own banner follows the rescue one once it boots; a
	// minute guards against a hang.
	var out string
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		out, _ = d.GetConsoleOutput(ctx, spec.UUID)
		if i := strings.LastIndex(out, rescueBanner); i >= 0 && strings.Contains(out[i:], bootSectorBanner) {
			break
		}
	}
	if i := strings.LastIndex(out, rescueBanner); i < 0 || !strings.Contains(out[i:], bootSectorBanner) {
		t.Errorf("after unrescue the instance's own disk did not boot: %q", out)
	}
}

// TestDiagnosticsOfARunningGuest reads libvirt's real counters: the
// firmware read the boot sector from vda, and the vCPU ran.
func TestDiagnosticsOfARunningGuest(t *testing.T) {
	t.Parallel()
	uri := requireLibvirt(t)
	d := newDriver(t, uri, "h1")
	ctx := t.Context()
	spec := &virt.InstanceSpec{UUID: "b0000000-0000-4000-8000-00000000a002", Name: "instance-b000a002", ProjectID: "p",
		Flavor: virt.Flavor{VCPUs: 2, MemoryMB: 64, RootGB: 1}, Image: bootSectorImage(t)}
	if err := d.Spawn(ctx, spec); err != nil {
		t.Fatal(err)
	}
	waitConsole(ctx, d, spec.UUID, bootSectorBanner)
	diag, err := d.Diagnostics(ctx, spec.UUID)
	if err != nil {
		t.Fatal(err)
	}
	if diag.State != "running" || diag.Hypervisor != d.VirtType() || len(diag.CPUs) != 2 || diag.CPUs[0].Time == 0 ||
		len(diag.NICs) != 1 || diag.NICs[0].MAC == "" || len(diag.Disks) != 1 || diag.Disks[0].Name != "vda" ||
		diag.Disks[0].ReadBytes == 0 || diag.Disks[0].ReadRequests == 0 ||
		diag.MemoryMaxKB != 64*1024 || diag.MemoryUsedKB <= 0 || diag.MemoryUsedKB > 64*1024 {
		t.Errorf("diagnostics %+v", diag)
	}
	t.Logf("diagnostics %+v", diag)
}
