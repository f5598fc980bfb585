package compute

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ActionListOptions are the query of GET os-instance-actions: paging and
// changes-since/-before from microversion 2.58 (Paged).
type ActionListOptions struct {
	Paged                       bool
	ChangesSince, ChangesBefore string
	Limit                       *int
	Marker                      *string
	// ReadDeleted lists the actions of a deleted server (2.21).
	ReadDeleted bool
}

// ServerActions lists the actions of a server, newest first.
func (s *Service) ServerActions(ctx context.Context, id string, o ActionListOptions) ([]InstanceAction, error) {
	inst, err := s.lookup(ctx, id, o.ReadDeleted)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, RuleActionsList, projectTarget(inst)); err != nil {
		return nil, err
	}
	var f ActionFilter
	if o.Paged {
		opts := map[string]string{}
		if o.ChangesSince != "" {
			opts["changes-since"] = o.ChangesSince
		}
		if o.ChangesBefore != "" {
			opts["changes-before"] = o.ChangesBefore
		}
		if err := changesFilter(opts, &f.ChangesSince, &f.ChangesBefore); err != nil {
			return nil, err
		}
		f.Limit = s.limit(o.Limit)
		if f.Limit == 0 {
			return []InstanceAction{}, nil
		}
		if o.Marker != nil {
			f.Marker = *o.Marker
		}
	}
	out, err := s.inst.ListActions(ctx, inst.UUID, f)
	if errors.Is(err, ErrMarkerNotFound) {
		return nil, errorf(ErrInvalid, "Marker %s could not be found.", f.Marker)
	}
	if err != nil {
		return nil, fmt.Errorf("list actions of %s: %w", id, err)
	}
	return out, nil
}

// ActionView is what the caller may see of an action's events.
type ActionView struct {
	// Events are shown at all; Traceback and Host (2.62) of them to those
	// os-instance-actions:events allows, Details (2.84) to those
	// events:details allows.
	Events, Traceback, Host, Details bool
}

// ServerAction returns the action of a request on a server, with its
// events as policy and the microversion allow: before 2.51 only to those
// os-instance-actions:events allows. withHost and withDetails are the
// microversion's (2.62, 2.84).
func (s *Service) ServerAction(ctx context.Context, id, requestID string, readDeleted, eventsForAll, withHost, withDetails bool) (InstanceAction, Instance, ActionView, error) {
	inst, err := s.lookup(ctx, id, readDeleted)
	if err != nil {
		return InstanceAction{}, Instance{}, ActionView{}, err
	}
	target := projectTarget(inst)
	if err := s.authorize(ctx, RuleActionsShow, target); err != nil {
		return InstanceAction{}, Instance{}, ActionView{}, err
	}
	a, err := s.inst.GetAction(ctx, inst.UUID, requestID)
	if errors.Is(err, ErrNotFound) {
		return InstanceAction{}, Instance{}, ActionView{}, errorf(ErrNotFound, "Action %s not found", requestID)
	}
	if err != nil {
		return InstanceAction{}, Instance{}, ActionView{}, fmt.Errorf("get action %s of %s: %w", requestID, id, err)
	}
	var v ActionView
	if s.authorize(ctx, RuleActionsEvents, target) == nil {
		v = ActionView{Events: true, Traceback: true, Host: withHost}
	} else if eventsForAll {
		v.Events = true
	}
	if v.Events && withDetails {
		v.Details = s.authorize(ctx, RuleActionsEventsDetails, target) == nil
	}
	return a, inst, v, nil
}

// The lifecycle methods below are for the conductor, which acts for the
// cloud rather than for a caller: they apply no policy.

// Instance returns an instance, deleted or not.
func (s *Service) Instance(ctx context.Context, uuid string) (Instance, error) {
	inst, err := s.inst.GetInstance(ctx, uuid, true)
	if errors.Is(err, ErrNotFound) {
		return Instance{}, instanceNotFound(uuid)
	}
	return inst, err
}

// SaveInstance changes a live instance in one transaction: mutate sees the
// instance as stored and may refuse (its error is returned as is, nothing
// written), which is how the conductor checks the task state it expects
// before moving on (nova's expected_task_state).
func (s *Service) SaveInstance(ctx context.Context, uuid string, mutate func(*Instance) error) (Instance, error) {
	now := s.now().UTC()
	inst, err := s.inst.UpdateInstance(ctx, uuid, func(i *Instance) error {
		if err := mutate(i); err != nil {
			return err
		}
		i.UpdatedAt = now
		return nil
	}, nil)
	if errors.Is(err, ErrNotFound) {
		return Instance{}, instanceNotFound(uuid)
	}
	return inst, err
}

// SaveInstanceAction is SaveInstance recording an instance action with
// the change, as an API request does: the conductor's record of what
// nova's periodic tasks do through the API (the power state sync's stop),
// under a request id of its own and no user or project.
func (s *Service) SaveInstanceAction(ctx context.Context, uuid, action, requestID string, mutate func(*Instance) error) (Instance, error) {
	now := s.now().UTC()
	a := &InstanceAction{InstanceUUID: uuid, Action: action, RequestID: requestID, StartTime: now, UpdatedAt: now}
	inst, err := s.inst.UpdateInstance(ctx, uuid, func(i *Instance) error {
		if err := mutate(i); err != nil {
			return err
		}
		i.UpdatedAt = now
		return nil
	}, a)
	if errors.Is(err, ErrNotFound) {
		return Instance{}, instanceNotFound(uuid)
	}
	return inst, err
}

// ErrUnexpectedTaskState is a save refused because the instance's task
// state is not the one expected (nova's UnexpectedTaskStateError).
var ErrUnexpectedTaskState = fmt.Errorf("%w: unexpected task state", ErrConflict)

// ExpectTask returns an error wrapping ErrUnexpectedTaskState unless inst
// is in one of the task states, for SaveInstance's mutate functions.
func ExpectTask(inst *Instance, states ...TaskState) error {
	for _, t := range states {
		if inst.TaskState == t {
			return nil
		}
	}
	return fmt.Errorf("instance %s in task state %q, expected %q: %w", inst.UUID, inst.TaskState, states,
		ErrUnexpectedTaskState)
}

// DestroyInstance marks an instance deleted once its host has torn it
// down; its quota is free from then on.
func (s *Service) DestroyInstance(ctx context.Context, uuid string) error {
	now := s.now().UTC()
	_, err := s.inst.UpdateInstance(ctx, uuid, func(i *Instance) error {
		markDeleted(i, now)
		return nil
	}, nil)
	if errors.Is(err, ErrNotFound) {
		return instanceNotFound(uuid)
	}
	if err == nil {
		s.log.InfoContext(ctx, "server deleted", "instance_uuid", uuid)
	}
	return err
}

// AddFault records a fault of an instance; Created is set when zero.
func (s *Service) AddFault(ctx context.Context, uuid string, f Fault) error {
	if f.Created.IsZero() {
		f.Created = s.now().UTC()
	}
	if err := s.inst.AddFault(ctx, uuid, f); err != nil {
		return fmt.Errorf("add fault to %s: %w", uuid, err)
	}
	return nil
}

// StartEvent records that an event of a request's action on an instance
// started on host.
func (s *Service) StartEvent(ctx context.Context, uuid, requestID, event, host string) error {
	e := InstanceActionEvent{Event: event, StartTime: s.now().UTC(), Host: host}
	if err := s.inst.StartEvent(ctx, uuid, requestID, e); err != nil {
		return fmt.Errorf("start event %s of %s: %w", event, uuid, err)
	}
	return nil
}

// FinishEvent records the end of an event: success with a nil failure,
// else "Error" with the failure's message as traceback and details.
func (s *Service) FinishEvent(ctx context.Context, uuid, requestID, event string, failure error) error {
	e := InstanceActionEvent{Event: event, FinishTime: s.now().UTC(), Result: "Success"}
	if failure != nil {
		e.Result, e.Traceback, e.Details = "Error", failure.Error(), failure.Error()
	}
	if err := s.inst.FinishEvent(ctx, uuid, requestID, e); err != nil {
		return fmt.Errorf("finish event %s of %s: %w", event, uuid, err)
	}
	return nil
}

// Now is the service clock, in UTC, for the conductor's own records.
func (s *Service) Now() time.Time { return s.now().UTC() }
