package libvirt

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/virt"
)

// TestLiveMigrationAbortAndForceComplete steers migrations the fake
// libvirtd holds under way: an aborted one fails as cancelled with the
// domain running on at the source; one forced to complete suspends the
// domain, converges, and the destination takes it over.
func TestLiveMigrationAbortAndForceComplete(t *testing.T) {
	t.Parallel()
	var net fakeNet
	srcConn, dstConn := newFakeConn(), newFakeConn()
	net.add("fake://h1", srcConn)
	net.add("fake://h2", dstConn)
	srcConn.holdMigrations = true
	src := newFakeDriverWith(t, srcConn, "h1", "", func(o *Options) { o.LiveMigrationURI = "fake://h1" })
	dst := newFakeDriverWith(t, dstConn, "h2", "", func(o *Options) { o.LiveMigrationURI = "fake://h2" })
	ctx := context.Background()
	spec := fakeSpec("d0000000-0000-4000-8000-000000000001")
	spec.Image = bootSectorImage(t)
	if err := src.Spawn(ctx, spec); err != nil {
		t.Fatal(err)
	}
	for _, steer := range []func(context.Context, string) error{src.LiveMigrationAbort, src.LiveMigrationForceComplete} {
		if err := steer(ctx, spec.UUID); !errors.Is(err, virt.ErrNoLiveMigration) {
			t.Errorf("steering with no live migration under way: %v, want ErrNoLiveMigration", err)
		}
	}
	src.mu.Lock()
	dom := domainOf(src.instances[spec.UUID]).UUID
	src.mu.Unlock()
	start := func() <-chan error {
		t.Helper()
		data, err := dst.PreLiveMigration(ctx, spec)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- src.LiveMigrate(ctx, spec.UUID, "h2", data) }()
		deadline := time.Now().Add(time.Minute) // a guard against hangs, measuring nothing
		for !srcConn.migrating(dom) {
			if time.Now().After(deadline) {
				t.Fatal("the migration did not start")
			}
			time.Sleep(5 * time.Millisecond)
		}
		return done
	}

	done := start()
	if err := src.LiveMigrationAbort(ctx, spec.UUID); err != nil {
		t.Fatalf("abort: %v", err)
	}
	if err := <-done; !errors.Is(err, virt.ErrLiveMigrationCancelled) {
		t.Fatalf("aborted migration: %v, want ErrLiveMigrationCancelled", err)
	}
	if err := dst.RollbackLiveMigrationAtDestination(ctx, spec.UUID); err != nil {
		t.Fatal(err)
	}
	if info, err := src.GetInfo(ctx, spec.UUID); err != nil || info.State != virt.Running {
		t.Fatalf("source after the abort: %+v, %v; want running", info, err)
	}

	done = start()
	if err := src.LiveMigrationForceComplete(ctx, spec.UUID); err != nil {
		t.Fatalf("force complete: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("migration forced to complete: %v", err)
	}
	if err := dst.PostLiveMigrationAtDestination(ctx, spec.UUID); err != nil {
		t.Fatal(err)
	}
	if _, err := src.GetInfo(ctx, spec.UUID); !errors.Is(err, virt.ErrInstanceNotFound) {
		t.Errorf("source still has the instance: %v", err)
	}
	if _, err := dst.GetInfo(ctx, spec.UUID); err != nil {
		t.Errorf("destination: %v", err)
	}
}
