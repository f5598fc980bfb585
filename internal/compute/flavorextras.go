package compute

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"unicode/utf8"

	"github.com/nimbus-cloud/nimbus/internal/compute/extraspecs"
)

// MaxExtraSpecValue is the longest extra spec value, in characters.
const MaxExtraSpecValue = 255

// ExtraSpecs returns a flavor's extra specs (GET os-extra_specs).
func (s *Service) ExtraSpecs(ctx context.Context, flavorID string) (map[string]string, error) {
	f, err := s.readExtraSpecs(ctx, RuleExtraSpecsIndex, flavorID)
	if err != nil {
		return nil, err
	}
	return f.ExtraSpecs, nil
}

// ExtraSpec returns one extra spec of a flavor.
func (s *Service) ExtraSpec(ctx context.Context, flavorID, key string) (string, error) {
	f, err := s.readExtraSpecs(ctx, RuleExtraSpecsShow, flavorID)
	if err != nil {
		return "", err
	}
	v, ok := f.ExtraSpecs[key]
	if !ok {
		return "", extraSpecNotFound(flavorID, key)
	}
	return v, nil
}

func extraSpecNotFound(flavorID, key string) error {
	return errorf(ErrNotFound, "Flavor %s has no extra specs with key %s.", flavorID, key)
}

// readExtraSpecs authorizes a read of extra specs against the caller's
// project, as nova does, and reads the flavor.
func (s *Service) readExtraSpecs(ctx context.Context, rule, flavorID string) (Flavor, error) {
	c, err := caller(ctx)
	if err != nil {
		return Flavor{}, err
	}
	if err := s.authorize(ctx, rule, map[string]any{"project_id": c.ProjectID}); err != nil {
		return Flavor{}, err
	}
	return s.Flavor(ctx, flavorID)
}

// CreateExtraSpecs adds extra specs to a flavor, replacing the values of keys
// it has, and returns what was set. validate checks known keys' values
// (microversion 2.86 and later).
func (s *Service) CreateExtraSpecs(ctx context.Context, flavorID string, specs map[string]string, validate bool) (map[string]string, error) {
	if err := s.authorize(ctx, RuleExtraSpecsCreate, map[string]any{}); err != nil {
		return nil, err
	}
	if err := checkExtraSpecs(specs, validate); err != nil {
		return nil, err
	}
	if err := s.setExtraSpecs(ctx, flavorID, specs); err != nil {
		return nil, err
	}
	return maps.Clone(specs), nil
}

// UpdateExtraSpec sets the one extra spec key the URL names; body must hold
// exactly that key.
func (s *Service) UpdateExtraSpec(ctx context.Context, flavorID, key string, body map[string]string, validate bool) (map[string]string, error) {
	if err := s.authorize(ctx, RuleExtraSpecsUpdate, map[string]any{}); err != nil {
		return nil, err
	}
	if err := checkExtraSpecs(body, validate); err != nil {
		return nil, err
	}
	if _, ok := body[key]; !ok {
		return nil, errorf(ErrInvalid, "Request body and URI mismatch")
	}
	if err := s.setExtraSpecs(ctx, flavorID, body); err != nil {
		return nil, err
	}
	return maps.Clone(body), nil
}

func (s *Service) setExtraSpecs(ctx context.Context, flavorID string, specs map[string]string) error {
	_, err := s.store.SetExtraSpecs(ctx, flavorID, specs)
	if errors.Is(err, ErrNotFound) {
		return flavorNotFound(flavorID)
	}
	if err != nil {
		return fmt.Errorf("set extra specs of flavor %s: %w", flavorID, err)
	}
	return nil
}

// checkExtraSpecs applies the value length limit and, when validate is set,
// the known extra specs' rules, in nova's order and words.
func checkExtraSpecs(specs map[string]string, validate bool) error {
	for _, k := range sortedKeys(specs) {
		v := specs[k]
		if utf8.RuneCountInString(v) > MaxExtraSpecValue {
			return errorf(ErrInvalid, "extra_specs value has more than %d characters.", MaxExtraSpecValue)
		}
		if !validate {
			continue
		}
		var ve *extraspecs.ValidationError
		if err := extraspecs.Default.Validate(k, v); errors.As(err, &ve) {
			return errorf(ErrInvalid, "%s", ve.Message)
		}
	}
	return nil
}

// DeleteExtraSpec removes one extra spec of a flavor.
func (s *Service) DeleteExtraSpec(ctx context.Context, flavorID, key string) error {
	if err := s.authorize(ctx, RuleExtraSpecsDelete, map[string]any{}); err != nil {
		return err
	}
	if _, err := s.Flavor(ctx, flavorID); err != nil {
		return err
	}
	err := s.store.DeleteExtraSpec(ctx, flavorID, key)
	if errors.Is(err, ErrNotFound) {
		return extraSpecNotFound(flavorID, key)
	}
	if err != nil {
		return fmt.Errorf("delete extra spec %s of flavor %s: %w", key, flavorID, err)
	}
	return nil
}

// FlavorAccess lists the projects that may use a private flavor.
func (s *Service) FlavorAccess(ctx context.Context, flavorID string) ([]string, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, RuleFlavorAccess, callerTarget(c)); err != nil {
		return nil, err
	}
	f, err := s.Flavor(ctx, flavorID)
	if err != nil {
		return nil, err
	}
	if f.IsPublic {
		return nil, errorf(ErrNotFound, "Access list not available for public flavors.")
	}
	return s.flavorProjects(ctx, flavorID)
}

func (s *Service) flavorProjects(ctx context.Context, flavorID string) ([]string, error) {
	ps, err := s.store.FlavorProjects(ctx, flavorID)
	if err != nil {
		return nil, fmt.Errorf("list access of flavor %s: %w", flavorID, err)
	}
	return ps, nil
}

// AddFlavorAccess lets a project use a flavor and returns the access list.
// refusePublic (microversion 2.7 and later) refuses public flavors with 409.
func (s *Service) AddFlavorAccess(ctx context.Context, flavorID, projectID string, refusePublic bool) ([]string, error) {
	if err := s.authorize(ctx, RuleFlavorAccessAdd, map[string]any{}); err != nil {
		return nil, err
	}
	if err := s.verifyProject(ctx, projectID); err != nil {
		return nil, err
	}
	f, err := s.Flavor(ctx, flavorID)
	if err != nil {
		return nil, err
	}
	if refusePublic && f.IsPublic {
		return nil, errorf(ErrConflict, "Can not add access to a public flavor.")
	}
	err = s.store.AddFlavorProject(ctx, flavorID, projectID)
	switch {
	case errors.Is(err, ErrConflict):
		return nil, errorf(ErrConflict, "Flavor access already exists for flavor %s and project %s combination.",
			flavorID, projectID)
	case errors.Is(err, ErrNotFound):
		return nil, flavorNotFound(flavorID)
	case err != nil:
		return nil, fmt.Errorf("add access of project %s to flavor %s: %w", projectID, flavorID, err)
	}
	return s.flavorProjects(ctx, flavorID)
}

// RemoveFlavorAccess takes a project's access to a flavor and returns the
// access list. The project need not exist any more.
func (s *Service) RemoveFlavorAccess(ctx context.Context, flavorID, projectID string) ([]string, error) {
	if err := s.authorize(ctx, RuleFlavorAccessRemove, map[string]any{}); err != nil {
		return nil, err
	}
	if _, err := s.Flavor(ctx, flavorID); err != nil {
		return nil, err
	}
	err := s.store.RemoveFlavorProject(ctx, flavorID, projectID)
	if errors.Is(err, ErrNotFound) {
		return nil, errorf(ErrNotFound, "Flavor access not found for %s / %s combination.", flavorID, projectID)
	}
	if err != nil {
		return nil, fmt.Errorf("remove access of project %s to flavor %s: %w", projectID, flavorID, err)
	}
	return s.flavorProjects(ctx, flavorID)
}
