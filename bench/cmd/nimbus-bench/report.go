package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
)

// upstream holds real OpenStack Zed's figures for the same measurements, taken
// with the same method on the same 2-core machine (see bench/README.md).
var upstream = map[string]string{
	"token_issue c=1":    "2.69 req/s; p50 360 ms, p95 463 ms, p99 490 ms",
	"token_issue c=8":    "5.10 req/s; p50 1514 ms, p95 1779 ms, p99 1881 ms",
	"token_validate c=1": "40.8 req/s; p50 22.7 ms, p95 39.6 ms, p99 55.9 ms",
	"token_validate c=8": "79.2 req/s; p50 98.0 ms, p95 163 ms, p99 187 ms",
	"startup first":      "98.7 s to serving; idle PSS 2135 MiB (14 daemons, 31 processes)",
	"startup warm":       "51-58 s to serving",
	"memory idle":        "PSS 2135 MiB (RSS 3586 MiB), 31 processes",
	"memory after-load":  "PSS 3587 MiB (RSS 4897 MiB), 31 processes",
}

// measurement is one JSON line of a results file.
type measurement map[string]any

// num follows a dotted path to a number; NaN when absent.
func (m measurement) num(path string) float64 {
	var cur any = map[string]any(m)
	for _, p := range strings.Split(path, ".") {
		mm, ok := cur.(map[string]any)
		if !ok {
			return math.NaN()
		}
		cur = mm[p]
	}
	if f, ok := cur.(float64); ok {
		return f
	}
	return math.NaN()
}

// key groups repeated runs of the same measurement.
func (m measurement) key() string {
	switch m["test"] {
	case "token_issue", "token_validate":
		return fmt.Sprintf("%s c=%v", m["test"], m["concurrency"])
	case "bcrypt_bound":
		return fmt.Sprintf("bcrypt_bound cost=%v c=%v", m["cost"], m["concurrency"])
	case "validate_revoked":
		return fmt.Sprintf("validate_revoked events=%v c=%v", m["events"], m["concurrency"])
	case "revocation_events":
		return "revocation_events"
	case "startup":
		return fmt.Sprintf("startup %v", m["start"])
	case "memory":
		return fmt.Sprintf("memory %v", m["label"])
	}
	return ""
}

type groups struct {
	order []string
	by    map[string][]measurement
}

// median of one field over a group's runs; NaN when the group is missing.
func (g groups) median(key, path string) float64 {
	var xs []float64
	for _, m := range g.by[key] {
		if x := m.num(path); !math.IsNaN(x) {
			xs = append(xs, x)
		}
	}
	if len(xs) == 0 {
		return math.NaN()
	}
	slices.Sort(xs)
	if len(xs)%2 == 1 {
		return xs[len(xs)/2]
	}
	return (xs[len(xs)/2-1] + xs[len(xs)/2]) / 2
}

func readResults(r io.Reader) (groups, error) {
	g := groups{by: map[string][]measurement{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var m measurement
		if json.Unmarshal(sc.Bytes(), &m) != nil {
			continue
		}
		k := m.key()
		if k == "" {
			continue
		}
		if _, ok := g.by[k]; !ok {
			g.order = append(g.order, k)
		}
		g.by[k] = append(g.by[k], m)
	}
	return g, sc.Err()
}

// f formats a figure with three significant digits (whole numbers above 100).
func f(x float64) string {
	switch {
	case math.IsNaN(x):
		return "–"
	case math.Abs(x) >= 100 || x == math.Trunc(x):
		return fmt.Sprintf("%.0f", x)
	case math.Abs(x) >= 10:
		return fmt.Sprintf("%.1f", x)
	case math.Abs(x) >= 1:
		return fmt.Sprintf("%.2f", x)
	}
	return fmt.Sprintf("%.3f", x)
}

func (g groups) describe(k string) string {
	m := func(path string) string { return f(g.median(k, path)) }
	lat := func() string {
		return fmt.Sprintf("p50 %s ms, p95 %s ms, p99 %s ms", m("latency.p50_ms"), m("latency.p95_ms"), m("latency.p99_ms"))
	}
	cpu := func() string {
		if math.IsNaN(g.median(k, "server_cpu_ms_per_req")) {
			return ""
		}
		return fmt.Sprintf("; CPU per request: server %s ms, client %s ms; other work on the machine %s cores",
			m("server_cpu_ms_per_req"), m("client_cpu_ms_per_req"), m("other_busy_cores"))
	}
	switch g.by[k][0]["test"] {
	case "token_issue", "token_validate", "validate_revoked":
		return fmt.Sprintf("%s req/s; %s (%s of %s ok)%s", m("rps"), lat(), m("ok"), m("requested"), cpu())
	case "bcrypt_bound":
		return fmt.Sprintf("%s checks/s; %s; CPU %s ms/check", m("rps"), lat(), m("client_cpu_ms_per_req"))
	case "revocation_events":
		return fmt.Sprintf("%s events made at %s/s (token exchange + DELETE, c=%s)", m("made"), m("events_per_s"), m("concurrency"))
	case "startup":
		return fmt.Sprintf("serving after %s ms (ready line %s ms); idle PSS %s MiB, RSS %s MiB (peak %s MiB); SIGTERM stop %s ms",
			m("serving_ms"), m("ready_line_ms"), m("pss_mib"), m("rss_mib"), m("peak_rss_mib"), m("stop_ms"))
	case "memory":
		return fmt.Sprintf("PSS %s MiB, RSS %s MiB, %s process(es)", m("pss_mib"), m("rss_mib"), m("processes"))
	}
	return ""
}

// goal is one target and whether the results meet it.
type goal struct {
	name, measured string
	met            bool
	known          bool // false when the results lack the measurement
}

func newGoal(name, measured string, value float64, met bool) goal {
	return goal{name: name, measured: measured, met: met, known: !math.IsNaN(value)}
}

func (g groups) goals() []goal {
	out := []goal{g.validateGoal()}
	out = append(out, g.issueGoals()...)
	out = append(out, g.revocationGoals()...)
	return append(out, g.footprintGoals()...)
}

// find returns the key of the first group whose key has prefix and suffix, or "".
func (g groups) find(prefix, suffix string) string {
	for _, k := range g.order {
		if strings.HasPrefix(k, prefix) && strings.HasSuffix(k, suffix) {
			return k
		}
	}
	return ""
}

func (g groups) validateGoal() goal {
	const key = "token_validate c=8"
	v := g.median(key, "rps")
	measured := f(v) + " req/s"
	// What the CPU cost per request allows when the benchmark and the server
	// have the machine's cores to themselves.
	perReq := g.median(key, "server_cpu_ms_per_req") + g.median(key, "client_cpu_ms_per_req")
	cores := g.median(g.find("bcrypt_bound", ""), "num_cpu")
	if !math.IsNaN(perReq) && !math.IsNaN(cores) {
		measured += fmt.Sprintf(" (other work held %s cores; %s cores / %s ms CPU per request ≈ %s req/s)",
			f(g.median(key, "other_busy_cores")), f(cores), f(perReq), f(cores*1000/perReq))
	}
	return newGoal("token validate ≥ 8,000 req/s at c=8", measured, v, v >= 8000)
}

// issueGoals compare token issue with bcrypt: at c=1 with one goroutine's
// rate, at c=8 with the rate at the highest concurrency measured (all cores);
// then the same in CPU time per token, which other work on the machine does
// not skew.
func (g groups) issueGoals() []goal {
	one := g.find("bcrypt_bound", " c=1")
	all, allC := "", 0.0
	for _, k := range g.order {
		if c := g.median(k, "concurrency"); strings.HasPrefix(k, "bcrypt_bound") && c > allC {
			all, allC = k, c
		}
	}
	var out []goal
	for _, c := range []string{"1", "8"} {
		bound, boundName := g.median(one, "rps"), "bcrypt c=1"
		if c == "8" {
			bound, boundName = g.median(all, "rps"), "bcrypt c="+f(allC)
		}
		issue := g.median("token_issue c="+c, "rps")
		ratio := issue / bound
		out = append(out, newGoal(fmt.Sprintf("token issue c=%s ≥ 95%% of the bcrypt bound", c),
			fmt.Sprintf("%s of %s req/s (%s) = %s%%", f(issue), f(bound), boundName, f(ratio*100)), ratio, ratio >= 0.95))
	}
	check := g.median(one, "client_cpu_ms_per_req")
	for _, c := range []string{"1", "8"} {
		perIssue := g.median("token_issue c="+c, "server_cpu_ms_per_req")
		ratio := check / perIssue
		out = append(out, newGoal(fmt.Sprintf("token issue c=%s: bcrypt's share of the server CPU per token ≥ 95%%", c),
			fmt.Sprintf("%s of %s ms = %s%%", f(check), f(perIssue), f(ratio*100)), ratio, ratio >= 0.95))
	}
	return out
}

// revocationGoals compare validation with no revocation events and with the
// most events measured: p50 latency within 25%, server CPU within 10%.
func (g groups) revocationGoals() []goal {
	most := 0.0
	for _, k := range g.order {
		if strings.HasPrefix(k, "validate_revoked") {
			most = max(most, g.median(k, "events"))
		}
	}
	var out []goal
	for _, c := range []string{"1", "8"} {
		none := "validate_revoked events=0 c=" + c
		many := fmt.Sprintf("validate_revoked events=%.0f c=%s", most, c)
		p0, pN := g.median(none, "latency.p50_ms"), g.median(many, "latency.p50_ms")
		out = append(out, newGoal(fmt.Sprintf("validation latency flat from 0 to %.0f events, c=%s (p50 within 25%%)", most, c),
			fmt.Sprintf("p50 %s ms → %s ms (×%s)", f(p0), f(pN), f(pN/p0)), pN/p0, pN/p0 <= 1.25))
		c0, cN := g.median(none, "server_cpu_ms_per_req"), g.median(many, "server_cpu_ms_per_req")
		if !math.IsNaN(c0) {
			out = append(out, newGoal(fmt.Sprintf("validation CPU flat from 0 to %.0f events, c=%s (server CPU within 10%%)", most, c),
				fmt.Sprintf("%s ms → %s ms per validation (×%s)", f(c0), f(cN), f(cN/c0)), cN/c0, cN/c0 <= 1.10))
		}
	}
	return out
}

// footprintGoals are idle memory and the time from exec to serving.
func (g groups) footprintGoals() []goal {
	pss := g.median("startup first", "pss_mib")
	out := []goal{newGoal("idle memory ≤ 100 MiB (PSS, first start)", f(pss)+" MiB", pss, pss <= 100)}
	if idle := g.median("memory idle", "pss_mib"); !math.IsNaN(idle) {
		out = append(out, newGoal("idle memory ≤ 100 MiB (PSS, the benchmarked cloud)", f(idle)+" MiB", idle, idle <= 100))
	}
	for _, phase := range []string{"first", "warm"} {
		s := g.median("startup "+phase, "serving_ms")
		out = append(out, newGoal(fmt.Sprintf("start to serving < 1 s (%s start)", phase), f(s)+" ms", s, s < 1000))
	}
	return out
}

// cmdReport prints the medians of a results file, beside upstream's figures,
// and the goals.
func cmdReport(args []string) error {
	fs := newFlags("report")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("usage: nimbus-bench report results.jsonl")
	}
	file, err := os.Open(fs.Arg(0))
	if err != nil {
		return err
	}
	defer file.Close()
	g, err := readResults(file)
	if err != nil {
		return err
	}
	fmt.Println("| measurement | runs | Nimbus (medians) | upstream OpenStack Zed |")
	fmt.Println("| --- | --- | --- | --- |")
	for _, k := range g.order {
		up := upstream[k]
		if up == "" {
			up = "–"
		}
		fmt.Printf("| %s | %d | %s | %s |\n", k, len(g.by[k]), g.describe(k), up)
	}
	fmt.Println()
	fmt.Println("| goal | measured | met |")
	fmt.Println("| --- | --- | --- |")
	for _, gl := range g.goals() {
		verdict := "no"
		switch {
		case !gl.known:
			verdict = "not measured"
		case gl.met:
			verdict = "yes"
		}
		fmt.Printf("| %s | %s | %s |\n", gl.name, gl.measured, verdict)
	}
	return nil
}
