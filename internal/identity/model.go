// Package identity is Nimbus's Keystone: domains, projects, users, groups, roles
// and their assignments, the service catalog, application credentials, and Fernet
// tokens with revocation. It holds the rules; identityhttp speaks the v3 API and
// identitysql stores the rows.
package identity

import (
	"errors"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/auth"
)

// Sentinel errors; only the HTTP layer maps them to status codes.
var (
	// ErrNotFound: the named entity does not exist (404).
	ErrNotFound = errors.New("not found")
	// ErrConflict: a unique name or id is taken, or the change clashes (409).
	ErrConflict = errors.New("conflict")
	// ErrValidation: the request is malformed or breaks a rule (400).
	ErrValidation = errors.New("invalid request")
	// ErrUnauthorized: the credentials or token are not valid (401); the same
	// sentinel as auth's, so the middleware recognizes it.
	ErrUnauthorized = auth.ErrUnauthorized
	// ErrForbidden: the caller may not do this (403).
	ErrForbidden = auth.ErrForbidden
)

// Domain is a container of projects, users and groups (keystone's is_domain project).
type Domain struct {
	ID          string
	Name        string
	Description string
	Enabled     bool
	Tags        []string
	Options     map[string]any
}

// Project owns resources and is the usual scope of a token.
type Project struct {
	ID          string
	Name        string
	DomainID    string
	ParentID    string // "" for a top-level project: the API shows its domain id
	Description string
	Enabled     bool
	Tags        []string
	Options     map[string]any
}

// User is a person or service account with an optional local password.
type User struct {
	ID               string
	Name             string
	DomainID         string
	Enabled          bool
	DefaultProjectID string
	Description      string
	// Extra holds arbitrary attributes clients set (email, ...), shown as top-level keys.
	Extra   map[string]any
	Options map[string]any
	// PasswordHash is the bcrypt hash of the local password; "" when the user has none.
	PasswordHash      string
	PasswordCreatedAt time.Time
	PasswordExpiresAt time.Time // zero: never
}

// Group is a set of users that can hold role assignments.
type Group struct {
	ID          string
	Name        string
	DomainID    string
	Description string
}

// Role is a named set of permissions; DomainID is set for domain-specific roles.
type Role struct {
	ID          string
	Name        string
	DomainID    string
	Description string
	Options     map[string]any
}

// ImpliedRole says that holding Prior also grants Implied.
type ImpliedRole struct {
	PriorID   string
	ImpliedID string
}

// AssignmentType says what kind of actor holds a role on what kind of target.
type AssignmentType string

// Assignment types as keystone stores them.
const (
	UserProject  AssignmentType = "UserProject"
	GroupProject AssignmentType = "GroupProject"
	UserDomain   AssignmentType = "UserDomain"
	GroupDomain  AssignmentType = "GroupDomain"
	UserSystem   AssignmentType = "UserSystem"
	GroupSystem  AssignmentType = "GroupSystem"
)

// SystemTarget is the target id of system assignments.
const SystemTarget = "system"

// Assignment grants RoleID to ActorID (user or group) on TargetID (project, domain
// or SystemTarget). Inherited assignments apply to the target's subtree (projects
// below a project or domain) rather than the target itself.
type Assignment struct {
	Type      AssignmentType
	ActorID   string
	TargetID  string
	RoleID    string
	Inherited bool
}

// Region is a catalog region; regions may nest.
type Region struct {
	ID             string
	Description    string
	ParentRegionID string
}

// CatalogService is a catalog entry such as "compute".
type CatalogService struct {
	ID          string
	Type        string
	Name        string
	Description string
	Enabled     bool
}

// Endpoint is one URL of a service at one interface in one region.
type Endpoint struct {
	ID        string
	ServiceID string
	Interface string // public, internal, admin
	URL       string
	RegionID  string
	Enabled   bool
}

// ApplicationCredential lets software authenticate as its user on one project
// with a subset of the user's roles.
type ApplicationCredential struct {
	ID           string
	Name         string
	Description  string
	UserID       string
	ProjectID    string
	SecretHash   string
	ExpiresAt    time.Time // zero: never
	Unrestricted bool
	RoleIDs      []string
}

// RevocationEvent invalidates every token whose attributes match all the fields
// the event sets and that was issued at or before IssuedBefore.
type RevocationEvent struct {
	Seq          int64 // assigned by the store; increasing
	UserID       string
	ProjectID    string
	DomainID     string
	RoleID       string
	AuditID      string
	AuditChainID string
	AppCredID    string
	TrustID      string
	IssuedBefore time.Time
	RevokedAt    time.Time
}
