package identity

import (
	"context"
	"time"
)

// Store keeps identity's rows. Each method is one transaction. Lookups of missing
// rows return ErrNotFound (wrapped); unique clashes return ErrConflict (wrapped).
// Deletes cascade as keystone does: a user's or group's memberships and
// assignments, a project's or domain's assignments, a role's assignments and
// implications go with it.
type Store interface {
	CredentialStore
	TrustStore
	ExtrasStore
	ComplianceStore

	CreateDomain(ctx context.Context, d Domain) error
	GetDomain(ctx context.Context, id string) (Domain, error)
	GetDomainByName(ctx context.Context, name string) (Domain, error)
	ListDomains(ctx context.Context, f DomainFilter) ([]Domain, error)
	UpdateDomain(ctx context.Context, d Domain) error
	// DeleteDomain removes the domain and everything in it: projects, users,
	// groups, domain-specific roles, and their assignments.
	DeleteDomain(ctx context.Context, id string) error

	CreateProject(ctx context.Context, p Project) error
	GetProject(ctx context.Context, id string) (Project, error)
	GetProjectByName(ctx context.Context, domainID, name string) (Project, error)
	ListProjects(ctx context.Context, f ProjectFilter) ([]Project, error)
	UpdateProject(ctx context.Context, p Project) error
	// DeleteProject fails with ErrConflict while the project has children.
	DeleteProject(ctx context.Context, id string) error

	CreateUser(ctx context.Context, u User) error
	GetUser(ctx context.Context, id string) (User, error)
	GetUserByName(ctx context.Context, domainID, name string) (User, error)
	ListUsers(ctx context.Context, f UserFilter) ([]User, error)
	// UpdateUser writes every field of u, the password fields included.
	UpdateUser(ctx context.Context, u User) error
	DeleteUser(ctx context.Context, id string) error

	CreateGroup(ctx context.Context, g Group) error
	GetGroup(ctx context.Context, id string) (Group, error)
	ListGroups(ctx context.Context, f GroupFilter) ([]Group, error)
	UpdateGroup(ctx context.Context, g Group) error
	DeleteGroup(ctx context.Context, id string) error
	// AddUserToGroup is idempotent.
	AddUserToGroup(ctx context.Context, userID, groupID string) error
	// RemoveUserFromGroup returns ErrNotFound when the user is not a member.
	RemoveUserFromGroup(ctx context.Context, userID, groupID string) error
	IsUserInGroup(ctx context.Context, userID, groupID string) (bool, error)

	CreateRole(ctx context.Context, r Role) error
	GetRole(ctx context.Context, id string) (Role, error)
	ListRoles(ctx context.Context, f RoleFilter) ([]Role, error)
	UpdateRole(ctx context.Context, r Role) error
	DeleteRole(ctx context.Context, id string) error
	// CreateImpliedRole is idempotent.
	CreateImpliedRole(ctx context.Context, ir ImpliedRole) error
	DeleteImpliedRole(ctx context.Context, ir ImpliedRole) error
	// ListImpliedRoles returns the implications whose prior role is priorID, or all
	// when priorID is "".
	ListImpliedRoles(ctx context.Context, priorID string) ([]ImpliedRole, error)

	// CreateAssignment is idempotent.
	CreateAssignment(ctx context.Context, a Assignment) error
	// DeleteAssignment returns ErrNotFound when there is no such assignment.
	DeleteAssignment(ctx context.Context, a Assignment) error
	ListAssignments(ctx context.Context, f AssignmentFilter) ([]Assignment, error)

	CreateRegion(ctx context.Context, r Region) error
	GetRegion(ctx context.Context, id string) (Region, error)
	ListRegions(ctx context.Context, f RegionFilter) ([]Region, error)
	UpdateRegion(ctx context.Context, r Region) error
	// DeleteRegion fails with ErrConflict while child regions or endpoints use it.
	DeleteRegion(ctx context.Context, id string) error

	CreateService(ctx context.Context, s CatalogService) error
	GetService(ctx context.Context, id string) (CatalogService, error)
	ListServices(ctx context.Context, f ServiceFilter) ([]CatalogService, error)
	UpdateService(ctx context.Context, s CatalogService) error
	// DeleteService removes the service and its endpoints.
	DeleteService(ctx context.Context, id string) error

	CreateEndpoint(ctx context.Context, e Endpoint) error
	GetEndpoint(ctx context.Context, id string) (Endpoint, error)
	ListEndpoints(ctx context.Context, f EndpointFilter) ([]Endpoint, error)
	UpdateEndpoint(ctx context.Context, e Endpoint) error
	DeleteEndpoint(ctx context.Context, id string) error

	CreateApplicationCredential(ctx context.Context, ac ApplicationCredential) error
	GetApplicationCredential(ctx context.Context, id string) (ApplicationCredential, error)
	// ListApplicationCredentials lists a user's credentials, optionally by name.
	ListApplicationCredentials(ctx context.Context, userID, name string) ([]ApplicationCredential, error)
	DeleteApplicationCredential(ctx context.Context, id string) error

	// AddRevocationEvent stores ev and returns it with its Seq.
	AddRevocationEvent(ctx context.Context, ev RevocationEvent) (RevocationEvent, error)
	// ListRevocationEvents returns the events with Seq > afterSeq in Seq order.
	ListRevocationEvents(ctx context.Context, afterSeq int64) ([]RevocationEvent, error)
	// PruneRevocationEvents deletes events revoked before t.
	PruneRevocationEvents(ctx context.Context, before time.Time) (int64, error)
}

// DomainFilter narrows ListDomains; zero fields match everything.
type DomainFilter struct {
	Name    string
	Enabled *bool
}

// ProjectFilter narrows ListProjects; zero fields match everything.
type ProjectFilter struct {
	DomainID string
	// ParentID matches projects directly below a project. For top-level projects of
	// a domain use DomainID with TopLevel.
	ParentID string
	TopLevel bool
	Name     string
	Enabled  *bool
	IDs      []string
	// Tags: every tag present; TagsAny: at least one; NotTags: not all of them;
	// NotTagsAny: none of them (keystone's tags, tags-any, not-tags, not-tags-any).
	Tags, TagsAny, NotTags, NotTagsAny []string
}

// UserFilter narrows ListUsers; zero fields match everything.
type UserFilter struct {
	DomainID string
	Name     string
	Enabled  *bool
	GroupID  string // members of this group
	IDs      []string
	// PasswordExpiresAt filters as keystone's password_expires_at=op:timestamp.
	PasswordExpiresOp string // lt, lte, gt, gte, eq, neq; "" for none
	PasswordExpiresAt time.Time
}

// GroupFilter narrows ListGroups; zero fields match everything.
type GroupFilter struct {
	DomainID string
	Name     string
	UserID   string // groups this user belongs to
	IDs      []string
}

// RoleFilter narrows ListRoles.
type RoleFilter struct {
	Name string
	// DomainID selects domain-specific roles of that domain; "" selects global roles
	// unless AnyDomain is set.
	DomainID  string
	AnyDomain bool
	IDs       []string
}

// AssignmentFilter narrows ListAssignments; zero fields match everything.
type AssignmentFilter struct {
	Types     []AssignmentType
	ActorIDs  []string
	TargetIDs []string
	RoleIDs   []string
	Inherited *bool
}

// RegionFilter narrows ListRegions.
type RegionFilter struct {
	ParentRegionID string
}

// ServiceFilter narrows ListServices.
type ServiceFilter struct {
	Type string
	Name string
}

// EndpointFilter narrows ListEndpoints.
type EndpointFilter struct {
	ServiceID string
	Interface string
	RegionID  string
}
