package schedulerd

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

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

// versionedAggregates counts its loads; version is what the test sets.
type versionedAggregates struct {
	byHost  map[string]HostAggregates
	version uint64
	loads   int
	err     error
}

func (a *versionedAggregates) HostAggregates(ctx context.Context) (map[string]HostAggregates, error) {
	a.loads++
	if a.err != nil {
		return nil, a.err
	}
	return a.byHost, nil
}

func (a *versionedAggregates) AggregatesVersion() uint64 { return a.version }

// Versioned aggregates are read again when their version moves or their
// answer is older than AggregatesTTL, not for every decision; failed reads
// are not kept.
func TestVersionedAggregatesAreKeptUntilTheyChange(t *testing.T) {
	t.Parallel()
	p := newFakePlacement("a", "b")
	sched, err := scheduler.New(scheduler.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	s := New(Config{AggregatesTTL: time.Minute}, sched, p, hosts("a", "b"), nil)
	clock := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return clock }
	az := func(zone string) HostAggregates {
		return HostAggregates{Zone: zone, Aggregates: []scheduler.Aggregate{{Name: zone, Metadata: map[string]string{"availability_zone": zone}}}}
	}
	aggs := &versionedAggregates{byHost: map[string]HostAggregates{"a": az("az1")}, version: 1}
	s.UseAggregates(aggs)
	n := 0
	place := func(zone string) (string, error) {
		t.Helper()
		n++
		sp := spec(fmt.Sprintf("i%d", n))
		sp.AvailabilityZone = zone
		sp.Flavor.VCPUs, sp.Flavor.MemoryMB, sp.Flavor.RootGB = 1, 256, 1
		sels, err := s.SelectDestinations(context.Background(), sp)
		if err != nil {
			return "", err
		}
		return sels[0].Host.Host, nil
	}
	for range 3 {
		if h, err := place("az1"); h != "a" {
			t.Fatalf("az1: %q, %v; want a", h, err)
		}
	}
	if aggs.loads != 1 {
		t.Fatalf("aggregates read %d times for three decisions; want once", aggs.loads)
	}

	// A change in this process moves the version: the next decision sees it.
	aggs.byHost, aggs.version = map[string]HostAggregates{"b": az("az1")}, 2
	if h, err := place("az1"); h != "b" || aggs.loads != 2 {
		t.Fatalf("after a change: %q, %v, %d reads; want b after a second read", h, err, aggs.loads)
	}
	// Another process's change shows once the answer is older than the TTL.
	aggs.byHost = map[string]HostAggregates{"a": az("az1")}
	if h, _ := place("az1"); h != "b" {
		t.Fatalf("within the TTL: %q; want b from the kept answer", h)
	}
	clock = clock.Add(time.Minute)
	if h, err := place("az1"); h != "a" || aggs.loads != 3 {
		t.Fatalf("after the TTL: %q, %v, %d reads; want a after a third read", h, err, aggs.loads)
	}
	// A failed read fails the decision and is not kept.
	aggs.err, aggs.version = errors.New("database gone"), 3
	if _, err := place("az1"); err == nil || !strings.Contains(err.Error(), "database gone") {
		t.Fatalf("failed read: %v", err)
	}
	aggs.err = nil
	if h, err := place("az1"); h != "a" || aggs.loads != 5 {
		t.Fatalf("after a failed read: %q, %v, %d reads; want a after a fifth read", h, err, aggs.loads)
	}
}
