package scheduler

import (
	"math"
	"strconv"
	"strings"
)

// weigher is one of nova's host weighers: it gives each host a raw value;
// the values are normalized to [0, 1] over the hosts being ranked, and each
// host's weight is the sum over weighers of multiplier * normalized value.
type weigher struct {
	name string
	// option is the multiplier's option name, which aggregate metadata
	// may also set for the hosts in the aggregate.
	option     string
	multiplier func(o *Options) float64
	// hasMin pins the low end of normalization to min, instead of the
	// lowest value (nova's minval); values below it count as min.
	hasMin bool
	min    float64
	// prepare returns the per-request value, or nil when every host would
	// weigh the same.
	prepare func(sp *spec) func(c *candidate) float64
}

// weighers are the weighers weight_classes may name.
var weighers = map[string]*weigher{
	"RAMWeigher":                         ramWeigher,
	"CPUWeigher":                         cpuWeigher,
	"DiskWeigher":                        diskWeigher,
	"ServerGroupSoftAffinityWeigher":     softAffinityWeigher,
	"ServerGroupSoftAntiAffinityWeigher": softAntiAffinityWeigher,
}

// activeWeigher is a weigher that matters for this request.
type activeWeigher struct {
	w     *weigher
	value func(c *candidate) float64
	conf  float64
	// perHost holds each candidate's multiplier when an aggregate overrides
	// it for some host; nil when conf applies everywhere.
	perHost []float64
}

// prepareWeighers keeps the weighers whose values or multipliers can tell
// hosts apart for this request.
func (sp *spec) prepareWeighers(ws []*weigher) {
	for _, w := range ws {
		value := w.prepare(sp)
		if value == nil {
			continue
		}
		aw := activeWeigher{w: w, value: value, conf: w.multiplier(sp.opts)}
		for i := range sp.cands {
			m, ok := aggregateMultiplier(sp.cands[i].h, w.option)
			if !ok {
				continue
			}
			if aw.perHost == nil {
				aw.perHost = make([]float64, len(sp.cands))
				for j := range aw.perHost {
					aw.perHost[j] = aw.conf
				}
			}
			aw.perHost[i] = m
		}
		if aw.conf == 0 && aw.perHost == nil {
			continue
		}
		sp.weighers = append(sp.weighers, aw)
	}
}

// aggregateMultiplier is the smallest valid multiplier the host's aggregates
// set for option, as nova's get_weight_multiplier; values that are not
// numbers are ignored, as nova ignores them with a warning.
func aggregateMultiplier(h *HostState, option string) (float64, bool) {
	found := false
	best := 0.0
	for _, a := range h.Aggregates {
		v, ok := a.Metadata[option]
		if !ok {
			continue
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			continue
		}
		if !found || f < best {
			best, found = f, true
		}
	}
	return best, found
}

// weigh sets each candidate's weight.
func (sp *spec) weigh(pool []*candidate) {
	for _, c := range pool {
		c.weight = 0
	}
	if len(pool) > 1 {
		vals := sp.sc.vals[:len(pool)]
		for _, aw := range sp.weighers {
			aw.apply(pool, vals)
		}
	}
}

func (aw *activeWeigher) apply(pool []*candidate, vals []float64) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for i, c := range pool {
		v := aw.value(c)
		if aw.w.hasMin && v < aw.w.min {
			v = aw.w.min
		}
		vals[i] = v
		lo, hi = min(lo, v), max(hi, v)
	}
	if aw.w.hasMin {
		lo = aw.w.min
	}
	if hi == lo {
		return // nova normalizes equal values to 0
	}
	span := hi - lo
	for i, c := range pool {
		m := aw.conf
		if aw.perHost != nil {
			m = aw.perHost[c.index]
		}
		c.weight += m * (vals[i] - lo) / span
	}
}
