package computesql_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/compute"
	"github.com/nimbus-cloud/nimbus/internal/compute/computesql"
)

func TestAggregates(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *computesql.Store) {
		ctx := context.Background()
		a, err := s.CreateAggregate(ctx, compute.Aggregate{UUID: "a-1", Name: "rack1", CreatedAt: base,
			Metadata: map[string]string{compute.AggregateZoneKey: "az1"}})
		if err != nil {
			t.Fatal(err)
		}
		if a.ID == 0 || a.UpdatedAt != nil || !a.CreatedAt.Equal(base) || *a.Zone() != "az1" || len(a.Hosts) != 0 {
			t.Errorf("created %+v", a)
		}
		if _, err := s.CreateAggregate(ctx, compute.Aggregate{UUID: "a-2", Name: "rack1", CreatedAt: base}); !errors.Is(err, compute.ErrConflict) {
			t.Errorf("same name: %v; want ErrConflict", err)
		}
		b, err := s.CreateAggregate(ctx, compute.Aggregate{UUID: "a-3", Name: "rack2", CreatedAt: base})
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range []string{"h2", "h1"} {
			if err := s.AddAggregateHost(ctx, a.ID, h); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.AddAggregateHost(ctx, a.ID, "h1"); !errors.Is(err, compute.ErrConflict) {
			t.Errorf("add twice: %v; want ErrConflict", err)
		}
		if err := s.AddAggregateHost(ctx, 9999, "h1"); !errors.Is(err, compute.ErrNotFound) {
			t.Errorf("add to a missing aggregate: %v; want ErrNotFound", err)
		}
		at := base.Add(time.Hour)
		md := map[string]string{compute.AggregateZoneKey: "az2", "ssd": "true"}
		u, err := s.UpdateAggregate(ctx, a.ID, "rack-one", md, at)
		if err != nil {
			t.Fatal(err)
		}
		if u.Name != "rack-one" || u.UpdatedAt == nil || !u.UpdatedAt.Equal(at) || !maps.Equal(u.Metadata, md) ||
			!slices.Equal(u.Hosts, []string{"h1", "h2"}) {
			t.Errorf("updated %+v", u)
		}
		if _, err := s.UpdateAggregate(ctx, b.ID, "rack-one", nil, at); !errors.Is(err, compute.ErrConflict) {
			t.Errorf("rename onto another's name: %v; want ErrConflict", err)
		}
		all, err := s.ListAggregates(ctx)
		if err != nil || len(all) != 2 || all[0].Name != "rack-one" || len(all[0].Hosts) != 2 || all[1].Name != "rack2" ||
			len(all[1].Metadata) != 0 {
			t.Errorf("list %+v, %v", all, err)
		}
		if err := s.DeleteAggregate(ctx, a.ID); !errors.Is(err, compute.ErrInUse) {
			t.Errorf("delete with hosts: %v; want ErrInUse", err)
		}
		if err := s.RemoveAggregateHost(ctx, a.ID, "h3"); !errors.Is(err, compute.ErrNotFound) {
			t.Errorf("remove a host not in it: %v; want ErrNotFound", err)
		}
		for _, h := range []string{"h1", "h2"} {
			if err := s.RemoveAggregateHost(ctx, a.ID, h); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.DeleteAggregate(ctx, a.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetAggregate(ctx, a.ID); !errors.Is(err, compute.ErrNotFound) {
			t.Errorf("get deleted: %v", err)
		}
		if err := s.DeleteAggregate(ctx, a.ID); !errors.Is(err, compute.ErrNotFound) {
			t.Errorf("delete twice: %v", err)
		}
	})
}
