package conductor

import (
	"context"
	"errors"
	"fmt"

	"github.com/nimbus-cloud/nimbus/internal/compute"
	"github.com/nimbus-cloud/nimbus/internal/rpc"
)

// wrongHost refuses a host's report on an instance that is not its own: a
// host that missed a move must not write over the new host's state.
func wrongHost(uuid, reporter, owner string) error {
	return rpc.Errorf(rpc.KindWrongHost, "instance %s is on host %q, not on %q", uuid, owner, reporter)
}

// InstanceUpdate applies a host's change to one of its instances, if the
// instance is in a task state the host expects (nova's instance.save with
// expected_task_state), and records the fault it carries.
func (s *Server) InstanceUpdate(ctx context.Context, r rpc.InstanceUpdateRequest) (rpc.InstanceState, error) {
	now := s.inst.Now()
	inst, err := s.inst.SaveInstance(ctx, r.InstanceUUID, func(i *compute.Instance) error {
		if i.Host != r.Host {
			return wrongHost(i.UUID, r.Host, i.Host)
		}
		if r.ExpectedTaskStates != nil {
			expect := make([]compute.TaskState, len(r.ExpectedTaskStates))
			for k, t := range r.ExpectedTaskStates {
				expect[k] = compute.TaskState(t)
			}
			if err := compute.ExpectTask(i, expect...); err != nil {
				return err
			}
		}
		if r.VMState != nil {
			i.VMState = compute.VMState(*r.VMState)
		}
		if r.TaskState != nil {
			i.TaskState = compute.TaskState(*r.TaskState)
		}
		if r.PowerState != nil {
			i.PowerState = compute.PowerState(*r.PowerState)
		}
		if r.Progress != nil {
			i.Progress = *r.Progress
		}
		if r.Launched {
			i.LaunchedAt = now
		}
		if r.MoveTo != nil {
			i.Host, i.Node = r.MoveTo.Host, r.MoveTo.Node
		}
		if r.FlavorNew && i.NewFlavor != nil {
			i.Flavor = *i.NewFlavor
		}
		return nil
	})
	if err != nil {
		return rpc.InstanceState{}, remote(r.InstanceUUID, err)
	}
	s.noteMoveProgress(ctx, r, inst)
	if r.Fault != nil {
		f := compute.Fault{Code: r.Fault.Code, Message: truncate(r.Fault.Message, maxFaultMessage),
			Details: r.Fault.Details, Host: r.Host}
		if err := s.inst.AddFault(ctx, r.InstanceUUID, f); err != nil {
			s.log.ErrorContext(ctx, "record fault", "instance_uuid", r.InstanceUUID, "error", err)
		}
	}
	return rpc.InstanceState{VMState: string(inst.VMState), TaskState: string(inst.TaskState),
		PowerState: int(inst.PowerState)}, nil
}

// InstanceEvent records the start or end of a host's event.
func (s *Server) InstanceEvent(ctx context.Context, r rpc.InstanceEventRequest) error {
	if r.RequestID == "" {
		return nil // work no request asked for (a periodic task) has no action
	}
	var err error
	if r.Finish {
		var failure error
		if r.Error != "" {
			failure = errors.New(r.Error)
		}
		err = s.inst.FinishEvent(ctx, r.InstanceUUID, r.RequestID, r.Event, failure)
	} else {
		err = s.inst.StartEvent(ctx, r.InstanceUUID, r.RequestID, r.Event, r.Host)
	}
	if errors.Is(err, compute.ErrNotFound) {
		return nil // the action is gone with its instance
	}
	return err
}

// InstanceDestroyed finishes a delete once the host has torn the instance
// down: its allocations go, then the instance. Reports on an instance
// deleted already only make sure its allocations are gone.
func (s *Server) InstanceDestroyed(ctx context.Context, r rpc.InstanceDestroyedRequest) error {
	inst, err := s.inst.Instance(ctx, r.InstanceUUID)
	if errors.Is(err, compute.ErrNotFound) {
		return s.placement.DeleteAllocations(ctx, r.InstanceUUID)
	}
	if err != nil {
		return fmt.Errorf("read destroyed instance %s: %w", r.InstanceUUID, err)
	}
	if !inst.Deleted && inst.Host != r.Host && inst.Host != "" {
		// A guest left behind on a host the instance was evacuated from:
		// the host's share of the migration goes with it.
		if src, _, err := s.sourceHost(ctx, inst.UUID); err == nil && src == r.Host && inst.TaskState == compute.TaskNone {
			return s.placement.DeleteAllocations(ctx, migrationUUID(inst.UUID))
		}
		return wrongHost(inst.UUID, r.Host, inst.Host)
	}
	if err := s.placement.DeleteAllocations(ctx, r.InstanceUUID); err != nil {
		return fmt.Errorf("release allocations of destroyed instance %s: %w", r.InstanceUUID, err)
	}
	s.dropMigration(ctx, r.InstanceUUID)
	if inst.Deleted {
		return nil
	}
	if err := s.inst.DestroyInstance(ctx, r.InstanceUUID); err != nil && !errors.Is(err, compute.ErrNotFound) {
		return fmt.Errorf("mark instance %s deleted: %w", r.InstanceUUID, err)
	}
	return nil
}

// dropMigration finishes the move of a deleted instance, if it was in one:
// the source host drops its copy (as nova confirms a resize on delete) and
// the migration's allocation goes.
func (s *Server) dropMigration(ctx context.Context, id string) {
	source, _, err := s.sourceHost(ctx, id)
	if err != nil {
		s.log.WarnContext(ctx, "look for the migration of a deleted instance", "instance_uuid", id, "error", err)
		return
	}
	if source == "" {
		return
	}
	if !s.reg.HostUp(source) {
		s.log.WarnContext(ctx, "the source host of a deleted instance is down; its copy stays there", "instance_uuid",
			id, "host", source)
	} else if err := s.computes.ConfirmMigration(ctx, source, id); err != nil {
		s.log.WarnContext(ctx, "drop the source copy of a deleted instance", "instance_uuid", id, "host", source,
			"error", err)
	}
	if err := s.placement.DeleteAllocations(ctx, migrationUUID(id)); err != nil {
		s.log.ErrorContext(ctx, "release the migration of a deleted instance", "instance_uuid", id, "error", err)
	}
}
