package policy

// Check strings of the identity rules, reproduced verbatim from Keystone's
// defaults (the text is the contract; it is split across lines only for
// reading). Several rules share each one.

// General checks.
const (
	checkAnyone              = ""
	checkAdmin               = "rule:admin_required"
	checkAdminOrOwner        = "rule:admin_or_owner"
	checkOwner               = "user_id:%(user_id)s"
	checkServiceOrAdmin      = "rule:service_or_admin"
	checkAdminOrSystemReader = "rule:admin_required or (role:reader and system_scope:all)"
)

// Tokens.
const (
	checkTokenCheck          = "rule:admin_required or (role:reader and system_scope:all) or rule:token_subject"
	checkAdminOrTokenSubject = "rule:admin_required or rule:token_subject"

	checkTokenValidate = "rule:admin_required or (role:reader and system_scope:all) or " +
		"rule:service_role or rule:token_subject"
)

// Domains and projects.
const (
	checkDomainRead = "rule:admin_required or (role:reader and system_scope:all) or " +
		"token.domain.id:%(target.domain.id)s or token.project.domain.id:%(target.domain.id)s"

	checkDomainList = "rule:admin_required or (role:reader and system_scope:all) or " +
		"(role:reader and domain_id:%(target.domain.id)s)"

	// checkDomainScopedList guards list calls whose target is the caller's domain.
	checkDomainScopedList = "(rule:admin_required) or (role:reader and system_scope:all) or " +
		"(role:reader and domain_id:%(target.domain_id)s)"

	checkProjectRead = "(rule:admin_required) or (role:reader and system_scope:all) or " +
		"(role:reader and domain_id:%(target.project.domain_id)s and " +
		"not None:%(target.project.domain_id)s) or " +
		"project_id:%(target.project.id)s"

	checkProjectManage = "(rule:admin_required) or " +
		"(role:manager and domain_id:%(target.project.domain_id)s and " +
		"not None:%(target.project.domain_id)s)"

	checkUserProjectsRead = "(rule:admin_required) or (role:reader and system_scope:all) or " +
		"(role:reader and domain_id:%(target.user.domain_id)s) or user_id:%(target.user.id)s"
)

// Users and groups.
const (
	checkUserRead = "(rule:admin_required) or (role:reader and system_scope:all) or " +
		"(role:reader and token.domain.id:%(target.user.domain_id)s) or " +
		"user_id:%(target.user.id)s"

	checkUserManage = "(rule:admin_required) or " +
		"(role:manager and token.domain.id:%(target.user.domain_id)s)"

	checkGroupRead = "(rule:admin_required) or (role:reader and system_scope:all) or " +
		"(role:reader and domain_id:%(target.group.domain_id)s)"

	checkGroupManage = "(rule:admin_required) or " +
		"(role:manager and domain_id:%(target.group.domain_id)s)"

	checkUserGroupsRead = "(rule:admin_required) or (role:reader and system_scope:all) or " +
		"(role:reader and domain_id:%(target.user.domain_id)s) or user_id:%(user_id)s"

	checkGroupMemberRead = "(rule:admin_required) or (role:reader and system_scope:all) or " +
		"(role:reader and domain_id:%(target.group.domain_id)s and " +
		"domain_id:%(target.user.domain_id)s)"

	checkGroupMemberManage = "(rule:admin_required) or " +
		"(role:manager and domain_id:%(target.group.domain_id)s and " +
		"domain_id:%(target.user.domain_id)s)"
)

// Roles and grants.
const (
	checkRoleRead = "(rule:admin_required or (role:reader and system_scope:all)) or " +
		"(role:manager and rule:domain_managed_target_role)"

	checkRoleList = "(rule:admin_required or (role:reader and system_scope:all)) or " +
		"(role:manager and not domain_id:None)"

	checkGrantCheck = "(rule:admin_required) or " +
		"((role:reader and system_scope:all) or " +
		"((role:reader and domain_id:%(target.user.domain_id)s and domain_id:%(target.project.domain_id)s) or " +
		"(role:reader and domain_id:%(target.user.domain_id)s and domain_id:%(target.domain.id)s) or " +
		"(role:reader and domain_id:%(target.group.domain_id)s and domain_id:%(target.project.domain_id)s) or " +
		"(role:reader and domain_id:%(target.group.domain_id)s and domain_id:%(target.domain.id)s)) and " +
		"(domain_id:%(target.role.domain_id)s or None:%(target.role.domain_id)s))"

	checkGrantList = "(rule:admin_required) or " +
		"((role:reader and system_scope:all) or " +
		"(role:reader and domain_id:%(target.user.domain_id)s and domain_id:%(target.project.domain_id)s) or " +
		"(role:reader and domain_id:%(target.user.domain_id)s and domain_id:%(target.domain.id)s) or " +
		"(role:reader and domain_id:%(target.group.domain_id)s and domain_id:%(target.project.domain_id)s) or " +
		"(role:reader and domain_id:%(target.group.domain_id)s and domain_id:%(target.domain.id)s))"

	checkGrantManage = "(rule:admin_required) or " +
		"((role:admin and domain_id:%(target.user.domain_id)s and domain_id:%(target.project.domain_id)s) or " +
		"(role:admin and domain_id:%(target.user.domain_id)s and domain_id:%(target.domain.id)s) or " +
		"(role:admin and domain_id:%(target.group.domain_id)s and domain_id:%(target.project.domain_id)s) or " +
		"(role:admin and domain_id:%(target.group.domain_id)s and domain_id:%(target.domain.id)s)) and " +
		"(domain_id:%(target.role.domain_id)s or None:%(target.role.domain_id)s) or " +
		"((role:manager and domain_id:%(target.user.domain_id)s and domain_id:%(target.project.domain_id)s) or " +
		"(role:manager and domain_id:%(target.user.domain_id)s and domain_id:%(target.domain.id)s) or " +
		"(role:manager and domain_id:%(target.group.domain_id)s and domain_id:%(target.project.domain_id)s) or " +
		"(role:manager and domain_id:%(target.group.domain_id)s and domain_id:%(target.domain.id)s)) and " +
		"rule:domain_managed_target_role"
)

// Credentials and access rules.
const (
	checkSystemReaderOrUser         = "(role:reader and system_scope:all) or user_id:%(target.user.id)s"
	checkSystemAdminOrUser          = "(role:admin and system_scope:all) or user_id:%(target.user.id)s"
	checkAdminOrSystemReaderOrOwner = "(rule:admin_required) or (role:reader and system_scope:all) or rule:owner"
	checkCredentialManage           = "(rule:admin_required) or user_id:%(target.credential.user_id)s"

	checkCredentialRead = "(rule:admin_required) or (role:reader and system_scope:all) or " +
		"user_id:%(target.credential.user_id)s"

	checkEC2CredentialManage = "(rule:admin_required) or " +
		"(role:member and user_id:%(target.credential.user_id)s)"
)

// Trusts.
const (
	checkTrustor     = "user_id:%(target.trust.trustor_user_id)s"
	checkTrustDelete = "rule:admin_required or user_id:%(target.trust.trustor_user_id)s"

	// Upstream's precedence: (reader and system) or trustor.
	checkTrustorRead = "(rule:admin_required) or (role:reader and system_scope:all or " +
		"user_id:%(target.trust.trustor_user_id)s)"

	checkTrusteeRead = "(rule:admin_required) or (role:reader and system_scope:all or " +
		"user_id:%(target.trust.trustee_user_id)s)"

	checkTrustRead = "(rule:admin_required) or (role:reader and system_scope:all or " +
		"user_id:%(target.trust.trustor_user_id)s or user_id:%(target.trust.trustee_user_id)s)"
)

// Limits.
const (
	checkLimitRead = "rule:admin_required or (role:reader and system_scope:all) or " +
		"(domain_id:%(target.limit.domain.id)s or domain_id:%(target.limit.project.domain_id)s) or " +
		"(project_id:%(target.limit.project_id)s and not None:%(target.limit.project_id)s)"
)
