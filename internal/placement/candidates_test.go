package placement_test

import (
	"errors"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/placement"
)

// show renders a result as sorted lines "rp:CLASS=n,...|suffix=rp+rp;..." so
// that tests compare allocation requests regardless of order.
func show(res placement.CandidateResult) []string {
	var out []string
	for _, ar := range res.Requests {
		var parts []string
		for _, r := range ar.Resources {
			parts = append(parts, r.ProviderUUID+":"+r.ResourceClass+"="+itoa(r.Amount))
		}
		sort.Strings(parts)
		var maps []string
		for s, rps := range ar.Mappings {
			maps = append(maps, s+"="+strings.Join(rps, "+"))
		}
		sort.Strings(maps)
		out = append(out, strings.Join(parts, ",")+"|"+strings.Join(maps, ";"))
	}
	sort.Strings(out)
	return out
}

func itoa(n int64) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

func summaryOf(res placement.CandidateResult, uuid string) (placement.ProviderSummary, bool) {
	for _, s := range res.Summaries {
		if s.UUID == uuid {
			return s, true
		}
	}
	return placement.ProviderSummary{}, false
}

func candidates(t *testing.T, f *fakeCloud, cfg placement.Config, req placement.CandidateRequest) placement.CandidateResult {
	t.Helper()
	svc := placement.New(cfg, placement.Deps{Store: f})
	res, err := svc.AllocationCandidates(admin(), req)
	if err != nil {
		t.Fatalf("AllocationCandidates: %v", err)
	}
	return res
}

func group(suffix string, res map[string]int64) placement.RequestGroup {
	return placement.RequestGroup{Suffix: suffix, Resources: res}
}

func same(t *testing.T, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("candidates:\n got %q\nwant %q", got, want)
	}
}

// flatCloud has three compute nodes: cn1 with room, cn2 full of VCPU, cn3
// disabled.
func flatCloud(t *testing.T) *fakeCloud {
	f := newFakeCloud(t)
	for _, cn := range []string{"cn1", "cn2", "cn3"} {
		f.add(cn, "")
		f.inv(cn, "MEMORY_MB", 1024, 0)
		f.inv(cn, "DISK_GB", 100, 0)
	}
	f.inv("cn1", "VCPU", 8, 0)
	f.inv("cn2", "VCPU", 8, 8)
	f.inv("cn3", "VCPU", 8, 0)
	f.trait("cn1", "HW_CPU_X86_AVX2")
	f.trait("cn3", "COMPUTE_STATUS_DISABLED", "HW_CPU_X86_AVX2")
	return f
}

func TestFlatCandidates(t *testing.T) {
	t.Parallel()
	f := flatCloud(t)
	want := []string{"cn1:MEMORY_MB=512,cn1:VCPU=2|=cn1", "cn3:MEMORY_MB=512,cn3:VCPU=2|=cn3"}
	base := group("", map[string]int64{"VCPU": 2, "MEMORY_MB": 512})
	cases := []struct {
		name string
		req  placement.CandidateRequest
		want []string
	}{
		{"room only", placement.CandidateRequest{Groups: []placement.RequestGroup{base}}, want},
		{"forbidden trait", placement.CandidateRequest{Groups: []placement.RequestGroup{{Resources: base.Resources,
			ForbiddenTraits: []string{"COMPUTE_STATUS_DISABLED"}}}}, want[:1]},
		{"required any-of", placement.CandidateRequest{Groups: []placement.RequestGroup{{Resources: base.Resources,
			RequiredTraits: [][]string{{"HW_CPU_X86_AVX2", "HW_CPU_X86_SSE"}}}}}, want},
		{"root forbidden", placement.CandidateRequest{Groups: []placement.RequestGroup{base},
			RootForbidden: []string{"COMPUTE_STATUS_DISABLED"}}, want[:1]},
		{"limit", placement.CandidateRequest{Groups: []placement.RequestGroup{base}, Limit: 1}, want[:1]},
		{"in tree", placement.CandidateRequest{Groups: []placement.RequestGroup{{Resources: base.Resources, InTree: "cn3"}}},
			want[1:]},
		{"granular alone", placement.CandidateRequest{Groups: []placement.RequestGroup{group("1", base.Resources)}},
			[]string{"cn1:MEMORY_MB=512,cn1:VCPU=2|1=cn1", "cn3:MEMORY_MB=512,cn3:VCPU=2|1=cn3"}},
		{"nothing fits", placement.CandidateRequest{Groups: []placement.RequestGroup{group("", map[string]int64{"VCPU": 9})}}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.req.NestedAware, tc.req.WithTraits = true, true
			same(t, show(candidates(t, f, placement.Config{}, tc.req)), tc.want)
		})
	}
}

func TestFlatSummariesListEveryClass(t *testing.T) {
	t.Parallel()
	res := candidates(t, flatCloud(t), placement.Config{}, placement.CandidateRequest{
		Groups: []placement.RequestGroup{group("", map[string]int64{"VCPU": 2})}, NestedAware: true, WithTraits: true})
	s, ok := summaryOf(res, "cn1")
	if !ok {
		t.Fatalf("no summary of cn1 in %+v", res.Summaries)
	}
	if len(s.Resources) != 3 || s.RootUUID != "cn1" || s.ParentUUID != "" || !slices.Equal(s.Traits, []string{"HW_CPU_X86_AVX2"}) {
		t.Errorf("summary of cn1 = %+v, want 3 classes, its own root, no parent and its trait", s)
	}
	if _, ok := summaryOf(res, "cn2"); ok {
		t.Error("cn2 has no candidate but has a summary")
	}
}

// sharedCloud: cn1 without disk and cn2 with disk, both in aggregate A with
// the sharing storage ss.
func sharedCloud(t *testing.T) *fakeCloud {
	f := newFakeCloud(t)
	for _, cn := range []string{"cn1", "cn2", "ss"} {
		f.add(cn, "")
		f.agg(cn, "A")
	}
	f.inv("cn1", "VCPU", 8, 0)
	f.inv("cn2", "VCPU", 8, 0)
	f.inv("cn2", "DISK_GB", 100, 0)
	f.inv("ss", "DISK_GB", 1000, 0)
	f.trait("ss", placement.SharesViaAggregate)
	return f
}

func TestSharingCandidates(t *testing.T) {
	t.Parallel()
	f := sharedCloud(t)
	req := placement.CandidateRequest{Groups: []placement.RequestGroup{group("", map[string]int64{"VCPU": 1, "DISK_GB": 50})},
		NestedAware: true}
	same(t, show(candidates(t, f, placement.Config{}, req)), []string{
		"cn1:VCPU=1,ss:DISK_GB=50|=cn1+ss",
		"cn2:DISK_GB=50,cn2:VCPU=1|=cn2",
		"cn2:VCPU=1,ss:DISK_GB=50|=cn2+ss",
	})
	// Disk alone: the sharing provider once, whichever tree anchors it.
	req.Groups = []placement.RequestGroup{group("", map[string]int64{"DISK_GB": 50})}
	same(t, show(candidates(t, f, placement.Config{}, req)), []string{"cn2:DISK_GB=50|=cn2", "ss:DISK_GB=50|=ss"})
	// A forbidden aggregate rules out the trees in it and the shared disk.
	req.Groups = []placement.RequestGroup{{Resources: map[string]int64{"VCPU": 1, "DISK_GB": 50}, ForbiddenAggs: []string{"A"}}}
	same(t, show(candidates(t, f, placement.Config{}, req)), nil)
}

// nestedCloud: cn1 with two NUMA nodes of 4 VCPU, each parenting a PF with
// 2 VFs; numa1 has CUSTOM_FOO.
func nestedCloud(t *testing.T) *fakeCloud {
	f := newFakeCloud(t)
	f.add("cn1", "")
	f.trait("cn1", "COMPUTE_VOLUME_MULTI_ATTACH")
	for _, n := range []string{"0", "1"} {
		f.add("numa"+n, "cn1")
		f.inv("numa"+n, "VCPU", 4, 0)
		f.add("pf"+n, "numa"+n)
		f.inv("pf"+n, "SRIOV_NET_VF", 2, 0)
	}
	f.trait("numa1", "CUSTOM_FOO")
	return f
}

func TestNestedCandidates(t *testing.T) {
	t.Parallel()
	f := nestedCloud(t)
	unnumbered := placement.CandidateRequest{Groups: []placement.RequestGroup{group("", map[string]int64{"VCPU": 2, "SRIOV_NET_VF": 1})},
		NestedAware: true}
	same(t, show(candidates(t, f, placement.Config{}, unnumbered)), []string{
		"numa0:VCPU=2,pf0:SRIOV_NET_VF=1|=numa0+pf0",
		"numa0:VCPU=2,pf1:SRIOV_NET_VF=1|=numa0+pf1",
		"numa1:VCPU=2,pf0:SRIOV_NET_VF=1|=numa1+pf0",
		"numa1:VCPU=2,pf1:SRIOV_NET_VF=1|=numa1+pf1",
	})
	// Before 1.29 a candidate may use one provider per tree only.
	old := unnumbered
	old.NestedAware = false
	same(t, show(candidates(t, f, placement.Config{}, old)), nil)
	// Required traits are met by the providers of the candidate together.
	withFoo := unnumbered
	withFoo.Groups = []placement.RequestGroup{{Resources: unnumbered.Groups[0].Resources, RequiredTraits: [][]string{{"CUSTOM_FOO"}}}}
	same(t, show(candidates(t, f, placement.Config{}, withFoo)), []string{
		"numa1:VCPU=2,pf0:SRIOV_NET_VF=1|=numa1+pf0",
		"numa1:VCPU=2,pf1:SRIOV_NET_VF=1|=numa1+pf1",
	})
	// root_required looks at cn1, which has no inventory.
	rooted := unnumbered
	rooted.RootForbidden = []string{"COMPUTE_VOLUME_MULTI_ATTACH"}
	same(t, show(candidates(t, f, placement.Config{}, rooted)), nil)
	rooted.RootForbidden, rooted.RootRequired = nil, []string{"COMPUTE_VOLUME_MULTI_ATTACH"}
	if got := show(candidates(t, f, placement.Config{}, rooted)); len(got) != 4 {
		t.Errorf("root_required on the root's trait: %d candidates, want 4", len(got))
	}
	res := candidates(t, f, placement.Config{}, unnumbered)
	if s, _ := summaryOf(res, "pf1"); s.ParentUUID != "numa1" || s.RootUUID != "cn1" {
		t.Errorf("summary of pf1 = %+v, want parent numa1 and root cn1", s)
	}
	if _, ok := summaryOf(res, "cn1"); !ok {
		t.Error("the root without inventory has no summary; every provider of the tree should")
	}
}

func TestGranularGroupPolicy(t *testing.T) {
	t.Parallel()
	f := nestedCloud(t)
	vf := map[string]int64{"SRIOV_NET_VF": 1}
	req := placement.CandidateRequest{Groups: []placement.RequestGroup{group("1", vf), group("2", vf)}, NestedAware: true}
	svc := placement.New(placement.Config{}, placement.Deps{Store: f})
	if _, err := svc.AllocationCandidates(admin(), req); !errors.Is(err, placement.ErrBadRequest) {
		t.Fatalf("two granular groups without group_policy: err %v, want ErrBadRequest", err)
	}
	req.GroupPolicy = "isolate"
	same(t, show(candidates(t, f, placement.Config{}, req)), []string{
		"pf0:SRIOV_NET_VF=1,pf1:SRIOV_NET_VF=1|1=pf0;2=pf1",
		"pf0:SRIOV_NET_VF=1,pf1:SRIOV_NET_VF=1|1=pf1;2=pf0",
	})
	req.GroupPolicy = "none"
	same(t, show(candidates(t, f, placement.Config{}, req)), []string{
		"pf0:SRIOV_NET_VF=1,pf1:SRIOV_NET_VF=1|1=pf0;2=pf1",
		"pf0:SRIOV_NET_VF=1,pf1:SRIOV_NET_VF=1|1=pf1;2=pf0",
		"pf0:SRIOV_NET_VF=2|1=pf0;2=pf0",
		"pf1:SRIOV_NET_VF=2|1=pf1;2=pf1",
	})
	// Three VFs from one PF of two exceed its capacity.
	req.Groups = []placement.RequestGroup{group("1", vf), group("2", map[string]int64{"SRIOV_NET_VF": 2})}
	for _, line := range show(candidates(t, f, placement.Config{}, req)) {
		if strings.Contains(line, "=3") {
			t.Errorf("candidate over capacity: %s", line)
		}
	}
}

func TestSameSubtree(t *testing.T) {
	t.Parallel()
	f := nestedCloud(t)
	req := placement.CandidateRequest{Groups: []placement.RequestGroup{
		group("_CPU", map[string]int64{"VCPU": 1}), group("_NET", map[string]int64{"SRIOV_NET_VF": 1})},
		GroupPolicy: "none", SameSubtrees: [][]string{{"_CPU", "_NET"}}, NestedAware: true}
	same(t, show(candidates(t, f, placement.Config{}, req)), []string{
		"numa0:VCPU=1,pf0:SRIOV_NET_VF=1|_CPU=numa0;_NET=pf0",
		"numa1:VCPU=1,pf1:SRIOV_NET_VF=1|_CPU=numa1;_NET=pf1",
	})
	// A resourceless group names the subtree's top: here NUMA nodes with CUSTOM_FOO.
	req.Groups = append(req.Groups, placement.RequestGroup{Suffix: "_NUMA", RequiredTraits: [][]string{{"CUSTOM_FOO"}}})
	req.SameSubtrees = [][]string{{"_CPU", "_NET", "_NUMA"}}
	same(t, show(candidates(t, f, placement.Config{}, req)), []string{
		"numa1:VCPU=1,pf1:SRIOV_NET_VF=1|_CPU=numa1;_NET=pf1;_NUMA=numa1",
	})
}

func TestMemberOfOnTreeRoot(t *testing.T) {
	t.Parallel()
	f := nestedCloud(t)
	f.agg("cn1", "A")
	req := placement.CandidateRequest{Groups: []placement.RequestGroup{{Resources: map[string]int64{"VCPU": 1},
		MemberOf: [][]string{{"A"}}}}, NestedAware: true}
	if got := show(candidates(t, f, placement.Config{}, req)); len(got) != 2 {
		t.Errorf("unnumbered member_of on the root: %q, want both NUMA nodes", got)
	}
	// A granular group needs the provider itself in the aggregate.
	req.Groups[0].Suffix = "1"
	same(t, show(candidates(t, f, placement.Config{}, req)), nil)
}

func TestLimitsAndStrategies(t *testing.T) {
	t.Parallel()
	f := newFakeCloud(t)
	for _, cn := range []string{"a", "b"} {
		f.add(cn, "")
		for _, n := range []string{"0", "1"} {
			f.add(cn+n, cn)
			f.inv(cn+n, "VCPU", 4, 0)
		}
	}
	req := placement.CandidateRequest{Groups: []placement.RequestGroup{group("", map[string]int64{"VCPU": 1})},
		NestedAware: true, Limit: 2}
	same(t, show(candidates(t, f, placement.Config{}, req)), []string{"a0:VCPU=1|=a0", "a1:VCPU=1|=a1"})
	same(t, show(candidates(t, f, placement.Config{BreadthFirst: true}, req)), []string{"a0:VCPU=1|=a0", "b0:VCPU=1|=b0"})
	req.Limit = 0
	if got := show(candidates(t, f, placement.Config{MaxCandidates: 3}, req)); len(got) != 3 {
		t.Errorf("max_allocation_candidates 3: %d candidates", len(got))
	}
	reversed := func(n int, swap func(i, j int)) {
		for i := 0; i < n/2; i++ {
			swap(i, n-1-i)
		}
	}
	req.Limit = 1
	svc := placement.New(placement.Config{RandomizeCandidates: true}, placement.Deps{Store: f, Shuffle: reversed})
	res, err := svc.AllocationCandidates(admin(), req)
	if err != nil {
		t.Fatal(err)
	}
	same(t, show(res), []string{"b0:VCPU=1|=b0"})
}

func TestCandidateNamesMustExist(t *testing.T) {
	t.Parallel()
	f := flatCloud(t)
	svc := placement.New(placement.Config{}, placement.Deps{Store: f})
	for name, req := range map[string]placement.CandidateRequest{
		"class": {Groups: []placement.RequestGroup{group("", map[string]int64{"CUSTOM_NOPE": 1})}},
		"trait": {Groups: []placement.RequestGroup{{Resources: map[string]int64{"VCPU": 1}, RequiredTraits: [][]string{{"CUSTOM_NOPE"}}}}},
		"root":  {Groups: []placement.RequestGroup{group("", map[string]int64{"VCPU": 1})}, RootRequired: []string{"CUSTOM_NOPE"}},
	} {
		_, err := svc.AllocationCandidates(admin(), req)
		var pe *placement.Error
		if !errors.As(err, &pe) || !errors.Is(err, placement.ErrBadRequest) || !strings.Contains(pe.Message, "CUSTOM_NOPE") {
			t.Errorf("%s: err %v, want a 400 naming CUSTOM_NOPE", name, err)
		}
	}
	// An in_tree provider that does not exist matches nothing, without error.
	res, err := svc.AllocationCandidates(admin(), placement.CandidateRequest{Groups: []placement.RequestGroup{
		{Resources: map[string]int64{"VCPU": 1}, InTree: "nope"}}})
	if err != nil || len(res.Requests) != 0 {
		t.Errorf("unknown in_tree: %d requests, err %v", len(res.Requests), err)
	}
}
