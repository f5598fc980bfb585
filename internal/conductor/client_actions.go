package conductor

import (
	"context"
	"errors"
	"fmt"

	"github.com/nimbus-cloud/nimbus/internal/bus"
	"github.com/nimbus-cloud/nimbus/internal/compute"
	"github.com/nimbus-cloud/nimbus/internal/rpc"
)

// castImageToHost casts an operation that uploads into an image the API
// created; when the host cannot be reached the image is deleted again.
func castImageToHost[Req any](ctx context.Context, c *Client, inst compute.Instance, imageID string, m rpc.Method[Req, rpc.None], req Req) error {
	err := hostError(inst.Host, bus.ErrNoRoute)
	if c.hosts == nil || c.hosts.HostUp(inst.Host) {
		err = hostError(inst.Host, bus.Cast(rpcContext(ctx), c.bus, computeTarget(inst.Host), m, req))
	}
	if err != nil && c.images != nil {
		if derr := c.images.DeleteImage(ctx, imageID); derr != nil {
			c.log.WarnContext(ctx, "delete the image of an operation not handed over", "image_id", imageID, "error", derr)
		}
	}
	return err
}

// ShelveInstance casts shelve_instance to the instance's host.
func (c *Client) ShelveInstance(ctx context.Context, inst compute.Instance, imageID string) error {
	return castImageToHost(ctx, c, inst, imageID, rpc.ShelveInstance,
		rpc.ShelveRequest{InstanceUUID: inst.UUID, ImageID: imageID})
}

// ShelveOffloadInstance casts shelve_offload_instance to the instance's
// host.
func (c *Client) ShelveOffloadInstance(ctx context.Context, inst compute.Instance) error {
	return c.castToHost(ctx, inst, rpc.ShelveOffloadInstance, rpc.InstanceRequest{})
}

// UnshelveInstance casts unshelve_instance to the conductor.
func (c *Client) UnshelveInstance(ctx context.Context, req compute.UnshelveRequest) error {
	if req.Instance.VMState == compute.VMShelved && c.hosts != nil && !c.hosts.HostUp(req.Instance.Host) {
		return hostError(req.Instance.Host, bus.ErrNoRoute)
	}
	return bus.Cast(rpcContext(ctx), c.bus, conductorTarget, rpc.UnshelveInstance, rpc.UnshelveRequest{
		InstanceUUID: req.Instance.UUID, ZoneSet: req.ZoneSet,
		AvailabilityZone: req.AvailabilityZone, Host: req.Host})
}

// RescueInstance casts rescue_instance to the instance's host.
func (c *Client) RescueInstance(ctx context.Context, inst compute.Instance, image compute.Image, adminPass string) error {
	if c.hosts != nil && !c.hosts.HostUp(inst.Host) {
		return hostError(inst.Host, bus.ErrNoRoute)
	}
	rescue := wireImage(image)
	if image.DiskFormat == "" && image.ID == inst.ImageRef {
		rescue = instanceImage(&inst)
	}
	err := bus.Cast(rpcContext(ctx), c.bus, computeTarget(inst.Host), rpc.RescueInstance, rpc.RescueRequest{
		Instance: instanceSpec(&inst, instanceImage(&inst)), RescueImage: rescue, AdminPass: adminPass})
	return hostError(inst.Host, err)
}

// UnrescueInstance casts unrescue_instance to the instance's host.
func (c *Client) UnrescueInstance(ctx context.Context, inst compute.Instance) error {
	return c.castToHost(ctx, inst, rpc.UnrescueInstance, rpc.InstanceRequest{})
}

// BackupInstance casts backup_instance to the instance's host.
func (c *Client) BackupInstance(ctx context.Context, inst compute.Instance, imageID, backupType string, rotation int) error {
	return castImageToHost(ctx, c, inst, imageID, rpc.BackupInstance, rpc.BackupRequest{InstanceUUID: inst.UUID,
		ImageID: imageID, BackupType: backupType, Rotation: rotation})
}

// Diagnostics calls get_instance_diagnostics on the instance's host. A
// driver that cannot tell is nova's 501.
func (c *Client) Diagnostics(ctx context.Context, inst compute.Instance) (compute.Diagnostics, error) {
	if c.hosts != nil && !c.hosts.HostUp(inst.Host) {
		return compute.Diagnostics{}, hostError(inst.Host, bus.ErrNoRoute)
	}
	r, err := bus.Call(rpcContext(ctx), c.bus, computeTarget(inst.Host), rpc.GetDiagnostics,
		rpc.InstanceRequest{InstanceUUID: inst.UUID})
	switch {
	case errors.Is(err, rpc.ErrInstanceNotFound):
		return compute.Diagnostics{}, &compute.Error{Kind: compute.ErrNotFound,
			Message: fmt.Sprintf("Instance %s could not be found.", inst.UUID)}
	case errors.Is(err, rpc.ErrNotSupported):
		return compute.Diagnostics{}, &compute.Error{Kind: compute.ErrNotImplemented,
			Message: "Unable to get diagnostics, functionality not implemented"}
	case err != nil:
		return compute.Diagnostics{}, hostError(inst.Host, err)
	}
	d := compute.Diagnostics{State: r.State, Driver: r.Driver, Hypervisor: r.Hypervisor, HypervisorOS: r.HypervisorOS,
		Uptime: r.Uptime, ConfigDrive: r.ConfigDrive, MemoryMaxKB: r.MemoryMaxKB, MemoryUsedKB: r.MemoryUsedKB}
	for _, c := range r.CPUs {
		d.CPUs = append(d.CPUs, compute.CPUDiagnostics{ID: c.ID, Time: c.Time, Utilisation: c.Utilisation})
	}
	for _, n := range r.NICs {
		d.NICs = append(d.NICs, compute.NICDiagnostics{MAC: n.MAC, RxOctets: n.RxOctets, RxErrors: n.RxErrors,
			RxDrop: n.RxDrop, RxPackets: n.RxPackets, TxOctets: n.TxOctets, TxErrors: n.TxErrors, TxDrop: n.TxDrop,
			TxPackets: n.TxPackets})
	}
	for _, k := range r.Disks {
		d.Disks = append(d.Disks, compute.DiskDiagnostics{Name: k.Name, ReadBytes: k.ReadBytes,
			ReadRequests: k.ReadRequests, WriteBytes: k.WriteBytes, WriteRequests: k.WriteRequests,
			ErrorsCount: k.ErrorsCount})
	}
	return d, nil
}
