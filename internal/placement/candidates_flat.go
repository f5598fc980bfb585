package placement

import (
	"context"
	"slices"
)

// isFlat reports whether the request is one group with resources in a cloud
// without nested or sharing providers: every candidate is then one provider,
// and the database can find them alone.
func (sr *search) isFlat() bool {
	return len(sr.groups) == 1 && len(sr.groups[0].amounts) > 0 && !sr.hasTrees && len(sr.sharing) == 0
}

// loadFlat asks the database for the providers, the root filters applied to
// the providers themselves (each is its own root), at most the limit.
func (sr *search) loadFlat(ctx context.Context) error {
	g := sr.groups[0]
	f := RoomFilter{Amounts: g.amounts, RequiredTraits: g.required, ForbiddenTraits: g.forbidden,
		MemberOf: g.memberOf, ForbiddenAggs: g.badAggs, TreeRoot: g.treeRoot, Random: sr.s.cfg.RandomizeCandidates,
		Limit: sr.req.Limit, WithTraits: sr.req.WithTraits}
	for _, t := range sr.rootRequired {
		f.RequiredTraits = append(f.RequiredTraits, []int64{t})
	}
	f.ForbiddenTraits = append(f.ForbiddenTraits, sr.rootForbidden...)
	if max := sr.s.cfg.MaxCandidates; max > 0 && (f.Limit == 0 || max < f.Limit) {
		f.Limit = max
	}
	found, err := sr.r.RoomyProviders(ctx, f)
	if err != nil {
		return err
	}
	sr.flat = &found
	if len(found.Nodes) == 0 {
		sr.none = true
	}
	return nil
}

// flatResult turns the providers a flat search found into allocation
// requests and summaries: one request per provider, in the order found,
// and its summary from the rows the search read, reading only the
// inventories of other classes (for the providers that have some) and the
// names of the traits.
func (sr *search) flatResult(ctx context.Context) (CandidateResult, error) {
	found := sr.flat
	g := sr.groups[0]
	out := CandidateResult{Requests: make([]AllocationRequest, len(found.Nodes)),
		Summaries: make([]ProviderSummary, len(found.Nodes))}
	resources := make([]RequestResource, len(found.Nodes)*len(g.amounts))
	uuids := make([]string, len(found.Nodes))
	for i, n := range found.Nodes {
		res := resources[i*len(g.amounts) : (i+1)*len(g.amounts) : (i+1)*len(g.amounts)]
		for j, a := range g.amounts {
			res[j] = RequestResource{ProviderUUID: n.UUID, ResourceClass: sr.classNames[a.ClassID], Amount: a.Amount}
		}
		uuids[i] = n.UUID
		out.Requests[i] = AllocationRequest{Resources: res, Mappings: map[string][]string{g.suffix: uuids[i : i+1 : i+1]}}
	}
	var others []int64
	index := make(map[int64]int, len(found.Nodes))
	for i, n := range found.Nodes {
		index[n.ID] = i
		ps := ProviderSummary{UUID: n.UUID, RootUUID: n.UUID, Traits: []string{},
			Resources: make([]SummaryResource, len(g.amounts), max(len(g.amounts), found.InventoryCounts[i]))}
		for j, inv := range found.Inventories[i*len(g.amounts) : (i+1)*len(g.amounts)] {
			ps.Resources[j] = SummaryResource{ResourceClass: sr.classNames[inv.ClassID], Capacity: inv.Capacity, Used: inv.Used}
		}
		if found.InventoryCounts[i] > len(g.amounts) {
			others = append(others, n.ID)
		}
		out.Summaries[i] = ps
	}
	if err := sr.otherInventories(ctx, others, index, out.Summaries); err != nil {
		return CandidateResult{}, err
	}
	if sr.req.WithTraits {
		if err := sr.flatTraits(ctx, out.Summaries); err != nil {
			return CandidateResult{}, err
		}
	}
	return out, nil
}

// otherInventories adds to the summaries the inventories of the classes
// not requested, of the providers that have some.
func (sr *search) otherInventories(ctx context.Context, ids []int64, index map[int64]int, sums []ProviderSummary) error {
	if len(ids) == 0 {
		return nil
	}
	except := make([]int, 0, len(sr.classNames))
	for id := range sr.classNames {
		except = append(except, id)
	}
	slices.Sort(except)
	invs, err := sr.r.SummaryInventories(ctx, ids, except)
	if err != nil {
		return err
	}
	names, err := sr.allClassNames(ctx, invs)
	if err != nil {
		return err
	}
	for _, inv := range invs {
		if i, ok := index[inv.ProviderID]; ok {
			sums[i].Resources = append(sums[i].Resources, SummaryResource{ResourceClass: names[inv.ClassID],
				Capacity: capacity(inv.Total, inv.Reserved, inv.AllocationRatio), Used: inv.Used})
		}
	}
	return nil
}

// flatTraits names the traits the flat search read for each provider.
func (sr *search) flatTraits(ctx context.Context, sums []ProviderSummary) error {
	var ids []int64
	for _, ts := range sr.flat.Traits {
		ids = append(ids, ts...)
	}
	if len(ids) == 0 {
		return nil
	}
	names, err := sr.r.TraitNames(ctx, uniqueInts(ids))
	if err != nil {
		return err
	}
	for i, ts := range sr.flat.Traits {
		sums[i].Traits = make([]string, 0, len(ts))
		for _, t := range ts {
			// A trait deleted since the search read it is left out, as a
			// join would have left it out.
			if name, ok := names[t]; ok {
				sums[i].Traits = append(sums[i].Traits, name)
			}
		}
	}
	return nil
}
