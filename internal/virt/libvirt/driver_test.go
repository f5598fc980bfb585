package libvirt

import (
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/virt"
	"github.com/nimbus-cloud/nimbus/internal/virt/virttest"
)

// requireQEMUImg skips a test that makes disks on a machine without
// qemu-img.
func requireQEMUImg(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("qemu-img"); err != nil {
		t.Skip("qemu-img is not installed (scripts/test-services.sh installs qemu-utils)")
	}
}

// newFakeDriver is an initialized driver on conn, a fake libvirtd, in
// its own state folder.
func newFakeDriver(t testing.TB, conn *fakeConn, host, state string) *Driver {
	t.Helper()
	return newFakeDriverWith(t, conn, host, state, nil)
}

func newFakeDriverWith(t testing.TB, conn *fakeConn, host, state string, change func(*Options)) *Driver {
	t.Helper()
	requireQEMUImg(t)
	if state == "" {
		state = t.TempDir()
	}
	opts := Options{StateDir: state, VirtType: "qemu", SoftRebootTimeout: 50 * time.Millisecond, CleanShutdownTimeout: 10 * time.Millisecond,
		Dial: func(string) (Conn, error) { return conn, nil },
		Log:  slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))}
	if change != nil {
		change(&opts)
	}
	d := New(opts)
	if err := d.Init(t.Context(), host); err != nil {
		t.Fatalf("init: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// perTest keeps one value per test, made by mk.
func perTest[V any](mk func() V) func(t *testing.T) V {
	var mu sync.Mutex
	m := map[*testing.T]V{}
	return func(t *testing.T) V {
		mu.Lock()
		defer mu.Unlock()
		v, ok := m[t]
		if !ok {
			v = mk()
			m[t] = v
		}
		return v
	}
}

// The conformance suite against the fake libvirtd: the driver's own logic,
// quick and everywhere; TestConformance runs it against a real libvirtd.
func TestConformanceOnFakeLibvirt(t *testing.T) {
	requireQEMUImg(t)
	type hosts struct {
		net fakeNet
	}
	of := perTest(func() *hosts { return &hosts{} })
	virttest.Suite{
		NewDriver: func(t *testing.T, host string) virt.Driver {
			h, conn := of(t), newFakeConn()
			h.net.add("fake://"+host, conn)
			return newFakeDriverWith(t, conn, host, "", func(o *Options) { o.LiveMigrationURI = "fake://" + host })
		},
		Image:  func(t *testing.T) virt.ImageRef { return bootSectorImage(t) },
		Flavor: virt.Flavor{Name: "tiny", VCPUs: 1, MemoryMB: 64, RootGB: 1},
	}.Run(t)
}

func eventOf(t *testing.T, d *Driver, uuid string) virt.Transition {
	t.Helper()
	timer := time.NewTimer(30 * time.Second)
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

func fakeSpec(id string) *virt.InstanceSpec {
	return &virt.InstanceSpec{UUID: id, Name: "instance-" + id[len(id)-8:], ProjectID: "p",
		Flavor: virt.Flavor{VCPUs: 1, MemoryMB: 64, RootGB: 1}}
}

func TestCrashedDomainIsReportedAndPowersOn(t *testing.T) {
	t.Parallel()
	conn := newFakeConn()
	d := newFakeDriver(t, conn, "h1", "")
	spec := fakeSpec("c0000000-0000-4000-8000-000000000001")
	spec.Image = bootSectorImage(t)
	if err := d.Spawn(t.Context(), spec); err != nil {
		t.Fatal(err)
	}
	if ev := eventOf(t, d, spec.UUID); ev != virt.EventStarted {
		t.Fatalf("first event %s", ev)
	}
	conn.crash(domainOf(d.instances[spec.UUID]).UUID)
	if ev := eventOf(t, d, spec.UUID); ev != virt.EventStopped {
		t.Fatalf("event after the crash: %s, want Stopped", ev)
	}
	if info, err := d.GetInfo(t.Context(), spec.UUID); err != nil || info.State != virt.Crashed {
		t.Fatalf("after the crash: %+v, %v; want crashed", info, err)
	}
	if err := d.PowerOn(t.Context(), spec.UUID); err != nil {
		t.Fatalf("power on after a crash: %v", err)
	}
	if info, _ := d.GetInfo(t.Context(), spec.UUID); info.State != virt.Running {
		t.Fatalf("after power on: %s", info.State)
	}
}

func TestRestartedDriverKnowsItsInstances(t *testing.T) {
	t.Parallel()
	conn, state := newFakeConn(), t.TempDir()
	d := newFakeDriver(t, conn, "h1", state)
	running, stopped := fakeSpec("a0000000-0000-4000-8000-000000000001"), fakeSpec("a0000000-0000-4000-8000-000000000002")
	running.Image, stopped.Image = bootSectorImage(t), bootSectorImage(t)
	stopped.StartStopped = true
	for _, s := range []*virt.InstanceSpec{running, stopped} {
		if err := d.Spawn(t.Context(), s); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Suspend(t.Context(), running.UUID); err != nil {
		t.Fatal(err)
	}
	d.Close()
	// libvirt lost the stopped one's definition meanwhile.
	if err := conn.DomainUndefineFlags(domainOf(d.instances[stopped.UUID]), 0); err != nil {
		t.Fatal(err)
	}
	again := newFakeDriver(t, conn, "h1", state)
	list, err := again.ListInstances(t.Context())
	if err != nil || len(list) != 2 || list[0].State != virt.Suspended || list[1].State != virt.Shutdown {
		t.Fatalf("after a restart: %+v, %v; want the suspended and the stopped instance", list, err)
	}
	if err := again.PowerOn(t.Context(), stopped.UUID); err != nil {
		t.Fatalf("power on the redefined instance: %v", err)
	}
	if err := again.Resume(t.Context(), running.UUID); err != nil {
		t.Fatalf("resume: %v", err)
	}
}

func TestFailedSpawnLeavesNothing(t *testing.T) {
	t.Parallel()
	conn := newFakeConn()
	d := newFakeDriver(t, conn, "h1", "")
	// Another domain of libvirt holds the name: the define fails.
	taken := fakeSpec("f0000000-0000-4000-8000-000000000009")
	doc, _ := domain(domainConfig{VirtType: "qemu", Spec: taken, Dir: t.TempDir()}).Marshal()
	if _, err := conn.DomainDefineXMLFlags(doc, 0); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		spec  func() *virt.InstanceSpec
		want  error
		words string
	}{
		{"libvirt refuses the domain", func() *virt.InstanceSpec {
			s := fakeSpec("f0000000-0000-4000-8000-000000000001")
			s.Name, s.Image = taken.Name, bootSectorImage(t)
			return s
		}, nil, "already exists"},
		{"libvirt has a domain of the uuid", func() *virt.InstanceSpec {
			s := fakeSpec(taken.UUID)
			s.Name, s.Image = "instance-other", bootSectorImage(t)
			return s
		}, virt.ErrInstanceExists, "libvirt already has a domain"},
		{"image data is not its format", func() *virt.InstanceSpec {
			s := fakeSpec("f0000000-0000-4000-8000-000000000002")
			s.Image = bootSectorImage(t)
			s.Image.ID, s.Image.DiskFormat = "claims-qcow2", "qcow2"
			return s
		}, virt.ErrInvalidSpec, "declares disk_format qcow2 but its data is raw"},
		{"not a uuid", func() *virt.InstanceSpec {
			s := fakeSpec("f0000000-0000-4000-8000-000000000003")
			s.UUID, s.Image = "f0000000-not-a-uuid", bootSectorImage(t)
			return s
		}, virt.ErrInvalidSpec, "uuid"},
		{"boot from volume", func() *virt.InstanceSpec {
			return fakeSpec("f0000000-0000-4000-8000-000000000004")
		}, virt.ErrNotSupported, "volume"},
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
		if _, err := d.GetInfo(t.Context(), spec.UUID); !errors.Is(err, virt.ErrInstanceNotFound) {
			t.Errorf("%s: the driver still knows the instance: %v", tc.name, err)
		}
	}
	conn.mu.Lock()
	n := len(conn.doms)
	conn.mu.Unlock()
	if n != 1 {
		t.Errorf("libvirt holds %d domains, want only the one that took the name", n)
	}
}

func TestInitRefusesWhatCannotWork(t *testing.T) {
	t.Parallel()
	requireQEMUImg(t)
	dial := func(string) (Conn, error) { return newFakeConn(), nil }
	quiet := slog.New(slog.DiscardHandler)
	cases := map[string]Options{
		"no state":         {Dial: dial},
		"bad virt_type":    {StateDir: t.TempDir(), VirtType: "xen", Dial: dial},
		"kvm not there":    {StateDir: t.TempDir(), VirtType: "kvm", Dial: dial},
		"no libvirtd":      {StateDir: t.TempDir(), Dial: func(string) (Conn, error) { return nil, errors.New("connection refused") }},
		"missing qemu-img": {StateDir: t.TempDir(), QEMUImg: "/nonexistent/qemu-img", Dial: dial},
	}
	for name, opts := range cases {
		opts.Log = quiet
		if err := New(opts).Init(t.Context(), "h1"); err == nil {
			t.Errorf("%s: Init succeeded", name)
		}
	}
	if err := New(Options{StateDir: t.TempDir(), Dial: dial, Log: quiet}).Init(t.Context(), ""); !errors.Is(err, virt.ErrInvalidSpec) {
		t.Errorf("empty host: %v", err)
	}
	d := New(Options{StateDir: t.TempDir(), Dial: dial, Log: quiet})
	if err := d.Init(t.Context(), "h1"); err != nil || d.VirtType() != "qemu" {
		t.Errorf("default virt type on a host without kvm: %q, %v", d.VirtType(), err)
	}
	d.Close()
}

func TestReconnectsWhenLibvirtdRestarts(t *testing.T) {
	t.Parallel()
	requireQEMUImg(t)
	conn := newFakeConn()
	var mu sync.Mutex
	dials, refuse := 0, 2
	d := New(Options{StateDir: t.TempDir(), VirtType: "qemu", Log: slog.New(slog.DiscardHandler),
		Dial: func(string) (Conn, error) {
			mu.Lock()
			defer mu.Unlock()
			dials++
			if dials > 1 && refuse > 0 {
				refuse--
				return nil, errors.New("connection refused")
			}
			return conn, nil
		}})
	if err := d.Init(t.Context(), "h1"); err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	spec := fakeSpec("e0000000-0000-4000-8000-000000000001")
	spec.Image = bootSectorImage(t)
	if err := d.Spawn(t.Context(), spec); err != nil {
		t.Fatal(err)
	}
	if ev := eventOf(t, d, spec.UUID); ev != virt.EventStarted {
		t.Fatalf("first event %s", ev)
	}
	conn.drop()
	// Wait for the driver to dial through the refusals and subscribe
	// again; the bound guards against a hang and measures nothing.
	deadline := time.Now().Add(30 * time.Second)
	for conn.subscribers() == 0 || func() bool { d.mu.Lock(); defer d.mu.Unlock(); return d.conn == nil }() {
		if time.Now().After(deadline) {
			t.Fatal("the driver did not reconnect")
		}
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	if dials != 4 {
		t.Errorf("dialed %d times, want 4 (the first, two refused, the last)", dials)
	}
	mu.Unlock()
	conn.crash(domainOf(d.instances[spec.UUID]).UUID)
	if ev := eventOf(t, d, spec.UUID); ev != virt.EventStopped {
		t.Fatalf("event after the crash: %s, want Stopped from the new subscription", ev)
	}
}

func TestClosedAncestor(t *testing.T) {
	t.Parallel()
	open := t.TempDir()
	if err := os.Chmod(open, 0o755); err != nil {
		t.Fatal(err)
	}
	closed := filepath.Join(open, "closed")
	inner := filepath.Join(closed, "instances")
	if err := os.MkdirAll(inner, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(closed, 0o700); err != nil {
		t.Fatal(err)
	}
	if got := closedAncestor(inner); got != closed {
		t.Errorf("closed ancestor of %s: %q, want %s", inner, got, closed)
	}
	// Traversable is enough: the folder need not be listable.
	if err := os.Chmod(closed, 0o711); err != nil {
		t.Fatal(err)
	}
	if got := closedAncestor(inner); got == closed || got == inner {
		t.Errorf("closed ancestor of %s: %q after chmod 711", inner, got)
	}
}
