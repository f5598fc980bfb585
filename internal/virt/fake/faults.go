package fake

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"
)

// Op names a driver operation, for fault injection.
type Op string

// Operations faults can target.
const (
	OpInit                       Op = "init"
	OpHostResources              Op = "host_resources"
	OpListInstances              Op = "list_instances"
	OpGetInfo                    Op = "get_info"
	OpSpawn                      Op = "spawn"
	OpDestroy                    Op = "destroy"
	OpReboot                     Op = "reboot"
	OpPowerOff                   Op = "power_off"
	OpPowerOn                    Op = "power_on"
	OpPause                      Op = "pause"
	OpUnpause                    Op = "unpause"
	OpSuspend                    Op = "suspend"
	OpResume                     Op = "resume"
	OpSnapshot                   Op = "snapshot"
	OpConsoleOutput              Op = "get_console_output"
	OpVNCConsole                 Op = "get_vnc_console"
	OpMigrateDisk                Op = "migrate_disk_and_power_off"
	OpFinishMigration            Op = "finish_migration"
	OpConfirmMigration           Op = "confirm_migration"
	OpFinishRevertMigration      Op = "finish_revert_migration"
	OpPreLiveMigration           Op = "pre_live_migration"
	OpLiveMigrate                Op = "live_migration"
	OpPostLiveMigration          Op = "post_live_migration_at_destination"
	OpLiveMigrationForceComplete Op = "live_migration_force_complete"
	OpLiveMigrationAbort         Op = "live_migration_abort"
	OpRollbackLiveMigration      Op = "rollback_live_migration_at_destination"
	OpRescue                     Op = "rescue"
	OpUnrescue                   Op = "unrescue"
	OpDiagnostics                Op = "get_instance_diagnostics"
)

// ErrInjected is the failure a Fault causes unless it names another.
var ErrInjected = errors.New("injected failure")

// Fault makes matching calls slow, failing, or both.
type Fault struct {
	// Op is the operation; "" matches every operation.
	Op Op
	// InstanceName is a regular expression an instance's name must match;
	// "" matches every call, including those for no instance.
	InstanceName string
	// Times is how many matching calls the fault affects before it is
	// spent; 0 affects every matching call until ClearFaults.
	Times int
	// Delay holds each affected call this long, or until its context
	// ends, before it runs (or fails).
	Delay time.Duration
	// Fail makes affected calls fail, with Err or else ErrInjected,
	// without changing anything.
	Fail bool
	Err  error
}

type faultRule struct {
	Fault
	name *regexp.Regexp
	left int // calls left when Times > 0
}

// Inject adds a fault; an InstanceName that is no regular expression is
// refused.
func (d *Driver) Inject(f Fault) error {
	r := &faultRule{Fault: f, left: f.Times}
	if f.InstanceName != "" {
		re, err := regexp.Compile(f.InstanceName)
		if err != nil {
			return fmt.Errorf("fault instance name: %w", err)
		}
		r.name = re
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.faults = append(d.faults, r)
	return nil
}

// FailNext makes the next n calls of op fail.
func (d *Driver) FailNext(op Op, n int) {
	_ = d.Inject(Fault{Op: op, Times: n, Fail: true})
}

// FailMatching makes every call of op for instances whose name matches
// pattern fail.
func (d *Driver) FailMatching(op Op, pattern string) error {
	return d.Inject(Fault{Op: op, InstanceName: pattern, Fail: true})
}

// SetDelay holds every call of op for delay.
func (d *Driver) SetDelay(op Op, delay time.Duration) {
	_ = d.Inject(Fault{Op: op, Delay: delay})
}

// ClearFaults removes every fault.
func (d *Driver) ClearFaults() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.faults = nil
}

// enter starts op for the instance uuid (or none): it applies the faults
// that match and tells whether the call may go on.
func (d *Driver) enter(ctx context.Context, op Op, uuid string) error {
	name := ""
	if uuid != "" {
		d.mu.Lock()
		for _, set := range []map[string]*instance{d.instances, d.migrating, d.incoming} {
			if in, ok := set[uuid]; ok {
				name = in.spec.Name
				break
			}
		}
		d.mu.Unlock()
	}
	return d.enterNamed(ctx, op, name)
}

// enterNamed is enter for a call that names its instance itself (Spawn).
func (d *Driver) enterNamed(ctx context.Context, op Op, name string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	var delay time.Duration
	var fail error
	d.mu.Lock()
	kept := d.faults[:0]
	for _, r := range d.faults {
		matches := (r.Op == "" || r.Op == op) && (r.name == nil || (name != "" && r.name.MatchString(name)))
		if matches {
			delay = max(delay, r.Delay)
			if r.Fail && fail == nil {
				fail = r.Err
				if fail == nil {
					fail = ErrInjected
				}
			}
			if r.Times > 0 {
				r.left--
				if r.left == 0 {
					continue // spent
				}
			}
		}
		kept = append(kept, r)
	}
	clear(d.faults[len(kept):])
	d.faults = kept
	d.mu.Unlock()
	if delay > 0 {
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return fmt.Errorf("%s: %w", op, ctx.Err())
		}
	}
	if fail != nil {
		return fmt.Errorf("%s: %w", op, fail)
	}
	return nil
}
