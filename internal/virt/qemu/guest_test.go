package qemu

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/virt"
)

// The tests in this file boot the real test guest (scripts/build-test-image.sh):
// a Linux kernel and busybox. Each boot costs a few CPU-seconds under TCG,
// so there are two, and each goes through as much as it can.

var (
	testImageOnce sync.Once
	testImageDir  string
	testImageErr  error
)

// testImage builds the test guest (quick when cached) and returns its
// folder.
func testImage(t testing.TB) string {
	t.Helper()
	requireQEMU(t)
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

// guestReady is the line the test guest prints once booted.
const guestReady = "NIMBUS-GUEST: ready"

// waitFor polls uuid's console for want, failing the test when a minute
// passes without it; it returns how long it waited.
func waitFor(t *testing.T, d *Driver, uuid, want string) (string, time.Duration) {
	t.Helper()
	start := time.Now()
	out := waitConsole(t.Context(), d, uuid, want)
	if !strings.Contains(out, want) {
		t.Fatalf("console of %s has no %q:\n%s", uuid, want, out)
	}
	return out, time.Since(start)
}

func TestGuestFromDiskImage(t *testing.T) {
	t.Parallel()
	dir := testImage(t)
	state := stateDir(t)
	d := newDriver(t, "h1", func(o *Options) { o.StateDir = state })
	ctx := t.Context()
	spec := testSpec("d0000000-0000-4000-8000-000000000001", virt.ImageRef{ID: "tiny-disk", DiskFormat: "qcow2", Path: filepath.Join(dir, "disk.qcow2")})
	spec.Flavor.MemoryMB = 128
	spec.ConfigDrive = true
	spec.UserData = []byte("#cloud-config\nhostname: ignored\n")

	start := time.Now()
	if err := d.Spawn(ctx, spec); err != nil {
		t.Fatal(err)
	}
	spawned := time.Since(start)
	_, toBanner := waitFor(t, d, spec.UUID, "NIMBUS-GUEST: banner")
	out, toReady := waitFor(t, d, spec.UUID, guestReady)
	t.Logf("disk image: spawn %s, banner after %s, ready after %s", spawned.Round(time.Millisecond),
		(spawned + toBanner).Round(time.Millisecond), (spawned + toBanner + toReady).Round(time.Millisecond))
	for _, want := range []string{
		fmt.Sprintf("config-drive uuid=%s hostname=%s name=%s user_data=%dB network_data=yes", spec.UUID, spec.Hostname, spec.Name, len(spec.UserData)),
		"lease eth0 10.0.2.15/24 router=10.0.2.2",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("console lacks %q:\n%s", want, out)
		}
	}

	// A snapshot of the running guest is its disk, flattened.
	snap, err := d.Snapshot(ctx, spec.UUID)
	if err != nil {
		t.Fatal(err)
	}
	snapPath := filepath.Join(t.TempDir(), "snap.qcow2")
	f, _ := os.Create(snapPath)
	if n, err := io.Copy(f, snap.Data); err != nil || n != snap.Size {
		t.Fatalf("read snapshot: %d of %d bytes, %v", n, snap.Size, err)
	}
	f.Close()
	snap.Data.Close()
	info, err := d.info(ctx, snapPath, "qcow2")
	if err != nil || info.BackingFilename != "" || info.VirtualSize != 1<<30 {
		t.Errorf("snapshot info %+v, %v: want a 1 GiB qcow2 without backing file", info, err)
	}
	if out, err := exec.Command(d.imgBin, "compare", "-U", "-f", "qcow2", "-F", "qcow2", snapPath,
		filepath.Join(state, "instances", spec.UUID, fileDisk)).CombinedOutput(); err != nil {
		t.Errorf("snapshot differs from the disk: %v: %s", err, out)
	}
	if info, _ := d.GetInfo(ctx, spec.UUID); info.State != virt.Running {
		t.Errorf("after the snapshot the guest is %s", info.State)
	}

	// Suspend and resume keep the booted guest.
	start = time.Now()
	if err := d.Suspend(ctx, spec.UUID); err != nil {
		t.Fatal(err)
	}
	suspended := time.Since(start)
	start = time.Now()
	if err := d.Resume(ctx, spec.UUID); err != nil {
		t.Fatal(err)
	}
	t.Logf("suspend %s, resume %s", suspended.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))

	// An agent restart: the driver lets go, a new one adopts the guest.
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	d2 := newDriver(t, "h1", func(o *Options) { o.StateDir = state })
	if got, err := d2.GetInfo(ctx, spec.UUID); err != nil || got.State != virt.Running {
		t.Fatalf("adopted instance: %+v, %v", got, err)
	}
	if _, err := d2.GetVNCConsole(ctx, spec.UUID); err != nil {
		t.Errorf("vnc console of the adopted guest: %v", err)
	}
	// The guest answers the power button: it ran through all of that.
	start = time.Now()
	if err := d2.PowerOff(ctx, spec.UUID, time.Minute); err != nil {
		t.Fatal(err)
	}
	t.Logf("clean power off %s", time.Since(start).Round(time.Millisecond))
	if out, _ := d2.GetConsoleOutput(ctx, spec.UUID); !strings.Contains(out, "acpi power button, powering off") {
		t.Errorf("the guest did not shut down by itself:\n%s", out)
	}
	if ev := eventOf(t, d2, spec.UUID); ev != virt.EventStopped {
		t.Errorf("event %s after power off", ev)
	}
}

// files serves images from local files, as the image service would.
type files map[string]string

func (f files) Download(ctx context.Context, id string) (io.ReadCloser, error) {
	p, ok := f[id]
	if !ok {
		return nil, fmt.Errorf("image %s not found", id)
	}
	return os.Open(p)
}

func TestGuestFromKernelAndRamdiskMigratesLive(t *testing.T) {
	t.Parallel()
	dir := testImage(t)
	images := files{"kernel-1": filepath.Join(dir, "vmlinuz"), "ramdisk-1": filepath.Join(dir, "initrd.img")}
	src := newDriver(t, "h1", func(o *Options) { o.Images = images })
	dst := newDriver(t, "h2", func(o *Options) { o.Images = images })
	ctx := t.Context()
	root := filepath.Join(t.TempDir(), "root.img")
	if err := os.WriteFile(root, make([]byte, 1<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	img := virt.ImageRef{ID: "ami-1", DiskFormat: "ami", Path: root, Properties: map[string]string{
		"kernel_id": "kernel-1", "ramdisk_id": "ramdisk-1", "os_command_line": "console=ttyS0 quiet"}}
	spec := testSpec("e0000000-0000-4000-8000-000000000001", img)
	spec.Flavor.MemoryMB = 128

	start := time.Now()
	if err := src.Spawn(ctx, spec); err != nil {
		t.Fatal(err)
	}
	spawned := time.Since(start)
	_, toBanner := waitFor(t, src, spec.UUID, "NIMBUS-GUEST: banner")
	_, toReady := waitFor(t, src, spec.UUID, guestReady)
	t.Logf("kernel and ramdisk: spawn %s, banner after %s, ready after %s", spawned.Round(time.Millisecond),
		(spawned + toBanner).Round(time.Millisecond), (spawned + toBanner + toReady).Round(time.Millisecond))

	// Write a pattern into the running guest's root disk: the destination
	// must have it after the move.
	src.mu.Lock()
	conn := src.instances[spec.UUID].proc.qmp
	src.mu.Unlock()
	var res json.RawMessage
	if err := conn.Execute(ctx, "human-monitor-command", map[string]string{
		"command-line": "qemu-io " + driveRoot + ` "write -P 0x5a 4096 65536"`}, &res); err != nil {
		t.Fatalf("write the pattern: %v", err)
	}

	start = time.Now()
	data, err := dst.PreLiveMigration(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := src.LiveMigrate(ctx, spec.UUID, "h2", data); err != nil {
		t.Fatal(err)
	}
	if err := dst.PostLiveMigrationAtDestination(ctx, spec.UUID); err != nil {
		t.Fatal(err)
	}
	t.Logf("live migration of a %d MB guest: %s", spec.Flavor.MemoryMB, time.Since(start).Round(time.Millisecond))
	if _, err := src.GetInfo(ctx, spec.UUID); !errors.Is(err, virt.ErrInstanceNotFound) {
		t.Errorf("source still has the instance: %v", err)
	}
	if _, err := os.Stat(filepath.Join(src.root, spec.UUID)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("source folder stayed: %v", err)
	}
	disk := filepath.Join(dst.root, spec.UUID, fileDisk)
	if out, err := exec.Command("qemu-io", "-r", "-U", "-f", "qcow2", "-c", "read -P 0x5a 4096 65536", disk).CombinedOutput(); err != nil ||
		bytes.Contains(out, []byte("Pattern verification failed")) {
		t.Errorf("the destination disk lacks the pattern: %v: %s", err, out)
	}
	if info, err := dst.GetInfo(ctx, spec.UUID); err != nil || info.State != virt.Running {
		t.Fatalf("destination: %+v, %v", info, err)
	}
	// The guest runs on: it answers the power button at the destination.
	if err := dst.PowerOff(ctx, spec.UUID, time.Minute); err != nil {
		t.Fatal(err)
	}
	if out, _ := dst.GetConsoleOutput(ctx, spec.UUID); !strings.Contains(out, "acpi power button, powering off") {
		t.Errorf("the migrated guest did not shut down by itself:\n%s", out)
	}
}
