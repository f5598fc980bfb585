package placementsql_test

import (
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/db/dbtest"
	"github.com/nimbus-cloud/nimbus/internal/placement"
)

func TestInventories(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		p := e.provider("cn", "", map[string]int64{"VCPU": 8, "DISK_GB": 100})
		if p.Generation != 1 {
			t.Fatalf("generation after setting inventory: %d", p.Generation)
		}
		_, _, err := e.svc.SetInventories(e.ctx, p.UUID, 0, nil, placement.InventoryOptions{})
		wantErr(t, err, placement.ErrConflict, placement.CodeConcurrentUpdate, "generation conflict")
		bad := placement.DefaultInventory("VCPU", 4)
		bad.Reserved = 4
		_, _, err = e.svc.SetInventories(e.ctx, p.UUID, 1, []placement.Inventory{bad}, placement.InventoryOptions{})
		wantErr(t, err, placement.ErrBadRequest, "", "greater than or equal to total")
		// From 1.26 reserved may equal total.
		p, _, err = e.svc.SetInventories(e.ctx, p.UUID, 1, []placement.Inventory{bad, placement.DefaultInventory("DISK_GB", 100)},
			placement.InventoryOptions{ReservedMayEqualTotal: true})
		dbtest.Must(t, err)
		_, _, err = e.svc.SetInventories(e.ctx, p.UUID, p.Generation, []placement.Inventory{placement.DefaultInventory("CUSTOM_NOPE", 1)},
			placement.InventoryOptions{})
		wantErr(t, err, placement.ErrBadRequest, "", "No such resource class CUSTOM_NOPE")
		p, _, err = e.svc.CreateInventory(e.ctx, p.UUID, placement.DefaultInventory("MEMORY_MB", 1024), placement.InventoryOptions{})
		dbtest.Must(t, err)
		_, _, err = e.svc.CreateInventory(e.ctx, p.UUID, placement.DefaultInventory("MEMORY_MB", 1024), placement.InventoryOptions{})
		wantErr(t, err, placement.ErrConflict, placement.CodeConcurrentUpdate, "already exists")

		dbtest.Must(t, e.claim(uuid(1), nil, map[string]map[string]int64{p.UUID: {"DISK_GB": 60}}))
		p, _ = e.svc.GetProvider(e.ctx, p.UUID)
		// Removing an inventory with allocations is refused ...
		_, _, err = e.svc.SetInventories(e.ctx, p.UUID, p.Generation, []placement.Inventory{placement.DefaultInventory("VCPU", 8)},
			placement.InventoryOptions{})
		wantErr(t, err, placement.ErrConflict, placement.CodeInventoryInUse, "DISK_GB")
		wantErr(t, e.svc.DeleteInventory(e.ctx, p.UUID, "DISK_GB"), placement.ErrConflict, placement.CodeConcurrentUpdate, "in use")
		wantErr(t, e.svc.DeleteInventories(e.ctx, p.UUID), placement.ErrConflict, placement.CodeInventoryInUse, "in use")
		// ... lowering it below what is allocated is allowed, as in placement.
		shrunk := placement.DefaultInventory("DISK_GB", 50)
		p, inv, err := e.svc.UpdateInventory(e.ctx, p.UUID, p.Generation, shrunk, placement.InventoryOptions{})
		dbtest.Must(t, err)
		if inv.Total != 50 || e.usage(p.UUID, "DISK_GB") != 60 {
			t.Errorf("shrunk inventory %+v, usage %d", inv, e.usage(p.UUID, "DISK_GB"))
		}
		_, _, err = e.svc.UpdateInventory(e.ctx, p.UUID, p.Generation, placement.DefaultInventory("PCPU", 1), placement.InventoryOptions{})
		wantErr(t, err, placement.ErrBadRequest, "", "No inventory of class PCPU")
		dbtest.Must(t, e.svc.DeleteInventory(e.ctx, p.UUID, "MEMORY_MB"))
		wantErr(t, e.svc.DeleteInventory(e.ctx, p.UUID, "MEMORY_MB"), placement.ErrNotFound, "", "MEMORY_MB")
		_, invs, err := e.svc.Inventories(e.ctx, p.UUID)
		dbtest.Must(t, err)
		if len(invs) != 2 || invs[0].ResourceClass != "VCPU" || invs[1].ResourceClass != "DISK_GB" {
			t.Errorf("inventories %+v, want VCPU then DISK_GB", invs)
		}
		e.checkUsedColumn()
	})
}

func TestAllocations(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		cn1 := e.provider("cn1", "", map[string]int64{"VCPU": 4, "MEMORY_MB": 1024})
		cn2 := e.provider("cn2", "", map[string]int64{"VCPU": 4})
		c := uuid(1)
		dbtest.Must(t, e.claim(c, nil, map[string]map[string]int64{cn1.UUID: {"VCPU": 2, "MEMORY_MB": 512}}))
		allocs, err := e.svc.ConsumerAllocations(e.ctx, c)
		dbtest.Must(t, err)
		if len(allocs) != 2 || allocs[0].Consumer.Generation != 1 || allocs[0].ProviderGeneration != 2 {
			t.Fatalf("allocations %+v: want 2 at consumer generation 1, provider generation 2", allocs)
		}
		// Consumer generations: null for a new consumer, the current one after.
		wantErr(t, e.claim(c, nil, nil), placement.ErrConflict, placement.CodeConcurrentUpdate, "expected 1 but got None")
		wantErr(t, e.claim(uuid(2), gen(3), nil), placement.ErrConflict, placement.CodeConcurrentUpdate, "expected null but got 3")
		// Capacity, constraints and missing inventory.
		wantErr(t, e.claim(uuid(3), nil, map[string]map[string]int64{cn1.UUID: {"VCPU": 3}}), placement.ErrConflict, "", "exceed the capacity")
		wantErr(t, e.claim(uuid(3), nil, map[string]map[string]int64{cn2.UUID: {"MEMORY_MB": 1}}), placement.ErrConflict, "",
			"Inventory for 'MEMORY_MB' on resource provider '"+cn2.UUID+"' invalid")
		wantErr(t, e.claim(uuid(3), nil, map[string]map[string]int64{uuid(99): {"VCPU": 1}}), placement.ErrBadRequest, "",
			"does not exist")
		wantErr(t, e.claim(uuid(3), nil, map[string]map[string]int64{cn1.UUID: {"CUSTOM_NOPE": 1}}), placement.ErrBadRequest, "",
			"No such resource class CUSTOM_NOPE")
		// Moving the consumer frees its old amounts in the same write.
		dbtest.Must(t, e.claim(c, gen(1), map[string]map[string]int64{cn1.UUID: {"VCPU": 4}, cn2.UUID: {"VCPU": 1}}))
		if u1, u2 := e.usage(cn1.UUID, "VCPU"), e.usage(cn2.UUID, "VCPU"); u1 != 4 || u2 != 1 || e.usage(cn1.UUID, "MEMORY_MB") != 0 {
			t.Errorf("after the move: VCPU %d and %d, memory %d", u1, u2, e.usage(cn1.UUID, "MEMORY_MB"))
		}
		// Several consumers at once: all or nothing.
		err = e.svc.SetAllocations(e.ctx, []placement.ConsumerWrite{
			{ConsumerUUID: uuid(4), ProjectID: "proj", UserID: "user", Allocations: map[string]map[string]int64{cn2.UUID: {"VCPU": 2}}},
			{ConsumerUUID: uuid(5), ProjectID: "proj", UserID: "user", Allocations: map[string]map[string]int64{cn2.UUID: {"VCPU": 2}}},
		}, placement.AllocationOptions{CheckGeneration: true})
		wantErr(t, err, placement.ErrConflict, "", "exceed the capacity")
		if u := e.usage(cn2.UUID, "VCPU"); u != 1 {
			t.Errorf("a refused POST /allocations left usage %d, want 1", u)
		}
		if allocs, _ := e.svc.ConsumerAllocations(e.ctx, uuid(4)); len(allocs) != 0 {
			t.Errorf("a refused write left consumer %s with %v", uuid(4), allocs)
		}
		// Emptying a consumer removes it and advances the generations of its providers.
		cn2, _ = e.svc.GetProvider(e.ctx, cn2.UUID)
		dbtest.Must(t, e.claim(c, gen(2), nil))
		if p, _ := e.svc.GetProvider(e.ctx, cn2.UUID); p.Generation != cn2.Generation+1 {
			t.Errorf("provider generation %d after emptying, want %d", p.Generation, cn2.Generation+1)
		}
		dbtest.Must(t, e.claim(c, nil, map[string]map[string]int64{cn1.UUID: {"VCPU": 1}}))
		wantErr(t, e.svc.DeleteConsumerAllocations(e.ctx, uuid(42)), placement.ErrNotFound, "", "No allocations")
		dbtest.Must(t, e.svc.DeleteConsumerAllocations(e.ctx, c))
		if u := e.usage(cn1.UUID, "VCPU"); u != 0 {
			t.Errorf("usage %d after delete", u)
		}
		wantErr(t, e.svc.DeleteProvider(e.ctx, uuid(99)), placement.ErrNotFound, "", "")
		dbtest.Must(t, e.claim(uuid(6), nil, map[string]map[string]int64{cn1.UUID: {"VCPU": 1}}))
		wantErr(t, e.svc.DeleteProvider(e.ctx, cn1.UUID), placement.ErrConflict, placement.CodeProviderInUse, "has allocations")
		e.checkUsedColumn()
	})
}

func TestUsages(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		cn := e.provider("cn", "", map[string]int64{"VCPU": 16, "MEMORY_MB": 4096})
		write := func(consumer, project, user, ctype string, vcpu int64) {
			t.Helper()
			dbtest.Must(t, e.svc.SetConsumerAllocations(e.ctx, placement.ConsumerWrite{ConsumerUUID: consumer, ProjectID: project,
				UserID: user, ConsumerType: ctype, Allocations: map[string]map[string]int64{cn.UUID: {"VCPU": vcpu, "MEMORY_MB": 128}}},
				placement.AllocationOptions{}))
		}
		write(uuid(1), "p1", "u1", "INSTANCE", 2)
		write(uuid(2), "p1", "u2", "INSTANCE", 3)
		write(uuid(3), "p1", "u1", "MIGRATION", 1)
		write(uuid(4), "p1", "u1", "", 4)
		write(uuid(5), "p2", "u1", "INSTANCE", 5)
		sum := func(f placement.UsageFilter) map[string]placement.TypeUsage {
			t.Helper()
			tus, err := e.svc.TotalUsages(e.ctx, f)
			dbtest.Must(t, err)
			out := map[string]placement.TypeUsage{}
			for _, tu := range tus {
				out[tu.ConsumerType] = tu
			}
			return out
		}
		vcpu := func(tu placement.TypeUsage) int64 {
			for _, u := range tu.Usages {
				if u.ResourceClass == "VCPU" {
					return u.Used
				}
			}
			return -1
		}
		if got := sum(placement.UsageFilter{ProjectID: "p1"}); vcpu(got[""]) != 10 {
			t.Errorf("project p1: %+v, want VCPU 10", got)
		}
		if got := sum(placement.UsageFilter{ProjectID: "p1", UserID: "u1"}); vcpu(got[""]) != 7 {
			t.Errorf("project p1 user u1: %+v, want VCPU 7", got)
		}
		byType := sum(placement.UsageFilter{ProjectID: "p1", ByType: true})
		if vcpu(byType["INSTANCE"]) != 5 || byType["INSTANCE"].ConsumerCount != 2 || vcpu(byType["MIGRATION"]) != 1 ||
			vcpu(byType["unknown"]) != 4 || byType["unknown"].ConsumerCount != 1 {
			t.Errorf("by type: %+v", byType)
		}
		if all := sum(placement.UsageFilter{ProjectID: "p1", ByType: true, ConsumerType: "all"}); vcpu(all["all"]) != 10 ||
			all["all"].ConsumerCount != 4 {
			t.Errorf("all: %+v", all)
		}
		if one := sum(placement.UsageFilter{ProjectID: "p1", ByType: true, ConsumerType: "MIGRATION"}); len(one) != 1 ||
			vcpu(one["MIGRATION"]) != 1 {
			t.Errorf("MIGRATION only: %+v", one)
		}
		if none := sum(placement.UsageFilter{ProjectID: "p9", ByType: true, ConsumerType: "all"}); len(none) != 0 {
			t.Errorf("a project without allocations: %+v", none)
		}
		// A consumer's type changes with its next write; older writes keep it.
		write(uuid(1), "p1", "u1", "", 2)
		if got := sum(placement.UsageFilter{ProjectID: "p1", ByType: true}); got["INSTANCE"].ConsumerCount != 2 {
			t.Errorf("a write without a type changed the type: %+v", got)
		}
	})
}

func TestReshape(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		cn := e.provider("cn", "", map[string]int64{"VCPU": 8, "DISK_GB": 100})
		numa := e.provider("numa", cn.UUID, nil)
		c := uuid(1)
		dbtest.Must(t, e.claim(c, nil, map[string]map[string]int64{cn.UUID: {"VCPU": 2, "DISK_GB": 10}}))
		cn, _ = e.svc.GetProvider(e.ctx, cn.UUID)
		move := func(cnGen, numaGen int64, consumerGen *int64) error {
			return e.svc.Reshape(e.ctx, []placement.ReshapeInventory{
				{ProviderUUID: cn.UUID, Generation: cnGen, Inventories: []placement.Inventory{placement.DefaultInventory("DISK_GB", 100)}},
				{ProviderUUID: numa.UUID, Generation: numaGen, Inventories: []placement.Inventory{placement.DefaultInventory("VCPU", 8)}},
			}, []placement.ConsumerWrite{{ConsumerUUID: c, ProjectID: "proj", UserID: "user", Generation: consumerGen,
				Allocations: map[string]map[string]int64{cn.UUID: {"DISK_GB": 10}, numa.UUID: {"VCPU": 2}}}},
				placement.AllocationOptions{CheckGeneration: true})
		}
		wantErr(t, move(cn.Generation+5, numa.Generation, gen(1)), placement.ErrConflict, placement.CodeConcurrentUpdate, "generation")
		wantErr(t, move(cn.Generation, numa.Generation, gen(7)), placement.ErrConflict, placement.CodeConcurrentUpdate, "consumer")
		dbtest.Must(t, move(cn.Generation, numa.Generation, gen(1)))
		if u := e.usage(numa.UUID, "VCPU"); u != 2 {
			t.Errorf("VCPU usage on the NUMA node: %d", u)
		}
		_, invs, _ := e.svc.Inventories(e.ctx, cn.UUID)
		if len(invs) != 1 || invs[0].ResourceClass != "DISK_GB" {
			t.Errorf("compute node inventory after the move: %+v", invs)
		}
		err := e.svc.Reshape(e.ctx, []placement.ReshapeInventory{{ProviderUUID: uuid(99)}}, nil, placement.AllocationOptions{})
		wantErr(t, err, placement.ErrBadRequest, placement.CodeProviderNotFound, "not found")
		e.checkUsedColumn()
	})
}

func TestCandidatesOnEngines(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		// A flat cloud: the database finds the providers, stopping at the limit.
		for i := range 5 {
			e.provider("cn"+string(rune('a'+i)), "", map[string]int64{"VCPU": 4, "MEMORY_MB": 1024})
		}
		full := e.provider("full", "", map[string]int64{"VCPU": 4, "MEMORY_MB": 1024})
		dbtest.Must(t, e.claim(uuid(1), nil, map[string]map[string]int64{full.UUID: {"VCPU": 4}}))
		req := placement.CandidateRequest{Groups: []placement.RequestGroup{{Resources: map[string]int64{"VCPU": 2, "MEMORY_MB": 512}}},
			NestedAware: true, WithTraits: true}
		res, err := e.svc.AllocationCandidates(e.ctx, req)
		dbtest.Must(t, err)
		if len(res.Requests) != 5 || len(res.Summaries) != 5 {
			t.Errorf("flat: %d requests and %d summaries, want 5 and 5", len(res.Requests), len(res.Summaries))
		}
		req.Limit = 2
		res, err = e.svc.AllocationCandidates(e.ctx, req)
		dbtest.Must(t, err)
		if len(res.Requests) != 2 || len(res.Summaries) != 2 {
			t.Errorf("flat with limit 2: %d requests and %d summaries", len(res.Requests), len(res.Summaries))
		}
		// A nested tree with a sharing provider: the search in memory.
		root := e.provider("root", "", nil)
		e.provider("numa", root.UUID, map[string]int64{"VCPU": 4})
		ss := e.provider("ss", "", map[string]int64{"DISK_GB": 100})
		_, _, err = e.svc.SetProviderTraits(e.ctx, ss.UUID, ss.Generation, []string{placement.SharesViaAggregate})
		dbtest.Must(t, err)
		for _, p := range []placement.Provider{root, ss} {
			_, err := e.svc.SetProviderAggregates(e.ctx, p.UUID, nil, []string{uuid(7)})
			dbtest.Must(t, err)
		}
		req = placement.CandidateRequest{Groups: []placement.RequestGroup{{Resources: map[string]int64{"VCPU": 1, "DISK_GB": 10}}},
			NestedAware: true, WithTraits: true}
		res, err = e.svc.AllocationCandidates(e.ctx, req)
		dbtest.Must(t, err)
		if len(res.Requests) != 1 || len(res.Requests[0].Resources) != 2 {
			t.Fatalf("nested with sharing: %+v", res.Requests)
		}
		var sawShared bool
		for _, s := range res.Summaries {
			if s.UUID == ss.UUID {
				sawShared = len(s.Traits) == 1 && s.Traits[0] == placement.SharesViaAggregate
			}
		}
		if !sawShared || len(res.Summaries) != 3 {
			t.Errorf("summaries %+v: want root, numa and the sharing provider with its trait", res.Summaries)
		}
	})
}
