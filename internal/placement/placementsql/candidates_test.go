package placementsql_test

import (
	"maps"
	"slices"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/db/dbtest"
	"github.com/nimbus-cloud/nimbus/internal/placement"
)

// TestFlatSearchMatchesTreeSearch checks the database's search of a flat
// cloud (one query, summaries from its rows) against the search in memory
// that the same providers get once the cloud has a nested tree: the same
// allocation requests in the same order, and the same summaries, with
// capacities truncated as placement computes them, classes not requested
// and long trait lists (longer than MySQL's default GROUP_CONCAT cut).
func TestFlatSearchMatchesTreeSearch(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		all, err := e.svc.ListTraits(e.ctx, placement.TraitFilter{})
		dbtest.Must(t, err)
		if len(all) < 300 {
			t.Fatalf("%d standard traits, want at least 300", len(all))
		}
		var names []string
		for _, tr := range all[:300] {
			names = append(names, tr.Name)
		}
		awkward := []struct {
			total, reserved int64
			ratio           float64
		}{{10, 3, 1.3}, {7, 0, 0.7}, {64, 1, 16}, {1000, 999, 1.5}, {9, 2, 2.2}}
		for i, a := range awkward {
			p := e.provider("cn"+string(rune('a'+i)), "", nil)
			invs := []placement.Inventory{
				{ResourceClass: "VCPU", Total: a.total, Reserved: a.reserved, MinUnit: 1, MaxUnit: a.total, StepSize: 1,
					AllocationRatio: a.ratio},
				placement.DefaultInventory("MEMORY_MB", 4096),
			}
			if i%2 == 0 {
				invs = append(invs, placement.DefaultInventory("PCPU", 8), placement.DefaultInventory("SRIOV_NET_VF", 4))
			}
			p, _, err = e.svc.SetInventories(e.ctx, p.UUID, p.Generation, invs, placement.InventoryOptions{})
			dbtest.Must(t, err)
			traits := names[i : i+3]
			if i == 1 {
				traits = names
			}
			_, _, err = e.svc.SetProviderTraits(e.ctx, p.UUID, p.Generation, traits)
			dbtest.Must(t, err)
		}
		limits := []int{0, 3}
		search := func() []placement.CandidateResult {
			var out []placement.CandidateResult
			for _, limit := range limits {
				req := placement.CandidateRequest{Groups: []placement.RequestGroup{{Resources: map[string]int64{"VCPU": 1,
					"MEMORY_MB": 512}}}, NestedAware: true, WithTraits: true, Limit: limit}
				res, err := e.svc.AllocationCandidates(e.ctx, req)
				dbtest.Must(t, err)
				out = append(out, res)
			}
			return out
		}
		flats := search()
		// A tree elsewhere, with nothing to offer, turns the search to memory.
		e.provider("child", e.provider("parent", "", nil).UUID, nil)
		trees := search()
		for k, limit := range limits {
			flat, tree := flats[k], trees[k]
			want := len(awkward)
			if limit > 0 {
				want = limit
			}
			if len(flat.Requests) != want || len(flat.Summaries) != want {
				t.Fatalf("limit %d: %d requests, %d summaries, want %d", limit, len(flat.Requests), len(flat.Summaries), want)
			}
			dbtest.Same(t, flat.Requests, tree.Requests)
			for i, s := range flat.Summaries {
				other := tree.Summaries[slices.IndexFunc(tree.Summaries, func(o placement.ProviderSummary) bool { return o.UUID == s.UUID })]
				if !maps.Equal(resourceMap(s), resourceMap(other)) || !slices.Equal(s.Traits, other.Traits) ||
					s.RootUUID != other.RootUUID || s.ParentUUID != other.ParentUUID {
					t.Errorf("limit %d: summary %d is %+v in a flat cloud, %+v searched in memory", limit, i, s, other)
				}
				_, invs, err := e.svc.Inventories(e.ctx, s.UUID)
				dbtest.Must(t, err)
				for _, inv := range invs {
					if got := resourceMap(s)[inv.ResourceClass]; got != inv.Capacity() {
						t.Errorf("%s of %s: capacity %d, want %d", inv.ResourceClass, s.UUID, got, inv.Capacity())
					}
				}
				_, traits, err := e.svc.ProviderTraits(e.ctx, s.UUID)
				dbtest.Must(t, err)
				if len(traits) != len(s.Traits) {
					t.Errorf("%s: %d traits in its summary, %d set", s.UUID, len(s.Traits), len(traits))
				}
			}
		}
	})
}

func resourceMap(s placement.ProviderSummary) map[string]int64 {
	out := map[string]int64{}
	for _, r := range s.Resources {
		out[r.ResourceClass] = r.Capacity
	}
	return out
}
