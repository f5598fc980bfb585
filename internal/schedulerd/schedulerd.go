// Package schedulerd is the scheduler service: it answers
// select_destinations on the scheduler topic, as nova-scheduler does. For
// each request it asks placement for allocation candidates, builds the
// scheduler's host states from their provider summaries and the compute
// services' records, lets the pure scheduler filter and weigh them, and
// claims each chosen host's resources in placement, taking the next
// alternate when placement refuses a claim.
//
// One process makes one decision at a time: reading candidates, choosing
// and claiming happen under one lock, so concurrent requests see each
// other's claims and spread rather than pile onto the host that looked
// best to all of them. Several scheduler processes stay correct (placement
// refuses a claim that no longer fits, and the next alternate is taken),
// only less evenly spread.
package schedulerd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/bus"
	"github.com/nimbus-cloud/nimbus/internal/rpc"
	"github.com/nimbus-cloud/nimbus/internal/scheduler"
)

// Placement is what the scheduler asks of placement, through its REST API.
type Placement interface {
	// AllocationCandidates is GET /allocation_candidates.
	AllocationCandidates(ctx context.Context, q CandidateQuery) (Candidates, error)
	// Claim allocates for consumer as a new consumer (generation null);
	// false with a nil error is placement's refusal.
	Claim(ctx context.Context, consumer, projectID, userID string, alloc rpc.Allocation) (bool, error)
	// DeleteAllocations removes a consumer's allocations; none is no error.
	DeleteAllocations(ctx context.Context, consumer string) error
	// ProviderInventory reads a provider's inventories with their usage,
	// to explain why placement offered no candidate on it.
	ProviderInventory(ctx context.Context, uuid string) (map[string]scheduler.Inventory, error)
}

// CandidateQuery asks for providers that can take Resources.
type CandidateQuery struct {
	// Resources are amounts by resource class; zero amounts are left out.
	Resources map[string]int64
	// InTree restricts the candidates to one provider tree (one host).
	InTree string
	Limit  int
}

// Candidates are allocation candidates by the root provider (the compute
// node) they allocate from.
type Candidates struct {
	// Roots are the candidates by root provider uuid.
	Roots map[string]Candidate
}

// Candidate is one compute node placement offered: one allocation request
// in its tree, and its capacities and usage as placement summarised them
// (zero for a class it has no inventory of).
type Candidate struct {
	Allocation             rpc.Allocation
	VCPU, MemoryMB, DiskGB Capacity
}

// Capacity is one class of a provider summary.
type Capacity struct {
	Capacity int64
	Used     int64
}

// ComputeHost is a compute host as the service group records it.
type ComputeHost struct {
	Host, Node, ProviderUUID, Zone string
	Up, Disabled                   bool
	DisabledReason                 string
	HypervisorType                 string
	HypervisorVersion              int64
	CPUInfo                        scheduler.CPUInfo
	// Supported and Instances are read only: they may be the service
	// group's own.
	Supported []scheduler.SupportedInstance
	Instances []string
	// Aggregates are the host aggregates the host is in.
	Aggregates []scheduler.Aggregate
}

// Groups finds the server group an instance being placed is a member of,
// with the hosts of the group's members (nil when it is in none).
type Groups interface {
	InstanceGroup(ctx context.Context, instanceUUID string) (*scheduler.ServerGroup, error)
}

// Hosts lists the compute hosts.
type Hosts interface {
	ComputeHosts(ctx context.Context) ([]ComputeHost, error)
}

// Config holds the service's options.
type Config struct {
	// MaxPlacementResults bounds the candidates asked for
	// ([scheduler] max_placement_results).
	MaxPlacementResults int
	// MaxExplained bounds the hosts placement offered nothing on that a
	// NoValidHost answer looks into to name the resource that was short.
	MaxExplained int
	// AggregatesTTL bounds how long the answer of VersionedAggregates is
	// kept while their version stands; 0 is 10 seconds.
	AggregatesTTL time.Duration
}

// Service is the scheduler service.
type Service struct {
	cfg       Config
	sched     *scheduler.Scheduler
	placement Placement
	hosts     Hosts
	log       *slog.Logger
	dedupe    *bus.Dedupe

	// groups is nil when server group policies are not enforced.
	groups Groups
	// aggregates is nil when hosts are in no aggregates.
	aggregates Aggregates
	now        func() time.Time
	aggMu      sync.Mutex // guards aggCache
	aggCache   *aggregateCache

	// mu makes one decision at a time; see the package comment.
	mu sync.Mutex
	// states are the host states of the decision being made, kept for
	// the next one. Guarded by mu.
	states hostStates
	// placed remembers the hosts this process chose lately, by instance:
	// a member placed by the previous request may not have its host
	// recorded yet when the next member is scheduled. Guarded by mu.
	placed map[string]string
}

// New returns the scheduler service.
func New(cfg Config, sched *scheduler.Scheduler, p Placement, hosts Hosts, log *slog.Logger) *Service {
	if cfg.MaxPlacementResults <= 0 {
		cfg.MaxPlacementResults = 1000
	}
	if cfg.MaxExplained <= 0 {
		cfg.MaxExplained = 50
	}
	if cfg.AggregatesTTL <= 0 {
		cfg.AggregatesTTL = defaultAggregatesTTL
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{cfg: cfg, sched: sched, placement: p, hosts: hosts, log: log, dedupe: bus.NewDedupe(4096),
		placed: map[string]string{}, now: time.Now}
}

// UseGroups makes the scheduler enforce the server group policies of the
// instances it places, with g finding their groups. Call it before serving.
func (s *Service) UseGroups(g Groups) { s.groups = g }

// Endpoint is the scheduler's bus interface.
func (s *Service) Endpoint() *bus.Endpoint {
	ep := bus.NewEndpoint(rpc.NamespaceScheduler, rpc.SchedulerVersion)
	ep.Use(s.dedupe.Middleware)
	bus.Handle(ep, rpc.SelectDestinations, func(ctx context.Context, r rpc.SelectDestinationsRequest) (rpc.SelectDestinationsReply, error) {
		sels, err := s.SelectDestinations(ctx, r.Spec)
		return rpc.SelectDestinationsReply{Selections: sels}, err
	})
	return ep
}

// SelectDestinations places every instance of spec and claims its
// resources, or claims nothing and fails with NoValidHost.
func (s *Service) SelectDestinations(ctx context.Context, spec rpc.RequestSpec) ([]rpc.Selection, error) {
	start := time.Now()
	req := schedulerRequest(spec)
	need, err := req.Resources()
	if err != nil {
		return nil, rpc.Errorf(rpc.KindBadRequest, "%v", err)
	}
	hosts, err := s.hosts.ComputeHosts(ctx)
	if err != nil {
		return nil, fmt.Errorf("list compute hosts: %w", err)
	}
	if hosts, err = s.withAggregates(ctx, hosts); err != nil {
		return nil, err
	}
	if spec.Rebuild {
		return s.checkRebuild(spec, req, hosts)
	}
	q := CandidateQuery{Resources: map[string]int64{}, Limit: s.cfg.MaxPlacementResults}
	for class, n := range map[string]int64{"VCPU": need.VCPU, "MEMORY_MB": need.MemoryMB, "DISK_GB": need.DiskGB} {
		if n > 0 {
			q.Resources[class] = n
		}
	}
	if only := cmpOr(spec.ForcedHost, spec.RequestedHost); only != "" {
		i := slices.IndexFunc(hosts, func(h ComputeHost) bool { return h.Host == only })
		if i < 0 {
			return nil, rpc.Errorf(rpc.KindNoValidHost, "No valid host was found. Compute host %s could not be found.", only)
		}
		q.InTree = hosts[i].ProviderUUID
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.addGroup(ctx, &req); err != nil {
		return nil, err
	}
	cands, err := s.placement.AllocationCandidates(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("get allocation candidates: %w", err)
	}
	states, at := s.states.build(hosts, cands)
	chosen, err := s.sched.Select(req, states)
	if errors.Is(err, scheduler.ErrNoValidHost) {
		return nil, s.explain(ctx, req, states, missingHosts(hosts, cands), err)
	}
	if err != nil {
		return nil, rpc.Errorf(rpc.KindBadRequest, "%v", err)
	}
	out, err := s.claim(ctx, spec, chosen, hosts, at, cands)
	if err != nil {
		return nil, err
	}
	s.remember(out)
	s.log.DebugContext(ctx, "scheduled", "instances", len(out), "candidates", len(cands.Roots),
		"took", time.Since(start))
	return out, nil
}

// checkRebuild asks whether an instance's host suits its new image (nova
// runs the filters again for a rebuild with another image); nothing is
// claimed, the instance keeps what it holds.
func (s *Service) checkRebuild(spec rpc.RequestSpec, req scheduler.Request, hosts []ComputeHost) ([]rpc.Selection, error) {
	i := slices.IndexFunc(hosts, func(h ComputeHost) bool { return h.Host == spec.RequestedHost })
	if i < 0 || len(spec.InstanceUUIDs) != 1 {
		return nil, rpc.Errorf(rpc.KindNoValidHost, "No valid host was found. Compute host %s could not be found.",
			spec.RequestedHost)
	}
	req.Rebuild = true
	h := hosts[i]
	if _, err := s.sched.Select(req, []scheduler.HostState{hostState(h)}); err != nil {
		if errors.Is(err, scheduler.ErrNoValidHost) {
			return nil, rpc.Errorf(rpc.KindNoValidHost, "%s", err.Error())
		}
		return nil, rpc.Errorf(rpc.KindBadRequest, "%v", err)
	}
	return []rpc.Selection{{InstanceUUID: spec.InstanceUUIDs[0],
		Host: rpc.HostChoice{Host: h.Host, Node: h.Node, ProviderUUID: h.ProviderUUID}}}, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// schedulerRequest is the pure scheduler's form of a request spec.
func schedulerRequest(spec rpc.RequestSpec) scheduler.Request {
	f := spec.Flavor
	req := scheduler.Request{InstanceUUIDs: slices.Clone(spec.InstanceUUIDs), ProjectID: spec.ProjectID,
		Flavor: scheduler.Flavor{Name: f.Name, VCPUs: f.VCPUs, MemoryMB: f.MemoryMB, RootGB: f.RootGB,
			EphemeralGB: f.EphemeralGB, Swap: f.Swap, ExtraSpecs: maps.Clone(f.ExtraSpecs)},
		ImageProperties: maps.Clone(spec.Image.Properties), BootFromVolume: spec.BootFromVolume,
		AvailabilityZone: spec.AvailabilityZone, IgnoreHosts: slices.Clone(spec.IgnoreHosts)}
	if req.ImageProperties == nil {
		req.ImageProperties = map[string]string{}
	}
	for _, ih := range spec.SameHost {
		req.SameHost = append(req.SameHost, scheduler.InstanceRef{UUID: ih.UUID, Host: ih.Host})
	}
	for _, ih := range spec.DifferentHost {
		req.DifferentHost = append(req.DifferentHost, scheduler.InstanceRef{UUID: ih.UUID, Host: ih.Host})
	}
	if spec.ForcedHost != "" {
		req.ForceHosts = []string{spec.ForcedHost}
	}
	if spec.ForcedNode != "" {
		req.ForceNodes = []string{spec.ForcedNode}
	}
	if spec.RequestedHost != "" || spec.RequestedNode != "" {
		req.Destination = &scheduler.Destination{Host: spec.RequestedHost, Node: spec.RequestedNode}
	}
	return req
}

// explain answers a request no host could take. When placement offered no
// candidate on some hosts, it reads their inventories (up to MaxExplained)
// and selects again over every host, so the answer names the resource each
// host was short of as well as the filters that rejected the others.
func (s *Service) explain(ctx context.Context, req scheduler.Request, states []scheduler.HostState, missing []ComputeHost, first error) error {
	if len(missing) == 0 {
		return rpc.Errorf(rpc.KindNoValidHost, "%s", first.Error())
	}
	unexplained := 0
	for i, h := range missing {
		if i >= s.cfg.MaxExplained || h.ProviderUUID == "" {
			unexplained++
			continue
		}
		inv, err := s.placement.ProviderInventory(ctx, h.ProviderUUID)
		if err != nil {
			s.log.WarnContext(ctx, "read inventory to explain a NoValidHost", "host", h.Host, "error", err)
			unexplained++
			continue
		}
		st := hostState(h)
		st.VCPU, st.MemoryMB, st.DiskGB = inv["VCPU"], inv["MEMORY_MB"], inv["DISK_GB"]
		states = append(states, st)
	}
	_, err := s.sched.Select(req, states)
	if err == nil {
		// The hosts have room again: placement's view moved since the
		// candidates were read. The first answer stands.
		err = first
	}
	msg := err.Error()
	if unexplained > 0 {
		msg += fmt.Sprintf(" Placement had no room for the request on %d more %s.", unexplained,
			map[bool]string{true: "host", false: "hosts"}[unexplained == 1])
	}
	return rpc.Errorf(rpc.KindNoValidHost, "%s", msg)
}

// claim claims each selection's host in placement, in order; when
// placement refuses one (its capacity was taken by another scheduler), the
// next alternate is claimed instead. An instance that no host takes
// releases the claims made for the request and fails it.
func (s *Service) claim(ctx context.Context, spec rpc.RequestSpec, chosen []scheduler.Selection, hosts []ComputeHost, at []int, cands Candidates) ([]rpc.Selection, error) {
	choice := func(t scheduler.Target) rpc.HostChoice {
		h := &hosts[at[t.Index]]
		return rpc.HostChoice{Host: h.Host, Node: h.Node, ProviderUUID: h.ProviderUUID,
			Allocation: cands.Roots[h.ProviderUUID].Allocation}
	}
	out := make([]rpc.Selection, 0, len(chosen))
	release := func() {
		for _, sel := range out {
			if err := s.placement.DeleteAllocations(ctx, sel.InstanceUUID); err != nil {
				s.log.ErrorContext(ctx, "release a claim of a failed request", "instance_uuid", sel.InstanceUUID,
					"error", err)
			}
		}
	}
	for _, sel := range chosen {
		tries := append([]scheduler.Target{sel.Target}, sel.Alternates...)
		var refused []string
		claimed := -1
		for i, t := range tries {
			c := choice(t)
			ok, err := s.placement.Claim(ctx, sel.InstanceUUID, spec.ProjectID, spec.UserID, c.Allocation)
			if err != nil {
				release()
				return nil, fmt.Errorf("claim resources of instance %s on %s: %w", sel.InstanceUUID, c.Host, err)
			}
			if ok {
				claimed = i
				break
			}
			refused = append(refused, c.Host)
		}
		if claimed < 0 {
			release()
			return nil, rpc.Errorf(rpc.KindNoValidHost, "No valid host was found. Placement refused the claims of "+
				"instance %s on every host chosen (%v): their resources were taken meanwhile.", sel.InstanceUUID, refused)
		}
		r := rpc.Selection{InstanceUUID: sel.InstanceUUID, Host: choice(tries[claimed])}
		for i, t := range tries {
			if i != claimed && !slices.Contains(refused, hosts[at[t.Index]].Host) {
				r.Alternates = append(r.Alternates, choice(t))
			}
		}
		out = append(out, r)
	}
	return out, nil
}

// Run keeps the scheduler's own service record fresh until ctx ends.
func Run(ctx context.Context, host string, interval time.Duration, report func(rpc.ServiceReport)) {
	var count int64
	send := func() {
		count++
		report(rpc.ServiceReport{Host: host, Binary: rpc.BinaryScheduler, Version: rpc.SchedulerVersion,
			ReportCount: count, SentAt: time.Now().UTC()})
	}
	send()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			send()
		}
	}
}
