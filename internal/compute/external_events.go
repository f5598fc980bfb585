package compute

import (
	"context"
	"errors"
	"fmt"
)

// Policy rules of server external events (nova/policies/server_external_events.py).
const RuleServerExternalEventsCreate = "os_compute_api:os-server-external-events:create"

// Names of external events (nova/objects/external_event.py), by the
// microversion that introduced them.
const (
	EventNetworkChanged      = "network-changed"
	EventNetworkVIFPlugged   = "network-vif-plugged"
	EventNetworkVIFUnplugged = "network-vif-unplugged"
	EventNetworkVIFDeleted   = "network-vif-deleted"
	EventVolumeExtended      = "volume-extended"           // 2.51
	EventPowerUpdate         = "power-update"              // 2.76
	EventAcceleratorBound    = "accelerator-request-bound" // 2.82
	EventVolumeReimaged      = "volume-reimaged"           // 2.93
)

// Statuses of external events; completed is the default.
const (
	EventFailed     = "failed"
	EventCompleted  = "completed"
	EventInProgress = "in-progress"
)

// Tags of a power-update event.
const (
	PowerUpdateOn  = "POWER_ON"
	PowerUpdateOff = "POWER_OFF"
)

// ActionExtendVolume is the instance action a volume-extended event
// records (nova's instance_actions.EXTEND_VOLUME).
const ActionExtendVolume = "extend_volume"

// ExternalEvent is one event another service reports about an instance
// (POST /os-server-external-events).
type ExternalEvent struct {
	Name       string
	ServerUUID string
	// Status is failed, completed or in-progress ("" is completed).
	Status string
	// Tag is the event's subject (a port, a volume, a power state); nil
	// when not given.
	Tag *string
}

// EventOutcome is what became of one event: Code 200 when it was handed to
// the instance's host, 404 for an unknown instance, 422 for an instance
// with no host yet, 400 for an event missing a tag it needs. Status is
// "completed" when handed over, "failed" otherwise.
type EventOutcome struct {
	Code   int
	Status string
}

// errNoEventAccepted is nova's 404 when no event could be handed over.
func errNoEventAccepted() error {
	return errorf(ErrNotFound, "No instances found for any event")
}

// ExternalInstanceEvents takes events about instances from other services,
// as nova's os-server-external-events does: each event of a live instance
// with a host is accepted and handed to that host; the others fail with
// their own code. It returns one outcome per event, in order, and nova's
// 404 when none was accepted.
//
// Of the accepted events, volume-extended records an extend_volume action
// and power-update a start (POWER_ON) or stop (POWER_OFF) action on the
// instance, as nova's compute API records them for the user to follow;
// network and other volume events are the host's business and record
// nothing.
func (s *Service) ExternalInstanceEvents(ctx context.Context, events []ExternalEvent) ([]EventOutcome, error) {
	if err := s.authorize(ctx, RuleServerExternalEventsCreate, map[string]any{}); err != nil {
		return nil, err
	}
	if s.inst == nil {
		return nil, errors.New("the compute store keeps no instances")
	}
	insts := map[string]*Instance{}
	for _, e := range events {
		if _, seen := insts[e.ServerUUID]; seen {
			continue
		}
		inst, err := s.inst.GetInstance(ctx, e.ServerUUID, false)
		switch {
		case errors.Is(err, ErrNotFound):
			insts[e.ServerUUID] = nil
		case err != nil:
			return nil, fmt.Errorf("read instance %s: %w", e.ServerUUID, err)
		default:
			insts[e.ServerUUID] = &inst
		}
	}
	out := make([]EventOutcome, len(events))
	var accepted []int
	for i, e := range events {
		inst := insts[e.ServerUUID]
		switch {
		case inst == nil:
			out[i] = EventOutcome{Code: 404, Status: EventFailed}
			s.log.DebugContext(ctx, "dropping event for an unknown instance", "event", e.Name, "instance_uuid", e.ServerUUID)
		case e.Name == EventVolumeExtended && e.Tag == nil:
			out[i] = EventOutcome{Code: 400, Status: EventFailed}
			s.log.DebugContext(ctx, "dropping event without its tag", "event", e.Name, "instance_uuid", e.ServerUUID)
		case inst.Host == "":
			out[i] = EventOutcome{Code: 422, Status: EventFailed}
			s.log.DebugContext(ctx, "dropping event for an instance without a host", "event", e.Name,
				"instance_uuid", e.ServerUUID)
		default:
			out[i] = EventOutcome{Code: 200, Status: EventCompleted}
			accepted = append(accepted, i)
		}
	}
	if len(accepted) == 0 {
		return out, errNoEventAccepted()
	}
	for _, i := range accepted {
		e := events[i]
		inst := insts[e.ServerUUID]
		tag := ""
		if e.Tag != nil {
			tag = *e.Tag
		}
		s.log.InfoContext(ctx, "creating event for instance", "event", e.Name, "tag", tag,
			"instance_uuid", e.ServerUUID, "host", inst.Host)
		action := eventAction(e.Name, tag)
		if action == "" {
			if e.Name == EventPowerUpdate {
				s.log.WarnContext(ctx, "invalid power state of a power-update event; skipped", "tag", tag,
					"instance_uuid", e.ServerUUID)
			}
			continue
		}
		if err := s.inst.RecordAction(ctx, *s.newAction(ctx, *inst, action)); err != nil {
			return nil, fmt.Errorf("record %s action of %s: %w", action, e.ServerUUID, err)
		}
	}
	return out, nil
}

// eventAction is the instance action an accepted event records, "" none.
func eventAction(name, tag string) string {
	switch name {
	case EventVolumeExtended:
		return ActionExtendVolume
	case EventPowerUpdate:
		switch tag {
		case PowerUpdateOn:
			return ActionStart
		case PowerUpdateOff:
			return ActionStop
		}
	}
	return ""
}
