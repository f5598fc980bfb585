package libvirt

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"

	"github.com/nimbus-cloud/nimbus/internal/virt"
)

// state is the instance's power state as libvirt tells it: a shut off
// domain with a managed save image is suspended, one that crashed is
// crashed until it is powered off or on.
func (d *Driver) state(in *instance) (virt.PowerState, error) {
	conn, err := d.connection()
	if err != nil {
		return virt.NoState, err
	}
	dom := domainOf(in)
	st, reason, err := conn.DomainGetState(dom, 0)
	if golibvirt.IsNotFound(err) {
		return virt.NoState, nil
	}
	if err != nil {
		return virt.NoState, fmt.Errorf("domain state: %w", err)
	}
	switch golibvirt.DomainState(st) {
	case golibvirt.DomainRunning, golibvirt.DomainBlocked, golibvirt.DomainShutdown:
		return virt.Running, nil
	case golibvirt.DomainPaused:
		return virt.Paused, nil
	case golibvirt.DomainPmsuspended:
		return virt.Suspended, nil
	case golibvirt.DomainCrashed:
		return virt.Crashed, nil
	case golibvirt.DomainShutoff:
		saved, err := conn.DomainHasManagedSaveImage(dom, 0)
		if err != nil && !golibvirt.IsNotFound(err) {
			return virt.NoState, fmt.Errorf("managed save image: %w", err)
		}
		if saved == 1 {
			return virt.Suspended, nil
		}
		d.mu.Lock()
		cleared := in.rec.CrashCleared
		d.mu.Unlock()
		if golibvirt.DomainShutoffReason(reason) == golibvirt.DomainShutoffCrashed && !cleared {
			return virt.Crashed, nil
		}
		return virt.Shutdown, nil
	}
	return virt.NoState, nil
}

// powerOp runs fn on uuid when its state is one of from; in one of noop
// it succeeds doing nothing.
func (d *Driver) powerOp(ctx context.Context, uuid, op string, from, noop []virt.PowerState,
	fn func(conn Conn, in *instance, state virt.PowerState) error) error {
	in, end, err := d.begin(ctx, d.instances, uuid)
	if err != nil {
		return fmt.Errorf("%s %s: %w", op, uuid, err)
	}
	defer end()
	conn, err := d.connection()
	if err != nil {
		return fmt.Errorf("%s %s: %w", op, uuid, err)
	}
	state, err := d.state(in)
	if err != nil {
		return fmt.Errorf("%s %s: %w", op, uuid, err)
	}
	if slices.Contains(noop, state) {
		return nil
	}
	if !slices.Contains(from, state) {
		return &virt.StateError{UUID: uuid, Op: op, State: state, Allowed: append(slices.Clone(from), noop...)}
	}
	if err := fn(conn, in, state); err != nil {
		return fmt.Errorf("%s %s: %w", op, uuid, err)
	}
	return nil
}

func states(s ...virt.PowerState) []virt.PowerState { return s }

// report emits t for in.
func (d *Driver) report(in *instance, t virt.Transition) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.emit(in, t)
}

// start starts the instance's domain (restoring a managed save image if
// it has one) and reports t.
func (d *Driver) startAs(in *instance, t virt.Transition) error {
	conn, err := d.connection()
	if err != nil {
		return err
	}
	if err := createDomain(conn, domainOf(in)); err != nil {
		return fmt.Errorf("start domain: %w", err)
	}
	d.mu.Lock()
	in.rec.CrashCleared, in.rec.Started = false, d.opts.Now()
	err = in.save()
	d.emit(in, t)
	d.mu.Unlock()
	return err
}

// portRetries is how often a domain is started again when its VNC port,
// free when libvirt chose it, was taken by another process before QEMU
// bound it.
const portRetries = 5

// createDomain starts a domain, choosing another VNC port when the one
// libvirt chose was taken meanwhile.
func createDomain(conn Conn, dom golibvirt.Domain) error {
	for i := 0; ; i++ {
		_, err := conn.DomainCreateWithFlags(dom, 0)
		if err == nil || i == portRetries || !strings.Contains(err.Error(), "Failed to find an available port") {
			return err
		}
	}
}

func (d *Driver) start(ctx context.Context, in *instance) error {
	return d.startAs(in, virt.EventStarted)
}

// Pause stops a running guest's CPUs.
func (d *Driver) Pause(ctx context.Context, uuid string) error {
	return d.powerOp(ctx, uuid, "pause", states(virt.Running), nil, func(conn Conn, in *instance, _ virt.PowerState) error {
		if err := conn.DomainSuspend(domainOf(in)); err != nil {
			return err
		}
		d.report(in, virt.EventPaused)
		return nil
	})
}

// Unpause resumes a paused guest's CPUs.
func (d *Driver) Unpause(ctx context.Context, uuid string) error {
	return d.powerOp(ctx, uuid, "unpause", states(virt.Paused), nil, func(conn Conn, in *instance, _ virt.PowerState) error {
		if err := conn.DomainResume(domainOf(in)); err != nil {
			return err
		}
		d.report(in, virt.EventResumed)
		return nil
	})
}

// PowerOn starts a stopped or crashed instance; a running one stays as it
// is.
func (d *Driver) PowerOn(ctx context.Context, uuid string) error {
	return d.powerOp(ctx, uuid, "power on", states(virt.Shutdown, virt.Crashed), states(virt.Running),
		func(_ Conn, in *instance, _ virt.PowerState) error { return d.start(ctx, in) })
}

// PowerOff asks the guest to shut down (ACPI) and waits up to timeout
// before the domain is destroyed; timeout 0 destroys it at once. A
// suspended instance loses its managed save image.
func (d *Driver) PowerOff(ctx context.Context, uuid string, timeout time.Duration) error {
	if timeout < 0 {
		return fmt.Errorf("power off %s: %w: negative timeout %s", uuid, virt.ErrInvalidSpec, timeout)
	}
	return d.powerOp(ctx, uuid, "power off", states(virt.Running, virt.Paused, virt.Suspended, virt.Crashed), states(virt.Shutdown),
		func(conn Conn, in *instance, state virt.PowerState) error {
			if err := d.powerOff(ctx, conn, in, state, timeout); err != nil {
				return err
			}
			d.report(in, virt.EventStopped)
			return nil
		})
}

// powerOff brings the domain from state to shut off, cleanly if the guest
// answers the power button within timeout.
func (d *Driver) powerOff(ctx context.Context, conn Conn, in *instance, state virt.PowerState, timeout time.Duration) error {
	dom := domainOf(in)
	switch state {
	case virt.Running, virt.Paused:
		if state == virt.Running && timeout > 0 && d.shutdown(ctx, conn, in, timeout) {
			break
		}
		if err := conn.DomainDestroyFlags(dom, 0); err != nil && !isNotRunning(err) {
			return fmt.Errorf("destroy domain: %w", err)
		}
	case virt.Suspended:
		if err := conn.DomainManagedSaveRemove(dom, 0); err != nil {
			return fmt.Errorf("remove the managed save image: %w", err)
		}
	}
	d.mu.Lock()
	in.rec.CrashCleared = true
	err := in.save()
	d.mu.Unlock()
	return err
}

// shutdownPoll is how often a clean shutdown's progress is checked.
const shutdownPoll = 50 * time.Millisecond

// acpiRepeat is how often the power button is pressed again: a guest
// still booting may have missed the first press.
const acpiRepeat = 10 * time.Second

// shutdown presses the guest's power button until its domain shuts off
// or timeout passes.
func (d *Driver) shutdown(ctx context.Context, conn Conn, in *instance, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	var pressed time.Time
	for {
		if time.Since(pressed) >= acpiRepeat {
			if err := conn.DomainShutdownFlags(domainOf(in), golibvirt.DomainShutdownAcpiPowerBtn); err != nil {
				st, _ := d.state(in)
				return st == virt.Shutdown || st == virt.Crashed
			}
			pressed = time.Now()
		}
		if st, err := d.state(in); err == nil && (st == virt.Shutdown || st == virt.Crashed) {
			return true
		}
		if !time.Now().Before(deadline) {
			return false
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(min(shutdownPoll, time.Until(deadline))):
		}
	}
}

// Suspend saves a running guest's memory to libvirt's managed save image
// and stops its domain; Resume restores it.
func (d *Driver) Suspend(ctx context.Context, uuid string) error {
	return d.powerOp(ctx, uuid, "suspend", states(virt.Running), nil, func(conn Conn, in *instance, _ virt.PowerState) error {
		if err := conn.DomainManagedSave(domainOf(in), 0); err != nil {
			return fmt.Errorf("managed save: %w", err)
		}
		d.report(in, virt.EventSuspended)
		return nil
	})
}

// Resume restores a suspended guest from its managed save image.
func (d *Driver) Resume(ctx context.Context, uuid string) error {
	return d.powerOp(ctx, uuid, "resume", states(virt.Suspended), nil, func(_ Conn, in *instance, _ virt.PowerState) error {
		return d.startAs(in, virt.EventResumed)
	})
}

// Reboot restarts the instance from any state. A soft reboot of a running
// guest presses its power button and starts the domain again once it shut
// off, or hard reboots it when it does not within SoftRebootTimeout; a
// hard reboot destroys the domain, defines it afresh from the instance
// and starts it. A suspended instance loses its saved state.
func (d *Driver) Reboot(ctx context.Context, uuid string, kind virt.RebootType) error {
	if kind != virt.RebootSoft && kind != virt.RebootHard {
		return fmt.Errorf("reboot %s: %w: reboot type %q is not SOFT or HARD", uuid, virt.ErrInvalidSpec, kind)
	}
	all := states(virt.NoState, virt.Running, virt.Paused, virt.Shutdown, virt.Crashed, virt.Suspended)
	return d.powerOp(ctx, uuid, "reboot", all, nil, func(conn Conn, in *instance, state virt.PowerState) error {
		if kind == virt.RebootSoft && state == virt.Running && d.shutdown(ctx, conn, in, d.opts.SoftRebootTimeout) {
			d.report(in, virt.EventStopped)
			return d.start(ctx, in)
		}
		if err := d.powerOff(ctx, conn, in, state, 0); err != nil {
			return err
		}
		if state == virt.Running || state == virt.Paused {
			d.report(in, virt.EventStopped)
		}
		if err := d.define(in, nil); err != nil {
			return err
		}
		return d.start(ctx, in)
	})
}
