package image

import (
	"context"
	"errors"
	"slices"
	"time"
)

// Metadata definitions (glance's metadefs): a catalog of namespaces, each
// holding property definitions, objects (named groups of properties) and tags,
// and associated with the resource types they apply to (OS::Glance::Image,
// OS::Nova::Flavor, ...). Readers see public namespaces and their project's;
// only administrators write (glance's metadef_admin).

// Policy rule names of metadefs, as glance's policies name them.
const (
	RuleGetNamespace      = "get_metadef_namespace"
	RuleGetNamespaces     = "get_metadef_namespaces"
	RuleModifyNamespace   = "modify_metadef_namespace"
	RuleAddNamespace      = "add_metadef_namespace"
	RuleDeleteNamespace   = "delete_metadef_namespace"
	RuleGetObject         = "get_metadef_object"
	RuleGetObjects        = "get_metadef_objects"
	RuleModifyObject      = "modify_metadef_object"
	RuleAddObject         = "add_metadef_object"
	RuleDeleteObject      = "delete_metadef_object"
	RuleListResourceTypes = "list_metadef_resource_types"
	RuleGetResourceType   = "get_metadef_resource_type"
	RuleAddAssociation    = "add_metadef_resource_type_association"
	RuleRemoveAssociation = "remove_metadef_resource_type_association"
	RuleGetProperty       = "get_metadef_property"
	RuleGetProperties     = "get_metadef_properties"
	RuleModifyProperty    = "modify_metadef_property"
	RuleAddProperty       = "add_metadef_property"
	RuleRemoveProperty    = "remove_metadef_property"
	RuleGetMetadefTag     = "get_metadef_tag"
	RuleGetMetadefTags    = "get_metadef_tags"
	RuleModifyMetadefTag  = "modify_metadef_tag"
	RuleAddMetadefTag     = "add_metadef_tag"
	RuleAddMetadefTags    = "add_metadef_tags"
	RuleDeleteMetadefTag  = "delete_metadef_tag"
	RuleDeleteMetadefTags = "delete_metadef_tags"
)

// Length limits of glance's metadef schemas.
const (
	maxNamespaceName        = 80
	maxNamespaceDescription = 500
	maxMetadefName          = 80
	maxMetadefTagName       = 255
)

// Namespace is a metadata definition namespace. ID is internal: the API
// addresses a namespace by Name, which may change.
type Namespace struct {
	ID          string
	Name        string
	DisplayName string
	Description string
	Visibility  Visibility // Public or Private
	Protected   bool
	Owner       string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	// ResourceTypes are the namespace's resource type associations, by name.
	ResourceTypes []ResourceTypeAssociation
}

// NamespaceDetail is a namespace with its contents, as created and shown.
type NamespaceDetail struct {
	Namespace
	Objects    []MetadefObject
	Properties []MetadefProperty
	Tags       []MetadefTag
}

// ResourceType is a kind of resource namespaces apply to (OS::Glance::Image).
type ResourceType struct {
	Name      string
	Protected bool
	CreatedAt time.Time
	UpdatedAt time.Time
}

// ResourceTypeAssociation ties a namespace to a resource type; Prefix is put
// before property names when applied to that type ("hw_"), and
// PropertiesTarget names where they go ("image", "scheduler_hints").
type ResourceTypeAssociation struct {
	Name             string
	Prefix           string
	PropertiesTarget string
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// PropertySchema is the JSON-schema fragment glance keeps for a property
// definition. It is a schema document by nature, so its JSON form (these tags)
// is both what the API shows and what the store keeps.
type PropertySchema struct {
	Title           string         `json:"title,omitempty"`
	Description     string         `json:"description,omitempty"`
	Type            string         `json:"type,omitempty"`
	Default         any            `json:"default,omitempty"`
	Enum            []any          `json:"enum,omitempty"`
	Minimum         *float64       `json:"minimum,omitempty"`
	Maximum         *float64       `json:"maximum,omitempty"`
	MinLength       *int64         `json:"minLength,omitempty"`
	MaxLength       *int64         `json:"maxLength,omitempty"`
	Pattern         string         `json:"pattern,omitempty"`
	Items           *PropertyItems `json:"items,omitempty"`
	MinItems        *int64         `json:"minItems,omitempty"`
	MaxItems        *int64         `json:"maxItems,omitempty"`
	UniqueItems     *bool          `json:"uniqueItems,omitempty"`
	AdditionalItems *bool          `json:"additionalItems,omitempty"`
	Readonly        *bool          `json:"readonly,omitempty"`
	Operators       []string       `json:"operators,omitempty"`
}

// PropertyItems describes the elements of an array property.
type PropertyItems struct {
	Type string `json:"type,omitempty"`
	Enum []any  `json:"enum,omitempty"`
}

// MetadefProperty is a named property definition of a namespace.
type MetadefProperty struct {
	Name   string
	Schema PropertySchema
}

// MetadefObject is a named group of property definitions of a namespace.
type MetadefObject struct {
	Name        string
	Description string
	Required    []string
	Properties  map[string]PropertySchema
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// MetadefTag is a tag definition of a namespace.
type MetadefTag struct {
	Name      string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// MetadefStore keeps the metadata definitions catalog. Each method is one
// transaction; namespace contents are addressed by the namespace's ID. Missing
// rows are ErrNotFound and name clashes ErrConflict (both wrapped).
type MetadefStore interface {
	// CreateNamespace stores a namespace with its associations and contents;
	// an association naming an unknown resource type creates that type.
	CreateNamespace(ctx context.Context, ns NamespaceDetail) error
	// GetNamespace returns the namespace called name with its associations.
	GetNamespace(ctx context.Context, name string) (Namespace, error)
	// ListNamespaces returns every namespace with its associations, by name.
	ListNamespaces(ctx context.Context) ([]Namespace, error)
	// UpdateNamespace writes ns's own fields (associations are left alone).
	UpdateNamespace(ctx context.Context, ns Namespace) error
	// DeleteNamespace removes a namespace and everything in it.
	DeleteNamespace(ctx context.Context, id string) error

	// ListResourceTypes returns every resource type, by name.
	ListResourceTypes(ctx context.Context) ([]ResourceType, error)
	// CreateAssociation associates a namespace with a resource type, creating
	// the type when it is unknown.
	CreateAssociation(ctx context.Context, namespaceID string, a ResourceTypeAssociation) error
	DeleteAssociation(ctx context.Context, namespaceID, resourceType string) error

	CreateMetadefObject(ctx context.Context, namespaceID string, o MetadefObject) error
	GetMetadefObject(ctx context.Context, namespaceID, name string) (MetadefObject, error)
	ListMetadefObjects(ctx context.Context, namespaceID string) ([]MetadefObject, error)
	// UpdateMetadefObject replaces the object called name with o (which may rename it).
	UpdateMetadefObject(ctx context.Context, namespaceID, name string, o MetadefObject) error
	DeleteMetadefObject(ctx context.Context, namespaceID, name string) error

	CreateMetadefProperty(ctx context.Context, namespaceID string, p MetadefProperty) error
	GetMetadefProperty(ctx context.Context, namespaceID, name string) (MetadefProperty, error)
	ListMetadefProperties(ctx context.Context, namespaceID string) ([]MetadefProperty, error)
	// UpdateMetadefProperty replaces the property called name with p (which may rename it).
	UpdateMetadefProperty(ctx context.Context, namespaceID, name string, p MetadefProperty) error
	DeleteMetadefProperty(ctx context.Context, namespaceID, name string) error

	// CreateMetadefTags adds tags; with replace it first removes the existing ones.
	CreateMetadefTags(ctx context.Context, namespaceID string, tags []MetadefTag, replace bool) error
	GetMetadefTag(ctx context.Context, namespaceID, name string) (MetadefTag, error)
	ListMetadefTags(ctx context.Context, namespaceID string) ([]MetadefTag, error)
	// UpdateMetadefTag renames the tag called name to t.Name.
	UpdateMetadefTag(ctx context.Context, namespaceID, name string, t MetadefTag) error
	DeleteMetadefTag(ctx context.Context, namespaceID, name string) error
	// DeleteMetadefTags removes every tag of a namespace.
	DeleteMetadefTags(ctx context.Context, namespaceID string) error
}

// NamespaceFilter selects namespaces for ListNamespaces.
type NamespaceFilter struct {
	// Visibility "" lists every namespace the caller sees.
	Visibility Visibility
	// ResourceTypes keeps namespaces associated with any of these types.
	ResourceTypes []string
}

// NamespaceUpdate is the body of a namespace update, glance's PUT: unset
// visibility becomes private, unset protected false, unset owner is kept.
type NamespaceUpdate struct {
	Name        string
	DisplayName string
	Description string
	Visibility  Visibility
	Protected   bool
	Owner       string
}

// namespaceTarget is the policy target of a namespace.
func namespaceTarget(ns Namespace) map[string]any {
	return map[string]any{"project_id": ns.Owner, "visibility": string(ns.Visibility)}
}

// errNamespaceNotFound is glance's answer for a missing or hidden namespace.
func errNamespaceNotFound(name string) error {
	return errorf(ErrNotFound, "Metadata definition namespace=%s was not found.", name)
}

// namespace reads the namespace called name and authorizes rule on it; a
// namespace the caller may not see is ErrNotFound, as glance hides it.
func (s *Service) namespace(ctx context.Context, name, rule string) (Namespace, error) {
	c, err := caller(ctx)
	if err != nil {
		return Namespace{}, err
	}
	ns, err := s.store.GetNamespace(ctx, name)
	if errors.Is(err, ErrNotFound) {
		return Namespace{}, errNamespaceNotFound(name)
	}
	if err != nil {
		return Namespace{}, err
	}
	if !isAdmin(c) && ns.Visibility != Public && ns.Owner != c.ProjectID {
		return Namespace{}, errNamespaceNotFound(name)
	}
	if err := s.authorize(ctx, rule, namespaceTarget(ns)); err != nil {
		return Namespace{}, err
	}
	return ns, nil
}

// ListNamespaces returns the namespaces the caller sees that f selects.
func (s *Service) ListNamespaces(ctx context.Context, f NamespaceFilter) ([]Namespace, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, RuleGetNamespaces, map[string]any{"project_id": c.ProjectID}); err != nil {
		return nil, err
	}
	all, err := s.store.ListNamespaces(ctx)
	if err != nil {
		return nil, err
	}
	var out []Namespace
	for _, ns := range all {
		if !isAdmin(c) && ns.Visibility != Public && ns.Owner != c.ProjectID {
			continue
		}
		if f.Visibility != "" && ns.Visibility != f.Visibility {
			continue
		}
		if len(f.ResourceTypes) > 0 && !slices.ContainsFunc(ns.ResourceTypes, func(a ResourceTypeAssociation) bool {
			return slices.Contains(f.ResourceTypes, a.Name)
		}) {
			continue
		}
		out = append(out, ns)
	}
	return out, nil
}

// GetNamespace returns a namespace with its contents.
func (s *Service) GetNamespace(ctx context.Context, name string) (NamespaceDetail, error) {
	ns, err := s.namespace(ctx, name, RuleGetNamespace)
	if err != nil {
		return NamespaceDetail{}, err
	}
	d := NamespaceDetail{Namespace: ns}
	if d.Objects, err = s.store.ListMetadefObjects(ctx, ns.ID); err != nil {
		return NamespaceDetail{}, err
	}
	if d.Properties, err = s.store.ListMetadefProperties(ctx, ns.ID); err != nil {
		return NamespaceDetail{}, err
	}
	if d.Tags, err = s.store.ListMetadefTags(ctx, ns.ID); err != nil {
		return NamespaceDetail{}, err
	}
	return d, nil
}

// CreateNamespace creates a namespace with the associations and contents d
// carries; an empty owner is the caller's project, an empty visibility private.
func (s *Service) CreateNamespace(ctx context.Context, d NamespaceDetail) (NamespaceDetail, error) {
	c, err := caller(ctx)
	if err != nil {
		return NamespaceDetail{}, err
	}
	if d.Owner == "" {
		d.Owner = c.ProjectID
	}
	if d.Visibility == "" {
		d.Visibility = Private
	}
	if err := s.authorize(ctx, RuleAddNamespace, namespaceTarget(d.Namespace)); err != nil {
		return NamespaceDetail{}, err
	}
	if err := validateNamespace(d.Namespace); err != nil {
		return NamespaceDetail{}, err
	}
	now := s.now().UTC()
	d.ID, d.CreatedAt, d.UpdatedAt = s.newID(), now, now
	for i := range d.ResourceTypes {
		if d.ResourceTypes[i].Name == "" {
			return NamespaceDetail{}, errorf(ErrValidation, "Resource type association name is required.")
		}
		d.ResourceTypes[i].CreatedAt, d.ResourceTypes[i].UpdatedAt = now, now
	}
	for i := range d.Objects {
		if err := validateObject(d.Objects[i]); err != nil {
			return NamespaceDetail{}, err
		}
		d.Objects[i].CreatedAt, d.Objects[i].UpdatedAt = now, now
	}
	for _, p := range d.Properties {
		if err := validateProperty(p); err != nil {
			return NamespaceDetail{}, err
		}
	}
	for i := range d.Tags {
		if err := validateTagName(d.Tags[i].Name); err != nil {
			return NamespaceDetail{}, err
		}
		d.Tags[i].CreatedAt, d.Tags[i].UpdatedAt = now, now
	}
	if err := s.store.CreateNamespace(ctx, d); err != nil {
		if errors.Is(err, ErrConflict) {
			return NamespaceDetail{}, errorf(ErrConflict, "Namespace %s already exists, or its contents repeat a name.",
				d.Name)
		}
		return NamespaceDetail{}, err
	}
	return d, nil
}

// UpdateNamespace replaces a namespace's fields, glance's PUT.
func (s *Service) UpdateNamespace(ctx context.Context, name string, u NamespaceUpdate) (Namespace, error) {
	ns, err := s.namespace(ctx, name, RuleModifyNamespace)
	if err != nil {
		return Namespace{}, err
	}
	ns.Name, ns.DisplayName, ns.Description, ns.Protected = u.Name, u.DisplayName, u.Description, u.Protected
	ns.Visibility = u.Visibility
	if ns.Visibility == "" {
		ns.Visibility = Private
	}
	if u.Owner != "" {
		ns.Owner = u.Owner
	}
	if err := validateNamespace(ns); err != nil {
		return Namespace{}, err
	}
	ns.UpdatedAt = s.now().UTC()
	if err := s.store.UpdateNamespace(ctx, ns); err != nil {
		if errors.Is(err, ErrConflict) {
			return Namespace{}, errorf(ErrConflict, "Namespace %s already exists.", ns.Name)
		}
		return Namespace{}, err
	}
	return ns, nil
}

// DeleteNamespace removes an unprotected namespace and its contents.
func (s *Service) DeleteNamespace(ctx context.Context, name string) error {
	ns, err := s.namespace(ctx, name, RuleDeleteNamespace)
	if err != nil {
		return err
	}
	if ns.Protected {
		return errorf(ErrForbidden, "Metadata definition namespace %s is protected and cannot be deleted.", name)
	}
	return s.store.DeleteNamespace(ctx, ns.ID)
}

// validateNamespace checks a namespace's fields as glance's schema does.
func validateNamespace(ns Namespace) error {
	switch {
	case ns.Name == "":
		return errorf(ErrValidation, "Namespace name is required.")
	case len(ns.Name) > maxNamespaceName:
		return errorf(ErrValidation, "Namespace name is longer than %d characters.", maxNamespaceName)
	case len(ns.DisplayName) > maxNamespaceName:
		return errorf(ErrValidation, "display_name is longer than %d characters.", maxNamespaceName)
	case len(ns.Description) > maxNamespaceDescription:
		return errorf(ErrValidation, "description is longer than %d characters.", maxNamespaceDescription)
	case ns.Visibility != Public && ns.Visibility != Private:
		return errorf(ErrValidation, "Invalid visibility value: %s", ns.Visibility)
	}
	return nil
}

// ListResourceTypes returns every known resource type.
func (s *Service) ListResourceTypes(ctx context.Context) ([]ResourceType, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, RuleListResourceTypes, map[string]any{"project_id": c.ProjectID}); err != nil {
		return nil, err
	}
	return s.store.ListResourceTypes(ctx)
}

// ListAssociations returns a namespace's resource type associations.
func (s *Service) ListAssociations(ctx context.Context, namespace string) ([]ResourceTypeAssociation, error) {
	ns, err := s.namespace(ctx, namespace, RuleGetResourceType)
	if err != nil {
		return nil, err
	}
	return ns.ResourceTypes, nil
}

// CreateAssociation associates a namespace with a resource type.
func (s *Service) CreateAssociation(ctx context.Context, namespace string,
	a ResourceTypeAssociation) (ResourceTypeAssociation, error) {
	ns, err := s.namespace(ctx, namespace, RuleAddAssociation)
	if err != nil {
		return ResourceTypeAssociation{}, err
	}
	if a.Name == "" || len(a.Name) > maxMetadefName {
		return ResourceTypeAssociation{}, errorf(ErrValidation, "Resource type name is required and at most %d characters.",
			maxMetadefName)
	}
	now := s.now().UTC()
	a.CreatedAt, a.UpdatedAt = now, now
	if err := s.store.CreateAssociation(ctx, ns.ID, a); err != nil {
		if errors.Is(err, ErrConflict) {
			return ResourceTypeAssociation{}, errorf(ErrConflict,
				"The metadata definition resource-type association of resource-type=%s to namespace=%s, already exists.",
				a.Name, namespace)
		}
		return ResourceTypeAssociation{}, err
	}
	return a, nil
}

// DeleteAssociation dissociates a namespace from a resource type.
func (s *Service) DeleteAssociation(ctx context.Context, namespace, resourceType string) error {
	ns, err := s.namespace(ctx, namespace, RuleRemoveAssociation)
	if err != nil {
		return err
	}
	err = s.store.DeleteAssociation(ctx, ns.ID, resourceType)
	if errors.Is(err, ErrNotFound) {
		return errorf(ErrNotFound,
			"The metadata definition resource-type association of resource-type=%s to namespace=%s, was not found.",
			resourceType, namespace)
	}
	return err
}
