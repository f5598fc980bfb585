package schedulerd

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/rpc"
	"github.com/nimbus-cloud/nimbus/internal/scheduler"
)

// benchPlacement answers every query with the same candidates, computed
// once, and accepts every claim: the benchmark measures the service, not
// placement.
type benchPlacement struct{ cands Candidates }

func (p benchPlacement) AllocationCandidates(context.Context, CandidateQuery) (Candidates, error) {
	return p.cands, nil
}

func (benchPlacement) Claim(context.Context, string, string, string, rpc.Allocation) (bool, error) {
	return true, nil
}

func (benchPlacement) DeleteAllocations(context.Context, string) error { return nil }

func (benchPlacement) ProviderInventory(context.Context, string) (map[string]scheduler.Inventory, error) {
	return nil, nil
}

// benchFleet is n compute hosts as the service group reports them (a
// tenth disabled, four instances each, a fifth in a zone aggregate), with
// placement's candidates on all of them at random usage.
func benchFleet(n int) (fakeHosts, benchPlacement, fakeAggregates) {
	r := rand.New(rand.NewPCG(7, 7))
	hs := make(fakeHosts, n)
	p := benchPlacement{cands: Candidates{Roots: make(map[string]Candidate, n)}}
	aggs := fakeAggregates{byHost: map[string]HostAggregates{}}
	zone := []scheduler.Aggregate{{Name: "rack2", Metadata: map[string]string{"availability_zone": "az2"}}}
	for i := range hs {
		name := fmt.Sprintf("compute-%05d", i)
		rp := fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i)
		hs[i] = ComputeHost{Host: name, Node: name, ProviderUUID: rp, Zone: "nova", Up: true, Disabled: i%10 == 0,
			HypervisorType: "QEMU", HypervisorVersion: 8002000,
			CPUInfo: scheduler.CPUInfo{Arch: "x86_64", Vendor: "AMD", Model: "EPYC", Features: []string{"sse4.2", "avx2"},
				Topology: scheduler.CPUTopology{Sockets: 2, Cores: 16, Threads: 2}},
			Supported: []scheduler.SupportedInstance{{Arch: "x86_64", HypervisorType: "kvm", VMMode: "hvm"},
				{Arch: "x86_64", HypervisorType: "qemu", VMMode: "hvm"}}}
		for j := range 4 {
			hs[i].Instances = append(hs[i].Instances, fmt.Sprintf("%08x-%04x-4000-8000-000000000000", i, j))
		}
		if i%5 == 0 {
			aggs.byHost[name] = HostAggregates{Zone: "az2", Aggregates: zone}
		}
		p.cands.Roots[rp] = Candidate{Allocation: rpc.Allocation{rp: {"VCPU": 2, "MEMORY_MB": 4096, "DISK_GB": 20}},
			VCPU:     Capacity{Capacity: 256, Used: r.Int64N(200)},
			MemoryMB: Capacity{Capacity: 262144, Used: r.Int64N(250000)},
			DiskGB:   Capacity{Capacity: 2000, Used: r.Int64N(1900)}}
	}
	return hs, p, aggs
}

// BenchmarkSelectDestinations is one decision of the service over many
// hosts, placement answered in memory: what the service adds to the pure
// scheduler (host states from the service group, the aggregates and
// placement's summaries; the claim).
func BenchmarkSelectDestinations(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		hs, p, aggs := benchFleet(n)
		sched, err := scheduler.New(scheduler.DefaultOptions())
		if err != nil {
			b.Fatal(err)
		}
		s := New(Config{MaxPlacementResults: n}, sched, p, hs, nil)
		s.UseAggregates(aggs)
		s.UseGroups(noGroups{})
		spec := rpc.RequestSpec{ProjectID: "p", UserID: "u", AvailabilityZone: "nova",
			Flavor: rpc.Flavor{Name: "m1.medium", VCPUs: 2, MemoryMB: 4096, RootGB: 20},
			Image:  rpc.ImageMeta{Properties: map[string]string{"hw_architecture": "x86_64"}}}
		b.Run(fmt.Sprintf("hosts=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			reportCPU(b, func() (i int) {
				for b.Loop() {
					i++
					spec.InstanceUUIDs = []string{fmt.Sprintf("i-%d", i)}
					if _, err := s.SelectDestinations(context.Background(), spec); err != nil {
						b.Fatal(err)
					}
				}
				return i
			})
		})
		b.Run(fmt.Sprintf("hosts=%d/10-instances", n), func(b *testing.B) {
			b.ReportAllocs()
			reportCPU(b, func() (i int) {
				for b.Loop() {
					i++
					spec.InstanceUUIDs = spec.InstanceUUIDs[:0]
					for j := range 10 {
						spec.InstanceUUIDs = append(spec.InstanceUUIDs, fmt.Sprintf("i-%d-%d", i, j))
					}
					if _, err := s.SelectDestinations(context.Background(), spec); err != nil {
						b.Fatal(err)
					}
				}
				return i
			})
		})
	}
}

// noGroups puts no instance in a group.
type noGroups struct{}

func (noGroups) InstanceGroup(context.Context, string) (*scheduler.ServerGroup, error) {
	return nil, nil
}
