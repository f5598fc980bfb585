package app

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/conductor"
	"github.com/nimbus-cloud/nimbus/internal/rpc"
	"github.com/nimbus-cloud/nimbus/internal/scheduler"
	"github.com/nimbus-cloud/nimbus/internal/schedulerd"
)

// benchRegistry is a service group of n compute hosts with four instances
// each, every tenth disabled.
func benchRegistry(n int) *conductor.Registry {
	reg := conductor.NewRegistry(conductor.RegistryOptions{})
	for i := range n {
		host := fmt.Sprintf("compute-%05d", i)
		rep := rpc.ServiceReport{Host: host, Binary: rpc.BinaryCompute, Node: &rpc.ComputeNode{Host: host, Node: host,
			ProviderUUID: fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i), HypervisorType: "QEMU",
			HypervisorVersion: 8002000, CPUInfo: rpc.CPUInfo{Arch: "x86_64", Features: []string{"sse4.2", "avx2"}},
			SupportedInstances: [][3]string{{"x86_64", "kvm", "hvm"}, {"x86_64", "qemu", "hvm"}}}}
		for j := range 4 {
			rep.Instances = append(rep.Instances, fmt.Sprintf("%08x-%04x-4000-8000-000000000000", i, j))
		}
		reg.Report(rep)
		if i%10 == 0 {
			_ = reg.SetDisabled(context.Background(), host, rpc.BinaryCompute, true, "maintenance")
		}
	}
	return reg
}

// BenchmarkSchedulerHosts is the scheduler's read of the service group
// for one decision: every compute host with its node and instances.
func BenchmarkSchedulerHosts(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		reg := benchRegistry(n)
		h := schedulerHosts{reg}
		b.Run(fmt.Sprintf("hosts=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			reportCPU(b, func() (i int) {
				for b.Loop() {
					i++
					if hs, err := h.ComputeHosts(context.Background()); err != nil || len(hs) != n {
						b.Fatalf("%d hosts, %v", len(hs), err)
					}
				}
				return i
			})
		})
	}
}

// memoryPlacement offers the same candidates to every query and accepts
// every claim, so that BenchmarkSchedulerDecision measures the scheduler.
type memoryPlacement struct{ cands schedulerd.Candidates }

func (p memoryPlacement) AllocationCandidates(context.Context, schedulerd.CandidateQuery) (schedulerd.Candidates, error) {
	return p.cands, nil
}

func (memoryPlacement) Claim(context.Context, string, string, string, rpc.Allocation) (bool, error) {
	return true, nil
}

func (memoryPlacement) DeleteAllocations(context.Context, string) error { return nil }

func (memoryPlacement) ProviderInventory(context.Context, string) (map[string]scheduler.Inventory, error) {
	return nil, nil
}

// BenchmarkSchedulerDecision is one select_destinations over a service
// group of many hosts with the default filters and weighers: the hosts
// read from the registry, their states built with placement's summaries
// (answered in memory), filtered, weighed and claimed.
func BenchmarkSchedulerDecision(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		reg := benchRegistry(n)
		p := memoryPlacement{cands: schedulerd.Candidates{Roots: make(map[string]schedulerd.Candidate, n)}}
		r := rand.New(rand.NewPCG(7, 7))
		reg.EachCompute(func(s *conductor.ServiceStatus, _ bool) {
			rp := s.Node.ProviderUUID
			p.cands.Roots[rp] = schedulerd.Candidate{Allocation: rpc.Allocation{rp: {"VCPU": 2, "MEMORY_MB": 4096, "DISK_GB": 20}},
				VCPU:     schedulerd.Capacity{Capacity: 256, Used: r.Int64N(200)},
				MemoryMB: schedulerd.Capacity{Capacity: 262144, Used: r.Int64N(250000)},
				DiskGB:   schedulerd.Capacity{Capacity: 2000, Used: r.Int64N(1900)}}
		})
		sched, err := scheduler.New(scheduler.DefaultOptions())
		if err != nil {
			b.Fatal(err)
		}
		sd := schedulerd.New(schedulerd.Config{MaxPlacementResults: n}, sched, p, schedulerHosts{reg}, nil)
		spec := rpc.RequestSpec{ProjectID: "p", UserID: "u", AvailabilityZone: "nova",
			Flavor: rpc.Flavor{Name: "m1.medium", VCPUs: 2, MemoryMB: 4096, RootGB: 20},
			Image:  rpc.ImageMeta{Properties: map[string]string{"hw_architecture": "x86_64"}}}
		b.Run(fmt.Sprintf("hosts=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			reportCPU(b, func() (i int) {
				for b.Loop() {
					i++
					spec.InstanceUUIDs = []string{fmt.Sprintf("i-%d", i)}
					if _, err := sd.SelectDestinations(context.Background(), spec); err != nil {
						b.Fatal(err)
					}
				}
				return i
			})
		})
	}
}
