package schedulerd

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/rpc"
	"github.com/nimbus-cloud/nimbus/internal/scheduler"
)

type fakeAggregates struct {
	byHost map[string]HostAggregates
	err    error
}

func (a fakeAggregates) HostAggregates(ctx context.Context) (map[string]HostAggregates, error) {
	return a.byHost, a.err
}

func TestAggregateZoneAndMetadataReachFilters(t *testing.T) {
	t.Parallel()
	opts := scheduler.DefaultOptions()
	opts.EnabledFilters = append(opts.EnabledFilters, "AggregateInstanceExtraSpecsFilter")
	sched, err := scheduler.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	p := newFakePlacement("a", "b", "c")
	s := New(Config{}, sched, p, hosts("a", "b", "c"), nil)
	s.UseAggregates(fakeAggregates{byHost: map[string]HostAggregates{
		"b": {Zone: "az1", Aggregates: []scheduler.Aggregate{{Name: "r1", Metadata: map[string]string{"availability_zone": "az1"}}}},
		"c": {Aggregates: []scheduler.Aggregate{{Name: "fast", Metadata: map[string]string{"ssd": "true"}}}},
	}})
	sp := spec("i1")
	sp.AvailabilityZone = "az1"
	sels, err := s.SelectDestinations(context.Background(), sp)
	if err != nil || sels[0].Host.Host != "b" {
		t.Fatalf("in az1: %v, %v; want host b", sels, err)
	}
	sp = spec("i2")
	sp.Flavor.ExtraSpecs = map[string]string{"aggregate_instance_extra_specs:ssd": "true"}
	sels, err = s.SelectDestinations(context.Background(), sp)
	if err != nil || sels[0].Host.Host != "c" {
		t.Fatalf("ssd: %v, %v; want host c", sels, err)
	}
	sp = spec("i3")
	sp.AvailabilityZone = "az2"
	_, err = s.SelectDestinations(context.Background(), sp)
	var re *rpc.Error
	if !errors.As(err, &re) || re.Kind != rpc.KindNoValidHost || !strings.Contains(re.Message, "AvailabilityZoneFilter") {
		t.Fatalf("az2: %v; want NoValidHost naming AvailabilityZoneFilter", err)
	}
}

func TestAggregateLookupFailure(t *testing.T) {
	t.Parallel()
	p := newFakePlacement("a")
	s := newService(t, p, hosts("a"))
	s.UseAggregates(fakeAggregates{err: errors.New("database gone")})
	if _, err := s.SelectDestinations(context.Background(), spec("i1")); err == nil || !strings.Contains(err.Error(), "database gone") {
		t.Fatalf("err %v; want the lookup's failure", err)
	}
}
