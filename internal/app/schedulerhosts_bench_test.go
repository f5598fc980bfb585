package app

import (
	"context"
	"fmt"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/conductor"
	"github.com/nimbus-cloud/nimbus/internal/rpc"
)

// BenchmarkSchedulerHosts is the scheduler's read of the service group
// for one decision: every compute host with its node and instances.
func BenchmarkSchedulerHosts(b *testing.B) {
	for _, n := range []int{1000, 10000} {
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
		}
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
