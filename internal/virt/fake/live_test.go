package fake_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/virt"
	"github.com/nimbus-cloud/nimbus/internal/virt/fake"
)

// TestHeldLiveMigrationIsSteered: with HoldLiveMigrations on, a live
// migration stays under way until it is aborted (the instance stays) or
// forced to complete (it moves).
func TestHeldLiveMigrationIsSteered(t *testing.T) {
	t.Parallel()
	src, dst := newDriver(t, "h1"), newDriver(t, "h2")
	src.HoldLiveMigrations(true)
	ctx := context.Background()
	s := spec("a0000000-0000-4000-8000-000000000001", "held")
	if err := src.Spawn(ctx, s); err != nil {
		t.Fatal(err)
	}
	start := func() <-chan error {
		t.Helper()
		incoming := *s
		incoming.Image = streamImage(t)
		data, err := dst.PreLiveMigration(ctx, &incoming)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- src.LiveMigrate(ctx, s.UUID, "h2", data) }()
		waitUnderWay(t, src, s.UUID)
		return done
	}

	done := start()
	if err := src.LiveMigrationAbort(ctx, s.UUID); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, virt.ErrLiveMigrationCancelled) {
		t.Fatalf("aborted: %v, want ErrLiveMigrationCancelled", err)
	}
	if err := dst.RollbackLiveMigrationAtDestination(ctx, s.UUID); err != nil {
		t.Fatal(err)
	}
	if info, err := src.GetInfo(ctx, s.UUID); err != nil || info.State != virt.Running {
		t.Fatalf("after the abort: %+v, %v", info, err)
	}
	if err := src.LiveMigrationAbort(ctx, s.UUID); !errors.Is(err, virt.ErrNoLiveMigration) {
		t.Errorf("abort after the end: %v, want ErrNoLiveMigration", err)
	}

	done = start()
	if err := src.LiveMigrationForceComplete(ctx, s.UUID); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("forced to complete: %v", err)
	}
	if err := dst.PostLiveMigrationAtDestination(ctx, s.UUID); err != nil {
		t.Fatal(err)
	}
	if _, err := src.GetInfo(ctx, s.UUID); !errors.Is(err, virt.ErrInstanceNotFound) {
		t.Errorf("source after the move: %v", err)
	}
}

func waitUnderWay(t *testing.T, d *fake.Driver, uuid string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second) // a guard against hangs, measuring nothing
	for !d.LiveMigrationUnderWay(uuid) {
		if time.Now().After(deadline) {
			t.Fatal("the live migration is not under way")
		}
		time.Sleep(time.Millisecond)
	}
}
