package conductor

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/rpc"
)

// The registry keeps its records in order as services register and are
// removed, so that lists come by host then binary without sorting, and
// EachCompute walks the compute services in that order with their
// liveness now.
func TestRegistryOrderFollowsRegistrations(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	r := NewRegistry(RegistryOptions{ServiceDownTime: time.Minute, Now: func() time.Time { return now }})
	for _, h := range []string{"c3", "c1", "c2"} {
		r.Report(rpc.ServiceReport{Host: h, Binary: rpc.BinaryCompute})
	}
	r.Report(rpc.ServiceReport{Host: "c2", Binary: rpc.BinaryConductor})
	r.Report(rpc.ServiceReport{Host: "c0", Binary: rpc.BinaryScheduler})
	list := func() []string {
		var out []string
		for _, s := range r.Services() {
			out = append(out, s.Host+"/"+s.Binary)
		}
		return out
	}
	computes := func() []string {
		var out []string
		r.EachCompute(func(s *ServiceStatus, up bool) {
			name := s.Host
			if !up {
				name += "(down)"
			}
			out = append(out, name)
		})
		return out
	}
	want := []string{"c0/" + rpc.BinaryScheduler, "c1/" + rpc.BinaryCompute, "c2/" + rpc.BinaryCompute,
		"c2/" + rpc.BinaryConductor, "c3/" + rpc.BinaryCompute}
	if got := list(); !slices.Equal(got, want) {
		t.Fatalf("services %v; want %v", got, want)
	}
	if got := computes(); !slices.Equal(got, []string{"c1", "c2", "c3"}) {
		t.Fatalf("computes %v", got)
	}

	// Heartbeats of known services change nothing in the order; removed
	// services leave it and come back in their place.
	r.Report(rpc.ServiceReport{Host: "c1", Binary: rpc.BinaryCompute})
	if r.Remove(context.Background(), "c2", rpc.BinaryCompute) != nil || r.Remove(context.Background(), "c2", rpc.BinaryCompute) == nil {
		t.Fatal("remove c2 once")
	}
	if got := computes(); !slices.Equal(got, []string{"c1", "c3"}) {
		t.Fatalf("computes after removing c2: %v", got)
	}
	now = now.Add(2 * time.Minute)
	r.Report(rpc.ServiceReport{Host: "c2", Binary: rpc.BinaryCompute})
	if got := computes(); !slices.Equal(got, []string{"c1(down)", "c2", "c3(down)"}) {
		t.Fatalf("computes after c2 came back: %v", got)
	}
	if got := list(); !slices.Equal(got, want) {
		t.Fatalf("services %v; want %v", got, want)
	}
}
