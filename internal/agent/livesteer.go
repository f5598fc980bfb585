package agent

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/rpc"
	"github.com/nimbus-cloud/nimbus/internal/virt"
)

// liveMigration is a live migration this host, its source, runs, which
// live_migration_force_complete and live_migration_abort steer. Before the
// driver moves the guest a steer is remembered and applied when it starts
// (an abort then stops the migration before the guest moves); while the
// driver moves it, the steer goes to the driver.
type liveMigration struct {
	mu       sync.Mutex
	inDriver bool
	aborted  bool
	forced   bool
	// cancel ends the driver's LiveMigrate; done is closed once it
	// returned.
	cancel context.CancelFunc
	done   chan struct{}
}

// trackLive registers the live migration of id from this host.
func (a *Agent) trackLive(id string) *liveMigration {
	lm := &liveMigration{done: make(chan struct{})}
	a.mu.Lock()
	a.live[id] = lm
	a.mu.Unlock()
	return lm
}

// untrackLive drops the live migration of id.
func (a *Agent) untrackLive(id string, lm *liveMigration) {
	a.mu.Lock()
	if a.live[id] == lm {
		delete(a.live, id)
	}
	a.mu.Unlock()
	lm.mu.Lock()
	if lm.cancel != nil {
		lm.cancel()
	}
	lm.mu.Unlock()
}

// liveOf is the live migration of id under way from this host, or nil.
func (a *Agent) liveOf(id string) *liveMigration {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.live[id]
}

// enterDriver hands the migration to the driver: it returns the context
// of the driver's LiveMigrate and whether the migration was forced to
// complete meanwhile; ok is false when it was aborted.
func (lm *liveMigration) enterDriver(ctx context.Context) (mctx context.Context, forced, ok bool) {
	lm.mu.Lock()
	defer lm.mu.Unlock()
	if lm.aborted {
		return nil, false, false
	}
	mctx, lm.cancel = context.WithCancel(ctx)
	lm.inDriver = true
	return mctx, lm.forced, true
}

// leaveDriver records that the driver's LiveMigrate returned.
func (lm *liveMigration) leaveDriver() {
	lm.mu.Lock()
	defer lm.mu.Unlock()
	lm.inDriver = false
	close(lm.done)
}

// wasAborted tells whether live_migration_abort came for the migration.
func (lm *liveMigration) wasAborted() bool {
	lm.mu.Lock()
	defer lm.mu.Unlock()
	return lm.aborted
}

// steer records an abort or a force complete; it reports whether the
// driver runs the migration now, and so must be told.
func (lm *liveMigration) steer(abort bool) (inDriver bool) {
	lm.mu.Lock()
	defer lm.mu.Unlock()
	if abort {
		lm.aborted = true
	} else {
		lm.forced = true
	}
	return lm.inDriver
}

// LiveMigrationAbort cancels the live migration of an instance from this
// host (nova's live_migration_abort): the driver stops it, or it stops
// before the guest moves; the instance stays here and the migration ends
// cancelled. With none under way there is nothing to do.
func (a *Agent) LiveMigrationAbort(ctx context.Context, r rpc.InstanceRequest) error {
	const event = "compute_live_migration_abort"
	id := r.InstanceUUID
	a.event(ctx, id, event, false, nil)
	if lm := a.liveOf(id); lm == nil {
		a.log.InfoContext(ctx, "no live migration to abort", "instance_uuid", id)
	} else if lm.steer(true) {
		if err := a.driver.LiveMigrationAbort(ctx, id); err != nil {
			// The driver has not taken the migration up yet, or cannot
			// stop it: its context ends it.
			a.log.InfoContext(ctx, "the driver did not abort the live migration: cancelling it", "instance_uuid", id, "error", err)
			lm.mu.Lock()
			if lm.cancel != nil {
				lm.cancel()
			}
			lm.mu.Unlock()
		}
	}
	a.event(ctx, id, event, true, nil)
	return nil
}

// LiveMigrationForceComplete makes the live migration of an instance from
// this host complete now (nova's live_migration_force_complete): the
// driver pauses the guest, once it runs the migration. With none under way
// there is nothing to do.
func (a *Agent) LiveMigrationForceComplete(ctx context.Context, r rpc.InstanceRequest) error {
	const event = "compute_live_migration_force_complete"
	id := r.InstanceUUID
	a.event(ctx, id, event, false, nil)
	var err error
	if lm := a.liveOf(id); lm == nil {
		a.log.InfoContext(ctx, "no live migration to force to complete", "instance_uuid", id)
	} else if lm.steer(false) {
		err = a.forceComplete(ctx, id, lm)
	}
	a.event(ctx, id, event, true, err)
	return nil
}

// forceComplete tells the driver to complete the migration, waiting for
// it to take the migration up; it gives up when the migration ends or ctx
// does.
func (a *Agent) forceComplete(ctx context.Context, id string, lm *liveMigration) error {
	for {
		err := a.driver.LiveMigrationForceComplete(ctx, id)
		if err == nil {
			a.log.InfoContext(ctx, "live migration forced to complete", "instance_uuid", id)
			return nil
		}
		if !errors.Is(err, virt.ErrNoLiveMigration) {
			a.log.WarnContext(ctx, "force a live migration to complete", "instance_uuid", id, "error", err)
			return err
		}
		select {
		case <-lm.done:
			return nil
		case <-ctx.Done():
			return nil
		case <-time.After(20 * time.Millisecond):
		}
	}
}
