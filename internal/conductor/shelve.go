package conductor

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/compute"
	"github.com/nimbus-cloud/nimbus/internal/rpc"
)

// eventUnshelve is the conductor's event of an unshelve (nova's
// conductor_unshelve_instance).
const eventUnshelve = "conductor_unshelve_instance"

// sysShelvedFormat keeps the disk format of a shelved image, which the
// host that spawns the instance again needs and the conductor cannot ask
// the image service for.
const sysShelvedFormat = "shelved_image_disk_format"

// shelvedKeys are the system metadata of a shelved instance, dropped once
// it is unshelved.
var shelvedKeys = []string{compute.SysShelvedAt, compute.SysShelvedImageID, compute.SysShelvedHost, sysShelvedFormat}

// UnshelveInstance brings back a shelved instance (nova's
// unshelve_instance): a SHELVED one is handed to its host to power on; for
// a SHELVED_OFFLOADED one the scheduler chooses and claims a host (in the
// instance's zone, on the host an admin named) that spawns it from its
// shelved image. An instance that cannot be placed stays offloaded with a
// fault.
func (s *Server) UnshelveInstance(ctx context.Context, r rpc.UnshelveRequest) error {
	id := r.InstanceUUID
	inst, err := s.inst.Instance(ctx, id)
	if errors.Is(err, compute.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read instance %s to unshelve: %w", id, err)
	}
	if inst.Deleted || inst.TaskState != compute.TaskUnshelving {
		return nil
	}
	s.startEvent(ctx, id, eventUnshelve)
	fail := func(msg string, details string) {
		s.failUnshelve(ctx, id, compute.Fault{Code: 500, Message: truncate(msg, maxFaultMessage), Details: details})
		s.finishEvent(ctx, id, eventUnshelve, errors.New(msg))
	}
	image := shelvedImage(&inst)
	switch inst.VMState {
	case compute.VMShelved:
		if !s.reg.HostUp(inst.Host) {
			fail(fmt.Sprintf("Compute service of %s is unavailable at this time.", inst.Host), "")
			return nil
		}
		err := s.computes.UnshelveOnHost(ctx, inst.Host, rpc.UnshelveOnHostRequest{Instance: instanceSpec(&inst, image)})
		if err != nil {
			fail(fmt.Sprintf("Compute service of %s could not be reached to unshelve the instance: %v", inst.Host, err), "")
			return nil
		}
	case compute.VMShelvedOffloaded:
		if image.ID == "" {
			fail(fmt.Sprintf("Error during unshelve instance %s: Unshelve attempted but the image_id is not "+
				"provided", id), "")
			return nil
		}
		spec := rpc.RequestSpec{InstanceUUIDs: []string{id}, ProjectID: inst.ProjectID, UserID: inst.UserID,
			Flavor: wireFlavor(inst.Flavor), Image: image, BootFromVolume: bootFromVolume(&inst),
			RequestedHost: r.Host, SameHost: s.hintHosts(ctx, inst.SchedulerHints["same_host"]),
			DifferentHost: s.hintHosts(ctx, inst.SchedulerHints["different_host"])}
		zone := inst.PinnedAvailabilityZone
		if r.ZoneSet {
			zone = r.AvailabilityZone
		}
		if zone != nil {
			spec.AvailabilityZone = *zone
		}
		sels, err := s.sched.SelectDestinations(ctx, spec)
		if err != nil {
			f := scheduleFault(err)
			fail(f.Message, f.Details)
			return nil
		}
		dest := sels[0].Host
		hostZone := s.reg.ComputeZone(dest.Host)
		saved, err := s.inst.SaveInstance(ctx, id, func(i *compute.Instance) error {
			if err := compute.ExpectTask(i, compute.TaskUnshelving); err != nil {
				return err
			}
			i.Host, i.Node = dest.Host, dest.Node
			if hostZone != "" {
				i.AvailabilityZone = hostZone
			}
			return nil
		})
		if err != nil {
			s.release(ctx, id)
			s.finishEvent(ctx, id, eventUnshelve, err)
			return nil
		}
		req := rpc.UnshelveOnHostRequest{Instance: instanceSpec(&saved, image), Host: dest}
		if err := s.computes.UnshelveOnHost(ctx, dest.Host, req); err != nil {
			s.release(ctx, id)
			s.offloaded(ctx, id, "", compute.Fault{Code: 500, Message: truncate(fmt.Sprintf("Compute service of %s "+
				"could not be reached to unshelve the instance: %v", dest.Host, err), maxFaultMessage)})
			s.finishEvent(ctx, id, eventUnshelve, err)
			return nil
		}
	default:
		fail(fmt.Sprintf("Cannot unshelve instance %s in vm_state %s", id, inst.VMState), "")
		return nil
	}
	s.finishEvent(ctx, id, eventUnshelve, nil)
	return nil
}

// shelvedImage is the image an instance was shelved into, as the host
// that brings it back needs it.
func shelvedImage(inst *compute.Instance) rpc.ImageMeta {
	meta := instanceImage(inst)
	meta.ID = inst.SystemMetadata[compute.SysShelvedImageID]
	if f := inst.SystemMetadata[sysShelvedFormat]; f != "" {
		meta.DiskFormat = f
	}
	return meta
}

// failUnshelve ends an unshelve that did not start: the task goes, with a
// fault; the instance stays shelved.
func (s *Server) failUnshelve(ctx context.Context, id string, fault compute.Fault) {
	_, err := s.inst.SaveInstance(ctx, id, func(i *compute.Instance) error {
		if err := compute.ExpectTask(i, compute.TaskUnshelving); err != nil {
			return err
		}
		i.TaskState = compute.TaskNone
		return nil
	})
	if err != nil {
		s.log.InfoContext(ctx, "failed unshelve not recorded; the instance moved on", "instance_uuid", id, "error", err)
		return
	}
	if err := s.inst.AddFault(ctx, id, fault); err != nil {
		s.log.ErrorContext(ctx, "record unshelve fault", "instance_uuid", id, "error", err)
	}
}

// offloaded puts an instance back in SHELVED_OFFLOADED without a host,
// from host (any host when ""), with a fault when given one.
func (s *Server) offloaded(ctx context.Context, id, host string, fault compute.Fault) {
	_, err := s.inst.SaveInstance(ctx, id, func(i *compute.Instance) error {
		if host != "" && i.Host != host {
			return wrongHost(id, host, i.Host)
		}
		if err := compute.ExpectTask(i, compute.TaskUnshelving, compute.TaskSpawning); err != nil {
			return err
		}
		i.VMState, i.TaskState, i.PowerState = compute.VMShelvedOffloaded, compute.TaskNone, compute.PowerNoState
		i.Host, i.Node = "", ""
		return nil
	})
	if err != nil {
		s.log.InfoContext(ctx, "failed unshelve not recorded; the instance moved on", "instance_uuid", id, "error", err)
		return
	}
	if fault.Message != "" {
		if err := s.inst.AddFault(ctx, id, fault); err != nil {
			s.log.ErrorContext(ctx, "record unshelve fault", "instance_uuid", id, "error", err)
		}
	}
}

// shelvedAtFormat is how shelved_at is written, as Python's isoformat.
const shelvedAtFormat = "2006-01-02T15:04:05.000000"

// ShelvedInstances answers which of the host's guests belong to instances
// SHELVED there, and when they were shelved (now, when the record does
// not say).
func (s *Server) ShelvedInstances(ctx context.Context, r rpc.ShelvedInstancesRequest) (rpc.ShelvedInstancesReply, error) {
	var reply rpc.ShelvedInstancesReply
	for _, id := range r.InstanceUUIDs {
		inst, err := s.inst.Instance(ctx, id)
		if errors.Is(err, compute.ErrNotFound) {
			continue
		}
		if err != nil {
			return rpc.ShelvedInstancesReply{}, fmt.Errorf("read instance %s: %w", id, err)
		}
		if inst.Deleted || inst.VMState != compute.VMShelved || inst.TaskState != compute.TaskNone ||
			inst.Host != r.Host {
			continue
		}
		at, err := time.Parse(shelvedAtFormat, inst.SystemMetadata[compute.SysShelvedAt])
		if err != nil {
			at = s.inst.Now()
		}
		reply.Instances = append(reply.Instances, rpc.ShelvedInstance{UUID: id, ShelvedAt: at})
	}
	return reply, nil
}

// InstanceShelved records a host's shelve: SHELVED with the shelved image,
// time and host in the system metadata, or SHELVED_OFFLOADED without a
// host. An offloaded instance's allocations go first, as in nova, so that
// whoever sees SHELVED_OFFLOADED finds the host's resources free. Quotas
// keep counting the instance, as nova's do.
func (s *Server) InstanceShelved(ctx context.Context, r rpc.InstanceShelvedRequest) error {
	now := s.inst.Now()
	expect := compute.TaskShelvingOffloading
	if r.ImageID != "" {
		expect = compute.TaskShelvingImageUploading
	}
	shelving := func(i *compute.Instance) error {
		if i.Host != r.Host {
			return wrongHost(i.UUID, r.Host, i.Host)
		}
		return compute.ExpectTask(i, expect)
	}
	if r.Offloaded {
		inst, err := s.inst.Instance(ctx, r.InstanceUUID)
		if err == nil {
			err = shelving(&inst)
		}
		if err != nil {
			return remote(r.InstanceUUID, err)
		}
		if err := s.placement.DeleteAllocations(ctx, r.InstanceUUID); err != nil {
			return fmt.Errorf("release the allocations of offloaded instance %s: %w", r.InstanceUUID, err)
		}
	}
	_, err := s.inst.SaveInstance(ctx, r.InstanceUUID, func(i *compute.Instance) error {
		if err := shelving(i); err != nil {
			return err
		}
		if r.ImageID != "" {
			sys := maps.Clone(i.SystemMetadata)
			if sys == nil {
				sys = map[string]string{}
			}
			sys[compute.SysShelvedAt] = now.Format(shelvedAtFormat)
			sys[compute.SysShelvedImageID] = r.ImageID
			sys[compute.SysShelvedHost] = r.Host
			if r.DiskFormat != "" {
				sys[sysShelvedFormat] = r.DiskFormat
			}
			i.SystemMetadata = sys
		}
		i.VMState, i.TaskState, i.PowerState = compute.VMShelved, compute.TaskNone, compute.PowerState(r.PowerState)
		if r.Offloaded {
			i.VMState = compute.VMShelvedOffloaded
			i.Host, i.Node = "", ""
		}
		return nil
	})
	if err != nil {
		return remote(r.InstanceUUID, err)
	}
	if r.Offloaded {
		s.log.InfoContext(ctx, "instance offloaded", "instance_uuid", r.InstanceUUID, "host", r.Host)
	}
	return nil
}

// InstanceUnshelved records the end of an unshelve on a host: ACTIVE
// without the shelved keys, or, when it failed, back to SHELVED (the guest
// is still there) or SHELVED_OFFLOADED with the claim released (the spawn
// failed), with a fault.
func (s *Server) InstanceUnshelved(ctx context.Context, r rpc.InstanceUnshelvedRequest) error {
	id := r.InstanceUUID
	if r.Error != "" {
		fault := compute.Fault{Code: 500, Message: truncate("Unshelve failed: "+r.Error, maxFaultMessage),
			Details: r.Error, Host: r.Host}
		if r.Spawned {
			s.offloaded(ctx, id, r.Host, fault)
			s.release(ctx, id)
			return nil
		}
		s.failUnshelve(ctx, id, fault)
		return nil
	}
	_, err := s.inst.SaveInstance(ctx, id, func(i *compute.Instance) error {
		if i.Host != r.Host {
			return wrongHost(i.UUID, r.Host, i.Host)
		}
		if err := compute.ExpectTask(i, compute.TaskUnshelving, compute.TaskSpawning); err != nil {
			return err
		}
		sys := maps.Clone(i.SystemMetadata)
		for _, k := range shelvedKeys {
			delete(sys, k)
		}
		i.SystemMetadata = sys
		i.VMState, i.TaskState, i.PowerState = compute.VMActive, compute.TaskNone, compute.PowerState(r.PowerState)
		return nil
	})
	return remote(id, err)
}
