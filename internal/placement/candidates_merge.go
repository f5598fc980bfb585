package placement

import (
	"context"
	"encoding/binary"
	"iter"
	"slices"
	"sort"
)

// candidate is a whole allocation request: one request of every group,
// anchored at one tree, with amounts summed per provider and class.
type candidate struct {
	res      []resAmount
	mappings map[int][]int64 // group index -> providers
}

// merge combines one request per group for every tree all groups reached,
// keeping the combinations that honour group_policy, same_subtree and
// capacity, until the limit. Trees are visited in id order (shuffled when
// randomizing), one after the other or in turn (breadth-first).
func (sr *search) merge(perGroup [][]*areq) []*candidate {
	byAnchor := map[int64][][]*areq{}
	for gi, areqs := range perGroup {
		for _, a := range areqs {
			lists := byAnchor[a.anchor]
			if lists == nil {
				lists = make([][]*areq, len(perGroup))
				byAnchor[a.anchor] = lists
			}
			lists[gi] = append(lists[gi], a)
		}
	}
	var anchors []int64
	for anchor, lists := range byAnchor {
		if !slices.ContainsFunc(lists, func(l []*areq) bool { return len(l) == 0 }) {
			anchors = append(anchors, anchor)
		}
	}
	slices.Sort(anchors)
	if sr.s.cfg.RandomizeCandidates {
		sr.s.shuffle(len(anchors), func(i, j int) { anchors[i], anchors[j] = anchors[j], anchors[i] })
	}
	limit := sr.req.Limit
	if max := sr.s.cfg.MaxCandidates; max > 0 && (limit == 0 || max < limit) {
		limit = max
	}
	m := &merger{sr: sr, seen: map[string]bool{}, limit: limit}
	if sr.s.cfg.BreadthFirst {
		m.breadthFirst(anchors, byAnchor)
	} else {
		st := m.newState()
		for _, anchor := range anchors {
			if !m.product(st, byAnchor[anchor], m.add) {
				break
			}
		}
	}
	return m.out
}

// productState is the scratch space of one walk over combinations.
type productState struct {
	sums map[rpClass]int64
	pick []*areq
}

func (m *merger) newState() *productState {
	return &productState{sums: map[rpClass]int64{}, pick: make([]*areq, len(m.sr.groups))}
}

// merger collects candidates, dropping duplicates.
type merger struct {
	sr    *search
	seen  map[string]bool
	out   []*candidate
	limit int
	key   []byte
}

// breadthFirst takes one candidate of each tree in turn.
func (m *merger) breadthFirst(anchors []int64, byAnchor map[int64][][]*areq) {
	type puller struct {
		next func() ([]*areq, bool)
		stop func()
	}
	pulls := make([]puller, 0, len(anchors))
	for _, anchor := range anchors {
		lists, st := byAnchor[anchor], m.newState()
		seq := iter.Seq[[]*areq](func(yield func([]*areq) bool) {
			m.product(st, lists, func(pick []*areq) bool { return yield(slices.Clone(pick)) })
		})
		next, stop := iter.Pull(seq)
		pulls = append(pulls, puller{next, stop})
	}
	defer func() {
		for _, p := range pulls {
			p.stop()
		}
	}()
	for len(pulls) > 0 {
		live := pulls[:0]
		for _, p := range pulls {
			pick, ok := p.next()
			if !ok {
				p.stop()
				continue
			}
			live = append(live, p)
			if !m.add(pick) {
				return
			}
		}
		pulls = live
	}
}

// product calls yield with every combination of one request per group that
// passes group_policy and capacity, pruning as soon as a partial
// combination fails; it returns false when yield asked to stop.
func (m *merger) product(st *productState, lists [][]*areq, yield func([]*areq) bool) bool {
	pick := st.pick[:len(lists)]
	var walk func(i int) bool
	walk = func(i int) bool {
		if i == len(lists) {
			return yield(pick)
		}
		for _, a := range lists[i] {
			if !m.isolated(pick[:i], a) {
				continue
			}
			fits := m.addSums(st.sums, a)
			if !fits {
				subSums(st.sums, a)
				continue
			}
			pick[i] = a
			more := walk(i + 1)
			subSums(st.sums, a)
			if !more {
				return false
			}
		}
		return true
	}
	return walk(0)
}

// isolated applies group_policy=isolate: granular groups on distinct providers.
func (m *merger) isolated(chosen []*areq, a *areq) bool {
	if m.sr.req.GroupPolicy != "isolate" || !m.sr.groups[a.group].granular {
		return true
	}
	for _, c := range chosen {
		if m.sr.groups[c.group].granular && c.rps[0] == a.rps[0] {
			return false
		}
	}
	return true
}

// addSums adds a's amounts to the running sums and reports whether they
// still fit capacity and max_unit.
func (m *merger) addSums(sums map[rpClass]int64, a *areq) bool {
	ok := true
	for _, r := range a.res {
		k := rpClass{r.rp, r.rc}
		sums[k] += r.amount
		row := m.sr.cap[k]
		if row == nil || sums[k] > capacity(row.Total, row.Reserved, row.AllocationRatio)-row.Used || sums[k] > row.MaxUnit {
			ok = false
		}
	}
	return ok
}

func subSums(sums map[rpClass]int64, a *areq) {
	for _, r := range a.res {
		k := rpClass{r.rp, r.rc}
		if sums[k] -= r.amount; sums[k] == 0 {
			delete(sums, k)
		}
	}
}

// add consolidates a full combination and keeps it if it is new; it returns
// false once the limit is reached.
func (m *merger) add(pick []*areq) bool {
	if !m.sr.sameSubtree(pick) {
		return true
	}
	c := consolidate(pick)
	if !m.sr.req.NestedAware && m.sr.hasTrees && m.sr.sharesTree(c) {
		return true
	}
	m.key = c.appendKey(m.key[:0])
	if m.seen[string(m.key)] {
		return true
	}
	m.seen[string(m.key)] = true
	m.out = append(m.out, c)
	return m.limit <= 0 || len(m.out) < m.limit
}

// consolidate sums a combination's amounts per provider and class.
func consolidate(pick []*areq) *candidate {
	c := &candidate{mappings: make(map[int][]int64, len(pick))}
	n := 0
	for _, a := range pick {
		n += len(a.res)
	}
	c.res = make([]resAmount, 0, n)
	for _, a := range pick {
		c.res = append(c.res, a.res...)
		c.mappings[a.group] = uniqueInts(append(c.mappings[a.group], a.rps...))
	}
	if len(pick) > 1 {
		sortRes(c.res)
		merged := c.res[:0]
		for _, r := range c.res {
			if l := len(merged); l > 0 && merged[l-1].rp == r.rp && merged[l-1].rc == r.rc {
				merged[l-1].amount += r.amount
				continue
			}
			merged = append(merged, r)
		}
		c.res = merged
	}
	return c
}

// appendKey encodes what makes two candidates equal: amounts and mappings.
func (c *candidate) appendKey(b []byte) []byte {
	for _, r := range c.res {
		b = binary.AppendVarint(b, r.rp)
		b = binary.AppendVarint(b, int64(r.rc))
		b = binary.AppendVarint(b, r.amount)
	}
	groups := make([]int, 0, len(c.mappings))
	for g := range c.mappings {
		groups = append(groups, g)
	}
	sort.Ints(groups)
	for _, g := range groups {
		b = append(b, 0xff)
		b = binary.AppendVarint(b, int64(g))
		for _, rp := range c.mappings[g] {
			b = binary.AppendVarint(b, rp)
		}
	}
	return b
}

// sharesTree reports whether a candidate takes from two providers of one
// tree, which requests before 1.29 may not.
func (sr *search) sharesTree(c *candidate) bool {
	seen := map[int64]int64{}
	for _, r := range c.res {
		root := sr.rootOf[r.rp]
		if other, ok := seen[root]; ok && other != r.rp {
			return true
		}
		seen[root] = r.rp
	}
	return false
}

// sameSubtree applies each same_subtree: among the providers of the named
// groups, one must be an ancestor (or itself) of all the others.
func (sr *search) sameSubtree(pick []*areq) bool {
	for _, suffixes := range sr.req.SameSubtrees {
		var rps []int64
		for _, a := range pick {
			if slices.Contains(suffixes, sr.groups[a.group].suffix) {
				rps = append(rps, a.rps...)
			}
		}
		rps = uniqueInts(rps)
		if len(rps) > 1 && !sr.commonAncestor(rps) {
			return false
		}
	}
	return true
}

// commonAncestor reports whether one of rps is an ancestor of all the others.
func (sr *search) commonAncestor(rps []int64) bool {
	for _, top := range rps {
		all := true
		for _, rp := range rps {
			if !sr.isAncestor(top, rp) {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}

// isAncestor reports whether a is rp or above it.
func (sr *search) isAncestor(a, rp int64) bool {
	for id := rp; id != 0; id = sr.nodes[id].ParentID {
		if id == a {
			return true
		}
		if _, ok := sr.nodes[id]; !ok {
			return false
		}
	}
	return false
}

// result turns candidates into allocation requests and summarizes the
// providers of their trees.
func (sr *search) result(ctx context.Context, cands []*candidate) (CandidateResult, error) {
	rootSet := map[int64]bool{}
	used := map[int64]bool{}
	for _, c := range cands {
		for _, r := range c.res {
			rootSet[sr.rootOf[r.rp]] = true
			used[r.rp] = true
		}
	}
	roots := sortedIDs(rootSet)
	nodes, err := sr.r.TreeProviders(ctx, roots)
	if err != nil {
		return CandidateResult{}, err
	}
	uuidOf := make(map[int64]string, len(nodes))
	for _, n := range nodes {
		uuidOf[n.ID] = n.UUID
	}
	out := CandidateResult{Requests: make([]AllocationRequest, len(cands))}
	for i, c := range cands {
		out.Requests[i] = sr.request(c, uuidOf)
	}
	onlyUsed := !sr.req.NestedAware && sr.hasTrees
	out.Summaries, err = sr.summaries(ctx, nodes, uuidOf, func(id int64) bool { return !onlyUsed || used[id] })
	return out, err
}

func (sr *search) request(c *candidate, uuidOf map[int64]string) AllocationRequest {
	ar := AllocationRequest{Resources: make([]RequestResource, len(c.res)), Mappings: make(map[string][]string, len(c.mappings))}
	for i, r := range c.res {
		ar.Resources[i] = RequestResource{ProviderUUID: uuidOf[r.rp], ResourceClass: sr.classNames[r.rc], Amount: r.amount}
	}
	for g, rps := range c.mappings {
		uuids := make([]string, len(rps))
		for i, rp := range rps {
			uuids[i] = uuidOf[rp]
		}
		slices.Sort(uuids)
		ar.Mappings[sr.groups[g].suffix] = uuids
	}
	return ar
}

// summaries reads the inventories, usages and (1.17) traits of the
// providers of the candidates' trees.
func (sr *search) summaries(ctx context.Context, nodes []TreeNode, uuidOf map[int64]string,
	keep func(int64) bool) ([]ProviderSummary, error) {
	index := make(map[int64]int, len(nodes))
	out := make([]ProviderSummary, 0, len(nodes))
	ids := make([]int64, 0, len(nodes))
	for _, n := range nodes {
		if !keep(n.ID) {
			continue
		}
		index[n.ID] = len(out)
		ids = append(ids, n.ID)
		out = append(out, ProviderSummary{UUID: n.UUID, ParentUUID: uuidOf[n.ParentID], RootUUID: uuidOf[n.RootID],
			Resources: []SummaryResource{}, Traits: []string{}})
	}
	invs, err := sr.r.SummaryInventories(ctx, ids, nil)
	if err != nil {
		return nil, err
	}
	names, err := sr.allClassNames(ctx, invs)
	if err != nil {
		return nil, err
	}
	for _, inv := range invs {
		if i, ok := index[inv.ProviderID]; ok {
			out[i].Resources = append(out[i].Resources, SummaryResource{ResourceClass: names[inv.ClassID],
				Capacity: capacity(inv.Total, inv.Reserved, inv.AllocationRatio), Used: inv.Used})
		}
	}
	if !sr.req.WithTraits {
		return out, nil
	}
	traits, err := sr.r.SummaryTraits(ctx, ids)
	if err != nil {
		return nil, err
	}
	for _, t := range traits {
		if i, ok := index[t.ProviderID]; ok {
			out[i].Traits = append(out[i].Traits, t.Trait)
		}
	}
	return out, nil
}

// allClassNames names the classes of the summary rows: those requested are
// known, others (summaries list every class, 1.27) are read.
func (sr *search) allClassNames(ctx context.Context, invs []SummaryRow) (map[int]string, error) {
	for _, inv := range invs {
		if _, ok := sr.classNames[inv.ClassID]; ok {
			continue
		}
		rcs, err := sr.r.Classes(ctx)
		if err != nil {
			return nil, err
		}
		names := make(map[int]string, len(rcs))
		for _, rc := range rcs {
			names[rc.ID] = rc.Name
		}
		return names, nil
	}
	return sr.classNames, nil
}
