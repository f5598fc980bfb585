package compute

import (
	"context"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"
)

// Hypervisor is a compute host's node with its service, as os-hypervisors
// shows it.
type Hypervisor struct {
	Node    HypervisorNode
	Service ServiceState
	// RunningVMs counts the live instances on the host, CurrentWorkload
	// those of them with a task under way.
	RunningVMs, CurrentWorkload int
	// Servers are the host's instances, when asked for.
	Servers []Instance
}

// HypervisorQuery selects hypervisors for a list.
type HypervisorQuery struct {
	// Pattern keeps the hypervisors whose host name contains it (nova's
	// hypervisor_hostname LIKE %pattern%); nil keeps all. Paging and a
	// pattern do not mix.
	Pattern *string
	// Limit and Marker page the list by id (the uuid when ByUUID).
	Limit  *int
	Marker *string
	ByUUID bool
	// Detail selects os-hypervisors:list-detail; WithServers adds each
	// host's servers.
	Detail, WithServers bool
	// Unpaged lists every hypervisor, as microversions before 2.33 do;
	// otherwise a page holds at most max_limit.
	Unpaged bool
}

// HypervisorStats sums every hypervisor (os-hypervisors/statistics).
type HypervisorStats struct {
	Count, VCPUs, VCPUsUsed, RunningVMs, CurrentWorkload int
	MemoryMB, MemoryMBUsed, FreeRAMMB                    int64
	LocalGB, LocalGBUsed, FreeDiskGB, DiskAvailableLeast int64
}

// hypervisors lists every compute service that reported a node, by id.
func (s *Service) hypervisors(ctx context.Context) ([]Hypervisor, error) {
	all, err := s.states(ctx)
	if err != nil {
		return nil, err
	}
	var out []Hypervisor
	for _, st := range all {
		if st.Binary != BinaryCompute || st.Node == nil {
			continue
		}
		out = append(out, Hypervisor{Node: *st.Node, Service: st})
	}
	slices.SortFunc(out, func(a, b Hypervisor) int { return a.Service.ID - b.Service.ID })
	return out, nil
}

// withInstances counts each hypervisor's instances, and lists them with
// servers.
func (s *Service) withInstances(ctx context.Context, hs []Hypervisor, servers bool) error {
	for i := range hs {
		insts, err := s.instancesOnHost(ctx, hs[i].Service.Host, 0)
		if err != nil {
			return err
		}
		hs[i].RunningVMs = len(insts)
		for _, in := range insts {
			if in.TaskState != "" {
				hs[i].CurrentWorkload++
			}
		}
		if servers {
			hs[i].Servers = insts
		}
	}
	return nil
}

// hypervisorID is a hypervisor's id in the API: its uuid from 2.53, its
// integer id before.
func hypervisorID(h Hypervisor, byUUID bool) string {
	if byUUID {
		return h.Node.UUID
	}
	return strconv.Itoa(h.Service.ID)
}

// ListHypervisors lists hypervisors (os-hypervisors:list, or :list-detail
// with Detail).
func (s *Service) ListHypervisors(ctx context.Context, q HypervisorQuery) ([]Hypervisor, error) {
	rule := RuleHypervisorsList
	if q.Detail {
		rule = RuleHypervisorsDetail
	}
	if err := s.authorize(ctx, rule, map[string]any{}); err != nil {
		return nil, err
	}
	if q.Pattern != nil && (q.Limit != nil || q.Marker != nil) {
		return nil, errorf(ErrInvalid,
			"Paging over hypervisors with the hypervisor_hostname_pattern query parameter is not supported.")
	}
	hs, err := s.hypervisors(ctx)
	if err != nil {
		return nil, err
	}
	if q.Pattern != nil {
		if hs, err = matchHypervisors(hs, *q.Pattern); err != nil {
			return nil, err
		}
	}
	if q.Marker != nil {
		i := slices.IndexFunc(hs, func(h Hypervisor) bool { return hypervisorID(h, q.ByUUID) == *q.Marker })
		if i < 0 {
			return nil, errorf(ErrInvalid, "marker [%s] not found", *q.Marker)
		}
		hs = hs[i+1:]
	}
	limit := s.cfg.MaxLimit
	if q.Limit != nil && *q.Limit < limit {
		limit = *q.Limit
	}
	if !q.Unpaged && len(hs) > limit {
		hs = hs[:limit]
	}
	if q.Detail || q.WithServers {
		if err := s.withInstances(ctx, hs, q.WithServers); err != nil {
			return nil, err
		}
	}
	return hs, nil
}

// matchHypervisors keeps those whose host name contains pattern; none is
// nova's 404.
func matchHypervisors(hs []Hypervisor, pattern string) ([]Hypervisor, error) {
	hs = slices.DeleteFunc(hs, func(h Hypervisor) bool { return !strings.Contains(h.Node.Hostname, pattern) })
	if len(hs) == 0 {
		return nil, errorf(ErrNotFound, "No hypervisor matching '%s' could be found.", pattern)
	}
	return hs, nil
}

// SearchHypervisors lists the hypervisors whose host name contains
// pattern, with their servers when servers is set (the routes of
// microversions before 2.53: os-hypervisors:search and :servers).
func (s *Service) SearchHypervisors(ctx context.Context, pattern string, servers bool) ([]Hypervisor, error) {
	rule := RuleHypervisorsSearch
	if servers {
		rule = RuleHypervisorsServers
	}
	if err := s.authorize(ctx, rule, map[string]any{}); err != nil {
		return nil, err
	}
	hs, err := s.hypervisors(ctx)
	if err != nil {
		return nil, err
	}
	if hs, err = matchHypervisors(hs, pattern); err != nil {
		return nil, err
	}
	if servers {
		if err := s.withInstances(ctx, hs, true); err != nil {
			return nil, err
		}
	}
	return hs, nil
}

// GetHypervisor shows one hypervisor by its uuid (byUUID) or integer id
// (os-hypervisors:show).
func (s *Service) GetHypervisor(ctx context.Context, id string, byUUID, servers bool) (Hypervisor, error) {
	if err := s.authorize(ctx, RuleHypervisorsShow, map[string]any{}); err != nil {
		return Hypervisor{}, err
	}
	notFound := errorf(ErrNotFound, "Hypervisor with ID '%s' could not be found.", id)
	if byUUID {
		if uuid.Validate(id) != nil {
			return Hypervisor{}, errorf(ErrInvalid, "Invalid uuid %s", id)
		}
	} else if _, err := strconv.Atoi(id); err != nil {
		return Hypervisor{}, notFound
	}
	hs, err := s.hypervisors(ctx)
	if err != nil {
		return Hypervisor{}, err
	}
	i := slices.IndexFunc(hs, func(h Hypervisor) bool { return hypervisorID(h, byUUID) == id })
	if i < 0 {
		return Hypervisor{}, notFound
	}
	one := hs[i : i+1]
	if err := s.withInstances(ctx, one, servers); err != nil {
		return Hypervisor{}, err
	}
	return one[0], nil
}

// HypervisorStatistics sums every hypervisor (os-hypervisors:statistics).
func (s *Service) HypervisorStatistics(ctx context.Context) (HypervisorStats, error) {
	if err := s.authorize(ctx, RuleHypervisorsStats, map[string]any{}); err != nil {
		return HypervisorStats{}, err
	}
	hs, err := s.hypervisors(ctx)
	if err != nil {
		return HypervisorStats{}, err
	}
	if err := s.withInstances(ctx, hs, false); err != nil {
		return HypervisorStats{}, err
	}
	var st HypervisorStats
	for _, h := range hs {
		n := h.Node
		st.Count++
		st.VCPUs += n.VCPUs
		st.VCPUsUsed += n.VCPUsUsed
		st.MemoryMB += n.MemoryMB
		st.MemoryMBUsed += n.MemUsed
		st.FreeRAMMB += n.MemoryMB - n.MemUsed
		st.LocalGB += n.LocalGB
		st.LocalGBUsed += n.DiskUsed
		st.FreeDiskGB += n.LocalGB - n.DiskUsed
		st.DiskAvailableLeast += n.LocalGB - n.DiskUsed
		st.RunningVMs += h.RunningVMs
		st.CurrentWorkload += h.CurrentWorkload
	}
	return st, nil
}
