package compute_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/compute"
)

func TestZonedServices(t *testing.T) {
	t.Parallel()
	az := func(z string) map[string]string { return map[string]string{compute.AggregateZoneKey: z} }
	dir := directory{
		{Host: "h1", Binary: "nova-compute", Zone: "nova"},
		{Host: "h2", Binary: "nova-compute", Zone: "nova"},
		{Host: "h3", Binary: "nova-compute", Zone: "nova"},
		{Host: "h1", Binary: "nova-scheduler", Zone: "internal"},
	}
	aggs := map[string][]compute.Aggregate{
		"h1": {{Name: "zoneless", Metadata: map[string]string{"ssd": "true"}}, {Name: "r1", Metadata: az("az1")}},
		"h2": {{Name: "fast", Metadata: map[string]string{}}},
	}
	calls := 0
	z := compute.NewZonedServices(context.Background(), dir, func(context.Context) (map[string][]compute.Aggregate, error) {
		calls++
		return aggs, nil
	}, time.Hour, nil)
	recs, err := z.Services(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"az1", "nova", "nova", "internal"}
	for i, r := range recs {
		if r.Zone != want[i] {
			t.Errorf("%s %s in %q; want %q", r.Host, r.Binary, r.Zone, want[i])
		}
	}
	if dir[0].Zone != "nova" {
		t.Error("the directory's records were changed")
	}
	if calls != 1 {
		t.Errorf("aggregates loaded %d times; want once, listing answers from the snapshot", calls)
	}
	// A reload sees changes; a failed one keeps the last snapshot.
	aggs = map[string][]compute.Aggregate{"h3": {{Name: "r3", Metadata: az("az3")}}}
	if err := z.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	recs, _ = z.Services(context.Background())
	if recs[0].Zone != "nova" || recs[2].Zone != "az3" {
		t.Errorf("after refresh: %v", recs)
	}
	broken := compute.NewZonedServices(context.Background(), dir, func(context.Context) (map[string][]compute.Aggregate, error) {
		return nil, errors.New("gone")
	}, time.Hour, nil)
	if err := broken.Refresh(context.Background()); err == nil {
		t.Error("a failed load was not reported")
	}
	if recs, err := broken.Services(context.Background()); err != nil || recs[0].Zone != "nova" {
		t.Errorf("without aggregates: %v, %v; want the default zone", recs, err)
	}
}

func TestAggregateZone(t *testing.T) {
	t.Parallel()
	if z := (compute.Aggregate{Metadata: map[string]string{}}).Zone(); z != nil {
		t.Errorf("zone %v; want none", *z)
	}
	if got := compute.HostZone(nil, "nova"); got != "nova" {
		t.Errorf("HostZone of no aggregates = %q", got)
	}
	if got := compute.HostZone([]compute.Aggregate{{Metadata: map[string]string{compute.AggregateZoneKey: "az9"}}}, "nova"); got != "az9" {
		t.Errorf("HostZone = %q; want az9", got)
	}
}
