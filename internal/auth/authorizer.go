package auth

import (
	"context"
	"errors"
	"fmt"

	"github.com/nimbus-cloud/nimbus/internal/auth/policy"
)

// Authorizer checks the caller in a context against the rules of a policy enforcer.
type Authorizer struct {
	enforcer *policy.Enforcer
}

// NewAuthorizer returns an Authorizer over e.
func NewAuthorizer(e *policy.Enforcer) *Authorizer { return &Authorizer{enforcer: e} }

// Credentials converts the caller into the attributes policy rules test.
func (c *Caller) Credentials() policy.Credentials {
	return policy.Credentials{
		UserID:          c.UserID,
		UserDomainID:    c.UserDomainID,
		ProjectID:       c.ProjectID,
		ProjectDomainID: c.ProjectDomainID,
		DomainID:        c.DomainID,
		Roles:           c.RoleNames(),
		System:          c.System,
		IsAdminProject:  c.IsAdminProject,
	}
}

// Authorize returns nil when the caller in ctx may apply rule to target,
// ErrUnauthorized when there is no caller, and ErrForbidden (wrapped, naming the
// rule) otherwise. An unknown rule name is a programming error and says so.
func (a *Authorizer) Authorize(ctx context.Context, rule string, target map[string]any) error {
	c, ok := FromContext(ctx)
	if !ok {
		return ErrUnauthorized
	}
	err := a.enforcer.Enforce(rule, policy.Target(target), c.Credentials())
	switch {
	case err == nil:
		return nil
	case errors.Is(err, policy.ErrForbidden), errors.Is(err, policy.ErrInvalidScope):
		return fmt.Errorf("%w: %s", ErrForbidden, rule)
	}
	return fmt.Errorf("authorize %s: %w", rule, err)
}
