package agent

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"

	"github.com/nimbus-cloud/nimbus/internal/rpc"
	"github.com/nimbus-cloud/nimbus/internal/virt"
)

// nova's vm_states and task_states the agent reports, as nova spells them.
const (
	vmActive    = "active"
	vmStopped   = "stopped"
	vmPaused    = "paused"
	vmSuspended = "suspended"
	vmError     = "error"

	taskNone       = ""
	taskScheduling = "scheduling"
	taskSpawning   = "spawning"
)

// eventBuild is nova's event of a build on its host.
const eventBuild = "compute__do_build_and_run_instance"

func ptr[T any](v T) *T { return &v }

// update reports a change of one of this host's instances.
func (a *Agent) update(ctx context.Context, r rpc.InstanceUpdateRequest) (rpc.InstanceState, error) {
	r.Host = a.cfg.Host
	st, err := a.cond.UpdateInstance(ctx, r)
	if err == nil {
		a.setReportedPower(r.InstanceUUID, st.PowerState)
	}
	return st, err
}

// event records the start (failure ignored) or the end of an event of the
// request ctx belongs to.
func (a *Agent) event(ctx context.Context, uuid, name string, finish bool, failure error) {
	r := rpc.InstanceEventRequest{InstanceUUID: uuid, RequestID: rpc.FromContext(ctx).RequestID, Event: name,
		Host: a.cfg.Host, Finish: finish}
	if r.RequestID == "" {
		return
	}
	if failure != nil {
		r.Error = failure.Error()
	}
	if err := a.cond.Event(ctx, r); err != nil {
		a.log.WarnContext(ctx, "record event", "instance_uuid", uuid, "event", name, "error", err)
	}
}

// movedOn tells whether a report was refused because the instance is no
// longer this host's to change: deleted, being deleted, or elsewhere.
func movedOn(err error) bool {
	return errors.Is(err, rpc.ErrInstanceNotFound) || errors.Is(err, rpc.ErrUnexpectedTaskState) ||
		errors.Is(err, rpc.ErrWrongHost)
}

// BuildAndRun builds an instance whose resources here are claimed: it
// takes the instance (scheduling to spawning), fetches its image, spawns
// it and reports it ACTIVE. A spawn that fails goes back to the conductor
// to be rescheduled; a build whose instance was deleted meanwhile stops and
// leaves nothing behind.
func (a *Agent) BuildAndRun(ctx context.Context, req rpc.BuildAndRunRequest) error {
	uuid := req.Instance.UUID
	unlock := a.locks.lock(uuid)
	defer unlock()
	if a.wasDestroyed(uuid) {
		a.log.InfoContext(ctx, "build of a destroyed instance dropped", "instance_uuid", uuid)
		return nil
	}
	log := a.log.With("instance_uuid", uuid)
	a.event(ctx, uuid, eventBuild, false, nil)
	_, err := a.update(ctx, rpc.InstanceUpdateRequest{InstanceUUID: uuid, ExpectedTaskStates: []string{taskScheduling},
		TaskState: ptr(taskSpawning)})
	if err != nil {
		if movedOn(err) {
			log.InfoContext(ctx, "build abandoned: the instance moved on", "error", err)
			a.event(ctx, uuid, eventBuild, true, fmt.Errorf("build abandoned: %w", err))
			return nil
		}
		return a.buildFailed(ctx, req, fmt.Errorf("report the build start: %w", err), false)
	}
	spec, err := a.spec(ctx, req)
	if err != nil {
		return a.buildFailed(ctx, req, err, errors.Is(err, ErrImageNotFound))
	}
	spawnCtx := ctx
	if a.cfg.BuildTimeout > 0 {
		var cancel context.CancelFunc
		spawnCtx, cancel = context.WithTimeout(ctx, a.cfg.BuildTimeout)
		defer cancel()
	}
	if err := a.driver.Spawn(spawnCtx, spec); err != nil {
		abort := errors.Is(err, virt.ErrInvalidSpec) || errors.Is(err, virt.ErrNotSupported)
		return a.buildFailed(ctx, req, fmt.Errorf("spawn failed: %w", err), abort)
	}
	power := int(virt.Running)
	if info, err := a.driver.GetInfo(ctx, uuid); err == nil {
		power = int(info.State)
	}
	_, err = a.update(ctx, rpc.InstanceUpdateRequest{InstanceUUID: uuid, ExpectedTaskStates: []string{taskSpawning},
		VMState: ptr(vmActive), TaskState: ptr(taskNone), PowerState: &power, Launched: true})
	if err != nil {
		if movedOn(err) {
			// Deleted during the spawn: a delete of an instance being
			// deleted waits for this lock and destroys the guest; one
			// deleted without its host is this host's to clean up.
			log.InfoContext(ctx, "instance deleted while it was built", "error", err)
			if errors.Is(err, rpc.ErrInstanceNotFound) {
				a.destroyQuietly(ctx, uuid)
			}
			a.event(ctx, uuid, eventBuild, true, fmt.Errorf("instance deleted during build: %w", err))
			return nil
		}
		log.ErrorContext(ctx, "report a built instance", "error", err)
		a.event(ctx, uuid, eventBuild, true, err)
		return err
	}
	a.event(ctx, uuid, eventBuild, true, nil)
	log.InfoContext(ctx, "instance built", "attempt", req.Attempt)
	return nil
}

// buildFailed hands a failed build back to the conductor, which releases
// the claim here and tries an alternate host unless abort.
func (a *Agent) buildFailed(ctx context.Context, req rpc.BuildAndRunRequest, cause error, abort bool) error {
	uuid := req.Instance.UUID
	a.log.WarnContext(ctx, "build failed", "instance_uuid", uuid, "abort", abort, "error", cause)
	a.event(ctx, uuid, eventBuild, true, cause)
	req.Failures = append(req.Failures, rpc.HostFailure{Host: a.cfg.Host, Reason: cause.Error(), Abort: abort})
	if err := a.cond.Reschedule(ctx, req); err != nil {
		return fmt.Errorf("hand failed build of %s back to the conductor: %w", uuid, err)
	}
	return nil
}

// destroyQuietly removes a guest nobody wants, logging a failure.
func (a *Agent) destroyQuietly(ctx context.Context, uuid string) {
	if err := a.driver.Destroy(ctx, uuid, false); err != nil {
		a.log.ErrorContext(ctx, "destroy an unwanted guest", "instance_uuid", uuid, "error", err)
		return
	}
	a.markDestroyed(uuid)
}

// spec is the driver's instance spec, with the image in the local cache.
func (a *Agent) spec(ctx context.Context, req rpc.BuildAndRunRequest) (*virt.InstanceSpec, error) {
	in := req.Instance
	f := in.Flavor
	spec := &virt.InstanceSpec{UUID: in.UUID, Name: in.Name, Hostname: in.Hostname, ProjectID: in.ProjectID,
		UserID: in.UserID, Flavor: virt.Flavor{Name: f.Name, VCPUs: f.VCPUs, MemoryMB: f.MemoryMB, RootGB: f.RootGB,
			EphemeralGB: f.EphemeralGB, SwapMB: f.Swap, ExtraSpecs: maps.Clone(f.ExtraSpecs)},
		ConfigDrive: in.ConfigDrive, Metadata: maps.Clone(in.Metadata), KeyName: in.KeyName, KeyData: in.KeyData}
	if in.UserData != "" {
		data, err := base64.StdEncoding.DecodeString(in.UserData)
		if err != nil {
			return nil, fmt.Errorf("%w: user data is not base64: %v", virt.ErrInvalidSpec, err)
		}
		spec.UserData = data
	}
	bootFromImage := len(in.BlockDevices) == 0
	for _, b := range in.BlockDevices {
		m := virt.BlockDeviceMapping{BootIndex: -1, SourceType: b.SourceType, DestinationType: b.DestinationType,
			ImageID: b.ImageID, GuestFormat: b.GuestFormat, DeviceType: b.DeviceType, DiskBus: b.DiskBus,
			DeleteOnTerm: b.DeleteOnTermination}
		if b.BootIndex != nil {
			m.BootIndex = *b.BootIndex
		}
		if b.VolumeSize != nil {
			m.VolumeSizeGB = *b.VolumeSize
		}
		if m.BootIndex == 0 && b.SourceType == "image" && b.DestinationType == "local" {
			bootFromImage = true
		}
		spec.BlockDeviceMappings = append(spec.BlockDeviceMappings, m)
	}
	if bootFromImage && in.Image.ID != "" {
		path, err := a.images.Path(ctx, in.Image.ID)
		if err != nil {
			return nil, fmt.Errorf("fetch image %s: %w", in.Image.ID, err)
		}
		spec.Image = virt.ImageRef{ID: in.Image.ID, DiskFormat: in.Image.DiskFormat, Path: path,
			Properties: maps.Clone(in.Image.Properties)}
	}
	return spec, nil
}
