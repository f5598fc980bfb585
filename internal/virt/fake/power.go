package fake

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/virt"
)

// transition is what a power operation does: the states it works in, the
// states in which it succeeds without doing anything, where it leaves the
// instance, and what the hypervisor reports.
type transition struct {
	from   []virt.PowerState
	noop   []virt.PowerState
	to     virt.PowerState
	events []virt.Transition
	// console is written to the console log; boot writes a boot.
	console string
	boot    bool
}

// transitions are the power operations other than reboot, as a hypervisor
// allows them: a stopped instance cannot be paused, only a paused one
// unpaused, only a running one suspended.
var transitions = map[Op]transition{
	OpPause:   {from: states(virt.Running), to: virt.Paused, events: events(virt.EventPaused)},
	OpUnpause: {from: states(virt.Paused), to: virt.Running, events: events(virt.EventResumed)},
	OpSuspend: {from: states(virt.Running), to: virt.Suspended, events: events(virt.EventSuspended),
		console: "PM: suspend entry (deep)"},
	OpResume: {from: states(virt.Suspended), to: virt.Running, events: events(virt.EventResumed),
		console: "PM: resume from suspend"},
	OpPowerOn: {from: states(virt.Shutdown, virt.Crashed), noop: states(virt.Running), to: virt.Running,
		events: events(virt.EventStarted), boot: true},
	OpPowerOff: {from: states(virt.Running, virt.Paused, virt.Suspended, virt.Crashed), noop: states(virt.Shutdown),
		to: virt.Shutdown, events: events(virt.EventStopped)},
}

func states(s ...virt.PowerState) []virt.PowerState { return s }
func events(t ...virt.Transition) []virt.Transition { return t }

// apply runs a transition on uuid.
func (d *Driver) apply(ctx context.Context, op Op, uuid string, console func(in *instance)) error {
	if err := d.enter(ctx, op, uuid); err != nil {
		return err
	}
	tr := transitions[op]
	d.mu.Lock()
	defer d.mu.Unlock()
	in, ok := d.instances[uuid]
	if !ok {
		return virt.NotFound(uuid)
	}
	if slices.Contains(tr.noop, in.state) {
		return nil
	}
	if !slices.Contains(tr.from, in.state) {
		return &virt.StateError{UUID: uuid, Op: string(op), State: in.state, Allowed: append(slices.Clone(tr.from), tr.noop...)}
	}
	if console != nil {
		console(in)
	}
	if tr.console != "" {
		in.console.write(tr.console)
	}
	if tr.boot {
		in.console.boot(&in.spec)
	}
	in.state = tr.to
	d.emit(uuid, tr.events...)
	return nil
}

// Pause freezes a running instance.
func (d *Driver) Pause(ctx context.Context, uuid string) error {
	return d.apply(ctx, OpPause, uuid, nil)
}

// Unpause thaws a paused instance.
func (d *Driver) Unpause(ctx context.Context, uuid string) error {
	return d.apply(ctx, OpUnpause, uuid, nil)
}

// Suspend saves a running instance's memory and stops it.
func (d *Driver) Suspend(ctx context.Context, uuid string) error {
	return d.apply(ctx, OpSuspend, uuid, nil)
}

// Resume restores a suspended instance.
func (d *Driver) Resume(ctx context.Context, uuid string) error {
	return d.apply(ctx, OpResume, uuid, nil)
}

// PowerOn boots a stopped or crashed instance.
func (d *Driver) PowerOn(ctx context.Context, uuid string) error {
	return d.apply(ctx, OpPowerOn, uuid, nil)
}

// PowerOff stops the instance: a running guest given a timeout shuts down
// cleanly (the console shows it); otherwise the power is cut.
func (d *Driver) PowerOff(ctx context.Context, uuid string, timeout time.Duration) error {
	if timeout < 0 {
		return fmt.Errorf("power off %s: %w: negative timeout %s", uuid, virt.ErrInvalidSpec, timeout)
	}
	return d.apply(ctx, OpPowerOff, uuid, func(in *instance) {
		if timeout > 0 && in.state == virt.Running {
			in.console.write("systemd-shutdown[1]: Powering off.")
			in.console.write("reboot: Power down")
		}
	})
}

// Reboot restarts the instance from any state. A soft reboot of a running
// guest is a clean restart; otherwise the instance is reset, as nova falls
// back to a hard reboot when a soft one cannot work.
func (d *Driver) Reboot(ctx context.Context, uuid string, kind virt.RebootType) error {
	if kind != virt.RebootSoft && kind != virt.RebootHard {
		return fmt.Errorf("reboot %s: %w: reboot type %q is not SOFT or HARD", uuid, virt.ErrInvalidSpec, kind)
	}
	if err := d.enter(ctx, OpReboot, uuid); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	in, ok := d.instances[uuid]
	if !ok {
		return virt.NotFound(uuid)
	}
	switch in.state {
	case virt.Shutdown, virt.Crashed:
		d.emit(uuid, virt.EventStarted)
	default:
		if kind == virt.RebootSoft && in.state == virt.Running {
			in.console.write("reboot: Restarting system")
		}
		d.emit(uuid, virt.EventStopped, virt.EventStarted)
	}
	in.console.boot(&in.spec)
	in.state = virt.Running
	return nil
}
