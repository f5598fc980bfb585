package compute

// Policy rule names, as nova's policies name them.
const (
	RuleContextIsAdmin = "context_is_admin"

	RuleFlavorCreate         = "os_compute_api:os-flavor-manage:create"
	RuleFlavorUpdate         = "os_compute_api:os-flavor-manage:update"
	RuleFlavorDelete         = "os_compute_api:os-flavor-manage:delete"
	RuleExtraSpecsIndex      = "os_compute_api:os-flavor-extra-specs:index"
	RuleExtraSpecsShow       = "os_compute_api:os-flavor-extra-specs:show"
	RuleExtraSpecsCreate     = "os_compute_api:os-flavor-extra-specs:create"
	RuleExtraSpecsUpdate     = "os_compute_api:os-flavor-extra-specs:update"
	RuleExtraSpecsDelete     = "os_compute_api:os-flavor-extra-specs:delete"
	RuleFlavorAccess         = "os_compute_api:os-flavor-access"
	RuleFlavorAccessAdd      = "os_compute_api:os-flavor-access:add_tenant_access"
	RuleFlavorAccessRemove   = "os_compute_api:os-flavor-access:remove_tenant_access"
	RuleKeypairsIndex        = "os_compute_api:os-keypairs:index"
	RuleKeypairsCreate       = "os_compute_api:os-keypairs:create"
	RuleKeypairsShow         = "os_compute_api:os-keypairs:show"
	RuleKeypairsDelete       = "os_compute_api:os-keypairs:delete"
	RuleQuotaSetsShow        = "os_compute_api:os-quota-sets:show"
	RuleQuotaSetsDetail      = "os_compute_api:os-quota-sets:detail"
	RuleQuotaSetsDefaults    = "os_compute_api:os-quota-sets:defaults"
	RuleQuotaSetsUpdate      = "os_compute_api:os-quota-sets:update"
	RuleQuotaSetsDelete      = "os_compute_api:os-quota-sets:delete"
	RuleQuotaClassSetsShow   = "os_compute_api:os-quota-class-sets:show"
	RuleQuotaClassSetsUpdate = "os_compute_api:os-quota-class-sets:update"
	RuleLimits               = "os_compute_api:limits"
	RuleLimitsOtherProject   = "os_compute_api:limits:other_project"
	RuleZonesList            = "os_compute_api:os-availability-zone:list"
	RuleZonesDetail          = "os_compute_api:os-availability-zone:detail"
)
