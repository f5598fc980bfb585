package placementsql_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/auth"
	"github.com/nimbus-cloud/nimbus/internal/db"
	"github.com/nimbus-cloud/nimbus/internal/placement"
	"github.com/nimbus-cloud/nimbus/internal/placement/placementsql"
)

// benchService is a placement service on a SQLite file seeded with n
// compute node providers, each with nova's three classes and two consumers.
func benchService(b *testing.B, n int) (*placement.Service, context.Context) {
	b.Helper()
	ctx := context.Background()
	d, err := db.Open(ctx, db.SQLiteURL(filepath.Join(b.TempDir(), "placement.db")))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { d.Close() })
	ms, err := placementsql.Migrations()
	if err != nil {
		b.Fatal(err)
	}
	if _, err := db.Migrate(ctx, d, placementsql.ServiceName, ms); err != nil {
		b.Fatal(err)
	}
	svc := placement.New(placement.Config{}, placement.Deps{Store: placementsql.New(d)})
	ctx = auth.WithCaller(ctx, &auth.Caller{UserID: "bench", Roles: []auth.Role{{Name: "admin"}}})
	if err := svc.Sync(ctx); err != nil {
		b.Fatal(err)
	}
	invs := []placement.Inventory{
		{ResourceClass: "VCPU", Total: 64, MinUnit: 1, MaxUnit: 64, StepSize: 1, AllocationRatio: 4},
		{ResourceClass: "MEMORY_MB", Total: 262144, Reserved: 512, MinUnit: 1, MaxUnit: 262144, StepSize: 1, AllocationRatio: 1},
		{ResourceClass: "DISK_GB", Total: 2000, MinUnit: 1, MaxUnit: 2000, StepSize: 1, AllocationRatio: 1},
	}
	for i := range n {
		p, err := svc.CreateProvider(ctx, placement.NewProvider{Name: fmt.Sprintf("cn%05d", i)})
		if err != nil {
			b.Fatal(err)
		}
		if p, _, err = svc.SetInventories(ctx, p.UUID, p.Generation, invs, placement.InventoryOptions{}); err != nil {
			b.Fatal(err)
		}
		traits := []string{"HW_CPU_X86_SSE2"}
		if i%100 == 99 {
			traits = append(traits, "COMPUTE_STATUS_DISABLED")
		}
		if _, _, err = svc.SetProviderTraits(ctx, p.UUID, p.Generation, traits); err != nil {
			b.Fatal(err)
		}
		for c := range 2 {
			err := svc.SetConsumerAllocations(ctx, placement.ConsumerWrite{ConsumerUUID: fmt.Sprintf("%08d-0000-4000-8000-%012d", i, c),
				ProjectID: "p", UserID: "u", Allocations: map[string]map[string]int64{p.UUID: {"VCPU": 2, "MEMORY_MB": 2048, "DISK_GB": 20}}},
				placement.AllocationOptions{})
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	return svc, ctx
}

func benchmarkCandidates(b *testing.B, n, limit int) {
	svc, ctx := benchService(b, n)
	req := placement.CandidateRequest{Groups: []placement.RequestGroup{{
		Resources:       map[string]int64{"VCPU": 2, "MEMORY_MB": 4096, "DISK_GB": 20},
		ForbiddenTraits: []string{"COMPUTE_STATUS_DISABLED"}}}, Limit: limit, NestedAware: true, WithTraits: true}
	b.ResetTimer()
	for b.Loop() {
		res, err := svc.AllocationCandidates(ctx, req)
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Requests) == 0 {
			b.Fatal("no candidates")
		}
	}
}

// BenchmarkCandidates1000Limit1000 is nova's usual request on a 1,000 host cloud.
func BenchmarkCandidates1000Limit1000(b *testing.B) { benchmarkCandidates(b, 1000, 1000) }

// BenchmarkCandidates10000Limit1000 is nova's usual request on a 10,000 host cloud.
func BenchmarkCandidates10000Limit1000(b *testing.B) { benchmarkCandidates(b, 10000, 1000) }

// BenchmarkCandidates10000All returns every candidate of a 10,000 host cloud.
func BenchmarkCandidates10000All(b *testing.B) { benchmarkCandidates(b, 10000, 0) }
