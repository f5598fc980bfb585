package rpc

import (
	"context"

	"github.com/nimbus-cloud/nimbus/internal/auth"
)

// Context is who a message acts for and which request it belongs to, as nova's
// RequestContext travels with every RPC. It never holds a token: receivers that
// call other services on the user's behalf use their own service credentials.
type Context struct {
	// RequestID is the API request that caused the message (req-<uuid>).
	RequestID string `json:"request_id,omitempty"`
	// GlobalRequestID ties together the requests of several services.
	GlobalRequestID string `json:"global_request_id,omitempty"`

	UserID          string   `json:"user_id,omitempty"`
	UserName        string   `json:"user_name,omitempty"`
	UserDomainID    string   `json:"user_domain_id,omitempty"`
	ProjectID       string   `json:"project_id,omitempty"`
	ProjectName     string   `json:"project_name,omitempty"`
	ProjectDomainID string   `json:"project_domain_id,omitempty"`
	DomainID        string   `json:"domain_id,omitempty"`
	System          string   `json:"system_scope,omitempty"`
	Roles           []string `json:"roles,omitempty"`
}

// FromCaller is the context of a request made by an authenticated caller; the
// caller's token stays behind.
func FromCaller(c *auth.Caller, requestID string) Context {
	if c == nil {
		return Context{RequestID: requestID}
	}
	roles := make([]string, 0, len(c.Roles))
	for _, r := range c.Roles {
		roles = append(roles, r.Name)
	}
	return Context{
		RequestID: requestID,
		UserID:    c.UserID, UserName: c.UserName, UserDomainID: c.UserDomainID,
		ProjectID: c.ProjectID, ProjectName: c.ProjectName, ProjectDomainID: c.ProjectDomainID,
		DomainID: c.DomainID, System: c.System, Roles: roles,
	}
}

// HasRole reports whether the context carries a role, by name.
func (c Context) HasRole(name string) bool {
	for _, r := range c.Roles {
		if r == name {
			return true
		}
	}
	return false
}

type ctxKey struct{}

// WithContext returns ctx carrying an RPC context; messages sent with it carry
// rc, and handlers find the sender's rc in theirs.
func WithContext(ctx context.Context, rc Context) context.Context {
	return context.WithValue(ctx, ctxKey{}, rc)
}

// FromContext is the RPC context ctx carries; the zero Context when none.
func FromContext(ctx context.Context) Context {
	rc, _ := ctx.Value(ctxKey{}).(Context)
	return rc
}
