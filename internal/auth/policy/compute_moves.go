package policy

// novaMoveUsageDefaults returns the rules of migration records, tenant
// usage, the host proxy and the extension list (nova/policies/migrations.py,
// servers_migrations.py, simple_tenant_usage.py, hosts.py, extensions.py).
// Managers list their project's migrations and steer its live migrations;
// the hosts the records name are for admins, as is every other project's
// usage and the host proxy.
func novaMoveUsageDefaults() []Default {
	const mig = "os_compute_api:os-migrations:"
	const smig = "os_compute_api:servers:migrations:"
	const usage = "os_compute_api:os-simple-tenant-usage:"
	const hosts = "os_compute_api:os-hosts:"
	return []Default{
		novaRule(mig+"index", novaManagerOrAdm, "List migrations: GET /os-migrations."),
		novaRule(mig+"index:all_projects", novaAdmin,
			"List the migrations of every project, or of another project: GET /os-migrations."),
		novaRule(mig+"index:host", novaAdmin, "See the hosts of listed migrations: GET /os-migrations."),
		novaRule(smig+"show", novaAdmin,
			"Show an in-progress live migration of a server: GET /servers/{server_id}/migrations/{migration_id}."),
		novaRule(smig+"force_complete", novaManagerOrAdm,
			"Force a live migration to complete: POST /servers/{server_id}/migrations/{migration_id}/action "+
				"(force_complete)."),
		novaRule(smig+"delete", novaManagerOrAdm,
			"Abort a live migration: DELETE /servers/{server_id}/migrations/{migration_id}."),
		novaRule(smig+"index", novaManagerOrAdm,
			"List the in-progress live migrations of a server: GET /servers/{server_id}/migrations."),
		novaRule(smig+"index:host", novaAdmin,
			"See the hosts of a server's live migrations: GET /servers/{server_id}/migrations."),
		novaRule(usage+"show", novaReaderOrAdmin,
			"Show a project's usage: GET /os-simple-tenant-usage/{tenant_id}."),
		novaRule(usage+"list", novaAdmin, "List every project's usage: GET /os-simple-tenant-usage."),
		novaRule(hosts+"list", novaAdmin, "List hosts (before 2.43): GET /os-hosts."),
		novaRule(hosts+"show", novaAdmin, "Show a host (before 2.43): GET /os-hosts/{host_name}."),
		novaRule(hosts+"update", novaAdmin, "Update a host (before 2.43): PUT /os-hosts/{host_name}."),
		novaRule(hosts+"reboot", novaAdmin, "Reboot a host (before 2.43): GET /os-hosts/{host_name}/reboot."),
		novaRule(hosts+"shutdown", novaAdmin, "Shut a host down (before 2.43): GET /os-hosts/{host_name}/shutdown."),
		novaRule(hosts+"start", novaAdmin, "Start a host (before 2.43): GET /os-hosts/{host_name}/startup."),
		novaRule("os_compute_api:extensions", novaAnyone, "List the API extensions: GET /extensions."),
	}
}
