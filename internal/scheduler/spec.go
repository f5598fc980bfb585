package scheduler

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
	buf      []float64
}

// newSpec prepares a Select: candidates, the group's members per host, the
// chain of filters this request needs, and the weighers.
func (s *Scheduler) newSpec(req *Request, hosts []HostState) (*spec, error) {
	sp := &spec{req: req, opts: &s.opts}
	if !req.Rebuild {
		need, err := req.Resources()
		if err != nil {
			return nil, err
		}
		sp.need = need
	}
	sp.cands = make([]candidate, len(hosts))
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
// hosts and from the instances the hosts report, each member once.
func (sp *spec) countGroup() {
	g := sp.req.Group
	sp.groupHosts = map[string]int{}
	members := make(map[string]string, len(g.Members)) // uuid -> host
	for _, m := range g.Members {
		members[m.UUID] = m.Host
		if m.Host != "" {
			sp.groupHosts[m.Host]++
		}
	}
	self := map[string]bool{}
	for _, u := range sp.req.InstanceUUIDs {
		self[u] = true
	}
	placed := make(map[string]int, len(sp.groupHosts))
	for h, n := range sp.groupHosts {
		placed[h] = n
	}
	for i := range sp.cands {
		c := &sp.cands[i]
		c.groupCount = placed[c.h.Host]
		for _, inst := range c.h.Instances {
			if host, member := members[inst.UUID]; member && host != c.h.Host {
				c.groupCount++
				sp.groupHosts[c.h.Host]++
			}
			if self[inst.UUID] {
				if sp.selfHost == nil {
					sp.selfHost = map[string]*candidate{}
				}
				sp.selfHost[inst.UUID] = c
			}
		}
	}
}
