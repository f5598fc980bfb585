package identity

import (
	"time"

	"github.com/nimbus-cloud/nimbus/internal/auth"
)

// Token is a validated token with everything its payload names resolved: what
// POST and GET /v3/auth/tokens render and what services authorize against.
type Token struct {
	// ID is the token string. It is never logged.
	ID      string
	Methods []string

	User       User
	UserDomain Domain

	// Exactly one of Project, Domain and System is set for a scoped token.
	Project       *Project
	ProjectDomain *Domain
	Domain        *Domain
	System        bool

	Roles     []Role
	AuditIDs  []string
	IssuedAt  time.Time
	ExpiresAt time.Time

	AppCred *ApplicationCredential
	// AccessRules are the application credential's access rules, if any.
	AccessRules    []AccessRule
	IsAdminProject bool

	// Trust is set for a token issued through a trust (OS-TRUST); User is then
	// the trustor when the trust impersonates, the trustee otherwise.
	Trust *Trust
}

// Scoped reports whether the token carries a scope.
func (t *Token) Scoped() bool { return t.Project != nil || t.Domain != nil || t.System }

// RoleIDs lists the ids of the token's roles.
func (t *Token) RoleIDs() []string {
	out := make([]string, len(t.Roles))
	for i, r := range t.Roles {
		out[i] = r.ID
	}
	return out
}

// Caller converts the token into the request caller services authorize against.
func (t *Token) Caller() *auth.Caller {
	c := &auth.Caller{
		Token:          t.ID,
		UserID:         t.User.ID,
		UserName:       t.User.Name,
		UserDomainID:   t.UserDomain.ID,
		UserDomainName: t.UserDomain.Name,
		Methods:        t.Methods,
		AuditIDs:       t.AuditIDs,
		ExpiresAt:      t.ExpiresAt,
		IssuedAt:       t.IssuedAt,
		IsAdminProject: t.IsAdminProject,
	}
	if t.Project != nil {
		c.ProjectID, c.ProjectName = t.Project.ID, t.Project.Name
		if t.ProjectDomain != nil {
			c.ProjectDomainID, c.ProjectDomainName = t.ProjectDomain.ID, t.ProjectDomain.Name
		}
	}
	if t.Domain != nil {
		c.DomainID, c.DomainName = t.Domain.ID, t.Domain.Name
	}
	if t.System {
		c.System = "all"
	}
	if t.AppCred != nil {
		c.AppCredID = t.AppCred.ID
	}
	for _, r := range t.AccessRules {
		c.AccessRules = append(c.AccessRules, auth.AccessRule{Service: r.Service, Path: r.Path, Method: r.Method})
	}
	c.Roles = make([]auth.Role, len(t.Roles))
	for i, r := range t.Roles {
		c.Roles[i] = auth.Role{ID: r.ID, Name: r.Name}
	}
	return c
}

// revocationSubject is what revocation events are matched against.
func (t *Token) revocationSubject() *revocationSubject {
	rs := &revocationSubject{UserID: t.User.ID, AuditIDs: t.AuditIDs, IssuedAt: t.IssuedAt,
		RoleIDs: t.RoleIDs(), DomainIDs: []string{t.UserDomain.ID}}
	if t.Project != nil {
		rs.ProjectID = t.Project.ID
		rs.DomainIDs = append(rs.DomainIDs, t.Project.DomainID)
	}
	if t.Domain != nil {
		rs.DomainIDs = append(rs.DomainIDs, t.Domain.ID)
	}
	if t.AppCred != nil {
		rs.AppCredID = t.AppCred.ID
	}
	if t.Trust != nil {
		rs.TrustID = t.Trust.ID
		rs.TrustUserIDs = []string{t.Trust.TrustorUserID, t.Trust.TrusteeUserID}
	}
	return rs
}
