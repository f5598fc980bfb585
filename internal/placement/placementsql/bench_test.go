package placementsql_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/api"
	"github.com/nimbus-cloud/nimbus/internal/auth"
	"github.com/nimbus-cloud/nimbus/internal/db"
	"github.com/nimbus-cloud/nimbus/internal/db/dbtest"
	"github.com/nimbus-cloud/nimbus/internal/placement"
	"github.com/nimbus-cloud/nimbus/internal/placement/placementhttp"
	"github.com/nimbus-cloud/nimbus/internal/placement/placementsql"
)

// benchAdmin is the caller of the benchmarks.
var benchAdmin = &auth.Caller{UserID: "bench", ProjectID: "bench", Roles: []auth.Role{{Name: "admin"}}}

// benchDB returns a placement database of engine e seeded with n compute
// node providers, each with nova's three classes, two consumers and a
// trait, one in a hundred disabled (COMPUTE_STATUS_DISABLED). SQLite is
// seeded through the service; a server engine gets a copy of the SQLite
// rows, much faster than 50,000 transactions. It lives until b ends.
func benchDB(b *testing.B, e db.Engine, n int) *db.DB {
	b.Helper()
	ctx := context.Background()
	src, err := db.Open(ctx, db.SQLiteURL(filepath.Join(b.TempDir(), "placement.db")))
	dbtest.Must(b, err)
	b.Cleanup(func() { src.Close() })
	migrate(b, src)
	seed(b, src, n)
	if e == db.SQLite {
		return src
	}
	d := dbtest.Open(b, e)
	migrate(b, d)
	copyRows(b, src, d)
	return d
}

func migrate(b *testing.B, d *db.DB) {
	b.Helper()
	ms, err := placementsql.Migrations()
	dbtest.Must(b, err)
	_, err = db.Migrate(context.Background(), d, placementsql.ServiceName, ms)
	dbtest.Must(b, err)
}

func seed(b *testing.B, d *db.DB, n int) {
	b.Helper()
	ctx := auth.WithCaller(context.Background(), benchAdmin)
	svc := placement.New(placement.Config{}, placement.Deps{Store: placementsql.New(d)})
	dbtest.Must(b, svc.Sync(ctx))
	invs := []placement.Inventory{
		{ResourceClass: "VCPU", Total: 64, MinUnit: 1, MaxUnit: 64, StepSize: 1, AllocationRatio: 4},
		{ResourceClass: "MEMORY_MB", Total: 262144, Reserved: 512, MinUnit: 1, MaxUnit: 262144, StepSize: 1, AllocationRatio: 1},
		{ResourceClass: "DISK_GB", Total: 2000, MinUnit: 1, MaxUnit: 2000, StepSize: 1, AllocationRatio: 1},
	}
	for i := range n {
		p, err := svc.CreateProvider(ctx, placement.NewProvider{UUID: benchUUID(i), Name: fmt.Sprintf("cn%05d", i)})
		dbtest.Must(b, err)
		p, _, err = svc.SetInventories(ctx, p.UUID, p.Generation, invs, placement.InventoryOptions{})
		dbtest.Must(b, err)
		traits := []string{"HW_CPU_X86_SSE2"}
		if i%100 == 99 {
			traits = append(traits, "COMPUTE_STATUS_DISABLED")
		}
		_, _, err = svc.SetProviderTraits(ctx, p.UUID, p.Generation, traits)
		dbtest.Must(b, err)
		for c := range 2 {
			dbtest.Must(b, svc.SetConsumerAllocations(ctx, placement.ConsumerWrite{
				ConsumerUUID: fmt.Sprintf("%08d-0000-4000-8000-%012d", i, c), ProjectID: "p", UserID: "u",
				Allocations: map[string]map[string]int64{p.UUID: {"VCPU": 2, "MEMORY_MB": 2048, "DISK_GB": 20}}},
				placement.AllocationOptions{}))
		}
	}
}

// benchUUID is provider i's uuid: fixed, so that answers can be compared
// between runs, and in an order unrelated to i, as random uuids are.
func benchUUID(i int) string {
	h := fmt.Sprintf("%x", sha256.Sum256(fmt.Append(nil, i)))
	return h[0:8] + "-" + h[8:12] + "-4" + h[13:16] + "-8" + h[17:20] + "-" + h[20:32]
}

// copyRows copies every placement table from src to dst, in batches of
// multi-row inserts.
func copyRows(b *testing.B, src, dst *db.DB) {
	b.Helper()
	ctx := context.Background()
	for _, table := range []string{"resource_classes", "traits", "resource_providers", "inventories", "consumers",
		"allocations", "resource_provider_traits", "placement_aggregates", "resource_provider_aggregates"} {
		rows, err := src.QueryContext(ctx, "SELECT * FROM "+table)
		dbtest.Must(b, err)
		cols, err := rows.Columns()
		dbtest.Must(b, err)
		var batch []any
		flush := func() {
			if len(batch) == 0 {
				return
			}
			n := len(batch) / len(cols)
			tuple := "(" + db.Placeholders(len(cols)) + ")"
			q := "INSERT INTO " + table + " VALUES " + tuple
			for range n - 1 {
				q += ", " + tuple
			}
			_, err := dst.ExecContext(ctx, q, batch...)
			dbtest.Must(b, err)
			batch = batch[:0]
		}
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			dbtest.Must(b, rows.Scan(ptrs...))
			batch = append(batch, vals...)
			if len(batch) >= 500*len(cols) {
				flush()
			}
		}
		dbtest.Must(b, rows.Err())
		rows.Close()
		flush()
	}
	// Fresh statistics, as a server that has been running has them.
	for _, table := range []string{"resource_providers", "inventories", "allocations", "resource_provider_traits"} {
		q := "ANALYZE " + table
		if dst.Engine() == db.MySQL {
			q = "ANALYZE TABLE " + table
		}
		_, err := dst.ExecContext(ctx, q)
		dbtest.Must(b, err)
	}
	if dst.Engine() == db.Postgres {
		for _, table := range []string{"resource_providers", "traits", "placement_aggregates"} {
			_, err := dst.ExecContext(ctx, "SELECT setval(pg_get_serial_sequence('"+table+"', 'id'), "+
				"COALESCE((SELECT MAX(id) FROM "+table+"), 0) + 1, false)")
			dbtest.Must(b, err)
		}
	}
}

// staticValidator accepts any token as the bench admin.
type staticValidator struct{}

func (staticValidator) ValidateToken(context.Context, string) (*auth.Caller, error) {
	return benchAdmin, nil
}

// novaQuery is nova's usual GET /allocation_candidates for a flavor of 2
// VCPUs, 4 GiB and 20 GB.
const novaQuery = "/allocation_candidates?resources=VCPU:2,MEMORY_MB:4096,DISK_GB:20&required=!COMPUTE_STATUS_DISABLED"

// benchmarkCandidatesHTTP times GET /allocation_candidates through the API
// handler (parsing, the search, the summaries, the JSON body), reporting
// the fastest, the median and the 95th percentile beside the mean.
func benchmarkCandidatesHTTP(b *testing.B, d *db.DB, n, limit int) {
	svc := placement.New(placement.Config{}, placement.Deps{Store: placementsql.New(d)})
	srv := api.NewServer(api.Options{Name: "placement", Render: placementhttp.RenderError})
	placementhttp.Register(srv, svc, staticValidator{}, 1<<20)
	url := novaQuery
	if limit > 0 {
		url += fmt.Sprintf("&limit=%d", limit)
	}
	want := limit
	if want == 0 || want > n-n/100 {
		want = n - n/100
	}
	var times []time.Duration
	cpu0 := cpuTime()
	for b.Loop() {
		start := time.Now()
		req := httptest.NewRequest(http.MethodGet, url, nil)
		req.Header.Set("X-Auth-Token", "bench")
		req.Header.Set("OpenStack-API-Version", "placement 1.36")
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		times = append(times, time.Since(start))
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		if len(times) == 1 {
			if got := countRequests(rec.Body.Bytes()); got != want {
				b.Fatalf("%d allocation requests, want %d", got, want)
			}
		}
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(len(times)), "cpu-ms/op")
	slices.Sort(times)
	b.ReportMetric(float64(times[0].Microseconds())/1000, "min-ms")
	b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(times[len(times)*95/100].Microseconds())/1000, "p95-ms")
}

// cpuTime is the CPU time the process has used: on a machine busy with
// other work it varies less than the wall time of a request.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// countRequests counts the allocation requests of a candidates body.
func countRequests(body []byte) int {
	var res struct {
		Requests []struct{} `json:"allocation_requests"`
	}
	if err := json.Unmarshal(body, &res); err != nil {
		return -1
	}
	return len(res.Requests)
}

// BenchmarkAllocationCandidates is nova's usual request, limit=1000 or
// none, at 1,000 and 10,000 compute node providers, on SQLite and on the
// server engines configured.
func BenchmarkAllocationCandidates(b *testing.B) {
	for _, e := range []db.Engine{db.SQLite, db.MySQL, db.Postgres} {
		b.Run(string(e), func(b *testing.B) {
			if e != db.SQLite && !slices.Contains(dbtest.Engines(), e) {
				b.Skipf("no %s server configured", e)
			}
			for _, n := range []int{1000, 10000} {
				b.Run(fmt.Sprintf("providers=%d", n), func(b *testing.B) {
					d := benchDB(b, e, n)
					for _, limit := range []int{1000, 0} {
						b.Run(fmt.Sprintf("limit=%d", limit), func(b *testing.B) { benchmarkCandidatesHTTP(b, d, n, limit) })
					}
				})
			}
		})
	}
}
