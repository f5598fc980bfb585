package conductor

import (
	"context"
	"errors"
	"fmt"

	"github.com/nimbus-cloud/nimbus/internal/bus"
	"github.com/nimbus-cloud/nimbus/internal/compute"
	"github.com/nimbus-cloud/nimbus/internal/rpc"
)

// ConsoleAuth issues the console auth tokens of remote consoles, as nova's
// compute manager does after asking its driver where the console listens.
type ConsoleAuth interface {
	// AuthorizeConsole records a token for the console of type kind
	// ("novnc") of an instance, served at host:port, and returns the URL a
	// user opens (the console proxy's, carrying the token).
	AuthorizeConsole(ctx context.Context, instanceUUID, kind, host string, port int) (string, error)
}

// ConsolesWith makes RemoteConsole hand out noVNC consoles through a. A
// client without one offers no console type ([vnc] enabled = false).
func (c *Client) ConsolesWith(a ConsoleAuth) { c.consoles = a }

// RemoteConsole asks the instance's host where its VNC server listens
// (get_vnc_console, a call) and returns a console URL whose token leads
// there. Only noVNC is served: xvpvnc is an invalid type, as in nova since
// its XVP proxy went away, and the SPICE, serial and MKS consoles, which
// this cloud runs no proxy for, are unavailable types (400 both).
func (c *Client) RemoteConsole(ctx context.Context, inst compute.Instance, protocol, kind string) (string, error) {
	if protocol != "vnc" || c.consoles == nil {
		return "", &compute.Error{Kind: compute.ErrInvalid, Message: fmt.Sprintf("Unavailable console type %s.", kind)}
	}
	if kind != "novnc" {
		return "", &compute.Error{Kind: compute.ErrInvalid, Message: fmt.Sprintf("Invalid console type %s", kind)}
	}
	if c.hosts != nil && !c.hosts.HostUp(inst.Host) {
		return "", hostError(inst.Host, bus.ErrNoRoute)
	}
	r, err := c.vncConsole(ctx, inst)
	switch {
	case errors.Is(err, rpc.ErrInstanceNotFound) && inst.VMState == compute.VMBuilding:
		return "", &compute.Error{Kind: compute.ErrConflict, Message: fmt.Sprintf("Instance %s is not ready.", inst.UUID)}
	case errors.Is(err, rpc.ErrInstanceNotFound):
		return "", &compute.Error{Kind: compute.ErrNotFound, Message: fmt.Sprintf("Instance %s could not be found.", inst.UUID)}
	case errors.Is(err, rpc.ErrInvalidState):
		return "", &compute.Error{Kind: compute.ErrConflict, Message: fmt.Sprintf("Cannot 'get_vnc_console' instance %s "+
			"while it is in vm_state %s: its guest is not running.", inst.UUID, inst.VMState)}
	case errors.Is(err, rpc.ErrNotSupported):
		return "", &compute.Error{Kind: compute.ErrInvalid, Message: fmt.Sprintf("Unavailable console type %s.", kind)}
	case err != nil:
		return "", hostError(inst.Host, err)
	}
	url, err := c.consoles.AuthorizeConsole(ctx, inst.UUID, kind, r.Host, r.Port)
	if err != nil {
		return "", fmt.Errorf("authorize the console of instance %s: %w", inst.UUID, err)
	}
	return url, nil
}

// vncConsole calls get_vnc_console on the instance's host.
func (c *Client) vncConsole(ctx context.Context, inst compute.Instance) (rpc.VNCConsoleReply, error) {
	return bus.Call(rpcContext(ctx), c.bus, computeTarget(inst.Host), rpc.GetVNCConsole,
		rpc.InstanceRequest{InstanceUUID: inst.UUID})
}

// ValidateConsolePort tells whether host:port is still where the
// instance's VNC server listens. The console proxy asks before it connects,
// as nova's asks the compute host (validate_console_port): a guest stopped
// or restarted since its token was issued may have left the port to
// another guest.
func (c *Client) ValidateConsolePort(ctx context.Context, inst compute.Instance, host string, port int) (bool, error) {
	if inst.Host == "" {
		return false, nil
	}
	if c.hosts != nil && !c.hosts.HostUp(inst.Host) {
		return false, fmt.Errorf("get the vnc console of instance %s: %w", inst.UUID, hostError(inst.Host, bus.ErrNoRoute))
	}
	r, err := c.vncConsole(ctx, inst)
	switch {
	case errors.Is(err, rpc.ErrInstanceNotFound), errors.Is(err, rpc.ErrInvalidState), errors.Is(err, rpc.ErrNotSupported):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("get the vnc console of instance %s on %s: %w", inst.UUID, inst.Host, err)
	}
	return r.Host == host && r.Port == port, nil
}
