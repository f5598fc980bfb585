// Package policy evaluates OpenStack policy rules written in the oslo.policy
// language and carries Keystone's default rules for the identity v3 API.
//
// A rule such as
//
//	(rule:admin_required) or (role:reader and system_scope:all) or user_id:%(target.user.id)s
//
// is parsed once into a tree and then evaluated against the caller's
// Credentials and the Target of the operation. The Enforcer holds the
// registered defaults, applies the overrides of an oslo-format policy file and
// refuses tokens of the wrong scope when scope enforcement is on.
package policy

import "errors"

// Token scopes a Default may list in ScopeTypes, as oslo.policy names them.
const (
	// ScopeSystem is a token scoped to the whole deployment (system_scope "all").
	ScopeSystem = "system"
	// ScopeDomain is a token scoped to one domain.
	ScopeDomain = "domain"
	// ScopeProject is a token scoped to one project, or an unscoped token.
	ScopeProject = "project"
)

var (
	// ErrForbidden reports that a rule denied the request; the wrapping error names the rule.
	ErrForbidden = errors.New("forbidden by policy")
	// ErrInvalidScope reports a token whose scope the rule does not accept; it also matches ErrForbidden.
	ErrInvalidScope = errors.New("token scope not allowed")
	// ErrUnknownRule reports an Enforce call for a rule name nobody registered.
	ErrUnknownRule = errors.New("unknown policy rule")
	// ErrInvalidRule reports a rule that does not parse or does not link (undefined reference, cycle).
	ErrInvalidRule = errors.New("invalid policy rule")
)

// Default is a rule registered in code: its name, its check string, the token
// scopes it accepts (empty: any) and what it guards.
type Default struct {
	// Name is what callers enforce and rule: checks refer to, e.g. "identity:get_user".
	Name string
	// Check is the rule in the oslo.policy language; empty allows everyone.
	Check string
	// ScopeTypes lists the token scopes (ScopeSystem, ScopeDomain, ScopeProject) the rule accepts.
	ScopeTypes []string
	// Description says what the rule guards.
	Description string
}

// Credentials describe the caller as oslo.context renders a request context
// for policy (Keystone's to_policy_values), including the token it presented.
//
// An empty string stands for Python's None: it equals the literal None in a
// check such as "not domain_id:None", but never equals a value substituted
// from the target, so an unscoped attribute cannot match a null target field.
type Credentials struct {
	// UserID is the authenticated user (user_id, token.user.id).
	UserID string
	// UserDomainID is the domain owning the user (user_domain_id, token.user.domain.id).
	UserDomainID string
	// ProjectID is the project of a project-scoped token (project_id, token.project.id).
	ProjectID string
	// ProjectDomainID is the domain owning that project (project_domain_id, token.project.domain.id).
	ProjectDomainID string
	// DomainID is the domain of a domain-scoped token (domain_id, token.domain.id).
	DomainID string
	// Roles are the effective role names on the token's scope (role:, roles, token.roles.name).
	Roles []string
	// System is "all" for a system-scoped token and empty otherwise (system_scope, token.system.all).
	System string
	// IsAdminProject reports a project-scoped token on the cloud's admin project (is_admin_project).
	IsAdminProject bool
}

// Target describes the object of an operation. Keystone's rules expect URL
// path parameters at the top level ("user_id"), the object under "target"
// ("target.user.domain_id") and the X-Subject-Token under "target.token".
// Nested maps (map[string]any, Target, map[string]string) are reached by
// dotted paths; a key that itself contains dots ("target.user.id", as in
// Keystone's flattened dicts) is found as well. Values compare as Python
// prints them: strings as they are, bools as True and False, nil as None,
// integral numbers without a fraction; maps and slices never match.
type Target map[string]any
