package computesql_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/compute"
	"github.com/nimbus-cloud/nimbus/internal/compute/computesql"
)

func TestInstancesInWindow(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *computesql.Store) {
		ctx := context.Background()
		h := func(n int) time.Time { return base.Add(time.Duration(n) * time.Hour) }
		// Launched and terminated hours after base: a lives 1-3, b 4-,
		// c 6-8, d never launched, e of project p2 lives 2-.
		for _, f := range []struct {
			n            int
			name, proj   string
			launch, term int
		}{{1, "a", "p1", 1, 3}, {2, "b", "p1", 4, -1}, {3, "c", "p1", 6, 8}, {4, "d", "p1", -1, -1}, {5, "e", "p2", 2, -1}} {
			inst := instance(f.n, f.name)
			inst.ProjectID = f.proj
			if f.launch >= 0 {
				inst.LaunchedAt = h(f.launch)
			}
			create(t, s, inst)
			if f.term >= 0 {
				if _, err := s.UpdateInstance(ctx, inst.UUID, func(i *compute.Instance) error {
					i.TerminatedAt, i.Deleted, i.DeletedAt, i.VMState = h(f.term), true, h(f.term), compute.VMDeleted
					return nil
				}, nil); err != nil {
					t.Fatal(err)
				}
			}
		}
		for _, tc := range []struct {
			name string
			w    compute.UsageWindow
			want []string
		}{
			{"everything", compute.UsageWindow{Start: h(0), End: h(10)}, []string{"a", "b", "c", "e"}},
			{"one project", compute.UsageWindow{Start: h(0), End: h(10), ProjectID: "p1"}, []string{"a", "b", "c"}},
			{"after a ended", compute.UsageWindow{Start: h(3), End: h(5)}, []string{"b", "e"}},
			{"before c launched", compute.UsageWindow{Start: h(5), End: h(6)}, []string{"b", "e"}},
			{"a page", compute.UsageWindow{Start: h(0), End: h(10), Limit: 2}, []string{"a", "b"}},
			{"after a marker", compute.UsageWindow{Start: h(0), End: h(10), Marker: instance(2, "b").UUID},
				[]string{"c", "e"}},
		} {
			got, err := s.InstancesInWindow(ctx, tc.w)
			if err != nil || !slices.Equal(uuids(got), tc.want) {
				t.Errorf("%s: %v, %v; want %v", tc.name, uuids(got), err, tc.want)
			}
		}
		if _, err := s.InstancesInWindow(ctx, compute.UsageWindow{Start: h(0), End: h(1), Marker: "nope"}); !errors.Is(err, compute.ErrMarkerNotFound) {
			t.Errorf("unknown marker: %v", err)
		}
	})
}
