package scheduler

import (
	"errors"
	"math/rand/v2"
	"testing"
)

// newHost is a healthy, empty compute host: 8 VCPUs, 16 GiB, 100 GB, x86_64
// under KVM, no overcommit.
func newHost(name string) HostState {
	return HostState{
		Host: name, Node: name, Up: true,
		HypervisorType: "QEMU", HypervisorVersion: 8002000,
		CPUInfo:            CPUInfo{Arch: "x86_64", Vendor: "Intel", Model: "Skylake", Features: []string{"sse4.2", "avx2"}, Topology: CPUTopology{Sockets: 1, Cores: 4, Threads: 2}},
		SupportedInstances: []SupportedInstance{{"x86_64", "kvm", "hvm"}, {"x86_64", "qemu", "hvm"}},
		VCPU:               Inventory{Total: 8, AllocationRatio: 1},
		MemoryMB:           Inventory{Total: 16384, AllocationRatio: 1},
		DiskGB:             Inventory{Total: 100, AllocationRatio: 1},
	}
}

// hostWith returns newHost(name) changed by fn.
func hostWith(name string, fn func(h *HostState)) HostState {
	h := newHost(name)
	fn(&h)
	return h
}

// small is a 1 VCPU, 2 GiB, 10 GB flavor.
func small() Flavor { return Flavor{Name: "m1.small", VCPUs: 1, MemoryMB: 2048, RootGB: 10} }

// testOptions are nova's defaults with every filter this package has, and
// a seeded random source.
func testOptions() Options {
	o := DefaultOptions()
	o.EnabledFilters = []string{"AvailabilityZoneFilter", "ComputeFilter", "ComputeCapabilitiesFilter",
		"ImagePropertiesFilter", "SameHostFilter", "DifferentHostFilter", "AggregateInstanceExtraSpecsFilter",
		"AggregateMultiTenancyIsolation", "ServerGroupAntiAffinityFilter", "ServerGroupAffinityFilter"}
	o.Rand = rand.New(rand.NewPCG(1, 2))
	return o
}

func mustNew(t testing.TB, o Options) *Scheduler {
	t.Helper()
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// verdict runs one filter's check for req on h.
func verdict(t *testing.T, name string, o Options, req Request, h HostState) (string, bool) {
	t.Helper()
	o.EnabledFilters = []string{name}
	s := mustNew(t, o)
	if req.NumInstances == 0 && len(req.InstanceUUIDs) == 0 {
		req.NumInstances = 1
	}
	sp, err := s.newSpec(&req, []HostState{h}, getScratch(1))
	if err != nil {
		t.Fatal(err)
	}
	if len(req.InstanceUUIDs) > 0 {
		sp.instanceUUID = req.InstanceUUIDs[0]
	}
	for i, f := range sp.chain {
		if f.name != name {
			continue
		}
		if sp.checks[i] == nil {
			return "", true
		}
		return sp.checks[i](&sp.cands[0])
	}
	t.Fatalf("filter %s not in the chain", name)
	return "", false
}

// noValidHost asserts err is a *NoValidHostError and returns it.
func noValidHost(t *testing.T, err error) *NoValidHostError {
	t.Helper()
	var nv *NoValidHostError
	if !errors.As(err, &nv) || !errors.Is(err, ErrNoValidHost) {
		t.Fatalf("err = %v, want a NoValidHostError", err)
	}
	return nv
}

// hostsOf lists the primary host of each selection.
func hostsOf(sel []Selection) []string {
	out := make([]string, len(sel))
	for i, s := range sel {
		out[i] = s.Host
	}
	return out
}

func countHosts(sel []Selection) map[string]int {
	n := map[string]int{}
	for _, s := range sel {
		n[s.Host]++
	}
	return n
}
