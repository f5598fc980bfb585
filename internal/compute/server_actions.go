package compute

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"
)

// op is one server operation as nova's API carries it out: look the
// instance up, check policy, check what the operation demands of the
// instance's state and move it to a task state, atomically with the
// action record, then cast to the conductor.
type op struct {
	// rule is the policy rule; target picks its target (ownerTarget when
	// nil).
	rule   string
	target func(Instance) map[string]any
	// precheck runs after policy, before the state is checked, for what
	// nova checks in the API before compute.API's decorators.
	precheck func(inst Instance) error
	// state is the key of the operation in stateRules.
	state string
	// record is the action recorded ("" records none).
	record string
	// task is the task state the instance enters.
	task TaskState
	// check runs after policy, before the state is changed, for the
	// operation's own demands.
	check func(inst Instance) error
	// mutate makes the operation's other changes, in the transaction.
	mutate func(i *Instance)
	// cast hands the operation to the conductor.
	cast func(ctx context.Context, inst Instance) error
}

// run carries op out on server id and returns the instance as recorded.
func (s *Service) run(ctx context.Context, id string, o op) (Instance, error) {
	inst, err := s.lookup(ctx, id, false)
	if err != nil {
		return Instance{}, err
	}
	target := ownerTarget(inst)
	if o.target != nil {
		target = o.target(inst)
	}
	if err := s.authorize(ctx, o.rule, target); err != nil {
		return Instance{}, err
	}
	if o.precheck != nil {
		if err := o.precheck(inst); err != nil {
			return Instance{}, err
		}
	}
	if err := checkState(o.state, &inst, s.isAdmin(ctx), s.hostUp(ctx)); err != nil {
		return Instance{}, err
	}
	if o.check != nil {
		if err := o.check(inst); err != nil {
			return Instance{}, err
		}
	}
	return s.transition(ctx, inst, o)
}

// transition checks the state rule and moves inst to o's task state with
// its action record, then casts; a cast that fails puts the task state
// back.
func (s *Service) transition(ctx context.Context, inst Instance, o op) (Instance, error) {
	admin := s.isAdmin(ctx)
	up := s.hostUp(ctx)
	now := s.now().UTC()
	var action *InstanceAction
	if o.record != "" {
		action = s.newAction(ctx, inst, o.record)
	}
	before := inst.TaskState
	updated, err := s.inst.UpdateInstance(ctx, inst.UUID, func(i *Instance) error {
		if err := checkState(o.state, i, admin, up); err != nil {
			return err
		}
		before = i.TaskState
		if o.task != TaskNone {
			i.TaskState = o.task
		}
		if o.mutate != nil {
			o.mutate(i)
		}
		i.UpdatedAt = now
		return nil
	}, action)
	if errors.Is(err, ErrNotFound) {
		return Instance{}, instanceNotFound(inst.UUID)
	}
	if err != nil {
		return Instance{}, err
	}
	if o.cast == nil {
		return updated, nil
	}
	if err := o.cast(ctx, updated); err != nil {
		if o.task != TaskNone {
			s.revertTask(ctx, updated.UUID, o.task, before)
		}
		return Instance{}, fmt.Errorf("hand %s of instance %s to the conductor: %w", o.state, inst.UUID, err)
	}
	s.log.InfoContext(ctx, "server operation accepted", "instance_uuid", inst.UUID, "operation", o.state)
	return updated, nil
}

// revertTask puts an instance's task state back after a failed cast, if no
// one moved it meanwhile (nova's reverts_task_state).
func (s *Service) revertTask(ctx context.Context, uuid string, set, back TaskState) {
	_, err := s.inst.UpdateInstance(ctx, uuid, func(i *Instance) error {
		if i.TaskState != set {
			return errStateMoved
		}
		i.TaskState = back
		return nil
	}, nil)
	if err != nil && !errors.Is(err, errStateMoved) {
		s.log.ErrorContext(ctx, "revert task state", "instance_uuid", uuid, "error", err)
	}
}

var errStateMoved = errors.New("task state moved on")

// newAction is the record of an action the caller starts now.
func (s *Service) newAction(ctx context.Context, inst Instance, action string) *InstanceAction {
	c, _ := caller(ctx)
	now := s.now().UTC()
	a := &InstanceAction{InstanceUUID: inst.UUID, Action: action, RequestID: RequestID(ctx), StartTime: now, UpdatedAt: now}
	if c != nil {
		a.UserID, a.ProjectID = c.UserID, c.ProjectID
	}
	return a
}

// StartServer powers a stopped server on (os-start).
func (s *Service) StartServer(ctx context.Context, id string) error {
	_, err := s.run(ctx, id, op{rule: RuleServersStart, state: "start", record: ActionStart, task: TaskPoweringOn,
		cast: s.cond.StartInstance})
	return err
}

// StopServer powers a server off (os-stop).
func (s *Service) StopServer(ctx context.Context, id string) error {
	_, err := s.run(ctx, id, op{rule: RuleServersStop, state: "stop", record: ActionStop, task: TaskPoweringOff,
		mutate: func(i *Instance) { i.Progress = 0 }, cast: s.cond.StopInstance})
	return err
}

// RebootServer reboots a server, softly (ACPI) or hard (power cycle).
func (s *Service) RebootServer(ctx context.Context, id string, hard bool) error {
	o := op{rule: RuleServersReboot, target: projectTarget, state: "rebootSoft", record: ActionReboot,
		task: TaskRebooting}
	if hard {
		o.state, o.task = "rebootHard", TaskRebootingHard
	}
	o.cast = func(ctx context.Context, inst Instance) error { return s.cond.RebootInstance(ctx, inst, hard) }
	_, err := s.run(ctx, id, o)
	return err
}

// PauseServer pauses a running server.
func (s *Service) PauseServer(ctx context.Context, id string) error {
	_, err := s.run(ctx, id, op{rule: RulePause, state: "pause", record: ActionPause, task: TaskPausing,
		cast: s.cond.PauseInstance})
	return err
}

// UnpauseServer unpauses a paused server.
func (s *Service) UnpauseServer(ctx context.Context, id string) error {
	_, err := s.run(ctx, id, op{rule: RuleUnpause, target: projectTarget, state: "unpause", record: ActionUnpause,
		task: TaskUnpausing, cast: s.cond.UnpauseInstance})
	return err
}

// SuspendServer suspends a running server to disk.
func (s *Service) SuspendServer(ctx context.Context, id string) error {
	_, err := s.run(ctx, id, op{rule: RuleSuspend, state: "suspend", record: ActionSuspend, task: TaskSuspending,
		cast: s.cond.SuspendInstance})
	return err
}

// ResumeServer resumes a suspended server.
func (s *Service) ResumeServer(ctx context.Context, id string) error {
	_, err := s.run(ctx, id, op{rule: RuleResume, target: projectTarget, state: "resume", record: ActionResume,
		task: TaskResuming, cast: s.cond.ResumeInstance})
	return err
}

// DeleteServer deletes a server in any state (DELETE /servers/{id}); force
// is the forceDelete action. A server that never reached a host is deleted
// at once; the others once their host has torn them down.
func (s *Service) DeleteServer(ctx context.Context, id string, force bool) error {
	inst, err := s.lookup(ctx, id, false)
	if err != nil {
		return err
	}
	rule, state := RuleServersDelete, "delete"
	if force {
		rule, state = RuleForceDelete, "forceDelete"
	}
	if err := s.authorize(ctx, rule, ownerTarget(inst)); err != nil {
		return err
	}
	if err := checkState(state, &inst, s.isAdmin(ctx), nil); err != nil {
		return err
	}
	s.deleteShelvedImage(ctx, inst)
	if inst.Host == "" {
		return s.localDelete(ctx, inst, state)
	}
	_, err = s.transition(ctx, inst, op{state: state, record: ActionDelete, task: TaskDeleting,
		cast: func(ctx context.Context, inst Instance) error { return s.cond.DeleteInstance(ctx, inst, false) }})
	return err
}

// deleteShelvedImage deletes the image a shelved server was shelved into,
// as nova's delete does; a failure is logged, the delete goes on.
func (s *Service) deleteShelvedImage(ctx context.Context, inst Instance) {
	if inst.VMState != VMShelved && inst.VMState != VMShelvedOffloaded {
		return
	}
	id := inst.SystemMetadata[SysShelvedImageID]
	if id == "" {
		return
	}
	if err := s.images.DeleteImage(ctx, id); err != nil && !errors.Is(err, ErrNotFound) {
		s.log.WarnContext(ctx, "delete the image of a shelved server", "instance_uuid", inst.UUID, "image_id", id,
			"error", err)
	}
}

// RestoreServer brings back a soft-deleted server. Servers are deleted at
// once here (nova's reclaim_instance_interval 0), so none is ever
// soft-deleted and the state check refuses every restore, as nova's does
// with that setting.
func (s *Service) RestoreServer(ctx context.Context, id string) error {
	_, err := s.run(ctx, id, op{rule: RuleRestore, target: projectTarget, state: "restore", record: ActionRestore,
		task: TaskRestoring})
	return err
}

// localDelete deletes an instance no host has, as nova's _local_delete,
// and tells the conductor so a build in flight stops and its claims go.
func (s *Service) localDelete(ctx context.Context, inst Instance, state string) error {
	admin := s.isAdmin(ctx)
	now := s.now().UTC()
	var hostless bool
	deleted, err := s.inst.UpdateInstance(ctx, inst.UUID, func(i *Instance) error {
		if err := checkState(state, i, admin, nil); err != nil {
			return err
		}
		if hostless = i.Host == ""; !hostless {
			// A host took the instance meanwhile; delete it the normal way.
			return nil
		}
		markDeleted(i, now)
		return nil
	}, s.newAction(ctx, inst, ActionDelete))
	if errors.Is(err, ErrNotFound) {
		return instanceNotFound(inst.UUID)
	}
	if err != nil {
		return err
	}
	if !hostless {
		_, err = s.transition(ctx, deleted, op{state: state, task: TaskDeleting,
			cast: func(ctx context.Context, inst Instance) error { return s.cond.DeleteInstance(ctx, inst, false) }})
		return err
	}
	if err := s.cond.DeleteInstance(ctx, deleted, true); err != nil {
		// The record is gone already; what the conductor missed it cleans
		// up when the build it abandons reports back.
		s.log.ErrorContext(ctx, "tell the conductor of a local delete", "instance_uuid", inst.UUID, "error", err)
	}
	s.log.InfoContext(ctx, "server deleted", "instance_uuid", inst.UUID, "local", true)
	return nil
}

// markDeleted is the state of a deleted instance.
func markDeleted(i *Instance, now time.Time) {
	i.VMState, i.TaskState, i.PowerState = VMDeleted, TaskNone, PowerNoState
	i.Deleted, i.DeletedAt, i.UpdatedAt = true, now, now
	if i.TerminatedAt.IsZero() {
		i.TerminatedAt = now
	}
}

// LockServer locks a server against changes by its project (admins may
// still change it). An owner's lock of a locked server changes nothing.
func (s *Service) LockServer(ctx context.Context, id string, reason *string) error {
	c, err := caller(ctx)
	if err != nil {
		return err
	}
	inst, err := s.lookup(ctx, id, false)
	if err != nil {
		return err
	}
	if err := s.authorize(ctx, RuleLock, ownerTarget(inst)); err != nil {
		return err
	}
	owner := inst.ProjectID == c.ProjectID
	if inst.Locked && owner {
		return nil
	}
	by := "admin"
	if owner {
		by = "owner"
	}
	return s.apiEvent(ctx, inst, ActionLock, func(i *Instance) {
		i.Locked, i.LockedBy = true, by
		if reason != nil {
			i.LockedReason = reason
		}
	})
}

// UnlockServer unlocks a server; a lock set by someone else (the owner's
// by an admin, an admin's by the owner) takes unlock_override.
func (s *Service) UnlockServer(ctx context.Context, id string) error {
	c, err := caller(ctx)
	if err != nil {
		return err
	}
	inst, err := s.lookup(ctx, id, false)
	if err != nil {
		return err
	}
	if err := s.authorize(ctx, RuleUnlock, projectTarget(inst)); err != nil {
		return err
	}
	expect := "admin"
	if inst.ProjectID == c.ProjectID {
		expect = "owner"
	}
	if inst.LockedBy != "" && inst.LockedBy != expect {
		if err := s.authorize(ctx, RuleUnlockOverride, projectTarget(inst)); err != nil {
			return err
		}
	}
	return s.apiEvent(ctx, inst, ActionUnlock, func(i *Instance) {
		i.Locked, i.LockedBy, i.LockedReason = false, "", nil
	})
}

// apiEvent records an action the API carries out itself, with its
// "api_<action>" event, as nova's wrap_instance_event(prefix='api').
func (s *Service) apiEvent(ctx context.Context, inst Instance, action string, change func(*Instance)) error {
	a := s.newAction(ctx, inst, action)
	now := s.now().UTC()
	a.Events = []InstanceActionEvent{{Event: "api_" + action, StartTime: now, FinishTime: now, Result: "Success"}}
	_, err := s.inst.UpdateInstance(ctx, inst.UUID, func(i *Instance) error {
		change(i)
		i.UpdatedAt = now
		return nil
	}, a)
	if errors.Is(err, ErrNotFound) {
		return instanceNotFound(inst.UUID)
	}
	return err
}

// consoleControl are the control characters nova strips from console
// output (all but tab and newline).
var consoleControl = regexp.MustCompile("[\x00-\x08\x0B-\x1F]")

// ConsoleOutput returns the last length lines of a server's console (all
// when length is nil or -1), control characters removed.
func (s *Service) ConsoleOutput(ctx context.Context, id string, length *int) (string, error) {
	inst, err := s.lookup(ctx, id, false)
	if err != nil {
		return "", err
	}
	if err := s.authorize(ctx, RuleConsoleOutput, projectTarget(inst)); err != nil {
		return "", err
	}
	if err := checkState("os-getConsoleOutput", &inst, true, nil); err != nil {
		return "", err
	}
	n := -1
	if length != nil {
		n = *length
	}
	out, err := s.cond.ConsoleOutput(ctx, inst, n)
	if err != nil {
		return "", err
	}
	return consoleControl.ReplaceAllString(out, ""), nil
}

// RemoteConsole returns the URL of a console of the server. checkFirst
// checks policy before the instance is looked up, as the actions of
// microversions before 2.6 do.
func (s *Service) RemoteConsole(ctx context.Context, id, protocol, kind string, checkFirst bool) (string, error) {
	if checkFirst {
		c, err := caller(ctx)
		if err != nil {
			return "", err
		}
		if err := s.authorize(ctx, RuleRemoteConsoles, callerTarget(c)); err != nil {
			return "", err
		}
	}
	inst, err := s.lookup(ctx, id, false)
	if err != nil {
		return "", err
	}
	if !checkFirst {
		if err := s.authorize(ctx, RuleRemoteConsoles, projectTarget(inst)); err != nil {
			return "", err
		}
	}
	if protocol == "rdp" {
		return "", errorf(ErrInvalid, "Unavailable console type %s.", protocol)
	}
	if err := checkState("remote-console", &inst, true, nil); err != nil {
		return "", err
	}
	return s.cond.RemoteConsole(ctx, inst, protocol, kind)
}

// computeHost returns the compute service of a host, if the cloud knows
// one.
func (s *Service) computeHost(ctx context.Context, host string) (ServiceRecord, bool, error) {
	if s.services == nil {
		return ServiceRecord{}, false, nil
	}
	recs, err := s.services.Services(ctx)
	if err != nil {
		return ServiceRecord{}, false, fmt.Errorf("list services: %w", err)
	}
	for _, r := range recs {
		if r.Host == host && r.Binary == "nova-compute" {
			return r, true, nil
		}
	}
	return ServiceRecord{}, false, nil
}
