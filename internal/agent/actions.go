package agent

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/rpc"
	"github.com/nimbus-cloud/nimbus/internal/virt"
)

// Terminate destroys an instance and reports it destroyed, after which the
// conductor releases its allocations and marks it deleted (nova's
// terminate_instance). A destroy that fails puts the instance in ERROR with
// a fault, as nova does; deleting it again retries.
func (a *Agent) Terminate(ctx context.Context, r rpc.InstanceRequest) error {
	uuid := r.InstanceUUID
	unlock := a.locks.lock(uuid)
	defer unlock()
	const event = "compute_terminate_instance"
	a.event(ctx, uuid, event, false, nil)
	if err := a.driver.Destroy(ctx, uuid, false); err != nil {
		a.log.ErrorContext(ctx, "destroy instance", "instance_uuid", uuid, "error", err)
		a.event(ctx, uuid, event, true, err)
		_, uerr := a.update(ctx, rpc.InstanceUpdateRequest{InstanceUUID: uuid, VMState: ptr(vmError),
			TaskState: ptr(taskNone), Fault: &rpc.Fault{Code: 500, Message: "Failed to terminate the instance: " + err.Error()}})
		if uerr != nil && !movedOn(uerr) {
			return fmt.Errorf("report failed delete of %s: %w", uuid, uerr)
		}
		return nil
	}
	a.markDestroyed(uuid)
	a.event(ctx, uuid, event, true, nil)
	return a.reportDestroyed(ctx, uuid)
}

// reportDestroyed tells the conductor an instance is gone, trying again
// for a while when the conductor cannot be reached: until it hears, the
// instance stays in deleting with its allocations.
func (a *Agent) reportDestroyed(ctx context.Context, uuid string) error {
	wait := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := a.cond.Destroyed(ctx, rpc.InstanceDestroyedRequest{InstanceUUID: uuid, Host: a.cfg.Host})
		if err == nil || errors.Is(err, rpc.ErrWrongHost) {
			return nil
		}
		if attempt == 6 || ctx.Err() != nil {
			return fmt.Errorf("report instance %s destroyed: %w", uuid, err)
		}
		a.log.WarnContext(ctx, "report a destroyed instance; retrying", "instance_uuid", uuid, "error", err)
		select {
		case <-time.After(wait):
			wait *= 2
		case <-ctx.Done():
		}
	}
}

// powerOp is one power action: the task states the API set for it, what
// the driver does, and the vm_state it ends in.
type powerOp struct {
	event  string
	expect []string
	do     func(ctx context.Context, uuid string) error
	vm     string
}

// power carries a power action out: on success the instance takes the
// action's vm_state and the driver's power state with no task; on failure
// the task state is reverted and a fault recorded (nova's
// reverts_task_state and wrap_instance_fault).
func (a *Agent) power(ctx context.Context, uuid string, op powerOp) error {
	unlock := a.locks.lock(uuid)
	defer unlock()
	a.event(ctx, uuid, op.event, false, nil)
	if err := op.do(ctx, uuid); err != nil {
		a.log.WarnContext(ctx, "power action failed", "instance_uuid", uuid, "event", op.event, "error", err)
		a.event(ctx, uuid, op.event, true, err)
		u := rpc.InstanceUpdateRequest{InstanceUUID: uuid, ExpectedTaskStates: op.expect, TaskState: ptr(taskNone),
			Fault: &rpc.Fault{Code: 500, Message: err.Error()}}
		if info, ierr := a.driver.GetInfo(ctx, uuid); ierr == nil {
			u.PowerState = ptr(int(info.State))
		}
		if _, uerr := a.update(ctx, u); uerr != nil && !movedOn(uerr) {
			return fmt.Errorf("report failed %s of %s: %w", op.event, uuid, uerr)
		}
		return nil
	}
	u := rpc.InstanceUpdateRequest{InstanceUUID: uuid, ExpectedTaskStates: op.expect, VMState: &op.vm,
		TaskState: ptr(taskNone)}
	if info, err := a.driver.GetInfo(ctx, uuid); err == nil {
		u.PowerState = ptr(int(info.State))
	}
	_, err := a.update(ctx, u)
	a.event(ctx, uuid, op.event, true, nil)
	if err != nil && !movedOn(err) {
		return fmt.Errorf("report %s of %s: %w", op.event, uuid, err)
	}
	return nil
}

// StartInstance powers a stopped instance on.
func (a *Agent) StartInstance(ctx context.Context, r rpc.InstanceRequest) error {
	return a.power(ctx, r.InstanceUUID, powerOp{event: "compute_start_instance", expect: []string{"powering-on"},
		do: a.driver.PowerOn, vm: vmActive})
}

// StopInstance shuts an instance down, cleanly within shutdown_timeout.
func (a *Agent) StopInstance(ctx context.Context, r rpc.InstanceRequest) error {
	return a.power(ctx, r.InstanceUUID, powerOp{event: "compute_stop_instance", expect: []string{"powering-off"},
		do: func(ctx context.Context, uuid string) error {
			return a.driver.PowerOff(ctx, uuid, a.cfg.ShutdownTimeout)
		}, vm: vmStopped})
}

// RebootInstance reboots an instance, soft or hard.
func (a *Agent) RebootInstance(ctx context.Context, r rpc.InstanceRequest) error {
	kind := virt.RebootSoft
	expect := []string{"rebooting", "reboot_pending", "reboot_started"}
	if strings.EqualFold(r.RebootType, string(virt.RebootHard)) {
		kind = virt.RebootHard
		expect = []string{"rebooting_hard", "reboot_pending_hard", "reboot_started_hard"}
	}
	return a.power(ctx, r.InstanceUUID, powerOp{event: "compute_reboot_instance", expect: expect,
		do: func(ctx context.Context, uuid string) error { return a.driver.Reboot(ctx, uuid, kind) }, vm: vmActive})
}

// PauseInstance pauses an instance.
func (a *Agent) PauseInstance(ctx context.Context, r rpc.InstanceRequest) error {
	return a.power(ctx, r.InstanceUUID, powerOp{event: "compute_pause_instance", expect: []string{"pausing"},
		do: a.driver.Pause, vm: vmPaused})
}

// UnpauseInstance unpauses an instance.
func (a *Agent) UnpauseInstance(ctx context.Context, r rpc.InstanceRequest) error {
	return a.power(ctx, r.InstanceUUID, powerOp{event: "compute_unpause_instance", expect: []string{"unpausing"},
		do: a.driver.Unpause, vm: vmActive})
}

// SuspendInstance suspends an instance.
func (a *Agent) SuspendInstance(ctx context.Context, r rpc.InstanceRequest) error {
	return a.power(ctx, r.InstanceUUID, powerOp{event: "compute_suspend_instance", expect: []string{"suspending"},
		do: a.driver.Suspend, vm: vmSuspended})
}

// ResumeInstance resumes a suspended instance.
func (a *Agent) ResumeInstance(ctx context.Context, r rpc.InstanceRequest) error {
	return a.power(ctx, r.InstanceUUID, powerOp{event: "compute_resume_instance", expect: []string{"resuming"},
		do: a.driver.Resume, vm: vmActive})
}

// driverError gives a driver's failure a kind the API can answer with.
func driverError(err error) error {
	switch {
	case errors.Is(err, virt.ErrInstanceNotFound):
		return rpc.Errorf(rpc.KindInstanceNotFound, "%v", err)
	case errors.Is(err, virt.ErrNotSupported):
		return rpc.Errorf(rpc.KindNotSupported, "%v", err)
	case errors.Is(err, virt.ErrInvalidState):
		return rpc.Errorf(rpc.KindInvalidState, "%v", err)
	}
	return err
}

// ConsoleOutput is the last Length lines of an instance's console log.
func (a *Agent) ConsoleOutput(ctx context.Context, r rpc.ConsoleOutputRequest) (rpc.ConsoleOutputReply, error) {
	out, err := a.driver.GetConsoleOutput(ctx, r.InstanceUUID)
	if err != nil {
		return rpc.ConsoleOutputReply{}, driverError(err)
	}
	return rpc.ConsoleOutputReply{Output: tail(out, r.Length)}, nil
}

// tail keeps the last n pieces of s split on newlines (all when n < 0),
// as nova's compute manager does: a log that ends in a newline ends in an
// empty piece, so "a\nb\nc\n" keeps "c\n" of two.
func tail(s string, n int) string {
	if n < 0 {
		return s
	}
	if n == 0 {
		return ""
	}
	pieces := strings.Split(s, "\n")
	if len(pieces) > n {
		pieces = pieces[len(pieces)-n:]
	}
	return strings.Join(pieces, "\n")
}

// VNCConsole is where an instance's VNC server listens.
func (a *Agent) VNCConsole(ctx context.Context, r rpc.InstanceRequest) (rpc.VNCConsoleReply, error) {
	c, err := a.driver.GetVNCConsole(ctx, r.InstanceUUID)
	if err != nil {
		return rpc.VNCConsoleReply{}, driverError(err)
	}
	return rpc.VNCConsoleReply{Host: c.Host, Port: c.Port}, nil
}
