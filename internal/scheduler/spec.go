package scheduler

import "sync"

// spec is one Select call's working state: the request, the resources each
// instance needs, the filter chain with each filter's per-request check, and
// the candidates.
type spec struct {
	req  *Request
	opts *Options
	need Resources

	// instanceUUID is the instance being placed; "" while ranking
	// alternates or for anonymous instances.
	instanceUUID string

	cands  []candidate
	chain  []*filter
	checks []check // per chain entry; nil when every host passes

	// groupHosts counts the request's group members per host name.
	groupHosts map[string]int
	// selfHost maps each instance of the request that already runs
	// somewhere (a move) to its host's candidate.
	selfHost map[string]*candidate

	// changed are the hosts chosen since the last filter pass.
	changed []*candidate

	weighers []activeWeigher
	// sc holds the buffers of the candidates and the weighers' values.
	sc *scratch
}

// newSpec prepares a Select: candidates, the group's members per host, the
// chain of filters this request needs, and the weighers.
func (s *Scheduler) newSpec(req *Request, hosts []HostState, sc *scratch) (*spec, error) {
	sp := &spec{req: req, opts: &s.opts, sc: sc}
	if !req.Rebuild {
		need, err := req.Resources()
		if err != nil {
			return nil, err
		}
		sp.need = need
	}
	sp.cands = sc.cands[:len(hosts)]
	for i := range hosts {
		sp.cands[i] = candidate{h: &hosts[i], index: i}
	}
	if req.Group != nil {
		sp.countGroup()
	}
	sp.chain = s.requestChain(req)
	sp.checks = make([]check, len(sp.chain))
	for i, f := range sp.chain {
		sp.checks[i] = f.prepare(sp)
	}
	sp.prepareWeighers(s.weighers)
	return sp, nil
}

// requestChain is the filters this request runs: the request's own
// restrictions (retries, forced or requested hosts) first, then the
// configured chain; forced hosts skip all but the resource checks, and a
// rebuild runs only the filters nova runs on rebuild.
func (s *Scheduler) requestChain(req *Request) []*filter {
	var chain []*filter
	if len(req.IgnoreHosts) > 0 {
		chain = append(chain, retryFilter)
	}
	forced := len(req.ForceHosts) > 0 || len(req.ForceNodes) > 0
	if forced || req.Destination != nil {
		chain = append(chain, destinationFilter)
	}
	for _, f := range s.chain {
		switch {
		case req.Rebuild && !f.onRebuild:
		case forced && !f.resource:
		default:
			chain = append(chain, f)
		}
	}
	return chain
}

// countGroup counts the group's members on each host, from the members'
// hosts and from the instances the hosts report, each member once. One
// map, read once per instance a host reports, tells members and the
// request's own instances apart.
func (sp *spec) countGroup() {
	g := sp.req.Group
	sp.groupHosts = map[string]int{}
	type role struct {
		memberHost string
		member     bool
		self       bool
	}
	roles := make(map[string]role, len(g.Members)+len(sp.req.InstanceUUIDs))
	for _, m := range g.Members {
		roles[m.UUID] = role{memberHost: m.Host, member: true}
		if m.Host != "" {
			sp.groupHosts[m.Host]++
		}
	}
	for _, u := range sp.req.InstanceUUIDs {
		r := roles[u]
		r.self = true
		roles[u] = r
	}
	placed := make(map[string]int, len(sp.groupHosts))
	for h, n := range sp.groupHosts {
		placed[h] = n
	}
	for i := range sp.cands {
		c := &sp.cands[i]
		if len(placed) > 0 {
			c.groupCount = placed[c.h.Host]
		}
		for _, inst := range c.h.Instances {
			r, ok := roles[inst.UUID]
			if !ok {
				continue
			}
			if r.member && r.memberHost != c.h.Host {
				c.groupCount++
				sp.groupHosts[c.h.Host]++
			}
			if r.self {
				if sp.selfHost == nil {
					sp.selfHost = map[string]*candidate{}
				}
				sp.selfHost[inst.UUID] = c
			}
		}
	}
}

// scratch is the memory of one Select over many hosts: the candidates,
// the pool of those still passing, and the weighers' values. Select takes
// one from scratches and gives it back, so that a scheduler deciding one
// request after another over thousands of hosts reuses the same arrays.
type scratch struct {
	cands []candidate
	pool  []*candidate
	vals  []float64
	// used is how many candidates the Select filled.
	used int
}

var scratches = sync.Pool{New: func() any { return new(scratch) }}

// getScratch returns a scratch with room for n hosts.
func getScratch(n int) *scratch {
	sc := scratches.Get().(*scratch)
	if cap(sc.cands) < n {
		sc.cands = make([]candidate, n)
		sc.pool = make([]*candidate, n)
		sc.vals = make([]float64, n)
	}
	sc.used = n
	return sc
}

// release drops what the candidates point to (the caller's hosts) and
// gives the scratch back.
func (sc *scratch) release() {
	clear(sc.cands[:sc.used])
	scratches.Put(sc)
}
