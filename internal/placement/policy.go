package placement

// Policy rule names, as placement's policies name them.
const (
	RuleProviderList   = "placement:resource_providers:list"
	RuleProviderCreate = "placement:resource_providers:create"
	RuleProviderShow   = "placement:resource_providers:show"
	RuleProviderUpdate = "placement:resource_providers:update"
	RuleProviderDelete = "placement:resource_providers:delete"

	RuleInventoryList   = "placement:resource_providers:inventories:list"
	RuleInventoryCreate = "placement:resource_providers:inventories:create"
	RuleInventoryShow   = "placement:resource_providers:inventories:show"
	RuleInventoryUpdate = "placement:resource_providers:inventories:update"
	RuleInventoryDelete = "placement:resource_providers:inventories:delete"

	RuleAggregateList   = "placement:resource_providers:aggregates:list"
	RuleAggregateUpdate = "placement:resource_providers:aggregates:update"

	RuleProviderTraitList   = "placement:resource_providers:traits:list"
	RuleProviderTraitUpdate = "placement:resource_providers:traits:update"
	RuleProviderTraitDelete = "placement:resource_providers:traits:delete"

	RuleClassList   = "placement:resource_classes:list"
	RuleClassCreate = "placement:resource_classes:create"
	RuleClassShow   = "placement:resource_classes:show"
	RuleClassUpdate = "placement:resource_classes:update"
	RuleClassDelete = "placement:resource_classes:delete"

	RuleTraitList   = "placement:traits:list"
	RuleTraitShow   = "placement:traits:show"
	RuleTraitUpdate = "placement:traits:update"
	RuleTraitDelete = "placement:traits:delete"

	RuleAllocationManage       = "placement:allocations:manage"
	RuleAllocationList         = "placement:allocations:list"
	RuleAllocationUpdate       = "placement:allocations:update"
	RuleAllocationDelete       = "placement:allocations:delete"
	RuleProviderAllocationList = "placement:resource_providers:allocations:list"

	RuleProviderUsages = "placement:resource_providers:usages"
	RuleTotalUsages    = "placement:usages"

	RuleCandidateList = "placement:allocation_candidates:list"
	RuleReshape       = "placement:reshaper:reshape"
)
