package conductor

import (
	"context"

	"github.com/nimbus-cloud/nimbus/internal/compute"
	"github.com/nimbus-cloud/nimbus/internal/rpc"
)

var _ compute.LiveMigrationSteerer = (*Client)(nil)

// ForceCompleteLiveMigration casts live_migration_force_complete to the
// migration's source host, as nova's compute API does: the host pauses
// the guest so that the migration completes.
func (c *Client) ForceCompleteLiveMigration(ctx context.Context, inst compute.Instance, m compute.Migration) error {
	return c.castToHost(ctx, sourceOf(inst, m), rpc.LiveMigrationForceComplete, rpc.InstanceRequest{})
}

// AbortLiveMigration casts live_migration_abort to the migration's source
// host: the host cancels the migration and reports it cancelled.
func (c *Client) AbortLiveMigration(ctx context.Context, inst compute.Instance, m compute.Migration) error {
	return c.castToHost(ctx, sourceOf(inst, m), rpc.LiveMigrationAbort, rpc.InstanceRequest{})
}

// sourceOf is inst addressed to the source host of its live migration m,
// which is its host until the migration completes.
func sourceOf(inst compute.Instance, m compute.Migration) compute.Instance {
	if m.SourceCompute != "" {
		inst.Host = m.SourceCompute
	}
	return inst
}

// cancelLive ends a live migration its source host cancelled (nova's
// _rollback_live_migration with migration_status cancelled): the source's
// allocation comes back from the migration, the task is cleared without a
// fault, and the migration ends cancelled. The destination's claim is
// released by the caller.
func (s *Server) cancelLive(ctx context.Context, r rpc.LiveMigrationResult) {
	id := r.InstanceUUID
	inst, err := s.inst.Instance(ctx, id)
	if err != nil {
		s.log.ErrorContext(ctx, "read instance to cancel its live migration", "instance_uuid", id, "error", err)
		return
	}
	if err := s.placement.MoveAllocations(ctx, migrationUUID(id), id, inst.ProjectID, inst.UserID); err != nil {
		s.log.ErrorContext(ctx, "give an instance its allocation back", "instance_uuid", id, "error", err)
	}
	_, err = s.inst.SaveInstance(ctx, id, func(i *compute.Instance) error {
		if i.Host != r.Source {
			return wrongHost(id, r.Source, i.Host)
		}
		if err := compute.ExpectTask(i, compute.TaskMigrating); err != nil {
			return err
		}
		i.TaskState = compute.TaskNone
		return nil
	})
	if err != nil {
		s.log.InfoContext(ctx, "cancelled live migration of an instance that moved on", "instance_uuid", id, "error", err)
		return
	}
	s.migrationTo(ctx, id, compute.MigrationCancelled, nil, liveUnderWay...)
	s.log.InfoContext(ctx, "live migration cancelled", "instance_uuid", id, "host", r.Source, "dest", r.Dest.Host)
}
