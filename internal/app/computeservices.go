package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/compute"
	"github.com/nimbus-cloud/nimbus/internal/compute/computesql"
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
	return groupErr(d.reg.SetDisabled(ctx, host, binary, disabled, reason))
}

func (d serviceDirectory) SetServiceForcedDown(ctx context.Context, host, binary string, down bool) error {
	return groupErr(d.reg.SetForcedDown(ctx, host, binary, down))
}

func (d serviceDirectory) RemoveService(ctx context.Context, host, binary string) error {
	return groupErr(d.reg.Remove(ctx, host, binary))
}

// groupErr speaks the service group's errors in the compute API's terms.
func groupErr(err error) error {
	if errors.Is(err, conductor.ErrServiceNotFound) {
		return fmt.Errorf("service %w: %w", compute.ErrNotFound, err)
	}
	return err
}

// serviceStore is the service group's store on the compute database.
type serviceStore struct{ s *computesql.Store }

var _ conductor.ServiceStore = serviceStore{}

func (st serviceStore) ListServices(ctx context.Context) ([]conductor.StoredService, error) {
	rows, err := st.s.ListServices(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]conductor.StoredService, len(rows))
	for i, r := range rows {
		out[i] = storedService(r)
	}
	return out, nil
}

func storedService(r computesql.ServiceRow) conductor.StoredService {
	return conductor.StoredService{ID: r.ID, UUID: r.UUID, Host: r.Host, Binary: r.Binary, Topic: r.Topic,
		ReportCount: r.ReportCount, Disabled: r.Disabled, DisabledReason: r.DisabledReason, ForcedDown: r.ForcedDown,
		Version: r.Version, LastSeenUp: r.LastSeenUp, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
		Node: conductor.StoredNode(r.Node)}
}

func (st serviceStore) CreateService(ctx context.Context, s conductor.StoredService) (conductor.StoredService, bool, error) {
	r, created, err := st.s.CreateService(ctx, computesql.ServiceRow{UUID: s.UUID, Host: s.Host, Binary: s.Binary,
		Topic: s.Topic, ReportCount: s.ReportCount, Disabled: s.Disabled, DisabledReason: s.DisabledReason,
		ForcedDown: s.ForcedDown, Version: s.Version, LastSeenUp: s.LastSeenUp, CreatedAt: s.CreatedAt})
	return storedService(r), created, err
}

func (st serviceStore) SetServiceDisabled(ctx context.Context, host, binary string, disabled bool, reason string, at time.Time) error {
	return storeErr(st.s.SetServiceDisabled(ctx, host, binary, disabled, reason, at))
}

func (st serviceStore) SetServiceForcedDown(ctx context.Context, host, binary string, down bool, at time.Time) error {
	return storeErr(st.s.SetServiceForcedDown(ctx, host, binary, down, at))
}

func (st serviceStore) RecordHeartbeats(ctx context.Context, hbs []conductor.Heartbeat) error {
	rows := make([]computesql.ServiceHeartbeat, len(hbs))
	for i, h := range hbs {
		rows[i] = computesql.ServiceHeartbeat{ID: h.ID, ReportCount: h.ReportCount, Version: h.Version,
			LastSeenUp: h.LastSeenUp, Node: computesql.ServiceNode(h.Node)}
	}
	return st.s.RecordHeartbeats(ctx, rows)
}

func (st serviceStore) DeleteService(ctx context.Context, host, binary string) error {
	return storeErr(st.s.DeleteService(ctx, host, binary))
}

// storeErr speaks the compute store's not found in the service group's terms.
func storeErr(err error) error {
	if errors.Is(err, compute.ErrNotFound) {
		return fmt.Errorf("%w: %w", conductor.ErrServiceNotFound, err)
	}
	return err
}
