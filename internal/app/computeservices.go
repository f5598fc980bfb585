package app

import (
	"context"
	"fmt"

	"github.com/nimbus-cloud/nimbus/internal/compute"
	"github.com/nimbus-cloud/nimbus/internal/conductor"
)

// The service group, as operators manage it through os-services and see
// it through os-hypervisors: serviceDirectory is also compute.ServiceAdmin.
var _ compute.ServiceAdmin = serviceDirectory{}

func (d serviceDirectory) ServiceStates(ctx context.Context) ([]compute.ServiceState, error) {
	svcs := d.reg.Services()
	out := make([]compute.ServiceState, len(svcs))
	for i, s := range svcs {
		out[i] = serviceState(s)
	}
	return out, nil
}

func serviceState(s conductor.ServiceStatus) compute.ServiceState {
	st := compute.ServiceState{ID: s.ID, UUID: s.UUID, Host: s.Host, Binary: s.Binary, Zone: s.Zone,
		Disabled: s.Disabled, DisabledReason: s.DisabledReason, ForcedDown: s.ForcedDown, Up: s.Up,
		UpdatedAt: s.LastSeen}
	if n := s.Node; n != nil {
		cpu := map[string]any{"arch": n.CPUInfo.Arch, "features": n.CPUInfo.Features,
			"topology": map[string]any{"sockets": n.CPUInfo.Sockets, "cores": n.CPUInfo.Cores,
				"threads": n.CPUInfo.Threads}}
		if n.CPUInfo.Vendor != "" {
			cpu["vendor"] = n.CPUInfo.Vendor
		}
		if n.CPUInfo.Model != "" {
			cpu["model"] = n.CPUInfo.Model
		}
		if n.CPUInfo.Features == nil {
			cpu["features"] = []string{}
		}
		st.Node = &compute.HypervisorNode{UUID: n.ProviderUUID, Hostname: n.Node, Type: n.HypervisorType,
			Version: n.HypervisorVersion, HostIP: n.HostIP, VCPUs: n.VCPUs, VCPUsUsed: n.VCPUsUsed,
			MemoryMB: n.MemoryMB, MemUsed: n.MemoryMBUsed, LocalGB: n.LocalGB, DiskUsed: n.LocalGBUsed, CPUInfo: cpu,
			BootedAt: n.BootedAt}
	}
	return st
}

func (d serviceDirectory) SetServiceDisabled(ctx context.Context, host, binary string, disabled bool, reason string) error {
	if !d.reg.SetDisabled(host, binary, disabled, reason) {
		return fmt.Errorf("service %s on %s: %w", binary, host, compute.ErrNotFound)
	}
	return nil
}

func (d serviceDirectory) SetServiceForcedDown(ctx context.Context, host, binary string, down bool) error {
	if !d.reg.SetForcedDown(host, binary, down) {
		return fmt.Errorf("service %s on %s: %w", binary, host, compute.ErrNotFound)
	}
	return nil
}

func (d serviceDirectory) RemoveService(ctx context.Context, host, binary string) error {
	if !d.reg.Remove(host, binary) {
		return fmt.Errorf("service %s on %s: %w", binary, host, compute.ErrNotFound)
	}
	return nil
}
