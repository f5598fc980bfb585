package schedulerd

import (
	"context"
	"fmt"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/scheduler"
)

// HostAggregates are the aggregates of one host and the zone they put it
// in ("" for none: the host keeps its service's zone).
type HostAggregates struct {
	Zone       string
	Aggregates []scheduler.Aggregate
}

// Aggregates gives the aggregates of every host that is in one.
type Aggregates interface {
	HostAggregates(ctx context.Context) (map[string]HostAggregates, error)
}

// VersionedAggregates are Aggregates that tell when they change:
// AggregatesVersion moves whenever an aggregate's hosts or metadata change
// in this process. The service then keeps their answer from one decision
// to the next while the version stands, for at most Config.AggregatesTTL,
// so that changes made by other processes show within it (nova's
// scheduler keeps aggregates in memory too).
type VersionedAggregates interface {
	Aggregates
	AggregatesVersion() uint64
}

// defaultAggregatesTTL is Config.AggregatesTTL's default.
const defaultAggregatesTTL = 10 * time.Second

// UseAggregates makes the hosts' aggregates reach the filters
// (AvailabilityZoneFilter, AggregateInstanceExtraSpecsFilter,
// AggregateMultiTenancyIsolation). Call it before serving.
func (s *Service) UseAggregates(a Aggregates) { s.aggregates = a }

// aggregateCache is the last answer of VersionedAggregates.
type aggregateCache struct {
	byHost   map[string]HostAggregates
	version  uint64
	loadedAt time.Time
}

// hostAggregates reads the aggregates, or answers from the cache while
// the version stands and the answer is younger than the TTL.
func (s *Service) hostAggregates(ctx context.Context) (map[string]HostAggregates, error) {
	va, versioned := s.aggregates.(VersionedAggregates)
	if !versioned {
		return s.aggregates.HostAggregates(ctx)
	}
	// The version is read before the aggregates, so that a change made
	// while they are read makes the next decision read them again.
	v := va.AggregatesVersion()
	now := s.now()
	s.aggMu.Lock()
	c := s.aggCache
	s.aggMu.Unlock()
	if c != nil && c.version == v && now.Sub(c.loadedAt) < s.cfg.AggregatesTTL {
		return c.byHost, nil
	}
	byHost, err := va.HostAggregates(ctx)
	if err != nil {
		return nil, err
	}
	s.aggMu.Lock()
	s.aggCache = &aggregateCache{byHost: byHost, version: v, loadedAt: now}
	s.aggMu.Unlock()
	return byHost, nil
}

// withAggregates puts each host in its aggregates and their zone. The
// aggregates may be shared with other decisions: filters only read them.
func (s *Service) withAggregates(ctx context.Context, hosts []ComputeHost) ([]ComputeHost, error) {
	if s.aggregates == nil {
		return hosts, nil
	}
	byHost, err := s.hostAggregates(ctx)
	if err != nil {
		return nil, fmt.Errorf("get host aggregates: %w", err)
	}
	for i, h := range hosts {
		ha, ok := byHost[h.Host]
		if !ok {
			continue
		}
		hosts[i].Aggregates = ha.Aggregates
		if ha.Zone != "" {
			hosts[i].Zone = ha.Zone
		}
	}
	return hosts, nil
}
