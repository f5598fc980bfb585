package placementsql_test

import (
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/db/dbtest"
	"github.com/nimbus-cloud/nimbus/internal/placement"
)

func TestProviderTree(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		root := e.provider("root", "", nil)
		child := e.provider("child", root.UUID, nil)
		grand := e.provider("grand", child.UUID, nil)
		if grand.RootUUID != root.UUID || grand.ParentUUID != child.UUID || root.RootUUID != root.UUID || root.ParentUUID != "" {
			t.Fatalf("tree: root %+v grand %+v", root, grand)
		}
		_, err := e.svc.CreateProvider(e.ctx, placement.NewProvider{Name: "root"})
		wantErr(t, err, placement.ErrConflict, placement.CodeDuplicateName, "name: root")
		_, err = e.svc.CreateProvider(e.ctx, placement.NewProvider{Name: "x", UUID: root.UUID})
		wantErr(t, err, placement.ErrConflict, placement.CodeDuplicateName, "uuid: "+root.UUID)
		_, err = e.svc.CreateProvider(e.ctx, placement.NewProvider{Name: "orphan", ParentUUID: uuid(99)})
		wantErr(t, err, placement.ErrBadRequest, "", "parent provider UUID does not exist")

		tree, err := e.svc.ListProviders(e.ctx, placement.ProviderQuery{InTree: grand.UUID})
		dbtest.Must(t, err)
		if len(tree) != 3 {
			t.Errorf("in_tree: %d providers, want 3", len(tree))
		}
		// Re-parenting needs 1.37; a loop never works.
		_, err = e.svc.UpdateProvider(e.ctx, grand.UUID, placement.ProviderUpdate{Name: "grand", SetParent: true, ParentUUID: root.UUID})
		wantErr(t, err, placement.ErrBadRequest, "", "re-parenting a provider is not currently allowed")
		_, err = e.svc.UpdateProvider(e.ctx, root.UUID, placement.ProviderUpdate{Name: "root", SetParent: true,
			ParentUUID: grand.UUID, AllowReparent: true})
		wantErr(t, err, placement.ErrBadRequest, "", "creating loop")
		// Making child a root moves grand into the new tree.
		moved, err := e.svc.UpdateProvider(e.ctx, child.UUID, placement.ProviderUpdate{Name: "child", SetParent: true, AllowReparent: true})
		dbtest.Must(t, err)
		g, err := e.svc.GetProvider(e.ctx, grand.UUID)
		dbtest.Must(t, err)
		if moved.RootUUID != child.UUID || g.RootUUID != child.UUID || moved.Generation != child.Generation {
			t.Errorf("after un-parenting: child %+v grand %+v; the generation must not change", moved, g)
		}
		err = e.svc.DeleteProvider(e.ctx, child.UUID)
		wantErr(t, err, placement.ErrConflict, placement.CodeProviderCannotDelete, "child resource providers")
		dbtest.Must(t, e.svc.DeleteProvider(e.ctx, grand.UUID))
		dbtest.Must(t, e.svc.DeleteProvider(e.ctx, child.UUID))
		_, err = e.svc.GetProvider(e.ctx, child.UUID)
		wantErr(t, err, placement.ErrNotFound, "", "")
	})
}

func TestProviderFilters(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		big := e.provider("big", "", map[string]int64{"VCPU": 16, "DISK_GB": 100})
		small := e.provider("small", "", map[string]int64{"VCPU": 2})
		_, _, err := e.svc.SetProviderTraits(e.ctx, big.UUID, big.Generation, []string{"HW_CPU_X86_AVX2", "HW_CPU_X86_SSE"})
		dbtest.Must(t, err)
		_, err = e.svc.SetProviderAggregates(e.ctx, small.UUID, nil, []string{uuid(1)})
		dbtest.Must(t, err)
		names := func(q placement.ProviderQuery) []string {
			t.Helper()
			ps, err := e.svc.ListProviders(e.ctx, q)
			dbtest.Must(t, err)
			var out []string
			for _, p := range ps {
				out = append(out, p.Name)
			}
			return out
		}
		cases := []struct {
			name string
			q    placement.ProviderQuery
			want []string
		}{
			{"all", placement.ProviderQuery{}, []string{"big", "small"}},
			{"name", placement.ProviderQuery{Name: "small"}, []string{"small"}},
			{"resources", placement.ProviderQuery{Resources: map[string]int64{"VCPU": 4}}, []string{"big"}},
			{"two resources", placement.ProviderQuery{Resources: map[string]int64{"VCPU": 1, "DISK_GB": 1}}, []string{"big"}},
			{"required", placement.ProviderQuery{RequiredTraits: [][]string{{"HW_CPU_X86_AVX2"}}}, []string{"big"}},
			{"any of", placement.ProviderQuery{RequiredTraits: [][]string{{"HW_CPU_X86_MMX", "HW_CPU_X86_SSE"}}}, []string{"big"}},
			{"forbidden", placement.ProviderQuery{ForbiddenTraits: []string{"HW_CPU_X86_AVX2"}}, []string{"small"}},
			{"member of", placement.ProviderQuery{MemberOf: [][]string{{uuid(1), uuid(2)}}}, []string{"small"}},
			{"not member of", placement.ProviderQuery{ForbiddenAggs: []string{uuid(1)}}, []string{"big"}},
			{"unknown tree", placement.ProviderQuery{InTree: uuid(99)}, nil},
		}
		for _, tc := range cases {
			if got := names(tc.q); !equal(got, tc.want) {
				t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
			}
		}
		_, err = e.svc.ListProviders(e.ctx, placement.ProviderQuery{Resources: map[string]int64{"CUSTOM_NOPE": 1}})
		wantErr(t, err, placement.ErrBadRequest, "", "No such resource class CUSTOM_NOPE")
		_, err = e.svc.ListProviders(e.ctx, placement.ProviderQuery{RequiredTraits: [][]string{{"CUSTOM_NOPE"}}})
		wantErr(t, err, placement.ErrBadRequest, "", "No such trait(s): CUSTOM_NOPE")
	})
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestClassesTraitsAggregates(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		rcs, err := e.svc.ListClasses(e.ctx)
		dbtest.Must(t, err)
		if len(rcs) != len(placement.StandardResourceClasses) || rcs[0].Name != "VCPU" {
			t.Fatalf("standard classes: %d, first %v", len(rcs), rcs[0])
		}
		rc, err := e.svc.CreateClass(e.ctx, "CUSTOM_GOLD")
		dbtest.Must(t, err)
		if rc.ID != placement.MinCustomClassID {
			t.Errorf("first custom class id %d, want %d", rc.ID, placement.MinCustomClassID)
		}
		_, err = e.svc.CreateClass(e.ctx, "CUSTOM_GOLD")
		wantErr(t, err, placement.ErrConflict, "", "CUSTOM_GOLD")
		_, created, err := e.svc.EnsureClass(e.ctx, "CUSTOM_GOLD")
		if err != nil || created {
			t.Errorf("EnsureClass of an existing class: created %v, err %v", created, err)
		}
		renamed, err := e.svc.RenameClass(e.ctx, "CUSTOM_GOLD", "CUSTOM_SILVER")
		dbtest.Must(t, err)
		if renamed.ID != rc.ID {
			t.Errorf("rename changed the id: %d -> %d", rc.ID, renamed.ID)
		}
		_, err = e.svc.RenameClass(e.ctx, "VCPU", "CUSTOM_X")
		wantErr(t, err, placement.ErrBadRequest, "", "standard")
		e.provider("gold", "", map[string]int64{"CUSTOM_SILVER": 5})
		wantErr(t, e.svc.DeleteClass(e.ctx, "CUSTOM_SILVER"), placement.ErrConflict, "", "in use")
		wantErr(t, e.svc.DeleteClass(e.ctx, "DISK_GB"), placement.ErrBadRequest, "", "standard")

		ts, err := e.svc.ListTraits(e.ctx, placement.TraitFilter{})
		dbtest.Must(t, err)
		if len(ts) != len(placement.StandardTraits) {
			t.Errorf("%d traits, want the %d standard ones", len(ts), len(placement.StandardTraits))
		}
		_, created, err = e.svc.EnsureTrait(e.ctx, "CUSTOM_A_B")
		if err != nil || !created {
			t.Fatalf("EnsureTrait: created %v err %v", created, err)
		}
		p := e.provider("t", "", nil)
		p, got, err := e.svc.SetProviderTraits(e.ctx, p.UUID, p.Generation, []string{"CUSTOM_A_B"})
		dbtest.Must(t, err)
		if len(got) != 1 || p.Generation != 1 {
			t.Errorf("set traits: %v at generation %d", got, p.Generation)
		}
		// The same set again does not advance the generation.
		if p2, _, err := e.svc.SetProviderTraits(e.ctx, p.UUID, p.Generation, []string{"CUSTOM_A_B"}); err != nil || p2.Generation != 1 {
			t.Errorf("unchanged traits: generation %d, err %v", p2.Generation, err)
		}
		_, _, err = e.svc.SetProviderTraits(e.ctx, p.UUID, 0, nil)
		wantErr(t, err, placement.ErrConflict, placement.CodeConcurrentUpdate, "generation")
		_, _, err = e.svc.SetProviderTraits(e.ctx, p.UUID, 1, []string{"CUSTOM_NOPE"})
		wantErr(t, err, placement.ErrBadRequest, "", "CUSTOM_NOPE")
		wantErr(t, e.svc.DeleteTrait(e.ctx, "CUSTOM_A_B"), placement.ErrConflict, "", "in use")
		wantErr(t, e.svc.DeleteTrait(e.ctx, "HW_CPU_X86_AVX2"), placement.ErrBadRequest, "", "standard")
		yes := true
		for _, f := range []placement.TraitFilter{{Prefix: "CUSTOM_"}, {NameIn: []string{"CUSTOM_A_B", "NOPE"}}, {Associated: &yes}} {
			ts, err := e.svc.ListTraits(e.ctx, f)
			dbtest.Must(t, err)
			if len(ts) != 1 || ts[0].Name != "CUSTOM_A_B" {
				t.Errorf("filter %+v: %v", f, ts)
			}
		}
		// A prefix is matched literally: "_" is no wildcard.
		if ts, _ := e.svc.ListTraits(e.ctx, placement.TraitFilter{Prefix: "CUSTOM_A_"}); len(ts) != 1 {
			t.Errorf("prefix CUSTOM_A_: %v", ts)
		}
		if ts, _ := e.svc.ListTraits(e.ctx, placement.TraitFilter{Prefix: "CUSTOM_AXB"}); len(ts) != 0 {
			t.Errorf("prefix CUSTOM_AXB matched %v", ts)
		}

		p, err = e.svc.SetProviderAggregates(e.ctx, p.UUID, &p.Generation, []string{uuid(2), uuid(1)})
		dbtest.Must(t, err)
		_, aggs, err := e.svc.ProviderAggregates(e.ctx, p.UUID)
		dbtest.Must(t, err)
		if !equal(aggs, []string{uuid(1), uuid(2)}) || p.Generation != 2 {
			t.Errorf("aggregates %v at generation %d", aggs, p.Generation)
		}
		_, err = e.svc.SetProviderAggregates(e.ctx, p.UUID, gen(0), nil)
		wantErr(t, err, placement.ErrConflict, placement.CodeConcurrentUpdate, "")
	})
}
