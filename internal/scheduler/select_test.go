package scheduler

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
)

func threeHosts() []HostState { return []HostState{newHost("h1"), newHost("h2"), newHost("h3")} }

func TestSelectSpreadsTwentyInstancesOverThreeHosts(t *testing.T) {
	t.Parallel()
	hosts := []HostState{
		hostWith("h1", func(h *HostState) { h.VCPU.AllocationRatio = 4 }),
		hostWith("h2", func(h *HostState) { h.VCPU.AllocationRatio = 4 }),
		hostWith("h3", func(h *HostState) { h.VCPU.AllocationRatio = 4 }),
	}
	flavor := Flavor{VCPUs: 1, MemoryMB: 512, RootGB: 1}
	sel, err := mustNew(t, testOptions()).Select(Request{NumInstances: 20, Flavor: flavor}, hosts)
	if err != nil {
		t.Fatal(err)
	}
	n := countHosts(sel)
	lo, hi := 20, 0
	for _, h := range []string{"h1", "h2", "h3"} {
		lo, hi = min(lo, n[h]), max(hi, n[h])
	}
	if lo != 6 || hi != 7 {
		t.Errorf("placed %v, want 7/7/6", n)
	}
	// The first choice is weighed as it was when chosen: every weigher
	// gives equal empty hosts their whole multiplier.
	if sel[0].Weight != 3 {
		t.Errorf("first selection weighs %v, want 3", sel[0].Weight)
	}
}

func TestSelectPacksWithNegativeMultipliers(t *testing.T) {
	t.Parallel()
	o := testOptions()
	o.RAMWeightMultiplier, o.CPUWeightMultiplier, o.DiskWeightMultiplier = -1, -1, -1
	sel, err := mustNew(t, o).Select(Request{NumInstances: 20, Flavor: small()}, threeHosts())
	if err != nil {
		t.Fatal(err)
	}
	// 8 VCPUs per host: the first host fills, then the next.
	if n := countHosts(sel); n["h1"] != 8 || n["h2"] != 8 || n["h3"] != 4 {
		t.Errorf("placed %v, want h1 8, h2 8, h3 4", n)
	}
}

func TestSelectAntiAffinityWithMaxServerPerHost(t *testing.T) {
	t.Parallel()
	group := func() *ServerGroup {
		return &ServerGroup{UUID: "g", Policy: PolicyAntiAffinity, MaxServerPerHost: 2, Members: []InstanceRef{{"old", "h1"}}}
	}
	s := mustNew(t, testOptions())
	sel, err := s.Select(Request{NumInstances: 5, Flavor: small(), Group: group()}, threeHosts())
	if err != nil {
		t.Fatal(err)
	}
	if n := countHosts(sel); n["h1"] != 1 || n["h2"] != 2 || n["h3"] != 2 {
		t.Errorf("placed %v, want h1 1 (it has one member), h2 2, h3 2", n)
	}
	_, err = s.Select(Request{NumInstances: 6, Flavor: small(), Group: group()}, threeHosts())
	nv := noValidHost(t, err)
	want := "No valid host was found. There are not enough hosts available. 5 of 6 instances found a host. " +
		"ServerGroupAntiAffinityFilter rejected 3 hosts (has 2 of the group's servers, max_server_per_host 2)."
	if nv.Error() != want {
		t.Errorf("error\n got %s\nwant %s", nv.Error(), want)
	}
}

func TestSelectAntiAffinityDefaultIsOnePerHost(t *testing.T) {
	t.Parallel()
	req := Request{InstanceUUIDs: []string{"a", "b", "c"}, Flavor: small(), Group: &ServerGroup{Policy: PolicyAntiAffinity}}
	hosts := append(threeHosts(), hostWith("h4", func(h *HostState) { h.MemoryMB.Total = 65536 }))
	sel, err := mustNew(t, testOptions()).Select(req, hosts)
	if err != nil {
		t.Fatal(err)
	}
	if n := countHosts(sel); len(n) != 3 {
		t.Errorf("placed %v, want three different hosts", hostsOf(sel))
	}
	for i, s := range sel {
		if s.InstanceUUID != req.InstanceUUIDs[i] {
			t.Errorf("selection %d is for %q, want %q", i, s.InstanceUUID, req.InstanceUUIDs[i])
		}
		for _, a := range s.Alternates {
			if a.Host == s.Host {
				t.Errorf("instance %s: alternate %s is its own host", s.InstanceUUID, a.Host)
			}
		}
	}
}

func TestSelectAffinityKeepsTheGroupTogether(t *testing.T) {
	t.Parallel()
	s := mustNew(t, testOptions())
	sel, err := s.Select(Request{NumInstances: 4, Flavor: small(), Group: &ServerGroup{Policy: PolicyAffinity}}, threeHosts())
	if err != nil {
		t.Fatal(err)
	}
	if n := countHosts(sel); len(n) != 1 {
		t.Errorf("affinity placed %v, want one host", hostsOf(sel))
	}
	// A member already on h3 draws the new ones there.
	sel, err = s.Select(Request{NumInstances: 2, Flavor: small(), Group: &ServerGroup{Policy: PolicyAffinity, Members: []InstanceRef{{"m", "h3"}}}}, threeHosts())
	if err != nil {
		t.Fatal(err)
	}
	if got := hostsOf(sel); !slices.Equal(got, []string{"h3", "h3"}) {
		t.Errorf("placed %v, want h3 twice", got)
	}
	// When h3 is full the group has nowhere to go.
	hosts := threeHosts()
	hosts[2].MemoryMB.Used = 16384
	_, err = s.Select(Request{NumInstances: 1, Flavor: small(), Group: &ServerGroup{Policy: PolicyAffinity, Members: []InstanceRef{{"m", "h3"}}}}, hosts)
	want := "ServerGroupAffinityFilter rejected 2 hosts (not a host of the group, whose servers are on h3), RamFilter rejected 1 host (needs 2048 MB, best had 0 MB free)."
	if err == nil || !strings.HasSuffix(err.Error(), want) {
		t.Errorf("error = %v, want it to end %q", err, want)
	}
}

func TestNoValidHostNamesEachFilter(t *testing.T) {
	t.Parallel()
	hosts := []HostState{
		hostWith("h1", func(h *HostState) { h.Disabled, h.DisabledReason = true, "maintenance" }),
		hostWith("h2", func(h *HostState) { h.MemoryMB.Used = 14336 }),
		hostWith("h3", func(h *HostState) { h.MemoryMB.Used = 15360 }),
	}
	_, err := mustNew(t, testOptions()).Select(Request{NumInstances: 1, Flavor: Flavor{VCPUs: 1, MemoryMB: 4096}}, hosts)
	nv := noValidHost(t, err)
	want := "No valid host was found. There are not enough hosts available. " +
		"ComputeFilter rejected 1 host (disabled: maintenance), RamFilter rejected 2 hosts (needs 4096 MB, best had 2048 MB free)."
	if nv.Error() != want {
		t.Errorf("error\n got %s\nwant %s", nv.Error(), want)
	}
	wantReports := []FilterReport{
		{Filter: "ComputeFilter", Rejected: 1, Reason: "disabled: maintenance", Hosts: []string{"h1"}},
		{Filter: "RamFilter", Rejected: 2, Reason: "needs 4096 MB, best had 2048 MB free", Hosts: []string{"h2", "h3"}},
	}
	if !reflect.DeepEqual(nv.Filters, wantReports) {
		t.Errorf("reports = %+v, want %+v", nv.Filters, wantReports)
	}
}

func TestNoValidHostMessages(t *testing.T) {
	t.Parallel()
	down := func(name string) HostState { return hostWith(name, func(h *HostState) { h.Up = false }) }
	cases := []struct {
		name  string
		opts  func(o *Options)
		req   Request
		hosts []HostState
		want  string
	}{
		{"no hosts at all", nil, Request{}, nil, "No valid host was found. There are no compute hosts."},
		{"reasons counted", nil, Request{}, []HostState{
			down("h1"), down("h2"), hostWith("h3", func(h *HostState) { h.Disabled = true }),
		}, "ComputeFilter rejected 3 hosts (2 down; 1 disabled)."},
		{"zone", nil, Request{AvailabilityZone: "east"}, []HostState{
			newHost("h1"), hostWith("h2", func(h *HostState) { h.AvailabilityZone = "west" }), newHost("h3"),
		}, "AvailabilityZoneFilter rejected 3 hosts (zone east requested; 2 in zone nova; 1 in zone west)."},
		{"retry and vcpus", nil, Request{IgnoreHosts: []string{"h1"}, Flavor: Flavor{VCPUs: 6, MemoryMB: 1}}, []HostState{
			newHost("h1"), hostWith("h2", func(h *HostState) { h.VCPU.Used = 4 }), hostWith("h3", func(h *HostState) { h.VCPU.Used = 3 }),
		}, "RetryFilter rejected 1 host (tried already), CoreFilter rejected 2 hosts (needs 6 VCPUs, best had 5 VCPUs free)."},
		{"max_unit and capacity", nil, Request{Flavor: Flavor{VCPUs: 1, MemoryMB: 1, RootGB: 80}}, []HostState{
			hostWith("h1", func(h *HostState) { h.DiskGB.MaxUnit = 50 }), hostWith("h2", func(h *HostState) { h.DiskGB.Used = 30 }),
			hostWith("h3", func(h *HostState) { h.DiskGB = Inventory{} }),
		}, "DiskFilter rejected 3 hosts (needs 80 GB, 1 without enough free, best had 70 GB, over the DISK_GB max_unit of 1 host (at most 50 GB), 1 without DISK_GB inventory)."},
		{"configured position of a resource check", func(o *Options) { o.EnabledFilters = []string{"RamFilter", "ComputeFilter"} },
			Request{Flavor: Flavor{MemoryMB: 16000}}, []HostState{
				hostWith("h1", func(h *HostState) { h.Up, h.MemoryMB.Used = false, 2048 }), hostWith("h2", func(h *HostState) { h.MemoryMB.Used = 4096 }),
			}, "RamFilter rejected 2 hosts (needs 16000 MB, best had 14336 MB free)."},
		{"image", nil, Request{ImageProperties: map[string]string{"hw_architecture": "aarch64"}}, threeHosts(),
			"ImagePropertiesFilter rejected 3 hosts (supports no hw_architecture=aarch64)."},
		{"many reasons are capped", func(o *Options) { o.EnabledFilters = []string{"AvailabilityZoneFilter"} },
			Request{AvailabilityZone: "z"}, []HostState{
				hostWith("h1", func(h *HostState) { h.AvailabilityZone = "a" }), hostWith("h2", func(h *HostState) { h.AvailabilityZone = "b" }),
				hostWith("h3", func(h *HostState) { h.AvailabilityZone = "c" }), hostWith("h4", func(h *HostState) { h.AvailabilityZone = "d" }),
				hostWith("h5", func(h *HostState) { h.AvailabilityZone = "e" }), hostWith("h6", func(h *HostState) { h.AvailabilityZone = "e" }),
			}, "AvailabilityZoneFilter rejected 6 hosts (zone z requested; 2 in zone e; 1 in zone a; 1 in zone b; 1 in zone c; 1 for other reasons)."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := testOptions()
			if tc.opts != nil {
				tc.opts(&o)
			}
			if tc.req.Flavor.VCPUs == 0 && tc.req.Flavor.MemoryMB == 0 && tc.req.Flavor.RootGB == 0 {
				tc.req.Flavor = small()
			}
			tc.req.NumInstances = 1
			_, err := mustNew(t, o).Select(tc.req, tc.hosts)
			nv := noValidHost(t, err)
			if !strings.HasSuffix(nv.Error(), tc.want) {
				t.Errorf("error\n got %s\nwant it to end %s", nv.Error(), tc.want)
			}
		})
	}
}

func TestSelectConsumesResourcesBetweenInstances(t *testing.T) {
	t.Parallel()
	big := Flavor{VCPUs: 4, MemoryMB: 12288, RootGB: 20}
	s := mustNew(t, testOptions())
	sel, err := s.Select(Request{NumInstances: 2, Flavor: big}, []HostState{newHost("h1"), newHost("h2")})
	if err != nil {
		t.Fatal(err)
	}
	if got := hostsOf(sel); !slices.Equal(got, []string{"h1", "h2"}) {
		t.Errorf("placed %v, want h1 then h2", got)
	}
	if len(sel[0].Alternates) != 0 || len(sel[1].Alternates) != 0 {
		t.Errorf("alternates %v %v: a full host is no alternate", sel[0].Alternates, sel[1].Alternates)
	}
	_, err = s.Select(Request{NumInstances: 3, Flavor: big}, []HostState{newHost("h1"), newHost("h2")})
	want := "2 of 3 instances found a host. RamFilter rejected 2 hosts (needs 12288 MB, best had 4096 MB free)."
	if err == nil || !strings.HasSuffix(err.Error(), want) {
		t.Errorf("error = %v, want it to end %q", err, want)
	}
}

func TestSelectAlternates(t *testing.T) {
	t.Parallel()
	used := func(name string, mb int64) HostState {
		return hostWith(name, func(h *HostState) { h.MemoryMB.Used = mb })
	}
	hosts := []HostState{used("h1", 4096), used("h2", 0), used("h3", 8192), used("h4", 1024), used("h5", 12288)}
	o := testOptions()
	o.WeightClasses = []string{"RAMWeigher"}
	s := mustNew(t, o)
	sel, err := s.Select(Request{NumInstances: 1, Flavor: small()}, hosts)
	if err != nil {
		t.Fatal(err)
	}
	if sel[0].Host != "h2" || sel[0].Index != 1 || !slices.Equal(names(sel[0].Alternates), []string{"h4", "h1"}) {
		t.Errorf("got %s (index %d) with %v, want h2 (index 1) with h4, h1", sel[0].Host, sel[0].Index, names(sel[0].Alternates))
	}
	// Two instances: alternates skip the hosts the request took.
	sel, err = s.Select(Request{NumInstances: 2, Flavor: small()}, hosts)
	if err != nil {
		t.Fatal(err)
	}
	if got := hostsOf(sel); !slices.Equal(got, []string{"h2", "h4"}) {
		t.Fatalf("placed %v, want h2, h4", got)
	}
	for _, s := range sel {
		if !slices.Equal(names(s.Alternates), []string{"h1", "h3"}) {
			t.Errorf("%s alternates %v, want h1, h3", s.Host, names(s.Alternates))
		}
	}
	// With every host taken, the other instances' hosts are alternates.
	sel, err = s.Select(Request{NumInstances: 3, Flavor: small()}, threeHosts())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sel {
		if len(s.Alternates) != 2 || slices.Contains(names(s.Alternates), s.Host) {
			t.Errorf("%s alternates %v, want the two other hosts", s.Host, names(s.Alternates))
		}
	}
	// max_attempts 1: no alternates.
	o.MaxAttempts = 1
	sel, err = mustNew(t, o).Select(Request{NumInstances: 1, Flavor: small()}, hosts)
	if err != nil || len(sel[0].Alternates) != 0 {
		t.Errorf("max_attempts 1 gave %v, %v", sel, err)
	}
}

func TestHostSubsetSize(t *testing.T) {
	t.Parallel()
	used := func(name string, mb int64) HostState {
		return hostWith(name, func(h *HostState) { h.MemoryMB.Used = mb })
	}
	hosts := []HostState{used("h1", 0), used("h2", 2048), used("h3", 4096), used("h4", 8192)}
	o := testOptions()
	o.HostSubsetSize = 3
	s := mustNew(t, o)
	seen := map[string]int{}
	for range 200 {
		sel, err := s.Select(Request{NumInstances: 1, Flavor: small()}, hosts)
		if err != nil {
			t.Fatal(err)
		}
		seen[sel[0].Host]++
		if slices.Contains(names(sel[0].Alternates), sel[0].Host) {
			t.Fatalf("alternates %v contain the primary %s", names(sel[0].Alternates), sel[0].Host)
		}
	}
	if seen["h4"] != 0 || seen["h1"] == 0 || seen["h2"] == 0 || seen["h3"] == 0 {
		t.Errorf("choices %v, want only and each of the best three", seen)
	}
}

func TestShuffleBestSameWeighedHosts(t *testing.T) {
	t.Parallel()
	hosts := []HostState{newHost("h1"), newHost("h2"), newHost("h3"), hostWith("h4", func(h *HostState) { h.MemoryMB.Used = 8192 })}
	for _, shuffle := range []bool{false, true} {
		o := testOptions()
		o.ShuffleBestSameWeighedHosts = shuffle
		s := mustNew(t, o)
		seen := map[string]int{}
		for range 100 {
			sel, err := s.Select(Request{NumInstances: 1, Flavor: small()}, hosts)
			if err != nil {
				t.Fatal(err)
			}
			seen[sel[0].Host]++
		}
		switch {
		case !shuffle && seen["h1"] != 100:
			t.Errorf("without shuffle chose %v, want h1 always", seen)
		case shuffle && (len(seen) != 3 || seen["h4"] != 0):
			t.Errorf("with shuffle chose %v, want each of h1-h3 and never h4", seen)
		}
	}
}

func TestForcedAndRequestedHosts(t *testing.T) {
	t.Parallel()
	hosts := []HostState{
		hostWith("h1", func(h *HostState) { h.Disabled = true }),
		newHost("h2"),
		hostWith("h3", func(h *HostState) { h.MemoryMB.Used = 16384 }),
	}
	s := mustNew(t, testOptions())
	cases := []struct {
		name, want, wantErr string
		req                 Request
	}{
		{name: "forced host skips filters", req: Request{ForceHosts: []string{"h1"}}, want: "h1"},
		{name: "forced node", req: Request{ForceNodes: []string{"h2"}}, want: "h2"},
		{name: "forced host still needs room", req: Request{ForceHosts: []string{"h3"}},
			wantErr: "RequestedDestination rejected 2 hosts (not a forced host), RamFilter rejected 1 host (needs 2048 MB, best had 0 MB free)."},
		{name: "requested destination runs filters", req: Request{Destination: &Destination{Host: "h1"}},
			wantErr: "RequestedDestination rejected 2 hosts (not the requested host), ComputeFilter rejected 1 host (disabled)."},
		{name: "requested node", req: Request{Destination: &Destination{Node: "h2"}}, want: "h2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.req.NumInstances, tc.req.Flavor = 1, small()
			sel, err := s.Select(tc.req, hosts)
			if tc.wantErr != "" {
				if err == nil || !strings.HasSuffix(err.Error(), tc.wantErr) {
					t.Errorf("error = %v, want it to end %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || sel[0].Host != tc.want {
				t.Errorf("got %v, %v; want %s", sel, err, tc.want)
			}
		})
	}
}

func TestRebuildRunsOnlyRebuildFilters(t *testing.T) {
	t.Parallel()
	// The instance's own host is full and disabled: a rebuild claims
	// nothing and ComputeFilter does not run, but the image must fit.
	host := hostWith("h1", func(h *HostState) { h.Disabled, h.MemoryMB.Used = true, 16384 })
	s := mustNew(t, testOptions())
	req := Request{InstanceUUIDs: []string{"a"}, Flavor: small(), Rebuild: true, Destination: &Destination{Host: "h1"}}
	if _, err := s.Select(req, []HostState{host}); err != nil {
		t.Fatalf("rebuild: %v", err)
	}
	req.ImageProperties = map[string]string{"hw_architecture": "ppc64le"}
	_, err := s.Select(req, []HostState{host})
	if err == nil || !strings.HasSuffix(err.Error(), "ImagePropertiesFilter rejected 1 host (supports no hw_architecture=ppc64le).") {
		t.Errorf("error = %v", err)
	}
}

func TestSelectLeavesHostsUnchanged(t *testing.T) {
	t.Parallel()
	hosts := threeHosts()
	hosts[0].Instances = []Instance{{UUID: "m"}}
	before := fmt.Sprintf("%+v", hosts)
	req := Request{NumInstances: 5, Flavor: small(), Group: &ServerGroup{Policy: PolicySoftAffinity, Members: []InstanceRef{{UUID: "m"}}}}
	if _, err := mustNew(t, testOptions()).Select(req, hosts); err != nil {
		t.Fatal(err)
	}
	if after := fmt.Sprintf("%+v", hosts); after != before {
		t.Errorf("Select changed its input:\n%s\n%s", before, after)
	}
}

func TestInvalidRequestsAndOptions(t *testing.T) {
	t.Parallel()
	s := mustNew(t, testOptions())
	for _, req := range []Request{
		{NumInstances: 0, Flavor: small()},
		{NumInstances: 1, Flavor: small(), Group: &ServerGroup{Policy: "together"}},
		{NumInstances: 1, Flavor: small(), Group: &ServerGroup{Policy: PolicyAntiAffinity, MaxServerPerHost: -1}},
		{NumInstances: 1, Flavor: Flavor{MemoryMB: -1}},
	} {
		if _, err := s.Select(req, threeHosts()); !errors.Is(err, ErrInvalidRequest) {
			t.Errorf("Select(%+v) = %v, want ErrInvalidRequest", req, err)
		}
	}
	bad := []struct {
		change func(o *Options)
		want   string
	}{
		{func(o *Options) { o.EnabledFilters = []string{"ComputeFilter", "RamFiltr"} }, `[filter_scheduler] enabled_filters: unknown filter "RamFiltr"`},
		{func(o *Options) { o.WeightClasses = []string{"GPUWeigher"} }, `[filter_scheduler] weight_classes: unknown weigher "GPUWeigher"`},
		{func(o *Options) { o.HostSubsetSize = 0 }, "[filter_scheduler] host_subset_size must be at least 1, got 0"},
		{func(o *Options) { o.MaxAttempts = 0 }, "[scheduler] max_attempts must be at least 1, got 0"},
		{func(o *Options) { o.SoftAffinityWeightMultiplier = -1 }, "must not be negative"},
		{func(o *Options) { o.ImagePropertiesDefaultArchitecture = "z80" }, `"z80" is not a known architecture`},
	}
	for _, b := range bad {
		o := testOptions()
		b.change(&o)
		if _, err := New(o); err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("New = %v, want %q", err, b.want)
		}
	}
}

func TestSelectIsSafeForConcurrentUse(t *testing.T) {
	t.Parallel()
	o := testOptions()
	o.HostSubsetSize, o.ShuffleBestSameWeighedHosts = 2, true
	s := mustNew(t, o)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			for range 50 {
				if _, err := s.Select(Request{NumInstances: 3, Flavor: small()}, threeHosts()); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestDefaultOptionsBuild(t *testing.T) {
	t.Parallel()
	o := DefaultOptions()
	o.Rand = rand.New(rand.NewPCG(3, 4))
	s := mustNew(t, o)
	var got []string
	for _, f := range s.chain {
		got = append(got, f.name)
	}
	want := append(slices.Clone(DefaultFilters), "CoreFilter", "RamFilter", "DiskFilter")
	if !slices.Equal(got, want) {
		t.Errorf("chain = %v, want %v", got, want)
	}
}
