package placement

import (
	"context"
	"slices"
)

// entry is a provider able to give one class to a tree it anchors in (its
// own, or one it shares with).
type entry struct {
	rp, anchor int64
}

// treeGroup builds the requests of the unsuffixed group when the cloud has
// nested or sharing providers: each class may come from a different provider
// of one tree or from a sharing provider linked to it, and the providers
// used must together have the required traits, and none a forbidden one.
func (sr *search) treeGroup(ctx context.Context, gi int, g *group) ([]*areq, error) {
	perClass := make([][]entry, len(g.amounts))
	var trees map[int64]bool
	for i, a := range g.amounts {
		es, err := sr.classEntries(ctx, g, a)
		if err != nil || len(es) == 0 {
			return nil, err
		}
		next := map[int64]bool{}
		for _, e := range es {
			if trees == nil || trees[e.anchor] {
				next[e.anchor] = true
			}
		}
		if trees = next; len(trees) == 0 {
			return nil, nil
		}
		perClass[i] = es
	}
	// byTree[anchor][class index] lists the providers able to give the class.
	byTree := map[int64][][]int64{}
	for i, es := range perClass {
		for _, e := range es {
			if !trees[e.anchor] {
				continue
			}
			lists := byTree[e.anchor]
			if lists == nil {
				lists = make([][]int64, len(g.amounts))
				byTree[e.anchor] = lists
			}
			lists[i] = append(lists[i], e.rp)
		}
	}
	var out []*areq
	for _, anchor := range sortedIDs(trees) {
		out = sr.treeProduct(out, gi, g, anchor, byTree[anchor])
	}
	return out, nil
}

// classEntries lists who can give one class of the group: providers with
// room (in the group's tree if it names one) and, without in_tree, sharing
// providers with room, anchored at each tree they share with; then
// root_required and the group's aggregates filter them.
func (sr *search) classEntries(ctx context.Context, g *group, a ClassAmount) ([]entry, error) {
	var es []entry
	var sharers []int64
	for _, row := range sr.rows[a.ClassID] {
		if !row.fits(a.Amount) || (g.treeRoot != 0 && row.RootID != g.treeRoot) {
			continue
		}
		es = append(es, entry{rp: row.ProviderID, anchor: row.RootID})
		if g.treeRoot == 0 && sr.sharing[row.ProviderID] && inAllOf(sr.aggsOf[row.ProviderID], g.memberOf) {
			sharers = append(sharers, row.ProviderID)
		}
	}
	if len(sharers) > 0 {
		if err := sr.loadAnchors(ctx, sharers); err != nil {
			return nil, err
		}
		for _, rp := range sharers {
			for _, anchor := range sr.anchorsOf[rp] {
				if anchor != sr.rootOf[rp] {
					es = append(es, entry{rp: rp, anchor: anchor})
				}
			}
		}
	}
	return slices.DeleteFunc(es, func(e entry) bool {
		if !sr.rootOK(e.anchor) {
			return true
		}
		if len(g.memberOf) > 0 && !inAllOf(sr.aggsOf[e.rp], g.memberOf) && !inAllOf(sr.aggsOf[e.anchor], g.memberOf) {
			return true
		}
		return inAny(sr.aggsOf[e.rp], g.badAggs) || inAny(sr.aggsOf[e.anchor], g.badAggs)
	}), nil
}

// treeProduct appends a request for every combination of providers of one
// tree, one per class, whose traits together meet the group's.
func (sr *search) treeProduct(out []*areq, gi int, g *group, anchor int64, lists [][]int64) []*areq {
	for _, l := range lists {
		if len(l) == 0 {
			return out
		}
	}
	pick := make([]int64, len(lists))
	var walk func(i int)
	walk = func(i int) {
		if i == len(lists) {
			if a := sr.treeRequest(gi, g, anchor, pick); a != nil {
				out = append(out, a)
			}
			return
		}
		for _, rp := range lists[i] {
			if hasAny(sr.traitsOf[rp], g.forbidden) {
				continue
			}
			pick[i] = rp
			walk(i + 1)
		}
	}
	walk(0)
	return out
}

// treeRequest makes the request for one combination, or nil when the
// providers together lack a required trait.
func (sr *search) treeRequest(gi int, g *group, anchor int64, pick []int64) *areq {
	rps := uniqueInts(pick)
	if len(g.required) > 0 {
		var all []int64
		for _, rp := range rps {
			all = append(all, sr.traitsOf[rp]...)
		}
		if !hasAllOf(all, g.required) {
			return nil
		}
	}
	a := &areq{group: gi, anchor: anchor, rps: rps, res: make([]resAmount, len(pick))}
	for i, rp := range pick {
		a.res[i] = resAmount{rp: rp, rc: g.amounts[i].ClassID, amount: g.amounts[i].Amount}
	}
	sortRes(a.res)
	return a
}

func sortRes(res []resAmount) {
	slices.SortFunc(res, func(x, y resAmount) int {
		if x.rp != y.rp {
			if x.rp < y.rp {
				return -1
			}
			return 1
		}
		return x.rc - y.rc
	})
}

func sortedIDs(m map[int64]bool) []int64 {
	out := make([]int64, 0, len(m))
	for id := range m {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}
