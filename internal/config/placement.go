package config

// Placement is the [placement] section: the placement API's listener and
// placement's own options, under their upstream names.
type Placement struct {
	BindPort int `ini:"bind_port" default:"8778" min:"0" max:"65535" help:"Port of the placement API."`

	RandomizeAllocationCandidates bool `ini:"randomize_allocation_candidates" default:"false" help:"When a limit cuts the allocation candidates, return a random sample instead of the first ones found; without a limit, shuffle them."`
	MaxAllocationCandidates       int  `ini:"max_allocation_candidates" default:"-1" min:"-1" help:"Most allocation candidates generated for one request, before limit applies; -1 (or 0): no bound."`
	// Strategy names as placement spells them.
	AllocationCandidatesGenerationStrategy string `ini:"allocation_candidates_generation_strategy" default:"depth-first" choices:"depth-first,breadth-first" help:"Order viable provider trees are visited in: depth-first takes every candidate of one tree before the next, breadth-first one candidate of each tree in turn."`
	IncompleteConsumerProjectID            string `ini:"incomplete_consumer_project_id" default:"00000000-0000-0000-0000-000000000000" help:"Project recorded for allocations written before microversion 1.8, which carry none."`
	IncompleteConsumerUserID               string `ini:"incomplete_consumer_user_id" default:"00000000-0000-0000-0000-000000000000" help:"User recorded for allocations written before microversion 1.8, which carry none."`
	AllocationConflictRetryCount           int    `ini:"allocation_conflict_retry_count" default:"10" min:"1" help:"Times an allocation write is retried server-side after a resource provider generation conflict."`
}
