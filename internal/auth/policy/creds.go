package policy

// attrID names a credential attribute a generic check may test.
type attrID uint8

const (
	attrUserID attrID = iota
	attrUserDomainID
	attrProjectID
	attrProjectDomainID
	attrDomainID
	attrSystemScope
	attrSystem
	attrIsAdminProject
	attrIsAdmin
	attrRoles
	attrTokenUserID
	attrTokenUserDomainID
	attrTokenProjectID
	attrTokenProjectDomainID
	attrTokenDomainID
	attrTokenSystemAll
	attrTokenIsAdminProject
	attrTokenRoleNames
)

// attrByName maps the left side of a generic check to the attribute it reads:
// the keys of oslo.context's policy values, plus the rendered token Keystone
// adds under "token".
var attrByName = map[string]attrID{
	"user_id":                 attrUserID,
	"user_domain_id":          attrUserDomainID,
	"project_id":              attrProjectID,
	"project_domain_id":       attrProjectDomainID,
	"domain_id":               attrDomainID,
	"system_scope":            attrSystemScope,
	"system":                  attrSystem,
	"is_admin_project":        attrIsAdminProject,
	"is_admin":                attrIsAdmin,
	"roles":                   attrRoles,
	"token.user.id":           attrTokenUserID,
	"token.user.domain.id":    attrTokenUserDomainID,
	"token.project.id":        attrTokenProjectID,
	"token.project.domain.id": attrTokenProjectDomainID,
	"token.domain.id":         attrTokenDomainID,
	"token.system.all":        attrTokenSystemAll,
	"token.is_admin_project":  attrTokenIsAdminProject,
	"token.roles.name":        attrTokenRoleNames,
}

// presence says whether a credential attribute exists and holds a value.
type presence uint8

const (
	present presence = iota // holds a value
	null                    // exists but is None
	absent                  // does not exist: the check fails, as on a KeyError
)

// isList reports attributes holding several values, any of which may match.
func (a attrID) isList() bool {
	return a == attrRoles || a == attrTokenRoleNames
}

// value returns a scalar attribute as Python's str() prints it.
func (c *Credentials) value(a attrID) (string, presence) {
	switch a {
	case attrUserID:
		return nullable(c.UserID)
	case attrUserDomainID:
		return nullable(c.UserDomainID)
	case attrProjectID:
		return nullable(c.ProjectID)
	case attrProjectDomainID:
		return nullable(c.ProjectDomainID)
	case attrDomainID:
		return nullable(c.DomainID)
	case attrSystemScope:
		return nullable(c.System)
	case attrIsAdminProject:
		return pyBool(c.IsAdminProject), present
	case attrSystem:
		return optional(c.System)
	case attrTokenUserID:
		return optional(c.UserID)
	case attrTokenUserDomainID:
		return optional(c.UserDomainID)
	case attrTokenProjectID:
		return optional(c.ProjectID)
	case attrTokenProjectDomainID:
		return optional(c.ProjectDomainID)
	case attrTokenDomainID:
		return optional(c.DomainID)
	case attrTokenSystemAll:
		if c.System == "all" {
			return "True", present
		}
	case attrTokenIsAdminProject:
		// Keystone renders is_admin_project only into project-scoped tokens.
		if c.ProjectID != "" {
			return pyBool(c.IsAdminProject), present
		}
	}
	// attrIsAdmin: Keystone's policy values never carry is_admin, so the
	// legacy "is_admin:1" in admin_required never matches.
	return "", absent
}

// nullable is an oslo.context value that is None when unset.
func nullable(s string) (string, presence) {
	if s == "" {
		return "", null
	}
	return s, present
}

// optional is a key of the rendered token that is missing when unset.
func optional(s string) (string, presence) {
	if s == "" {
		return "", absent
	}
	return s, present
}

func pyBool(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

// scope names the scope of the token the credentials come from, as
// oslo.policy decides it: system, else domain, else project.
func (c *Credentials) scope() string {
	switch {
	case c.System != "":
		return ScopeSystem
	case c.DomainID != "":
		return ScopeDomain
	}
	return ScopeProject
}
