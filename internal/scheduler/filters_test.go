package scheduler

import (
	"testing"
)

type filterCase struct {
	name       string
	opts       func(o *Options)
	req        Request
	host       HostState
	wantOK     bool
	wantReason string
}

func runFilterCases(t *testing.T, filter string, cases []filterCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := testOptions()
			if tc.opts != nil {
				tc.opts(&o)
			}
			if tc.req.Flavor.Name == "" && tc.req.Flavor.VCPUs == 0 && tc.req.Flavor.ExtraSpecs == nil {
				tc.req.Flavor = small()
			}
			if tc.host.Host == "" {
				tc.host = newHost("h1")
			}
			reason, ok := verdict(t, filter, o, tc.req, tc.host)
			if ok != tc.wantOK || reason != tc.wantReason {
				t.Errorf("%s = (%q, %v), want (%q, %v)", filter, reason, ok, tc.wantReason, tc.wantOK)
			}
		})
	}
}

func agg(md map[string]string) []Aggregate { return []Aggregate{{Name: "agg", Metadata: md}} }

func TestComputeFilter(t *testing.T) {
	t.Parallel()
	runFilterCases(t, "ComputeFilter", []filterCase{
		{name: "up and enabled", wantOK: true},
		{name: "down", host: hostWith("h1", func(h *HostState) { h.Up = false }), wantReason: "down"},
		{name: "disabled with reason", host: hostWith("h1", func(h *HostState) { h.Disabled, h.DisabledReason = true, "maintenance" }), wantReason: "disabled: maintenance"},
		{name: "disabled and down says disabled", host: hostWith("h1", func(h *HostState) { h.Disabled, h.Up = true, false }), wantReason: "disabled"},
	})
}

func TestAvailabilityZoneFilter(t *testing.T) {
	t.Parallel()
	runFilterCases(t, "AvailabilityZoneFilter", []filterCase{
		{name: "no zone requested", host: hostWith("h1", func(h *HostState) { h.AvailabilityZone = "east" }), wantOK: true},
		{name: "default zone", req: Request{AvailabilityZone: "nova"}, wantOK: true},
		{name: "default zone from options", opts: func(o *Options) { o.DefaultAvailabilityZone = "dc1" },
			req: Request{AvailabilityZone: "nova"}, wantReason: "dc1"},
		{name: "resolved zone", req: Request{AvailabilityZone: "east"},
			host: hostWith("h1", func(h *HostState) { h.AvailabilityZone = "east" }), wantOK: true},
		{name: "aggregate zone wins over resolved", req: Request{AvailabilityZone: "east"},
			host: hostWith("h1", func(h *HostState) {
				h.AvailabilityZone = "east"
				h.Aggregates = agg(map[string]string{"availability_zone": "west"})
			}), wantReason: "west"},
		{name: "one of several aggregate zones", req: Request{AvailabilityZone: "east"},
			host: hostWith("h1", func(h *HostState) {
				h.Aggregates = []Aggregate{{Metadata: map[string]string{"availability_zone": "west"}}, {Metadata: map[string]string{"availability_zone": "east"}}}
			}), wantOK: true},
		{name: "elsewhere", req: Request{AvailabilityZone: "east"}, wantReason: "nova"},
	})
}

func TestImagePropertiesFilter(t *testing.T) {
	t.Parallel()
	props := func(kv ...string) Request {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return Request{ImageProperties: m}
	}
	runFilterCases(t, "ImagePropertiesFilter", []filterCase{
		{name: "no properties", req: props("os_type", "linux"), wantOK: true},
		{name: "matching architecture", req: props("hw_architecture", "x86_64"), wantOK: true},
		{name: "canonical architecture alias", req: props("hw_architecture", "AMD64"), wantOK: true},
		{name: "other architecture", req: props("hw_architecture", "aarch64"), wantReason: "supports no hw_architecture=aarch64"},
		{name: "default architecture applies", opts: func(o *Options) { o.ImagePropertiesDefaultArchitecture = "aarch64" },
			req: props(), wantReason: "supports no hw_architecture=aarch64"},
		{name: "hypervisor type and mode", req: props("img_hv_type", "KVM", "hw_vm_mode", "hv"), wantOK: true},
		{name: "xen on kvm host", req: props("img_hv_type", "xapi"), wantReason: "supports no img_hv_type=xen"},
		{name: "unknown architecture", req: props("hw_architecture", "pdp11"), wantReason: `image hw_architecture "pdp11" is not a known architecture`},
		{name: "nothing advertised", req: props("hw_architecture", "x86_64"),
			host: hostWith("h1", func(h *HostState) { h.SupportedInstances = nil }), wantReason: "reports no supported instances"},
		{name: "version satisfied", req: props("img_hv_type", "qemu", "img_hv_requested_version", ">=8.0, <9"), wantOK: true},
		{name: "version too old", req: props("img_hv_type", "qemu", "img_hv_requested_version", ">=9.1"),
			wantReason: "hypervisor version 8.2.0 does not satisfy img_hv_requested_version >=9.1"},
		{name: "version ignored without typed properties", req: props("img_hv_requested_version", ">=9.1"), wantOK: true},
		{name: "bad version predicate", req: props("img_hv_type", "qemu", "img_hv_requested_version", "9.1"),
			wantReason: `image img_hv_requested_version "9.1": "9.1" has no comparison operator (<=, >=, <, >, ==, !=)`},
		{name: "enough address bits", req: props("hw_architecture", "x86_64", "hw_maxphysaddr_bits", "40"),
			host: hostWith("h1", func(h *HostState) { h.CPUInfo.MaxPhysAddrBits = 46 }), wantOK: true},
		{name: "too few address bits", req: props("hw_architecture", "x86_64", "hw_maxphysaddr_bits", "48"),
			host: hostWith("h1", func(h *HostState) { h.CPUInfo.MaxPhysAddrBits = 46 }), wantReason: "CPU has 46 physical address bits, image needs 48"},
		{name: "unknown address bits pass", req: props("hw_architecture", "x86_64", "hw_maxphysaddr_bits", "48"), wantOK: true},
	})
}

func TestServerGroupAntiAffinityFilter(t *testing.T) {
	t.Parallel()
	group := func(max int, members ...InstanceRef) *ServerGroup {
		return &ServerGroup{UUID: "g", Policy: PolicyAntiAffinity, MaxServerPerHost: max, Members: members}
	}
	runFilterCases(t, "ServerGroupAntiAffinityFilter", []filterCase{
		{name: "no group", wantOK: true},
		{name: "other policy", req: Request{Group: &ServerGroup{Policy: PolicyAffinity, Members: []InstanceRef{{"a", "h1"}}}}, wantOK: true},
		{name: "no member here", req: Request{Group: group(0, InstanceRef{"a", "h2"})}, wantOK: true},
		{name: "member here by resolved host", req: Request{Group: group(0, InstanceRef{"a", "h1"})},
			wantReason: "has 1 of the group's servers, max_server_per_host 1"},
		{name: "member here by host's instances", req: Request{Group: group(0, InstanceRef{UUID: "a"})},
			host:       hostWith("h1", func(h *HostState) { h.Instances = []Instance{{UUID: "a"}} }),
			wantReason: "has 1 of the group's servers, max_server_per_host 1"},
		{name: "member counted once from both", req: Request{Group: group(2, InstanceRef{"a", "h1"})},
			host: hostWith("h1", func(h *HostState) { h.Instances = []Instance{{UUID: "a"}} }), wantOK: true},
		{name: "under max_server_per_host", req: Request{Group: group(3, InstanceRef{"a", "h1"}, InstanceRef{"b", "h1"})}, wantOK: true},
		{name: "at max_server_per_host", req: Request{Group: group(2, InstanceRef{"a", "h1"}, InstanceRef{"b", "h1"})},
			wantReason: "has 2 of the group's servers, max_server_per_host 2"},
		{name: "a moved instance passes on its own host", req: Request{InstanceUUIDs: []string{"a"}, Group: group(0, InstanceRef{"a", "h1"})},
			host: hostWith("h1", func(h *HostState) { h.Instances = []Instance{{UUID: "a"}} }), wantOK: true},
	})
}

func TestServerGroupAffinityFilter(t *testing.T) {
	t.Parallel()
	group := func(members ...InstanceRef) *ServerGroup {
		return &ServerGroup{UUID: "g", Policy: PolicyAffinity, Members: members}
	}
	runFilterCases(t, "ServerGroupAffinityFilter", []filterCase{
		{name: "no group", wantOK: true},
		{name: "empty group goes anywhere", req: Request{Group: group()}, wantOK: true},
		{name: "unplaced members go anywhere", req: Request{Group: group(InstanceRef{UUID: "a"})}, wantOK: true},
		{name: "the group's host", req: Request{Group: group(InstanceRef{"a", "h1"})}, wantOK: true},
		{name: "another host", req: Request{Group: group(InstanceRef{"a", "h2"})}, wantReason: "not a host of the group"},
		{name: "soft policy is no filter", req: Request{Group: &ServerGroup{Policy: PolicySoftAffinity, Members: []InstanceRef{{"a", "h2"}}}}, wantOK: true},
	})
}

func TestSameAndDifferentHostFilters(t *testing.T) {
	t.Parallel()
	withA := hostWith("h1", func(h *HostState) { h.Instances = []Instance{{UUID: "a"}} })
	runFilterCases(t, "SameHostFilter", []filterCase{
		{name: "no hint", wantOK: true},
		{name: "resolved host", req: Request{SameHost: []InstanceRef{{"a", "h1"}}}, wantOK: true},
		{name: "instance on host", req: Request{SameHost: []InstanceRef{{UUID: "a"}, {UUID: "b"}}}, host: withA, wantOK: true},
		{name: "elsewhere", req: Request{SameHost: []InstanceRef{{"a", "h2"}}}, wantReason: "runs none of the same_host instances"},
		{name: "unknown instance", req: Request{SameHost: []InstanceRef{{UUID: "zz"}}}, wantReason: "runs none of the same_host instances"},
	})
	runFilterCases(t, "DifferentHostFilter", []filterCase{
		{name: "no hint", wantOK: true},
		{name: "resolved host", req: Request{DifferentHost: []InstanceRef{{"a", "h1"}}}, wantReason: "runs a different_host instance"},
		{name: "instance on host", req: Request{DifferentHost: []InstanceRef{{UUID: "a"}}}, host: withA, wantReason: "runs a different_host instance"},
		{name: "elsewhere", req: Request{DifferentHost: []InstanceRef{{"a", "h2"}}}, wantOK: true},
	})
}

func TestAggregateInstanceExtraSpecsFilter(t *testing.T) {
	t.Parallel()
	specs := func(kv ...string) Request {
		f := small()
		f.ExtraSpecs = map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			f.ExtraSpecs[kv[i]] = kv[i+1]
		}
		return Request{Flavor: f}
	}
	ssd := hostWith("h1", func(h *HostState) {
		h.Aggregates = []Aggregate{{Metadata: map[string]string{"disk": "hdd"}}, {Metadata: map[string]string{"disk": "ssd, nvme", "gen": "4"}}}
	})
	runFilterCases(t, "AggregateInstanceExtraSpecsFilter", []filterCase{
		{name: "no extra specs", wantOK: true},
		{name: "other scopes ignored", req: specs("hw:cpu_policy", "dedicated", "capabilities:hypervisor_type", "xen"), wantOK: true},
		{name: "unscoped match in one aggregate", req: specs("disk", "nvme"), host: ssd, wantOK: true},
		{name: "scoped match", req: specs("aggregate_instance_extra_specs:disk", "ssd"), host: ssd, wantOK: true},
		{name: "operator", req: specs("aggregate_instance_extra_specs:gen", ">= 3"), host: ssd, wantOK: true},
		{name: "or operator", req: specs("disk", "<or> tape <or> hdd"), host: ssd, wantOK: true},
		{name: "no value matches", req: specs("disk", "tape"), host: ssd, wantReason: "aggregate disk does not match tape"},
		{name: "key in no aggregate", req: specs("aggregate_instance_extra_specs:gpu", "true"), host: ssd, wantReason: "no aggregate sets gpu"},
		{name: "host in no aggregate", req: specs("disk", "ssd"), wantReason: "no aggregate sets disk"},
	})
}

func TestAggregateMultiTenancyIsolation(t *testing.T) {
	t.Parallel()
	isolated := hostWith("h1", func(h *HostState) {
		h.Aggregates = []Aggregate{{Metadata: map[string]string{"filter_tenant_id": "p1, p2"}}, {Metadata: map[string]string{"filter_tenant_id2": "p3"}}}
	})
	runFilterCases(t, "AggregateMultiTenancyIsolation", []filterCase{
		{name: "host in no aggregate", req: Request{ProjectID: "p9"}, wantOK: true},
		{name: "aggregate without tenants", req: Request{ProjectID: "p9"}, host: hostWith("h1", func(h *HostState) { h.Aggregates = agg(map[string]string{"ssd": "true"}) }), wantOK: true},
		{name: "listed project", req: Request{ProjectID: "p2"}, host: isolated, wantOK: true},
		{name: "listed under a suffixed key", req: Request{ProjectID: "p3"}, host: isolated, wantOK: true},
		{name: "other project", req: Request{ProjectID: "p9"}, host: isolated, wantReason: "isolated to other projects"},
	})
}

func TestComputeCapabilitiesFilter(t *testing.T) {
	t.Parallel()
	specs := func(kv ...string) Request {
		f := small()
		f.ExtraSpecs = map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			f.ExtraSpecs[kv[i]] = kv[i+1]
		}
		return Request{Flavor: f}
	}
	ratio := hostWith("h1", func(h *HostState) {
		h.VCPU.AllocationRatio = 16
		h.Stats = map[string]string{"gpu": "2", "numa": `{"nodes": 2}`}
	})
	runFilterCases(t, "ComputeCapabilitiesFilter", []filterCase{
		{name: "hypervisor type", req: specs("capabilities:hypervisor_type", "s== QEMU"), wantOK: true},
		{name: "hypervisor type differs", req: specs("capabilities:hypervisor_type", "xen"), wantReason: "hypervisor_type is QEMU, not xen"},
		{name: "cpu arch nested", req: specs("capabilities:cpu_info:arch", "x86_64"), wantOK: true},
		{name: "cpu feature in list", req: specs("capabilities:cpu_info:features", "<in> avx2"), wantOK: true},
		{name: "all features", req: specs("capabilities:cpu_info:features", "<all-in> avx2 avx512f"), wantReason: "cpu_info:features is ['sse4.2', 'avx2'], not <all-in> avx2 avx512f"},
		{name: "topology", req: specs("capabilities:cpu_info:topology:cores", ">= 4"), wantOK: true},
		{name: "numeric at least", req: specs("capabilities:free_ram_mb", "= 16000"), wantOK: true},
		{name: "ratio renders as python", req: specs("capabilities:cpu_allocation_ratio", "s== 16.0"), host: ratio, wantOK: true},
		{name: "unscoped attribute is checked", req: specs("vcpus_total", "== 16"), wantReason: "vcpus_total is 8, not == 16"},
		{name: "unscoped unknown key is ignored", req: specs("ssd", "true"), wantOK: true},
		{name: "unscoped stat", req: specs("gpu", ">= 1"), host: ratio, wantOK: true},
		{name: "stat holding JSON", req: specs("capabilities:numa:nodes", "== 2"), host: ratio, wantOK: true},
		{name: "missing capability", req: specs("capabilities:cpu_info:maxphysaddr:bits", ">= 40"), wantReason: "reports no cpu_info:maxphysaddr:bits"},
		{name: "maxphysaddr bits spec", req: specs("hw:maxphysaddr_bits", "40"),
			host: hostWith("h1", func(h *HostState) { h.CPUInfo.MaxPhysAddrBits = 39 }), wantReason: "cpu_info:maxphysaddr:bits is 39, not >= 40"},
		{name: "other scope ignored", req: specs("hw:cpu_policy", "dedicated"), wantOK: true},
	})
}

func TestResourceFilters(t *testing.T) {
	t.Parallel()
	big := Flavor{VCPUs: 4, MemoryMB: 4096, RootGB: 40, EphemeralGB: 10, Swap: 1025}
	runFilterCases(t, "RamFilter", []filterCase{
		{name: "fits", req: Request{Flavor: big}, wantOK: true},
		{name: "used up", req: Request{Flavor: big}, host: hostWith("h1", func(h *HostState) { h.MemoryMB.Used = 14336 }), wantReason: reasonNoCapacity},
		{name: "reserved counts", req: Request{Flavor: big}, host: hostWith("h1", func(h *HostState) { h.MemoryMB.Reserved, h.MemoryMB.Used = 8192, 6144 }), wantReason: reasonNoCapacity},
		{name: "overcommit makes room", req: Request{Flavor: big}, host: hostWith("h1", func(h *HostState) { h.MemoryMB.AllocationRatio, h.MemoryMB.Used = 1.5, 16384 }), wantOK: true},
		{name: "over max_unit", req: Request{Flavor: big}, host: hostWith("h1", func(h *HostState) { h.MemoryMB.MaxUnit = 2048 }), wantReason: reasonMaxUnit},
		{name: "no memory inventory", req: Request{Flavor: big}, host: hostWith("h1", func(h *HostState) { h.MemoryMB = Inventory{} }), wantReason: reasonNoInv},
	})
	runFilterCases(t, "CoreFilter", []filterCase{
		{name: "fits exactly", req: Request{Flavor: big}, host: hostWith("h1", func(h *HostState) { h.VCPU.Used = 4 }), wantOK: true},
		{name: "full", req: Request{Flavor: big}, host: hostWith("h1", func(h *HostState) { h.VCPU.Used = 5 }), wantReason: reasonNoCapacity},
		{name: "ratio 0 reads as 1", req: Request{Flavor: big}, host: hostWith("h1", func(h *HostState) { h.VCPU.AllocationRatio, h.VCPU.Used = 0, 4 }), wantOK: true},
		{name: "resources:VCPU override", req: Request{Flavor: Flavor{VCPUs: 4, ExtraSpecs: map[string]string{"resources:VCPU": "0"}}},
			host: hostWith("h1", func(h *HostState) { h.VCPU.Used = 8 }), wantOK: true},
	})
	runFilterCases(t, "DiskFilter", []filterCase{
		// 40 root + 10 ephemeral + 2 swap (1025 MiB rounds up) = 52 GB.
		{name: "fits", req: Request{Flavor: big}, host: hostWith("h1", func(h *HostState) { h.DiskGB.Used = 48 }), wantOK: true},
		{name: "swap rounds up", req: Request{Flavor: big}, host: hostWith("h1", func(h *HostState) { h.DiskGB.Used = 49 }), wantReason: reasonNoCapacity},
		{name: "boot from volume leaves root out", req: Request{Flavor: big, BootFromVolume: true}, host: hostWith("h1", func(h *HostState) { h.DiskGB.Used = 88 }), wantOK: true},
	})
}

func TestResourcesOverrideRefusesBadValues(t *testing.T) {
	t.Parallel()
	_, err := Request{Flavor: Flavor{ExtraSpecs: map[string]string{"resources:MEMORY_MB": "lots"}}}.Resources()
	if err == nil || err.Error() != `invalid scheduling request: flavor extra spec resources:MEMORY_MB="lots" is not a non-negative integer` {
		t.Fatalf("err = %v", err)
	}
}

func TestMatchSpec(t *testing.T) {
	t.Parallel()
	cases := []struct {
		value, req string
		want       bool
	}{
		{"ssd", "ssd", true},
		{"ssd", "hdd", false},
		{"4", "= 4", true},
		{"5", "= 4", true},
		{"3", "= 4", false},
		{"4.0", "== 4", true},
		{"4", "!= 4", false},
		{"4", ">= 4.5", false},
		{"4", "<= 4.5", true},
		{"abc", ">= 1", false},
		{"abc", "s== abc", true},
		{"abc", "s!= abc", false},
		{"abc", "s< abd", true},
		{"abc", "s<= abc", true},
		{"abd", "s> abc", true},
		{"abc", "s>= abd", false},
		{"avx avx2", "<in> avx2", true},
		{"avx", "<in> avx2", false},
		{"avx sse aes", "<all-in> aes avx", true},
		{"avx sse", "<all-in> aes avx", false},
		{"b", "<or> a <or> b <or> c", true},
		{"d", "<or> a <or> b <or> c", false},
		{"a", "<or>", false},
		{"x", "<in>", false},
		{"", "", true},
	}
	for _, c := range cases {
		if got := matchSpec(c.value, c.req); got != c.want {
			t.Errorf("matchSpec(%q, %q) = %v, want %v", c.value, c.req, got, c.want)
		}
	}
}
