package app_test

import (
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/nimbus-cloud/nimbus/internal/cloudtest"
)

// placementCall sends an admin placement request at microversion mv.
func (p *plane) placementCall(t *testing.T, mv, method, path string, body any) *cloudtest.Response {
	t.Helper()
	return p.Do(t, method, p.PlacementURL+path, p.Token(t, cloudtest.Admin), body, "OpenStack-API-Version", "placement "+mv)
}

// providerAggregates lists a resource provider's placement aggregates.
func (p *plane) providerAggregates(t *testing.T, rp string) []string {
	t.Helper()
	resp := p.placementCall(t, "1.19", "GET", "/resource_providers/"+rp+"/aggregates", nil)
	if resp.Status != http.StatusOK {
		t.Fatalf("aggregates of %s: %d %s", rp, resp.Status, resp.Body)
	}
	var out []string
	for _, a := range resp.JSON(t)["aggregates"].([]any) {
		out = append(out, a.(string))
	}
	sort.Strings(out)
	return out
}

// candidateProviders are the providers placement offers one VCPU on,
// within the placement aggregate memberOf when it is set.
func (p *plane) candidateProviders(t *testing.T, memberOf string) []string {
	t.Helper()
	q := "/allocation_candidates?resources=VCPU:1"
	if memberOf != "" {
		q += "&member_of=" + memberOf
	}
	resp := p.placementCall(t, "1.21", "GET", q, nil)
	if resp.Status != http.StatusOK {
		t.Fatalf("allocation candidates: %d %s", resp.Status, resp.Body)
	}
	var out []string
	for rp := range resp.JSON(t)["provider_summaries"].(map[string]any) {
		out = append(out, rp)
	}
	sort.Strings(out)
	return out
}

// TestAggregateHostsMirroredToPlacement adds a compute host to a host
// aggregate and removes it, as nova does, and follows its resource
// provider at placement: it joins the placement aggregate of the host
// aggregate's uuid (keeping the aggregates it had), allocation candidates
// asked for with member_of offer it alone, and it leaves again.
func TestAggregateHostsMirroredToPlacement(t *testing.T) {
	t.Parallel()
	p := startPlane(t, cloudtest.WithOption("compute.fake_host_count", "2"))
	// The hypervisors' ids from 2.53 are their resource providers, as
	// the service group knows them.
	providers := map[string]string{}
	cloudtest.Eventually(t, 10*time.Second, func() bool {
		resp := p.call(t, "2.53", "GET", "/os-hypervisors", nil)
		for _, h := range resp.JSON(t)["hypervisors"].([]any) {
			hm := h.(map[string]any)
			if id, _ := hm["id"].(string); uuid.Validate(id) == nil && hm["state"] == "up" {
				providers[hm["hypervisor_hostname"].(string)] = id
			}
		}
		return len(providers) == 2
	}, "two hypervisors with resource providers")
	var hosts []string
	for h := range providers {
		hosts = append(hosts, h)
	}
	sort.Strings(hosts)
	host, rp, other := hosts[0], providers[hosts[0]], providers[hosts[1]]

	// Another writer's aggregate on the provider stays through it all.
	kept := uuid.NewString()
	if r := p.placementCall(t, "1.19", "PUT", "/resource_providers/"+rp+"/aggregates", map[string]any{
		"aggregates": []string{kept}, "resource_provider_generation": p.generation(t, rp)}); r.Status != http.StatusOK {
		t.Fatalf("put aggregates: %d %s", r.Status, r.Body)
	}

	resp := p.call(t, "2.41", "POST", "/os-aggregates", map[string]any{"aggregate": map[string]any{
		"name": "rack1", "availability_zone": "az1"}})
	if resp.Status != http.StatusOK {
		t.Fatalf("create: %d %s", resp.Status, resp.Body)
	}
	agg := resp.JSON(t)["aggregate"].(map[string]any)
	aggUUID := agg["uuid"].(string)
	path := "/os-aggregates/" + strconv.Itoa(int(agg["id"].(float64)))
	if r := p.call(t, "2.41", "POST", path+"/action", map[string]any{"add_host": map[string]any{"host": host}}); r.Status != http.StatusOK {
		t.Fatalf("add host: %d %s", r.Status, r.Body)
	}
	want := []string{kept, aggUUID}
	sort.Strings(want)
	if got := p.providerAggregates(t, rp); !slices.Equal(got, want) {
		t.Errorf("aggregates of %s's provider: %v; want %v", host, got, want)
	}
	if got := p.providerAggregates(t, other); len(got) != 0 {
		t.Errorf("aggregates of the other provider: %v; want none", got)
	}
	all := []string{rp, other}
	sort.Strings(all)
	if got := p.candidateProviders(t, ""); !slices.Equal(got, all) {
		t.Errorf("candidates: %v; want both providers", got)
	}
	if got := p.candidateProviders(t, aggUUID); !slices.Equal(got, []string{rp}) {
		t.Errorf("candidates member_of the aggregate: %v; want %s alone", got, rp)
	}

	if r := p.call(t, "2.41", "POST", path+"/action", map[string]any{"remove_host": map[string]any{"host": host}}); r.Status != http.StatusOK {
		t.Fatalf("remove host: %d %s", r.Status, r.Body)
	}
	if got := p.providerAggregates(t, rp); !slices.Equal(got, []string{kept}) {
		t.Errorf("aggregates after removal: %v; want %v", got, []string{kept})
	}
	if got := p.candidateProviders(t, aggUUID); len(got) != 0 {
		t.Errorf("candidates member_of the emptied aggregate: %v; want none", got)
	}
}

// generation is a resource provider's generation.
func (p *plane) generation(t *testing.T, rp string) int64 {
	t.Helper()
	resp := p.placementCall(t, "1.19", "GET", "/resource_providers/"+rp, nil)
	if resp.Status != http.StatusOK {
		t.Fatalf("provider %s: %d %s", rp, resp.Status, resp.Body)
	}
	return int64(resp.JSON(t)["generation"].(float64))
}

// hypervisorProviders maps each compute host that is up to its resource
// provider (its hypervisor id from 2.53) and its service id.
func (p *plane) hypervisorProviders(t *testing.T) (providers, services map[string]string) {
	t.Helper()
	providers, services = map[string]string{}, map[string]string{}
	for _, h := range p.call(t, "2.53", "GET", "/os-hypervisors/detail", nil).JSON(t)["hypervisors"].([]any) {
		hm := h.(map[string]any)
		if id, _ := hm["id"].(string); uuid.Validate(id) == nil && hm["state"] == "up" {
			name := hm["hypervisor_hostname"].(string)
			providers[name] = id
			services[name] = hm["service"].(map[string]any)["id"].(string)
		}
	}
	return providers, services
}

// TestDeleteComputeServiceRemovesProvider deletes a compute service as
// nova does: refused while its host has a server; once allowed, the host
// leaves its aggregates and its resource provider leaves placement, with
// what another consumer held there (as an evacuated server leaves behind)
// taken out of that consumer's allocations and the rest kept. The host's
// agent, still running, comes back with a new provider.
func TestDeleteComputeServiceRemovesProvider(t *testing.T) {
	t.Parallel()
	p := startPlane(t, cloudtest.WithOption("compute.fake_host_count", "2"))
	var providers, services map[string]string
	cloudtest.Eventually(t, 10*time.Second, func() bool {
		providers, services = p.hypervisorProviders(t)
		return len(providers) == 2
	}, "two hypervisors with resource providers")

	flavor := p.flavor(t, "one", 1, 64, 1)
	busy := p.waitStatus(t, p.boot(t, "vm", flavor), "ACTIVE").Host
	idle := ""
	for h := range providers {
		if h != busy {
			idle = h
		}
	}
	if r := p.call(t, "2.53", "DELETE", "/os-services/"+services[busy], nil); r.Status != http.StatusConflict ||
		!strings.Contains(string(r.Body), "hosting instances") {
		t.Fatalf("delete the busy host's service: %d %s", r.Status, r.Body)
	}

	// A consumer holding resources on both hosts.
	consumer := uuid.NewString()
	if r := p.placementCall(t, "1.28", "PUT", "/allocations/"+consumer, map[string]any{
		"allocations": map[string]any{
			providers[idle]: map[string]any{"resources": map[string]any{"VCPU": 1}},
			providers[busy]: map[string]any{"resources": map[string]any{"VCPU": 1}},
		},
		"project_id": uuid.NewString(), "user_id": uuid.NewString(), "consumer_generation": nil,
	}); r.Status != http.StatusNoContent {
		t.Fatalf("put allocations: %d %s", r.Status, r.Body)
	}
	resp := p.call(t, "2.41", "POST", "/os-aggregates", map[string]any{"aggregate": map[string]any{"name": "rack"}})
	agg := resp.JSON(t)["aggregate"].(map[string]any)
	path := "/os-aggregates/" + strconv.Itoa(int(agg["id"].(float64)))
	for _, h := range []string{idle, busy} {
		if r := p.call(t, "2.41", "POST", path+"/action", map[string]any{"add_host": map[string]any{"host": h}}); r.Status != http.StatusOK {
			t.Fatalf("add host %s: %d %s", h, r.Status, r.Body)
		}
	}

	if r := p.call(t, "2.53", "DELETE", "/os-services/"+services[idle], nil); r.Status != http.StatusNoContent {
		t.Fatalf("delete the idle host's service: %d %s", r.Status, r.Body)
	}
	if r := p.placementCall(t, "1.28", "GET", "/resource_providers/"+providers[idle], nil); r.Status != http.StatusNotFound {
		t.Errorf("the deleted host's provider: %d %s; want 404", r.Status, r.Body)
	}
	held := p.placementCall(t, "1.28", "GET", "/allocations/"+consumer, nil).JSON(t)["allocations"].(map[string]any)
	if _, ok := held[providers[busy]]; len(held) != 1 || !ok {
		t.Errorf("the consumer's allocations %v; want the busy host's alone", held)
	}
	hosts := p.call(t, "2.41", "GET", path, nil).JSON(t)["aggregate"].(map[string]any)["hosts"].([]any)
	if len(hosts) != 1 || hosts[0] != busy {
		t.Errorf("aggregate hosts %v; want %s alone", hosts, busy)
	}

	// The idle host's agent runs on: its service comes back with a new
	// provider, which placement offers.
	cloudtest.Eventually(t, 30*time.Second, func() bool {
		now, _ := p.hypervisorProviders(t)
		return now[idle] != "" && now[idle] != providers[idle] && slices.Contains(p.candidateProviders(t, ""), now[idle])
	}, "the idle host back with a new resource provider")
}
