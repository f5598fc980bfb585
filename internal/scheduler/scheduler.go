package scheduler

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
)

// Selection is where one instance goes: the chosen host, whose resources
// Select counted as consumed, and alternates to retry on if the build there
// fails, best first.
type Selection struct {
	// InstanceUUID is the instance's uuid, "" for anonymous instances.
	InstanceUUID string
	Target
	Alternates []Target
}

// Target is one host (node) a Selection names.
type Target struct {
	Host string
	Node string
	// Index is the host's position in the slice given to Select.
	Index int
	// Weight is the host's total weight when it was ranked.
	Weight float64
}

// Scheduler runs the configured filters and weighers. It is safe for
// concurrent use; Select keeps no state between calls.
type Scheduler struct {
	opts     Options
	chain    []*filter // configured filters, resource checks placed
	weighers []*weigher

	mu  sync.Mutex // guards rng
	rng *rand.Rand
}

// New checks opts and builds a Scheduler. Unknown filter or weigher names and
// out-of-range values are refused, naming the option.
func New(opts Options) (*Scheduler, error) {
	if opts.HostSubsetSize < 1 {
		return nil, fmt.Errorf("[filter_scheduler] host_subset_size must be at least 1, got %d", opts.HostSubsetSize)
	}
	if opts.MaxAttempts < 1 {
		return nil, fmt.Errorf("[scheduler] max_attempts must be at least 1, got %d", opts.MaxAttempts)
	}
	if opts.SoftAffinityWeightMultiplier < 0 || opts.SoftAntiAffinityWeightMultiplier < 0 {
		return nil, fmt.Errorf("[filter_scheduler] soft_affinity_weight_multiplier and soft_anti_affinity_weight_multiplier must not be negative")
	}
	if a := opts.ImagePropertiesDefaultArchitecture; a != "" {
		if _, ok := canonicalArch(a); !ok {
			return nil, fmt.Errorf("[filter_scheduler] image_properties_default_architecture: %q is not a known architecture", a)
		}
	}
	s := &Scheduler{opts: opts, rng: opts.Rand}
	if s.rng == nil {
		s.rng = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	seen := map[string]bool{}
	for _, name := range opts.EnabledFilters {
		f, ok := filters[name]
		if !ok {
			return nil, fmt.Errorf("[filter_scheduler] enabled_filters: unknown filter %q (known: %s)", name, knownNames(filters))
		}
		if !seen[name] {
			seen[name] = true
			s.chain = append(s.chain, f)
		}
	}
	// Placement checks resources before any filter runs; where the operator
	// did not place the checks, they run after the configured filters, so
	// that a host that is down or disabled is reported as such rather than
	// as full.
	for _, f := range resourceFilters {
		if !seen[f.name] {
			s.chain = append(s.chain, f)
		}
	}
	seen = map[string]bool{}
	for _, name := range opts.WeightClasses {
		w, ok := weighers[name]
		if !ok {
			return nil, fmt.Errorf("[filter_scheduler] weight_classes: unknown weigher %q (known: %s)", name, knownNames(weighers))
		}
		if !seen[name] {
			seen[name] = true
			s.weighers = append(s.weighers, w)
		}
	}
	return s, nil
}

func knownNames[T any](m map[string]T) string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	slices.Sort(names)
	return fmt.Sprint(names)
}

// candidate is a host during one Select: the caller's HostState, read only,
// and what this request has done to it.
type candidate struct {
	h     *HostState
	index int
	// extra is what instances of this request placed here consume.
	extra Resources
	// placed counts the instances of this request placed here.
	placed int
	// groupCount is the number of the request's group members on the host.
	groupCount int
	// rejectedBy is 1 + the position in the request's chain of the filter
	// that rejected the host; 0 while it is still a candidate.
	rejectedBy int
	reason     string
	weight     float64
	selected   bool
}

// Select chooses a host for each instance of req among hosts. For several
// instances, each choice consumes the host's resources and joins the group
// before the next, so the instances spread as filters and weighers direct.
// Each Selection has up to MaxAttempts-1 alternates, preferring hosts that
// no instance of the request took. When an instance finds no host, the error
// is a *NoValidHostError naming the filters that rejected hosts.
func (s *Scheduler) Select(req Request, hosts []HostState) ([]Selection, error) {
	if err := req.validate(); err != nil {
		return nil, err
	}
	sc := getScratch(len(hosts))
	defer sc.release()
	sp, err := s.newSpec(&req, hosts, sc)
	if err != nil {
		return nil, err
	}
	pool := sc.pool[:len(sp.cands)]
	for i := range sp.cands {
		pool[i] = &sp.cands[i]
	}
	n := req.count()
	selected := make([]*candidate, 0, n)
	chosenAt := make([]Target, 0, n) // as ranked when chosen
	for i := range n {
		sp.instanceUUID = ""
		if len(req.InstanceUUIDs) > 0 {
			sp.instanceUUID = req.InstanceUUIDs[i]
		}
		pool = sp.filterPass(pool, i == 0)
		if len(pool) == 0 {
			return nil, sp.noValidHost(len(hosts), n, i)
		}
		sp.weigh(pool)
		chosen := s.pick(pool)
		chosenAt = append(chosenAt, chosen.target())
		sp.consume(chosen)
		selected = append(selected, chosen)
	}
	numAlts := s.opts.MaxAttempts - 1
	if numAlts > 0 && n > 1 {
		// The choices consumed resources: rank again so that alternates are
		// hosts that can still take the instance.
		sp.instanceUUID = ""
		pool = sp.filterPass(pool, false)
		sp.weigh(pool)
	}
	top := pool[:min(len(pool), numAlts+n)]
	rankTop(pool, len(top))
	out := make([]Selection, n)
	for i, c := range selected {
		out[i] = Selection{Target: chosenAt[i]}
		if len(req.InstanceUUIDs) > 0 {
			out[i].InstanceUUID = req.InstanceUUIDs[i]
		}
		if numAlts > 0 {
			out[i].Alternates = alternates(top, c, numAlts)
		}
	}
	return out, nil
}

func (c *candidate) target() Target {
	return Target{Host: c.h.Host, Node: c.h.Node, Index: c.index, Weight: c.weight}
}

// alternates are the best hosts no instance took, then the best others
// taken by other instances of the request that still pass the filters.
func alternates(pool []*candidate, primary *candidate, limit int) []Target {
	alts := make([]Target, 0, min(limit, len(pool)))
	for _, c := range pool {
		if len(alts) == limit {
			return alts
		}
		if !c.selected {
			alts = append(alts, c.target())
		}
	}
	for _, c := range pool {
		if len(alts) == limit {
			break
		}
		if c.selected && c != primary {
			alts = append(alts, c.target())
		}
	}
	return alts
}

// pick takes the chosen host from the weighed pool and moves it to the
// front: the best, or with host_subset_size N a random one of the best N,
// after shuffling the hosts that share the best weight when so configured.
func (s *Scheduler) pick(pool []*candidate) *candidate {
	subset := min(s.opts.HostSubsetSize, len(pool))
	ties := 0
	if s.opts.ShuffleBestSameWeighedHosts {
		ties = gatherBest(pool)
	}
	if ties < subset {
		rankTop(pool[ties:], subset-ties)
	}
	if subset == 1 && ties <= 1 {
		return pool[0]
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if ties > 1 {
		s.rng.Shuffle(ties, func(i, j int) { pool[i], pool[j] = pool[j], pool[i] })
	}
	if subset > 1 {
		j := s.rng.IntN(subset)
		chosen := pool[j]
		copy(pool[1:j+1], pool[:j])
		pool[0] = chosen
	}
	return pool[0]
}

// consume records that the next instance goes to c.
func (sp *spec) consume(c *candidate) {
	c.extra.VCPU += sp.need.VCPU
	c.extra.MemoryMB += sp.need.MemoryMB
	c.extra.DiskGB += sp.need.DiskGB
	c.selected = true
	c.placed++
	sp.changed = append(sp.changed, c)
	if sp.req.Group != nil {
		c.groupCount++
		sp.groupHosts[c.h.Host]++
	}
}

// filterPass runs the chain over pool and returns the hosts that pass. The
// first pass runs every filter; later passes only those whose verdict the
// previous choices can change (nova's run_filter_once_per_request), and of
// those, filters that judge a host by its own state alone look only at the
// hosts chosen since the last pass.
func (sp *spec) filterPass(pool []*candidate, first bool) []*candidate {
	for fi, ch := range sp.checks {
		f := sp.chain[fi]
		if ch == nil || (!first && f.once) {
			continue
		}
		if !first && f.local && !sp.selfHosts() {
			rejected := false
			for _, c := range sp.changed {
				if c.rejectedBy != 0 {
					continue
				}
				if reason, ok := ch(c); !ok {
					c.rejectedBy, c.reason = fi+1, reason
					rejected = true
				}
			}
			if rejected {
				pool = slices.DeleteFunc(pool, func(c *candidate) bool { return c.rejectedBy != 0 })
			}
		} else {
			kept := pool[:0]
			for _, c := range pool {
				if reason, ok := ch(c); ok {
					kept = append(kept, c)
				} else {
					c.rejectedBy, c.reason = fi+1, reason
				}
			}
			pool = kept
		}
		if len(pool) == 0 {
			break
		}
	}
	sp.changed = sp.changed[:0]
	return pool
}

// selfHosts tells whether instances of the request already run on some
// host (a move), which ServerGroupAntiAffinityFilter judges per instance.
func (sp *spec) selfHosts() bool { return len(sp.selfHost) > 0 }

// better orders hosts best first; equal weights keep the caller's order,
// so that results are repeatable.
func better(a, b *candidate) int {
	if c := cmp.Compare(b.weight, a.weight); c != 0 {
		return c
	}
	return cmp.Compare(a.index, b.index)
}

// rankTop puts the k best hosts of pool, in order, at its front; the order
// of the rest is unspecified. Choosing a host needs only the few best, so
// this avoids sorting thousands of hosts for each instance.
func rankTop(pool []*candidate, k int) {
	if k <= 0 {
		return
	}
	if k*8 >= len(pool) {
		slices.SortFunc(pool, better)
		return
	}
	top := pool[:k]
	slices.SortFunc(top, better)
	for i := k; i < len(pool); i++ {
		c := pool[i]
		if better(c, top[k-1]) >= 0 {
			continue
		}
		pool[i], top[k-1] = top[k-1], c
		for j := k - 1; j > 0 && better(top[j], top[j-1]) < 0; j-- {
			top[j], top[j-1] = top[j-1], top[j]
		}
	}
}

// gatherBest moves the hosts sharing the best weight to the front of pool,
// in the caller's order, and returns how many there are.
func gatherBest(pool []*candidate) int {
	best := pool[0].weight
	for _, c := range pool[1:] {
		best = max(best, c.weight)
	}
	n := 0
	for i, c := range pool {
		if c.weight == best {
			pool[i], pool[n] = pool[n], c
			n++
		}
	}
	slices.SortFunc(pool[:n], func(a, b *candidate) int { return cmp.Compare(a.index, b.index) })
	return n
}
