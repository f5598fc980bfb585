package policy

import "slices"

// IdentityDefaults returns Keystone's default policy for the identity v3 API
// as of the 2024.2 release, with the later upstream fixes for root-domain
// projects and trust creation: the scope-aware defaults under which an admin
// of any project administers the cloud, readers read, users read themselves,
// and domain managers manage users, groups, projects and grants in their own
// domain. Descriptions list the HTTP operations each rule guards.
func IdentityDefaults() []Default {
	return slices.Concat(
		baseDefaults(),
		authDefaults(),
		domainDefaults(),
		projectDefaults(),
		userDefaults(),
		roleDefaults(),
		grantDefaults(),
		credentialDefaults(),
		trustDefaults(),
		limitDefaults(),
		catalogDefaults(),
		endpointFilterDefaults(),
		endpointPolicyDefaults(),
		federationDefaults(),
		oauthDefaults(),
	)
}

// baseDefaults returns the named building blocks the identity rules refer to.
func baseDefaults() []Default {
	return []Default{
		{Name: "admin_required", Check: "role:admin or is_admin:1",
			Description: "Holds the admin role on the token's scope."},
		{Name: "service_role", Check: "role:service",
			Description: "Holds the service role, as service users do."},
		{Name: "service_or_admin", Check: "rule:admin_required or rule:service_role",
			Description: "An administrator or a service user."},
		{Name: "owner", Check: "user_id:%(user_id)s",
			Description: "The caller is the user named in the request path."},
		{Name: "admin_or_owner", Check: "rule:admin_required or rule:owner",
			Description: "An administrator or the user named in the request path."},
		{Name: "token_subject", Check: "user_id:%(target.token.user_id)s",
			Description: "The caller owns the token named by X-Subject-Token."},
		{Name: "admin_or_token_subject", Check: "rule:admin_required or rule:token_subject",
			Description: "An administrator or the owner of the subject token."},
		{Name: "service_admin_or_token_subject", Check: "rule:service_or_admin or rule:token_subject",
			Description: "An administrator, a service user or the owner of the subject token."},
		{Name: "domain_managed_target_role",
			Check: "'manager':%(target.role.name)s or 'member':%(target.role.name)s or " +
				"'reader':%(target.role.name)s",
			Description: "Roles a domain manager may grant and revoke: none above manager."},
	}
}

// Scope type sets of the identity rules, fresh on each call so that callers
// may modify what IdentityDefaults returns.
func systemProject() []string { return []string{ScopeSystem, ScopeProject} }
func anyScope() []string      { return []string{ScopeSystem, ScopeDomain, ScopeProject} }
func projectOnly() []string   { return []string{ScopeProject} }
