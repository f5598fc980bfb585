package scheduler

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// Select reuses its memory from one call to the next: what a call leaves
// in it (rejections, consumed resources, group counts, weights) must not
// reach the next call, over fewer hosts or more.
func TestSelectCarriesNothingToTheNextCall(t *testing.T) {
	s := mustNew(t, testOptions())
	small := []HostState{newHost("b0"), hostWith("b1", func(h *HostState) { h.MemoryMB.Total = 32768 })}
	one := Request{NumInstances: 1, Flavor: Flavor{VCPUs: 1, MemoryMB: 1024, RootGB: 1}}
	want, err := s.Select(one, small)
	if err != nil {
		t.Fatal(err)
	}

	// A call over more hosts that rejects, consumes and counts a group on
	// the same positions, and one that fails.
	big := []HostState{
		hostWith("a0", func(h *HostState) { h.MemoryMB.Total = 65536 }),
		hostWith("a1", func(h *HostState) { h.MemoryMB.Total = 65536 }),
		hostWith("a2", func(h *HostState) { h.Instances = []Instance{{UUID: "m1"}} }),
		hostWith("a3", func(h *HostState) { h.Disabled = true }),
		hostWith("a4", func(h *HostState) { h.MemoryMB.Used = 16000 }),
	}
	group := Request{NumInstances: 2, Flavor: Flavor{VCPUs: 4, MemoryMB: 4096, RootGB: 10},
		Group: &ServerGroup{Policy: PolicyAntiAffinity, Members: []InstanceRef{{UUID: "m1"}}}}
	if _, err := s.Select(group, big); err != nil {
		t.Fatal(err)
	}
	huge := Request{NumInstances: 1, Flavor: Flavor{VCPUs: 64, MemoryMB: 1024, RootGB: 1}}
	if _, err := s.Select(huge, big); !errors.Is(err, ErrNoValidHost) {
		t.Fatalf("64 VCPUs: %v; want NoValidHost", err)
	}

	got, err := s.Select(one, small)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("after other calls: %+v; first time %+v", got, want)
	}
	// A failure over fewer hosts reports those hosts only.
	_, err = s.Select(huge, small)
	var nv *NoValidHostError
	if !errors.As(err, &nv) || nv.Hosts != 2 || len(nv.Filters) != 1 || nv.Filters[0].Rejected != 2 {
		t.Fatalf("64 VCPUs on two hosts: %#v", err)
	}
}

// A host that fails several extra specs is always reported by the same
// one, whatever order the flavor's specs come in.
func TestRejectionReasonsAreRepeatable(t *testing.T) {
	t.Parallel()
	s := mustNew(t, testOptions())
	req := Request{NumInstances: 1, Flavor: Flavor{VCPUs: 1, MemoryMB: 512, RootGB: 1, ExtraSpecs: map[string]string{}}}
	for i := range 8 {
		req.Flavor.ExtraSpecs[fmt.Sprintf("capabilities:k%d", i)] = "x"
	}
	var first string
	for range 20 {
		_, err := s.Select(req, []HostState{newHost("h1")})
		if err == nil {
			t.Fatal("a host without the capabilities was chosen")
		}
		if first == "" {
			first = err.Error()
		} else if err.Error() != first {
			t.Fatalf("reason %q, earlier %q", err.Error(), first)
		}
	}
	if !strings.Contains(first, "reports no k0") {
		t.Errorf("reason %q; want the first spec by name", first)
	}
}
