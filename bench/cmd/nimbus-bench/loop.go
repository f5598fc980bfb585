package main

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// latency summarizes a run's latencies in milliseconds (nearest-rank
// percentiles, as the upstream baseline computes them).
type latency struct {
	Count  int     `json:"count"`
	P50ms  float64 `json:"p50_ms"`
	P95ms  float64 `json:"p95_ms"`
	P99ms  float64 `json:"p99_ms"`
	MeanMs float64 `json:"mean_ms"`
	MaxMs  float64 `json:"max_ms"`
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	k := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[min(max(k, 0), len(sorted)-1)]
}

func ms(d time.Duration) float64 { return round3(float64(d) / float64(time.Millisecond)) }

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

func summarize(d []time.Duration) latency {
	if len(d) == 0 {
		return latency{}
	}
	s := slices.Clone(d)
	slices.Sort(s)
	var sum time.Duration
	for _, x := range s {
		sum += x
	}
	return latency{Count: len(s), P50ms: ms(percentile(s, 50)), P95ms: ms(percentile(s, 95)),
		P99ms: ms(percentile(s, 99)), MeanMs: ms(sum / time.Duration(len(s))), MaxMs: ms(s[len(s)-1])}
}

// result is what a timed loop measured.
type result struct {
	lat      []time.Duration
	errors   int
	firstErr error
	wall     time.Duration
}

func (r result) rps() float64 {
	if r.wall <= 0 {
		return 0
	}
	return math.Round(float64(len(r.lat))/r.wall.Seconds()*100) / 100
}

// fields are the common JSON fields of a timed loop.
func (r result) fields(requested, conc int) map[string]any {
	m := map[string]any{"concurrency": conc, "requested": requested, "ok": len(r.lat), "errors": r.errors,
		"wall_s": round3(r.wall.Seconds()), "rps": r.rps(), "latency": summarize(r.lat)}
	if r.firstErr != nil {
		m["first_error"] = r.firstErr.Error()
	}
	return m
}

// runLoop sends n operations from conc workers, each with its own operation
// from newOp (so a worker can reuse its request), and stops early at limit.
func runLoop(n, conc int, limit time.Duration, newOp func() func() error) result {
	var (
		next     atomic.Int64
		mu       sync.Mutex
		res      result
		wg       sync.WaitGroup
		deadline = time.Now().Add(limit)
	)
	ops := make([]func() error, conc)
	for i := range ops {
		ops[i] = newOp()
	}
	start := time.Now()
	for _, op := range ops {
		wg.Go(func() {
			lat := make([]time.Duration, 0, n/conc+1)
			errs := 0
			var firstErr error
			for next.Add(1) <= int64(n) && time.Now().Before(deadline) {
				t := time.Now()
				err := op()
				d := time.Since(t)
				if err != nil {
					errs++
					if firstErr == nil {
						firstErr = err
					}
					continue
				}
				lat = append(lat, d)
			}
			mu.Lock()
			res.lat = append(res.lat, lat...)
			res.errors += errs
			if res.firstErr == nil {
				res.firstErr = firstErr
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	res.wall = time.Since(start)
	return res
}

// warmUp runs max(n, conc) untimed operations from conc workers, so every
// worker's connection is open before timing starts; it fails on the first error.
func warmUp(n, conc int, newOp func() func() error) error {
	if n <= 0 {
		return nil
	}
	r := runLoop(max(n, conc), conc, time.Minute, newOp)
	if r.firstErr != nil {
		return fmt.Errorf("warm-up: %w", r.firstErr)
	}
	return nil
}

// emit prints one measurement as a JSON line.
func emit(m map[string]any) {
	m["time"] = time.Now().UTC().Format(time.RFC3339)
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	fmt.Println(string(b))
}
