package conductor

import (
	"context"
	"errors"

	"github.com/google/uuid"

	"github.com/nimbus-cloud/nimbus/internal/compute"
	"github.com/nimbus-cloud/nimbus/internal/rpc"
)

// syncVerdict is what the power state sync does about one instance.
type syncVerdict struct {
	vm    compute.VMState
	power compute.PowerState
	// action is what the host does to the guest ("" nothing).
	action string
}

// powerSync is nova's _sync_instance_power_state for an instance with no
// task: the database takes the hypervisor's power state, and a guest that
// stopped by itself (shut down, crashed, or suspended under an ACTIVE
// instance) makes the instance STOPPED, as nova's call of the stop API
// does; a guest running under a STOPPED instance is powered off again.
// Other vm_states (building, error, resized, rescued, suspended) only take
// the power state.
func powerSync(vm compute.VMState, hv compute.PowerState) syncVerdict {
	v := syncVerdict{vm: vm, power: hv}
	switch vm {
	case compute.VMActive:
		switch hv {
		case compute.PowerShutdown, compute.PowerCrashed:
			v.vm = compute.VMStopped
		case compute.PowerSuspended:
			v.vm, v.power, v.action = compute.VMStopped, compute.PowerShutdown, rpc.SyncPowerOff
		}
	case compute.VMStopped:
		switch hv {
		case compute.PowerNoState, compute.PowerShutdown, compute.PowerCrashed:
		default:
			v.power, v.action = compute.PowerShutdown, rpc.SyncPowerOff
		}
	case compute.VMPaused:
		if hv == compute.PowerShutdown || hv == compute.PowerCrashed {
			v.vm = compute.VMStopped
		}
	}
	return v
}

// SyncPowerStates writes a host's power states into the database, by
// powerSync, and tells the host which guests to power off (under STOPPED
// instances) or destroy (of deleted instances). Instances with a task
// running, or on another host, are left alone.
func (s *Server) SyncPowerStates(ctx context.Context, r rpc.PowerSyncRequest) (rpc.PowerSyncReply, error) {
	var reply rpc.PowerSyncReply
	for _, ip := range r.Instances {
		inst, err := s.inst.Instance(ctx, ip.UUID)
		if errors.Is(err, compute.ErrNotFound) || err == nil && inst.Deleted {
			reply.Actions = append(reply.Actions, rpc.PowerSyncAction{UUID: ip.UUID, Action: rpc.SyncDestroy})
			continue
		}
		if err != nil {
			return reply, err
		}
		if inst.Host != r.Host {
			if inst.TaskState == compute.TaskNone && inst.VMState != compute.VMResized && inst.Host != "" {
				// The instance lives on another host with no move under
				// way: this guest was left behind by an evacuation while
				// the host was down, and is reaped as nova's
				// _destroy_evacuated_instances does.
				reply.Actions = append(reply.Actions, rpc.PowerSyncAction{UUID: ip.UUID, Action: rpc.SyncDestroy})
			}
			continue
		}
		if inst.TaskState != compute.TaskNone {
			continue
		}
		v := powerSync(inst.VMState, compute.PowerState(ip.PowerState))
		// A guest that stopped by itself, or runs under a stopped instance,
		// stops the instance as nova's call of the stop API does: with a
		// stop action, and the host's stop event (recorded here when the
		// host has nothing left to do). A power state alone is no action.
		stops := v.vm == compute.VMStopped && inst.VMState != compute.VMStopped || v.action == rpc.SyncPowerOff
		var req string
		if stops || v.vm != inst.VMState || v.power != inst.PowerState {
			save := func(i *compute.Instance) error {
				if i.Host != r.Host {
					return wrongHost(i.UUID, r.Host, i.Host)
				}
				if err := compute.ExpectTask(i, compute.TaskNone); err != nil {
					return err
				}
				if i.VMState != inst.VMState {
					return compute.ErrUnexpectedTaskState // changed since read: next sync decides
				}
				i.VMState, i.PowerState = v.vm, v.power
				return nil
			}
			var err error
			if stops {
				req = "req-" + uuid.NewString()
				_, err = s.inst.SaveInstanceAction(ctx, ip.UUID, compute.ActionStop, req, save)
			} else {
				_, err = s.inst.SaveInstance(ctx, ip.UUID, save)
			}
			if err != nil {
				s.log.InfoContext(ctx, "power state not synced; the instance moved on", "instance_uuid", ip.UUID,
					"error", err)
				continue
			}
			s.log.InfoContext(ctx, "synced power state", "instance_uuid", ip.UUID, "host", r.Host,
				"vm_state", v.vm, "power_state", v.power, "was_vm_state", inst.VMState, "was_power_state", inst.PowerState)
			if stops && v.action == "" {
				s.hostEvent(ctx, ip.UUID, req, "compute_stop_instance", r.Host)
			}
		}
		if v.action != "" {
			reply.Actions = append(reply.Actions, rpc.PowerSyncAction{UUID: ip.UUID, Action: v.action, RequestID: req})
		}
	}
	return reply, nil
}

// hostEvent records an event a host carried out for an action the
// conductor recorded; a record that fails is logged, not fatal.
func (s *Server) hostEvent(ctx context.Context, uuid, requestID, event, host string) {
	if err := s.inst.StartEvent(ctx, uuid, requestID, event, host); err != nil {
		s.log.WarnContext(ctx, "record event start", "instance_uuid", uuid, "event", event, "error", err)
		return
	}
	if err := s.inst.FinishEvent(ctx, uuid, requestID, event, nil); err != nil {
		s.log.WarnContext(ctx, "record event end", "instance_uuid", uuid, "event", event, "error", err)
	}
}
