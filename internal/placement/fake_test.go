package placement_test

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/auth"
	"github.com/nimbus-cloud/nimbus/internal/placement"
)

// fakeCloud is an in-memory cloud of providers for the allocation candidate
// search: the reads placement.CandidateReader names, answered from slices.
// It answers only the reads the search makes; any other store method panics
// through the embedded nil Tx, so a test that strays fails loudly.
type fakeCloud struct {
	placement.Tx
	t         testing.TB
	providers []fakeRP
	classes   map[string]int
	traits    map[string]int64
}

type fakeRP struct {
	id, parent, root int64
	uuid             string
	inv              map[int]placement.CapacityRow
	traits           []int64
	aggs             []string
}

func newFakeCloud(t testing.TB) *fakeCloud {
	f := &fakeCloud{t: t, classes: map[string]int{}, traits: map[string]int64{}}
	for i, n := range placement.StandardResourceClasses {
		f.classes[n] = i
	}
	f.classes["CUSTOM_MAGIC"] = placement.MinCustomClassID
	for i, n := range placement.StandardTraits {
		f.traits[n] = int64(i + 1)
	}
	f.traits["CUSTOM_FOO"] = 1000
	return f
}

// add creates a provider named uuid under parent ("" for a root).
func (f *fakeCloud) add(uuid, parent string) *fakeRP {
	id := int64(len(f.providers) + 1)
	rp := fakeRP{id: id, root: id, uuid: uuid, inv: map[int]placement.CapacityRow{}}
	if parent != "" {
		p := f.get(parent)
		rp.parent, rp.root = p.id, p.root
	}
	f.providers = append(f.providers, rp)
	return &f.providers[len(f.providers)-1]
}

func (f *fakeCloud) get(uuid string) *fakeRP {
	for i := range f.providers {
		if f.providers[i].uuid == uuid {
			return &f.providers[i]
		}
	}
	f.t.Fatalf("no provider %s", uuid)
	return nil
}

// inv gives a provider an inventory of total (ratio 1, any unit) with used allocated.
func (f *fakeCloud) inv(uuid, class string, total, used int64) {
	rp := f.get(uuid)
	rp.inv[f.classes[class]] = placement.CapacityRow{ProviderID: rp.id, RootID: rp.root, ClassID: f.classes[class],
		Total: total, MinUnit: 1, MaxUnit: total, StepSize: 1, AllocationRatio: 1, Used: used}
}

func (f *fakeCloud) trait(uuid string, names ...string) {
	rp := f.get(uuid)
	for _, n := range names {
		rp.traits = append(rp.traits, f.traits[n])
	}
}

func (f *fakeCloud) agg(uuid string, aggs ...string) {
	rp := f.get(uuid)
	rp.aggs = append(rp.aggs, aggs...)
}

func (f *fakeCloud) Reader() placement.Reader { return f }

func (f *fakeCloud) Update(context.Context, func(placement.Tx) error) error {
	return fmt.Errorf("fake cloud is read-only")
}

func (f *fakeCloud) ClassIDs(_ context.Context, names []string) (map[string]int, error) {
	out := map[string]int{}
	for _, n := range names {
		if id, ok := f.classes[n]; ok {
			out[n] = id
		}
	}
	return out, nil
}

func (f *fakeCloud) Classes(context.Context) ([]placement.ResourceClass, error) {
	var out []placement.ResourceClass
	for n, id := range f.classes {
		out = append(out, placement.ResourceClass{ID: id, Name: n})
	}
	return out, nil
}

func (f *fakeCloud) TraitIDs(_ context.Context, names []string) (map[string]int64, error) {
	out := map[string]int64{}
	for _, n := range names {
		if id, ok := f.traits[n]; ok {
			out[n] = id
		}
	}
	return out, nil
}

func (f *fakeCloud) Provider(_ context.Context, uuid string) (placement.Provider, error) {
	for _, p := range f.providers {
		if p.uuid == uuid {
			return placement.Provider{ID: p.id, UUID: p.uuid, RootID: p.root, ParentID: p.parent}, nil
		}
	}
	return placement.Provider{}, placement.ErrNotFound
}

func (f *fakeCloud) HasNestedProviders(context.Context) (bool, error) {
	return slices.ContainsFunc(f.providers, func(p fakeRP) bool { return p.parent != 0 }), nil
}

func (f *fakeCloud) ProviderTraitRows(_ context.Context, ids []int64) ([]placement.IDPair, error) {
	var out []placement.IDPair
	for _, p := range f.providers {
		for _, t := range p.traits {
			if slices.Contains(ids, t) {
				out = append(out, placement.IDPair{A: p.id, B: t})
			}
		}
	}
	return out, nil
}

func (f *fakeCloud) ProviderAggregateRows(_ context.Context, aggs []string) ([]placement.ProviderAggregate, error) {
	var out []placement.ProviderAggregate
	for _, p := range f.providers {
		for _, a := range p.aggs {
			if slices.Contains(aggs, a) {
				out = append(out, placement.ProviderAggregate{ProviderID: p.id, Aggregate: a})
			}
		}
	}
	return out, nil
}

func (f *fakeCloud) SharingAnchors(_ context.Context, ids []int64) ([]placement.IDPair, error) {
	var out []placement.IDPair
	for _, s := range f.providers {
		if !slices.Contains(ids, s.id) {
			continue
		}
		for _, o := range f.providers {
			if slices.ContainsFunc(o.aggs, func(a string) bool { return slices.Contains(s.aggs, a) }) {
				out = append(out, placement.IDPair{A: s.id, B: o.root})
			}
		}
	}
	return out, nil
}

func (f *fakeCloud) Capacities(_ context.Context, amounts []placement.ClassAmount, root int64) ([]placement.CapacityRow, error) {
	var out []placement.CapacityRow
	for _, p := range f.providers {
		if root != 0 && p.root != root {
			continue
		}
		for _, rc := range sortedInts(p.inv) {
			row := p.inv[rc]
			for _, a := range amounts {
				if a.ClassID == rc && float64(row.Used+a.Amount) <= float64(row.Total-row.Reserved)*row.AllocationRatio &&
					row.MinUnit <= a.Amount && row.MaxUnit >= a.Amount && a.Amount%row.StepSize == 0 {
					out = append(out, row)
					break
				}
			}
		}
	}
	return out, nil
}

func (f *fakeCloud) TreeProviders(_ context.Context, roots []int64) ([]placement.TreeNode, error) {
	var out []placement.TreeNode
	for _, p := range f.providers {
		if slices.Contains(roots, p.root) {
			out = append(out, placement.TreeNode{ID: p.id, ParentID: p.parent, RootID: p.root, UUID: p.uuid})
		}
	}
	return out, nil
}

func (f *fakeCloud) SummaryInventories(_ context.Context, ids []int64, except []int) ([]placement.SummaryRow, error) {
	var out []placement.SummaryRow
	for _, p := range f.providers {
		if !slices.Contains(ids, p.id) {
			continue
		}
		for _, rc := range sortedInts(p.inv) {
			if slices.Contains(except, rc) {
				continue
			}
			r := p.inv[rc]
			out = append(out, placement.SummaryRow{ProviderID: p.id, ClassID: rc, Total: r.Total, Reserved: r.Reserved,
				AllocationRatio: r.AllocationRatio, Used: r.Used})
		}
	}
	return out, nil
}

func (f *fakeCloud) SummaryTraits(_ context.Context, ids []int64) ([]placement.ProviderTraitName, error) {
	var out []placement.ProviderTraitName
	for _, p := range f.providers {
		if !slices.Contains(ids, p.id) {
			continue
		}
		for _, t := range p.traits {
			for n, id := range f.traits {
				if id == t {
					out = append(out, placement.ProviderTraitName{ProviderID: p.id, Trait: n})
				}
			}
		}
	}
	return out, nil
}

// RoomyProviders is the flat search: providers with room for every amount
// that pass the filters, in id order.
func (f *fakeCloud) RoomyProviders(ctx context.Context, rf placement.RoomFilter) (placement.RoomyResult, error) {
	var res placement.RoomyResult
	for _, p := range f.providers {
		if rf.Limit > 0 && len(res.Nodes) == rf.Limit {
			break
		}
		if rf.TreeRoot != 0 && p.root != rf.TreeRoot || !f.passes(p, rf) {
			continue
		}
		var rows []placement.ClassCapacity
		ok := true
		for _, a := range rf.Amounts {
			r, has := p.inv[a.ClassID]
			if !has || float64(r.Used+a.Amount) > float64(r.Total-r.Reserved)*r.AllocationRatio || a.Amount > r.MaxUnit ||
				a.Amount < r.MinUnit || a.Amount%r.StepSize != 0 {
				ok = false
				break
			}
			rows = append(rows, placement.ClassCapacity{ClassID: a.ClassID,
				Capacity: int64(float64(r.Total-r.Reserved) * r.AllocationRatio), Used: r.Used})
		}
		if ok {
			res.Nodes = append(res.Nodes, placement.TreeNode{ID: p.id, RootID: p.root, UUID: p.uuid})
			res.Inventories = append(res.Inventories, rows...)
			res.InventoryCounts = append(res.InventoryCounts, len(p.inv))
			if rf.WithTraits {
				res.Traits = append(res.Traits, slices.Sorted(slices.Values(p.traits)))
			}
		}
	}
	return res, nil
}

func (f *fakeCloud) TraitNames(_ context.Context, ids []int64) (map[int64]string, error) {
	out := map[int64]string{}
	for n, id := range f.traits {
		if slices.Contains(ids, id) {
			out[id] = n
		}
	}
	return out, nil
}

func (f *fakeCloud) passes(p fakeRP, rf placement.RoomFilter) bool {
	for _, anyOf := range rf.RequiredTraits {
		if !slices.ContainsFunc(anyOf, func(t int64) bool { return slices.Contains(p.traits, t) }) {
			return false
		}
	}
	for _, t := range rf.ForbiddenTraits {
		if slices.Contains(p.traits, t) {
			return false
		}
	}
	for _, anyOf := range rf.MemberOf {
		if !slices.ContainsFunc(anyOf, func(a string) bool { return slices.Contains(p.aggs, a) }) {
			return false
		}
	}
	return !slices.ContainsFunc(rf.ForbiddenAggs, func(a string) bool { return slices.Contains(p.aggs, a) })
}

func sortedInts[V any](m map[int]V) []int {
	out := make([]int, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Ints(out)
	return out
}

// admin is a context with an administrator calling.
func admin() context.Context {
	return auth.WithCaller(context.Background(), &auth.Caller{UserID: "u", ProjectID: "p", Roles: []auth.Role{{Name: "admin"}}})
}
