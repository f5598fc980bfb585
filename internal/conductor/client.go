package conductor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/nimbus-cloud/nimbus/internal/auth"
	"github.com/nimbus-cloud/nimbus/internal/bus"
	"github.com/nimbus-cloud/nimbus/internal/compute"
	"github.com/nimbus-cloud/nimbus/internal/rpc"
)

// HostStatus tells whether a compute host's service is up.
type HostStatus interface {
	HostUp(host string) bool
}

// ImageDiscarder deletes an image the API made for an operation that will
// not happen, on the caller's behalf.
type ImageDiscarder interface {
	DeleteImage(ctx context.Context, id string) error
}

// Client is the compute API's conductor: it casts builds to the conductor
// and, as nova's compute API does, power actions and deletes straight to
// the instance's host. Each method returns once the message is on the bus.
type Client struct {
	bus    *bus.Bus
	hosts  HostStatus
	images ImageDiscarder
	log    *slog.Logger
	// consoles issues console auth tokens (console.go); nil: no console.
	consoles ConsoleAuth
}

// DiscardImagesWith makes shelves and backups that cannot be handed to
// their host delete the image the API created for them.
func (c *Client) DiscardImagesWith(d ImageDiscarder) { c.images = d }

var _ compute.Conductor = (*Client)(nil)

// NewClient returns the API's conductor over b; hosts, when set, sends the
// deletes of instances whose host is down to the conductor instead (nova's
// local delete).
func NewClient(b *bus.Bus, hosts HostStatus, log *slog.Logger) *Client {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Client{bus: b, hosts: hosts, log: log}
}

// rpcContext gives ctx the RPC context of the API's caller and request.
func rpcContext(ctx context.Context) context.Context {
	c, _ := auth.FromContext(ctx)
	return rpc.WithContext(ctx, rpc.FromCaller(c, compute.RequestID(ctx)))
}

var conductorTarget = bus.Target{Topic: rpc.TopicConductor}

// BuildInstances casts build_instances to the conductor.
func (c *Client) BuildInstances(ctx context.Context, req compute.BuildRequest) error {
	m := rpc.BuildInstancesRequest{Image: wireImage(req.Image), AvailabilityZone: req.AvailabilityZone,
		ForcedHost: req.ForcedHost, ForcedNode: req.ForcedNode, RequestedHost: req.RequestedHost,
		RequestedNode: req.RequestedNode, SchedulerHints: req.SchedulerHints, AdminPass: req.AdminPass,
		InjectedFiles: wireFiles(req.InjectedFiles)}
	for _, inst := range req.Instances {
		m.InstanceUUIDs = append(m.InstanceUUIDs, inst.UUID)
	}
	return bus.Cast(rpcContext(ctx), c.bus, conductorTarget, rpc.BuildInstances, m)
}

// DeleteInstance casts terminate_instance to the instance's host. An
// instance no host has (local), or whose host is down or unknown, is
// finished by the conductor.
func (c *Client) DeleteInstance(ctx context.Context, inst compute.Instance, local bool) error {
	ctx = rpcContext(ctx)
	if local {
		return bus.Cast(ctx, c.bus, conductorTarget, rpc.CleanupDeletedInstance,
			rpc.InstanceRequest{InstanceUUID: inst.UUID})
	}
	if c.hosts == nil || c.hosts.HostUp(inst.Host) {
		err := bus.Cast(ctx, c.bus, computeTarget(inst.Host), rpc.TerminateInstance,
			rpc.InstanceRequest{InstanceUUID: inst.UUID})
		if !errors.Is(err, bus.ErrNoRoute) {
			return err
		}
	}
	c.log.InfoContext(ctx, "host of a deleted instance is down; deleting it locally", "instance_uuid", inst.UUID,
		"host", inst.Host)
	return bus.Cast(ctx, c.bus, conductorTarget, rpc.InstanceDestroyed,
		rpc.InstanceDestroyedRequest{InstanceUUID: inst.UUID, Host: inst.Host})
}

// castToHost casts a power action to the instance's host. A host whose
// service is down is refused at once, as nova's check_instance_host
// (check_is_up) does, rather than leave the server in its task state until
// the host returns.
func (c *Client) castToHost(ctx context.Context, inst compute.Instance, m rpc.Method[rpc.InstanceRequest, rpc.None], req rpc.InstanceRequest) error {
	if c.hosts != nil && !c.hosts.HostUp(inst.Host) {
		return hostError(inst.Host, bus.ErrNoRoute)
	}
	req.InstanceUUID = inst.UUID
	err := bus.Cast(rpcContext(ctx), c.bus, computeTarget(inst.Host), m, req)
	return hostError(inst.Host, err)
}

// hostError words a host that cannot be reached as nova's
// ComputeServiceUnavailable (409).
func hostError(host string, err error) error {
	if errors.Is(err, bus.ErrNoRoute) || errors.Is(err, bus.ErrTimeout) {
		return &compute.Error{Kind: compute.ErrConflict,
			Message: fmt.Sprintf("Compute service of %s is unavailable at this time.", host)}
	}
	return err
}

// StartInstance casts start_instance to the host.
func (c *Client) StartInstance(ctx context.Context, inst compute.Instance) error {
	return c.castToHost(ctx, inst, rpc.StartInstance, rpc.InstanceRequest{})
}

// StopInstance casts stop_instance to the host.
func (c *Client) StopInstance(ctx context.Context, inst compute.Instance) error {
	return c.castToHost(ctx, inst, rpc.StopInstance, rpc.InstanceRequest{})
}

// RebootInstance casts reboot_instance to the host.
func (c *Client) RebootInstance(ctx context.Context, inst compute.Instance, hard bool) error {
	kind := "SOFT"
	if hard {
		kind = "HARD"
	}
	return c.castToHost(ctx, inst, rpc.RebootInstance, rpc.InstanceRequest{RebootType: kind})
}

// PauseInstance casts pause_instance to the host.
func (c *Client) PauseInstance(ctx context.Context, inst compute.Instance) error {
	return c.castToHost(ctx, inst, rpc.PauseInstance, rpc.InstanceRequest{})
}

// UnpauseInstance casts unpause_instance to the host.
func (c *Client) UnpauseInstance(ctx context.Context, inst compute.Instance) error {
	return c.castToHost(ctx, inst, rpc.UnpauseInstance, rpc.InstanceRequest{})
}

// SuspendInstance casts suspend_instance to the host.
func (c *Client) SuspendInstance(ctx context.Context, inst compute.Instance) error {
	return c.castToHost(ctx, inst, rpc.SuspendInstance, rpc.InstanceRequest{})
}

// ResumeInstance casts resume_instance to the host.
func (c *Client) ResumeInstance(ctx context.Context, inst compute.Instance) error {
	return c.castToHost(ctx, inst, rpc.ResumeInstance, rpc.InstanceRequest{})
}

// ConsoleOutput calls get_console_output on the instance's host.
func (c *Client) ConsoleOutput(ctx context.Context, inst compute.Instance, length int) (string, error) {
	if c.hosts != nil && !c.hosts.HostUp(inst.Host) {
		return "", hostError(inst.Host, bus.ErrNoRoute)
	}
	r, err := bus.Call(rpcContext(ctx), c.bus, computeTarget(inst.Host), rpc.GetConsoleOutput,
		rpc.ConsoleOutputRequest{InstanceUUID: inst.UUID, Length: length})
	switch {
	case errors.Is(err, rpc.ErrInstanceNotFound):
		return "", &compute.Error{Kind: compute.ErrNotFound, Message: fmt.Sprintf("Instance %s could not be found.", inst.UUID)}
	case errors.Is(err, rpc.ErrNotSupported):
		return "", &compute.Error{Kind: compute.ErrNotFound, Message: "Guest does not have a console available."}
	case err != nil:
		return "", hostError(inst.Host, err)
	}
	return r.Output, nil
}

// RebuildInstance casts rebuild_instance to the conductor, which checks a
// new image against the host and hands the rebuild to it.
func (c *Client) RebuildInstance(ctx context.Context, req compute.RebuildRequest) error {
	if c.hosts != nil && !c.hosts.HostUp(req.Instance.Host) {
		return hostError(req.Instance.Host, bus.ErrNoRoute)
	}
	return bus.Cast(rpcContext(ctx), c.bus, conductorTarget, rpc.RebuildServer, rpc.RebuildServerRequest{
		InstanceUUID: req.Instance.UUID, Image: wireImage(req.Image), OriginalImageRef: req.OriginalImageRef,
		AdminPass: req.AdminPass, PreserveEphemeral: req.PreserveEphemeral, InjectedFiles: wireFiles(req.InjectedFiles)})
}

// ResizeInstance casts migrate_server to the conductor.
func (c *Client) ResizeInstance(ctx context.Context, req compute.ResizeRequest) error {
	return bus.Cast(rpcContext(ctx), c.bus, conductorTarget, rpc.MigrateServer, rpc.MigrateServerRequest{
		InstanceUUID: req.Instance.UUID, Flavor: wireFlavor(req.Flavor), Migrate: req.Migrate, Host: req.Host})
}

// ConfirmResize casts confirm_resize to the conductor.
func (c *Client) ConfirmResize(ctx context.Context, inst compute.Instance) error {
	return bus.Cast(rpcContext(ctx), c.bus, conductorTarget, rpc.ConfirmResize, rpc.InstanceRequest{InstanceUUID: inst.UUID})
}

// RevertResize casts revert_resize to the conductor.
func (c *Client) RevertResize(ctx context.Context, inst compute.Instance) error {
	return bus.Cast(rpcContext(ctx), c.bus, conductorTarget, rpc.RevertResize, rpc.InstanceRequest{InstanceUUID: inst.UUID})
}

// SnapshotInstance casts snapshot_instance to the instance's host, which
// uploads the disk into the queued image.
func (c *Client) SnapshotInstance(ctx context.Context, inst compute.Instance, imageID string) error {
	if c.hosts != nil && !c.hosts.HostUp(inst.Host) {
		return hostError(inst.Host, bus.ErrNoRoute)
	}
	err := bus.Cast(rpcContext(ctx), c.bus, computeTarget(inst.Host), rpc.SnapshotInstance,
		rpc.SnapshotRequest{InstanceUUID: inst.UUID, ImageID: imageID})
	return hostError(inst.Host, err)
}

// LiveMigrateInstance casts live_migrate_instance to the conductor. Every
// migration is a live one without shared storage here, so block_migration
// needs no choice.
func (c *Client) LiveMigrateInstance(ctx context.Context, req compute.LiveMigrateRequest) error {
	return bus.Cast(rpcContext(ctx), c.bus, conductorTarget, rpc.LiveMigrateInstance, rpc.LiveMigrateRequest{
		InstanceUUID: req.Instance.UUID, Host: req.Host, Force: req.Force})
}

// EvacuateInstance casts evacuate_instance to the conductor.
func (c *Client) EvacuateInstance(ctx context.Context, req compute.EvacuateRequest) error {
	return bus.Cast(rpcContext(ctx), c.bus, conductorTarget, rpc.EvacuateInstance, rpc.EvacuateRequest{
		InstanceUUID: req.Instance.UUID, Host: req.Host, Force: req.Force, AdminPass: req.AdminPass,
		TargetStopped: req.TargetStopped})
}
