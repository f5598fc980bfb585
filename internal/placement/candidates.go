package placement

import (
	"context"
	"slices"
	"sort"
	"strings"
)

// CandidateReader is what the allocation candidate search reads: compact
// rows, so that the search itself runs in memory.
type CandidateReader interface {
	// HasNestedProviders reports whether any provider has a parent.
	HasNestedProviders(ctx context.Context) (bool, error)
	// ProviderTraitRows returns (provider, trait) for every provider having
	// any of the traits.
	ProviderTraitRows(ctx context.Context, traitIDs []int64) ([]IDPair, error)
	// ProviderAggregateRows returns the providers in any of the aggregates.
	ProviderAggregateRows(ctx context.Context, aggUUIDs []string) ([]ProviderAggregate, error)
	// SharingAnchors returns, for each of the given providers, the root of
	// every tree with a provider that shares an aggregate with it (its own
	// root included).
	SharingAnchors(ctx context.Context, providerIDs []int64) ([]IDPair, error)
	// Capacities returns the inventories of the amounts' classes that have
	// room for at least one of the amounts of their class, in provider order.
	// rootID, when not 0, narrows to one tree.
	Capacities(ctx context.Context, amounts []ClassAmount, rootID int64) ([]CapacityRow, error)
	// TreeProviders returns every provider of the trees with these roots.
	TreeProviders(ctx context.Context, rootIDs []int64) ([]TreeNode, error)
	// SummaryInventories returns every inventory, with its usage, of the
	// providers, but those of the excepted classes.
	SummaryInventories(ctx context.Context, providerIDs []int64, except []int) ([]SummaryRow, error)
	// SummaryTraits returns the trait names of the providers, by trait id.
	SummaryTraits(ctx context.Context, providerIDs []int64) ([]ProviderTraitName, error)
	// RoomyProviders returns, in id order (random order when f.Random), at
	// most f.Limit (0: all) providers that alone have room for every amount
	// and pass f's trait and aggregate filters, with what their summaries
	// need: the whole search of a cloud without nested or sharing providers,
	// done by the database so that the limit stops it early.
	RoomyProviders(ctx context.Context, f RoomFilter) (RoomyResult, error)
	// TraitNames maps trait ids to their names.
	TraitNames(ctx context.Context, ids []int64) (map[int64]string, error)
}

// RoomyResult is what RoomyProviders found, by provider: parallel slices.
type RoomyResult struct {
	Nodes []TreeNode
	// Inventories holds len(f.Amounts) rows per node, in node order and
	// f.Amounts order: the node's inventories of the amounts' classes.
	Inventories []ClassCapacity
	// InventoryCounts is, per node, how many inventories (of any class) it
	// has: more than len(f.Amounts) means summaries must read the others.
	InventoryCounts []int
	// Traits is, per node, every trait id it has, in id order; set only
	// when f.WithTraits.
	Traits [][]int64
}

// RoomFilter selects providers for RoomyProviders.
type RoomFilter struct {
	Amounts         []ClassAmount
	RequiredTraits  [][]int64
	ForbiddenTraits []int64
	MemberOf        [][]string
	ForbiddenAggs   []string
	// TreeRoot, when not 0, narrows to the providers of one tree.
	TreeRoot int64
	Limit    int
	Random   bool
	// WithTraits asks for each provider's traits (summaries from 1.17).
	WithTraits bool
}

// IDPair is a pair of ids: (provider, trait) or (provider, root).
type IDPair struct{ A, B int64 }

// ProviderAggregate links a provider to an aggregate.
type ProviderAggregate struct {
	ProviderID int64
	Aggregate  string
}

// CapacityRow is one inventory with its usage, for the candidate search.
type CapacityRow struct {
	ProviderID, RootID int64
	ClassID            int
	Total, Reserved    int64
	MinUnit, MaxUnit   int64
	StepSize           int64
	AllocationRatio    float64
	Used               int64
}

// fits reports whether amount can be allocated from the row.
func (r *CapacityRow) fits(amount int64) bool {
	return float64(r.Used+amount) <= float64(r.Total-r.Reserved)*r.AllocationRatio &&
		r.MinUnit <= amount && r.MaxUnit >= amount && amount%r.StepSize == 0
}

// TreeNode is a provider's place in its tree.
type TreeNode struct {
	ID, ParentID, RootID int64
	UUID                 string
}

// SummaryRow is an inventory in a provider summary.
type SummaryRow struct {
	ProviderID      int64
	ClassID         int
	Total, Reserved int64
	AllocationRatio float64
	Used            int64
}

// ClassCapacity is a class's capacity, (total - reserved) * allocation
// ratio truncated to an integer, and usage in one provider.
type ClassCapacity struct {
	ClassID  int
	Capacity int64
	Used     int64
}

// ProviderTraitName is a trait of a provider, by name.
type ProviderTraitName struct {
	ProviderID int64
	Trait      string
}

// RequestGroup is one group of a GET /allocation_candidates request: the
// unsuffixed group (Suffix "") may be satisfied by several providers of one
// tree and sharing providers; a suffixed (granular) group by one provider.
type RequestGroup struct {
	Suffix string
	// Resources maps class names to amounts; empty only for a group named
	// in same_subtree (1.36).
	Resources map[string]int64
	// RequiredTraits: one trait of every inner list (1.39 any-of lists).
	RequiredTraits [][]string
	// ForbiddenTraits must be absent.
	ForbiddenTraits []string
	// MemberOf: one aggregate of every inner list.
	MemberOf [][]string
	// ForbiddenAggs must not be linked.
	ForbiddenAggs []string
	// InTree names a provider whose tree the group must come from.
	InTree string
}

// CandidateRequest is a whole GET /allocation_candidates request.
type CandidateRequest struct {
	Groups []RequestGroup
	// Limit caps the allocation requests returned; 0: no cap.
	Limit int
	// GroupPolicy is "none", "isolate" or "" (unset).
	GroupPolicy string
	// RootRequired and RootForbidden constrain the root of each candidate's
	// tree (root_required, 1.35).
	RootRequired, RootForbidden []string
	// SameSubtrees lists groups of suffixes whose providers must share a
	// subtree (1.36).
	SameSubtrees [][]string
	// NestedAware allows several providers of one tree in a candidate (1.29).
	NestedAware bool
	// WithTraits loads provider traits into the summaries (1.17).
	WithTraits bool
}

// CandidateResult is the answer: allocation requests and summaries of the
// providers of their trees.
type CandidateResult struct {
	Requests  []AllocationRequest
	Summaries []ProviderSummary
}

// AllocationRequest is one way to satisfy a request.
type AllocationRequest struct {
	// Resources are the amounts per provider and class, by provider uuid.
	Resources []RequestResource
	// Mappings map group suffixes to the uuids of the providers that
	// satisfied them (1.34).
	Mappings map[string][]string
}

// RequestResource is an amount of a class from one provider.
type RequestResource struct {
	ProviderUUID  string
	ResourceClass string
	Amount        int64
}

// ProviderSummary describes a provider of a candidate's tree.
type ProviderSummary struct {
	UUID       string
	ParentUUID string
	RootUUID   string
	Resources  []SummaryResource
	Traits     []string
}

// SummaryResource is a class's capacity and usage in a provider summary.
type SummaryResource struct {
	ResourceClass string
	Capacity      int64
	Used          int64
}

// AllocationCandidates searches for the ways the request can be satisfied.
// The search reads compact rows in a few queries (classes and traits by
// name, the inventories with room, the providers with the traits and
// aggregates named) and builds candidates in memory, stopping as soon as
// the limit is reached; provider summaries are read only for the trees of
// the candidates returned.
func (s *Service) AllocationCandidates(ctx context.Context, req CandidateRequest) (CandidateResult, error) {
	if err := s.authorize(ctx, RuleCandidateList); err != nil {
		return CandidateResult{}, err
	}
	if req.GroupPolicy == "" {
		granular := 0
		for _, g := range req.Groups {
			if g.Suffix != "" {
				granular++
			}
		}
		if granular > 1 {
			return CandidateResult{}, errorf(ErrBadRequest,
				"The \"group_policy\" parameter is required when specifying more than one \"resources{N}\" parameter.")
		}
	}
	sr, err := s.newSearch(ctx, req)
	if err != nil {
		return CandidateResult{}, err
	}
	if sr.flat != nil && !sr.none {
		return sr.flatResult(ctx)
	}
	areqs, err := sr.run(ctx)
	if err != nil || len(areqs) == 0 {
		return CandidateResult{Requests: []AllocationRequest{}, Summaries: []ProviderSummary{}}, err
	}
	return sr.result(ctx, areqs)
}

// groupOrder sorts groups: the unsuffixed one first, then by suffix.
func groupOrder(gs []RequestGroup) []RequestGroup {
	out := slices.Clone(gs)
	sort.SliceStable(out, func(i, j int) bool { return strings.Compare(out[i].Suffix, out[j].Suffix) < 0 })
	return out
}
