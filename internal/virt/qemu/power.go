package qemu

import (
	"context"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/virt"
	"github.com/nimbus-cloud/nimbus/internal/virt/qemu/qmp"
)

// powerOp runs fn on uuid when its state is one of from; in one of noop
// it succeeds doing nothing.
func (d *Driver) powerOp(ctx context.Context, uuid, op string, from, noop []virt.PowerState,
	fn func(in *instance, p *process) error) error {
	in, end, err := d.begin(ctx, d.instances, uuid)
	if err != nil {
		return fmt.Errorf("%s %s: %w", op, uuid, err)
	}
	defer end()
	d.mu.Lock()
	state, p := in.state, in.proc
	d.mu.Unlock()
	if slices.Contains(noop, state) {
		return nil
	}
	if !slices.Contains(from, state) {
		return &virt.StateError{UUID: uuid, Op: op, State: state, Allowed: append(slices.Clone(from), noop...)}
	}
	if err := fn(in, p); err != nil {
		return fmt.Errorf("%s %s: %w", op, uuid, err)
	}
	return nil
}

func states(s ...virt.PowerState) []virt.PowerState { return s }

// set records a state change and reports it.
func (d *Driver) set(in *instance, state virt.PowerState, t virt.Transition) {
	d.mu.Lock()
	defer d.mu.Unlock()
	in.state = state
	d.emit(in, t)
}

// Pause stops a running guest's CPUs.
func (d *Driver) Pause(ctx context.Context, uuid string) error {
	return d.powerOp(ctx, uuid, "pause", states(virt.Running), nil, func(in *instance, p *process) error {
		if err := p.qmp.Stop(ctx); err != nil {
			return err
		}
		d.set(in, virt.Paused, virt.EventPaused)
		return nil
	})
}

// Unpause resumes a paused guest's CPUs.
func (d *Driver) Unpause(ctx context.Context, uuid string) error {
	return d.powerOp(ctx, uuid, "unpause", states(virt.Paused), nil, func(in *instance, p *process) error {
		if err := p.qmp.Cont(ctx); err != nil {
			return err
		}
		d.set(in, virt.Running, virt.EventResumed)
		return nil
	})
}

// PowerOn boots a stopped or crashed instance; a running one stays as it is.
func (d *Driver) PowerOn(ctx context.Context, uuid string) error {
	return d.powerOp(ctx, uuid, "power on", states(virt.Shutdown, virt.Crashed), states(virt.Running),
		func(in *instance, _ *process) error { return d.start(ctx, in) })
}

// start boots a stopped instance.
func (d *Driver) start(ctx context.Context, in *instance) error {
	r := &reverter{}
	defer r.revert()
	if err := d.boot(ctx, in, r); err != nil {
		return err
	}
	r.done()
	return d.saveLogged(in)
}

// saveLogged writes the record, whose Crashed flag a boot clears.
func (d *Driver) saveLogged(in *instance) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return in.save()
}

// PowerOff presses the ACPI power button and waits up to timeout for the
// guest to shut down before QEMU is told to quit; timeout 0 quits at
// once. A suspended instance loses its saved state.
func (d *Driver) PowerOff(ctx context.Context, uuid string, timeout time.Duration) error {
	if timeout < 0 {
		return fmt.Errorf("power off %s: %w: negative timeout %s", uuid, virt.ErrInvalidSpec, timeout)
	}
	return d.powerOp(ctx, uuid, "power off", states(virt.Running, virt.Paused, virt.Suspended, virt.Crashed), states(virt.Shutdown),
		func(in *instance, p *process) error {
			d.powerOff(ctx, in, p, timeout)
			d.set(in, virt.Shutdown, virt.EventStopped)
			return nil
		})
}

// powerOff ends the instance's QEMU, cleanly if the guest answers the
// power button within timeout, and forgets its saved state.
func (d *Driver) powerOff(ctx context.Context, in *instance, p *process, timeout time.Duration) (clean bool) {
	if p != nil {
		if timeout > 0 && d.isRunning(in) {
			clean = d.acpiShutdown(ctx, p, timeout)
		}
		if !clean {
			p.quit(ctx)
		}
		d.mu.Lock()
		in.proc = nil
		d.mu.Unlock()
	}
	_ = os.Remove(in.path(fileSuspend))
	d.mu.Lock()
	in.rec.Crashed = false
	if err := in.save(); err != nil {
		d.log.Error("record a power off", "instance_uuid", in.rec.Spec.UUID, "error", err)
	}
	d.mu.Unlock()
	return clean
}

func (d *Driver) isRunning(in *instance) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return in.state == virt.Running
}

// acpiRepeat is how often the power button is pressed again: a guest
// still booting may have missed the first press.
const acpiRepeat = 10 * time.Second

// acpiShutdown presses the power button until the guest powers off or
// timeout passes.
func (d *Driver) acpiShutdown(ctx context.Context, p *process, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		if err := p.qmp.SystemPowerdown(ctx); err != nil {
			return p.waitExit(ctx, 0)
		}
		wait := min(acpiRepeat, time.Until(deadline))
		if p.waitExit(ctx, wait) {
			return true
		}
		if !time.Now().Before(deadline) {
			return false
		}
	}
}

// Suspend saves a running guest's memory and devices to a file in its
// folder and ends its QEMU; Resume restores it.
func (d *Driver) Suspend(ctx context.Context, uuid string) error {
	return d.powerOp(ctx, uuid, "suspend", states(virt.Running), nil, func(in *instance, p *process) error {
		if err := d.saveState(ctx, in, p); err != nil {
			// The guest goes on running where it was.
			_ = p.qmp.Cont(ctx)
			return err
		}
		p.quit(ctx)
		d.mu.Lock()
		in.proc = nil
		d.mu.Unlock()
		d.set(in, virt.Suspended, virt.EventSuspended)
		return nil
	})
}

// saveState pauses the guest and migrates it into suspend.state.
func (d *Driver) saveState(ctx context.Context, in *instance, p *process) error {
	tmp := in.path(fileSuspend + ".tmp")
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	defer os.Remove(tmp)
	defer f.Close()
	if err := p.qmp.Stop(ctx); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	// Unthrottled: the default bandwidth cap is for networks.
	if err := p.qmp.MigrateSetParameters(ctx, map[string]any{"max-bandwidth": int64(1) << 40}); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	if err := p.qmp.GetFD(ctx, "suspend", f); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	if err := p.qmp.Migrate(ctx, "fd:suspend"); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	if _, err := waitMigration(ctx, p, 10*time.Minute); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	if err := os.Rename(tmp, in.path(fileSuspend)); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	return nil
}

// waitMigration polls an outgoing migration until it ends.
func waitMigration(ctx context.Context, p *process, timeout time.Duration) (qmp.Migration, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	delay := 5 * time.Millisecond
	for {
		m, err := p.qmp.QueryMigrate(ctx)
		if err != nil {
			return m, err
		}
		switch m.Status {
		case "completed":
			return m, nil
		case "failed", "cancelled":
			return m, fmt.Errorf("migration %s: %s", m.Status, m.ErrorDesc)
		}
		select {
		case <-ctx.Done():
			_ = p.qmp.MigrateCancel(context.WithoutCancel(ctx))
			return m, fmt.Errorf("migration still %s: %w", m.Status, ctx.Err())
		case <-time.After(delay):
		}
		delay = min(2*delay, 100*time.Millisecond)
	}
}

// Resume restores a suspended guest from its saved state.
func (d *Driver) Resume(ctx context.Context, uuid string) error {
	return d.powerOp(ctx, uuid, "resume", states(virt.Suspended), nil, func(in *instance, _ *process) error {
		if err := d.restore(ctx, in); err != nil {
			return err
		}
		d.set(in, virt.Running, virt.EventResumed)
		return nil
	})
}

// restore starts QEMU taking its saved state from descriptor 3 and runs
// the guest once it is loaded; the state file goes then.
func (d *Driver) restore(ctx context.Context, in *instance) error {
	f, err := os.Open(in.path(fileSuspend))
	if err != nil {
		return fmt.Errorf("open saved state: %w", err)
	}
	defer f.Close()
	p, err := d.launch(ctx, in, "fd:3", f)
	if err != nil {
		return err
	}
	// QEMU holds its own descriptor of the state file now.
	f.Close()
	fail := func(err error) error {
		d.stopProcess(in, p)
		d.mu.Lock()
		in.state = virt.Suspended // the saved state is still there
		d.mu.Unlock()
		return err
	}
	if _, err := p.waitStatus(ctx, 10*time.Minute, func(s string) bool { return s != "inmigrate" }); err != nil {
		return fail(fmt.Errorf("load saved state: %w", err))
	}
	if err := p.qmp.Cont(ctx); err != nil {
		return fail(fmt.Errorf("run the restored guest: %w", err))
	}
	_ = os.Remove(in.path(fileSuspend))
	return nil
}

// Reboot restarts the instance from any state. A soft reboot presses the
// power button and boots the guest again once it is down, and resets it
// when it does not go down within SoftRebootTimeout; a hard reboot resets
// a running or paused guest, and boots a stopped or suspended one afresh.
func (d *Driver) Reboot(ctx context.Context, uuid string, kind virt.RebootType) error {
	if kind != virt.RebootSoft && kind != virt.RebootHard {
		return fmt.Errorf("reboot %s: %w: reboot type %q is not SOFT or HARD", uuid, virt.ErrInvalidSpec, kind)
	}
	all := states(virt.NoState, virt.Running, virt.Paused, virt.Shutdown, virt.Crashed, virt.Suspended)
	return d.powerOp(ctx, uuid, "reboot", all, nil, func(in *instance, p *process) error {
		d.mu.Lock()
		state := in.state
		d.mu.Unlock()
		if p == nil {
			// Stopped, crashed or suspended: a fresh boot.
			_ = os.Remove(in.path(fileSuspend))
			return d.start(ctx, in)
		}
		if kind == virt.RebootSoft && state == virt.Running {
			if d.acpiShutdown(ctx, p, d.opts.SoftRebootTimeout) {
				d.mu.Lock()
				in.proc = nil
				d.emit(in, virt.EventStopped)
				d.mu.Unlock()
				return d.start(ctx, in)
			}
		}
		if err := p.qmp.SystemReset(ctx); err != nil {
			return err
		}
		if state != virt.Running {
			if err := p.qmp.Cont(ctx); err != nil {
				return err
			}
		}
		d.mu.Lock()
		in.state = virt.Running
		d.emit(in, virt.EventStopped)
		d.emit(in, virt.EventStarted)
		d.mu.Unlock()
		return nil
	})
}
