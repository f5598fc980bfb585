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
// Every other compute rule is checked with an empty target, so only the
// caller's roles decide it.
const (
	novaAdmin         = "rule:context_is_admin"
	novaReaderOrAdmin = "rule:project_reader_or_admin"
	novaAnyone        = "@"
	novaAdminOrUser   = "(" + novaAdmin + ") or user_id:%(user_id)s"
)

// ComputeDefaults returns Nova's default policy, as of the 2025.1 release,
// for the parts of the compute API Nimbus serves: flavors and their extra
// specs and access lists, key pairs, quota sets and classes, limits and
// availability zones. These are the new (secure RBAC) defaults: admins
// manage flavors and quotas, project readers read, and users own their key
// pairs. Nova's rules are project-scoped, so the compute service runs its own
// Enforcer. Descriptions list the HTTP operations each rule guards.
func ComputeDefaults() []Default {
	return slices.Concat(
		novaBaseDefaults(),
		novaFlavorDefaults(),
		novaKeypairDefaults(),
		novaQuotaDefaults(),
		novaZoneDefaults(),
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
