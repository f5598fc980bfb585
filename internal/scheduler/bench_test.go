package scheduler

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// benchHosts builds n varied hosts: a tenth disabled, a fifth in a second
// zone, random usage, a few instances each.
func benchHosts(n int) []HostState {
	r := rand.New(rand.NewPCG(7, 7))
	hosts := make([]HostState, n)
	for i := range hosts {
		h := newHost(fmt.Sprintf("compute-%05d", i))
		h.VCPU.AllocationRatio = 4
		h.VCPU.Total, h.MemoryMB.Total, h.DiskGB.Total = 64, 262144, 2000
		h.VCPU.Used = r.Int64N(200)
		h.MemoryMB.Used = r.Int64N(250000)
		h.DiskGB.Used = r.Int64N(1900)
		h.Disabled = i%10 == 0
		if i%5 == 0 {
			h.Aggregates = agg(map[string]string{"availability_zone": "az2"})
		}
		for j := range 4 {
			h.Instances = append(h.Instances, Instance{UUID: fmt.Sprintf("i-%d-%d", i, j), ProjectID: "p"})
		}
		hosts[i] = h
	}
	return hosts
}

func BenchmarkSelect(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		hosts := benchHosts(n)
		s := mustNew(b, testOptions())
		req := Request{NumInstances: 1, ProjectID: "p", Flavor: Flavor{VCPUs: 2, MemoryMB: 4096, RootGB: 20},
			AvailabilityZone: "nova", ImageProperties: map[string]string{"hw_architecture": "x86_64"}}
		b.Run(fmt.Sprintf("hosts=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			reportCPU(b, func() (n int) {
				for b.Loop() {
					n++
					if _, err := s.Select(req, hosts); err != nil {
						b.Fatal(err)
					}
				}
				return n
			})
		})
		specs := req
		specs.Flavor.ExtraSpecs = map[string]string{"capabilities:hypervisor_type": "s== QEMU",
			"capabilities:cpu_info:arch": "<or> x86_64 <or> aarch64", "capabilities:cpu_info:topology:cores": ">= 2"}
		b.Run(fmt.Sprintf("hosts=%d/capabilities", n), func(b *testing.B) {
			b.ReportAllocs()
			reportCPU(b, func() (n int) {
				for b.Loop() {
					n++
					if _, err := s.Select(specs, hosts); err != nil {
						b.Fatal(err)
					}
				}
				return n
			})
		})
		group := req
		group.NumInstances = 10
		group.Group = &ServerGroup{Policy: PolicyAntiAffinity, Members: []InstanceRef{{"i-1-0", "compute-00001"}}}
		b.Run(fmt.Sprintf("hosts=%d/anti-affinity-10-instances", n), func(b *testing.B) {
			b.ReportAllocs()
			reportCPU(b, func() (n int) {
				for b.Loop() {
					n++
					if _, err := s.Select(group, hosts); err != nil {
						b.Fatal(err)
					}
				}
				return n
			})
		})
	}
}
