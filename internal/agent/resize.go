package agent

import (
	"context"
	"fmt"
	"maps"

	"github.com/nimbus-cloud/nimbus/internal/rpc"
	"github.com/nimbus-cloud/nimbus/internal/virt"
)

// Hosts are the other compute hosts, for the steps of a move one host
// hands to the next.
type Hosts interface {
	FinishResize(ctx context.Context, host string, req rpc.FinishResizeRequest) error
	// PreLiveMigration readies host for the instance and answers its
	// driver's migrate data.
	PreLiveMigration(ctx context.Context, host string, spec rpc.InstanceSpec) (virt.MigrateData, error)
	PostLiveMigration(ctx context.Context, host, uuid string) error
	RollbackLiveMigration(ctx context.Context, host, uuid string) error
}

const vmResized = "resized"

func virtFlavor(f rpc.Flavor) virt.Flavor {
	return virt.Flavor{Name: f.Name, VCPUs: f.VCPUs, MemoryMB: f.MemoryMB, RootGB: f.RootGB,
		EphemeralGB: f.EphemeralGB, SwapMB: f.Swap, ExtraSpecs: maps.Clone(f.ExtraSpecs)}
}

// ResizeInstance is the source side of a resize or cold migration (nova's
// resize_instance): the guest is powered off and its disk handed over, the
// instance passes to the destination, which is told to finish. A disk that
// cannot be migrated goes back to the conductor, which undoes the move.
func (a *Agent) ResizeInstance(ctx context.Context, r rpc.ResizeRequest) error {
	id := r.Instance.UUID
	unlock := a.locks.lock(id)
	defer unlock()
	const event = "compute_resize_instance"
	a.event(ctx, id, event, false, nil)
	_, err := a.update(ctx, rpc.InstanceUpdateRequest{InstanceUUID: id, ExpectedTaskStates: []string{"resize_prep"},
		TaskState: ptr("resize_migrating")})
	if err != nil {
		a.event(ctx, id, event, true, err)
		if movedOn(err) {
			return nil
		}
		return fmt.Errorf("report the resize start of %s: %w", id, err)
	}
	disk, err := a.driver.MigrateDiskAndPowerOff(ctx, id, r.Dest.Host, virtFlavor(r.NewFlavor))
	if err != nil {
		a.log.WarnContext(ctx, "migrate disk", "instance_uuid", id, "dest", r.Dest.Host, "error", err)
		a.event(ctx, id, event, true, err)
		return a.cond.ResizeFailed(ctx, rpc.ResizeFailedRequest{InstanceUUID: id, Host: a.cfg.Host, Reason: err.Error()})
	}
	_, err = a.update(ctx, rpc.InstanceUpdateRequest{InstanceUUID: id, ExpectedTaskStates: []string{"resize_migrating"},
		TaskState: ptr("resize_migrated"), MoveTo: &rpc.HostNode{Host: r.Dest.Host, Node: r.Dest.Node},
		PowerState: ptr(int(virt.Shutdown))})
	if err != nil {
		// Deleted while its disk moved: nothing will finish the move, so
		// the source copy goes.
		a.log.InfoContext(ctx, "instance moved on during its migration", "instance_uuid", id, "error", err)
		if cerr := a.driver.ConfirmMigration(ctx, id); cerr != nil {
			a.log.ErrorContext(ctx, "drop the source copy", "instance_uuid", id, "error", cerr)
		}
		a.event(ctx, id, event, true, err)
		return nil
	}
	a.event(ctx, id, event, true, nil)
	spec := r.Instance
	spec.Flavor = r.NewFlavor
	req := rpc.FinishResizeRequest{Instance: spec, SourceHost: disk.SourceHost, Disk: disk.Info, VMState: r.VMState}
	if req.SourceHost == "" {
		req.SourceHost = a.cfg.Host
	}
	if err := a.hosts.FinishResize(ctx, r.Dest.Host, req); err != nil {
		return fmt.Errorf("hand %s to %s: %w", id, r.Dest.Host, err)
	}
	return nil
}

// FinishResize is the destination side (nova's finish_resize): the
// instance is created from the migrated disk with its new flavor, running
// unless it was stopped, and awaits confirmation (RESIZED).
func (a *Agent) FinishResize(ctx context.Context, r rpc.FinishResizeRequest) error {
	id := r.Instance.UUID
	unlock := a.locks.lock(id)
	defer unlock()
	const event = "compute_finish_resize"
	a.event(ctx, id, event, false, nil)
	_, err := a.update(ctx, rpc.InstanceUpdateRequest{InstanceUUID: id, ExpectedTaskStates: []string{"resize_migrated"},
		TaskState: ptr("resize_finish")})
	if err != nil {
		a.event(ctx, id, event, true, err)
		if movedOn(err) {
			return nil
		}
		return fmt.Errorf("report the resize finish of %s: %w", id, err)
	}
	err = a.finishMigration(ctx, r)
	if err != nil {
		a.log.WarnContext(ctx, "finish migration", "instance_uuid", id, "error", err)
		a.event(ctx, id, event, true, err)
		_, uerr := a.update(ctx, rpc.InstanceUpdateRequest{InstanceUUID: id, ExpectedTaskStates: []string{"resize_finish"},
			VMState: ptr(vmError), TaskState: ptr(taskNone), Fault: &rpc.Fault{Code: 500,
				Message: "Failed to finish the migration on " + a.cfg.Host + ": " + err.Error()}})
		if uerr != nil && !movedOn(uerr) {
			return fmt.Errorf("report failed resize of %s: %w", id, uerr)
		}
		return nil
	}
	power := int(virt.NoState)
	if info, err := a.driver.GetInfo(ctx, id); err == nil {
		power = int(info.State)
	}
	_, err = a.update(ctx, rpc.InstanceUpdateRequest{InstanceUUID: id, ExpectedTaskStates: []string{"resize_finish"},
		VMState: ptr(vmResized), TaskState: ptr(taskNone), PowerState: &power, FlavorNew: true})
	a.event(ctx, id, event, true, nil)
	if err != nil && !movedOn(err) {
		return fmt.Errorf("report resized instance %s: %w", id, err)
	}
	return nil
}

func (a *Agent) finishMigration(ctx context.Context, r rpc.FinishResizeRequest) error {
	spec, err := a.spec(ctx, rpc.BuildAndRunRequest{Instance: r.Instance})
	if err != nil {
		return err
	}
	spec.StartStopped = r.VMState == vmStopped
	return a.driver.FinishMigration(ctx, spec, virt.MigratedDisk{SourceHost: r.SourceHost, Info: r.Disk})
}

// ConfirmMigration drops this host's copy of an instance that moved away.
func (a *Agent) ConfirmMigration(ctx context.Context, r rpc.InstanceRequest) error {
	unlock := a.locks.lock(r.InstanceUUID)
	defer unlock()
	const event = "compute_confirm_resize"
	a.event(ctx, r.InstanceUUID, event, false, nil)
	err := a.driver.ConfirmMigration(ctx, r.InstanceUUID)
	a.event(ctx, r.InstanceUUID, event, true, err)
	return driverError(err)
}

// RevertMigration destroys this host's copy of an instance whose move is
// reverted; the source host brings its own back.
func (a *Agent) RevertMigration(ctx context.Context, r rpc.InstanceRequest) error {
	unlock := a.locks.lock(r.InstanceUUID)
	defer unlock()
	const event = "compute_revert_resize"
	a.event(ctx, r.InstanceUUID, event, false, nil)
	err := a.driver.Destroy(ctx, r.InstanceUUID, false)
	a.event(ctx, r.InstanceUUID, event, true, err)
	return driverError(err)
}

// FinishRevertMigration brings this host's copy of a reverted instance
// back, and answers its power state.
func (a *Agent) FinishRevertMigration(ctx context.Context, r rpc.FinishRevertRequest) (rpc.InstanceState, error) {
	unlock := a.locks.lock(r.InstanceUUID)
	defer unlock()
	const event = "compute_finish_revert_resize"
	a.event(ctx, r.InstanceUUID, event, false, nil)
	err := a.driver.FinishRevertMigration(ctx, r.InstanceUUID, r.PowerOn)
	a.event(ctx, r.InstanceUUID, event, true, err)
	if err != nil {
		return rpc.InstanceState{}, driverError(err)
	}
	st := rpc.InstanceState{PowerState: int(virt.NoState)}
	if info, err := a.driver.GetInfo(ctx, r.InstanceUUID); err == nil {
		st.PowerState = int(info.State)
	}
	a.setReportedPower(r.InstanceUUID, st.PowerState)
	return st, nil
}
