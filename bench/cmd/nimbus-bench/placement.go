package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/nimbus-cloud/nimbus/internal/auth"
	"github.com/nimbus-cloud/nimbus/internal/db"
	"github.com/nimbus-cloud/nimbus/internal/placement"
	"github.com/nimbus-cloud/nimbus/internal/placement/placementsql"
)

// The compute node every seeded provider looks like: nova's three classes,
// its allocation ratios, a few CPU traits on some hosts and
// COMPUTE_STATUS_DISABLED on one in a hundred.
const (
	benchVCPU   = 64
	benchMemMB  = 262144
	benchDiskGB = 2000
)

// cmdPlacement seeds providers (through the API or straight into the
// database), then measures GET /allocation_candidates latency and
// concurrent allocation claims, checking that no claim went over capacity.
func cmdPlacement(args []string) error {
	fs := newFlags("placement")
	providers := fs.Int("providers", 1000, "compute node providers to seed")
	seed := fs.String("seed", "api", "how to seed: api (REST calls) or direct (rows through the placement store; needs -db)")
	dbURL := fs.String("db", "", "placement database URL for -seed direct (sqlite:////path/placement.db, mysql://...)")
	seedConc := fs.Int("seed-c", 16, "concurrent seeding requests")
	n := fs.Int("n", 100, "allocation candidate requests to time")
	conc := fs.Int("c", 1, "concurrent allocation candidate requests")
	limits := fs.String("limits", "1000,0", "comma-separated limit values to measure (0: no limit)")
	claims := fs.Int("claims", 2000, "allocation claims to attempt (0: skip)")
	claimConc := fs.Int("claim-c", 16, "concurrent claims")
	hot := fs.Int("hot", 20, "providers the claims go to: few, so that claims contend (and run out of capacity)")
	claimVCPU := fs.Int("claim-vcpu", 1, "VCPU per claim (with 512 MEMORY_MB and 1 DISK_GB per VCPU)")
	endpoint := fs.String("endpoint", "", "placement endpoint (default: from the token's catalog)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	creds, err := credentialsFromEnv()
	if err != nil {
		return err
	}
	pc, err := placementLogin(creds, newClient(max(*conc, *claimConc, *seedConc)), *endpoint)
	if err != nil {
		return err
	}
	run := fmt.Sprintf("bench%d", time.Now().Unix())
	t0 := time.Now()
	var uuids []string
	switch *seed {
	case "api":
		uuids, err = pc.seed(run, *providers, *seedConc)
	case "direct":
		uuids, err = seedDirect(*dbURL, run, *providers)
	default:
		err = fmt.Errorf("-seed must be api or direct, not %q", *seed)
	}
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	emit(map[string]any{"test": "placement-seed", "mode": *seed, "providers": len(uuids),
		"seconds": round3(time.Since(t0).Seconds())})
	for _, l := range strings.Split(*limits, ",") {
		path := "/allocation_candidates?resources=VCPU:2,MEMORY_MB:4096,DISK_GB:20&required=!COMPUTE_STATUS_DISABLED"
		if l = strings.TrimSpace(l); l != "" && l != "0" {
			path += "&limit=" + l
		}
		if err := pc.measureCandidates(path, *n, *conc, len(uuids), l); err != nil {
			return err
		}
	}
	if *claims > 0 {
		return pc.measureClaims(uuids[:min(*hot, len(uuids))], *claims, *claimConc, int64(*claimVCPU))
	}
	return nil
}

// placementClient talks to one placement endpoint with one token.
type placementClient struct {
	client   *http.Client
	endpoint string
	token    string
}

func placementLogin(creds credentials, client *http.Client, endpoint string) (*placementClient, error) {
	req, err := http.NewRequest(http.MethodPost, creds.AuthURL+"/auth/tokens", bytes.NewReader(creds.passwordBody()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	k := &keystone{creds: creds, client: client}
	status, body, hdr, err := k.do(req)
	if err != nil {
		return nil, fmt.Errorf("issue token: %w", err)
	}
	if status != http.StatusCreated {
		return nil, fmt.Errorf("issue token: HTTP %d: %.200s", status, body)
	}
	pc := &placementClient{client: client, endpoint: strings.TrimRight(endpoint, "/"), token: hdr.Get("X-Subject-Token")}
	if pc.endpoint == "" {
		var tc tokenCatalog
		if err := json.Unmarshal(body, &tc); err != nil {
			return nil, fmt.Errorf("decode token catalog: %w", err)
		}
		for _, s := range tc.Token.Catalog {
			for _, e := range s.Endpoints {
				if s.Type == "placement" && e.Interface == "public" {
					pc.endpoint = strings.TrimRight(e.URL, "/")
				}
			}
		}
		if pc.endpoint == "" {
			return nil, fmt.Errorf("no public placement endpoint in the catalog")
		}
	}
	return pc, nil
}

// call sends one request at microversion version and returns the status and body.
func (p *placementClient) call(method, path, version string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(mustJSON(body))
	}
	req, err := http.NewRequest(method, p.endpoint+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-Auth-Token", p.token)
	req.Header.Set("OpenStack-API-Version", "placement "+version)
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(resp.Body)
	return resp.StatusCode, rb, err
}

// inventory is the compute node inventory every seeded provider gets.
func benchInventory() map[string]any {
	return map[string]any{
		"VCPU":      map[string]any{"total": benchVCPU, "allocation_ratio": 4.0, "max_unit": benchVCPU},
		"MEMORY_MB": map[string]any{"total": benchMemMB, "reserved": 512, "max_unit": benchMemMB},
		"DISK_GB":   map[string]any{"total": benchDiskGB, "max_unit": benchDiskGB},
	}
}

// benchTraits are the traits of seeded provider i.
func benchTraits(i int) []string {
	ts := []string{"HW_CPU_X86_SSE2"}
	if i%2 == 0 {
		ts = append(ts, "HW_CPU_X86_AVX2")
	}
	if i%100 == 99 {
		ts = append(ts, "COMPUTE_STATUS_DISABLED")
	}
	return ts
}

// seed creates providers through the API: create, inventory, traits.
func (p *placementClient) seed(run string, count, conc int) ([]string, error) {
	uuids := make([]string, count)
	var next atomic.Int64
	var firstErr error
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range conc {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= count {
					return
				}
				u := uuid.NewString()
				err := p.seedOne(fmt.Sprintf("%s-cn%05d", run, i), u, benchTraits(i))
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				uuids[i] = u
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return uuids, firstErr
}

func (p *placementClient) seedOne(name, u string, traits []string) error {
	if st, b, err := p.call("POST", "/resource_providers", "1.20", map[string]any{"name": name, "uuid": u}); err != nil || st != 200 {
		return fmt.Errorf("create provider: %d %.200s %v", st, b, err)
	}
	if st, b, err := p.call("PUT", "/resource_providers/"+u+"/inventories", "1.20",
		map[string]any{"resource_provider_generation": 0, "inventories": benchInventory()}); err != nil || st != 200 {
		return fmt.Errorf("set inventory: %d %.200s %v", st, b, err)
	}
	if st, b, err := p.call("PUT", "/resource_providers/"+u+"/traits", "1.20",
		map[string]any{"resource_provider_generation": 1, "traits": traits}); err != nil || st != 200 {
		return fmt.Errorf("set traits: %d %.200s %v", st, b, err)
	}
	return nil
}

// seedDirect writes providers with the placement store on the cloud's
// database, as an operator's bulk import would: no HTTP, same rules.
func seedDirect(url, run string, count int) ([]string, error) {
	if url == "" {
		return nil, fmt.Errorf("-seed direct needs -db")
	}
	ctx := context.Background()
	d, err := db.Open(ctx, url)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	svc := placement.New(placement.Config{}, placement.Deps{Store: placementsql.New(d)})
	ctx = auth.WithCaller(ctx, &auth.Caller{UserID: "nimbus-bench", Roles: []auth.Role{{Name: "admin"}}})
	invs := []placement.Inventory{
		{ResourceClass: "VCPU", Total: benchVCPU, MinUnit: 1, MaxUnit: benchVCPU, StepSize: 1, AllocationRatio: 4},
		{ResourceClass: "MEMORY_MB", Total: benchMemMB, Reserved: 512, MinUnit: 1, MaxUnit: benchMemMB, StepSize: 1, AllocationRatio: 1},
		{ResourceClass: "DISK_GB", Total: benchDiskGB, MinUnit: 1, MaxUnit: benchDiskGB, StepSize: 1, AllocationRatio: 1},
	}
	uuids := make([]string, count)
	for i := range count {
		p, err := svc.CreateProvider(ctx, placement.NewProvider{UUID: uuid.NewString(), Name: fmt.Sprintf("%s-cn%05d", run, i)})
		if err != nil {
			return nil, err
		}
		if p, _, err = svc.SetInventories(ctx, p.UUID, p.Generation, invs, placement.InventoryOptions{}); err != nil {
			return nil, err
		}
		if _, _, err = svc.SetProviderTraits(ctx, p.UUID, p.Generation, benchTraits(i)); err != nil {
			return nil, err
		}
		uuids[i] = p.UUID
	}
	return uuids, nil
}

// measureCandidates times GET /allocation_candidates (1.36, nova's version).
func (p *placementClient) measureCandidates(path string, n, conc, providers int, limit string) error {
	var returned atomic.Int64
	newOp := func() func() error {
		return func() error {
			st, b, err := p.call("GET", path, "1.36", nil)
			if err != nil {
				return err
			}
			if st != 200 {
				return fmt.Errorf("GET allocation_candidates: %d %.200s", st, b)
			}
			var out struct {
				Requests []json.RawMessage `json:"allocation_requests"`
			}
			if err := json.Unmarshal(b, &out); err != nil {
				return err
			}
			returned.Store(int64(len(out.Requests)))
			return nil
		}
	}
	if err := warmUp(3, conc, newOp); err != nil {
		return err
	}
	r := runLoop(n, conc, 10*time.Minute, newOp)
	m := r.fields(n, conc)
	m["test"] = "placement-allocation-candidates"
	m["providers"] = providers
	m["limit"] = limit
	m["candidates_returned"] = returned.Load()
	emit(m)
	return nil
}

// measureClaims sends claims for new consumers from conc workers against
// the hot providers until n were tried, then checks every hot provider's
// usage against its capacity and against the claims that succeeded.
func (p *placementClient) measureClaims(hot []string, n, conc int, vcpu int64) error {
	var ok, full, errs atomic.Int64
	granted := make([]atomic.Int64, len(hot))
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range conc {
		wg.Go(func() {
			for next.Add(1) <= int64(n) {
				i := rand.IntN(len(hot))
				body := map[string]any{"allocations": map[string]any{hot[i]: map[string]any{"resources": map[string]int64{
					"VCPU": vcpu, "MEMORY_MB": 512 * vcpu, "DISK_GB": vcpu}}},
					"project_id": "bench", "user_id": "bench", "consumer_generation": nil}
				st, _, err := p.call("PUT", "/allocations/"+uuid.NewString(), "1.28", body)
				switch {
				case err != nil:
					errs.Add(1)
				case st == 204:
					ok.Add(1)
					granted[i].Add(1)
				case st == 409:
					full.Add(1)
				default:
					errs.Add(1)
				}
			}
		})
	}
	wg.Wait()
	wall := time.Since(start)
	over := 0
	for i, u := range hot {
		st, b, err := p.call("GET", "/resource_providers/"+u+"/usages", "1.28", nil)
		if err != nil || st != 200 {
			return fmt.Errorf("read usages of %s: %d %v", u, st, err)
		}
		var us struct {
			Usages map[string]int64 `json:"usages"`
		}
		if err := json.Unmarshal(b, &us); err != nil {
			return err
		}
		if us.Usages["VCPU"] > benchVCPU*4 || us.Usages["MEMORY_MB"] > benchMemMB-512 || us.Usages["VCPU"] != vcpu*granted[i].Load() {
			over++
		}
	}
	emit(map[string]any{"test": "placement-claims", "concurrency": conc, "attempted": n, "granted": ok.Load(),
		"refused_409": full.Load(), "errors": errs.Load(), "wall_s": round3(wall.Seconds()),
		"claims_per_s": round3(float64(n) / wall.Seconds()), "granted_per_s": round3(float64(ok.Load()) / wall.Seconds()),
		"claim_vcpu": vcpu, "hot_providers": len(hot),
		"providers_over_capacity_or_miscounted": over})
	if over > 0 {
		return fmt.Errorf("%d providers over capacity or with usage different from the claims granted", over)
	}
	return nil
}
