// Package virttest is the conformance suite of virt.Driver: what every
// driver must do for the compute agent to rely on it, from spawning to live
// migration, including the states each operation refuses and the errors it
// returns. A driver's tests call Suite.Run with a way to make drivers.
package virttest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/virt"
)

// Suite runs the conformance tests against one kind of driver.
type Suite struct {
	// NewDriver returns a driver initialized for host. Each test makes
	// its own; migration tests make two, with different host names.
	NewDriver func(t *testing.T, host string) virt.Driver
	// Image returns the image instances boot from; it is called for each
	// spawn, since a stream is read once.
	Image func(t *testing.T) virt.ImageRef
	// Flavor sizes test instances; zero is 1 VCPU, 128 MB, 1 GB.
	Flavor virt.Flavor
	// Skip names tests (as Run names them) the driver cannot pass here,
	// with the reason each is skipped.
	Skip map[string]string
}

// eventWait bounds how long a test waits for a lifecycle event before it
// fails; it guards against hangs and measures nothing.
const eventWait = 30 * time.Second

// Run runs every conformance test as a subtest.
func (s Suite) Run(t *testing.T) {
	if s.Flavor.VCPUs == 0 {
		s.Flavor = virt.Flavor{Name: "conformance", VCPUs: 1, MemoryMB: 128, RootGB: 1}
	}
	tests := []struct {
		name string
		fn   func(t *testing.T)
	}{
		{"HostResources", s.testHostResources},
		{"SpawnRuns", s.testSpawnRuns},
		{"SpawnStopped", s.testSpawnStopped},
		{"SpawnRefusesDuplicatesAndBadSpecs", s.testSpawnRefuses},
		{"DestroyAndUnknownInstances", s.testDestroy},
		{"PowerOffAndOn", s.testPowerCycle},
		{"PauseAndUnpause", s.testPause},
		{"SuspendAndResume", s.testSuspend},
		{"RebootFromAnyState", s.testReboot},
		{"Snapshot", s.testSnapshot},
		{"RescueAndUnrescue", s.testRescue},
		{"Diagnostics", s.testDiagnostics},
		{"Consoles", s.testConsoles},
		{"UnknownInstanceErrors", s.testUnknown},
		{"ColdMigrationConfirmed", s.testColdMigrationConfirm},
		{"ColdMigrationReverted", s.testColdMigrationRevert},
		{"ResizeOnOneHost", s.testResizeSameHost},
		{"LiveMigration", s.testLiveMigration},
		{"ConcurrentSpawns", s.testConcurrentSpawns},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if why, ok := s.Skip[tc.name]; ok {
				t.Skip(why)
			}
			t.Parallel()
			tc.fn(t)
		})
	}
}

// env is one test's driver and what it spawns.
type env struct {
	t    *testing.T
	s    Suite
	host string
	d    virt.Driver
	ctx  context.Context
}

// serial numbers instances, so that uuids differ across a test's drivers.
var serial atomic.Int64

func (s Suite) env(t *testing.T, host string) *env {
	t.Helper()
	return &env{t: t, s: s, host: host, d: s.NewDriver(t, host), ctx: t.Context()}
}

// spec is a new instance's spec with a unique uuid and name.
func (e *env) spec() *virt.InstanceSpec {
	n := serial.Add(1)
	id := fmt.Sprintf("00000000-0000-4000-8000-%012d", n)
	return &virt.InstanceSpec{
		UUID: id, Name: fmt.Sprintf("instance-%08x", n), Hostname: fmt.Sprintf("vm%d", n),
		ProjectID: "project", UserID: "user", Flavor: e.s.Flavor, Image: e.s.Image(e.t),
		UserData: []byte("#cloud-config\n"), Metadata: map[string]string{"role": "test"},
		KeyName: "key", KeyData: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGk test",
	}
}

// spawn creates a running instance.
func (e *env) spawn() *virt.InstanceSpec {
	e.t.Helper()
	spec := e.spec()
	if err := e.d.Spawn(e.ctx, spec); err != nil {
		e.t.Fatalf("spawn %s: %v", spec.UUID, err)
	}
	e.wantEvent(spec.UUID, virt.EventStarted)
	return spec
}

func (e *env) must(what string, err error) {
	e.t.Helper()
	if err != nil {
		e.t.Fatalf("%s: %v", what, err)
	}
}

func (e *env) wantState(uuid string, want virt.PowerState) {
	e.t.Helper()
	info, err := e.d.GetInfo(e.ctx, uuid)
	if err != nil {
		e.t.Fatalf("get info %s: %v", uuid, err)
	}
	if info.State != want {
		e.t.Fatalf("%s is %s, want %s", uuid, info.State, want)
	}
}

func (e *env) wantErr(what string, err, want error) {
	e.t.Helper()
	if !errors.Is(err, want) {
		e.t.Fatalf("%s: err = %v, want %v", what, err, want)
	}
}

// wantEvent reads events until uuid's next one, which must be want.
func (e *env) wantEvent(uuid string, want virt.Transition) {
	e.t.Helper()
	wantEventFrom(e.t, e.d, uuid, want)
}

func wantEventFrom(t *testing.T, d virt.Driver, uuid string, want virt.Transition) {
	t.Helper()
	timer := time.NewTimer(eventWait)
	defer timer.Stop()
	for {
		select {
		case ev := <-d.Events():
			if ev.UUID != uuid {
				continue
			}
			if ev.Transition != want {
				t.Fatalf("event for %s is %s, want %s", uuid, ev.Transition, want)
			}
			if ev.Time.IsZero() {
				t.Fatalf("event %s for %s has no time", ev.Transition, uuid)
			}
			return
		case <-timer.C:
			t.Fatalf("no %s event for %s", want, uuid)
		}
	}
}

func (e *env) listed(uuid string) bool {
	e.t.Helper()
	list, err := e.d.ListInstances(e.ctx)
	if err != nil {
		e.t.Fatalf("list instances: %v", err)
	}
	return slices.ContainsFunc(list, func(i virt.InstanceInfo) bool { return i.UUID == uuid })
}

func (e *env) resources() virt.HostResources {
	e.t.Helper()
	r, err := e.d.HostResources(e.ctx)
	if err != nil {
		e.t.Fatalf("host resources: %v", err)
	}
	return r
}

func (s Suite) testHostResources(t *testing.T) {
	e := s.env(t, "conformance-host")
	r := e.resources()
	if r.VCPUs < 1 || r.MemoryMB < 1 || r.DiskGB < 1 {
		t.Errorf("host size %d VCPUs, %d MB, %d GB: want all positive", r.VCPUs, r.MemoryMB, r.DiskGB)
	}
	if r.HypervisorType == "" || r.HypervisorVersion <= 0 || r.CPUInfo.Arch == "" || len(r.SupportedInstances) == 0 {
		t.Errorf("hypervisor %q version %d, arch %q, supported %v: want all reported", r.HypervisorType, r.HypervisorVersion, r.CPUInfo.Arch, r.SupportedInstances)
	}
	if r.HypervisorHostname != "conformance-host" {
		t.Errorf("hypervisor hostname %q, want the host Init was given", r.HypervisorHostname)
	}
	spec := e.spawn()
	after := e.resources()
	if after.VCPUsUsed-r.VCPUsUsed != s.Flavor.VCPUs || after.MemoryMBUsed-r.MemoryMBUsed != int64(s.Flavor.MemoryMB) {
		t.Errorf("used went from %d VCPUs, %d MB to %d, %d after a spawn of %d, %d", r.VCPUsUsed, r.MemoryMBUsed,
			after.VCPUsUsed, after.MemoryMBUsed, s.Flavor.VCPUs, s.Flavor.MemoryMB)
	}
	e.must("destroy", e.d.Destroy(e.ctx, spec.UUID, false))
	if back := e.resources(); back.VCPUsUsed != r.VCPUsUsed || back.MemoryMBUsed != r.MemoryMBUsed || back.DiskGBUsed != r.DiskGBUsed {
		t.Errorf("after destroy used is %d VCPUs, %d MB, %d GB; want %d, %d, %d", back.VCPUsUsed, back.MemoryMBUsed, back.DiskGBUsed,
			r.VCPUsUsed, r.MemoryMBUsed, r.DiskGBUsed)
	}
}

func (s Suite) testSpawnRuns(t *testing.T) {
	e := s.env(t, "h1")
	spec := e.spawn()
	e.wantState(spec.UUID, virt.Running)
	info, _ := e.d.GetInfo(e.ctx, spec.UUID)
	if info.UUID != spec.UUID || info.Name != spec.Name {
		t.Errorf("info %+v, want uuid %s name %s", info, spec.UUID, spec.Name)
	}
	if !e.listed(spec.UUID) {
		t.Errorf("%s not listed", spec.UUID)
	}
}

func (s Suite) testSpawnStopped(t *testing.T) {
	e := s.env(t, "h1")
	spec := e.spec()
	spec.StartStopped = true
	e.must("spawn", e.d.Spawn(e.ctx, spec))
	e.wantState(spec.UUID, virt.Shutdown)
	e.must("power on", e.d.PowerOn(e.ctx, spec.UUID))
	e.wantEvent(spec.UUID, virt.EventStarted)
	e.wantState(spec.UUID, virt.Running)
}

func (s Suite) testSpawnRefuses(t *testing.T) {
	e := s.env(t, "h1")
	spec := e.spawn()
	dup := e.spec()
	dup.UUID = spec.UUID
	e.wantErr("spawn a duplicate", e.d.Spawn(e.ctx, dup), virt.ErrInstanceExists)
	e.wantState(spec.UUID, virt.Running)

	bad := []func(*virt.InstanceSpec){
		func(s *virt.InstanceSpec) { s.UUID = "" },
		func(s *virt.InstanceSpec) { s.Name = "" },
		func(s *virt.InstanceSpec) { s.Flavor.VCPUs = 0 },
		func(s *virt.InstanceSpec) { s.Flavor.MemoryMB = 0 },
	}
	for i, change := range bad {
		b := e.spec()
		change(b)
		e.wantErr(fmt.Sprintf("spawn bad spec %d", i), e.d.Spawn(e.ctx, b), virt.ErrInvalidSpec)
		if b.UUID != "" && e.listed(b.UUID) {
			t.Errorf("a refused spawn left %s behind", b.UUID)
		}
	}
	list, err := e.d.ListInstances(e.ctx)
	e.must("list", err)
	if len(list) != 1 {
		t.Errorf("listed %v, want only %s", list, spec.UUID)
	}
}

func (s Suite) testDestroy(t *testing.T) {
	e := s.env(t, "h1")
	spec := e.spawn()
	e.must("destroy", e.d.Destroy(e.ctx, spec.UUID, false))
	e.wantEvent(spec.UUID, virt.EventStopped)
	_, err := e.d.GetInfo(e.ctx, spec.UUID)
	e.wantErr("get info after destroy", err, virt.ErrInstanceNotFound)
	if e.listed(spec.UUID) {
		t.Errorf("%s still listed after destroy", spec.UUID)
	}
	e.must("destroy again", e.d.Destroy(e.ctx, spec.UUID, false))
	e.must("destroy unknown", e.d.Destroy(e.ctx, "11111111-2222-4333-8444-555555555555", true))
	stopped := e.spec()
	stopped.StartStopped = true
	e.must("spawn stopped", e.d.Spawn(e.ctx, stopped))
	e.must("destroy stopped", e.d.Destroy(e.ctx, stopped.UUID, false))
	// The uuid is free again.
	spec.Image = s.Image(t)
	e.must("spawn again", e.d.Spawn(e.ctx, spec))
	e.wantState(spec.UUID, virt.Running)
}

func (s Suite) testPowerCycle(t *testing.T) {
	e := s.env(t, "h1")
	spec := e.spawn()
	e.must("power off", e.d.PowerOff(e.ctx, spec.UUID, 0))
	e.wantEvent(spec.UUID, virt.EventStopped)
	e.wantState(spec.UUID, virt.Shutdown)
	e.must("power off when off", e.d.PowerOff(e.ctx, spec.UUID, 0))
	e.must("power on", e.d.PowerOn(e.ctx, spec.UUID))
	e.wantEvent(spec.UUID, virt.EventStarted)
	e.wantState(spec.UUID, virt.Running)
	e.must("power on when on", e.d.PowerOn(e.ctx, spec.UUID))
	e.must("clean power off", e.d.PowerOff(e.ctx, spec.UUID, time.Second))
	e.wantState(spec.UUID, virt.Shutdown)
}

func (s Suite) testPause(t *testing.T) {
	e := s.env(t, "h1")
	spec := e.spawn()
	e.wantErr("unpause a running instance", e.d.Unpause(e.ctx, spec.UUID), virt.ErrInvalidState)
	e.must("pause", e.d.Pause(e.ctx, spec.UUID))
	e.wantEvent(spec.UUID, virt.EventPaused)
	e.wantState(spec.UUID, virt.Paused)
	e.wantErr("pause a paused instance", e.d.Pause(e.ctx, spec.UUID), virt.ErrInvalidState)
	e.wantErr("resume a paused instance", e.d.Resume(e.ctx, spec.UUID), virt.ErrInvalidState)
	e.wantErr("suspend a paused instance", e.d.Suspend(e.ctx, spec.UUID), virt.ErrInvalidState)
	e.must("unpause", e.d.Unpause(e.ctx, spec.UUID))
	e.wantEvent(spec.UUID, virt.EventResumed)
	e.wantState(spec.UUID, virt.Running)
	e.must("power off", e.d.PowerOff(e.ctx, spec.UUID, 0))
	err := e.d.Pause(e.ctx, spec.UUID)
	e.wantErr("pause a stopped instance", err, virt.ErrInvalidState)
	var se *virt.StateError
	if !errors.As(err, &se) || se.State != virt.Shutdown || se.UUID != spec.UUID {
		t.Errorf("pause a stopped instance: %v, want a StateError naming shutdown", err)
	}
}

func (s Suite) testSuspend(t *testing.T) {
	e := s.env(t, "h1")
	spec := e.spawn()
	e.wantErr("resume a running instance", e.d.Resume(e.ctx, spec.UUID), virt.ErrInvalidState)
	e.must("suspend", e.d.Suspend(e.ctx, spec.UUID))
	e.wantEvent(spec.UUID, virt.EventSuspended)
	e.wantState(spec.UUID, virt.Suspended)
	e.wantErr("pause a suspended instance", e.d.Pause(e.ctx, spec.UUID), virt.ErrInvalidState)
	e.wantErr("power on a suspended instance", e.d.PowerOn(e.ctx, spec.UUID), virt.ErrInvalidState)
	e.must("resume", e.d.Resume(e.ctx, spec.UUID))
	e.wantEvent(spec.UUID, virt.EventResumed)
	e.wantState(spec.UUID, virt.Running)
}

func (s Suite) testReboot(t *testing.T) {
	e := s.env(t, "h1")
	into := map[string]func(uuid string) error{
		"running":   func(string) error { return nil },
		"paused":    func(u string) error { return e.d.Pause(e.ctx, u) },
		"suspended": func(u string) error { return e.d.Suspend(e.ctx, u) },
		"shutdown":  func(u string) error { return e.d.PowerOff(e.ctx, u, 0) },
	}
	for _, from := range []string{"running", "paused", "suspended", "shutdown"} {
		for _, kind := range []virt.RebootType{virt.RebootSoft, virt.RebootHard} {
			spec := e.spawn()
			e.must("prepare "+from, into[from](spec.UUID))
			e.must(fmt.Sprintf("%s reboot from %s", kind, from), e.d.Reboot(e.ctx, spec.UUID, kind))
			e.wantState(spec.UUID, virt.Running)
		}
	}
	spec := e.spawn()
	e.wantErr("reboot of unknown type", e.d.Reboot(e.ctx, spec.UUID, "GENTLE"), virt.ErrInvalidSpec)
}

func (s Suite) testSnapshot(t *testing.T) {
	e := s.env(t, "h1")
	spec := e.spawn()
	for _, stop := range []bool{false, true} {
		if stop {
			e.must("power off", e.d.PowerOff(e.ctx, spec.UUID, 0))
		}
		snap, err := e.d.Snapshot(e.ctx, spec.UUID)
		e.must("snapshot", err)
		data, err := io.ReadAll(snap.Data)
		e.must("read snapshot", err)
		e.must("close snapshot", snap.Data.Close())
		if len(data) == 0 || int64(len(data)) != snap.Size || snap.DiskFormat == "" || snap.ContainerFormat == "" {
			t.Errorf("snapshot of %d bytes, size %d, formats %q/%q: want data of its size and formats",
				len(data), snap.Size, snap.DiskFormat, snap.ContainerFormat)
		}
	}
}

func (s Suite) testConsoles(t *testing.T) {
	e := s.env(t, "h1")
	a, b := e.spawn(), e.spawn()
	out, err := e.d.GetConsoleOutput(e.ctx, a.UUID)
	e.must("console output", err)
	if out == "" {
		t.Error("empty console output after boot")
	}
	va, err := e.d.GetVNCConsole(e.ctx, a.UUID)
	e.must("vnc console", err)
	vb, err := e.d.GetVNCConsole(e.ctx, b.UUID)
	e.must("vnc console", err)
	if va.Host == "" || va.Port <= 0 || va.Port > 65535 || va == vb {
		t.Errorf("vnc consoles %+v and %+v: want valid and distinct", va, vb)
	}
	e.must("power off", e.d.PowerOff(e.ctx, a.UUID, 0))
	_, err = e.d.GetVNCConsole(e.ctx, a.UUID)
	e.wantErr("vnc console of a stopped instance", err, virt.ErrInvalidState)
	after, err := e.d.GetConsoleOutput(e.ctx, a.UUID)
	e.must("console output when off", err)
	if len(after) < len(out) {
		t.Errorf("console output shrank from %d to %d bytes across a power off", len(out), len(after))
	}
}

func (s Suite) testUnknown(t *testing.T) {
	e := s.env(t, "h1")
	const u = "99999999-9999-4999-8999-999999999999"
	ops := map[string]func() error{
		"get info":      func() error { _, err := e.d.GetInfo(e.ctx, u); return err },
		"reboot":        func() error { return e.d.Reboot(e.ctx, u, virt.RebootHard) },
		"power off":     func() error { return e.d.PowerOff(e.ctx, u, 0) },
		"power on":      func() error { return e.d.PowerOn(e.ctx, u) },
		"pause":         func() error { return e.d.Pause(e.ctx, u) },
		"unpause":       func() error { return e.d.Unpause(e.ctx, u) },
		"suspend":       func() error { return e.d.Suspend(e.ctx, u) },
		"resume":        func() error { return e.d.Resume(e.ctx, u) },
		"snapshot":      func() error { _, err := e.d.Snapshot(e.ctx, u); return err },
		"console":       func() error { _, err := e.d.GetConsoleOutput(e.ctx, u); return err },
		"vnc":           func() error { _, err := e.d.GetVNCConsole(e.ctx, u); return err },
		"migrate":       func() error { _, err := e.d.MigrateDiskAndPowerOff(e.ctx, u, "h2", s.Flavor); return err },
		"revert":        func() error { return e.d.FinishRevertMigration(e.ctx, u, true) },
		"live migrate":  func() error { return e.d.LiveMigrate(e.ctx, u, "h2", virt.MigrateData(`{}`)) },
		"post live mig": func() error { return e.d.PostLiveMigrationAtDestination(e.ctx, u) },
	}
	for name, op := range ops {
		e.wantErr(name, op(), virt.ErrInstanceNotFound)
	}
	// Steering a live migration that is not under way: none to steer.
	e.wantErr("force complete with no live migration", e.d.LiveMigrationForceComplete(e.ctx, u), virt.ErrNoLiveMigration)
	e.wantErr("abort with no live migration", e.d.LiveMigrationAbort(e.ctx, u), virt.ErrNoLiveMigration)
	e.must("confirm unknown migration", e.d.ConfirmMigration(e.ctx, u))
	e.must("roll back unknown live migration", e.d.RollbackLiveMigrationAtDestination(e.ctx, u))
}

// migrate runs the source half of a cold migration to dst with flavor.
func (e *env) migrate(spec *virt.InstanceSpec, dst *env, flavor virt.Flavor) {
	e.t.Helper()
	disk, err := e.d.MigrateDiskAndPowerOff(e.ctx, spec.UUID, dst.host, flavor)
	e.must("migrate disk and power off", err)
	moved := *spec
	moved.Flavor = flavor
	moved.Image = e.s.Image(e.t)
	e.must("finish migration", dst.d.FinishMigration(dst.ctx, &moved, disk))
	dst.wantState(spec.UUID, virt.Running)
}

func (s Suite) testColdMigrationConfirm(t *testing.T) {
	src, dst := s.env(t, "h1"), s.env(t, "h2")
	spec := src.spawn()
	src.migrate(spec, dst, s.Flavor)
	src.wantEvent(spec.UUID, virt.EventStopped)
	src.must("confirm", src.d.ConfirmMigration(src.ctx, spec.UUID))
	if src.listed(spec.UUID) {
		t.Errorf("source still lists %s after the migration was confirmed", spec.UUID)
	}
	if r := src.resources(); r.VCPUsUsed != 0 || r.MemoryMBUsed != 0 {
		t.Errorf("source still uses %d VCPUs, %d MB after the migration was confirmed", r.VCPUsUsed, r.MemoryMBUsed)
	}
	if r := dst.resources(); r.VCPUsUsed != s.Flavor.VCPUs {
		t.Errorf("destination uses %d VCPUs, want %d", r.VCPUsUsed, s.Flavor.VCPUs)
	}
}

func (s Suite) testColdMigrationRevert(t *testing.T) {
	src, dst := s.env(t, "h1"), s.env(t, "h2")
	spec := src.spawn()
	src.migrate(spec, dst, s.Flavor)
	dst.must("destroy on destination", dst.d.Destroy(dst.ctx, spec.UUID, false))
	src.must("finish revert", src.d.FinishRevertMigration(src.ctx, spec.UUID, true))
	src.wantState(spec.UUID, virt.Running)
	if dst.listed(spec.UUID) {
		t.Errorf("destination still lists %s after the revert", spec.UUID)
	}
	src.wantErr("revert twice", src.d.FinishRevertMigration(src.ctx, spec.UUID, true), virt.ErrInstanceNotFound)
}

func (s Suite) testResizeSameHost(t *testing.T) {
	e := s.env(t, "h1")
	spec := e.spawn()
	bigger := s.Flavor
	bigger.Name, bigger.VCPUs, bigger.MemoryMB = "bigger", s.Flavor.VCPUs+1, s.Flavor.MemoryMB*2
	smaller := s.Flavor
	smaller.RootGB = s.Flavor.RootGB - 1
	if smaller.RootGB >= 0 {
		_, err := e.d.MigrateDiskAndPowerOff(e.ctx, spec.UUID, "h1", smaller)
		e.wantErr("resize the root disk down", err, virt.ErrNotSupported)
		e.wantState(spec.UUID, virt.Running)
	}
	e.migrate(spec, e, bigger)
	e.must("confirm", e.d.ConfirmMigration(e.ctx, spec.UUID))
	if r := e.resources(); r.VCPUsUsed != bigger.VCPUs || r.MemoryMBUsed != int64(bigger.MemoryMB) {
		t.Errorf("after the resize the host uses %d VCPUs, %d MB; want %d, %d", r.VCPUsUsed, r.MemoryMBUsed, bigger.VCPUs, bigger.MemoryMB)
	}
	// And a resize reverted on the one host.
	e.migrate(spec, e, s.Flavor)
	e.must("destroy the new copy", e.d.Destroy(e.ctx, spec.UUID, false))
	e.must("finish revert", e.d.FinishRevertMigration(e.ctx, spec.UUID, false))
	e.wantState(spec.UUID, virt.Shutdown)
	if r := e.resources(); r.VCPUsUsed != bigger.VCPUs {
		t.Errorf("after the revert the host uses %d VCPUs, want %d", r.VCPUsUsed, bigger.VCPUs)
	}
}

func (s Suite) testLiveMigration(t *testing.T) {
	src, dst := s.env(t, "h1"), s.env(t, "h2")
	spec := src.spawn()
	incoming := *spec
	incoming.Image = s.Image(t)
	data, err := dst.d.PreLiveMigration(dst.ctx, &incoming)
	dst.must("pre live migration", err)
	// The data crosses hosts as JSON; what the source cannot read leaves
	// the instance running here.
	wire, err := json.Marshal(data)
	src.must("encode migrate data", err)
	for _, bad := range []virt.MigrateData{nil, virt.MigrateData(`[1]`), virt.MigrateData(`{}`)} {
		src.wantErr(fmt.Sprintf("live migrate with migrate data %q", bad), src.d.LiveMigrate(src.ctx, spec.UUID, "h2", bad), virt.ErrInvalidSpec)
		src.wantState(spec.UUID, virt.Running)
	}
	var carried virt.MigrateData
	src.must("decode migrate data", json.Unmarshal(wire, &carried))
	src.must("live migrate", src.d.LiveMigrate(src.ctx, spec.UUID, "h2", carried))
	dst.must("post live migration", dst.d.PostLiveMigrationAtDestination(dst.ctx, spec.UUID))
	dst.wantState(spec.UUID, virt.Running)
	if src.listed(spec.UUID) {
		t.Errorf("source still lists %s after live migration", spec.UUID)
	}
	// A stopped instance cannot move live, and a failed attempt rolls back.
	stopped := src.spawn()
	src.must("power off", src.d.PowerOff(src.ctx, stopped.UUID, 0))
	in2 := *stopped
	in2.Image = s.Image(t)
	data2, err := dst.d.PreLiveMigration(dst.ctx, &in2)
	dst.must("pre live migration", err)
	src.wantErr("live migrate a stopped instance", src.d.LiveMigrate(src.ctx, stopped.UUID, "h2", data2), virt.ErrInvalidState)
	dst.must("rollback", dst.d.RollbackLiveMigrationAtDestination(dst.ctx, stopped.UUID))
	if dst.listed(stopped.UUID) {
		t.Errorf("destination lists %s after the rollback", stopped.UUID)
	}
	src.wantState(stopped.UUID, virt.Shutdown)
}

func (s Suite) testConcurrentSpawns(t *testing.T) {
	e := s.env(t, "h1")
	const n = 20
	specs := make([]*virt.InstanceSpec, n)
	for i := range specs {
		specs[i] = e.spec()
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i, spec := range specs {
		wg.Go(func() { errs[i] = e.d.Spawn(e.ctx, spec) })
	}
	wg.Wait()
	for i, err := range errs {
		e.must("spawn "+specs[i].UUID, err)
	}
	list, err := e.d.ListInstances(e.ctx)
	e.must("list", err)
	if len(list) != n {
		t.Errorf("listed %d instances, want %d", len(list), n)
	}
	for _, info := range list {
		if info.State != virt.Running {
			t.Errorf("%s is %s, want running", info.UUID, info.State)
		}
	}
}

func (s Suite) testRescue(t *testing.T) {
	e := s.env(t, "h1")
	spec := e.spawn()
	e.wantErr("unrescue an instance not rescued", e.d.Unrescue(e.ctx, spec.UUID), virt.ErrInvalidState)
	e.must("rescue", e.d.Rescue(e.ctx, spec, e.s.Image(t), "rescue-pass"))
	e.wantEvent(spec.UUID, virt.EventStopped)
	e.wantEvent(spec.UUID, virt.EventStarted)
	e.wantState(spec.UUID, virt.Running)
	e.wantErr("rescue a rescued instance", e.d.Rescue(e.ctx, spec, e.s.Image(t), ""), virt.ErrInvalidState)
	e.must("unrescue", e.d.Unrescue(e.ctx, spec.UUID))
	e.wantEvent(spec.UUID, virt.EventStopped)
	e.wantEvent(spec.UUID, virt.EventStarted)
	e.wantState(spec.UUID, virt.Running)
	// A stopped instance is rescued too, and runs.
	e.must("power off", e.d.PowerOff(e.ctx, spec.UUID, 0))
	e.wantEvent(spec.UUID, virt.EventStopped)
	e.must("rescue a stopped instance", e.d.Rescue(e.ctx, spec, e.s.Image(t), ""))
	e.wantEvent(spec.UUID, virt.EventStarted)
	e.wantState(spec.UUID, virt.Running)
	e.must("unrescue", e.d.Unrescue(e.ctx, spec.UUID))
	e.wantState(spec.UUID, virt.Running)
	// Destroying a rescued instance leaves nothing behind.
	e.must("rescue", e.d.Rescue(e.ctx, spec, e.s.Image(t), ""))
	e.must("destroy a rescued instance", e.d.Destroy(e.ctx, spec.UUID, false))
	if e.listed(spec.UUID) {
		t.Error("a destroyed rescued instance is still listed")
	}
	unknown := e.spec()
	e.wantErr("rescue an unknown instance", e.d.Rescue(e.ctx, unknown, e.s.Image(t), ""), virt.ErrInstanceNotFound)
	e.wantErr("unrescue an unknown instance", e.d.Unrescue(e.ctx, unknown.UUID), virt.ErrInstanceNotFound)
}

func (s Suite) testDiagnostics(t *testing.T) {
	e := s.env(t, "h1")
	spec := e.spawn()
	d, err := e.d.Diagnostics(e.ctx, spec.UUID)
	e.must("diagnostics", err)
	if d.State != "running" || d.Driver == "" || d.Hypervisor == "" || len(d.CPUs) != s.Flavor.VCPUs ||
		d.MemoryMaxKB != int64(s.Flavor.MemoryMB)*1024 || len(d.Disks) == 0 || d.Disks[0].Name != "vda" {
		t.Errorf("diagnostics of a running instance %+v", d)
	}
	e.must("power off", e.d.PowerOff(e.ctx, spec.UUID, 0))
	d, err = e.d.Diagnostics(e.ctx, spec.UUID)
	e.must("diagnostics", err)
	if d.State != "shutdown" || d.Uptime != 0 {
		t.Errorf("diagnostics of a stopped instance: state %q uptime %d", d.State, d.Uptime)
	}
	_, err = e.d.Diagnostics(e.ctx, e.spec().UUID)
	e.wantErr("diagnostics of an unknown instance", err, virt.ErrInstanceNotFound)
}
