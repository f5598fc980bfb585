package qemu

import (
	"bufio"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/virt"
)

func TestBootSector(t *testing.T) {
	t.Parallel()
	b := BootSector("hi\n", 0, "bye\n")
	if len(b) != 512 || b[510] != 0x55 || b[511] != 0xAA {
		t.Fatalf("not a boot sector: %d bytes, signature %x %x", len(b), b[510], b[511])
	}
	if string(b[0x2A:0x2D]) != "hi\n" || string(b[0x2E:0x32]) != "bye\n" || b[0x10] != 1 {
		t.Errorf("messages or loop count misplaced: % x", b[:0x40])
	}
}

func TestProbeAccelRunsTheProbeGuest(t *testing.T) {
	t.Parallel()
	requireQEMU(t)
	// Under TCG the probe guest must finish: that is what proves a working
	// accelerator. The minute is a guard against hangs on a busy machine.
	if ok, why := ProbeAccel(t.Context(), "qemu-system-x86_64", "tcg", time.Minute); !ok {
		t.Fatalf("probe under tcg: %s", why)
	}
	if ok, why := ProbeAccel(t.Context(), "qemu-system-x86_64", "nonesuch", time.Minute); ok {
		t.Fatalf("probe under a missing accelerator succeeded: %s", why)
	}
}

func TestChooseAccelKeepsItsFinding(t *testing.T) {
	t.Parallel()
	requireQEMU(t)
	d := New(Options{StateDir: t.TempDir(), Log: slog.New(slog.NewTextHandler(t.Output(), nil))})
	v, err := qemuVersion(t.Context(), "qemu-system-x86_64")
	if err != nil {
		t.Fatal(err)
	}
	first := d.chooseAccel(t.Context(), "qemu-system-x86_64", v)
	if first != "tcg" && first != "kvm" {
		t.Fatalf("accelerator %q", first)
	}
	t.Logf("this machine runs guests under %s", first)
	// The second choice reads the cached finding instead of probing.
	if err := os.WriteFile(filepath.Join(d.opts.StateDir, "kvm-probe.json"), fmt.Appendf(nil,
		`{"kernel":%q,"qemu":%q,"kvm":true}`, kernelRelease(), v.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := d.chooseAccel(t.Context(), "qemu-system-x86_64", v); got != "kvm" {
		t.Errorf("cached finding ignored: %s", got)
	}
}

func TestDisksGrowWithTheFlavor(t *testing.T) {
	t.Parallel()
	d := newDriver(t, "h1", nil)
	ctx := t.Context()
	spec := testSpec("a0000000-0000-4000-8000-000000000001", bootSectorImage(t))
	spec.Flavor.EphemeralGB, spec.Flavor.SwapMB = 1, 64
	spec.ConfigDrive = true
	if err := d.Spawn(ctx, spec); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(d.root, spec.UUID)
	sizes := func() map[string]int64 {
		out := map[string]int64{}
		for _, f := range []string{fileDisk, fileEphemeral, fileSwap} {
			info, err := d.info(ctx, filepath.Join(dir, f), "qcow2")
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			out[f] = info.VirtualSize
		}
		return out
	}
	if got := sizes(); got[fileDisk] != 1<<30 || got[fileEphemeral] != 1<<30 || got[fileSwap] != 64<<20 {
		t.Errorf("disk sizes %v", got)
	}
	if _, err := os.Stat(filepath.Join(dir, fileConfigDrive)); err != nil {
		t.Errorf("no config drive: %v", err)
	}
	// The VNC server speaks RFB.
	vnc, err := d.GetVNCConsole(ctx, spec.UUID)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", net.JoinHostPort(vnc.Host, fmt.Sprint(vnc.Port)))
	if err != nil {
		t.Fatal(err)
	}
	hello, err := bufio.NewReader(conn).ReadString('\n')
	conn.Close()
	if err != nil || hello != "RFB 003.008\n" {
		t.Errorf("vnc said %q, %v", hello, err)
	}

	bigger := spec.Flavor
	bigger.RootGB, bigger.EphemeralGB = 2, 2
	disk, err := d.MigrateDiskAndPowerOff(ctx, spec.UUID, "h1", bigger)
	if err != nil {
		t.Fatal(err)
	}
	moved := *spec
	moved.Flavor = bigger
	if err := d.FinishMigration(ctx, &moved, disk); err != nil {
		t.Fatal(err)
	}
	if got := sizes(); got[fileDisk] != 2<<30 || got[fileEphemeral] != 2<<30 || got[fileSwap] != 64<<20 {
		t.Errorf("disk sizes after the resize %v", got)
	}
	if err := d.ConfirmMigration(ctx, spec.UUID); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir + resizeSuffix); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the source copy stayed after the confirmation: %v", err)
	}
	// Across machines the source folder is out of reach: said plainly.
	far := virt.MigratedDisk{SourceHost: "elsewhere", Info: map[string]string{"path": "/nonexistent/x_resize", "image_id": spec.Image.ID}}
	other := *spec
	other.UUID = "a0000000-0000-4000-8000-000000000002"
	if err := d.FinishMigration(ctx, &other, far); !errors.Is(err, virt.ErrNotSupported) {
		t.Errorf("finish a migration from an unreachable folder: %v", err)
	}
}

func TestEventsOfWhatHappensOutsideTheDriver(t *testing.T) {
	t.Parallel()
	d := newDriver(t, "h1", nil)
	ctx := t.Context()
	spec := testSpec("b0000000-0000-4000-8000-000000000001", bootSectorImage(t))
	if err := d.Spawn(ctx, spec); err != nil {
		t.Fatal(err)
	}
	if ev := eventOf(t, d, spec.UUID); ev != virt.EventStarted {
		t.Fatalf("event %s", ev)
	}
	d.mu.Lock()
	conn := d.instances[spec.UUID].proc.qmp
	d.mu.Unlock()
	// Someone pauses and resumes the guest behind the driver's back.
	if err := conn.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if ev := eventOf(t, d, spec.UUID); ev != virt.EventPaused {
		t.Fatalf("event after an outside stop: %s", ev)
	}
	if info, _ := d.GetInfo(ctx, spec.UUID); info.State != virt.Paused {
		t.Errorf("state after an outside stop: %s", info.State)
	}
	if err := conn.Cont(ctx); err != nil {
		t.Fatal(err)
	}
	if ev := eventOf(t, d, spec.UUID); ev != virt.EventResumed {
		t.Fatalf("event after an outside cont: %s", ev)
	}
	// A clean exit (as a guest powering off) is a stop, not a crash.
	_ = conn.Quit(ctx)
	if ev := eventOf(t, d, spec.UUID); ev != virt.EventStopped {
		t.Fatalf("event after QEMU quit: %s", ev)
	}
	if info, _ := d.GetInfo(ctx, spec.UUID); info.State != virt.Shutdown {
		t.Errorf("state after QEMU quit: %s", info.State)
	}
}

func TestRestartAdoptsEveryInstance(t *testing.T) {
	t.Parallel()
	state := stateDir(t)
	d := newDriver(t, "h1", func(o *Options) { o.StateDir = state })
	ctx := t.Context()
	img := bootSectorImage(t)
	stopped := testSpec("90000000-0000-4000-8000-000000000001", img)
	stopped.StartStopped = true
	running := testSpec("90000000-0000-4000-8000-000000000002", img)
	suspended := testSpec("90000000-0000-4000-8000-000000000003", img)
	paused := testSpec("90000000-0000-4000-8000-000000000004", img)
	for _, s := range []*virt.InstanceSpec{stopped, running, suspended, paused} {
		if err := d.Spawn(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Suspend(ctx, suspended.UUID); err != nil {
		t.Fatal(err)
	}
	if err := d.Pause(ctx, paused.UUID); err != nil {
		t.Fatal(err)
	}
	vnc, _ := d.GetVNCConsole(ctx, running.UUID)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}

	d2 := newDriver(t, "h1", func(o *Options) { o.StateDir = state })
	want := map[string]virt.PowerState{stopped.UUID: virt.Shutdown, running.UUID: virt.Running,
		suspended.UUID: virt.Suspended, paused.UUID: virt.Paused}
	list, err := d2.ListInstances(ctx)
	if err != nil || len(list) != len(want) {
		t.Fatalf("adopted %v, %v", list, err)
	}
	for _, in := range list {
		if in.State != want[in.UUID] {
			t.Errorf("%s adopted as %s, want %s", in.UUID, in.State, want[in.UUID])
		}
	}
	if got, _ := d2.GetVNCConsole(ctx, running.UUID); got != vnc {
		t.Errorf("vnc console after adoption %+v, before %+v", got, vnc)
	}
	for _, op := range []func() error{
		func() error { return d2.Resume(ctx, suspended.UUID) },
		func() error { return d2.Unpause(ctx, paused.UUID) },
		func() error { return d2.PowerOn(ctx, stopped.UUID) },
		func() error { return d2.Reboot(ctx, running.UUID, virt.RebootHard) },
	} {
		if err := op(); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range []*virt.InstanceSpec{stopped, running, suspended, paused} {
		if info, _ := d2.GetInfo(ctx, s.UUID); info.State != virt.Running {
			t.Errorf("%s is %s after the operations of the new driver", s.UUID, info.State)
		}
	}
	// An adopted QEMU that dies is seen through its monitor.
	for drained := false; !drained; {
		select {
		case <-d2.Events():
		default:
			drained = true
		}
	}
	pid := readPid(filepath.Join(state, "instances", running.UUID, filePid))
	if err := killPid(pid); err != nil {
		t.Fatal(err)
	}
	if ev := eventOf(t, d2, running.UUID); ev != virt.EventStopped {
		t.Errorf("event after the adopted QEMU died: %s", ev)
	}
	if info, _ := d2.GetInfo(ctx, running.UUID); info.State != virt.Crashed {
		t.Errorf("adopted guest killed: %s, want crashed", info.State)
	}
}

func killPid(pid int) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Kill()
}

func TestBaseImages(t *testing.T) {
	t.Parallel()
	d := newDriver(t, "h1", nil)
	keep := newDriver(t, "h1", func(o *Options) { o.KeepQcow2Bases = true })
	ctx := t.Context()
	dir := t.TempDir()
	raw := bootSectorImage(t)
	qcow := filepath.Join(dir, "img.qcow2")
	if _, err := d.qemuImg(ctx, "convert", "-f", "raw", "-O", "qcow2", raw.Path, qcow); err != nil {
		t.Fatal(err)
	}
	chained := filepath.Join(dir, "chained.qcow2")
	if err := d.createOverlay(ctx, chained, qcow, "qcow2", 1<<20); err != nil {
		t.Fatal(err)
	}
	stream, err := os.Open(raw.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	cases := []struct {
		name       string
		d          *Driver
		ref        virt.ImageRef
		wantFormat string
		wantErr    error
	}{
		{"raw file", d, virt.ImageRef{ID: "raw-1", DiskFormat: "raw", Path: raw.Path}, "raw", nil},
		{"raw stream", d, virt.ImageRef{ID: "raw-2", DiskFormat: "raw", Reader: stream}, "raw", nil},
		{"qcow2 made raw", d, virt.ImageRef{ID: "q-1", DiskFormat: "qcow2", Path: qcow}, "raw", nil},
		{"qcow2 kept", keep, virt.ImageRef{ID: "q-1", DiskFormat: "qcow2", Path: qcow}, "qcow2", nil},
		{"format probed", d, virt.ImageRef{ID: "q-2", Path: qcow}, "raw", nil},
		{"qcow2 with a backing file", d, virt.ImageRef{ID: "q-3", DiskFormat: "qcow2", Path: chained}, "", virt.ErrInvalidSpec},
		{"qcow2 declared raw", d, virt.ImageRef{ID: "q-4", DiskFormat: "raw", Path: qcow}, "", virt.ErrInvalidSpec},
		{"iso", d, virt.ImageRef{ID: "iso-1", DiskFormat: "iso", Path: raw.Path}, "", virt.ErrNotSupported},
		{"no id", d, virt.ImageRef{DiskFormat: "raw", Path: raw.Path}, "", virt.ErrInvalidSpec},
		{"id naming a path", d, virt.ImageRef{ID: "../../etc", DiskFormat: "raw", Path: raw.Path}, "", virt.ErrInvalidSpec},
	}
	for _, tc := range cases {
		b, err := tc.d.ensureBase(ctx, tc.ref)
		if tc.wantErr != nil {
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("%s: err = %v, want %v", tc.name, err, tc.wantErr)
			}
			continue
		}
		if err != nil || b.Format != tc.wantFormat || b.Size != 1<<20 || filepath.Dir(b.Path) != tc.d.base {
			t.Errorf("%s: base %+v, %v; want a %s base of 1 MiB in _base", tc.name, b, err, tc.wantFormat)
		}
		// The second time it is the cached file.
		if again, err := tc.d.ensureBase(ctx, tc.ref); err != nil || again != b {
			t.Errorf("%s: again %+v, %v", tc.name, again, err)
		}
	}
}

func TestInitRefusesWhatCannotWork(t *testing.T) {
	t.Parallel()
	requireQEMU(t)
	long := filepath.Join(t.TempDir(), strings.Repeat("x", 80))
	cases := map[string]Options{
		"no state":         {},
		"long state path":  {StateDir: long},
		"unknown accel":    {StateDir: t.TempDir(), Accel: "hvf"},
		"missing qemu":     {StateDir: t.TempDir(), QEMU: "/nonexistent/qemu"},
		"missing qemu-img": {StateDir: t.TempDir(), QEMUImg: "/nonexistent/qemu-img"},
	}
	for name, opts := range cases {
		if err := New(opts).Init(t.Context(), "h1"); err == nil {
			t.Errorf("%s: Init succeeded", name)
		}
	}
	if err := New(Options{StateDir: t.TempDir(), Accel: "tcg"}).Init(t.Context(), ""); !errors.Is(err, virt.ErrInvalidSpec) {
		t.Errorf("empty host: %v", err)
	}
}
