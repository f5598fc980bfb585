package qemu

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/virt"
)

// TestRescueMachine checks the rescue layout: the rescue disk first and
// the only bootable one, the instance's disks after it, no direct kernel.
func TestRescueMachine(t *testing.T) {
	t.Parallel()
	in := &instance{dir: "/i"}
	m := &Machine{Kernel: "/i/kernel", Append: "root=/dev/vda",
		Disks: []Disk{{ID: driveRoot, Path: "/i/disk", Format: "qcow2", BootIndex: 1},
			{ID: driveConfig, Path: "/i/disk.config", Format: "raw", ReadOnly: true}}}
	rescueMachine(m, in)
	if m.Kernel != "" || m.Append != "" || len(m.Disks) != 3 {
		t.Fatalf("rescue machine %+v", m)
	}
	if d := m.Disks[0]; d.ID != driveRescue || d.Path != "/i/disk.rescue" || d.BootIndex != 1 {
		t.Errorf("first disk %+v", d)
	}
	if d := m.Disks[1]; d.ID != driveRoot || d.BootIndex != 0 {
		t.Errorf("second disk %+v", d)
	}
	args := strings.Join(m.Args(), " ")
	if !strings.Contains(args, "drive=drive-virtio-rescue,id=virtio-disk0,bootindex=1") ||
		!strings.Contains(args, "drive=drive-virtio-disk0,id=virtio-disk1 ") {
		t.Errorf("rescue command line %s", args)
	}
}

// TestRescueBootsTheRescueImage boots a guest, rescues it from an image
// whose boot sector prints another banner, and unrescues it: each boot
// shows on the console from the disk it should.
func TestRescueBootsTheRescueImage(t *testing.T) {
	t.Parallel()
	d := newDriver(t, "h1", nil)
	ctx := t.Context()
	spec := &virt.InstanceSpec{UUID: "00000000-0000-4000-8000-00000000a001", Name: "instance-0000a001",
		Flavor: virt.Flavor{VCPUs: 1, MemoryMB: 64, RootGB: 1}, Image: bootSectorImage(t)}
	if err := d.Spawn(ctx, spec); err != nil {
		t.Fatal(err)
	}
	waitConsole(ctx, d, spec.UUID, bootSectorBanner)
	const rescueBanner = "NIMBUS-RESCUE: banner"
	path := filepath.Join(t.TempDir(), "rescue.img")
	img := make([]byte, 1<<20)
	copy(img, BootSector(rescueBanner+"\r\n", 1, "NIMBUS-RESCUE: halted\r\n"))
	if err := os.WriteFile(path, img, 0o600); err != nil {
		t.Fatal(err)
	}
	rescue := virt.ImageRef{ID: "rescue-image", DiskFormat: "raw", Path: path}
	if err := d.Rescue(ctx, spec, rescue, ""); err != nil {
		t.Fatal(err)
	}
	if out := waitConsole(ctx, d, spec.UUID, rescueBanner); !strings.Contains(out, rescueBanner) {
		t.Fatalf("the rescue disk did not boot: %q", out)
	}
	d.mu.Lock()
	dir := d.instances[spec.UUID].dir
	d.mu.Unlock()
	if _, err := os.Stat(filepath.Join(dir, fileRescue)); err != nil {
		t.Errorf("rescue disk: %v", err)
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
	if _, err := os.Stat(filepath.Join(dir, fileRescue)); !os.IsNotExist(err) {
		t.Errorf("rescue disk after unrescue: %v", err)
	}
}

// TestDiagnosticsOfARunningGuest reads real counters: the firmware read
// the boot sector from vda, and QEMU holds memory.
func TestDiagnosticsOfARunningGuest(t *testing.T) {
	t.Parallel()
	d := newDriver(t, "h1", nil)
	ctx := t.Context()
	spec := &virt.InstanceSpec{UUID: "00000000-0000-4000-8000-00000000a002", Name: "instance-0000a002",
		Flavor: virt.Flavor{VCPUs: 2, MemoryMB: 64, RootGB: 1}, Image: bootSectorImage(t), ConfigDrive: true}
	if err := d.Spawn(ctx, spec); err != nil {
		t.Fatal(err)
	}
	waitConsole(ctx, d, spec.UUID, bootSectorBanner)
	diag, err := d.Diagnostics(ctx, spec.UUID)
	if err != nil {
		t.Fatal(err)
	}
	if diag.State != "running" || diag.Hypervisor != accelHV(d.accel) || len(diag.CPUs) != 2 || len(diag.NICs) != 1 ||
		!diag.ConfigDrive || len(diag.Disks) != 2 || diag.Disks[0].Name != "vda" || diag.Disks[0].ReadBytes == 0 ||
		diag.Disks[0].ReadRequests == 0 || diag.MemoryUsedKB <= 0 || diag.MemoryUsedKB > 64*1024 {
		t.Errorf("diagnostics %+v", diag)
	}
}
