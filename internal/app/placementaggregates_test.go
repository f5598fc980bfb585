package app

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/gophercloud/gophercloud/v2"

	"github.com/nimbus-cloud/nimbus/internal/conductor"
	"github.com/nimbus-cloud/nimbus/internal/rpc"
)

// aggregatesPlacement serves one provider's aggregates with its
// generation; racing PUTs are refused with 409 after another writer
// moved the generation, as placement does when two writers race.
type aggregatesPlacement struct {
	mu         sync.Mutex
	rp         string
	aggregates []string
	generation int64
	racing     int
	puts       int
}

func (p *aggregatesPlacement) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if r.URL.Path != "/resource_providers/"+p.rp+"/aggregates" {
		http.Error(w, `{"errors": [{"status": 404}]}`, http.StatusNotFound)
		return
	}
	if r.Method == http.MethodPut {
		p.puts++
		var body struct {
			Aggregates []string `json:"aggregates"`
			Generation int64    `json:"resource_provider_generation"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if p.racing > 0 {
			p.racing--
			p.generation++
		}
		if body.Generation != p.generation {
			http.Error(w, `{"errors": [{"status": 409, "code": "placement.concurrent_update"}]}`, http.StatusConflict)
			return
		}
		p.aggregates = body.Aggregates
		p.generation++
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"aggregates": p.aggregates, "resource_provider_generation": p.generation})
}

func TestPlacementAggregatesRetriesConflicts(t *testing.T) {
	t.Parallel()
	fp := &aggregatesPlacement{rp: "rp-1", aggregates: []string{"other"}}
	srv := httptest.NewServer(fp)
	defer srv.Close()
	reg := conductor.NewRegistry(conductor.RegistryOptions{})
	reg.Report(rpc.ServiceReport{Host: "h1", Binary: rpc.BinaryCompute, Node: &rpc.ComputeNode{Host: "h1", Node: "h1", ProviderUUID: "rp-1"}})
	reg.Report(rpc.ServiceReport{Host: "h2", Binary: rpc.BinaryCompute})
	pa := &placementMirror{reg: reg}
	ctx := context.Background()

	if err := pa.AggregateAddHost(ctx, "agg", "h1"); err == nil || !strings.Contains(err.Error(), "not reachable") {
		t.Fatalf("before the plane starts: %v; want an error", err)
	}
	pc := placementClient{sc: &gophercloud.ServiceClient{ProviderClient: &gophercloud.ProviderClient{HTTPClient: *srv.Client()},
		Endpoint: srv.URL + "/"}}
	pa.client.Store(&pc)
	if err := pa.AggregateAddHost(ctx, "agg", "h2"); err == nil || !strings.Contains(err.Error(), "no resource provider") {
		t.Fatalf("host without a node: %v; want an error", err)
	}
	if err := pa.AggregateAddHost(ctx, "agg", "nowhere"); err == nil {
		t.Fatal("unknown host: no error")
	}

	// Three writers race the first three writes: the fourth attempt wins.
	fp.racing = 3
	if err := pa.AggregateAddHost(ctx, "agg", "h1"); err != nil {
		t.Fatal(err)
	}
	if fp.puts != 4 || !slices.Equal(fp.aggregates, []string{"other", "agg"}) {
		t.Fatalf("after %d writes: %v; want other and agg after 4", fp.puts, fp.aggregates)
	}
	// Already there: nothing to write.
	fp.puts = 0
	if err := pa.AggregateAddHost(ctx, "agg", "h1"); err != nil || fp.puts != 0 {
		t.Fatalf("add again: %v after %d writes; want none", err, fp.puts)
	}
	// Four racing writers: it gives up after four attempts.
	fp.racing = 4
	if err := pa.AggregateRemoveHost(ctx, "agg", "h1"); err == nil || fp.puts != 4 {
		t.Fatalf("always raced: %v after %d writes; want an error after 4", err, fp.puts)
	}
	fp.racing, fp.puts = 0, 0
	if err := pa.AggregateRemoveHost(ctx, "agg", "h1"); err != nil || !slices.Equal(fp.aggregates, []string{"other"}) {
		t.Fatalf("remove: %v, %v; want other alone", err, fp.aggregates)
	}
	if err := pa.AggregateRemoveHost(ctx, "agg", "h1"); err != nil || fp.puts != 1 {
		t.Fatalf("remove again: %v after %d writes; want no more", err, fp.puts)
	}
}
