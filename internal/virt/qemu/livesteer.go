package qemu

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/nimbus-cloud/nimbus/internal/virt"
)

// unlimitedBandwidth is QEMU's max-bandwidth for "no cap" (bytes/s).
const unlimitedBandwidth = int64(1) << 40

// liveJob is a live migration under way from this host, which
// LiveMigrationForceComplete and LiveMigrationAbort steer while
// LiveMigrate runs it.
type liveJob struct {
	proc *process
	// cancel ends the migration's context: its disk copy and memory
	// transfer are cancelled, the guest stays here.
	cancel context.CancelFunc
	// aborted is set by LiveMigrationAbort.
	aborted atomic.Bool
	// mu orders the bandwidth LiveMigrate sets against a force complete
	// lifting it.
	mu     sync.Mutex
	forced bool
}

// startLive registers the live migration of in, running on p, and returns
// its context, which LiveMigrationAbort cancels.
func (d *Driver) startLive(ctx context.Context, in *instance, p *process) (*liveJob, context.Context) {
	mctx, cancel := context.WithCancel(ctx)
	job := &liveJob{proc: p, cancel: cancel}
	d.mu.Lock()
	in.live = job
	d.mu.Unlock()
	return job, mctx
}

// endLive unregisters the live migration of in.
func (d *Driver) endLive(in *instance, job *liveJob) {
	d.mu.Lock()
	if in.live == job {
		in.live = nil
	}
	d.mu.Unlock()
	job.cancel()
}

// resumeForced runs the guest again after a failed migration that a force
// complete paused, unless it was paused before.
func (d *Driver) resumeForced(ctx context.Context, in *instance, p *process, job *liveJob) {
	job.mu.Lock()
	forced := job.forced
	job.mu.Unlock()
	if !forced || !d.isRunning(in) {
		return
	}
	ctx = context.WithoutCancel(ctx)
	if st, err := p.status(ctx); err == nil && st != "running" {
		if err := p.qmp.Cont(ctx); err != nil {
			d.log.WarnContext(ctx, "resume a guest paused for a live migration that failed", "instance_uuid", in.rec.Spec.UUID,
				"error", err)
		}
	}
}

// setBandwidth sets the memory transfer's parameters: capped at limit
// bytes/s (0: no cap) unless the migration was forced to complete.
func (j *liveJob) setBandwidth(ctx context.Context, limit int64) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	bw := unlimitedBandwidth
	if limit > 0 && !j.forced {
		bw = limit
	}
	if err := j.proc.qmp.MigrateSetParameters(ctx, map[string]any{"max-bandwidth": bw, "downtime-limit": 300}); err != nil {
		return fmt.Errorf("set the migration's parameters: %w", err)
	}
	return nil
}

// liveJobOf is the live migration of uuid under way from this host.
func (d *Driver) liveJobOf(uuid string) (*liveJob, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	in, ok := d.instances[uuid]
	if !ok || in.live == nil {
		return nil, fmt.Errorf("%w: %s", virt.ErrNoLiveMigration, uuid)
	}
	return in.live, nil
}

// LiveMigrationForceComplete pauses the guest, whose memory then stops
// changing, and lifts any bandwidth cap, so that the migration converges
// now (nova's force complete without post-copy). The destination runs the
// guest once it has it; should the migration fail, the guest runs on here.
func (d *Driver) LiveMigrationForceComplete(ctx context.Context, uuid string) error {
	job, err := d.liveJobOf(uuid)
	if err != nil {
		return fmt.Errorf("force live migration of %s to complete: %w", uuid, err)
	}
	job.mu.Lock()
	defer job.mu.Unlock()
	job.forced = true
	if err := job.proc.qmp.Stop(ctx); err != nil {
		return fmt.Errorf("force live migration of %s to complete: pause the guest: %w", uuid, err)
	}
	// A memory transfer under way speeds up; one yet to start is set
	// uncapped by LiveMigrate, which sees forced.
	if err := job.proc.qmp.MigrateSetParameters(ctx, map[string]any{"max-bandwidth": unlimitedBandwidth}); err != nil {
		return fmt.Errorf("force live migration of %s to complete: lift the bandwidth cap: %w", uuid, err)
	}
	d.log.InfoContext(ctx, "live migration forced to complete: guest paused", "instance_uuid", uuid)
	return nil
}

// LiveMigrationAbort cancels the live migration of uuid (QMP
// migrate_cancel, and the disk copy with it): LiveMigrate fails with
// ErrLiveMigrationCancelled and the guest runs on here as it was.
func (d *Driver) LiveMigrationAbort(ctx context.Context, uuid string) error {
	job, err := d.liveJobOf(uuid)
	if err != nil {
		return fmt.Errorf("abort live migration of %s: %w", uuid, err)
	}
	job.aborted.Store(true)
	// migrate_cancel stops the memory transfer at once; the cancelled
	// context ends the disk copy or the wait, whichever runs, and
	// LiveMigrate undoes what it began.
	if err := job.proc.qmp.MigrateCancel(ctx); err != nil {
		d.log.WarnContext(ctx, "migrate_cancel; the migration is cancelled through its context", "instance_uuid", uuid, "error", err)
	}
	job.cancel()
	d.log.InfoContext(ctx, "live migration aborted", "instance_uuid", uuid)
	return nil
}
