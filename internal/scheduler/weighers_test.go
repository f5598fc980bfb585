package scheduler

import (
	"math"
	"slices"
	"testing"
)

// rank returns every host that passes, best first, with weights: the
// primary of a one-instance Select followed by its alternates.
func rank(t *testing.T, o Options, req Request, hosts []HostState) []Target {
	t.Helper()
	o.MaxAttempts = len(hosts)
	s := mustNew(t, o)
	if req.NumInstances == 0 {
		req.NumInstances = 1
	}
	if req.Flavor.MemoryMB == 0 {
		req.Flavor = small()
	}
	sel, err := s.Select(req, hosts)
	if err != nil {
		t.Fatal(err)
	}
	return append([]Target{sel[0].Target}, sel[0].Alternates...)
}

func names(ts []Target) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Host
	}
	return out
}

func weightsOf(ts []Target) map[string]float64 {
	out := map[string]float64{}
	for _, t := range ts {
		out[t.Host] = math.Round(t.Weight*1000) / 1000
	}
	return out
}

func only(weigher string, mult float64) Options {
	o := testOptions()
	o.WeightClasses = []string{weigher}
	o.RAMWeightMultiplier, o.CPUWeightMultiplier, o.DiskWeightMultiplier = mult, mult, mult
	o.SoftAffinityWeightMultiplier, o.SoftAntiAffinityWeightMultiplier = math.Abs(mult), math.Abs(mult)
	return o
}

func TestResourceWeighers(t *testing.T) {
	t.Parallel()
	ramUsed := func(name string, used int64) HostState {
		return hostWith(name, func(h *HostState) { h.MemoryMB.Used = used })
	}
	ramHosts := []HostState{ramUsed("h1", 12288), ramUsed("h2", 0), ramUsed("h3", 8192)}
	cases := []struct {
		name        string
		opts        Options
		hosts       []HostState
		wantOrder   []string
		wantWeights map[string]float64
	}{
		{"ram spreads, normalized against 0", only("RAMWeigher", 1), ramHosts,
			[]string{"h2", "h3", "h1"}, map[string]float64{"h2": 1, "h3": 0.5, "h1": 0.25}},
		{"ram packs with a negative multiplier", only("RAMWeigher", -2), ramHosts,
			[]string{"h1", "h3", "h2"}, map[string]float64{"h1": -0.5, "h3": -1, "h2": -2}},
		{"cpu counts overcommit", only("CPUWeigher", 1), []HostState{
			hostWith("h1", func(h *HostState) { h.VCPU.Used = 2 }),
			hostWith("h2", func(h *HostState) { h.VCPU.AllocationRatio, h.VCPU.Used = 4, 10 }),
		}, []string{"h2", "h1"}, map[string]float64{"h2": 1, "h1": 6.0 / 22}},
		{"disk", only("DiskWeigher", 1), []HostState{
			hostWith("h1", func(h *HostState) { h.DiskGB.Used = 50 }),
			hostWith("h2", func(h *HostState) { h.DiskGB.Reserved = 75 }),
		}, []string{"h1", "h2"}, map[string]float64{"h1": 1, "h2": 0.5}},
		{"overcommitted ram clamps at 0", only("RAMWeigher", 1), []HostState{
			hostWith("h1", func(h *HostState) { h.MemoryMB.AllocationRatio, h.MemoryMB.Used = 2, 20000 }),
			ramUsed("h2", 8192),
		}, []string{"h2", "h1"}, map[string]float64{"h2": 1, "h1": 0}},
		// With 0 as the low end, equal free RAM normalizes to 1, as in nova.
		{"equal values weigh the same", only("RAMWeigher", 1), []HostState{newHost("h1"), newHost("h2")},
			[]string{"h1", "h2"}, map[string]float64{"h1": 1, "h2": 1}},
		{"aggregate overrides the multiplier, smallest valid value", only("RAMWeigher", 1), []HostState{
			ramUsed("h1", 0),
			hostWith("h2", func(h *HostState) {
				h.MemoryMB.Used = 8192
				h.Aggregates = []Aggregate{{Metadata: map[string]string{"ram_weight_multiplier": "3"}},
					{Metadata: map[string]string{"ram_weight_multiplier": "2.5"}}, {Metadata: map[string]string{"ram_weight_multiplier": "x"}}}
			}),
		}, []string{"h2", "h1"}, map[string]float64{"h1": 1, "h2": 1.25}},
		{"every weigher sums", testOptions(), []HostState{
			hostWith("h1", func(h *HostState) { h.MemoryMB.Used, h.VCPU.Used = 8192, 4 }),
			hostWith("h2", func(h *HostState) { h.DiskGB.Used = 50 }),
		}, []string{"h2", "h1"}, map[string]float64{"h2": 2.5, "h1": 2}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := rank(t, tc.opts, Request{}, tc.hosts)
			if !slices.Equal(names(got), tc.wantOrder) {
				t.Errorf("order = %v, want %v", names(got), tc.wantOrder)
			}
			w := weightsOf(got)
			for h, want := range tc.wantWeights {
				if math.Abs(w[h]-want) > 0.001 {
					t.Errorf("weight of %s = %v, want %v", h, w[h], want)
				}
			}
		})
	}
}

func TestSoftGroupWeighers(t *testing.T) {
	t.Parallel()
	hosts := []HostState{newHost("h1"), newHost("h2"), newHost("h3")}
	members := []InstanceRef{{"a", "h2"}, {"b", "h2"}, {"c", "h3"}}
	cases := []struct {
		name        string
		weigher     string
		policy      string
		wantFirst   string
		wantWeights map[string]float64
	}{
		{"soft affinity prefers the most members", "ServerGroupSoftAffinityWeigher", PolicySoftAffinity, "h2",
			map[string]float64{"h2": 1, "h3": 0.5, "h1": 0}},
		{"soft anti-affinity prefers the fewest", "ServerGroupSoftAntiAffinityWeigher", PolicySoftAntiAffinity, "h1",
			map[string]float64{"h1": 1, "h3": 0.5, "h2": 0}},
		{"other policy weighs nothing", "ServerGroupSoftAffinityWeigher", PolicySoftAntiAffinity, "h1",
			map[string]float64{"h1": 0, "h2": 0, "h3": 0}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req := Request{Group: &ServerGroup{Policy: tc.policy, Members: members}}
			got := rank(t, only(tc.weigher, 1), req, hosts)
			if got[0].Host != tc.wantFirst {
				t.Errorf("first = %s, want %s (%v)", got[0].Host, tc.wantFirst, names(got))
			}
			w := weightsOf(got)
			for h, want := range tc.wantWeights {
				if math.Abs(w[h]-want) > 0.001 {
					t.Errorf("weight of %s = %v, want %v", h, w[h], want)
				}
			}
		})
	}
}

func TestSoftAntiAffinitySpreadsAgainstRAM(t *testing.T) {
	t.Parallel()
	// h1 has far more free RAM, but the group's multiplier outweighs it.
	hosts := []HostState{
		hostWith("h1", func(h *HostState) { h.MemoryMB.Total = 65536 }),
		newHost("h2"), newHost("h3"),
	}
	o := testOptions()
	o.WeightClasses = []string{"RAMWeigher", "ServerGroupSoftAntiAffinityWeigher"}
	o.SoftAntiAffinityWeightMultiplier = 10
	s := mustNew(t, o)
	sel, err := s.Select(Request{NumInstances: 3, Flavor: small(), Group: &ServerGroup{Policy: PolicySoftAntiAffinity}}, hosts)
	if err != nil {
		t.Fatal(err)
	}
	if n := countHosts(sel); len(n) != 3 {
		t.Errorf("soft anti-affinity placed %v, want one per host", hostsOf(sel))
	}
}
