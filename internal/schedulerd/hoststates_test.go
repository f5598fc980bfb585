package schedulerd

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/rpc"
	"github.com/nimbus-cloud/nimbus/internal/scheduler"
)

// changingHosts answers with whatever hosts the test set last.
type changingHosts struct{ now []ComputeHost }

func (h *changingHosts) ComputeHosts(context.Context) ([]ComputeHost, error) {
	return append([]ComputeHost(nil), h.now...), nil
}

// The service keeps its host states' memory from one decision to the
// next; each decision must still see the hosts as they are then: their
// instances, aggregates and zones, liveness, and which ones exist.
func TestDecisionsSeeTheHostsAsTheyAreNow(t *testing.T) {
	t.Parallel()
	opts := scheduler.DefaultOptions()
	opts.EnabledFilters = append(opts.EnabledFilters, "SameHostFilter")
	sched, err := scheduler.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	p := newFakePlacement("a", "b", "c")
	hs := &changingHosts{now: hosts("a", "b", "c")}
	hs.now[2].Instances = []string{"x1", "x2"}
	aggs := &fakeAggregates{byHost: map[string]HostAggregates{
		"b": {Zone: "az1", Aggregates: []scheduler.Aggregate{{Name: "r1", Metadata: map[string]string{"availability_zone": "az1"}}}}}}
	s := New(Config{}, sched, p, hs, nil)
	s.UseAggregates(aggs)
	decide := func(sp rpc.RequestSpec) (string, error) {
		t.Helper()
		sels, err := s.SelectDestinations(context.Background(), sp)
		if err != nil {
			return "", err
		}
		return sels[0].Host.Host, nil
	}
	noValidHost := func(err error, filter string) bool {
		var re *rpc.Error
		return errors.As(err, &re) && re.Kind == rpc.KindNoValidHost && strings.Contains(re.Message, filter)
	}

	sp := spec("i1")
	sp.AvailabilityZone = "az1"
	if h, err := decide(sp); h != "b" {
		t.Fatalf("az1: %q, %v; want b", h, err)
	}
	sp = spec("i2")
	sp.SameHost = []rpc.InstanceHost{{UUID: "x2"}}
	if h, err := decide(sp); h != "c" {
		t.Fatalf("same_host x2: %q, %v; want c", h, err)
	}

	// b leaves its aggregate, c's instances go, a is gone and the rest
	// come in another order.
	aggs.byHost = nil
	hs.now = hosts("c", "b")
	sp = spec("i3")
	sp.AvailabilityZone = "az1"
	if _, err := decide(sp); !noValidHost(err, "AvailabilityZoneFilter") {
		t.Fatalf("az1 without aggregates: %v; want NoValidHost naming AvailabilityZoneFilter", err)
	}
	sp = spec("i4")
	sp.SameHost = []rpc.InstanceHost{{UUID: "x2"}}
	if _, err := decide(sp); !noValidHost(err, "SameHostFilter") {
		t.Fatalf("same_host x2 once gone: %v; want NoValidHost naming SameHostFilter", err)
	}
	// c goes down: b takes the next instance, and the selection names b's
	// own provider.
	hs.now[0].Up = false
	sels, err := s.SelectDestinations(context.Background(), spec("i5"))
	if err != nil || sels[0].Host.Host != "b" || sels[0].Host.ProviderUUID != "rp-b" || len(sels[0].Alternates) != 0 {
		t.Fatalf("with c down: %+v, %v; want b alone", sels, err)
	}
}
