package app

import (
	"context"
	"log/slog"
	"maps"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/compute"
	"github.com/nimbus-cloud/nimbus/internal/scheduler"
	"github.com/nimbus-cloud/nimbus/internal/schedulerd"
)

// serverGroupCounters counts server groups for the compute quotas, on a
// store that keeps them.
func serverGroupCounters(store compute.Store) []compute.UsageCounter {
	if c := compute.ServerGroupCounter(store); c != nil {
		return []compute.UsageCounter{c}
	}
	return nil
}

// schedulerGroups gives the scheduler the server group of the instances it
// places, with where the group's members run, from the compute API's
// records (nova's scheduler reads the API database the same way).
type schedulerGroups struct{ svc *compute.Service }

func (g schedulerGroups) InstanceGroup(ctx context.Context, instanceUUID string) (*scheduler.ServerGroup, error) {
	grp, members, ok, err := g.svc.SchedulingGroup(ctx, instanceUUID)
	if err != nil || !ok {
		return nil, err
	}
	out := &scheduler.ServerGroup{UUID: grp.UUID, Policy: grp.Policy,
		MaxServerPerHost: grp.Rules[compute.RuleMaxServerPerHost]}
	for _, m := range members {
		out.Members = append(out.Members, scheduler.InstanceRef{UUID: m.InstanceUUID, Host: m.Host})
	}
	return out, nil
}

// zonesTTL bounds how long another process's change to an aggregate's
// zone or hosts takes to show in this one.
const zonesTTL = 10 * time.Second

// zonedServices puts compute services in the zones of their hosts'
// aggregates; nil stays nil (no service group, no servers).
func zonedServices(dir compute.ServiceDirectory, store compute.Store, log *slog.Logger) compute.ServiceDirectory {
	if dir == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return compute.NewZonedServices(ctx, dir, func(ctx context.Context) (map[string][]compute.Aggregate, error) {
		return compute.AggregatesByHost(ctx, store)
	}, zonesTTL, log)
}

// schedulerAggregates gives the scheduler each host's aggregates, with
// their metadata, and the zone they put the host in.
type schedulerAggregates struct{ svc *compute.Service }

func (a schedulerAggregates) HostAggregates(ctx context.Context) (map[string]schedulerd.HostAggregates, error) {
	byHost, err := a.svc.HostAggregates(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]schedulerd.HostAggregates, len(byHost))
	for host, aggs := range byHost {
		ha := schedulerd.HostAggregates{Zone: compute.HostZone(aggs, "")}
		for _, ag := range aggs {
			ha.Aggregates = append(ha.Aggregates, scheduler.Aggregate{Name: ag.Name, Metadata: maps.Clone(ag.Metadata)})
		}
		out[host] = ha
	}
	return out, nil
}

// AggregatesVersion lets the scheduler keep the aggregates between
// decisions until they change.
func (a schedulerAggregates) AggregatesVersion() uint64 { return a.svc.AggregatesVersion() }

var _ schedulerd.VersionedAggregates = schedulerAggregates{}

// computeZoneOf returns the zone the aggregates put a compute host in, read
// from the zoned service list (kept in memory, refreshed on aggregate
// changes); "" when the host has none.
func computeZoneOf(dir compute.ServiceDirectory) func(host string) string {
	return func(host string) string {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		recs, err := dir.Services(ctx)
		if err != nil {
			return ""
		}
		for _, r := range recs {
			if r.Host == host && r.Binary == "nova-compute" {
				return r.Zone
			}
		}
		return ""
	}
}
