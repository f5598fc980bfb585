package conductor

import (
	"context"
	"errors"
	"fmt"

	"github.com/nimbus-cloud/nimbus/internal/compute"
	"github.com/nimbus-cloud/nimbus/internal/rpc"
)

// eventLiveMigrate is the conductor's event of a live migration.
const eventLiveMigrate = "conductor_live_migrate_instance"

// LiveMigrateInstance starts a live migration (nova's
// live_migrate_instance): the source's allocation passes to the
// migration, the destination is chosen (by the scheduler, or forced by an
// admin, when only placement checks it) and claimed, and the source host
// moves the instance. A move that cannot start is undone with a fault.
func (s *Server) LiveMigrateInstance(ctx context.Context, r rpc.LiveMigrateRequest) error {
	id := r.InstanceUUID
	inst, err := s.inst.Instance(ctx, id)
	if errors.Is(err, compute.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read instance %s to live-migrate: %w", id, err)
	}
	if inst.Deleted || inst.TaskState != compute.TaskMigrating || inst.Host == "" {
		return nil
	}
	s.startEvent(ctx, id, eventLiveMigrate)
	s.beginMigration(ctx, &inst, compute.MigrationTypeLive, compute.MigrationAccepted, nil)
	fail := func(moved bool, msg string) {
		s.abortLive(ctx, id, moved, compute.Fault{Code: 500, Message: truncate(msg, maxFaultMessage), Details: msg})
		s.finishEvent(ctx, id, eventLiveMigrate, errors.New(msg))
	}
	if !s.reg.HostUp(inst.Host) {
		fail(false, fmt.Sprintf("Compute service of %s is unavailable at this time.", inst.Host))
		return nil
	}
	if err := s.placement.MoveAllocations(ctx, id, migrationUUID(id), inst.ProjectID, inst.UserID); err != nil {
		fail(false, "Failed to move the instance's allocation to its migration: "+err.Error())
		return nil
	}
	spec := rpc.RequestSpec{InstanceUUIDs: []string{id}, ProjectID: inst.ProjectID, UserID: inst.UserID,
		Flavor: wireFlavor(inst.Flavor), Image: instanceImage(&inst), BootFromVolume: bootFromVolume(&inst),
		IgnoreHosts: []string{inst.Host}}
	if r.Force {
		spec.ForcedHost = r.Host
	} else {
		spec.RequestedHost = r.Host
	}
	if inst.PinnedAvailabilityZone != nil {
		spec.AvailabilityZone = *inst.PinnedAvailabilityZone
	}
	sels, err := s.sched.SelectDestinations(ctx, spec)
	if err != nil {
		fail(true, scheduleFault(err).Message)
		return nil
	}
	dest := sels[0].Host
	s.migrationTo(ctx, id, compute.MigrationQueued, &dest, compute.MigrationAccepted)
	req := rpc.LiveMigrationRequest{Instance: instanceSpec(&inst, instanceImage(&inst)), Dest: dest}
	if err := s.computes.LiveMigrate(ctx, inst.Host, req); err != nil {
		s.release(ctx, id)
		fail(true, fmt.Sprintf("Compute service of %s could not be reached to live-migrate the instance: %v", inst.Host, err))
		return nil
	}
	s.migrationTo(ctx, id, compute.MigrationRunning, nil, compute.MigrationQueued)
	s.log.InfoContext(ctx, "live-migrating instance", "instance_uuid", id, "from", inst.Host, "to", dest.Host)
	s.finishEvent(ctx, id, eventLiveMigrate, nil)
	return nil
}

// abortLive undoes a live migration that did not happen: the allocation
// comes back from the migration (when moved) and the task is cleared,
// with a fault.
func (s *Server) abortLive(ctx context.Context, id string, movedAlloc bool, fault compute.Fault) {
	inst, err := s.inst.Instance(ctx, id)
	if err != nil {
		s.log.ErrorContext(ctx, "read instance to abort its live migration", "instance_uuid", id, "error", err)
		return
	}
	if movedAlloc {
		if err := s.placement.MoveAllocations(ctx, migrationUUID(id), id, inst.ProjectID, inst.UserID); err != nil {
			s.log.ErrorContext(ctx, "give an instance its allocation back", "instance_uuid", id, "error", err)
		}
	}
	s.failMoveStep(ctx, id, compute.TaskMigrating, "", fault.Message)
}

// LiveMigrationDone records the end of a live migration its source host
// reports: the instance passes to the destination and the source's
// allocation goes, or, on failure, the destination's claim goes and the
// instance stays with a fault; cancelled, it stays without one.
func (s *Server) LiveMigrationDone(ctx context.Context, r rpc.LiveMigrationResult) error {
	id := r.InstanceUUID
	if r.Cancelled {
		s.release(ctx, id)
		s.cancelLive(ctx, r)
		return nil
	}
	if r.Error != "" {
		s.release(ctx, id)
		s.abortLive(ctx, id, true, compute.Fault{Code: 500, Message: "Live migration failed: " + r.Error})
		return nil
	}
	_, err := s.inst.SaveInstance(ctx, id, func(i *compute.Instance) error {
		if i.Host != r.Source {
			return wrongHost(id, r.Source, i.Host)
		}
		if err := compute.ExpectTask(i, compute.TaskMigrating); err != nil {
			return err
		}
		i.Host, i.Node, i.TaskState = r.Dest.Host, r.Dest.Node, compute.TaskNone
		return nil
	})
	if err != nil {
		// Deleted meanwhile: its guest on the destination is reaped by the
		// power state sync, its allocations by the delete.
		s.log.InfoContext(ctx, "live migration of an instance that moved on", "instance_uuid", id, "error", err)
	}
	s.migrationTo(ctx, id, compute.MigrationCompleted, nil, liveUnderWay...)
	if err := s.placement.DeleteAllocations(ctx, migrationUUID(id)); err != nil {
		return fmt.Errorf("release the source's allocation of %s: %w", id, err)
	}
	return nil
}

// EvacuateInstance rebuilds an instance of a dead host elsewhere (nova's
// rebuild_instance with evacuate): the dead host's allocation passes to the
// migration until the host returns and reaps its guest, the scheduler
// claims the destination, and the destination rebuilds the instance from
// its image, stopped if it was (or if asked to be).
func (s *Server) EvacuateInstance(ctx context.Context, r rpc.EvacuateRequest) error {
	id := r.InstanceUUID
	inst, err := s.inst.Instance(ctx, id)
	if errors.Is(err, compute.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read instance %s to evacuate: %w", id, err)
	}
	if inst.Deleted || inst.TaskState != compute.TaskRebuilding || inst.Host == "" {
		return nil
	}
	s.startEvent(ctx, id, eventRebuild)
	s.beginMigration(ctx, &inst, compute.MigrationTypeEvacuation, compute.MigrationAccepted, nil)
	source := inst.Host
	fail := func(moved bool, fault compute.Fault) {
		if moved {
			if err := s.placement.MoveAllocations(ctx, migrationUUID(id), id, inst.ProjectID, inst.UserID); err != nil {
				s.log.ErrorContext(ctx, "give an instance its allocation back", "instance_uuid", id, "error", err)
			}
		}
		s.failRebuild(ctx, id, inst.ImageRef, fault)
		s.noteEvacuation(ctx, id, compute.MigrationFailed)
		s.finishEvent(ctx, id, eventRebuild, errors.New(fault.Message))
	}
	if err := s.placement.MoveAllocations(ctx, id, migrationUUID(id), inst.ProjectID, inst.UserID); err != nil {
		fail(false, compute.Fault{Code: 500, Message: truncate("Failed to move the instance's allocation to its "+
			"migration: "+err.Error(), maxFaultMessage)})
		return nil
	}
	spec := rpc.RequestSpec{InstanceUUIDs: []string{id}, ProjectID: inst.ProjectID, UserID: inst.UserID,
		Flavor: wireFlavor(inst.Flavor), Image: instanceImage(&inst), BootFromVolume: bootFromVolume(&inst),
		IgnoreHosts: []string{source}}
	if r.Force {
		spec.ForcedHost = r.Host
	} else {
		spec.RequestedHost = r.Host
	}
	if inst.PinnedAvailabilityZone != nil {
		spec.AvailabilityZone = *inst.PinnedAvailabilityZone
	}
	sels, err := s.sched.SelectDestinations(ctx, spec)
	if err != nil {
		fail(true, scheduleFault(err))
		return nil
	}
	dest := sels[0].Host
	s.migrationTo(ctx, id, compute.MigrationPreMigrating, &dest, compute.MigrationAccepted)
	zone := s.reg.ComputeZone(dest.Host)
	_, err = s.inst.SaveInstance(ctx, id, func(i *compute.Instance) error {
		if err := compute.ExpectTask(i, compute.TaskRebuilding); err != nil {
			return err
		}
		i.Host, i.Node = dest.Host, dest.Node
		if zone != "" {
			i.AvailabilityZone = zone
		}
		return nil
	})
	if err != nil {
		s.release(ctx, id)
		s.finishEvent(ctx, id, eventRebuild, err)
		return nil
	}
	vm := string(inst.VMState)
	if r.TargetStopped {
		vm = string(compute.VMStopped)
	}
	req := rpc.RebuildRequest{Instance: instanceSpec(&inst, instanceImage(&inst)), VMState: vm, AdminPass: r.AdminPass}
	if err := s.computes.Rebuild(ctx, dest.Host, req); err != nil {
		s.release(ctx, id)
		fail(true, compute.Fault{Code: 500, Message: truncate(fmt.Sprintf("Compute service of %s could not be "+
			"reached to rebuild the instance: %v", dest.Host, err), maxFaultMessage)})
		return nil
	}
	s.log.InfoContext(ctx, "evacuating instance", "instance_uuid", id, "from", source, "to", dest.Host)
	s.finishEvent(ctx, id, eventRebuild, nil)
	return nil
}
