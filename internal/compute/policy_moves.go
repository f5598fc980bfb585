package compute

import "context"

// Policy rules of migration records, tenant usage, the host proxy and the
// extension list, as nova names them.
const (
	RuleMigrationsIndex               = "os_compute_api:os-migrations:index"
	RuleMigrationsIndexAllProjects    = "os_compute_api:os-migrations:index:all_projects"
	RuleMigrationsIndexHost           = "os_compute_api:os-migrations:index:host"
	RuleServerMigrationsIndex         = "os_compute_api:servers:migrations:index"
	RuleServerMigrationsIndexHost     = "os_compute_api:servers:migrations:index:host"
	RuleServerMigrationsShow          = "os_compute_api:servers:migrations:show"
	RuleServerMigrationsForceComplete = "os_compute_api:servers:migrations:force_complete"
	RuleServerMigrationsDelete        = "os_compute_api:servers:migrations:delete"
	RuleSimpleTenantUsageShow         = "os_compute_api:os-simple-tenant-usage:show"
	RuleSimpleTenantUsageList         = "os_compute_api:os-simple-tenant-usage:list"
	RuleHostsList                     = "os_compute_api:os-hosts:list"
	RuleHostsShow                     = "os_compute_api:os-hosts:show"
	RuleHostsUpdate                   = "os_compute_api:os-hosts:update"
	RuleHostsReboot                   = "os_compute_api:os-hosts:reboot"
	RuleHostsShutdown                 = "os_compute_api:os-hosts:shutdown"
	RuleHostsStart                    = "os_compute_api:os-hosts:start"
	RuleExtensions                    = "os_compute_api:extensions"
)

// CheckExtensions applies the policy of the extension list (GET
// /extensions): every caller, by nova's default.
func (s *Service) CheckExtensions(ctx context.Context) error {
	return s.authorize(ctx, RuleExtensions, map[string]any{})
}
