package conductor

import (
	"context"
	"errors"
	"slices"

	"github.com/nimbus-cloud/nimbus/internal/compute"
	"github.com/nimbus-cloud/nimbus/internal/rpc"
)

// Migrations keeps the records of moves (the compute service's migration
// records) as the move flows go. A record that cannot be written is
// logged, not fatal: the move matters more than its record.
type Migrations interface {
	RecordMigration(ctx context.Context, m compute.Migration) (compute.Migration, error)
	UpdateMigration(ctx context.Context, instanceUUID string, mutate func(*compute.Migration) error) (compute.Migration, error)
}

// errMigrationMovedOn refuses a status change the record is past.
var errMigrationMovedOn = errors.New("migration record moved on")

// beginMigration records the start of a move of inst: a record of kind in
// status, from the instance's host, to the flavor newFlavor (nil: the
// instance's own).
func (s *Server) beginMigration(ctx context.Context, inst *compute.Instance, kind, status string, newFlavor *int64) {
	if s.mig == nil {
		return
	}
	old := inst.Flavor.ID
	if newFlavor == nil {
		newFlavor = &old
	}
	_, err := s.mig.RecordMigration(ctx, compute.Migration{InstanceUUID: inst.UUID, SourceCompute: inst.Host,
		SourceNode: inst.Node, OldInstanceTypeID: &old, NewInstanceTypeID: newFlavor, Status: status,
		MigrationType: kind, ProjectID: inst.ProjectID, UserID: inst.UserID})
	if err != nil {
		s.log.WarnContext(ctx, "record migration", "instance_uuid", inst.UUID, "type", kind, "error", err)
	}
}

// migrationTo moves the newest migration of an instance to status ("":
// the status stays) and records its destination when dest is set; from,
// when given, are the statuses it may move from, so a report delivered
// late or twice changes nothing.
func (s *Server) migrationTo(ctx context.Context, id, status string, dest *rpc.HostChoice, from ...string) {
	if s.mig == nil {
		return
	}
	_, err := s.mig.UpdateMigration(ctx, id, func(m *compute.Migration) error {
		if len(from) > 0 && !slices.Contains(from, m.Status) {
			return errMigrationMovedOn
		}
		if status != "" {
			m.Status = status
		}
		if dest != nil {
			m.DestCompute, m.DestNode = dest.Host, dest.Node
			m.DestHost = s.hostIP(dest.Host)
		}
		return nil
	})
	if err != nil && !errors.Is(err, errMigrationMovedOn) && !errors.Is(err, compute.ErrNotFound) {
		s.log.WarnContext(ctx, "update migration record", "instance_uuid", id, "status", status, "error", err)
	}
}

// Statuses a failed step may end: a resize or cold migration not yet
// finished, a confirm or revert, a live migration under way, an
// evacuation not yet done.
var (
	resizeUnderWay = []string{compute.MigrationPreMigrating, compute.MigrationMigrating, compute.MigrationPostMigrating}
	liveUnderWay   = []string{compute.MigrationAccepted, compute.MigrationQueued, compute.MigrationPreparing,
		compute.MigrationRunning}
	evacuationUnderWay = []string{compute.MigrationAccepted, compute.MigrationPreMigrating}
)

// migrationFailed ends the record of a move whose step task failed: a
// live migration is failed, a confirm or revert error.
func (s *Server) migrationFailed(ctx context.Context, id string, task compute.TaskState) {
	switch task {
	case compute.TaskMigrating:
		s.migrationTo(ctx, id, compute.MigrationFailed, nil, liveUnderWay...)
	case compute.TaskResizeConfirming:
		s.migrationTo(ctx, id, compute.MigrationError, nil, compute.MigrationConfirming)
	case compute.TaskResizeReverting:
		s.migrationTo(ctx, id, compute.MigrationError, nil, compute.MigrationReverting)
	}
}

// noteMoveProgress follows a host's report on an instance through the
// record of its move: the source hands the disk over (migrating,
// post-migrating), the destination finishes (finished) or fails (error),
// an evacuated instance is rebuilt (done) or not (failed).
func (s *Server) noteMoveProgress(ctx context.Context, r rpc.InstanceUpdateRequest, inst compute.Instance) {
	expected := func(t string) bool { return slices.Contains(r.ExpectedTaskStates, t) }
	switch {
	case expected("resize_prep") && inst.TaskState == compute.TaskResizeMigrating:
		s.migrationTo(ctx, r.InstanceUUID, compute.MigrationMigrating, nil, compute.MigrationPreMigrating)
	case expected("resize_migrating") && inst.TaskState == compute.TaskResizeMigrated:
		s.migrationTo(ctx, r.InstanceUUID, compute.MigrationPostMigrating, nil, compute.MigrationMigrating)
	case expected("resize_finish") && inst.VMState == compute.VMResized:
		s.migrationTo(ctx, r.InstanceUUID, compute.MigrationFinished, nil, compute.MigrationPostMigrating)
	case expected("resize_finish") && inst.VMState == compute.VMError:
		s.migrationTo(ctx, r.InstanceUUID, compute.MigrationError, nil, resizeUnderWay...)
	case (expected("rebuild_spawning") || expected("rebuilding")) && inst.TaskState == compute.TaskNone:
		status := compute.MigrationDone
		if inst.VMState == compute.VMError {
			status = compute.MigrationFailed
		}
		s.noteEvacuation(ctx, r.InstanceUUID, status)
	}
}

// noteEvacuation ends the record of an evacuation under way, if the
// instance's newest move is one.
func (s *Server) noteEvacuation(ctx context.Context, id, status string) {
	if s.mig == nil {
		return
	}
	_, err := s.mig.UpdateMigration(ctx, id, func(m *compute.Migration) error {
		if m.MigrationType != compute.MigrationTypeEvacuation || !slices.Contains(evacuationUnderWay, m.Status) {
			return errMigrationMovedOn
		}
		m.Status = status
		return nil
	})
	if err != nil && !errors.Is(err, errMigrationMovedOn) && !errors.Is(err, compute.ErrNotFound) {
		s.log.WarnContext(ctx, "update evacuation record", "instance_uuid", id, "status", status, "error", err)
	}
}

// hostIP is the address a compute host reported (nova's dest_host), ""
// when not known.
func (s *Server) hostIP(host string) string {
	if s.reg == nil {
		return ""
	}
	if c, ok := s.reg.Compute(host); ok && c.Node != nil {
		return c.Node.HostIP
	}
	return ""
}

// moveKind is the migration type of a resize (or, with migrate, a cold
// migration).
func moveKind(migrate bool) string {
	if migrate {
		return compute.MigrationTypeMigration
	}
	return compute.MigrationTypeResize
}
