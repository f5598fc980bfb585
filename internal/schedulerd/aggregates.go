package schedulerd

import (
	"context"
	"fmt"

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

// UseAggregates makes the hosts' aggregates reach the filters
// (AvailabilityZoneFilter, AggregateInstanceExtraSpecsFilter,
// AggregateMultiTenancyIsolation). Call it before serving.
func (s *Service) UseAggregates(a Aggregates) { s.aggregates = a }

// withAggregates puts each host in its aggregates and their zone.
func (s *Service) withAggregates(ctx context.Context, hosts []ComputeHost) ([]ComputeHost, error) {
	if s.aggregates == nil {
		return hosts, nil
	}
	byHost, err := s.aggregates.HostAggregates(ctx)
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
