package qemu

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/virt"
	"github.com/nimbus-cloud/nimbus/internal/virt/virttest"
)

// requireQEMU skips a test that needs QEMU on a machine without it.
func requireQEMU(t testing.TB) {
	t.Helper()
	for _, bin := range []string{"qemu-system-x86_64", "qemu-img"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("%s is not installed (scripts/test-services.sh installs qemu-system-x86 and qemu-utils)", bin)
		}
	}
}

// stateDir is a short temporary folder: QMP sockets live in it, and a unix
// socket's path has at most 107 bytes.
func stateDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "nq")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// newDriver makes an initialized TCG driver for host in its own state
// folder, destroying its guests when the test ends.
func newDriver(t testing.TB, host string, change func(*Options)) *Driver {
	t.Helper()
	requireQEMU(t)
	// The boot sector guest ignores the power button: short waits for it.
	opts := Options{StateDir: stateDir(t), Accel: "tcg", SoftRebootTimeout: 2 * time.Second, CleanShutdownTimeout: 100 * time.Millisecond,
		Log: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))}
	if change != nil {
		change(&opts)
	}
	d := New(opts)
	if err := d.Init(t.Context(), host); err != nil {
		t.Fatalf("init: %v", err)
	}
	t.Cleanup(func() { cleanup(t, d) })
	return d
}

// cleanup ends every guest the driver knows.
func cleanup(t testing.TB, d *Driver) {
	ctx := context.Background()
	list, _ := d.ListInstances(ctx)
	for _, in := range list {
		if err := d.Destroy(ctx, in.UUID, false); err != nil {
			t.Errorf("cleanup: destroy %s: %v", in.UUID, err)
		}
	}
	d.mu.Lock()
	var incoming, migrating []string
	for u := range d.incoming {
		incoming = append(incoming, u)
	}
	for u := range d.migrating {
		migrating = append(migrating, u)
	}
	d.mu.Unlock()
	for _, u := range incoming {
		_ = d.RollbackLiveMigrationAtDestination(ctx, u)
	}
	for _, u := range migrating {
		_ = d.ConfirmMigration(ctx, u)
	}
}

var (
	bootImageOnce sync.Once
	bootImageDir  string
	bootImagePath string
	bootImageErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if bootImageDir != "" {
		os.RemoveAll(bootImageDir)
	}
	os.Exit(code)
}

// bootSectorBanner is what the boot sector guest prints.
const bootSectorBanner = "NIMBUS-BOOT: banner"

// bootSectorImage is a 1 MiB raw disk whose boot sector prints a banner on
// the serial console and halts: a guest that boots through the firmware
// like any other but costs no CPU once up, so that the conformance suite
// can start dozens.
func bootSectorImage(t testing.TB) virt.ImageRef {
	t.Helper()
	bootImageOnce.Do(func() {
		bootImageDir, bootImageErr = os.MkdirTemp("", "nimbus-bootsector-")
		if bootImageErr != nil {
			return
		}
		bootImagePath = filepath.Join(bootImageDir, "boot.img")
		img := make([]byte, 1<<20)
		copy(img, BootSector(bootSectorBanner+"\r\n", 1, "NIMBUS-BOOT: halted\r\n"))
		bootImageErr = os.WriteFile(bootImagePath, img, 0o600)
	})
	if bootImageErr != nil {
		t.Fatal(bootImageErr)
	}
	return virt.ImageRef{ID: "bootsector", DiskFormat: "raw", Path: bootImagePath}
}

// bootedDriver waits, after a spawn, for the guest's first console line,
// so that the conformance suite's console checks find the guest's output
// rather than race its firmware.
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

// waitConsole polls the console log until it contains want; it gives up
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
	requireQEMU(t)
	virttest.Suite{
		NewDriver: func(t *testing.T, host string) virt.Driver {
			return bootedDriver{newDriver(t, host, nil)}
		},
		Image:  func(t *testing.T) virt.ImageRef { return bootSectorImage(t) },
		Flavor: virt.Flavor{Name: "tiny", VCPUs: 1, MemoryMB: 64, RootGB: 1},
	}.Run(t)
}

// eventOf waits for uuid's next lifecycle event.
func eventOf(t *testing.T, d *Driver, uuid string) virt.Transition {
	t.Helper()
	timer := time.NewTimer(time.Minute)
	defer timer.Stop()
	for {
		select {
		case ev := <-d.Events():
			if ev.UUID == uuid {
				return ev.Transition
			}
		case <-timer.C:
			t.Fatalf("no event for %s", uuid)
		}
	}
}

func testSpec(uuid string, img virt.ImageRef) *virt.InstanceSpec {
	return &virt.InstanceSpec{UUID: uuid, Name: "instance-" + uuid[:8], Hostname: "vm-" + uuid[:4], ProjectID: "p",
		Flavor: virt.Flavor{VCPUs: 1, MemoryMB: 64, RootGB: 1}, Image: img}
}

func TestQEMUCrashStopsTheInstance(t *testing.T) {
	t.Parallel()
	d := newDriver(t, "h1", nil)
	spec := testSpec("c0000000-0000-4000-8000-000000000001", bootSectorImage(t))
	if err := d.Spawn(t.Context(), spec); err != nil {
		t.Fatal(err)
	}
	if ev := eventOf(t, d, spec.UUID); ev != virt.EventStarted {
		t.Fatalf("first event %s", ev)
	}
	d.mu.Lock()
	pid := d.instances[spec.UUID].proc.pid
	d.mu.Unlock()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if ev := eventOf(t, d, spec.UUID); ev != virt.EventStopped {
		t.Fatalf("event after QEMU died: %s, want Stopped", ev)
	}
	info, err := d.GetInfo(t.Context(), spec.UUID)
	if err != nil || info.State != virt.Crashed {
		t.Fatalf("after QEMU died: %+v, %v; want crashed", info, err)
	}
	// A crashed instance powers on again, and the record forgets the crash.
	if err := d.PowerOn(t.Context(), spec.UUID); err != nil {
		t.Fatalf("power on after a crash: %v", err)
	}
	if info, _ := d.GetInfo(t.Context(), spec.UUID); info.State != virt.Running {
		t.Fatalf("after power on: %s", info.State)
	}
}

func TestFailedSpawnLeavesNothing(t *testing.T) {
	t.Parallel()
	d := newDriver(t, "h1", nil)
	cases := []struct {
		name  string
		spec  func() *virt.InstanceSpec
		want  error
		words string
	}{
		{"qemu refuses the machine", func() *virt.InstanceSpec {
			s := testSpec("f0000000-0000-4000-8000-000000000001", bootSectorImage(t))
			s.Flavor.VCPUs = 100000 // more than QEMU's machine allows
			return s
		}, nil, "qemu"},
		{"disk smaller than the image", func() *virt.InstanceSpec {
			s := testSpec("f0000000-0000-4000-8000-000000000002", bigImage(t))
			return s
		}, virt.ErrInvalidSpec, "Flavor's disk is too small for requested image"},
		{"image data is not its format", func() *virt.InstanceSpec {
			img := bootSectorImage(t)
			img.ID, img.DiskFormat = "claims-qcow2", "qcow2"
			return testSpec("f0000000-0000-4000-8000-000000000003", img)
		}, virt.ErrInvalidSpec, "declares disk_format qcow2 but its data is raw"},
		{"kernel without an image service", func() *virt.InstanceSpec {
			img := bootSectorImage(t)
			img.Properties = map[string]string{"kernel_id": "k1"}
			return testSpec("f0000000-0000-4000-8000-000000000004", img)
		}, virt.ErrNotSupported, "no image service"},
	}
	for _, tc := range cases {
		spec := tc.spec()
		err := d.Spawn(t.Context(), spec)
		if err == nil || tc.want != nil && !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.words) {
			t.Errorf("%s: spawn = %v, want %v naming %q", tc.name, err, tc.want, tc.words)
		}
		if _, err := os.Stat(filepath.Join(d.root, spec.UUID)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: the instance folder stayed (%v)", tc.name, err)
		}
		if pids := qemuPids(filepath.Join(d.root, spec.UUID)); len(pids) > 0 {
			t.Errorf("%s: QEMU processes %v stayed", tc.name, pids)
		}
		if _, err := d.GetInfo(t.Context(), spec.UUID); !errors.Is(err, virt.ErrInstanceNotFound) {
			t.Errorf("%s: the driver still knows the instance: %v", tc.name, err)
		}
	}
}

// bigImage is a sparse raw image of 2 GiB, more than a 1 GB root disk.
func bigImage(t *testing.T) virt.ImageRef {
	path := filepath.Join(t.TempDir(), "big.img")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, 2<<30); err != nil {
		t.Fatal(err)
	}
	return virt.ImageRef{ID: "big", DiskFormat: "raw", Path: path}
}

// qemuPids are the processes whose command line names dir, an instance
// folder of the driver under test (other tests, in this package or
// another, run guests of the same uuids at the same time).
func qemuPids(dir string) []string {
	var out []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && strings.Contains(string(data), dir) {
			out = append(out, e.Name())
		}
	}
	return out
}
