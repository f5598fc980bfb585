package conductor

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/nimbus-cloud/nimbus/internal/compute"
	"github.com/nimbus-cloud/nimbus/internal/rpc"
)

// eventMigrate is the conductor's event of a resize or cold migration
// (nova's conductor_migrate_server).
const eventMigrate = "conductor_migrate_server"

// migrationSpace names the placement consumers of moves.
var migrationSpace = uuid.MustParse("6f0a4fd4-8b1e-4c55-9d0b-3c1f1f0d5a2e")

// migrationUUID is the placement consumer that holds an instance's source
// allocation while it moves, as nova's migration record does. It is derived
// from the instance, so the conductor finds it again without keeping state:
// an instance makes one move at a time.
func migrationUUID(instance string) string {
	return uuid.NewSHA1(migrationSpace, []byte("migration:"+instance)).String()
}

// MigrateServer starts a resize or cold migration (nova's migrate_server):
// the instance's allocation on its host passes to the migration consumer,
// the scheduler claims the destination with the target flavor, and the
// source host is told to hand the instance over. A move no host can take
// puts everything back, with the scheduler's fault.
func (s *Server) MigrateServer(ctx context.Context, r rpc.MigrateServerRequest) error {
	id := r.InstanceUUID
	inst, err := s.inst.Instance(ctx, id)
	if errors.Is(err, compute.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read instance %s to migrate: %w", id, err)
	}
	if inst.Deleted || inst.TaskState != compute.TaskResizePrep || inst.Host == "" {
		s.log.InfoContext(ctx, "instance to migrate moved on; leaving it", "instance_uuid", id,
			"task_state", inst.TaskState, "deleted", inst.Deleted)
		return nil
	}
	s.startEvent(ctx, id, eventMigrate)
	s.beginMigration(ctx, &inst, moveKind(r.Migrate), compute.MigrationPreMigrating, &r.Flavor.ID)
	mig := migrationUUID(id)
	if err := s.placement.MoveAllocations(ctx, id, mig, inst.ProjectID, inst.UserID); err != nil {
		fault := compute.Fault{Code: 500, Message: truncate("Failed to move the instance's allocation to its "+
			"migration: "+err.Error(), maxFaultMessage)}
		s.abortMove(ctx, id, false, fault)
		s.finishEvent(ctx, id, eventMigrate, err)
		return nil
	}
	spec := rpc.RequestSpec{InstanceUUIDs: []string{id}, ProjectID: inst.ProjectID, UserID: inst.UserID,
		Flavor: r.Flavor, Image: instanceImage(&inst), BootFromVolume: bootFromVolume(&inst), RequestedHost: r.Host}
	if inst.PinnedAvailabilityZone != nil {
		spec.AvailabilityZone = *inst.PinnedAvailabilityZone
	}
	if r.Migrate || !s.cfg.AllowResizeToSameHost {
		spec.IgnoreHosts = []string{inst.Host}
	}
	sels, err := s.sched.SelectDestinations(ctx, spec)
	if err != nil {
		fault := scheduleFault(err)
		s.abortMove(ctx, id, true, fault)
		s.finishEvent(ctx, id, eventMigrate, errors.New(fault.Message))
		return nil
	}
	dest := sels[0].Host
	s.migrationTo(ctx, id, "", &dest, compute.MigrationPreMigrating)
	newFlavor, oldFlavor := computeFlavor(r.Flavor), inst.Flavor
	_, err = s.inst.SaveInstance(ctx, id, func(i *compute.Instance) error {
		if err := compute.ExpectTask(i, compute.TaskResizePrep); err != nil {
			return err
		}
		i.NewFlavor, i.OldFlavor = &newFlavor, &oldFlavor
		return nil
	})
	if err != nil {
		// Deleted meanwhile: its delete releases the migration's
		// allocation; the destination's claim is this move's to release.
		s.release(ctx, id)
		s.migrationTo(ctx, id, compute.MigrationError, nil, resizeUnderWay...)
		s.finishEvent(ctx, id, eventMigrate, err)
		return nil
	}
	req := rpc.ResizeRequest{Instance: instanceSpec(&inst, instanceImage(&inst)), NewFlavor: r.Flavor, Dest: dest,
		VMState: string(inst.VMState)}
	if err := s.computes.Resize(ctx, inst.Host, req); err != nil {
		s.release(ctx, id)
		s.abortMove(ctx, id, true, compute.Fault{Code: 500, Message: truncate(fmt.Sprintf("Compute service of %s "+
			"could not be reached to migrate the instance: %v", inst.Host, err), maxFaultMessage)})
		s.finishEvent(ctx, id, eventMigrate, err)
		return nil
	}
	s.log.InfoContext(ctx, "migrating instance", "instance_uuid", id, "from", inst.Host, "to", dest.Host,
		"flavor", r.Flavor.Name)
	s.finishEvent(ctx, id, eventMigrate, nil)
	return nil
}

// abortMove puts an instance whose move did not start back as it was:
// its allocation back from the migration (when moved), no task, no new
// flavor, with a fault saying why.
func (s *Server) abortMove(ctx context.Context, id string, movedAlloc bool, fault compute.Fault) {
	inst, err := s.inst.Instance(ctx, id)
	if err != nil {
		s.log.ErrorContext(ctx, "read instance to abort its move", "instance_uuid", id, "error", err)
		return
	}
	if movedAlloc {
		if err := s.placement.MoveAllocations(ctx, migrationUUID(id), id, inst.ProjectID, inst.UserID); err != nil {
			s.log.ErrorContext(ctx, "give an instance its allocation back", "instance_uuid", id, "error", err)
		}
	}
	_, err = s.inst.SaveInstance(ctx, id, func(i *compute.Instance) error {
		if err := compute.ExpectTask(i, compute.TaskResizePrep, compute.TaskResizeMigrating); err != nil {
			return err
		}
		i.TaskState, i.NewFlavor, i.OldFlavor = compute.TaskNone, nil, nil
		return nil
	})
	if err != nil {
		s.log.InfoContext(ctx, "aborted move not recorded; the instance moved on", "instance_uuid", id, "error", err)
		return
	}
	s.migrationTo(ctx, id, compute.MigrationError, nil, resizeUnderWay...)
	if err := s.inst.AddFault(ctx, id, fault); err != nil {
		s.log.ErrorContext(ctx, "record move fault", "instance_uuid", id, "error", err)
	}
	s.log.WarnContext(ctx, "move aborted", "instance_uuid", id, "fault", fault.Message)
}

// ResizeFailed takes back a move its source host could not start (the disk
// could not be migrated): the destination's claim goes, the instance gets
// its allocation back and stays where it is.
func (s *Server) ResizeFailed(ctx context.Context, r rpc.ResizeFailedRequest) error {
	inst, err := s.inst.Instance(ctx, r.InstanceUUID)
	if err != nil || inst.Deleted || inst.Host != r.Host {
		return nil
	}
	s.release(ctx, r.InstanceUUID)
	s.abortMove(ctx, r.InstanceUUID, true, compute.Fault{Code: 500, Host: r.Host,
		Message: truncate("Failed to migrate the instance's disk: "+r.Reason, maxFaultMessage)})
	return nil
}

// sourceHost finds the host a moving instance comes from: the compute node
// that holds its migration's allocation.
func (s *Server) sourceHost(ctx context.Context, id string) (host, node string, err error) {
	alloc, err := s.placement.Allocations(ctx, migrationUUID(id))
	if err != nil {
		return "", "", fmt.Errorf("read the allocation of the migration of %s: %w", id, err)
	}
	for rp := range alloc {
		if h, n, ok := s.reg.ProviderHost(rp); ok {
			return h, n, nil
		}
	}
	return "", "", nil
}

// vmAfterMove is the vm_state of a confirmed or reverted instance: stopped
// unless its guest runs.
func vmAfterMove(p compute.PowerState) compute.VMState {
	if p == compute.PowerRunning {
		return compute.VMActive
	}
	return compute.VMStopped
}

// ConfirmResize finishes a move the user accepts: the source host drops
// its copy, the migration's allocation goes, and the instance is ACTIVE (or
// STOPPED) on its new flavor. A source that fails to drop its copy leaves
// the instance to be confirmed again, with a fault.
func (s *Server) ConfirmResize(ctx context.Context, id string) error {
	inst, err := s.inst.Instance(ctx, id)
	if err != nil || inst.Deleted || inst.TaskState != compute.TaskResizeConfirming {
		return nil
	}
	s.migrationTo(ctx, id, compute.MigrationConfirming, nil, compute.MigrationFinished)
	source, _, err := s.sourceHost(ctx, id)
	if err == nil && source != "" && !s.reg.HostUp(source) {
		err = fmt.Errorf("compute service of %s, the source, is unavailable at this time", source)
	}
	if err == nil && source != "" {
		err = s.computes.ConfirmMigration(ctx, source, id)
	}
	if err != nil {
		s.failMoveStep(ctx, id, compute.TaskResizeConfirming, "", "Failed to confirm the resize: "+err.Error())
		return nil
	}
	if err := s.placement.DeleteAllocations(ctx, migrationUUID(id)); err != nil {
		s.failMoveStep(ctx, id, compute.TaskResizeConfirming, "", "Failed to release the source's allocation: "+err.Error())
		return nil
	}
	_, err = s.inst.SaveInstance(ctx, id, func(i *compute.Instance) error {
		if err := compute.ExpectTask(i, compute.TaskResizeConfirming); err != nil {
			return err
		}
		i.VMState, i.TaskState = vmAfterMove(i.PowerState), compute.TaskNone
		i.OldFlavor, i.NewFlavor = nil, nil
		return nil
	})
	if err != nil {
		s.log.InfoContext(ctx, "confirmed resize not recorded; the instance moved on", "instance_uuid", id, "error", err)
	}
	s.migrationTo(ctx, id, compute.MigrationConfirmed, nil, compute.MigrationConfirming)
	return nil
}

// RevertResize takes a move back: the destination destroys its copy, the
// source brings its own back, the instance gets its old allocation, flavor
// and host again.
func (s *Server) RevertResize(ctx context.Context, id string) error {
	inst, err := s.inst.Instance(ctx, id)
	if err != nil || inst.Deleted || inst.TaskState != compute.TaskResizeReverting {
		return nil
	}
	s.migrationTo(ctx, id, compute.MigrationReverting, nil, compute.MigrationFinished)
	source, node, err := s.sourceHost(ctx, id)
	if err == nil && source == "" {
		err = errors.New("the source host of the resize is not known")
	}
	if err == nil && !s.reg.HostUp(source) {
		err = fmt.Errorf("compute service of %s, the source, is unavailable at this time", source)
	}
	if err == nil {
		err = s.computes.RevertMigration(ctx, inst.Host, id)
	}
	if err != nil {
		s.failMoveStep(ctx, id, compute.TaskResizeReverting, "", "Failed to revert the resize: "+err.Error())
		return nil
	}
	st, err := s.computes.FinishRevertMigration(ctx, source, id, inst.PowerState == compute.PowerRunning)
	if err != nil {
		// The destination's copy is gone and the source's did not come
		// back: the instance has no guest, as nova leaves it in ERROR.
		s.failMoveStep(ctx, id, compute.TaskResizeReverting, compute.VMError,
			"Failed to bring the instance back on "+source+": "+err.Error())
		return nil
	}
	if err := s.placement.MoveAllocations(ctx, migrationUUID(id), id, inst.ProjectID, inst.UserID); err != nil {
		s.log.ErrorContext(ctx, "give a reverted instance its allocation back", "instance_uuid", id, "error", err)
	}
	_, err = s.inst.SaveInstance(ctx, id, func(i *compute.Instance) error {
		if err := compute.ExpectTask(i, compute.TaskResizeReverting); err != nil {
			return err
		}
		i.Host, i.Node = source, node
		if i.OldFlavor != nil {
			i.Flavor = *i.OldFlavor
		}
		i.OldFlavor, i.NewFlavor = nil, nil
		i.PowerState = compute.PowerState(st.PowerState)
		i.VMState, i.TaskState = vmAfterMove(i.PowerState), compute.TaskNone
		return nil
	})
	if err != nil {
		s.log.InfoContext(ctx, "reverted resize not recorded; the instance moved on", "instance_uuid", id, "error", err)
	}
	s.migrationTo(ctx, id, compute.MigrationReverted, nil, compute.MigrationReverting)
	return nil
}

// failMoveStep records a confirm or revert that failed: the task is
// cleared (vm_state set when vm is not ""), with a fault.
func (s *Server) failMoveStep(ctx context.Context, id string, task compute.TaskState, vm compute.VMState, msg string) {
	_, err := s.inst.SaveInstance(ctx, id, func(i *compute.Instance) error {
		if err := compute.ExpectTask(i, task); err != nil {
			return err
		}
		i.TaskState = compute.TaskNone
		if vm != "" {
			i.VMState = vm
		}
		return nil
	})
	if err != nil {
		return
	}
	s.migrationFailed(ctx, id, task)
	if err := s.inst.AddFault(ctx, id, compute.Fault{Code: 500, Message: truncate(msg, maxFaultMessage), Details: msg}); err != nil {
		s.log.ErrorContext(ctx, "record move fault", "instance_uuid", id, "error", err)
	}
	s.log.WarnContext(ctx, "move step failed", "instance_uuid", id, "task_state", task, "error", msg)
}
