package identity

import "context"

// ExtrasStore keeps the rows of domain configuration, endpoint groups, policies and OAuth1 consumers.
type ExtrasStore interface {
	// ListDomainConfig returns a domain's stored options, sensitive ones included,
	// ordered by group and option; nil when the domain has none.
	ListDomainConfig(ctx context.Context, domainID string) ([]DomainConfigOption, error)
	// ReplaceDomainConfig replaces the whole configuration of a domain with opts
	// and reports whether the domain had one before.
	ReplaceDomainConfig(ctx context.Context, domainID string, opts []DomainConfigOption) (replaced bool, err error)
	// UpdateDomainConfig creates or overwrites each of opts, leaving the
	// domain's other options as they are.
	UpdateDomainConfig(ctx context.Context, domainID string, opts []DomainConfigOption) error
	// DeleteDomainConfig deletes a domain's options: every one when group is "",
	// a group's when option is "", else the one option. Deleting nothing is no error.
	DeleteDomainConfig(ctx context.Context, domainID, group, option string) error

	CreateEndpointGroup(ctx context.Context, g EndpointGroup) error
	GetEndpointGroup(ctx context.Context, id string) (EndpointGroup, error)
	// ListEndpointGroups returns the endpoint groups named name, or all when name is "".
	ListEndpointGroups(ctx context.Context, name string) ([]EndpointGroup, error)
	UpdateEndpointGroup(ctx context.Context, g EndpointGroup) error
	// DeleteEndpointGroup removes the group and its project associations.
	DeleteEndpointGroup(ctx context.Context, id string) error
	// AddEndpointGroupToProject fails with ErrConflict when the association exists
	// and ErrNotFound when the group does not.
	AddEndpointGroupToProject(ctx context.Context, groupID, projectID string) error
	// RemoveEndpointGroupFromProject returns ErrNotFound when there is no such association.
	RemoveEndpointGroupFromProject(ctx context.Context, groupID, projectID string) error
	// ListEndpointGroupProjects returns the associations of endpoint groups with
	// projects, narrowed by f's EndpointGroupID and ProjectID.
	ListEndpointGroupProjects(ctx context.Context, f ProjectAssociationFilter) ([]EndpointGroupProject, error)
	// AddEndpointToProject fails with ErrConflict when the association exists.
	AddEndpointToProject(ctx context.Context, endpointID, projectID string) error
	// RemoveEndpointFromProject returns ErrNotFound when there is no such association.
	RemoveEndpointFromProject(ctx context.Context, endpointID, projectID string) error
	// ListProjectEndpoints returns the direct associations of endpoints with
	// projects, narrowed by f's EndpointID and ProjectID.
	ListProjectEndpoints(ctx context.Context, f ProjectAssociationFilter) ([]ProjectEndpoint, error)

	CreatePolicy(ctx context.Context, p Policy) error
	GetPolicy(ctx context.Context, id string) (Policy, error)
	// ListPolicies returns the policies of type typ, or all when typ is "".
	ListPolicies(ctx context.Context, typ string) ([]Policy, error)
	UpdatePolicy(ctx context.Context, p Policy) error
	DeletePolicy(ctx context.Context, id string) error

	CreateConsumer(ctx context.Context, c Consumer) error
	// GetConsumer returns the consumer with its secret.
	GetConsumer(ctx context.Context, id string) (Consumer, error)
	ListConsumers(ctx context.Context) ([]Consumer, error)
	// UpdateConsumer writes a consumer's description and extra attributes; the
	// secret never changes.
	UpdateConsumer(ctx context.Context, c Consumer) error
	DeleteConsumer(ctx context.Context, id string) error
}

// DomainConfigOption is one option of a domain's configuration (keystone's
// whitelisted_config and sensitive_config rows). Value is any JSON value.
type DomainConfigOption struct {
	Group, Option string
	Value         any
	// Sensitive options (the LDAP password) are stored but never shown.
	Sensitive bool
}

// EndpointGroup is an OS-EP-FILTER endpoint group: a saved filter over the
// catalog's endpoints, which projects can be associated with.
type EndpointGroup struct {
	ID          string
	Name        string
	Description string
	Filters     EndpointGroupFilters
}

// EndpointGroupFilters select endpoints by their attributes; a nil field
// matches every endpoint.
type EndpointGroupFilters struct {
	ServiceID *string
	Interface *string
	// RegionID pointing to "" matches the endpoints without a region.
	RegionID *string
}

// IsZero reports whether no filter is set.
func (f EndpointGroupFilters) IsZero() bool {
	return f.ServiceID == nil && f.Interface == nil && f.RegionID == nil
}

// Matches reports whether an endpoint passes every filter that is set.
func (f EndpointGroupFilters) Matches(e Endpoint) bool {
	for _, c := range []struct {
		want *string
		have string
	}{{f.ServiceID, e.ServiceID}, {f.Interface, e.Interface}, {f.RegionID, e.RegionID}} {
		if c.want != nil && *c.want != c.have {
			return false
		}
	}
	return true
}

// EndpointGroupProject associates an endpoint group with a project.
type EndpointGroupProject struct {
	EndpointGroupID string
	ProjectID       string
}

// ProjectEndpoint associates one endpoint with a project directly.
type ProjectEndpoint struct {
	EndpointID string
	ProjectID  string
}

// ProjectAssociationFilter narrows the association lists; zero fields match everything.
type ProjectAssociationFilter struct {
	EndpointGroupID string
	EndpointID      string
	ProjectID       string
}

// Policy is a stored policy blob (keystone's deprecated /v3/policies): an
// opaque document of some type, such as a JSON policy file.
type Policy struct {
	ID   string
	Type string
	Blob string
	// Extra holds the other attributes clients set, shown as top-level keys.
	Extra map[string]any
}

// Consumer is an OS-OAUTH1 consumer: an application that may ask users to
// delegate roles to it through OAuth 1.0a.
type Consumer struct {
	ID          string
	Description string
	// Secret is the consumer's shared secret. OAuth1's HMAC-SHA1 signatures are
	// checked with it, so it is stored as is; the API shows it only once, in the
	// answer to the creation.
	Secret string
	// Extra holds the other attributes clients set, shown as top-level keys.
	Extra map[string]any
}

// authorizeRule checks the caller against a rule of these extensions, whose
// defaults look at the caller only, with an empty target.
func (s *Service) authorizeRule(ctx context.Context, rule string) error {
	if _, err := caller(ctx); err != nil {
		return err
	}
	return s.authorize(ctx, rule, map[string]any{"target": map[string]any{}})
}
