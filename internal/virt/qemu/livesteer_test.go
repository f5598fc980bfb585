package qemu

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/virt"
)

// TestLiveMigrationAbortAndForceComplete holds a live migration back with a
// bandwidth cap of 1 KiB/s: aborted, it fails as cancelled and the guest
// runs on at the source; tried again and forced to complete, it completes
// and the guest runs at the destination.
func TestLiveMigrationAbortAndForceComplete(t *testing.T) {
	t.Parallel()
	src := newDriver(t, "h1", func(o *Options) { o.LiveMigrationBandwidth = 1024 })
	dst := newDriver(t, "h2", nil)
	ctx := context.Background()
	spec := testSpec("f0000000-0000-4000-8000-000000000001", bootSectorImage(t))
	if err := src.Spawn(ctx, spec); err != nil {
		t.Fatal(err)
	}
	for _, steer := range []func(context.Context, string) error{src.LiveMigrationAbort, src.LiveMigrationForceComplete} {
		if err := steer(ctx, spec.UUID); !errors.Is(err, virt.ErrNoLiveMigration) {
			t.Errorf("steering with no live migration under way: %v, want ErrNoLiveMigration", err)
		}
	}

	done := startHeldMigration(t, src, dst, spec)
	if err := src.LiveMigrationAbort(ctx, spec.UUID); err != nil {
		t.Fatalf("abort: %v", err)
	}
	if err := waitDone(t, done); !errors.Is(err, virt.ErrLiveMigrationCancelled) {
		t.Fatalf("aborted live migration: %v, want ErrLiveMigrationCancelled", err)
	}
	if err := dst.RollbackLiveMigrationAtDestination(ctx, spec.UUID); err != nil {
		t.Fatalf("roll back the destination: %v", err)
	}
	if info, err := src.GetInfo(ctx, spec.UUID); err != nil || info.State != virt.Running {
		t.Fatalf("source after the abort: %+v, %v; want running", info, err)
	}
	src.mu.Lock()
	p := src.instances[spec.UUID].proc
	src.mu.Unlock()
	if st, err := p.status(ctx); err != nil || st != "running" {
		t.Fatalf("source QEMU after the abort: %q, %v; want running", st, err)
	}

	done = startHeldMigration(t, src, dst, spec)
	if err := src.LiveMigrationForceComplete(ctx, spec.UUID); err != nil {
		t.Fatalf("force complete: %v", err)
	}
	if err := waitDone(t, done); err != nil {
		t.Fatalf("live migration forced to complete: %v", err)
	}
	if err := dst.PostLiveMigrationAtDestination(ctx, spec.UUID); err != nil {
		t.Fatal(err)
	}
	if _, err := src.GetInfo(ctx, spec.UUID); !errors.Is(err, virt.ErrInstanceNotFound) {
		t.Errorf("source still has the instance: %v", err)
	}
	if info, err := dst.GetInfo(ctx, spec.UUID); err != nil || info.State != virt.Running {
		t.Errorf("destination: %+v, %v; want running", info, err)
	}
}

// startHeldMigration readies dst and starts the live migration of spec
// from src, returning once QEMU transfers its memory; the channel gets
// LiveMigrate's outcome.
func startHeldMigration(t *testing.T, src, dst *Driver, spec *virt.InstanceSpec) <-chan error {
	t.Helper()
	ctx := context.Background()
	data, err := dst.PreLiveMigration(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- src.LiveMigrate(ctx, spec.UUID, "h2", data) }()
	src.mu.Lock()
	p := src.instances[spec.UUID].proc
	src.mu.Unlock()
	deadline := time.Now().Add(time.Minute) // a guard against hangs, measuring nothing
	for {
		m, err := p.qmp.QueryMigrate(ctx)
		if err == nil && m.Status == "active" {
			return done
		}
		select {
		case err := <-done:
			t.Fatalf("the live migration ended before it could be steered: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the memory transfer did not start: %+v, %v", m, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitDone is LiveMigrate's outcome; it gives up after two minutes, a
// guard against hangs that measures nothing.
func waitDone(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(2 * time.Minute):
		t.Fatal("LiveMigrate did not return")
		return nil
	}
}

// TestFailedForcedMigrationResumesTheGuest: a guest a force complete
// paused runs again when its migration fails; one not forced is left as
// it is.
func TestFailedForcedMigrationResumesTheGuest(t *testing.T) {
	t.Parallel()
	d := newDriver(t, "h1", nil)
	ctx := context.Background()
	spec := testSpec("f0000000-0000-4000-8000-000000000002", bootSectorImage(t))
	if err := d.Spawn(ctx, spec); err != nil {
		t.Fatal(err)
	}
	// As during LiveMigrate, an operation holds the instance: the pause is
	// not reported as a power state change.
	in, end, err := d.begin(ctx, d.instances, spec.UUID)
	if err != nil {
		t.Fatal(err)
	}
	defer end()
	d.mu.Lock()
	p := in.proc
	d.mu.Unlock()
	for _, forced := range []bool{false, true} {
		if err := p.qmp.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		d.resumeForced(ctx, in, p, &liveJob{proc: p, forced: forced})
		want := map[bool]string{false: "paused", true: "running"}[forced]
		if st, err := p.status(ctx); err != nil || st != want {
			t.Errorf("forced %v: guest %q, %v; want %s", forced, st, err, want)
		}
	}
}
