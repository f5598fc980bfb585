package schedulerd

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/rpc"
	"github.com/nimbus-cloud/nimbus/internal/scheduler"
)

// fakePlacement keeps providers with capacities and consumers' allocations,
// refusing claims past capacity as placement does.
type fakePlacement struct {
	mu       sync.Mutex
	capacity map[string]map[string]int64 // rp -> class -> capacity
	used     map[string]map[string]int64
	allocs   map[string]rpc.Allocation
	// stealOnce takes a provider's whole capacity right after the next
	// candidates are read, as another scheduler's claim would.
	stealOnce []string
	queries   []CandidateQuery
	claims    int
}

func newFakePlacement(hosts ...string) *fakePlacement {
	p := &fakePlacement{capacity: map[string]map[string]int64{}, used: map[string]map[string]int64{},
		allocs: map[string]rpc.Allocation{}}
	for _, h := range hosts {
		p.capacity["rp-"+h] = map[string]int64{"VCPU": 16, "MEMORY_MB": 8192, "DISK_GB": 100}
		p.used["rp-"+h] = map[string]int64{}
	}
	return p
}

func (p *fakePlacement) fits(rp string, res map[string]int64) bool {
	for class, n := range res {
		if p.used[rp][class]+n > p.capacity[rp][class] {
			return false
		}
	}
	return true
}

func (p *fakePlacement) AllocationCandidates(ctx context.Context, q CandidateQuery) (Candidates, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.queries = append(p.queries, q)
	out := Candidates{Roots: map[string]Candidate{}}
	for rp := range p.capacity {
		if (q.InTree != "" && rp != q.InTree) || !p.fits(rp, q.Resources) {
			continue
		}
		c := Candidate{Allocation: rpc.Allocation{rp: maps.Clone(q.Resources)}}
		for class, dst := range map[string]*Capacity{"VCPU": &c.VCPU, "MEMORY_MB": &c.MemoryMB, "DISK_GB": &c.DiskGB} {
			*dst = Capacity{Capacity: p.capacity[rp][class], Used: p.used[rp][class]}
		}
		out.Roots[rp] = c
	}
	for _, rp := range p.stealOnce {
		maps.Copy(p.used[rp], p.capacity[rp])
	}
	p.stealOnce = nil
	return out, nil
}

func (p *fakePlacement) Claim(ctx context.Context, consumer, projectID, userID string, alloc rpc.Allocation) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.claims++
	if _, ok := p.allocs[consumer]; ok {
		return false, nil
	}
	for rp, res := range alloc {
		if !p.fits(rp, res) {
			return false, nil
		}
	}
	for rp, res := range alloc {
		for class, n := range res {
			p.used[rp][class] += n
		}
	}
	p.allocs[consumer] = alloc
	return true, nil
}

func (p *fakePlacement) DeleteAllocations(ctx context.Context, consumer string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for rp, res := range p.allocs[consumer] {
		for class, n := range res {
			p.used[rp][class] -= n
		}
	}
	delete(p.allocs, consumer)
	return nil
}

func (p *fakePlacement) ProviderInventory(ctx context.Context, uuid string) (map[string]scheduler.Inventory, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]scheduler.Inventory{}
	for class, c := range p.capacity[uuid] {
		out[class] = scheduler.Inventory{Total: c, AllocationRatio: 1, Used: p.used[uuid][class]}
	}
	return out, nil
}

func (p *fakePlacement) hostOf(consumer string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	for rp := range p.allocs[consumer] {
		return strings.TrimPrefix(rp, "rp-")
	}
	return ""
}

type fakeHosts []ComputeHost

func (h fakeHosts) ComputeHosts(ctx context.Context) ([]ComputeHost, error) {
	return slices.Clone(h), nil
}

func hosts(names ...string) fakeHosts {
	var out fakeHosts
	for _, n := range names {
		out = append(out, ComputeHost{Host: n, Node: n, ProviderUUID: "rp-" + n, Zone: "nova", Up: true,
			HypervisorType: "fake", CPUInfo: scheduler.CPUInfo{Arch: "x86_64"}})
	}
	return out
}

func newService(t *testing.T, p *fakePlacement, h Hosts) *Service {
	t.Helper()
	sched, err := scheduler.New(scheduler.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	return New(Config{}, sched, p, h, nil)
}

func spec(uuids ...string) rpc.RequestSpec {
	return rpc.RequestSpec{InstanceUUIDs: uuids, ProjectID: "p", UserID: "u",
		Flavor: rpc.Flavor{Name: "m1.small", VCPUs: 2, MemoryMB: 2048, RootGB: 10}}
}

func TestSelectDestinationsClaims(t *testing.T) {
	t.Parallel()
	p := newFakePlacement("a", "b", "c")
	s := newService(t, p, hosts("a", "b", "c"))
	sels, err := s.SelectDestinations(context.Background(), spec("i1", "i2", "i3"))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, sel := range sels {
		got[sel.Host.Host] = true
		if p.hostOf(sel.InstanceUUID) != sel.Host.Host {
			t.Errorf("%s chosen on %s, claimed on %q", sel.InstanceUUID, sel.Host.Host, p.hostOf(sel.InstanceUUID))
		}
		if len(sel.Alternates) != 2 || sel.Host.Allocation["rp-"+sel.Host.Host]["VCPU"] != 2 {
			t.Errorf("selection %+v", sel)
		}
		for _, alt := range sel.Alternates {
			if alt.Host == sel.Host.Host || alt.Allocation["rp-"+alt.Host]["MEMORY_MB"] != 2048 {
				t.Errorf("alternate %+v of %s", alt, sel.Host.Host)
			}
		}
	}
	if len(got) != 3 {
		t.Errorf("three instances on %v, want three hosts", got)
	}
	q := p.queries[0]
	if q.Resources["VCPU"] != 2 || q.Resources["MEMORY_MB"] != 2048 || q.Resources["DISK_GB"] != 10 || q.Limit != 1000 {
		t.Errorf("candidate query %+v", q)
	}
}

func TestSelectDestinationsTakesAlternateWhenClaimRefused(t *testing.T) {
	t.Parallel()
	p := newFakePlacement("a", "b")
	// a has the most room and is chosen; another scheduler fills it first.
	p.capacity["rp-a"]["MEMORY_MB"] = 16384
	p.stealOnce = []string{"rp-a"}
	s := newService(t, p, hosts("a", "b"))
	sels, err := s.SelectDestinations(context.Background(), spec("i1"))
	if err != nil {
		t.Fatal(err)
	}
	if sels[0].Host.Host != "b" || p.hostOf("i1") != "b" || len(sels[0].Alternates) != 0 {
		t.Errorf("selection %+v, claimed on %q", sels[0], p.hostOf("i1"))
	}
}

func TestSelectDestinationsReleasesOnFailure(t *testing.T) {
	t.Parallel()
	p := newFakePlacement("a")
	p.capacity["rp-a"]["VCPU"] = 4
	s := newService(t, p, hosts("a"))
	// Two fit; the third does not: nothing stays claimed.
	_, err := s.SelectDestinations(context.Background(), spec("i1", "i2", "i3"))
	if !errors.Is(err, rpc.ErrNoValidHost) || !strings.Contains(err.Error(), "CoreFilter rejected 1 host") ||
		!strings.Contains(err.Error(), "2 of 3 instances found a host") {
		t.Errorf("err %v", err)
	}
	if len(p.allocs) != 0 {
		t.Errorf("claims left: %v", p.allocs)
	}
	// Every claim refused: the claims made for the request go too.
	p = newFakePlacement("a", "b")
	p.stealOnce = []string{"rp-a", "rp-b"}
	s = newService(t, p, hosts("a", "b"))
	if _, err := s.SelectDestinations(context.Background(), spec("i1")); !errors.Is(err, rpc.ErrNoValidHost) ||
		!strings.Contains(err.Error(), "Placement refused the claims") {
		t.Errorf("err %v", err)
	}
	if len(p.allocs) != 0 {
		t.Errorf("claims left: %v", p.allocs)
	}
}

func TestNoValidHostExplainsEveryHost(t *testing.T) {
	t.Parallel()
	p := newFakePlacement("a", "b", "c")
	p.capacity["rp-a"]["MEMORY_MB"] = 1024
	p.capacity["rp-b"]["MEMORY_MB"] = 1024
	h := hosts("a", "b", "c")
	h[2].Disabled, h[2].DisabledReason = true, "maintenance"
	s := newService(t, p, h)
	_, err := s.SelectDestinations(context.Background(), spec("i1"))
	msg := err.Error()
	for _, want := range []string{"No valid host was found.", "ComputeFilter rejected 1 host (disabled: maintenance)",
		"RamFilter rejected 2 hosts"} {
		if !strings.Contains(msg, want) {
			t.Errorf("%q does not say %q", msg, want)
		}
	}
	var re *rpc.Error
	if !errors.As(err, &re) || re.Kind != rpc.KindNoValidHost {
		t.Errorf("kind of %v", err)
	}
	s.cfg.MaxExplained = 1
	_, err = s.SelectDestinations(context.Background(), spec("i1"))
	if !strings.Contains(err.Error(), "Placement had no room for the request on 1 more host.") {
		t.Errorf("bounded explanation: %v", err)
	}
}

func TestForcedAndRequestedHosts(t *testing.T) {
	t.Parallel()
	p := newFakePlacement("a", "b")
	s := newService(t, p, hosts("a", "b"))
	sp := spec("i1")
	sp.ForcedHost = "b"
	sels, err := s.SelectDestinations(context.Background(), sp)
	if err != nil || sels[0].Host.Host != "b" || p.queries[0].InTree != "rp-b" {
		t.Errorf("forced host: %+v, %v, query %+v", sels, err, p.queries)
	}
	sp = spec("i2")
	sp.RequestedHost = "nowhere"
	if _, err := s.SelectDestinations(context.Background(), sp); !errors.Is(err, rpc.ErrNoValidHost) ||
		!strings.Contains(err.Error(), "Compute host nowhere could not be found.") {
		t.Errorf("unknown requested host: %v", err)
	}
	sp = spec("i3")
	sp.Flavor.ExtraSpecs = map[string]string{"resources:VCPU": "many"}
	if _, err := s.SelectDestinations(context.Background(), sp); !errors.Is(err, rpc.ErrBadRequest) {
		t.Errorf("bad extra spec: %v", err)
	}
}

// TestConcurrentRequestsSpread sends single-instance requests at once, as
// concurrent boots do: they must not pile onto one host.
func TestConcurrentRequestsSpread(t *testing.T) {
	t.Parallel()
	p := newFakePlacement("a", "b", "c")
	s := newService(t, p, hosts("a", "b", "c"))
	var wg sync.WaitGroup
	for i := range 21 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sp := spec(fmt.Sprintf("i%d", i))
			sp.Flavor.VCPUs, sp.Flavor.MemoryMB, sp.Flavor.RootGB = 1, 256, 1
			if _, err := s.SelectDestinations(context.Background(), sp); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	per := map[string]int{}
	for c := range p.allocs {
		per[p.hostOf(c)]++
	}
	if per["a"] != 7 || per["b"] != 7 || per["c"] != 7 {
		t.Errorf("21 requests split %v, want 7 each", per)
	}
}

func TestRebuildCheck(t *testing.T) {
	t.Parallel()
	p := newFakePlacement("a", "b")
	s := newService(t, p, hosts("a", "b"))
	sp := spec("i1")
	sp.Rebuild, sp.RequestedHost = true, "a"
	sels, err := s.SelectDestinations(context.Background(), sp)
	if err != nil || len(sels) != 1 || sels[0].Host.Host != "a" {
		t.Fatalf("rebuild check: %+v, %v", sels, err)
	}
	if p.claims != 0 || len(p.queries) != 0 {
		t.Errorf("a rebuild check asked placement: %d claims, %d queries", p.claims, len(p.queries))
	}
	sp.Image.Properties = map[string]string{"hw_architecture": "aarch64"}
	_, err = s.SelectDestinations(context.Background(), sp)
	if !errors.Is(err, rpc.ErrNoValidHost) || !strings.Contains(err.Error(), "ImagePropertiesFilter rejected 1 host") {
		t.Errorf("an image the host cannot run: %v", err)
	}
}
