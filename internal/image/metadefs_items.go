package image

import (
	"context"
	"errors"
	"slices"
)

// propertyTypes are the JSON-schema types a property definition may have.
var propertyTypes = []string{"array", "boolean", "integer", "number", "object", "string"}

// validateProperty checks a property definition as glance's property schema
// does: a name, a title and a known type.
func validateProperty(p MetadefProperty) error {
	switch {
	case p.Name == "":
		return errorf(ErrValidation, "Property name is required.")
	case len(p.Name) > maxMetadefName:
		return errorf(ErrValidation, "Property name is longer than %d characters.", maxMetadefName)
	}
	return validateSchema(p.Name, p.Schema)
}

// validateSchema checks one property schema.
func validateSchema(name string, ps PropertySchema) error {
	switch {
	case ps.Title == "":
		return errorf(ErrValidation, "Property %s: title is required.", name)
	case !slices.Contains(propertyTypes, ps.Type):
		return errorf(ErrValidation, "Property %s: type %q is not one of %v.", name, ps.Type, propertyTypes)
	}
	return nil
}

// validateObject checks an object definition.
func validateObject(o MetadefObject) error {
	switch {
	case o.Name == "":
		return errorf(ErrValidation, "Object name is required.")
	case len(o.Name) > maxMetadefName:
		return errorf(ErrValidation, "Object name is longer than %d characters.", maxMetadefName)
	}
	for name, ps := range o.Properties {
		if err := validateSchema(name, ps); err != nil {
			return err
		}
	}
	return nil
}

// validateTagName checks a tag definition's name.
func validateTagName(name string) error {
	if name == "" || len(name) > maxMetadefTagName {
		return errorf(ErrValidation, "Tag name is required and at most %d characters.", maxMetadefTagName)
	}
	return nil
}

// itemErr turns a store error about a namespace's item into the API's answer.
func itemErr(err error, kind, name, namespace string) error {
	switch {
	case errors.Is(err, ErrNotFound):
		return errorf(ErrNotFound, "Metadata definition %s=%s not found in namespace=%s.", kind, name, namespace)
	case errors.Is(err, ErrConflict):
		return errorf(ErrConflict, "A metadata definition %s with name=%s already exists in namespace=%s.",
			kind, name, namespace)
	}
	return err
}

// ListObjects returns a namespace's objects.
func (s *Service) ListObjects(ctx context.Context, namespace string) ([]MetadefObject, error) {
	ns, err := s.namespace(ctx, namespace, RuleGetObjects)
	if err != nil {
		return nil, err
	}
	return s.store.ListMetadefObjects(ctx, ns.ID)
}

// GetObject returns one object of a namespace.
func (s *Service) GetObject(ctx context.Context, namespace, name string) (MetadefObject, error) {
	ns, err := s.namespace(ctx, namespace, RuleGetObject)
	if err != nil {
		return MetadefObject{}, err
	}
	o, err := s.store.GetMetadefObject(ctx, ns.ID, name)
	return o, itemErr(err, "object", name, namespace)
}

// CreateObject adds an object to a namespace.
func (s *Service) CreateObject(ctx context.Context, namespace string, o MetadefObject) (MetadefObject, error) {
	ns, err := s.namespace(ctx, namespace, RuleAddObject)
	if err != nil {
		return MetadefObject{}, err
	}
	if err := validateObject(o); err != nil {
		return MetadefObject{}, err
	}
	now := s.now().UTC()
	o.CreatedAt, o.UpdatedAt = now, now
	if err := s.store.CreateMetadefObject(ctx, ns.ID, o); err != nil {
		return MetadefObject{}, itemErr(err, "object", o.Name, namespace)
	}
	return o, nil
}

// UpdateObject replaces the object called name with o, which may rename it.
func (s *Service) UpdateObject(ctx context.Context, namespace, name string, o MetadefObject) (MetadefObject, error) {
	ns, err := s.namespace(ctx, namespace, RuleModifyObject)
	if err != nil {
		return MetadefObject{}, err
	}
	if err := validateObject(o); err != nil {
		return MetadefObject{}, err
	}
	old, err := s.store.GetMetadefObject(ctx, ns.ID, name)
	if err != nil {
		return MetadefObject{}, itemErr(err, "object", name, namespace)
	}
	o.CreatedAt, o.UpdatedAt = old.CreatedAt, s.now().UTC()
	if err := s.store.UpdateMetadefObject(ctx, ns.ID, name, o); err != nil {
		return MetadefObject{}, itemErr(err, "object", o.Name, namespace)
	}
	return o, nil
}

// DeleteObject removes an object from a namespace.
func (s *Service) DeleteObject(ctx context.Context, namespace, name string) error {
	ns, err := s.namespace(ctx, namespace, RuleDeleteObject)
	if err != nil {
		return err
	}
	return itemErr(s.store.DeleteMetadefObject(ctx, ns.ID, name), "object", name, namespace)
}

// ListProperties returns a namespace's property definitions.
func (s *Service) ListProperties(ctx context.Context, namespace string) ([]MetadefProperty, error) {
	ns, err := s.namespace(ctx, namespace, RuleGetProperties)
	if err != nil {
		return nil, err
	}
	return s.store.ListMetadefProperties(ctx, ns.ID)
}

// GetProperty returns one property definition of a namespace.
func (s *Service) GetProperty(ctx context.Context, namespace, name string) (MetadefProperty, error) {
	ns, err := s.namespace(ctx, namespace, RuleGetProperty)
	if err != nil {
		return MetadefProperty{}, err
	}
	p, err := s.store.GetMetadefProperty(ctx, ns.ID, name)
	return p, itemErr(err, "property", name, namespace)
}

// CreateProperty adds a property definition to a namespace.
func (s *Service) CreateProperty(ctx context.Context, namespace string, p MetadefProperty) (MetadefProperty, error) {
	ns, err := s.namespace(ctx, namespace, RuleAddProperty)
	if err != nil {
		return MetadefProperty{}, err
	}
	if err := validateProperty(p); err != nil {
		return MetadefProperty{}, err
	}
	if err := s.store.CreateMetadefProperty(ctx, ns.ID, p); err != nil {
		return MetadefProperty{}, itemErr(err, "property", p.Name, namespace)
	}
	return p, nil
}

// UpdateProperty replaces the property called name with p, which may rename it.
func (s *Service) UpdateProperty(ctx context.Context, namespace, name string, p MetadefProperty) (MetadefProperty,
	error) {
	ns, err := s.namespace(ctx, namespace, RuleModifyProperty)
	if err != nil {
		return MetadefProperty{}, err
	}
	if err := validateProperty(p); err != nil {
		return MetadefProperty{}, err
	}
	if err := s.store.UpdateMetadefProperty(ctx, ns.ID, name, p); err != nil {
		if errors.Is(err, ErrNotFound) {
			return MetadefProperty{}, itemErr(err, "property", name, namespace)
		}
		return MetadefProperty{}, itemErr(err, "property", p.Name, namespace)
	}
	return p, nil
}

// DeleteProperty removes a property definition from a namespace.
func (s *Service) DeleteProperty(ctx context.Context, namespace, name string) error {
	ns, err := s.namespace(ctx, namespace, RuleRemoveProperty)
	if err != nil {
		return err
	}
	return itemErr(s.store.DeleteMetadefProperty(ctx, ns.ID, name), "property", name, namespace)
}

// ListMetadefTags returns a namespace's tag definitions.
func (s *Service) ListMetadefTags(ctx context.Context, namespace string) ([]MetadefTag, error) {
	ns, err := s.namespace(ctx, namespace, RuleGetMetadefTags)
	if err != nil {
		return nil, err
	}
	return s.store.ListMetadefTags(ctx, ns.ID)
}

// GetMetadefTag returns one tag definition of a namespace.
func (s *Service) GetMetadefTag(ctx context.Context, namespace, name string) (MetadefTag, error) {
	ns, err := s.namespace(ctx, namespace, RuleGetMetadefTag)
	if err != nil {
		return MetadefTag{}, err
	}
	t, err := s.store.GetMetadefTag(ctx, ns.ID, name)
	return t, itemErr(err, "tag", name, namespace)
}

// CreateMetadefTag adds one tag definition to a namespace.
func (s *Service) CreateMetadefTag(ctx context.Context, namespace, name string) (MetadefTag, error) {
	ns, err := s.namespace(ctx, namespace, RuleAddMetadefTag)
	if err != nil {
		return MetadefTag{}, err
	}
	if err := validateTagName(name); err != nil {
		return MetadefTag{}, err
	}
	now := s.now().UTC()
	t := MetadefTag{Name: name, CreatedAt: now, UpdatedAt: now}
	if err := s.store.CreateMetadefTags(ctx, ns.ID, []MetadefTag{t}, false); err != nil {
		return MetadefTag{}, itemErr(err, "tag", name, namespace)
	}
	return t, nil
}

// CreateMetadefTags adds tag definitions to a namespace; unless appendTags is set
// they replace the existing ones, as glance's POST .../tags does without
// X-Openstack-Append. A name given twice is ErrConflict.
func (s *Service) CreateMetadefTags(ctx context.Context, namespace string, names []string,
	appendTags bool) ([]MetadefTag, error) {
	ns, err := s.namespace(ctx, namespace, RuleAddMetadefTags)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	tags := make([]MetadefTag, 0, len(names))
	for i, n := range names {
		if err := validateTagName(n); err != nil {
			return nil, err
		}
		if slices.Contains(names[:i], n) {
			return nil, errorf(ErrConflict, "Duplicate tag %s in the request.", n)
		}
		tags = append(tags, MetadefTag{Name: n, CreatedAt: now, UpdatedAt: now})
	}
	if err := s.store.CreateMetadefTags(ctx, ns.ID, tags, !appendTags); err != nil {
		if errors.Is(err, ErrConflict) {
			return nil, errorf(ErrConflict, "A metadata tag of namespace=%s already has one of the names given.",
				namespace)
		}
		return nil, err
	}
	return tags, nil
}

// UpdateMetadefTag renames the tag definition called name.
func (s *Service) UpdateMetadefTag(ctx context.Context, namespace, name, newName string) (MetadefTag, error) {
	ns, err := s.namespace(ctx, namespace, RuleModifyMetadefTag)
	if err != nil {
		return MetadefTag{}, err
	}
	if err := validateTagName(newName); err != nil {
		return MetadefTag{}, err
	}
	old, err := s.store.GetMetadefTag(ctx, ns.ID, name)
	if err != nil {
		return MetadefTag{}, itemErr(err, "tag", name, namespace)
	}
	t := MetadefTag{Name: newName, CreatedAt: old.CreatedAt, UpdatedAt: s.now().UTC()}
	if err := s.store.UpdateMetadefTag(ctx, ns.ID, name, t); err != nil {
		return MetadefTag{}, itemErr(err, "tag", newName, namespace)
	}
	return t, nil
}

// DeleteMetadefTag removes one tag definition from a namespace.
func (s *Service) DeleteMetadefTag(ctx context.Context, namespace, name string) error {
	ns, err := s.namespace(ctx, namespace, RuleDeleteMetadefTag)
	if err != nil {
		return err
	}
	return itemErr(s.store.DeleteMetadefTag(ctx, ns.ID, name), "tag", name, namespace)
}

// DeleteMetadefTags removes every tag definition of a namespace.
func (s *Service) DeleteMetadefTags(ctx context.Context, namespace string) error {
	ns, err := s.namespace(ctx, namespace, RuleDeleteMetadefTags)
	if err != nil {
		return err
	}
	return s.store.DeleteMetadefTags(ctx, ns.ID)
}
