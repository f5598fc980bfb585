package compute

import "context"

// PlacementAggregates mirrors host aggregate membership into placement, as
// nova's compute API does through its report client: a host in a host
// aggregate has its compute node's resource provider in the placement
// aggregate of the same uuid, so that allocation candidates can be asked
// for with member_of (nova's aggregate-based request filters). Only
// membership is mirrored; metadata, the availability zone included, stays
// with the compute API.
type PlacementAggregates interface {
	// AggregateAddHost puts the resource provider of host's compute node
	// into the placement aggregate aggregateUUID, keeping its others.
	AggregateAddHost(ctx context.Context, aggregateUUID, host string) error
	// AggregateRemoveHost takes it out again, keeping its others.
	AggregateRemoveHost(ctx context.Context, aggregateUUID, host string) error
}

// mirrorAggregateHost tells placement that host joined (or left) the
// aggregate. As in nova, a failure does not fail the API call, which has
// changed the host aggregate already: it is logged, as a warning naming
// the host and the aggregate, for the operator to mirror by hand.
func (s *Service) mirrorAggregateHost(ctx context.Context, a Aggregate, host string, add bool) {
	if s.placementAggregates == nil || a.UUID == "" {
		return
	}
	mirror, verb := s.placementAggregates.AggregateAddHost, "associate"
	if !add {
		mirror, verb = s.placementAggregates.AggregateRemoveHost, "disassociate"
	}
	if err := mirror(ctx, a.UUID, host); err != nil {
		s.log.WarnContext(ctx, "failed to "+verb+" a compute node with a placement aggregate",
			"aggregate_id", a.ID, "aggregate_uuid", a.UUID, "host", host, "error", err)
	}
}
