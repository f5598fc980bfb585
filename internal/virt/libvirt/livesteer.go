package libvirt

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	golibvirt "github.com/digitalocean/go-libvirt"

	"github.com/nimbus-cloud/nimbus/internal/virt"
)

// liveJob is a live migration under way from this host, which
// LiveMigrationForceComplete and LiveMigrationAbort steer.
type liveJob struct {
	conn Conn
	// aborted is set by LiveMigrationAbort; paused by
	// LiveMigrationForceComplete, which suspended the domain.
	aborted, paused atomic.Bool
}

// perform runs the peer-to-peer migration of in to the libvirtd at uri,
// steerable meanwhile. The call returns when the migration ends; an ended
// ctx or LiveMigrationAbort aborts it (virDomainAbortJob), and the guest
// goes on running here, resumed if a force complete paused it.
func (d *Driver) perform(ctx context.Context, conn Conn, in *instance, uri string, params []golibvirt.TypedParam,
	flags golibvirt.DomainMigrateFlags) error {
	job := &liveJob{conn: conn}
	d.mu.Lock()
	in.live = job
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		in.live = nil
		d.mu.Unlock()
	}()
	done := make(chan error, 1)
	go func() {
		_, err := conn.DomainMigratePerform3Params(domainOf(in), golibvirt.OptString{uri}, params, nil, flags)
		done <- err
	}()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		if aerr := conn.DomainAbortJob(domainOf(in)); aerr != nil {
			d.log.WarnContext(ctx, "abort a live migration", "instance_uuid", in.rec.Spec.UUID, "error", aerr)
		}
		err = errors.Join(ctx.Err(), <-done)
	}
	if err == nil {
		return nil
	}
	if job.paused.Load() {
		if rerr := conn.DomainResume(domainOf(in)); rerr != nil {
			d.log.WarnContext(ctx, "resume a guest paused for a live migration that failed", "instance_uuid",
				in.rec.Spec.UUID, "error", rerr)
		}
	}
	if job.aborted.Load() {
		return fmt.Errorf("%w (%v)", virt.ErrLiveMigrationCancelled, err)
	}
	return err
}

// liveJobOf is the live migration of uuid under way from this host, with
// the instance.
func (d *Driver) liveJobOf(uuid string) (*instance, *liveJob, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	in, ok := d.instances[uuid]
	if !ok || in.live == nil {
		return nil, nil, fmt.Errorf("%w: %s", virt.ErrNoLiveMigration, uuid)
	}
	return in, in.live, nil
}

// LiveMigrationForceComplete suspends the domain, whose memory then stops
// changing, so that the migration converges now (nova's force complete
// without post-copy); the destination runs the guest once it has it.
func (d *Driver) LiveMigrationForceComplete(ctx context.Context, uuid string) error {
	in, job, err := d.liveJobOf(uuid)
	if err != nil {
		return fmt.Errorf("force live migration of %s to complete: %w", uuid, err)
	}
	if err := job.conn.DomainSuspend(domainOf(in)); err != nil {
		return fmt.Errorf("force live migration of %s to complete: suspend the domain: %w", uuid, err)
	}
	job.paused.Store(true)
	d.log.InfoContext(ctx, "live migration forced to complete: domain suspended", "instance_uuid", uuid)
	return nil
}

// LiveMigrationAbort aborts the domain's migration job
// (virDomainAbortJob): LiveMigrate fails with ErrLiveMigrationCancelled
// and the guest runs on here.
func (d *Driver) LiveMigrationAbort(ctx context.Context, uuid string) error {
	in, job, err := d.liveJobOf(uuid)
	if err != nil {
		return fmt.Errorf("abort live migration of %s: %w", uuid, err)
	}
	job.aborted.Store(true)
	if err := job.conn.DomainAbortJob(domainOf(in)); err != nil {
		return fmt.Errorf("abort live migration of %s: %w", uuid, err)
	}
	d.log.InfoContext(ctx, "live migration aborted", "instance_uuid", uuid)
	return nil
}
