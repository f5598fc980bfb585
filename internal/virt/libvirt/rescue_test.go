package libvirt

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"

	"github.com/nimbus-cloud/nimbus/internal/virt"
	"github.com/nimbus-cloud/nimbus/internal/virt/disk"
)

// rescueImage is a raw image other than the boot sector image.
func rescueImage(t *testing.T) virt.ImageRef {
	t.Helper()
	path := filepath.Join(t.TempDir(), "rescue.img")
	img := make([]byte, 1<<20)
	copy(img, "rescue system")
	if err := os.WriteFile(path, img, 0o644); err != nil {
		t.Fatal(err)
	}
	return virt.ImageRef{ID: "rescue-image", DiskFormat: "raw", Path: path}
}

// diskTargets are the domain's disks, target to file.
func diskTargets(t *testing.T, conn *fakeConn, d *Driver, uuid string) map[string]string {
	t.Helper()
	def, ok := conn.definition(domainOf(d.instances[uuid]).UUID)
	if !ok {
		t.Fatalf("libvirt has no domain for %s", uuid)
	}
	out := map[string]string{}
	for _, k := range def.Devices.Disks {
		out[k.Target.Dev] = k.Source.File.File
	}
	return out
}

func wantState(t *testing.T, d *Driver, uuid string, want virt.PowerState) {
	t.Helper()
	info, err := d.GetInfo(t.Context(), uuid)
	if err != nil || info.State != want {
		t.Fatalf("%s: %+v, %v; want %s", uuid, info, err, want)
	}
}

func TestRescueDomainSurvivesARestart(t *testing.T) {
	t.Parallel()
	conn, state := newFakeConn(), t.TempDir()
	d := newFakeDriver(t, conn, "h1", state)
	ctx := t.Context()
	spec := fakeSpec("e0000000-0000-4000-8000-000000000001")
	spec.Image = bootSectorImage(t)
	if err := d.Spawn(ctx, spec); err != nil {
		t.Fatal(err)
	}
	dir := d.instances[spec.UUID].dir
	rescue := rescueImage(t)
	if err := d.Rescue(ctx, spec, rescue, ""); err != nil {
		t.Fatal(err)
	}
	wantState(t, d, spec.UUID, virt.Running)
	disks := diskTargets(t, conn, d, spec.UUID)
	if len(disks) != 2 || disks["vda"] != filepath.Join(dir, fileRescue) || disks["vdb"] != filepath.Join(dir, disk.FileDisk) {
		t.Fatalf("rescue domain's disks %v; want disk.rescue on vda, disk on vdb", disks)
	}
	// The rescue disk is an overlay of the rescue image's base.
	info, err := d.disks.Info(ctx, filepath.Join(dir, fileRescue), "qcow2")
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(state, "instances", "_base", disk.Key(rescue.ID)); info.BackingFilename != want {
		t.Errorf("rescue disk backed by %q, want %q", info.BackingFilename, want)
	}

	// A restarted driver whose libvirt lost the domain defines the rescue
	// domain again, and knows the instance is rescued.
	d.Close()
	if err := conn.DomainDestroyFlags(domainOf(d.instances[spec.UUID]), 0); err != nil {
		t.Fatal(err)
	}
	if err := conn.DomainUndefineFlags(domainOf(d.instances[spec.UUID]), 0); err != nil {
		t.Fatal(err)
	}
	again := newFakeDriver(t, conn, "h1", state)
	if disks := diskTargets(t, conn, again, spec.UUID); disks["vda"] != filepath.Join(dir, fileRescue) {
		t.Fatalf("after a restart the domain's disks are %v; want the rescue disk on vda", disks)
	}
	if err := again.Rescue(ctx, spec, rescue, ""); !errors.Is(err, virt.ErrInvalidState) {
		t.Fatalf("rescue a rescued instance after a restart: %v, want ErrInvalidState", err)
	}
	if err := again.Unrescue(ctx, spec.UUID); err != nil {
		t.Fatal(err)
	}
	wantState(t, again, spec.UUID, virt.Running)
	if disks := diskTargets(t, conn, again, spec.UUID); len(disks) != 1 || disks["vda"] != filepath.Join(dir, disk.FileDisk) {
		t.Errorf("after unrescue the domain's disks are %v; want disk on vda", disks)
	}
	if _, err := os.Stat(filepath.Join(dir, fileRescue)); !os.IsNotExist(err) {
		t.Errorf("rescue disk after unrescue: %v", err)
	}
	rec, err := loadRecord(dir)
	if err != nil || rec.Rescue != nil {
		t.Errorf("record after unrescue: %+v, %v", rec.Rescue, err)
	}
}

func TestFailedRescueLeavesTheInstanceItsOwnDomain(t *testing.T) {
	t.Parallel()
	conn := newFakeConn()
	d := newFakeDriver(t, conn, "h1", "")
	ctx := t.Context()
	spec := fakeSpec("e0000000-0000-4000-8000-000000000002")
	spec.Image = bootSectorImage(t)
	if err := d.Spawn(ctx, spec); err != nil {
		t.Fatal(err)
	}
	dir := d.instances[spec.UUID].dir
	notRescued := func(when string) {
		t.Helper()
		if disks := diskTargets(t, conn, d, spec.UUID); len(disks) != 1 || disks["vda"] != filepath.Join(dir, disk.FileDisk) {
			t.Errorf("%s: the domain's disks are %v; want its own", when, disks)
		}
		if _, err := os.Stat(filepath.Join(dir, fileRescue)); !os.IsNotExist(err) {
			t.Errorf("%s: rescue disk: %v", when, err)
		}
		if err := d.Unrescue(ctx, spec.UUID); !errors.Is(err, virt.ErrInvalidState) {
			t.Errorf("%s: unrescue: %v, want ErrInvalidState", when, err)
		}
	}

	// An image that is not what it claims fails before the guest stops.
	bad := rescueImage(t)
	bad.ID, bad.DiskFormat = "claims-qcow2", "qcow2"
	if err := d.Rescue(ctx, spec, bad, ""); !errors.Is(err, virt.ErrInvalidSpec) {
		t.Fatalf("rescue from a bad image: %v, want ErrInvalidSpec", err)
	}
	wantState(t, d, spec.UUID, virt.Running)
	notRescued("after a bad image")

	// A rescue domain that does not start leaves the instance stopped.
	conn.failStarts(golibvirt.Error{Code: uint32(golibvirt.ErrInternalError), Message: "internal error: qemu unexpectedly closed the monitor"})
	err := d.Rescue(ctx, spec, rescueImage(t), "")
	if err == nil || !strings.Contains(err.Error(), "boot the rescue disk") {
		t.Fatalf("rescue that does not boot: %v", err)
	}
	conn.failStarts(nil)
	wantState(t, d, spec.UUID, virt.Shutdown)
	notRescued("after a failed boot")
	if err := d.PowerOn(ctx, spec.UUID); err != nil {
		t.Fatal(err)
	}
}

// metaData is the meta_data.json of an ISO 9660 config drive.
func metaData(t *testing.T, path string) map[string]any {
	t.Helper()
	out, err := exec.Command("isoinfo", "-R", "-i", path, "-x", "/openstack/latest/meta_data.json").Output()
	if err != nil {
		t.Fatalf("isoinfo %s: %v", path, err)
	}
	var md map[string]any
	if err := json.Unmarshal(out, &md); err != nil {
		t.Fatalf("meta_data.json of %s: %v: %q", path, err, out)
	}
	return md
}

func TestRescueConfigDriveCarriesTheRescuePassword(t *testing.T) {
	t.Parallel()
	for _, bin := range []string{"genisoimage", "isoinfo"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("%s is not installed (apt install genisoimage)", bin)
		}
	}
	conn := newFakeConn()
	d := newFakeDriver(t, conn, "h1", "")
	ctx := t.Context()
	spec := fakeSpec("e0000000-0000-4000-8000-000000000005")
	spec.Image, spec.ConfigDrive = bootSectorImage(t), true
	if err := d.Spawn(ctx, spec); err != nil {
		t.Fatal(err)
	}
	dir := d.instances[spec.UUID].dir
	if err := d.Rescue(ctx, spec, virt.ImageRef{}, "rescue-pass"); err != nil {
		t.Fatal(err)
	}
	disks := diskTargets(t, conn, d, spec.UUID)
	if disks["vdd"] != filepath.Join(dir, fileRescueConfigDrive) {
		t.Fatalf("rescue domain's disks %v; want the rescue config drive on vdd", disks)
	}
	md := metaData(t, filepath.Join(dir, fileRescueConfigDrive))
	if md["admin_pass"] != "rescue-pass" || md["uuid"] != spec.UUID {
		t.Errorf("rescue meta_data.json: admin_pass %v, uuid %v", md["admin_pass"], md["uuid"])
	}
	if err := d.Unrescue(ctx, spec.UUID); err != nil {
		t.Fatal(err)
	}
	if disks := diskTargets(t, conn, d, spec.UUID); disks["vdd"] != filepath.Join(dir, disk.FileConfigDrive) {
		t.Errorf("after unrescue the domain's disks are %v; want the config drive on vdd", disks)
	}
	if _, err := os.Stat(filepath.Join(dir, fileRescueConfigDrive)); !os.IsNotExist(err) {
		t.Errorf("rescue config drive after unrescue: %v", err)
	}
	if md := metaData(t, filepath.Join(dir, disk.FileConfigDrive)); md["admin_pass"] != nil {
		t.Errorf("the instance's own config drive has admin_pass %v", md["admin_pass"])
	}
	// Without a password the rescue config drive has none.
	if err := d.Rescue(ctx, spec, virt.ImageRef{}, ""); err != nil {
		t.Fatal(err)
	}
	if md := metaData(t, filepath.Join(dir, fileRescueConfigDrive)); md["admin_pass"] != nil {
		t.Errorf("rescue without a password: admin_pass %v", md["admin_pass"])
	}
}

// images serves kernels and ramdisks by id.
type images map[string][]byte

func (m images) Download(_ context.Context, id string) (io.ReadCloser, error) {
	b, ok := m[id]
	if !ok {
		return nil, errors.New("no image " + id)
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

func TestRescueBootsTheRescueImagesKernel(t *testing.T) {
	t.Parallel()
	conn := newFakeConn()
	d := newFakeDriverWith(t, conn, "h1", "", func(o *Options) {
		o.Images = images{"rescue-kernel": []byte("kernel"), "rescue-ramdisk": []byte("ramdisk")}
	})
	ctx := t.Context()
	spec := fakeSpec("e0000000-0000-4000-8000-000000000003")
	spec.Image = bootSectorImage(t)
	if err := d.Spawn(ctx, spec); err != nil {
		t.Fatal(err)
	}
	dir := d.instances[spec.UUID].dir
	rescue := rescueImage(t)
	rescue.Properties = map[string]string{"kernel_id": "rescue-kernel", "ramdisk_id": "rescue-ramdisk"}
	if err := d.Rescue(ctx, spec, rescue, ""); err != nil {
		t.Fatal(err)
	}
	def, _ := conn.definition(domainOf(d.instances[spec.UUID]).UUID)
	if def.OS.Kernel != filepath.Join(dir, fileRescueKernel) || def.OS.Initrd != filepath.Join(dir, fileRescueRamdisk) ||
		def.OS.Cmdline != "root=/dev/vda console=tty0 console=ttyS0" {
		t.Errorf("rescue domain boots kernel %q initrd %q cmdline %q", def.OS.Kernel, def.OS.Initrd, def.OS.Cmdline)
	}
	if b, err := os.ReadFile(filepath.Join(dir, fileRescueKernel)); err != nil || string(b) != "kernel" {
		t.Errorf("rescue kernel %q, %v", b, err)
	}
	if err := d.Unrescue(ctx, spec.UUID); err != nil {
		t.Fatal(err)
	}
	def, _ = conn.definition(domainOf(d.instances[spec.UUID]).UUID)
	if def.OS.Kernel != "" || len(def.OS.BootDevices) != 1 {
		t.Errorf("after unrescue the domain boots kernel %q, devices %v", def.OS.Kernel, def.OS.BootDevices)
	}
	for _, f := range []string{fileRescueKernel, fileRescueRamdisk} {
		if _, err := os.Stat(filepath.Join(dir, f)); !os.IsNotExist(err) {
			t.Errorf("%s after unrescue: %v", f, err)
		}
	}
}

// clock is a test's settable time.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(by time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(by)
}

func TestDiagnosticsFromLibvirt(t *testing.T) {
	t.Parallel()
	conn := newFakeConn()
	clk := &clock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	d := newFakeDriverWith(t, conn, "h1", "", func(o *Options) { o.Now = clk.Now })
	ctx := t.Context()
	spec := fakeSpec("e0000000-0000-4000-8000-000000000004")
	spec.Image, spec.Flavor.VCPUs, spec.Flavor.MemoryMB = bootSectorImage(t), 2, 128
	spec.Network = []virt.VIF{
		{PortID: "3f1c2a9b-1e4d-4c1b-8d7e-6a5b4c3d2e1f", MAC: "fa:16:3e:00:00:01", Bridge: "brq1234"},
		{PortID: "9e8d7c6b-0000-4000-8000-000000000002", MAC: "fa:16:3e:00:00:02"},
	}
	if err := d.Spawn(ctx, spec); err != nil {
		t.Fatal(err)
	}
	clk.advance(90 * time.Second)
	diag, err := d.Diagnostics(ctx, spec.UUID)
	if err != nil {
		t.Fatal(err)
	}
	if diag.State != "running" || diag.Driver != "libvirt" || diag.Hypervisor != "qemu" || diag.HypervisorOS != "linux" ||
		diag.Uptime != 90 || diag.ConfigDrive || diag.MemoryMaxKB != 128*1024 || diag.MemoryUsedKB != 96*1024 {
		t.Errorf("diagnostics %+v", diag)
	}
	wantCPUs := []virt.CPUDiagnostics{{ID: 0, Time: 1e9, Utilisation: -1}, {ID: 1, Time: 2e9, Utilisation: -1}}
	if len(diag.CPUs) != 2 || diag.CPUs[0] != wantCPUs[0] || diag.CPUs[1] != wantCPUs[1] {
		t.Errorf("cpus %+v, want %+v", diag.CPUs, wantCPUs)
	}
	wantDisk := virt.DiskDiagnostics{Name: "vda", ReadRequests: fakeReadReq, ReadBytes: fakeReadBytes, WriteRequests: 1, WriteBytes: 512}
	if len(diag.Disks) != 1 || diag.Disks[0] != wantDisk {
		t.Errorf("disks %+v, want %+v", diag.Disks, wantDisk)
	}
	// The bridged card has a tap with counters; the user-mode one none.
	wantNICs := []virt.NICDiagnostics{
		{MAC: "fa:16:3e:00:00:01", RxOctets: fakeRxBytes, RxPackets: 1, TxOctets: 100, TxPackets: 2},
		{MAC: "fa:16:3e:00:00:02"},
	}
	if len(diag.NICs) != 2 || diag.NICs[0] != wantNICs[0] || diag.NICs[1] != wantNICs[1] {
		t.Errorf("nics %+v, want %+v", diag.NICs, wantNICs)
	}

	// Rescued, the rescue disk is vda and the root disk vdb.
	if err := d.Rescue(ctx, spec, virt.ImageRef{}, ""); err != nil {
		t.Fatal(err)
	}
	diag, err = d.Diagnostics(ctx, spec.UUID)
	if err != nil || len(diag.Disks) != 2 || diag.Disks[0].Name != "vda" || diag.Disks[1].Name != "vdb" ||
		diag.Disks[1].ReadBytes != 2*fakeReadBytes || diag.Uptime != 0 {
		t.Errorf("diagnostics of a rescued instance %+v, %v", diag, err)
	}

	// Stopped, it has no counters.
	if err := d.PowerOff(ctx, spec.UUID, 0); err != nil {
		t.Fatal(err)
	}
	diag, err = d.Diagnostics(ctx, spec.UUID)
	if err != nil {
		t.Fatal(err)
	}
	if diag.State != "shutdown" || diag.Uptime != 0 || diag.MemoryUsedKB != 0 || len(diag.CPUs) != 2 || diag.CPUs[1].Time != 0 ||
		len(diag.Disks) != 2 || diag.Disks[0].ReadBytes != 0 || diag.NICs[0].RxOctets != 0 {
		t.Errorf("diagnostics of a stopped instance %+v", diag)
	}
	if _, err := d.Diagnostics(ctx, "e0000000-0000-4000-8000-0000000000ff"); !errors.Is(err, virt.ErrInstanceNotFound) {
		t.Errorf("diagnostics of an unknown instance: %v, want ErrInstanceNotFound", err)
	}
}

func TestMemoryUsed(t *testing.T) {
	t.Parallel()
	stat := func(tag golibvirt.DomainMemoryStatTags, v uint64) golibvirt.DomainMemoryStat {
		return golibvirt.DomainMemoryStat{Tag: int32(tag), Val: v}
	}
	cases := []struct {
		name  string
		stats []golibvirt.DomainMemoryStat
		want  int64
		ok    bool
	}{
		{"balloon", []golibvirt.DomainMemoryStat{stat(golibvirt.DomainMemoryStatAvailable, 1000), stat(golibvirt.DomainMemoryStatUnused, 300),
			stat(golibvirt.DomainMemoryStatRss, 5000)}, 700, true},
		{"no guest figures", []golibvirt.DomainMemoryStat{stat(golibvirt.DomainMemoryStatActualBalloon, 1000), stat(golibvirt.DomainMemoryStatRss, 400)}, 400, true},
		{"nothing", []golibvirt.DomainMemoryStat{stat(golibvirt.DomainMemoryStatActualBalloon, 1000)}, 0, false},
	}
	for _, tc := range cases {
		got, ok := memoryUsed(tc.stats)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s: %d, %v; want %d, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}
