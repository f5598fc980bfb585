package fake_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/virt"
	"github.com/nimbus-cloud/nimbus/internal/virt/fake"
	"github.com/nimbus-cloud/nimbus/internal/virt/virttest"
)

// cirros stands in for an image: the bytes only have to round-trip.
var cirros = []byte("QFI\xfb\x00\x00\x00\x03 fake cirros disk")

func streamImage(*testing.T) virt.ImageRef {
	return virt.ImageRef{ID: "cirros", DiskFormat: "qcow2", Reader: bytes.NewReader(cirros), Size: int64(len(cirros))}
}

func newDriver(t *testing.T, host string) *fake.Driver {
	t.Helper()
	d := fake.New(fake.Options{VCPUs: 8, MemoryMB: 16384, DiskGB: 100})
	if err := d.Init(t.Context(), host); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestConformanceWithStreamedImages(t *testing.T) {
	t.Parallel()
	virttest.Suite{
		NewDriver: func(t *testing.T, host string) virt.Driver { return newDriver(t, host) },
		Image:     streamImage,
	}.Run(t)
}

func TestConformanceWithImageFiles(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "cirros.qcow2")
	if err := os.WriteFile(path, cirros, 0o600); err != nil {
		t.Fatal(err)
	}
	virttest.Suite{
		NewDriver: func(t *testing.T, host string) virt.Driver { return newDriver(t, host) },
		Image:     func(*testing.T) virt.ImageRef { return virt.ImageRef{ID: "cirros", DiskFormat: "qcow2", Path: path} },
		Flavor:    virt.Flavor{Name: "m1.small", VCPUs: 2, MemoryMB: 2048, RootGB: 20, EphemeralGB: 5, SwapMB: 512},
	}.Run(t)
}

func spec(uuid, name string) *virt.InstanceSpec {
	return &virt.InstanceSpec{UUID: uuid, Name: name, Flavor: virt.Flavor{VCPUs: 1, MemoryMB: 512, RootGB: 1}, Image: streamImage(nil)}
}

// assertEmpty checks that nothing of any instance is left.
func assertEmpty(t *testing.T, d *fake.Driver) {
	t.Helper()
	list, err := d.ListInstances(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	r, err := d.HostResources(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 0 || d.ImageCount() != 0 || r.VCPUsUsed != 0 || r.MemoryMBUsed != 0 || r.DiskGBUsed != 0 {
		t.Errorf("left behind: %d instances, %d images, used %d VCPUs %d MB %d GB", len(list), d.ImageCount(), r.VCPUsUsed, r.MemoryMBUsed, r.DiskGBUsed)
	}
}

func TestFailNextLeavesNothingBehind(t *testing.T) {
	t.Parallel()
	d := newDriver(t, "h1")
	ctx := t.Context()
	d.FailNext(fake.OpSpawn, 2)
	for i := range 2 {
		err := d.Spawn(ctx, spec("u1", "vm1"))
		if !errors.Is(err, fake.ErrInjected) {
			t.Fatalf("spawn %d: err = %v, want the injected failure", i, err)
		}
		assertEmpty(t, d)
	}
	if err := d.Spawn(ctx, spec("u1", "vm1")); err != nil {
		t.Fatalf("third spawn: %v", err)
	}
	if err := d.Destroy(ctx, "u1", false); err != nil {
		t.Fatal(err)
	}
	assertEmpty(t, d)
}

func TestFailMatchingInstanceNames(t *testing.T) {
	t.Parallel()
	d := newDriver(t, "h1")
	ctx := t.Context()
	for _, s := range []*virt.InstanceSpec{spec("u1", "web-1"), spec("u2", "db-1")} {
		if err := d.Spawn(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.FailMatching(fake.OpPowerOff, "^web-"); err != nil {
		t.Fatal(err)
	}
	if err := d.PowerOff(ctx, "u1", 0); !errors.Is(err, fake.ErrInjected) {
		t.Errorf("power off web-1: %v, want the injected failure", err)
	}
	if info, _ := d.GetInfo(ctx, "u1"); info.State != virt.Running {
		t.Errorf("a failed power off changed web-1 to %s", info.State)
	}
	if err := d.PowerOff(ctx, "u2", 0); err != nil {
		t.Errorf("power off db-1: %v", err)
	}
	if err := d.FailMatching(fake.OpSpawn, "("); err == nil {
		t.Error("a bad pattern was accepted")
	}
	d.ClearFaults()
	if err := d.PowerOff(ctx, "u1", 0); err != nil {
		t.Errorf("power off web-1 after ClearFaults: %v", err)
	}
}

func TestInjectedErrorAndCount(t *testing.T) {
	t.Parallel()
	d := newDriver(t, "h1")
	ctx := t.Context()
	boom := errors.New("disk full")
	if err := d.Inject(fake.Fault{Op: fake.OpSnapshot, Times: 1, Fail: true, Err: boom}); err != nil {
		t.Fatal(err)
	}
	if err := d.Spawn(ctx, spec("u1", "vm1")); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Snapshot(ctx, "u1"); !errors.Is(err, boom) {
		t.Errorf("snapshot: %v, want %v", err, boom)
	}
	snap, err := d.Snapshot(ctx, "u1")
	if err != nil {
		t.Fatalf("second snapshot: %v", err)
	}
	got, _ := io.ReadAll(snap.Data)
	if !bytes.Equal(got, cirros) || snap.DiskFormat != "qcow2" {
		t.Errorf("snapshot = %q as %s, want the image as qcow2", got, snap.DiskFormat)
	}
}

func TestDelayHonoursTheContext(t *testing.T) {
	t.Parallel()
	d := newDriver(t, "h1")
	if err := d.Spawn(t.Context(), spec("u1", "vm1")); err != nil {
		t.Fatal(err)
	}
	d.SetDelay(fake.OpReboot, time.Hour)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
	defer cancel()
	if err := d.Reboot(ctx, "u1", virt.RebootHard); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("delayed reboot: %v, want the context's deadline", err)
	}
	cancelled, cancel2 := context.WithCancel(t.Context())
	cancel2()
	if err := d.Pause(cancelled, "u1"); !errors.Is(err, context.Canceled) {
		t.Errorf("pause with a cancelled context: %v", err)
	}
	if info, _ := d.GetInfo(t.Context(), "u1"); info.State != virt.Running {
		t.Errorf("state %s after abandoned calls, want running", info.State)
	}
}

func TestEventsNeverBlock(t *testing.T) {
	t.Parallel()
	d := fake.New(fake.Options{EventBuffer: 2})
	if err := d.Init(t.Context(), "h1"); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"u1", "u2", "u3"} {
		if err := d.Spawn(t.Context(), spec(id, id)); err != nil {
			t.Fatal(err)
		}
	}
	if n := d.DroppedEvents(); n != 1 {
		t.Errorf("dropped %d events, want 1", n)
	}
	if ev := <-d.Events(); ev.UUID != "u1" || ev.Transition != virt.EventStarted {
		t.Errorf("first event %+v", ev)
	}
}

func TestCrashAndRecover(t *testing.T) {
	t.Parallel()
	d := newDriver(t, "h1")
	ctx := t.Context()
	if err := d.Spawn(ctx, spec("u1", "vm1")); err != nil {
		t.Fatal(err)
	}
	<-d.Events()
	if err := d.CrashInstance("u1"); err != nil {
		t.Fatal(err)
	}
	if ev := <-d.Events(); ev.Transition != virt.EventStopped || ev.Transition.PowerState() != virt.Shutdown {
		t.Errorf("crash event %+v", ev)
	}
	if info, _ := d.GetInfo(ctx, "u1"); info.State != virt.Crashed {
		t.Errorf("state %s, want crashed", info.State)
	}
	if err := d.CrashInstance("u1"); !errors.Is(err, virt.ErrInvalidState) {
		t.Errorf("crash a crashed instance: %v", err)
	}
	out, _ := d.GetConsoleOutput(ctx, "u1")
	if !strings.Contains(out, "Kernel panic") {
		t.Errorf("console lacks the panic:\n%s", out)
	}
	if err := d.PowerOn(ctx, "u1"); err != nil {
		t.Fatalf("power on a crashed instance: %v", err)
	}
	if info, _ := d.GetInfo(ctx, "u1"); info.State != virt.Running {
		t.Errorf("state %s, want running", info.State)
	}
}

func TestImagesAreSharedAndReleased(t *testing.T) {
	t.Parallel()
	d := newDriver(t, "h1")
	ctx := t.Context()
	for _, id := range []string{"u1", "u2"} {
		if err := d.Spawn(ctx, spec(id, id)); err != nil {
			t.Fatal(err)
		}
	}
	if n := d.ImageCount(); n != 1 {
		t.Errorf("two instances of one image hold %d images, want 1", n)
	}
	if err := d.Destroy(ctx, "u1", false); err != nil {
		t.Fatal(err)
	}
	if n := d.ImageCount(); n != 1 {
		t.Errorf("after one destroy %d images, want 1", n)
	}
	if err := d.Destroy(ctx, "u2", false); err != nil {
		t.Fatal(err)
	}
	assertEmpty(t, d)
}

func TestSpawnRefusals(t *testing.T) {
	t.Parallel()
	d := fake.New(fake.Options{MaxImageBytes: 8})
	if err := d.Init(t.Context(), "h1"); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	cases := map[string]struct {
		change func(s *virt.InstanceSpec)
		want   error
	}{
		"image over the memory bound": {func(s *virt.InstanceSpec) {}, virt.ErrInvalidSpec},
		"short stream": {func(s *virt.InstanceSpec) {
			s.Image = virt.ImageRef{ID: "i", Reader: strings.NewReader("abc"), Size: 4}
		}, virt.ErrInvalidSpec},
		"missing image file":         {func(s *virt.InstanceSpec) { s.Image = virt.ImageRef{ID: "i", Path: "/nonexistent/disk"} }, virt.ErrInvalidSpec},
		"image with nothing to read": {func(s *virt.InstanceSpec) { s.Image = virt.ImageRef{ID: "i"} }, virt.ErrInvalidSpec},
		"volume destination": {func(s *virt.InstanceSpec) {
			s.Image = virt.ImageRef{}
			s.BlockDeviceMappings = []virt.BlockDeviceMapping{{BootIndex: 0, SourceType: "volume", DestinationType: "volume"}}
		}, virt.ErrNotSupported},
	}
	for name, c := range cases {
		s := spec("u1", "vm1")
		c.change(s)
		if err := d.Spawn(ctx, s); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
	assertEmpty(t, d)
}

func TestVolumeBackedInstanceHasNoSnapshot(t *testing.T) {
	t.Parallel()
	d := newDriver(t, "h1")
	s := spec("u1", "vm1")
	s.Image = virt.ImageRef{}
	s.BlockDeviceMappings = []virt.BlockDeviceMapping{{BootIndex: 0, SourceType: "blank", DestinationType: "local", VolumeSizeGB: 1}}
	if err := d.Spawn(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Snapshot(t.Context(), "u1"); !errors.Is(err, virt.ErrNotSupported) {
		t.Errorf("snapshot: %v, want ErrNotSupported", err)
	}
}

func TestConsoleLog(t *testing.T) {
	t.Parallel()
	d := newDriver(t, "h1")
	ctx := t.Context()
	s := spec("u1", "vm1")
	s.Hostname, s.UserData, s.KeyName, s.KeyData = "web", []byte("12345"), "mykey", "ssh-ed25519 AAAA"
	s.Network = []virt.VIF{{MAC: "fa:16:3e:00:00:01", FixedIPs: []string{"10.0.0.5"}}}
	if err := d.Spawn(ctx, s); err != nil {
		t.Fatal(err)
	}
	out, _ := d.GetConsoleOutput(ctx, "u1")
	for _, want := range []string{"web login:", "5 bytes of user-data", "authorized ssh key mykey", "fa:16:3e:00:00:01 10.0.0.5", "image cirros"} {
		if !strings.Contains(out, want) {
			t.Errorf("console lacks %q:\n%s", want, out)
		}
	}
	if err := d.PowerOff(ctx, "u1", time.Minute); err != nil {
		t.Fatal(err)
	}
	out, _ = d.GetConsoleOutput(ctx, "u1")
	if !strings.HasSuffix(out, "reboot: Power down\n") {
		t.Errorf("a clean shutdown is not in the console:\n%s", out)
	}
	for range 2000 {
		if err := d.Reboot(ctx, "u1", virt.RebootSoft); err != nil {
			t.Fatal(err)
		}
	}
	out, _ = d.GetConsoleOutput(ctx, "u1")
	first, _, _ := strings.Cut(out, "\n")
	if len(out) > 100<<10 || len(out) < 99<<10 || !strings.Contains(out, "\n"+first+"\n") {
		t.Errorf("console log is %d bytes starting %q: want about 100 KiB cut at a line", len(out), first)
	}
}

func TestHostResourcesCountFlavorsAndMigrations(t *testing.T) {
	t.Parallel()
	d := newDriver(t, "h1")
	ctx := t.Context()
	s := spec("u1", "vm1")
	s.Flavor = virt.Flavor{VCPUs: 2, MemoryMB: 2048, RootGB: 10, EphemeralGB: 5, SwapMB: 1500}
	if err := d.Spawn(ctx, s); err != nil {
		t.Fatal(err)
	}
	r, _ := d.HostResources(ctx)
	if r.VCPUs != 8 || r.MemoryMB != 16384 || r.DiskGB != 100 || r.VCPUsUsed != 2 || r.MemoryMBUsed != 2048 || r.DiskGBUsed != 17 {
		t.Errorf("resources %+v", r)
	}
	if r.HypervisorType != "fake" || r.SupportedInstances[0] != (virt.SupportedInstance{Arch: "x86_64", HypervisorType: "fake", VMMode: "hvm"}) {
		t.Errorf("hypervisor %+v", r)
	}
	// During a cold migration the source keeps counting the instance.
	if _, err := d.MigrateDiskAndPowerOff(ctx, "u1", "h2", s.Flavor); err != nil {
		t.Fatal(err)
	}
	if r, _ := d.HostResources(ctx); r.VCPUsUsed != 2 {
		t.Errorf("during migration used %d VCPUs, want 2", r.VCPUsUsed)
	}
	if _, err := d.MigrateDiskAndPowerOff(ctx, "u1", "h2", s.Flavor); !errors.Is(err, virt.ErrInstanceNotFound) {
		t.Errorf("migrating an instance away twice: %v", err)
	}
}

func TestStateErrorMessage(t *testing.T) {
	t.Parallel()
	d := newDriver(t, "h1")
	s := spec("u1", "vm1")
	s.StartStopped = true
	if err := d.Spawn(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	err := d.Pause(t.Context(), "u1")
	if err == nil || err.Error() != "cannot pause instance u1 while it is shutdown (needs running)" {
		t.Errorf("err = %v", err)
	}
}
