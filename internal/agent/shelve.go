package agent

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/rpc"
	"github.com/nimbus-cloud/nimbus/internal/virt"
)

// Task states of a shelve, as nova spells them.
const (
	taskShelving            = "shelving"
	taskShelvingPending     = "shelving_image_pending_upload"
	taskShelvingUploading   = "shelving_image_uploading"
	taskShelvingOffloading  = "shelving_offloading"
	eventShelve             = "compute_shelve_instance"
	eventShelveOffload      = "compute_shelve_offload_instance"
	eventUnshelve           = "compute_unshelve_instance"
	defaultOffloadPollEvery = time.Minute
)

// Shelve powers an instance off, uploads its disk into the shelved image
// and reports it shelved (nova's shelve_instance); with
// shelved_offload_time 0 the guest is destroyed too and the instance
// reported offloaded. A failed upload deletes the image and clears the
// task with a fault.
func (a *Agent) Shelve(ctx context.Context, r rpc.ShelveRequest) error {
	uuid := r.InstanceUUID
	unlock := a.locks.lock(uuid)
	defer unlock()
	a.event(ctx, uuid, eventShelve, false, nil)
	_, err := a.update(ctx, rpc.InstanceUpdateRequest{InstanceUUID: uuid, ExpectedTaskStates: []string{taskShelving},
		TaskState: ptr(taskShelvingPending)})
	if err != nil {
		a.event(ctx, uuid, eventShelve, true, err)
		a.discardImage(ctx, r.ImageID)
		if movedOn(err) {
			return nil
		}
		return fmt.Errorf("report the shelve start of %s: %w", uuid, err)
	}
	format, err := a.shelveUpload(ctx, r)
	if err != nil {
		a.log.WarnContext(ctx, "shelve failed", "instance_uuid", uuid, "image_id", r.ImageID, "error", err)
		a.discardImage(ctx, r.ImageID)
		a.event(ctx, uuid, eventShelve, true, err)
		u := rpc.InstanceUpdateRequest{InstanceUUID: uuid,
			ExpectedTaskStates: []string{taskShelvingPending, taskShelvingUploading}, TaskState: ptr(taskNone),
			Fault: &rpc.Fault{Code: 500, Message: "Shelve failed: " + err.Error()}}
		if info, ierr := a.driver.GetInfo(ctx, uuid); ierr == nil {
			u.PowerState = ptr(int(info.State))
		}
		if _, uerr := a.update(ctx, u); uerr != nil && !movedOn(uerr) {
			return fmt.Errorf("report failed shelve of %s: %w", uuid, uerr)
		}
		return nil
	}
	rep := rpc.InstanceShelvedRequest{InstanceUUID: uuid, Host: a.cfg.Host, ImageID: r.ImageID, DiskFormat: format,
		PowerState: int(virt.Shutdown)}
	if a.cfg.ShelvedOffloadTime == 0 {
		if derr := a.driver.Destroy(ctx, uuid, false); derr != nil {
			a.log.WarnContext(ctx, "offload of a shelved instance failed; it stays here", "instance_uuid", uuid,
				"error", derr)
		} else {
			rep.Offloaded, rep.PowerState = true, int(virt.NoState)
			a.forgetPower(uuid)
		}
	}
	err = a.cond.InstanceShelved(ctx, rep)
	a.event(ctx, uuid, eventShelve, true, err)
	if err != nil {
		if movedOn(err) {
			return nil
		}
		return fmt.Errorf("report shelved instance %s: %w", uuid, err)
	}
	if !rep.Offloaded && a.cfg.ShelvedOffloadTime > 0 {
		a.mu.Lock()
		a.shelved[uuid] = time.Now()
		a.mu.Unlock()
	}
	return nil
}

// shelveUpload powers the instance off cleanly and uploads its disk,
// returning the image's disk format.
func (a *Agent) shelveUpload(ctx context.Context, r rpc.ShelveRequest) (string, error) {
	if a.uploader == nil {
		return "", errors.New("no image service to upload to")
	}
	if err := a.driver.PowerOff(ctx, r.InstanceUUID, a.cfg.ShutdownTimeout); err != nil {
		return "", fmt.Errorf("power off: %w", err)
	}
	_, err := a.update(ctx, rpc.InstanceUpdateRequest{InstanceUUID: r.InstanceUUID,
		ExpectedTaskStates: []string{taskShelvingPending}, TaskState: ptr(taskShelvingUploading),
		PowerState: ptr(int(virt.Shutdown))})
	if err != nil {
		return "", fmt.Errorf("report the upload start: %w", err)
	}
	snap, err := a.driver.Snapshot(ctx, r.InstanceUUID)
	if err != nil {
		return "", err
	}
	defer snap.Data.Close()
	container := snap.ContainerFormat
	if container == "" {
		container = "bare"
	}
	if err := a.uploader.Upload(ctx, r.ImageID, snap.DiskFormat, container, snap.Data); err != nil {
		return "", fmt.Errorf("upload image %s: %w", r.ImageID, err)
	}
	return snap.DiskFormat, nil
}

// ShelveOffload destroys a shelved instance's guest and reports it
// offloaded, so its claim on this host goes (nova's
// shelve_offload_instance). A destroy that fails clears the task with a
// fault; the instance stays shelved here.
func (a *Agent) ShelveOffload(ctx context.Context, r rpc.InstanceRequest) error {
	unlock := a.locks.lock(r.InstanceUUID)
	defer unlock()
	return a.offload(ctx, r.InstanceUUID)
}

// offload is ShelveOffload under the instance's lock.
func (a *Agent) offload(ctx context.Context, uuid string) error {
	a.forgetShelved(uuid)
	a.event(ctx, uuid, eventShelveOffload, false, nil)
	err := a.driver.PowerOff(ctx, uuid, a.cfg.ShutdownTimeout)
	if err == nil || errors.Is(err, virt.ErrInstanceNotFound) {
		err = a.driver.Destroy(ctx, uuid, false)
	}
	if err != nil {
		a.event(ctx, uuid, eventShelveOffload, true, err)
		_, uerr := a.update(ctx, rpc.InstanceUpdateRequest{InstanceUUID: uuid,
			ExpectedTaskStates: []string{taskShelvingOffloading}, TaskState: ptr(taskNone),
			Fault: &rpc.Fault{Code: 500, Message: "Offload failed: " + err.Error()}})
		if uerr != nil && !movedOn(uerr) {
			return fmt.Errorf("report failed offload of %s: %w", uuid, uerr)
		}
		return nil
	}
	a.forgetPower(uuid)
	err = a.cond.InstanceShelved(ctx, rpc.InstanceShelvedRequest{InstanceUUID: uuid, Host: a.cfg.Host,
		PowerState: int(virt.NoState), Offloaded: true})
	a.event(ctx, uuid, eventShelveOffload, true, err)
	if err != nil && !movedOn(err) {
		return fmt.Errorf("report offloaded instance %s: %w", uuid, err)
	}
	return nil
}

// recoverShelved learns, when the agent starts, which of its guests are
// shelved and since when, so that their offload after
// shelved_offload_time survives a restart of the agent.
func (a *Agent) recoverShelved(ctx context.Context) {
	if a.cfg.ShelvedOffloadTime <= 0 {
		return
	}
	list, err := a.driver.ListInstances(ctx)
	if err != nil || len(list) == 0 {
		return
	}
	req := rpc.ShelvedInstancesRequest{Host: a.cfg.Host}
	for _, in := range list {
		req.InstanceUUIDs = append(req.InstanceUUIDs, in.UUID)
	}
	reply, err := a.cond.ShelvedInstances(ctx, req)
	if err != nil {
		a.log.WarnContext(ctx, "ask which guests are shelved; they wait for an offload by hand", "error", err)
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, s := range reply.Instances {
		a.shelved[s.UUID] = s.ShelvedAt
	}
}

func (a *Agent) forgetShelved(uuid string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.shelved, uuid)
}

// offloadInterval is how often shelved instances are checked for offload:
// never unless shelved_offload_time is positive; at most every minute, as
// nova's _poll_shelved_instances.
func (a *Agent) offloadInterval() time.Duration {
	if a.cfg.ShelvedOffloadTime <= 0 {
		return 0
	}
	return min(a.cfg.ShelvedOffloadTime, defaultOffloadPollEvery)
}

// offloadShelved offloads the instances shelved here longer than
// shelved_offload_time (nova's _poll_shelved_instances); one that moved on
// meanwhile is forgotten.
func (a *Agent) offloadShelved(ctx context.Context) {
	a.mu.Lock()
	var due []string
	for uuid, at := range a.shelved {
		if time.Since(at) >= a.cfg.ShelvedOffloadTime {
			due = append(due, uuid)
		}
	}
	a.mu.Unlock()
	for _, uuid := range due {
		a.offloadDue(ctx, uuid)
	}
}

func (a *Agent) offloadDue(ctx context.Context, uuid string) {
	unlock := a.locks.lock(uuid)
	defer unlock()
	_, err := a.update(ctx, rpc.InstanceUpdateRequest{InstanceUUID: uuid, ExpectedTaskStates: []string{taskNone},
		TaskState: ptr(taskShelvingOffloading)})
	if err != nil {
		if movedOn(err) {
			a.forgetShelved(uuid)
		}
		a.log.InfoContext(ctx, "shelved instance not offloaded", "instance_uuid", uuid, "error", err)
		return
	}
	if err := a.offload(ctx, uuid); err != nil {
		a.log.WarnContext(ctx, "offload shelved instance", "instance_uuid", uuid, "error", err)
	}
}

// Unshelve brings a shelved instance back here (nova's unshelve_instance
// and, for one whose guest is still here, start_instance): the guest is
// powered on, or spawned from the shelved image on the host the conductor
// claimed. Once the conductor has it ACTIVE the shelved image is deleted.
func (a *Agent) Unshelve(ctx context.Context, r rpc.UnshelveOnHostRequest) error {
	uuid := r.Instance.UUID
	unlock := a.locks.lock(uuid)
	defer unlock()
	a.forgetShelved(uuid)
	a.event(ctx, uuid, eventUnshelve, false, nil)
	spawn := r.Host.Host != ""
	err := a.unshelveGuest(ctx, r, spawn)
	rep := rpc.InstanceUnshelvedRequest{InstanceUUID: uuid, Host: a.cfg.Host, Spawned: spawn,
		PowerState: int(virt.NoState)}
	if err != nil {
		a.log.WarnContext(ctx, "unshelve failed", "instance_uuid", uuid, "error", err)
		rep.Error = err.Error()
	}
	if info, ierr := a.driver.GetInfo(ctx, uuid); ierr == nil {
		rep.PowerState = int(info.State)
	}
	rerr := a.cond.InstanceUnshelved(ctx, rep)
	a.event(ctx, uuid, eventUnshelve, true, errors.Join(err, rerr))
	if rerr != nil {
		if movedOn(rerr) && spawn && err == nil && errors.Is(rerr, rpc.ErrInstanceNotFound) {
			a.destroyQuietly(ctx, uuid)
			return nil
		}
		if movedOn(rerr) {
			return nil
		}
		return fmt.Errorf("report unshelve of %s: %w", uuid, rerr)
	}
	if err == nil && r.Instance.Image.ID != "" {
		a.discardImage(ctx, r.Instance.Image.ID)
	}
	return nil
}

// unshelveGuest powers the guest on, or spawns it from the shelved image.
func (a *Agent) unshelveGuest(ctx context.Context, r rpc.UnshelveOnHostRequest, spawn bool) error {
	if !spawn {
		return a.driver.PowerOn(ctx, r.Instance.UUID)
	}
	spec, err := a.spec(ctx, rpc.BuildAndRunRequest{Instance: r.Instance})
	if err != nil {
		return err
	}
	if err := a.driver.Spawn(ctx, spec); err != nil {
		return fmt.Errorf("spawn failed: %w", err)
	}
	return nil
}
