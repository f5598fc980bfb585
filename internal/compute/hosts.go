package compute

import (
	"context"
	"errors"
	"slices"
	"strings"
)

// HostEntry is a host's service as the deprecated os-hosts lists it (before
// microversion 2.43): the host, the service's topic and its zone.
type HostEntry struct {
	HostName, Service, Zone string
}

// Hosts lists the enabled services of the service group by host (GET
// /os-hosts), in the zone when one is given.
func (s *Service) Hosts(ctx context.Context, zone string) ([]HostEntry, error) {
	if err := s.authorize(ctx, RuleHostsList, map[string]any{}); err != nil {
		return nil, err
	}
	all, err := s.states(ctx)
	if err != nil {
		return nil, err
	}
	out := []HostEntry{}
	for _, st := range all {
		if st.Disabled || (zone != "" && st.Zone != zone) {
			continue
		}
		out = append(out, HostEntry{HostName: st.Host, Service: strings.TrimPrefix(st.Binary, "nova-"), Zone: st.Zone})
	}
	return out, nil
}

// HostResource is one line of a host's resources (GET /os-hosts/{host}):
// Project is "(total)", "(used_now)", "(used_max)" or a project id.
type HostResource struct {
	Host, Project string
	CPU           int
	MemoryMB      int64
	DiskGB        int64
}

// HostResources shows a compute host's resources: its node's totals and
// use, what its instances' flavors add up to, and that per project.
func (s *Service) HostResources(ctx context.Context, host string) ([]HostResource, error) {
	if err := s.authorize(ctx, RuleHostsShow, map[string]any{}); err != nil {
		return nil, err
	}
	node, err := s.computeNode(ctx, host)
	if err != nil {
		return nil, err
	}
	n := node.Node
	out := []HostResource{
		{Host: host, Project: "(total)", CPU: n.VCPUs, MemoryMB: n.MemoryMB, DiskGB: n.LocalGB},
		{Host: host, Project: "(used_now)", CPU: n.VCPUsUsed, MemoryMB: n.MemUsed, DiskGB: n.DiskUsed},
	}
	insts, err := s.instancesOnHost(ctx, host, 0)
	if err != nil {
		return nil, err
	}
	max := HostResource{Host: host, Project: "(used_max)"}
	var projects []HostResource
	for _, in := range insts {
		f := in.Flavor
		disk := int64(f.RootGB + f.EphemeralGB)
		max.CPU, max.MemoryMB, max.DiskGB = max.CPU+f.VCPUs, max.MemoryMB+int64(f.MemoryMB), max.DiskGB+disk
		i := slices.IndexFunc(projects, func(r HostResource) bool { return r.Project == in.ProjectID })
		if i < 0 {
			projects = append(projects, HostResource{Host: host, Project: in.ProjectID})
			i = len(projects) - 1
		}
		p := &projects[i]
		p.CPU, p.MemoryMB, p.DiskGB = p.CPU+f.VCPUs, p.MemoryMB+int64(f.MemoryMB), p.DiskGB+disk
	}
	return append(append(out, max), projects...), nil
}

// computeNode is the compute service of a host that reported a node.
func (s *Service) computeNode(ctx context.Context, host string) (ServiceState, error) {
	all, err := s.states(ctx)
	if err != nil {
		return ServiceState{}, err
	}
	i := slices.IndexFunc(all, func(st ServiceState) bool {
		return st.Binary == BinaryCompute && st.Host == host && st.Node != nil
	})
	if i < 0 {
		return ServiceState{}, errorf(ErrNotFound, "Compute host %s could not be found.", host)
	}
	return all[i], nil
}

// ErrHostActionUnsupported is a host operation the host's driver does not
// carry out (nova's NotImplementedError, a 501): every driver but the fake
// one.
var ErrHostActionUnsupported = errors.New("the host's driver does not support this operation")

// fakeHypervisor is the hypervisor type of the fake driver, which answers
// host operations without doing them, as nova's fake driver does.
const fakeHypervisor = "fake"

// hostForAction finds the compute host of an os-hosts operation: unknown
// is nova's HostNotFound; a driver that cannot do it is
// ErrHostActionUnsupported.
func (s *Service) hostForAction(ctx context.Context, rule, host string) error {
	if err := s.authorize(ctx, rule, map[string]any{}); err != nil {
		return err
	}
	all, err := s.states(ctx)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(all, func(st ServiceState) bool { return st.Binary == BinaryCompute && st.Host == host })
	if i < 0 {
		return errorf(ErrNotFound, "Host %s could not be found.", host)
	}
	if n := all[i].Node; n == nil || n.Type != fakeHypervisor {
		return ErrHostActionUnsupported
	}
	return nil
}

// SetHostEnabled answers PUT /os-hosts/{host} status: "enabled" or
// "disabled", as the fake driver does (it changes nothing; os-services
// enables and disables hosts).
func (s *Service) SetHostEnabled(ctx context.Context, host string, enabled bool) (string, error) {
	if err := s.hostForAction(ctx, RuleHostsUpdate, host); err != nil {
		return "", err
	}
	if enabled {
		return "enabled", nil
	}
	return "disabled", nil
}

// SetHostMaintenance answers PUT /os-hosts/{host} maintenance_mode:
// "on_maintenance" or "off_maintenance", as the fake driver does.
func (s *Service) SetHostMaintenance(ctx context.Context, host string, on bool) (string, error) {
	if err := s.hostForAction(ctx, RuleHostsUpdate, host); err != nil {
		return "", err
	}
	if on {
		return "on_maintenance", nil
	}
	return "off_maintenance", nil
}

// HostPowerAction answers GET /os-hosts/{host}/startup, /shutdown and
// /reboot with the action, as the fake driver does.
func (s *Service) HostPowerAction(ctx context.Context, host, action string) (string, error) {
	rule := map[string]string{"startup": RuleHostsStart, "shutdown": RuleHostsShutdown, "reboot": RuleHostsReboot}[action]
	if err := s.hostForAction(ctx, rule, host); err != nil {
		return "", err
	}
	return action, nil
}
