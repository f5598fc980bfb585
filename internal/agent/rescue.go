package agent

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/nimbus-cloud/nimbus/internal/rpc"
	"github.com/nimbus-cloud/nimbus/internal/virt"
)

// vmRescued is nova's vm_state of a rescued instance.
const vmRescued = "rescued"

// Rescue boots an instance from its rescue image with its own disk
// attached second and reports it RESCUED (nova's rescue_instance). A
// rescue that fails puts the instance in ERROR with a fault, as nova does.
func (a *Agent) Rescue(ctx context.Context, r rpc.RescueRequest) error {
	uuid := r.Instance.UUID
	unlock := a.locks.lock(uuid)
	defer unlock()
	const event = "compute_rescue_instance"
	a.event(ctx, uuid, event, false, nil)
	err := a.rescue(ctx, r)
	u := rpc.InstanceUpdateRequest{InstanceUUID: uuid, ExpectedTaskStates: []string{"rescuing"},
		VMState: ptr(vmRescued), TaskState: ptr(taskNone)}
	if err != nil {
		a.log.WarnContext(ctx, "rescue failed", "instance_uuid", uuid, "error", err)
		u.VMState = ptr(vmError)
		u.Fault = &rpc.Fault{Code: 500, Message: fmt.Sprintf("Instance %s cannot be rescued: %v", uuid, err)}
	}
	if info, ierr := a.driver.GetInfo(ctx, uuid); ierr == nil {
		u.PowerState = ptr(int(info.State))
	}
	a.event(ctx, uuid, event, true, err)
	if _, uerr := a.update(ctx, u); uerr != nil && !movedOn(uerr) {
		return fmt.Errorf("report rescue of %s: %w", uuid, uerr)
	}
	return nil
}

func (a *Agent) rescue(ctx context.Context, r rpc.RescueRequest) error {
	spec, err := a.spec(ctx, rpc.BuildAndRunRequest{Instance: r.Instance})
	if err != nil {
		return err
	}
	img := r.RescueImage
	if img.ID == "" {
		img = r.Instance.Image
	}
	path, err := a.images.Path(ctx, img.ID)
	if err != nil {
		return fmt.Errorf("fetch rescue image %s: %w", img.ID, err)
	}
	ref := virt.ImageRef{ID: img.ID, DiskFormat: img.DiskFormat, Path: path, Properties: maps.Clone(img.Properties)}
	return a.driver.Rescue(ctx, spec, ref, r.AdminPass)
}

// Unrescue boots a rescued instance from its own disk again.
func (a *Agent) Unrescue(ctx context.Context, r rpc.InstanceRequest) error {
	return a.power(ctx, r.InstanceUUID, powerOp{event: "compute_unrescue_instance", expect: []string{"unrescuing"},
		do: a.driver.Unrescue, vm: vmActive})
}

// BackupLister finds the backups of an instance in the image service, for
// their rotation.
type BackupLister interface {
	// Backups returns the ids of the instance's backup images of a type,
	// newest first.
	Backups(ctx context.Context, instanceUUID, backupType string) ([]string, error)
}

// Backup uploads an instance's disk into its backup image, then deletes
// the instance's backups of the type beyond the rotation, newest kept
// (nova's backup_instance and _rotate_backups).
func (a *Agent) Backup(ctx context.Context, r rpc.BackupRequest) error {
	uuid := r.InstanceUUID
	unlock := a.locks.lock(uuid)
	defer unlock()
	const event = "compute_backup_instance"
	a.event(ctx, uuid, event, false, nil)
	_, err := a.update(ctx, rpc.InstanceUpdateRequest{InstanceUUID: uuid,
		ExpectedTaskStates: []string{"image_backup"}, TaskState: ptr("image_uploading")})
	if err != nil {
		a.event(ctx, uuid, event, true, err)
		a.discardImage(ctx, r.ImageID)
		if movedOn(err) {
			return nil
		}
		return fmt.Errorf("report the backup start of %s: %w", uuid, err)
	}
	err = a.upload(ctx, rpc.SnapshotRequest{InstanceUUID: uuid, ImageID: r.ImageID})
	u := rpc.InstanceUpdateRequest{InstanceUUID: uuid, ExpectedTaskStates: []string{"image_uploading"},
		TaskState: ptr(taskNone)}
	if err != nil {
		a.log.WarnContext(ctx, "backup failed", "instance_uuid", uuid, "image_id", r.ImageID, "error", err)
		a.discardImage(ctx, r.ImageID)
		u.Fault = &rpc.Fault{Code: 500, Message: "Backup failed: " + err.Error()}
	} else {
		a.rotateBackups(ctx, uuid, r.ImageID, r.BackupType, r.Rotation)
	}
	a.event(ctx, uuid, event, true, err)
	if _, uerr := a.update(ctx, u); uerr != nil && !movedOn(uerr) {
		return fmt.Errorf("report the backup of %s: %w", uuid, uerr)
	}
	return nil
}

// rotateBackups deletes the oldest backups of the instance and type beyond
// rotation, the one just taken (newest) counted first; failures are
// logged, since the backup itself succeeded.
func (a *Agent) rotateBackups(ctx context.Context, uuid, newest, backupType string, rotation int) {
	lister, ok := a.uploader.(BackupLister)
	if !ok {
		a.log.WarnContext(ctx, "backups not rotated: the image service cannot list them", "instance_uuid", uuid)
		return
	}
	ids, err := lister.Backups(ctx, uuid, backupType)
	if err != nil {
		a.log.WarnContext(ctx, "list backups to rotate", "instance_uuid", uuid, "error", err)
		return
	}
	ids = slices.DeleteFunc(ids, func(id string) bool { return id == newest })
	ids = slices.Insert(ids, 0, newest)
	if len(ids) <= rotation {
		return
	}
	for _, id := range ids[rotation:] {
		a.log.InfoContext(ctx, "rotating out backup", "instance_uuid", uuid, "image_id", id)
		a.discardImage(ctx, id)
	}
}

// Diagnostics is an instance's diagnostics from the driver.
func (a *Agent) Diagnostics(ctx context.Context, r rpc.InstanceRequest) (rpc.Diagnostics, error) {
	d, err := a.driver.Diagnostics(ctx, r.InstanceUUID)
	if err != nil {
		return rpc.Diagnostics{}, driverError(err)
	}
	out := rpc.Diagnostics{State: d.State, Driver: d.Driver, Hypervisor: d.Hypervisor, HypervisorOS: d.HypervisorOS,
		Uptime: d.Uptime, ConfigDrive: d.ConfigDrive, MemoryMaxKB: d.MemoryMaxKB, MemoryUsedKB: d.MemoryUsedKB}
	for _, c := range d.CPUs {
		out.CPUs = append(out.CPUs, rpc.CPUDiagnostics{ID: c.ID, Time: c.Time, Utilisation: c.Utilisation})
	}
	for _, n := range d.NICs {
		out.NICs = append(out.NICs, rpc.NICDiagnostics{MAC: n.MAC, RxOctets: n.RxOctets, RxErrors: n.RxErrors,
			RxDrop: n.RxDrop, RxPackets: n.RxPackets, TxOctets: n.TxOctets, TxErrors: n.TxErrors, TxDrop: n.TxDrop,
			TxPackets: n.TxPackets})
	}
	for _, k := range d.Disks {
		out.Disks = append(out.Disks, rpc.DiskDiagnostics{Name: k.Name, ReadBytes: k.ReadBytes,
			ReadRequests: k.ReadRequests, WriteBytes: k.WriteBytes, WriteRequests: k.WriteRequests,
			ErrorsCount: k.ErrorsCount})
	}
	return out, nil
}
