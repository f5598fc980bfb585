package scheduler

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func TestRankTopMatchesAFullSort(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{1, 7, 100, 1000} {
		for _, k := range []int{1, 3, 10, n} {
			cands := make([]candidate, n)
			pool := make([]*candidate, n)
			for i := range cands {
				// Few distinct weights, so that ties need the index order.
				cands[i] = candidate{index: i, weight: float64(r.IntN(20))}
				pool[i] = &cands[i]
			}
			r.Shuffle(n, func(i, j int) { pool[i], pool[j] = pool[j], pool[i] })
			want := slices.Clone(pool)
			slices.SortFunc(want, better)
			rankTop(pool, k)
			k := min(k, n)
			if !slices.Equal(pool[:k], want[:k]) {
				t.Fatalf("n=%d k=%d: top differs from a full sort", n, k)
			}
			rest := slices.Clone(pool[k:])
			slices.SortFunc(rest, better)
			if !slices.Equal(rest, want[k:]) {
				t.Fatalf("n=%d k=%d: hosts lost or duplicated", n, k)
			}
		}
	}
}

func TestParseNames(t *testing.T) {
	t.Parallel()
	if got := ParseNames(" ComputeFilter, ,RamFilter,"); !slices.Equal(got, []string{"ComputeFilter", "RamFilter"}) {
		t.Errorf("ParseNames = %v", got)
	}
	if got := ParseNames(""); got != nil {
		t.Errorf("ParseNames(\"\") = %v, want none", got)
	}
}

func TestVersionPredicates(t *testing.T) {
	t.Parallel()
	cases := []struct {
		pred    string
		version int64
		want    bool
	}{
		{">= 8.2", 8002000, true},
		{"> 8.2", 8002000, false},
		{"> 8.2", 8002001, true},
		{"< 9", 8002000, true},
		{"<= 8.1.9", 8002000, false},
		{"== 8.2.0", 8002000, true},
		{"== 8.2", 8002000, true},
		{"!= 8.2.0", 8002000, false},
		{">= 6.0, < 8", 8002000, false},
	}
	for _, c := range cases {
		p, err := parseVersionPredicate(c.pred)
		if err != nil {
			t.Fatalf("%q: %v", c.pred, err)
		}
		if got := p.satisfiedBy(versionParts(c.version)); got != c.want {
			t.Errorf("%q on %s = %v, want %v", c.pred, versionString(c.version), got, c.want)
		}
	}
	for _, bad := range []string{"8.2", ">= ", ">= 8.x", ">= -1"} {
		if _, err := parseVersionPredicate(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	if versionString(0) != "0" || versionString(1000) != "1.0" {
		t.Errorf("versionString(0) = %s, versionString(1000) = %s", versionString(0), versionString(1000))
	}
}

func TestCanonicalNames(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"i386": "i686", "x86_32": "i686", "AMD64": "x86_64", "aarch64": "aarch64"} {
		if got, ok := canonicalArch(in); !ok || got != want {
			t.Errorf("canonicalArch(%q) = %q, %v", in, got, ok)
		}
	}
	for in, want := range map[string]string{"pv": "xen", "HV": "hvm", "baremetal": "hvm", "exe": "exe"} {
		if got, ok := canonicalVMMode(in); !ok || got != want {
			t.Errorf("canonicalVMMode(%q) = %q, %v", in, got, ok)
		}
	}
	if _, ok := canonicalVMMode("vm"); ok {
		t.Error("canonicalVMMode accepted vm")
	}
	if got, ok := canonicalHVType("XAPI"); !ok || got != "xen" {
		t.Errorf("canonicalHVType(XAPI) = %q, %v", got, ok)
	}
}

func TestHostCapabilities(t *testing.T) {
	t.Parallel()
	h := hostWith("h1", func(h *HostState) {
		h.Node = "node1"
		h.VCPU.Used, h.MemoryMB.Reserved, h.MemoryMB.AllocationRatio, h.DiskGB.Used = 3, 512, 1.5, 40
		h.Instances = []Instance{{UUID: "a"}}
		h.CPUInfo.MaxPhysAddrBits = 46
	})
	c := &candidate{h: &h, extra: Resources{VCPU: 1, MemoryMB: 1024, DiskGB: 10}, placed: 1}
	want := map[string]string{
		"host": "h1", "nodename": "node1", "hypervisor_hostname": "node1", "hypervisor_type": "QEMU",
		"hypervisor_version": "8002000", "vcpus_total": "8", "vcpus_used": "4", "total_usable_ram_mb": "16384",
		"free_ram_mb": "14848", "total_usable_disk_gb": "100", "free_disk_mb": "51200", "num_instances": "2",
		"cpu_allocation_ratio": "1.0", "ram_allocation_ratio": "1.5", "disk_allocation_ratio": "1.0",
		"cpu_info:vendor": "Intel", "cpu_info:topology:threads": "2", "cpu_info:maxphysaddr:bits": "46",
		"cpu_info:topology": `{"cores":4,"sockets":1,"threads":2}`,
	}
	for path, w := range want {
		got, ok := capability(c, splitPath(path))
		if !ok || got != w {
			t.Errorf("capability %s = %q, %v; want %q", path, got, ok, w)
		}
	}
	for _, missing := range []string{"gpu", "cpu_info:cache", "host:name", "cpu_info:arch:bits"} {
		if v, ok := capability(c, splitPath(missing)); ok {
			t.Errorf("capability %s = %q, want none", missing, v)
		}
	}
	if pyString(true) != "True" || pyString(2.5) != "2.5" || pyString([]any{"a", 1.0}) != "['a', 1]" {
		t.Error("pyString does not render as Python")
	}
}

func splitPath(p string) []string { return strings.Split(p, ":") }

// The capabilities read directly (without boxing values or building
// cpu_info's map) render as they do through the attributes, on hosts with
// and without the optional ones.
func TestDirectCapabilitiesAgreeWithTheAttributes(t *testing.T) {
	t.Parallel()
	full := hostWith("h1", func(h *HostState) {
		h.CPUInfo.MaxPhysAddrBits = 46
		h.Node, h.Instances, h.Stats = "node1", []Instance{{UUID: "a"}}, map[string]string{"gpus": "2"}
		h.VCPU.Used, h.MemoryMB.Reserved, h.MemoryMB.AllocationRatio, h.DiskGB.Used = 3, 512, 1.5, 40
	})
	bare := hostWith("h2", func(h *HostState) { h.CPUInfo = CPUInfo{} })
	paths := []string{"cpu_info:arch", "cpu_info:vendor", "cpu_info:model", "cpu_info:topology:sockets",
		"cpu_info:topology:cores", "cpu_info:topology:threads", "cpu_info:maxphysaddr:bits"}
	for _, h := range []HostState{full, bare} {
		c := &candidate{h: &h, extra: Resources{VCPU: 1, MemoryMB: 1024, DiskGB: 10}, placed: 1}
		for _, stat := range []string{"gpus", "fpgas"} {
			leaf, ok, known := directCapability(c, []string{stat})
			mv, mok := attributeAt(c, []string{stat})
			if !known || leaf != mv || ok != mok {
				t.Errorf("stat %s on %s: %q, %v directly; %q, %v as an attribute", stat, h.Host, leaf, ok, mv, mok)
			}
		}
		for _, p := range paths {
			leaf, ok, known := directCapability(c, splitPath(p))
			if !known {
				t.Errorf("%s is not read directly", p)
				continue
			}
			mv, mok := attributeAt(c, splitPath(p))
			if leaf != mv || ok != mok {
				t.Errorf("%s on %s: %q, %v directly; %q, %v through the map", p, h.Host, leaf, ok, mv, mok)
			}
		}
		for name := range hostAttributes {
			leaf, ok, known := directCapability(c, []string{name})
			mv, mok := attributeAt(c, []string{name})
			if name == "cpu_info" {
				if known {
					t.Error("cpu_info is read directly; want it through the map")
				}
				continue
			}
			if !known || leaf != mv || ok != mok {
				t.Errorf("%s on %s: %q, %v, %v directly; %q, %v as an attribute", name, h.Host, leaf, ok, known, mv, mok)
			}
		}
		for _, p := range []string{"cpu_info", "cpu_info:features", "cpu_info:topology", "cpu_info:arch:bits", "host:name"} {
			if _, _, known := directCapability(c, splitPath(p)); known {
				t.Errorf("%s is read directly; want it through the map", p)
			}
		}
	}
}
