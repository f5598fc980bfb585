package scheduler

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ErrNoValidHost is what every *NoValidHostError matches with errors.Is.
var ErrNoValidHost = errors.New("no valid host was found")

// NoValidHostError says why an instance found no host: which filters
// rejected how many hosts, and why.
type NoValidHostError struct {
	// Hosts is the number of hosts Select was given.
	Hosts int
	// Requested is the number of instances asked for; Placed how many
	// found a host before the hosts ran out.
	Requested int
	Placed    int
	// Filters are the filters that rejected hosts, in the order they ran.
	Filters []FilterReport
}

// FilterReport is what one filter rejected.
type FilterReport struct {
	Filter   string
	Rejected int
	// Reason sums up why, e.g. "disabled: maintenance" or "needs 4096 MB,
	// best had 2048 MB free".
	Reason string
	// Hosts names the first rejected hosts (host, or host:node when they
	// differ), for logs; the message leaves them out.
	Hosts []string
}

// maxReportHosts bounds FilterReport.Hosts.
const maxReportHosts = 10

// maxReasonGroups bounds the distinct reasons a summary lists.
const maxReasonGroups = 4

// Error reads like nova's fault, followed by each filter's rejections:
// "No valid host was found. There are not enough hosts available.
// ComputeFilter rejected 1 host (disabled: maintenance), RamFilter rejected
// 2 hosts (needs 4096 MB, best had 2048 MB free)."
func (e *NoValidHostError) Error() string {
	var b strings.Builder
	b.WriteString("No valid host was found. ")
	if e.Hosts == 0 {
		b.WriteString("There are no compute hosts.")
		return b.String()
	}
	b.WriteString("There are not enough hosts available.")
	if e.Requested > 1 {
		fmt.Fprintf(&b, " %d of %d instances found a host.", e.Placed, e.Requested)
	}
	for i, f := range e.Filters {
		if i == 0 {
			b.WriteString(" ")
		} else {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s rejected %d %s", f.Filter, f.Rejected, plural(f.Rejected, "host", "hosts"))
		if f.Reason != "" {
			fmt.Fprintf(&b, " (%s)", f.Reason)
		}
	}
	if len(e.Filters) > 0 {
		b.WriteString(".")
	}
	return b.String()
}

// Is makes errors.Is(err, ErrNoValidHost) true.
func (e *NoValidHostError) Is(target error) bool { return target == ErrNoValidHost }

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// noValidHost reports the rejections of every host, grouped by filter.
func (sp *spec) noValidHost(hosts, requested, placed int) error {
	byFilter := make([][]*candidate, len(sp.chain))
	for i := range sp.cands {
		c := &sp.cands[i]
		if c.rejectedBy > 0 {
			byFilter[c.rejectedBy-1] = append(byFilter[c.rejectedBy-1], c)
		}
	}
	e := &NoValidHostError{Hosts: hosts, Requested: requested, Placed: placed}
	for fi, rejected := range byFilter {
		if len(rejected) == 0 {
			continue
		}
		f := sp.chain[fi]
		r := FilterReport{Filter: f.name, Rejected: len(rejected)}
		if f.summarize != nil {
			r.Reason = f.summarize(sp, rejected)
		} else {
			r.Reason = countReasons(rejected, nil)
		}
		for _, c := range rejected[:min(len(rejected), maxReportHosts)] {
			name := c.h.Host
			if c.h.Node != "" && c.h.Node != c.h.Host {
				name += ":" + c.h.Node
			}
			r.Hosts = append(r.Hosts, name)
		}
		e.Filters = append(e.Filters, r)
	}
	return e
}

// countReasons lists the distinct reasons, most frequent first, with their
// counts when there is more than one: "2 disabled: maintenance; 1 down".
// word, when set, turns a reason into words.
func countReasons(rejected []*candidate, word func(reason string) string) string {
	if word == nil {
		word = func(r string) string { return r }
	}
	counts := map[string]int{}
	for _, c := range rejected {
		counts[c.reason]++
	}
	if len(counts) == 1 {
		return word(rejected[0].reason)
	}
	type group struct {
		reason string
		n      int
	}
	groups := make([]group, 0, len(counts))
	for r, n := range counts {
		groups = append(groups, group{r, n})
	}
	slices.SortFunc(groups, func(a, b group) int {
		if c := cmp.Compare(b.n, a.n); c != 0 {
			return c
		}
		return cmp.Compare(a.reason, b.reason)
	})
	parts := make([]string, 0, maxReasonGroups+1)
	rest := 0
	for i, g := range groups {
		if i < maxReasonGroups {
			parts = append(parts, fmt.Sprintf("%d %s", g.n, word(g.reason)))
		} else {
			rest += g.n
		}
	}
	if rest > 0 {
		parts = append(parts, fmt.Sprintf("%d for other reasons", rest))
	}
	return strings.Join(parts, "; ")
}
