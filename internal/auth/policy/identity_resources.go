package policy

// authDefaults returns the rules for the auth API, tokens, revocation events
// and EC2/S3 signature validation.
func authDefaults() []Default {
	return []Default{
		{Name: "identity:get_auth_catalog", Check: checkAnyone,
			Description: "GET,HEAD /v3/auth/catalog"},
		{Name: "identity:get_auth_projects", Check: checkAnyone,
			Description: "GET,HEAD /v3/auth/projects"},
		{Name: "identity:get_auth_domains", Check: checkAnyone,
			Description: "GET,HEAD /v3/auth/domains"},
		{Name: "identity:get_auth_system", Check: checkAnyone,
			Description: "GET,HEAD /v3/auth/system"},
		{Name: "identity:check_token", Check: checkTokenCheck, ScopeTypes: anyScope(),
			Description: "HEAD /v3/auth/tokens"},
		{Name: "identity:validate_token", Check: checkTokenValidate, ScopeTypes: anyScope(),
			Description: "GET /v3/auth/tokens"},
		{Name: "identity:revoke_token", Check: checkAdminOrTokenSubject, ScopeTypes: anyScope(),
			Description: "DELETE /v3/auth/tokens"},
		{Name: "identity:list_revoke_events", Check: checkServiceOrAdmin, ScopeTypes: systemProject(),
			Description: "GET /v3/OS-REVOKE/events"},
		{Name: "identity:ec2tokens_validate", Check: checkServiceOrAdmin, ScopeTypes: anyScope(),
			Description: "POST /v3/ec2tokens"},
		{Name: "identity:s3tokens_validate", Check: checkServiceOrAdmin, ScopeTypes: anyScope(),
			Description: "POST /v3/s3tokens"},
	}
}

// domainDefaults returns the rules for domains and their per-domain configuration.
func domainDefaults() []Default {
	return []Default{
		{Name: "identity:get_domain", Check: checkDomainRead, ScopeTypes: anyScope(),
			Description: "GET /v3/domains/{domain_id}"},
		{Name: "identity:list_domains", Check: checkDomainList, ScopeTypes: anyScope(),
			Description: "GET /v3/domains"},
		{Name: "identity:create_domain", Check: checkAdmin, ScopeTypes: systemProject(),
			Description: "POST /v3/domains"},
		{Name: "identity:update_domain", Check: checkAdmin, ScopeTypes: systemProject(),
			Description: "PATCH /v3/domains/{domain_id}"},
		{Name: "identity:delete_domain", Check: checkAdmin, ScopeTypes: systemProject(),
			Description: "DELETE /v3/domains/{domain_id}"},
		{Name: "identity:create_domain_config", Check: checkAdmin, ScopeTypes: systemProject(),
			Description: "PUT /v3/domains/{domain_id}/config"},
		{Name: "identity:get_domain_config", Check: checkAdminOrSystemReader, ScopeTypes: systemProject(),
			Description: "GET,HEAD /v3/domains/{domain_id}/config; GET,HEAD /v3/domains/{domain_id}/config/{group}; GET,HEAD /v3/domains/{domain_id}/config/{group}/{option}"},
		{Name: "identity:get_security_compliance_domain_config", Check: checkAnyone, ScopeTypes: anyScope(),
			Description: "GET,HEAD /v3/domains/{domain_id}/config/security_compliance; GET,HEAD /v3/domains/{domain_id}/config/security_compliance/{option}"},
		{Name: "identity:update_domain_config", Check: checkAdmin, ScopeTypes: systemProject(),
			Description: "PATCH /v3/domains/{domain_id}/config; PATCH /v3/domains/{domain_id}/config/{group}; PATCH /v3/domains/{domain_id}/config/{group}/{option}"},
		{Name: "identity:delete_domain_config", Check: checkAdmin, ScopeTypes: systemProject(),
			Description: "DELETE /v3/domains/{domain_id}/config; DELETE /v3/domains/{domain_id}/config/{group}; DELETE /v3/domains/{domain_id}/config/{group}/{option}"},
		{Name: "identity:get_domain_config_default", Check: checkAdminOrSystemReader, ScopeTypes: systemProject(),
			Description: "GET,HEAD /v3/domains/config/default; GET,HEAD /v3/domains/config/{group}/default; GET,HEAD /v3/domains/config/{group}/{option}/default"},
	}
}

// projectDefaults returns the rules for projects and project tags.
func projectDefaults() []Default {
	return []Default{
		{Name: "identity:get_project", Check: checkProjectRead, ScopeTypes: anyScope(),
			Description: "GET /v3/projects/{project_id}"},
		{Name: "identity:list_projects", Check: checkDomainScopedList, ScopeTypes: anyScope(),
			Description: "GET /v3/projects"},
		{Name: "identity:list_user_projects", Check: checkUserProjectsRead, ScopeTypes: anyScope(),
			Description: "GET /v3/users/{user_id}/projects"},
		{Name: "identity:create_project", Check: checkProjectManage, ScopeTypes: anyScope(),
			Description: "POST /v3/projects"},
		{Name: "identity:update_project", Check: checkProjectManage, ScopeTypes: anyScope(),
			Description: "PATCH /v3/projects/{project_id}"},
		{Name: "identity:delete_project", Check: checkProjectManage, ScopeTypes: anyScope(),
			Description: "DELETE /v3/projects/{project_id}"},
		{Name: "identity:list_project_tags", Check: checkProjectRead, ScopeTypes: anyScope(),
			Description: "GET,HEAD /v3/projects/{project_id}/tags"},
		{Name: "identity:get_project_tag", Check: checkProjectRead, ScopeTypes: anyScope(),
			Description: "GET,HEAD /v3/projects/{project_id}/tags/{value}"},
		{Name: "identity:update_project_tags", Check: checkProjectManage, ScopeTypes: anyScope(),
			Description: "PUT /v3/projects/{project_id}/tags"},
		{Name: "identity:create_project_tag", Check: checkProjectManage, ScopeTypes: anyScope(),
			Description: "PUT /v3/projects/{project_id}/tags/{value}"},
		{Name: "identity:delete_project_tags", Check: checkProjectManage, ScopeTypes: anyScope(),
			Description: "DELETE /v3/projects/{project_id}/tags"},
		{Name: "identity:delete_project_tag", Check: checkProjectManage, ScopeTypes: anyScope(),
			Description: "DELETE /v3/projects/{project_id}/tags/{value}"},
	}
}

// userDefaults returns the rules for users and groups.
func userDefaults() []Default {
	return []Default{
		{Name: "identity:get_user", Check: checkUserRead, ScopeTypes: anyScope(),
			Description: "GET,HEAD /v3/users/{user_id}"},
		{Name: "identity:list_users", Check: checkDomainScopedList, ScopeTypes: anyScope(),
			Description: "GET,HEAD /v3/users"},
		{Name: "identity:list_projects_for_user", Check: checkAnyone,
			Description: "GET /v3/auth/projects"},
		{Name: "identity:list_domains_for_user", Check: checkAnyone,
			Description: "GET /v3/auth/domains"},
		{Name: "identity:create_user", Check: checkUserManage, ScopeTypes: anyScope(),
			Description: "POST /v3/users"},
		{Name: "identity:update_user", Check: checkUserManage, ScopeTypes: anyScope(),
			Description: "PATCH /v3/users/{user_id}"},
		{Name: "identity:delete_user", Check: checkUserManage, ScopeTypes: anyScope(),
			Description: "DELETE /v3/users/{user_id}"},
		{Name: "identity:get_group", Check: checkGroupRead, ScopeTypes: anyScope(),
			Description: "GET,HEAD /v3/groups/{group_id}"},
		{Name: "identity:list_groups", Check: checkGroupRead, ScopeTypes: anyScope(),
			Description: "GET,HEAD /v3/groups"},
		{Name: "identity:list_groups_for_user", Check: checkUserGroupsRead, ScopeTypes: anyScope(),
			Description: "GET,HEAD /v3/users/{user_id}/groups"},
		{Name: "identity:create_group", Check: checkGroupManage, ScopeTypes: anyScope(),
			Description: "POST /v3/groups"},
		{Name: "identity:update_group", Check: checkGroupManage, ScopeTypes: anyScope(),
			Description: "PATCH /v3/groups/{group_id}"},
		{Name: "identity:delete_group", Check: checkGroupManage, ScopeTypes: anyScope(),
			Description: "DELETE /v3/groups/{group_id}"},
		{Name: "identity:list_users_in_group", Check: checkGroupRead, ScopeTypes: anyScope(),
			Description: "GET,HEAD /v3/groups/{group_id}/users"},
		{Name: "identity:remove_user_from_group", Check: checkGroupMemberManage, ScopeTypes: anyScope(),
			Description: "DELETE /v3/groups/{group_id}/users/{user_id}"},
		{Name: "identity:check_user_in_group", Check: checkGroupMemberRead, ScopeTypes: anyScope(),
			Description: "HEAD,GET /v3/groups/{group_id}/users/{user_id}"},
		{Name: "identity:add_user_to_group", Check: checkGroupMemberManage, ScopeTypes: anyScope(),
			Description: "PUT /v3/groups/{group_id}/users/{user_id}"},
	}
}

// roleDefaults returns the rules for roles, domain-specific roles and implied roles.
func roleDefaults() []Default {
	return []Default{
		{Name: "identity:get_role", Check: checkRoleRead, ScopeTypes: anyScope(),
			Description: "GET,HEAD /v3/roles/{role_id}"},
		{Name: "identity:list_roles", Check: checkRoleList, ScopeTypes: anyScope(),
			Description: "GET,HEAD /v3/roles"},
		{Name: "identity:create_role", Check: checkAdmin, ScopeTypes: systemProject(),
			Description: "POST /v3/roles"},
		{Name: "identity:update_role", Check: checkAdmin, ScopeTypes: systemProject(),
			Description: "PATCH /v3/roles/{role_id}"},
		{Name: "identity:delete_role", Check: checkAdmin, ScopeTypes: systemProject(),
			Description: "DELETE /v3/roles/{role_id}"},
		{Name: "identity:get_domain_role", Check: checkAdminOrSystemReader, ScopeTypes: systemProject(),
			Description: "GET,HEAD /v3/roles/{role_id}"},
		{Name: "identity:list_domain_roles", Check: checkAdminOrSystemReader, ScopeTypes: systemProject(),
			Description: "GET,HEAD /v3/roles?domain_id={domain_id}"},
		{Name: "identity:create_domain_role", Check: checkAdmin, ScopeTypes: systemProject(),
			Description: "POST /v3/roles"},
		{Name: "identity:update_domain_role", Check: checkAdmin, ScopeTypes: systemProject(),
			Description: "PATCH /v3/roles/{role_id}"},
		{Name: "identity:delete_domain_role", Check: checkAdmin, ScopeTypes: systemProject(),
			Description: "DELETE /v3/roles/{role_id}"},
		{Name: "identity:get_implied_role", Check: checkAdminOrSystemReader, ScopeTypes: systemProject(),
			Description: "GET /v3/roles/{prior_role_id}/implies/{implied_role_id}"},
		{Name: "identity:list_implied_roles", Check: checkAdminOrSystemReader, ScopeTypes: systemProject(),
			Description: "GET,HEAD /v3/roles/{prior_role_id}/implies"},
		{Name: "identity:create_implied_role", Check: checkAdmin, ScopeTypes: systemProject(),
			Description: "PUT /v3/roles/{prior_role_id}/implies/{implied_role_id}"},
		{Name: "identity:delete_implied_role", Check: checkAdmin, ScopeTypes: systemProject(),
			Description: "DELETE /v3/roles/{prior_role_id}/implies/{implied_role_id}"},
		{Name: "identity:list_role_inference_rules", Check: checkAdminOrSystemReader, ScopeTypes: systemProject(),
			Description: "GET,HEAD /v3/role_inferences"},
		{Name: "identity:check_implied_role", Check: checkAdminOrSystemReader, ScopeTypes: systemProject(),
			Description: "HEAD /v3/roles/{prior_role_id}/implies/{implied_role_id}"},
	}
}

// grantDefaults returns the rules for role grants on projects, domains and
// the system, and for role assignment listings.
func grantDefaults() []Default {
	return []Default{
		{Name: "identity:check_grant", Check: checkGrantCheck, ScopeTypes: anyScope(),
			Description: "HEAD,GET /v3/projects/{project_id}/users/{user_id}/roles/{role_id}; HEAD,GET /v3/projects/{project_id}/groups/{group_id}/roles/{role_id}; HEAD,GET /v3/domains/{domain_id}/users/{user_id}/roles/{role_id}; HEAD,GET /v3/domains/{domain_id}/groups/{group_id}/roles/{role_id}; HEAD,GET /v3/OS-INHERIT/projects/{project_id}/users/{user_id}/roles/{role_id}/inherited_to_projects; HEAD,GET /v3/OS-INHERIT/projects/{project_id}/groups/{group_id}/roles/{role_id}/inherited_to_projects; HEAD,GET /v3/OS-INHERIT/domains/{domain_id}/users/{user_id}/roles/{role_id}/inherited_to_projects; HEAD,GET /v3/OS-INHERIT/domains/{domain_id}/groups/{group_id}/roles/{role_id}/inherited_to_projects"},
		{Name: "identity:list_grants", Check: checkGrantList, ScopeTypes: anyScope(),
			Description: "GET,HEAD /v3/projects/{project_id}/users/{user_id}/roles; GET,HEAD /v3/projects/{project_id}/groups/{group_id}/roles; GET,HEAD /v3/domains/{domain_id}/users/{user_id}/roles; GET,HEAD /v3/domains/{domain_id}/groups/{group_id}/roles; GET /v3/OS-INHERIT/domains/{domain_id}/groups/{group_id}/roles/inherited_to_projects; GET /v3/OS-INHERIT/domains/{domain_id}/users/{user_id}/roles/inherited_to_projects"},
		{Name: "identity:create_grant", Check: checkGrantManage, ScopeTypes: anyScope(),
			Description: "PUT /v3/projects/{project_id}/users/{user_id}/roles/{role_id}; PUT /v3/projects/{project_id}/groups/{group_id}/roles/{role_id}; PUT /v3/domains/{domain_id}/users/{user_id}/roles/{role_id}; PUT /v3/domains/{domain_id}/groups/{group_id}/roles/{role_id}; PUT /v3/OS-INHERIT/projects/{project_id}/users/{user_id}/roles/{role_id}/inherited_to_projects; PUT /v3/OS-INHERIT/projects/{project_id}/groups/{group_id}/roles/{role_id}/inherited_to_projects; PUT /v3/OS-INHERIT/domains/{domain_id}/users/{user_id}/roles/{role_id}/inherited_to_projects; PUT /v3/OS-INHERIT/domains/{domain_id}/groups/{group_id}/roles/{role_id}/inherited_to_projects"},
		{Name: "identity:revoke_grant", Check: checkGrantManage, ScopeTypes: anyScope(),
			Description: "DELETE /v3/projects/{project_id}/users/{user_id}/roles/{role_id}; DELETE /v3/projects/{project_id}/groups/{group_id}/roles/{role_id}; DELETE /v3/domains/{domain_id}/users/{user_id}/roles/{role_id}; DELETE /v3/domains/{domain_id}/groups/{group_id}/roles/{role_id}; DELETE /v3/OS-INHERIT/projects/{project_id}/users/{user_id}/roles/{role_id}/inherited_to_projects; DELETE /v3/OS-INHERIT/projects/{project_id}/groups/{group_id}/roles/{role_id}/inherited_to_projects; DELETE /v3/OS-INHERIT/domains/{domain_id}/users/{user_id}/roles/{role_id}/inherited_to_projects; DELETE /v3/OS-INHERIT/domains/{domain_id}/groups/{group_id}/roles/{role_id}/inherited_to_projects"},
		{Name: "identity:list_system_grants_for_user", Check: checkAdminOrSystemReader, ScopeTypes: systemProject(),
			Description: "HEAD,GET /v3/system/users/{user_id}/roles"},
		{Name: "identity:check_system_grant_for_user", Check: checkAdminOrSystemReader, ScopeTypes: systemProject(),
			Description: "HEAD,GET /v3/system/users/{user_id}/roles/{role_id}"},
		{Name: "identity:create_system_grant_for_user", Check: checkAdmin, ScopeTypes: systemProject(),
			Description: "PUT /v3/system/users/{user_id}/roles/{role_id}"},
		{Name: "identity:revoke_system_grant_for_user", Check: checkAdmin, ScopeTypes: systemProject(),
			Description: "DELETE /v3/system/users/{user_id}/roles/{role_id}"},
		{Name: "identity:list_system_grants_for_group", Check: checkAdminOrSystemReader, ScopeTypes: systemProject(),
			Description: "HEAD,GET /v3/system/groups/{group_id}/roles"},
		{Name: "identity:check_system_grant_for_group", Check: checkAdminOrSystemReader, ScopeTypes: systemProject(),
			Description: "HEAD,GET /v3/system/groups/{group_id}/roles/{role_id}"},
		{Name: "identity:create_system_grant_for_group", Check: checkAdmin, ScopeTypes: systemProject(),
			Description: "PUT /v3/system/groups/{group_id}/roles/{role_id}"},
		{Name: "identity:revoke_system_grant_for_group", Check: checkAdmin, ScopeTypes: systemProject(),
			Description: "DELETE /v3/system/groups/{group_id}/roles/{role_id}"},
		{Name: "identity:list_role_assignments", Check: checkDomainScopedList, ScopeTypes: anyScope(),
			Description: "GET,HEAD /v3/role_assignments"},
		{Name: "identity:list_role_assignments_for_tree", Check: checkDomainScopedList, ScopeTypes: anyScope(),
			Description: "GET,HEAD /v3/role_assignments?include_subtree"},
	}
}

// credentialDefaults returns the rules for credentials, EC2 credentials,
// application credentials and their access rules.
func credentialDefaults() []Default {
	return []Default{
		{Name: "identity:get_credential", Check: checkCredentialRead, ScopeTypes: anyScope(),
			Description: "GET /v3/credentials/{credential_id}"},
		{Name: "identity:list_credentials", Check: checkCredentialRead, ScopeTypes: anyScope(),
			Description: "GET /v3/credentials"},
		{Name: "identity:create_credential", Check: checkCredentialManage, ScopeTypes: anyScope(),
			Description: "POST /v3/credentials"},
		{Name: "identity:update_credential", Check: checkCredentialManage, ScopeTypes: anyScope(),
			Description: "PATCH /v3/credentials/{credential_id}"},
		{Name: "identity:delete_credential", Check: checkCredentialManage, ScopeTypes: anyScope(),
			Description: "DELETE /v3/credentials/{credential_id}"},
		{Name: "identity:ec2_get_credential", Check: checkCredentialRead, ScopeTypes: systemProject(),
			Description: "GET /v3/users/{user_id}/credentials/OS-EC2/{credential_id}"},
		{Name: "identity:ec2_list_credentials", Check: checkAdminOrSystemReaderOrOwner, ScopeTypes: systemProject(),
			Description: "GET /v3/users/{user_id}/credentials/OS-EC2"},
		{Name: "identity:ec2_create_credential", Check: checkEC2CredentialManage, ScopeTypes: systemProject(),
			Description: "POST /v3/users/{user_id}/credentials/OS-EC2"},
		{Name: "identity:ec2_delete_credential", Check: checkEC2CredentialManage, ScopeTypes: systemProject(),
			Description: "DELETE /v3/users/{user_id}/credentials/OS-EC2/{credential_id}"},
		{Name: "identity:get_application_credential", Check: checkAdminOrSystemReaderOrOwner, ScopeTypes: systemProject(),
			Description: "GET,HEAD /v3/users/{user_id}/application_credentials/{application_credential_id}"},
		{Name: "identity:list_application_credentials", Check: checkAdminOrSystemReaderOrOwner, ScopeTypes: systemProject(),
			Description: "GET,HEAD /v3/users/{user_id}/application_credentials"},
		{Name: "identity:create_application_credential", Check: checkOwner, ScopeTypes: projectOnly(),
			Description: "POST /v3/users/{user_id}/application_credentials"},
		{Name: "identity:delete_application_credential", Check: checkAdminOrOwner, ScopeTypes: systemProject(),
			Description: "DELETE /v3/users/{user_id}/application_credentials/{application_credential_id}"},
		{Name: "identity:get_access_rule", Check: checkSystemReaderOrUser, ScopeTypes: systemProject(),
			Description: "GET,HEAD /v3/users/{user_id}/access_rules/{access_rule_id}"},
		{Name: "identity:list_access_rules", Check: checkSystemReaderOrUser, ScopeTypes: systemProject(),
			Description: "GET,HEAD /v3/users/{user_id}/access_rules"},
		{Name: "identity:delete_access_rule", Check: checkSystemAdminOrUser, ScopeTypes: systemProject(),
			Description: "DELETE /v3/users/{user_id}/access_rules/{access_rule_id}"},
	}
}

// trustDefaults returns the rules for OS-TRUST trusts.
func trustDefaults() []Default {
	return []Default{
		{Name: "identity:create_trust", Check: checkTrustor, ScopeTypes: projectOnly(),
			Description: "POST /v3/OS-TRUST/trusts"},
		{Name: "identity:list_trusts", Check: checkAdminOrSystemReader, ScopeTypes: systemProject(),
			Description: "GET,HEAD /v3/OS-TRUST/trusts"},
		{Name: "identity:list_trusts_for_trustor", Check: checkTrustorRead, ScopeTypes: systemProject(),
			Description: "GET,HEAD /v3/OS-TRUST/trusts?trustor_user_id={trustor_user_id}"},
		{Name: "identity:list_trusts_for_trustee", Check: checkTrusteeRead, ScopeTypes: systemProject(),
			Description: "GET,HEAD /v3/OS-TRUST/trusts?trustee_user_id={trustee_user_id}"},
		{Name: "identity:list_roles_for_trust", Check: checkTrustRead, ScopeTypes: systemProject(),
			Description: "GET,HEAD /v3/OS-TRUST/trusts/{trust_id}/roles"},
		{Name: "identity:get_role_for_trust", Check: checkTrustRead, ScopeTypes: systemProject(),
			Description: "GET,HEAD /v3/OS-TRUST/trusts/{trust_id}/roles/{role_id}"},
		{Name: "identity:delete_trust", Check: checkTrustDelete, ScopeTypes: systemProject(),
			Description: "DELETE /v3/OS-TRUST/trusts/{trust_id}"},
		{Name: "identity:get_trust", Check: checkTrustRead, ScopeTypes: systemProject(),
			Description: "GET,HEAD /v3/OS-TRUST/trusts/{trust_id}"},
	}
}

// limitDefaults returns the rules for unified limits and registered limits.
func limitDefaults() []Default {
	return []Default{
		{Name: "identity:get_limit_model", Check: checkAnyone, ScopeTypes: anyScope(),
			Description: "GET,HEAD /v3/limits/model"},
		{Name: "identity:get_limit", Check: checkLimitRead, ScopeTypes: anyScope(),
			Description: "GET,HEAD /v3/limits/{limit_id}"},
		{Name: "identity:list_limits", Check: checkAnyone, ScopeTypes: anyScope(),
			Description: "GET,HEAD /v3/limits"},
		{Name: "identity:create_limits", Check: checkAdmin, ScopeTypes: systemProject(),
			Description: "POST /v3/limits"},
		{Name: "identity:update_limit", Check: checkAdmin, ScopeTypes: systemProject(),
			Description: "PATCH /v3/limits/{limit_id}"},
		{Name: "identity:delete_limit", Check: checkAdmin, ScopeTypes: systemProject(),
			Description: "DELETE /v3/limits/{limit_id}"},
		{Name: "identity:get_registered_limit", Check: checkAnyone, ScopeTypes: anyScope(),
			Description: "GET,HEAD /v3/registered_limits/{registered_limit_id}"},
		{Name: "identity:list_registered_limits", Check: checkAnyone, ScopeTypes: anyScope(),
			Description: "GET,HEAD /v3/registered_limits"},
		{Name: "identity:create_registered_limits", Check: checkAdmin, ScopeTypes: systemProject(),
			Description: "POST /v3/registered_limits"},
		{Name: "identity:update_registered_limit", Check: checkAdmin, ScopeTypes: systemProject(),
			Description: "PATCH /v3/registered_limits/{registered_limit_id}"},
		{Name: "identity:delete_registered_limit", Check: checkAdmin, ScopeTypes: systemProject(),
			Description: "DELETE /v3/registered_limits/{registered_limit_id}"},
	}
}
