package placement

import (
	"context"
	"errors"
	"slices"
	"sort"
)

// search is one allocation candidate search: what was read for it and the
// per-group work.
type search struct {
	s      *Service
	r      Reader
	req    CandidateRequest
	groups []*group

	classNames map[int]string
	hasTrees   bool
	sharing    map[int64]bool
	// traitsOf and aggsOf hold, per provider, only the traits and
	// aggregates the request names.
	traitsOf map[int64][]int64
	aggsOf   map[int64][]string
	// rows are the inventories with room, per class, in provider order.
	rows map[int][]*CapacityRow
	cap  map[rpClass]*CapacityRow
	// rootOf is each provider's real root.
	rootOf map[int64]int64
	// anchorsOf are the trees sharing providers lend to, read when needed.
	anchorsOf map[int64][]int64
	// nodes are tree positions, read when same_subtree needs them.
	nodes map[int64]TreeNode

	rootRequired, rootForbidden []int64
	// none is set when a filter already rules everything out.
	none bool
	// flat is what the database found in a flat cloud: the providers, with
	// their inventories of the requested classes and their traits; nil
	// when the search runs in memory.
	flat *RoomyResult
}

// group is a request group with names resolved.
type group struct {
	suffix    string
	granular  bool
	amounts   []ClassAmount // by class id
	required  [][]int64
	forbidden []int64
	memberOf  [][]string
	badAggs   []string
	treeRoot  int64 // 0: any tree
}

// newSearch resolves the request's names and reads the rows the search needs.
func (s *Service) newSearch(ctx context.Context, req CandidateRequest) (*search, error) {
	sr := &search{s: s, r: s.store.Reader(), req: req, cap: map[rpClass]*CapacityRow{},
		rows: map[int][]*CapacityRow{}, rootOf: map[int64]int64{}}
	if err := sr.resolve(ctx); err != nil || sr.none {
		return sr, err
	}
	if err := sr.load(ctx); err != nil {
		return nil, err
	}
	return sr, nil
}

// resolve maps class and trait names to ids and in_tree uuids to roots.
func (sr *search) resolve(ctx context.Context) error {
	var classes, traits []string
	for _, g := range sr.req.Groups {
		classes = append(classes, sortedKeys(g.Resources)...)
		traits = append(traits, slices.Concat(g.RequiredTraits...)...)
		traits = append(traits, g.ForbiddenTraits...)
	}
	traits = append(traits, sr.req.RootRequired...)
	traits = append(traits, sr.req.RootForbidden...)
	classes = uniqueSorted(classes)
	classIDs, err := sr.r.ClassIDs(ctx, classes)
	if err != nil {
		return err
	}
	sr.classNames = make(map[int]string, len(classIDs))
	for _, n := range classes {
		id, ok := classIDs[n]
		if !ok {
			return errorf(ErrBadRequest, "Invalid resource class in resources parameter: No such resource class %s.", n)
		}
		sr.classNames[id] = n
	}
	traitIDs, err := resolveTraits(ctx, sr.r, traits)
	if err != nil {
		return err
	}
	sr.rootRequired = idsOf(uniqueSorted(sr.req.RootRequired), traitIDs)
	sr.rootForbidden = idsOf(uniqueSorted(sr.req.RootForbidden), traitIDs)
	for _, rg := range groupOrder(sr.req.Groups) {
		g := &group{suffix: rg.Suffix, granular: rg.Suffix != "", memberOf: rg.MemberOf, badAggs: rg.ForbiddenAggs,
			forbidden: idsOf(uniqueSorted(rg.ForbiddenTraits), traitIDs)}
		for _, n := range sortedKeys(rg.Resources) {
			g.amounts = append(g.amounts, ClassAmount{ClassID: classIDs[n], Amount: rg.Resources[n]})
		}
		sort.Slice(g.amounts, func(i, j int) bool { return g.amounts[i].ClassID < g.amounts[j].ClassID })
		for _, anyOf := range rg.RequiredTraits {
			g.required = append(g.required, idsOf(uniqueSorted(anyOf), traitIDs))
		}
		if rg.InTree != "" {
			p, err := sr.r.Provider(ctx, rg.InTree)
			if errors.Is(err, ErrNotFound) {
				sr.none = true
				return nil
			}
			if err != nil {
				return err
			}
			g.treeRoot = p.RootID
		}
		sr.groups = append(sr.groups, g)
	}
	return nil
}

// load reads the trees, sharing providers, named traits and aggregates, and
// the inventories with room for the amounts asked; in a flat cloud with one
// group, it asks the database for the providers directly instead.
func (sr *search) load(ctx context.Context) error {
	var err error
	if sr.hasTrees, err = sr.r.HasNestedProviders(ctx); err != nil {
		return err
	}
	shareIDs, err := sr.r.TraitIDs(ctx, []string{SharesViaAggregate})
	if err != nil {
		return err
	}
	sr.sharing = map[int64]bool{}
	if id, ok := shareIDs[SharesViaAggregate]; ok {
		rows, err := sr.r.ProviderTraitRows(ctx, []int64{id})
		if err != nil {
			return err
		}
		for _, r := range rows {
			sr.sharing[r.A] = true
		}
	}
	if sr.isFlat() {
		return sr.loadFlat(ctx)
	}
	if err := sr.loadTraitsAndAggs(ctx); err != nil {
		return err
	}
	return sr.loadCapacities(ctx)
}

func (sr *search) loadTraitsAndAggs(ctx context.Context) error {
	var traits []int64
	var aggs []string
	traits = append(traits, sr.rootRequired...)
	traits = append(traits, sr.rootForbidden...)
	for _, g := range sr.groups {
		traits = append(traits, slices.Concat(g.required...)...)
		traits = append(traits, g.forbidden...)
		aggs = append(aggs, slices.Concat(g.memberOf...)...)
		aggs = append(aggs, g.badAggs...)
	}
	sr.traitsOf, sr.aggsOf = map[int64][]int64{}, map[int64][]string{}
	if traits = uniqueInts(traits); len(traits) > 0 {
		rows, err := sr.r.ProviderTraitRows(ctx, traits)
		if err != nil {
			return err
		}
		for _, r := range rows {
			sr.traitsOf[r.A] = append(sr.traitsOf[r.A], r.B)
		}
	}
	if aggs = uniqueSorted(aggs); len(aggs) > 0 {
		rows, err := sr.r.ProviderAggregateRows(ctx, aggs)
		if err != nil {
			return err
		}
		for _, r := range rows {
			sr.aggsOf[r.ProviderID] = append(sr.aggsOf[r.ProviderID], r.Aggregate)
		}
	}
	return nil
}

// loadCapacities reads, in one query, the inventories with room for any of
// the amounts asked; each group checks its own amounts afterwards.
func (sr *search) loadCapacities(ctx context.Context) error {
	var amounts []ClassAmount
	root, sameTree := int64(-1), true
	seen := map[ClassAmount]bool{}
	for _, g := range sr.groups {
		if len(g.amounts) == 0 {
			continue
		}
		if root == -1 {
			root = g.treeRoot
		} else if root != g.treeRoot {
			sameTree = false
		}
		for _, a := range g.amounts {
			if !seen[a] {
				seen[a] = true
				amounts = append(amounts, a)
			}
		}
	}
	if len(amounts) == 0 {
		return nil
	}
	if !sameTree || root < 0 {
		root = 0
	}
	rows, err := sr.r.Capacities(ctx, amounts, root)
	if err != nil {
		return err
	}
	for i := range rows {
		row := &rows[i]
		sr.rows[row.ClassID] = append(sr.rows[row.ClassID], row)
		sr.cap[rpClass{row.ProviderID, row.ClassID}] = row
		sr.rootOf[row.ProviderID] = row.RootID
	}
	return nil
}

func uniqueInts[T int | int64](in []T) []T {
	out := slices.Clone(in)
	slices.Sort(out)
	return slices.Compact(out)
}

// areq is one group's allocation request, anchored at a tree root.
type areq struct {
	group  int
	anchor int64
	res    []resAmount // by provider, then class
	rps    []int64     // distinct providers, sorted
}

type resAmount struct {
	rp     int64
	rc     int
	amount int64
}

// run searches every group and merges their requests.
func (sr *search) run(ctx context.Context) ([]*candidate, error) {
	if sr.none {
		return nil, nil
	}
	perGroup := make([][]*areq, len(sr.groups))
	var anchors map[int64]bool
	for i, g := range sr.groups {
		if len(g.amounts) == 0 {
			continue
		}
		var err error
		if !g.granular && (len(sr.sharing) > 0 || sr.hasTrees) {
			perGroup[i], err = sr.treeGroup(ctx, i, g)
		} else {
			perGroup[i], err = sr.providerGroup(ctx, i, g, sr.providersWithRoom(g))
		}
		if err != nil || len(perGroup[i]) == 0 {
			return nil, err
		}
		anchors = intersectAnchors(anchors, perGroup[i])
	}
	for i, g := range sr.groups {
		if len(g.amounts) > 0 {
			continue
		}
		cands, err := sr.resourceless(ctx, g, anchors)
		if err != nil {
			return nil, err
		}
		if perGroup[i], err = sr.providerGroup(ctx, i, g, cands); err != nil || len(perGroup[i]) == 0 {
			return nil, err
		}
	}
	if len(sr.req.SameSubtrees) > 0 {
		if err := sr.loadNodes(ctx, anchors); err != nil {
			return nil, err
		}
	}
	return sr.merge(perGroup), nil
}

func intersectAnchors(prev map[int64]bool, areqs []*areq) map[int64]bool {
	next := map[int64]bool{}
	for _, a := range areqs {
		if prev == nil || prev[a.anchor] {
			next[a.anchor] = true
		}
	}
	return next
}

// providersWithRoom returns the providers (sorted) that alone have room for
// all of the group's amounts, within its tree if it names one.
func (sr *search) providersWithRoom(g *group) []int64 {
	var out []int64
	for i, a := range g.amounts {
		var ids []int64
		for _, row := range sr.rows[a.ClassID] {
			if row.fits(a.Amount) && (g.treeRoot == 0 || row.RootID == g.treeRoot) {
				ids = append(ids, row.ProviderID)
			}
		}
		if i == 0 {
			out = ids
		} else {
			out = intersectSorted(out, ids)
		}
		if len(out) == 0 {
			return nil
		}
	}
	return out
}

func intersectSorted(a, b []int64) []int64 {
	out := a[:0:0]
	for i, j := 0, 0; i < len(a) && j < len(b); {
		switch {
		case a[i] < b[j]:
			i++
		case a[i] > b[j]:
			j++
		default:
			out = append(out, a[i])
			i++
			j++
		}
	}
	return out
}

// providerGroup builds one request per provider that satisfies the group's
// traits and aggregates, anchored at its tree and, for a sharing provider,
// at every tree it shares with.
func (sr *search) providerGroup(ctx context.Context, gi int, g *group, cands []int64) ([]*areq, error) {
	var out, sharers []*areq
	for _, rp := range cands {
		tr, ag := sr.traitsOf[rp], sr.aggsOf[rp]
		if !hasAllOf(tr, g.required) || hasAny(tr, g.forbidden) || !inAllOf(ag, g.memberOf) || inAny(ag, g.badAggs) {
			continue
		}
		a := &areq{group: gi, anchor: sr.rootOf[rp], rps: []int64{rp}}
		for _, amt := range g.amounts {
			a.res = append(a.res, resAmount{rp: rp, rc: amt.ClassID, amount: amt.Amount})
		}
		if sr.rootOK(a.anchor) {
			out = append(out, a)
		}
		if sr.sharing[rp] {
			sharers = append(sharers, a)
		}
	}
	if len(sharers) == 0 {
		return out, nil
	}
	ids := make([]int64, len(sharers))
	for i, a := range sharers {
		ids[i] = a.rps[0]
	}
	if err := sr.loadAnchors(ctx, ids); err != nil {
		return nil, err
	}
	for _, a := range sharers {
		for _, anchor := range sr.anchorsOf[a.rps[0]] {
			if anchor != a.anchor && sr.rootOK(anchor) {
				c := *a
				c.anchor = anchor
				out = append(out, &c)
			}
		}
	}
	return out, nil
}

// rootOK applies root_required to a tree root.
func (sr *search) rootOK(root int64) bool {
	if len(sr.rootRequired) == 0 && len(sr.rootForbidden) == 0 {
		return true
	}
	tr := sr.traitsOf[root]
	for _, t := range sr.rootRequired {
		if !slices.Contains(tr, t) {
			return false
		}
	}
	return !hasAny(tr, sr.rootForbidden)
}

// loadAnchors reads the trees the sharing providers lend to, once each.
func (sr *search) loadAnchors(ctx context.Context, ids []int64) error {
	if sr.anchorsOf == nil {
		sr.anchorsOf = map[int64][]int64{}
	}
	var need []int64
	for _, id := range ids {
		if _, ok := sr.anchorsOf[id]; !ok {
			need = append(need, id)
			sr.anchorsOf[id] = nil
		}
	}
	if len(need) == 0 {
		return nil
	}
	rows, err := sr.r.SharingAnchors(ctx, uniqueInts(need))
	if err != nil {
		return err
	}
	for _, r := range rows {
		if !slices.Contains(sr.anchorsOf[r.A], r.B) {
			sr.anchorsOf[r.A] = append(sr.anchorsOf[r.A], r.B)
		}
	}
	for _, id := range need {
		slices.Sort(sr.anchorsOf[id])
	}
	return nil
}

// resourceless returns the providers of the candidate trees for a group
// without resources (same_subtree, 1.36).
func (sr *search) resourceless(ctx context.Context, g *group, anchors map[int64]bool) ([]int64, error) {
	if err := sr.loadNodes(ctx, anchors); err != nil {
		return nil, err
	}
	var out []int64
	for id, n := range sr.nodes {
		if anchors[n.RootID] && (g.treeRoot == 0 || n.RootID == g.treeRoot) {
			out = append(out, id)
			sr.rootOf[id] = n.RootID
		}
	}
	slices.Sort(out)
	return out, nil
}

// loadNodes reads the tree positions of the providers in the given trees.
func (sr *search) loadNodes(ctx context.Context, roots map[int64]bool) error {
	if sr.nodes == nil {
		sr.nodes = map[int64]TreeNode{}
	}
	var need []int64
	for r := range roots {
		if _, ok := sr.nodes[r]; !ok {
			need = append(need, r)
		}
	}
	if len(need) == 0 {
		return nil
	}
	// Sharing providers may sit in trees of their own.
	for rp, root := range sr.rootOf {
		if sr.sharing[rp] {
			if _, ok := sr.nodes[root]; !ok {
				need = append(need, root)
			}
		}
	}
	nodes, err := sr.r.TreeProviders(ctx, uniqueInts(need))
	if err != nil {
		return err
	}
	for _, n := range nodes {
		sr.nodes[n.ID] = n
	}
	return nil
}

// hasAllOf reports whether have holds one id of every list.
func hasAllOf(have []int64, lists [][]int64) bool {
	for _, anyOf := range lists {
		if !hasAny(have, anyOf) {
			return false
		}
	}
	return true
}

func hasAny[T comparable](have, want []T) bool {
	for _, w := range want {
		if slices.Contains(have, w) {
			return true
		}
	}
	return false
}

func inAllOf(have []string, lists [][]string) bool {
	for _, anyOf := range lists {
		if !hasAny(have, anyOf) {
			return false
		}
	}
	return true
}

func inAny(have, want []string) bool { return hasAny(have, want) }
