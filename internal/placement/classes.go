package placement

import (
	"context"
	"errors"
)

// ListClasses returns every resource class, standard ones first.
func (s *Service) ListClasses(ctx context.Context) ([]ResourceClass, error) {
	if err := s.authorize(ctx, RuleClassList); err != nil {
		return nil, err
	}
	return s.store.Reader().Classes(ctx)
}

// GetClass returns one resource class.
func (s *Service) GetClass(ctx context.Context, name string) (ResourceClass, error) {
	if err := s.authorize(ctx, RuleClassShow); err != nil {
		return ResourceClass{}, err
	}
	rc, err := s.store.Reader().Class(ctx, name)
	if err != nil {
		return ResourceClass{}, notFoundAs(err, ErrNotFound, "No such resource class %s.", name)
	}
	return rc, nil
}

// CreateClass creates a custom resource class (POST /resource_classes).
func (s *Service) CreateClass(ctx context.Context, name string) (ResourceClass, error) {
	if err := s.authorize(ctx, RuleClassCreate); err != nil {
		return ResourceClass{}, err
	}
	now := s.now()
	var out ResourceClass
	err := s.store.Update(ctx, func(tx Tx) error {
		if _, err := tx.Class(ctx, name); err == nil {
			return errorf(ErrConflict, "Conflicting resource class already exists: %s", name)
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		rc, err := tx.CreateClass(ctx, name, now)
		if errors.Is(err, ErrConflict) {
			return errorf(ErrConflict, "Conflicting resource class already exists: %s", name)
		}
		out = rc
		return err
	})
	return out, err
}

// EnsureClass creates a custom resource class unless it exists (PUT
// /resource_classes/{name}, 1.7) and reports whether it made it.
func (s *Service) EnsureClass(ctx context.Context, name string) (ResourceClass, bool, error) {
	if err := s.authorize(ctx, RuleClassUpdate); err != nil {
		return ResourceClass{}, false, err
	}
	now := s.now()
	var (
		out     ResourceClass
		created bool
	)
	err := s.store.Update(ctx, func(tx Tx) error {
		rc, err := tx.Class(ctx, name)
		if err == nil {
			out, created = rc, false
			return nil
		}
		if !errors.Is(err, ErrNotFound) {
			return err
		}
		out, err = tx.CreateClass(ctx, name, now)
		created = err == nil
		return err
	})
	return out, created, err
}

// RenameClass renames a custom resource class (PUT /resource_classes/{name},
// 1.2 to 1.6).
func (s *Service) RenameClass(ctx context.Context, name, newName string) (ResourceClass, error) {
	if err := s.authorize(ctx, RuleClassUpdate); err != nil {
		return ResourceClass{}, err
	}
	now := s.now()
	var out ResourceClass
	err := s.store.Update(ctx, func(tx Tx) error {
		rc, err := tx.Class(ctx, name)
		if err != nil {
			return notFoundAs(err, ErrNotFound, "No such resource class %s.", name)
		}
		if rc.ID < MinCustomClassID {
			return errorf(ErrBadRequest, "Cannot update standard resource class %s", name)
		}
		if err := tx.RenameClass(ctx, rc.ID, newName, now); err != nil {
			if errors.Is(err, ErrConflict) {
				return errorf(ErrConflict, "Resource class already exists: %s", newName)
			}
			return err
		}
		rc.Name, rc.UpdatedAt = newName, now
		out = rc
		return nil
	})
	return out, err
}

// DeleteClass deletes a custom resource class no inventory uses.
func (s *Service) DeleteClass(ctx context.Context, name string) error {
	if err := s.authorize(ctx, RuleClassDelete); err != nil {
		return err
	}
	return s.store.Update(ctx, func(tx Tx) error {
		rc, err := tx.Class(ctx, name)
		if err != nil {
			return notFoundAs(err, ErrNotFound, "No such resource class %s.", name)
		}
		if rc.ID < MinCustomClassID {
			return errorf(ErrBadRequest, "Error in delete resource class: Cannot delete standard resource class %s.", name)
		}
		used, err := tx.ClassInUse(ctx, rc.ID)
		if err != nil {
			return err
		}
		if used {
			return errorf(ErrConflict, "Error in delete resource class: Cannot delete resource class %s. Class is in use in inventory.", name)
		}
		return tx.DeleteClass(ctx, rc.ID)
	})
}
