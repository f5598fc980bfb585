package conductor

import (
	"context"
	"errors"
	"fmt"

	"github.com/nimbus-cloud/nimbus/internal/compute"
	"github.com/nimbus-cloud/nimbus/internal/rpc"
)

// eventRebuild is the conductor's event of a rebuild (nova's
// rebuild_server).
const eventRebuild = "rebuild_server"

// RebuildServer hands a rebuild the API recorded to the instance's host. A
// new image is first checked by the scheduler's filters against the host
// (nova runs them again when the image changes): one the host cannot run
// puts the instance in ERROR with the scheduler's fault and its image
// reference rolled back, as nova does.
func (s *Server) RebuildServer(ctx context.Context, r rpc.RebuildServerRequest) error {
	uuid := r.InstanceUUID
	inst, err := s.inst.Instance(ctx, uuid)
	if errors.Is(err, compute.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read instance %s to rebuild: %w", uuid, err)
	}
	if inst.Deleted || inst.TaskState != compute.TaskRebuilding || inst.Host == "" {
		s.log.InfoContext(ctx, "instance to rebuild moved on; leaving it", "instance_uuid", uuid,
			"task_state", inst.TaskState, "deleted", inst.Deleted)
		return nil
	}
	s.startEvent(ctx, uuid, eventRebuild)
	if r.OriginalImageRef != "" && r.Image.ID != r.OriginalImageRef {
		spec := rpc.RequestSpec{InstanceUUIDs: []string{uuid}, ProjectID: inst.ProjectID, UserID: inst.UserID,
			Flavor: wireFlavor(inst.Flavor), Image: r.Image, BootFromVolume: bootFromVolume(&inst),
			RequestedHost: inst.Host, RequestedNode: inst.Node, Rebuild: true}
		if _, err := s.sched.SelectDestinations(ctx, spec); err != nil {
			fault := scheduleFault(err)
			s.failRebuild(ctx, uuid, r.OriginalImageRef, fault)
			s.finishEvent(ctx, uuid, eventRebuild, errors.New(fault.Message))
			return nil
		}
	}
	req := rpc.RebuildRequest{Instance: instanceSpec(&inst, r.Image), VMState: string(inst.VMState),
		AdminPass: r.AdminPass, PreserveEphemeral: r.PreserveEphemeral, InjectedFiles: r.InjectedFiles}
	if err := s.computes.Rebuild(ctx, inst.Host, req); err != nil {
		fault := compute.Fault{Code: 500, Message: truncate(fmt.Sprintf("Compute service of %s could not be reached "+
			"to rebuild the instance: %v", inst.Host, err), maxFaultMessage)}
		_, serr := s.inst.SaveInstance(ctx, uuid, func(i *compute.Instance) error {
			if err := compute.ExpectTask(i, compute.TaskRebuilding); err != nil {
				return err
			}
			i.TaskState = compute.TaskNone
			return nil
		})
		if serr == nil {
			if err := s.inst.AddFault(ctx, uuid, fault); err != nil {
				s.log.ErrorContext(ctx, "record rebuild fault", "instance_uuid", uuid, "error", err)
			}
		}
		s.finishEvent(ctx, uuid, eventRebuild, err)
		return nil
	}
	s.finishEvent(ctx, uuid, eventRebuild, nil)
	return nil
}

// failRebuild puts an instance whose rebuild the scheduler refused in
// ERROR, back on its original image.
func (s *Server) failRebuild(ctx context.Context, uuid, origImage string, fault compute.Fault) {
	_, err := s.inst.SaveInstance(ctx, uuid, func(i *compute.Instance) error {
		if err := compute.ExpectTask(i, compute.TaskRebuilding); err != nil {
			return err
		}
		i.ImageRef = origImage
		i.VMState, i.TaskState = compute.VMError, compute.TaskNone
		return nil
	})
	if err != nil {
		s.log.InfoContext(ctx, "failed rebuild not recorded; the instance moved on", "instance_uuid", uuid, "error", err)
		return
	}
	if err := s.inst.AddFault(ctx, uuid, fault); err != nil {
		s.log.ErrorContext(ctx, "record rebuild fault", "instance_uuid", uuid, "error", err)
	}
}
