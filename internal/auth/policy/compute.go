package policy

import "slices"

// Check strings of nova's defaults, composed as nova's policies/base.py
// composes them (the text is the contract).
//
// Targets. Nova enforces a rule against a flat map. When an API names no
// target the compute service passes {project_id, user_id} of the caller, as
// nova's context.can does; the rules below that read the target are:
//
//	os-keypairs:*              {user_id: the user whose key pairs the request
//	                            concerns: the user_id parameter, else the caller}
//	os-quota-sets:*            {project_id: the project in the URL}
//	os-flavor-extra-specs:show,
//	os-flavor-extra-specs:index {project_id: the caller's project}
//
//	servers and their actions,  {project_id, user_id: the server's owners},
//	metadata, tags, ips,        or {project_id} alone where nova passes only
//	instance actions            the project (see each rule's description)
//	servers:create              {project_id, user_id: the caller's,
//	                             availability_zone: as requested}
//	servers:index, :detail,     {project_id, user_id: the caller's}
//	servers:allow_all_filters
//
// Every other compute rule is checked with an empty target, so only the
// caller's roles decide it.
const (
	novaAdmin         = "rule:context_is_admin"
	novaReaderOrAdmin = "rule:project_reader_or_admin"
	novaMemberOrAdmin = "rule:project_member_or_admin"
	novaManagerOrAdm  = "rule:project_manager_or_admin"
	novaAnyone        = "@"
	novaAdminOrUser   = "(" + novaAdmin + ") or user_id:%(user_id)s"
)

// ComputeDefaults returns Nova's default policy, as of the 2025.1 release,
// for the parts of the compute API Nimbus serves: flavors and their extra
// specs and access lists, key pairs, quota sets and classes, limits,
// availability zones, and servers with their metadata, tags, addresses,
// actions and instance actions. These are the new (secure RBAC) defaults:
// admins manage flavors and quotas, project readers read, project members
// run servers, managers migrate them, and users own their key pairs. Nova's rules are project-scoped, so the compute service runs its own
// Enforcer. Descriptions list the HTTP operations each rule guards.
func ComputeDefaults() []Default {
	return slices.Concat(
		novaBaseDefaults(),
		novaFlavorDefaults(),
		novaKeypairDefaults(),
		novaQuotaDefaults(),
		novaZoneDefaults(),
		novaServerDefaults(),
		novaServerPartsDefaults(),
		novaServerActionDefaults(),
		novaServiceDefaults(),
		novaServerGroupDefaults(),
		novaAggregateDefaults(),
		novaMoveUsageDefaults(),
		novaEventAuditDefaults(),
	)
}

// novaRule is a project-scoped nova API rule, as all of nova's are.
func novaRule(name, check, description string) Default {
	return Default{Name: name, Check: check, ScopeTypes: projectOnly(), Description: description}
}

// novaBaseDefaults returns the building blocks the compute rules refer to.
// Nova's deprecated admin_api and admin_or_owner test is_admin:True, which is
// the outcome of context_is_admin in nova's request context; they are spelt
// here with that rule, so an operator's policy file that still refers to them
// keeps its meaning.
func novaBaseDefaults() []Default {
	return []Default{
		{Name: "context_is_admin", Check: "role:admin",
			Description: "Decides what is required for the 'is_admin:True' check to succeed."},
		{Name: "admin_or_owner", Check: novaAdmin + " or project_id:%(project_id)s",
			Description: "Deprecated default rule for most non-admin APIs."},
		{Name: "admin_api", Check: novaAdmin,
			Description: "Deprecated default rule for most admin APIs."},
		{Name: "project_manager_api", Check: "role:manager and project_id:%(project_id)s",
			Description: "Default rule for project level management APIs."},
		{Name: "project_member_api", Check: "role:member and project_id:%(project_id)s",
			Description: "Default rule for project level non admin APIs."},
		{Name: "project_reader_api", Check: "role:reader and project_id:%(project_id)s",
			Description: "Default rule for project level read only APIs."},
		{Name: "service_api", Check: "role:service",
			Description: "Default rule for service-to-service APIs."},
		{Name: "project_manager_or_admin", Check: "rule:project_manager_api or " + novaAdmin,
			Description: "Default rule for project manager or admin APIs."},
		{Name: "project_member_or_admin", Check: "rule:project_member_api or " + novaAdmin,
			Description: "Default rule for project member or admin APIs."},
		{Name: "project_reader_or_admin", Check: "rule:project_reader_api or " + novaAdmin,
			Description: "Default rule for project reader or admin APIs."},
		{Name: "service_or_admin", Check: "rule:service_api or " + novaAdmin,
			Description: "Default rule for service or admin APIs."},
	}
}

// novaFlavorDefaults returns the rules of flavors, their extra specs and
// their access lists.
func novaFlavorDefaults() []Default {
	const (
		manage = "os_compute_api:os-flavor-manage:"
		specs  = "os_compute_api:os-flavor-extra-specs:"
		access = "os_compute_api:os-flavor-access"
	)
	return []Default{
		novaRule(manage+"create", novaAdmin, "Create a flavor: POST /flavors."),
		novaRule(manage+"update", novaAdmin, "Update a flavor: PUT /flavors/{flavor_id}."),
		novaRule(manage+"delete", novaAdmin, "Delete a flavor: DELETE /flavors/{flavor_id}."),
		novaRule(specs+"show", novaReaderOrAdmin,
			"Show an extra spec of a flavor: GET /flavors/{flavor_id}/os-extra_specs/{flavor_extra_spec_key}."),
		novaRule(specs+"create", novaAdmin, "Create extra specs of a flavor: POST /flavors/{flavor_id}/os-extra_specs."),
		novaRule(specs+"update", novaAdmin,
			"Update an extra spec of a flavor: PUT /flavors/{flavor_id}/os-extra_specs/{flavor_extra_spec_key}."),
		novaRule(specs+"delete", novaAdmin,
			"Delete an extra spec of a flavor: DELETE /flavors/{flavor_id}/os-extra_specs/{flavor_extra_spec_key}."),
		novaRule(specs+"index", novaReaderOrAdmin,
			"List the extra specs of a flavor: GET /flavors/{flavor_id}/os-extra_specs; from microversion 2.61 "+
				"also whether flavors in POST /flavors, GET /flavors/detail, GET and PUT /flavors/{flavor_id} "+
				"show their extra_specs."),
		novaRule(access+":add_tenant_access", novaAdmin,
			"Give a project access to a flavor: POST /flavors/{flavor_id}/action (addTenantAccess)."),
		novaRule(access+":remove_tenant_access", novaAdmin,
			"Take a project's access to a flavor: POST /flavors/{flavor_id}/action (removeTenantAccess)."),
		novaRule(access, novaAdmin, "List the projects with access to a flavor: GET /flavors/{flavor_id}/os-flavor-access."),
	}
}

// novaKeypairDefaults returns the rules of key pairs: a user manages their
// own, an admin anybody's.
func novaKeypairDefaults() []Default {
	const root = "os_compute_api:os-keypairs:"
	return []Default{
		novaRule(root+"index", novaAdminOrUser, "List key pairs: GET /os-keypairs."),
		novaRule(root+"create", novaAdminOrUser, "Create or import a key pair: POST /os-keypairs."),
		novaRule(root+"delete", novaAdminOrUser, "Delete a key pair: DELETE /os-keypairs/{keypair_name}."),
		novaRule(root+"show", novaAdminOrUser, "Show a key pair: GET /os-keypairs/{keypair_name}."),
	}
}

// novaQuotaDefaults returns the rules of quota sets, quota classes and limits.
func novaQuotaDefaults() []Default {
	const (
		sets    = "os_compute_api:os-quota-sets:"
		classes = "os_compute_api:os-quota-class-sets:"
	)
	return []Default{
		novaRule(sets+"update", novaAdmin, "Update the quotas of a project or user: PUT /os-quota-sets/{tenant_id}."),
		novaRule(sets+"defaults", novaAnyone, "Show the default quotas: GET /os-quota-sets/{tenant_id}/defaults."),
		novaRule(sets+"show", novaReaderOrAdmin, "Show the quotas of a project or user: GET /os-quota-sets/{tenant_id}."),
		novaRule(sets+"delete", novaAdmin,
			"Revert the quotas of a project or user to the defaults: DELETE /os-quota-sets/{tenant_id}."),
		novaRule(sets+"detail", novaReaderOrAdmin,
			"Show the quotas of a project or user with their usage: GET /os-quota-sets/{tenant_id}/detail."),
		novaRule(classes+"show", novaAdmin, "Show the quotas of a quota class: GET /os-quota-class-sets/{quota_class}."),
		novaRule(classes+"update", novaAdmin,
			"Update the quotas of a quota class: PUT /os-quota-class-sets/{quota_class}."),
		novaRule("os_compute_api:limits", novaAnyone, "Show the limits of the caller's project: GET /limits."),
		novaRule("os_compute_api:limits:other_project", novaAdmin,
			"Show the limits of another project: GET /limits?tenant_id={project_id}; checked after "+
				"os_compute_api:limits."),
	}
}

// novaZoneDefaults returns the rules of availability zones.
func novaZoneDefaults() []Default {
	const root = "os_compute_api:os-availability-zone:"
	return []Default{
		novaRule(root+"list", novaAnyone, "List availability zones without their hosts: GET /os-availability-zone."),
		novaRule(root+"detail", novaAdmin,
			"List availability zones with their hosts and services: GET /os-availability-zone/detail."),
	}
}

// novaServerDefaults returns the rules of servers themselves
// (nova/policies/servers.py).
func novaServerDefaults() []Default {
	const root = "os_compute_api:servers:"
	action := func(name string) string { return "POST /servers/{server_id}/action (" + name + ")" }
	shown := "GET /servers/{server_id}, GET /servers/detail, PUT /servers/{server_id}, " + action("rebuild")
	return []Default{
		novaRule(root+"index", novaReaderOrAdmin, "List servers: GET /servers."),
		novaRule(root+"detail", novaReaderOrAdmin, "List servers with details: GET /servers/detail."),
		novaRule(root+"index:get_all_tenants", novaAdmin, "List the servers of every project: GET /servers?all_tenants."),
		novaRule(root+"detail:get_all_tenants", novaAdmin,
			"List the servers of every project with details: GET /servers/detail?all_tenants."),
		novaRule(root+"allow_all_filters", novaAdmin,
			"Filter server lists by any field, not only those every user may: GET /servers, GET /servers/detail."),
		novaRule(root+"show", novaReaderOrAdmin, "Show a server: GET /servers/{server_id}."),
		novaRule(root+"show:flavor-extra-specs", novaReaderOrAdmin,
			"Show the extra specs of a server's flavor (microversion 2.47 and later): "+shown+"."),
		novaRule(root+"show:host_status", novaAdmin, "Show the status of a server's host (2.16 and later): "+shown+"."),
		novaRule(root+"show:host_status:unknown-only", novaAdmin,
			"Show a server's host status only when it is UNKNOWN (2.16 and later); checked when "+
				"show:host_status is not allowed: "+shown+"."),
		novaRule(root+"create", novaMemberOrAdmin, "Create servers: POST /servers."),
		novaRule(root+"create:forced_host", novaAdmin,
			"Create a server on a named host, availability_zone \"zone:host[:node]\": POST /servers."),
		novaRule("compute:servers:create:requested_destination", novaAdmin,
			"Ask the scheduler for a destination host or node (2.74 and later): POST /servers."),
		novaRule(root+"create:attach_volume", novaMemberOrAdmin,
			"Create a server with block device mappings: POST /servers."),
		novaRule(root+"create:attach_network", novaMemberOrAdmin,
			"Create a server with named networks or ports: POST /servers."),
		novaRule(root+"create:trusted_certs", novaMemberOrAdmin,
			"Create a server with trusted image certificates (2.63 and later): POST /servers."),
		novaRule(root+"create:zero_disk_flavor", novaAdmin,
			"Create a server from an image with a flavor of zero disk: POST /servers."),
		novaRule(root+"delete", novaMemberOrAdmin, "Delete a server: DELETE /servers/{server_id}."),
		novaRule(root+"update", novaMemberOrAdmin, "Update a server: PUT /servers/{server_id}."),
		novaRule(root+"confirm_resize", novaMemberOrAdmin, "Confirm a resize: "+action("confirmResize")+"."),
		novaRule(root+"revert_resize", novaMemberOrAdmin, "Revert a resize: "+action("revertResize")+"."),
		novaRule(root+"reboot", novaMemberOrAdmin, "Reboot a server: "+action("reboot")+"."),
		novaRule(root+"resize", novaMemberOrAdmin, "Resize a server: "+action("resize")+"."),
		novaRule(root+"rebuild", novaMemberOrAdmin, "Rebuild a server: "+action("rebuild")+"."),
		novaRule(root+"rebuild:trusted_certs", novaMemberOrAdmin,
			"Rebuild a server with trusted image certificates (2.63 and later): "+action("rebuild")+"."),
		novaRule(root+"create_image", novaMemberOrAdmin, "Snapshot a server into an image: "+action("createImage")+"."),
		novaRule(root+"create_image:allow_volume_backed", novaMemberOrAdmin,
			"Snapshot a volume-backed server: "+action("createImage")+"."),
		novaRule(root+"start", novaMemberOrAdmin, "Start a server: "+action("os-start")+"."),
		novaRule(root+"stop", novaMemberOrAdmin, "Stop a server: "+action("os-stop")+"."),
		novaRule(root+"trigger_crash_dump", novaMemberOrAdmin,
			"Trigger a crash dump in a server: "+action("trigger_crash_dump")+"."),
		novaRule("os_compute_api:os-extended-server-attributes", novaAdmin,
			"Show a server's host, hypervisor and instance name (OS-EXT-SRV-ATTR): "+shown+"."),
	}
}

// novaServerPartsDefaults returns the rules of what hangs off a server:
// metadata, tags, addresses and instance actions.
func novaServerPartsDefaults() []Default {
	const (
		meta    = "os_compute_api:server-metadata:"
		tags    = "os_compute_api:os-server-tags:"
		ips     = "os_compute_api:ips:"
		actions = "os_compute_api:os-instance-actions"
	)
	return []Default{
		novaRule(meta+"index", novaReaderOrAdmin, "List a server's metadata: GET /servers/{server_id}/metadata."),
		novaRule(meta+"show", novaReaderOrAdmin, "Show a metadata item: GET /servers/{server_id}/metadata/{key}."),
		novaRule(meta+"create", novaMemberOrAdmin, "Add metadata items: POST /servers/{server_id}/metadata."),
		novaRule(meta+"update_all", novaMemberOrAdmin, "Replace a server's metadata: PUT /servers/{server_id}/metadata."),
		novaRule(meta+"update", novaMemberOrAdmin, "Set a metadata item: PUT /servers/{server_id}/metadata/{key}."),
		novaRule(meta+"delete", novaMemberOrAdmin, "Delete a metadata item: DELETE /servers/{server_id}/metadata/{key}."),
		novaRule(tags+"delete_all", novaMemberOrAdmin, "Delete a server's tags: DELETE /servers/{server_id}/tags."),
		novaRule(tags+"index", novaReaderOrAdmin, "List a server's tags: GET /servers/{server_id}/tags."),
		novaRule(tags+"update_all", novaMemberOrAdmin, "Replace a server's tags: PUT /servers/{server_id}/tags."),
		novaRule(tags+"delete", novaMemberOrAdmin, "Delete a tag: DELETE /servers/{server_id}/tags/{tag}."),
		novaRule(tags+"update", novaMemberOrAdmin, "Add a tag: PUT /servers/{server_id}/tags/{tag}."),
		novaRule(tags+"show", novaReaderOrAdmin, "Check a tag: GET /servers/{server_id}/tags/{tag}."),
		novaRule(ips+"index", novaReaderOrAdmin, "List a server's addresses: GET /servers/{server_id}/ips."),
		novaRule(ips+"show", novaReaderOrAdmin,
			"List a server's addresses on a network: GET /servers/{server_id}/ips/{network_label}."),
		novaRule(actions+":list", novaReaderOrAdmin,
			"List a server's actions: GET /servers/{server_id}/os-instance-actions."),
		novaRule(actions+":show", novaReaderOrAdmin,
			"Show a server action: GET /servers/{server_id}/os-instance-actions/{request_id}."),
		novaRule(actions+":events", novaAdmin,
			"Show the events of an action with their tracebacks and hosts (before 2.51 the events at all): "+
				"GET /servers/{server_id}/os-instance-actions/{request_id}."),
		novaRule(actions+":events:details", novaAdmin,
			"Show the details of action events (2.84 and later): GET /servers/{server_id}/os-instance-actions/{request_id}."),
	}
}

// novaServerActionDefaults returns the rules of the server actions that
// have policies of their own.
func novaServerActionDefaults() []Default {
	action := func(name string) string { return "POST /servers/{server_id}/action (" + name + ")." }
	const root = "os_compute_api:"
	return []Default{
		novaRule(root+"os-lock-server:lock", novaMemberOrAdmin, "Lock a server: "+action("lock")),
		novaRule(root+"os-lock-server:unlock", novaMemberOrAdmin, "Unlock a server: "+action("unlock")),
		novaRule(root+"os-lock-server:unlock:unlock_override", novaAdmin,
			"Unlock a server someone else locked: "+action("unlock")),
		novaRule(root+"os-pause-server:pause", novaMemberOrAdmin, "Pause a server: "+action("pause")),
		novaRule(root+"os-pause-server:unpause", novaMemberOrAdmin, "Unpause a server: "+action("unpause")),
		novaRule(root+"os-suspend-server:suspend", novaMemberOrAdmin, "Suspend a server: "+action("suspend")),
		novaRule(root+"os-suspend-server:resume", novaMemberOrAdmin, "Resume a server: "+action("resume")),
		novaRule(root+"os-shelve:shelve", novaMemberOrAdmin, "Shelve a server: "+action("shelve")),
		novaRule(root+"os-shelve:shelve_offload", novaAdmin, "Offload a shelved server: "+action("shelveOffload")),
		novaRule(root+"os-shelve:unshelve", novaMemberOrAdmin, "Unshelve a server: "+action("unshelve")),
		novaRule(root+"os-shelve:unshelve_to_host", novaAdmin,
			"Unshelve a server onto a named host (2.91 and later): "+action("unshelve")),
		novaRule(root+"os-migrate-server:migrate", novaManagerOrAdm, "Cold migrate a server: "+action("migrate")),
		novaRule(root+"os-migrate-server:migrate:host", novaAdmin,
			"Cold migrate a server to a named host: "+action("migrate")),
		novaRule(root+"os-migrate-server:migrate_live", novaManagerOrAdm,
			"Live migrate a server: "+action("os-migrateLive")),
		novaRule(root+"os-migrate-server:migrate_live:host", novaAdmin,
			"Live migrate a server to a named host: "+action("os-migrateLive")),
		novaRule(root+"os-evacuate", novaAdmin, "Evacuate a server from a failed host: "+action("evacuate")),
		novaRule(root+"os-deferred-delete:force", novaMemberOrAdmin, "Force the deletion of a server: "+action("forceDelete")),
		novaRule(root+"os-deferred-delete:restore", novaMemberOrAdmin, "Restore a soft-deleted server: "+action("restore")),
		novaRule(root+"os-console-output", novaMemberOrAdmin, "Show a server's console output: "+action("os-getConsoleOutput")),
		novaRule(root+"os-remote-consoles", novaMemberOrAdmin,
			"Get a remote console of a server: POST /servers/{server_id}/remote-consoles (2.6 and later), "+
				action("os-getVNCConsole, os-getSPICEConsole, os-getSerialConsole")),
		novaRule(root+"os-console-auth-tokens", novaAdmin,
			"Show the connection of a console auth token: GET /os-console-auth-tokens/{console_token}."),
		novaRule(root+"os-rescue", novaMemberOrAdmin, "Rescue a server: "+action("rescue")),
		novaRule(root+"os-unrescue", novaMemberOrAdmin, "Unrescue a server: "+action("unrescue")),
		novaRule(root+"os-admin-actions:reset_state", novaAdmin, "Reset a server's state: "+action("os-resetState")),
		novaRule(root+"os-admin-actions:inject_network_info", novaAdmin,
			"Inject network information into a server: "+action("injectNetworkInfo")),
		novaRule(root+"os-create-backup", novaMemberOrAdmin, "Back a server up: "+action("createBackup")),
		novaRule(root+"os-server-diagnostics", novaAdmin,
			"Show a server's diagnostics: GET /servers/{server_id}/diagnostics."),
		novaRule(root+"os-server-password:show", novaReaderOrAdmin,
			"Show a server's encrypted password: GET /servers/{server_id}/os-server-password."),
		novaRule(root+"os-server-password:clear", novaMemberOrAdmin,
			"Clear a server's encrypted password: DELETE /servers/{server_id}/os-server-password."),
	}
}

// novaServiceDefaults returns the rules of the services and hypervisors an
// operator manages (nova/policies/services.py, hypervisors.py): admins only.
func novaServiceDefaults() []Default {
	const svc = "os_compute_api:os-services:"
	const hyp = "os_compute_api:os-hypervisors:"
	return []Default{
		novaRule(svc+"list", novaAdmin, "List compute services: GET /os-services."),
		novaRule(svc+"update", novaAdmin,
			"Enable, disable or force down a compute service: PUT /os-services/{service_id} (2.53 and later), "+
				"PUT /os-services/enable, /disable, /disable-log-reason, /force-down (before 2.53)."),
		novaRule(svc+"delete", novaAdmin, "Delete a compute service: DELETE /os-services/{service_id}."),
		novaRule(hyp+"list", novaAdmin, "List hypervisors: GET /os-hypervisors."),
		novaRule(hyp+"list-detail", novaAdmin, "List hypervisors with details: GET /os-hypervisors/detail."),
		novaRule(hyp+"statistics", novaAdmin,
			"Show the summed statistics of all hypervisors (before 2.88): GET /os-hypervisors/statistics."),
		novaRule(hyp+"show", novaAdmin, "Show a hypervisor: GET /os-hypervisors/{hypervisor_id}."),
		novaRule(hyp+"uptime", novaAdmin,
			"Show a hypervisor's uptime (before 2.88): GET /os-hypervisors/{hypervisor_id}/uptime."),
		novaRule(hyp+"search", novaAdmin,
			"Search hypervisors by host name (before 2.53): GET /os-hypervisors/{hypervisor_hostname_pattern}/search."),
		novaRule(hyp+"servers", novaAdmin,
			"List the servers on hypervisors (before 2.53): GET /os-hypervisors/{hypervisor_hostname_pattern}/servers."),
	}
}

// novaServerGroupDefaults returns the rules of server groups
// (nova/policies/server_groups.py): project members create them, readers
// list and show them, admins see every project's. Targets carry the
// group's project (the caller's for create and index).
func novaServerGroupDefaults() []Default {
	const root = "os_compute_api:os-server-groups:"
	return []Default{
		novaRule(root+"create", "rule:project_member_api", "Create a server group: POST /os-server-groups."),
		novaRule(root+"delete", novaMemberOrAdmin, "Delete a server group: DELETE /os-server-groups/{server_group_id}."),
		novaRule(root+"index", novaReaderOrAdmin, "List the project's server groups: GET /os-server-groups."),
		novaRule(root+"index:all_projects", novaAdmin,
			"List the server groups of every project: GET /os-server-groups?all_projects=True."),
		novaRule(root+"show", novaReaderOrAdmin, "Show a server group: GET /os-server-groups/{server_group_id}."),
	}
}

// novaAggregateDefaults returns the rules of host aggregates
// (nova/policies/aggregates.py): admins only.
func novaAggregateDefaults() []Default {
	const root = "os_compute_api:os-aggregates:"
	action := func(name string) string { return "POST /os-aggregates/{aggregate_id}/action (" + name + ")." }
	return []Default{
		novaRule(root+"index", novaAdmin, "List host aggregates: GET /os-aggregates."),
		novaRule(root+"create", novaAdmin, "Create a host aggregate: POST /os-aggregates."),
		novaRule(root+"show", novaAdmin, "Show a host aggregate: GET /os-aggregates/{aggregate_id}."),
		novaRule(root+"update", novaAdmin, "Update a host aggregate: PUT /os-aggregates/{aggregate_id}."),
		novaRule(root+"delete", novaAdmin, "Delete a host aggregate: DELETE /os-aggregates/{aggregate_id}."),
		novaRule(root+"add_host", novaAdmin, "Add a host to an aggregate: "+action("add_host")),
		novaRule(root+"remove_host", novaAdmin, "Remove a host from an aggregate: "+action("remove_host")),
		novaRule(root+"set_metadata", novaAdmin, "Set the metadata of an aggregate: "+action("set_metadata")),
	}
}

// novaEventAuditDefaults returns the rules of external events, which
// other services send (nova/policies/server_external_events.py), and of
// the instance usage audit log (instance_usage_audit_log.py).
func novaEventAuditDefaults() []Default {
	const audit = "os_compute_api:os-instance-usage-audit-log:"
	return []Default{
		novaRule("os_compute_api:os-server-external-events:create", "rule:service_or_admin",
			"Create one or more external events: POST /os-server-external-events."),
		novaRule(audit+"list", novaAdmin,
			"List the instance usage audit of the last completed period: GET /os-instance_usage_audit_log."),
		novaRule(audit+"show", novaAdmin, "Show the instance usage audit of the last period completed before a time: "+
			"GET /os-instance_usage_audit_log/{before_timestamp}."),
	}
}
