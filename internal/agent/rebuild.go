package agent

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/nimbus-cloud/nimbus/internal/rpc"
	"github.com/nimbus-cloud/nimbus/internal/virt"
)

// ImageUploader writes snapshots into the image service.
type ImageUploader interface {
	// Upload sets a queued image's disk and container formats and uploads
	// its data.
	Upload(ctx context.Context, imageID, diskFormat, containerFormat string, data io.Reader) error
	// Delete removes an image a failed snapshot leaves behind.
	Delete(ctx context.Context, imageID string) error
}

// Rebuild re-creates an instance from its (new) image: the guest is
// destroyed and spawned again, as nova's rebuild_instance does on the same
// host. A stopped instance is left stopped. A spawn that fails leaves the
// instance in ERROR with a fault, since its old guest is gone.
func (a *Agent) Rebuild(ctx context.Context, r rpc.RebuildRequest) error {
	uuid := r.Instance.UUID
	unlock := a.locks.lock(uuid)
	defer unlock()
	const event = "compute_rebuild_instance"
	a.event(ctx, uuid, event, false, nil)
	_, err := a.update(ctx, rpc.InstanceUpdateRequest{InstanceUUID: uuid, ExpectedTaskStates: []string{"rebuilding"},
		TaskState: ptr("rebuild_spawning")})
	if err != nil {
		a.event(ctx, uuid, event, true, err)
		if movedOn(err) {
			return nil
		}
		return fmt.Errorf("report the rebuild start of %s: %w", uuid, err)
	}
	if err := a.respawn(ctx, r); err != nil {
		a.log.WarnContext(ctx, "rebuild failed", "instance_uuid", uuid, "error", err)
		a.event(ctx, uuid, event, true, err)
		u := rpc.InstanceUpdateRequest{InstanceUUID: uuid, ExpectedTaskStates: []string{"rebuild_spawning"},
			VMState: ptr(vmError), TaskState: ptr(taskNone), PowerState: ptr(int(virt.NoState)),
			Fault: &rpc.Fault{Code: 500, Message: "Rebuild failed: " + err.Error()}}
		if info, ierr := a.driver.GetInfo(ctx, uuid); ierr == nil {
			u.PowerState = ptr(int(info.State))
		}
		if _, uerr := a.update(ctx, u); uerr != nil && !movedOn(uerr) {
			return fmt.Errorf("report failed rebuild of %s: %w", uuid, uerr)
		}
		return nil
	}
	vm := vmActive
	if r.VMState == vmStopped {
		vm = vmStopped
	}
	power := int(virt.NoState)
	if info, err := a.driver.GetInfo(ctx, uuid); err == nil {
		power = int(info.State)
	}
	_, err = a.update(ctx, rpc.InstanceUpdateRequest{InstanceUUID: uuid, ExpectedTaskStates: []string{"rebuild_spawning"},
		VMState: &vm, TaskState: ptr(taskNone), PowerState: &power, Launched: true})
	a.event(ctx, uuid, event, true, nil)
	if err != nil && !movedOn(err) {
		return fmt.Errorf("report rebuilt instance %s: %w", uuid, err)
	}
	return nil
}

// respawn destroys an instance's guest and spawns it from the request's
// image, powered off when the instance was stopped.
func (a *Agent) respawn(ctx context.Context, r rpc.RebuildRequest) error {
	spec, err := a.spec(ctx, rpc.BuildAndRunRequest{Instance: r.Instance})
	if err != nil {
		return err
	}
	if err := a.driver.Destroy(ctx, r.Instance.UUID, false); err != nil {
		return fmt.Errorf("destroy the old guest: %w", err)
	}
	spec.StartStopped = r.VMState == vmStopped
	if err := a.driver.Spawn(ctx, spec); err != nil {
		return fmt.Errorf("spawn failed: %w", err)
	}
	return nil
}

// Snapshot uploads an instance's disk into a queued image, moving the task
// from image_snapshot_pending through image_uploading back to none (nova's
// snapshot_instance). A failed snapshot deletes the image and records a
// fault; the instance keeps running.
func (a *Agent) Snapshot(ctx context.Context, r rpc.SnapshotRequest) error {
	uuid := r.InstanceUUID
	unlock := a.locks.lock(uuid)
	defer unlock()
	const event = "compute_snapshot_instance"
	a.event(ctx, uuid, event, false, nil)
	_, err := a.update(ctx, rpc.InstanceUpdateRequest{InstanceUUID: uuid,
		ExpectedTaskStates: []string{"image_snapshot_pending", "image_snapshot"}, TaskState: ptr("image_uploading")})
	if err != nil {
		a.event(ctx, uuid, event, true, err)
		if movedOn(err) {
			a.discardImage(ctx, r.ImageID)
			return nil
		}
		return fmt.Errorf("report the snapshot start of %s: %w", uuid, err)
	}
	err = a.upload(ctx, r)
	u := rpc.InstanceUpdateRequest{InstanceUUID: uuid, ExpectedTaskStates: []string{"image_uploading"},
		TaskState: ptr(taskNone)}
	if err != nil {
		a.log.WarnContext(ctx, "snapshot failed", "instance_uuid", uuid, "image_id", r.ImageID, "error", err)
		a.discardImage(ctx, r.ImageID)
		u.Fault = &rpc.Fault{Code: 500, Message: "Snapshot failed: " + err.Error()}
	}
	a.event(ctx, uuid, event, true, err)
	if _, uerr := a.update(ctx, u); uerr != nil && !movedOn(uerr) {
		return fmt.Errorf("report the snapshot of %s: %w", uuid, uerr)
	}
	return nil
}

func (a *Agent) upload(ctx context.Context, r rpc.SnapshotRequest) error {
	if a.uploader == nil {
		return errors.New("no image service to upload to")
	}
	snap, err := a.driver.Snapshot(ctx, r.InstanceUUID)
	if err != nil {
		return err
	}
	defer snap.Data.Close()
	container := snap.ContainerFormat
	if container == "" {
		container = "bare"
	}
	if err := a.uploader.Upload(ctx, r.ImageID, snap.DiskFormat, container, snap.Data); err != nil {
		return fmt.Errorf("upload image %s: %w", r.ImageID, err)
	}
	return nil
}

// discardImage deletes the image of a snapshot that will not be taken.
func (a *Agent) discardImage(ctx context.Context, id string) {
	if a.uploader == nil {
		return
	}
	if err := a.uploader.Delete(ctx, id); err != nil {
		a.log.WarnContext(ctx, "delete the image of a failed snapshot", "image_id", id, "error", err)
	}
}
