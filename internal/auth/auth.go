// Package auth carries the authenticated caller of a request and decides what it
// may do. Its HTTP middleware, which validates X-Auth-Token, lives in authhttp, so
// service packages can use the caller without importing net/http.
package auth

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"
)

// Sentinel errors of token validation and authorization.
var (
	// ErrUnauthorized: no token, or a token that is malformed, expired or revoked.
	ErrUnauthorized = errors.New("the request you have made requires authentication")
	// ErrForbidden: the caller's roles or scope do not allow the action.
	ErrForbidden = errors.New("forbidden")
)

// Role is a role the caller holds in the token's scope.
type Role struct {
	ID   string
	Name string
}

// Caller is who made a request, as its validated token says. Validators share one
// Caller among the requests of a token, so it is read-only.
type Caller struct {
	// Token is the raw token, kept to call other services on the caller's behalf.
	// It is never logged or rendered.
	Token string

	UserID, UserName             string
	UserDomainID, UserDomainName string

	// Project scope.
	ProjectID, ProjectName             string
	ProjectDomainID, ProjectDomainName string
	// Domain scope.
	DomainID, DomainName string
	// System is "all" for a system-scoped token.
	System string

	Roles     []Role
	Methods   []string
	AuditIDs  []string
	AppCredID string
	ExpiresAt time.Time
	IssuedAt  time.Time
	// IsAdminProject is keystone's is_admin_project: the token is scoped to the
	// cloud's admin project.
	IsAdminProject bool
	// AccessRules, when set, are the only operations the token may be used for
	// (application credentials with access rules).
	AccessRules []AccessRule
}

// AccessRule allows one API operation: a service type, a request path where "*"
// matches one segment and "**" any number of them, and a method.
type AccessRule struct {
	Service, Path, Method string
}

// Permits reports whether the caller's access rules, if any, allow method on
// path of the service of type service.
func (c *Caller) Permits(service, method, path string) bool {
	if len(c.AccessRules) == 0 {
		return true
	}
	for _, r := range c.AccessRules {
		if r.Service == service && strings.EqualFold(r.Method, method) && pathMatches(r.Path, path) {
			return true
		}
	}
	return false
}

// pathMatches matches a request path against an access rule's path template.
func pathMatches(pattern, path string) bool {
	ps := strings.Split(strings.Trim(pattern, "/"), "/")
	xs := strings.Split(strings.Trim(path, "/"), "/")
	var match func(i, j int) bool
	match = func(i, j int) bool {
		if i == len(ps) {
			return j == len(xs)
		}
		if ps[i] == "**" {
			for k := j; k <= len(xs); k++ {
				if match(i+1, k) {
					return true
				}
			}
			return false
		}
		if j == len(xs) || (ps[i] != "*" && ps[i] != xs[j]) {
			return false
		}
		return match(i+1, j+1)
	}
	return match(0, 0)
}

// HasRole reports whether the caller holds the named role (case-insensitive).
func (c *Caller) HasRole(name string) bool {
	return slices.ContainsFunc(c.Roles, func(r Role) bool { return strings.EqualFold(r.Name, name) })
}

// RoleNames lists the names of the caller's roles.
func (c *Caller) RoleNames() []string {
	out := make([]string, len(c.Roles))
	for i, r := range c.Roles {
		out[i] = r.Name
	}
	return out
}

// Scope names the token's scope: "project", "domain", "system" or "" (unscoped).
func (c *Caller) Scope() string {
	switch {
	case c.ProjectID != "":
		return "project"
	case c.DomainID != "":
		return "domain"
	case c.System != "":
		return "system"
	}
	return ""
}

type callerKey struct{}

// WithCaller returns ctx carrying c.
func WithCaller(ctx context.Context, c *Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// FromContext returns the caller ctx carries, if any.
func FromContext(ctx context.Context) (*Caller, bool) {
	c, ok := ctx.Value(callerKey{}).(*Caller)
	return c, ok && c != nil
}

// Validator turns a token into its caller, or fails with ErrUnauthorized (wrapped).
type Validator interface {
	ValidateToken(ctx context.Context, token string) (*Caller, error)
}
