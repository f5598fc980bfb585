package placement

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"
)

// ListTraits returns the traits f selects, by name.
func (s *Service) ListTraits(ctx context.Context, f TraitFilter) ([]Trait, error) {
	if err := s.authorize(ctx, RuleTraitList); err != nil {
		return nil, err
	}
	return s.store.Reader().Traits(ctx, f)
}

// GetTrait returns one trait.
func (s *Service) GetTrait(ctx context.Context, name string) (Trait, error) {
	if err := s.authorize(ctx, RuleTraitShow); err != nil {
		return Trait{}, err
	}
	t, err := s.store.Reader().Trait(ctx, name)
	if err != nil {
		return Trait{}, notFoundAs(err, ErrNotFound, "No such trait(s): %s.", name)
	}
	return t, nil
}

// EnsureTrait creates a custom trait unless it exists and reports whether it
// made it.
func (s *Service) EnsureTrait(ctx context.Context, name string) (Trait, bool, error) {
	if err := s.authorize(ctx, RuleTraitUpdate); err != nil {
		return Trait{}, false, err
	}
	now := s.now()
	var (
		out     Trait
		created bool
	)
	err := s.store.Update(ctx, func(tx Tx) error {
		t, err := tx.Trait(ctx, name)
		if err == nil {
			out, created = t, false
			return nil
		}
		if !errors.Is(err, ErrNotFound) {
			return err
		}
		out, err = tx.CreateTrait(ctx, name, now)
		created = err == nil
		return err
	})
	return out, created, err
}

// DeleteTrait deletes a custom trait no provider has.
func (s *Service) DeleteTrait(ctx context.Context, name string) error {
	if err := s.authorize(ctx, RuleTraitDelete); err != nil {
		return err
	}
	return s.store.Update(ctx, func(tx Tx) error {
		t, err := tx.Trait(ctx, name)
		if err != nil {
			return notFoundAs(err, ErrNotFound, "No such trait(s): %s.", name)
		}
		if !IsCustom(name) {
			return errorf(ErrBadRequest, "Cannot delete standard trait %s.", name)
		}
		used, err := tx.TraitInUse(ctx, t.ID)
		if err != nil {
			return err
		}
		if used {
			return errorf(ErrConflict, "The trait %s is in use by a resource provider.", name)
		}
		return tx.DeleteTrait(ctx, t.ID)
	})
}

// ProviderTraits returns a provider and its traits.
func (s *Service) ProviderTraits(ctx context.Context, uuid string) (Provider, []Trait, error) {
	if err := s.authorize(ctx, RuleProviderTraitList); err != nil {
		return Provider{}, nil, err
	}
	r := s.store.Reader()
	p, err := s.provider(ctx, r, uuid)
	if err != nil {
		return Provider{}, nil, err
	}
	ts, err := r.ProviderTraits(ctx, p.ID)
	return p, ts, err
}

// SetProviderTraits replaces a provider's traits when its generation is
// still generation. The generation advances only when the set changes.
func (s *Service) SetProviderTraits(ctx context.Context, uuid string, generation int64, names []string) (Provider, []Trait, error) {
	if err := s.authorize(ctx, RuleProviderTraitUpdate); err != nil {
		return Provider{}, nil, err
	}
	now := s.now()
	var (
		out    Provider
		traits []Trait
	)
	err := s.store.Update(ctx, func(tx Tx) error {
		p, err := lockProvider(ctx, tx, uuid)
		if err != nil {
			return err
		}
		if p.Generation != generation {
			return codedf(ErrConflict, CodeConcurrentUpdate,
				"Resource provider's generation already changed. Please update the generation and try again.")
		}
		names = uniqueSorted(names)
		ts, err := tx.Traits(ctx, TraitFilter{NameIn: names})
		if err != nil {
			return err
		}
		if len(ts) != len(names) {
			var missing []string
			for _, n := range names {
				if !slices.ContainsFunc(ts, func(t Trait) bool { return t.Name == n }) {
					missing = append(missing, n)
				}
			}
			return errorf(ErrBadRequest, "No such trait %s", strings.Join(missing, ", "))
		}
		out, traits, err = s.replaceTraits(ctx, tx, p, ts, now)
		return err
	})
	return out, traits, err
}

// replaceTraits sets the locked provider's traits to ts, bumping its
// generation when they change.
func (s *Service) replaceTraits(ctx context.Context, tx Tx, p Provider, ts []Trait, now time.Time) (Provider, []Trait, error) {
	current, err := tx.ProviderTraits(ctx, p.ID)
	if err != nil {
		return Provider{}, nil, err
	}
	if sameTraits(current, ts) {
		return p, ts, nil
	}
	ids := make([]int64, len(ts))
	for i, t := range ts {
		ids[i] = t.ID
	}
	if err := tx.SetProviderTraits(ctx, p.ID, ids); err != nil {
		return Provider{}, nil, err
	}
	p, err = bump(ctx, tx, p, now)
	return p, ts, err
}

func sameTraits(a, b []Trait) bool {
	if len(a) != len(b) {
		return false
	}
	seen := make(map[int64]bool, len(a))
	for _, t := range a {
		seen[t.ID] = true
	}
	for _, t := range b {
		if !seen[t.ID] {
			return false
		}
	}
	return true
}

// DeleteProviderTraits removes every trait of a provider.
func (s *Service) DeleteProviderTraits(ctx context.Context, uuid string) error {
	if err := s.authorize(ctx, RuleProviderTraitDelete); err != nil {
		return err
	}
	now := s.now()
	return s.store.Update(ctx, func(tx Tx) error {
		p, err := lockProvider(ctx, tx, uuid)
		if err != nil {
			return err
		}
		_, _, err = s.replaceTraits(ctx, tx, p, nil, now)
		return err
	})
}

// ProviderAggregates returns a provider and the uuids of its aggregates.
func (s *Service) ProviderAggregates(ctx context.Context, uuid string) (Provider, []string, error) {
	if err := s.authorize(ctx, RuleAggregateList); err != nil {
		return Provider{}, nil, err
	}
	r := s.store.Reader()
	p, err := s.provider(ctx, r, uuid)
	if err != nil {
		return Provider{}, nil, err
	}
	aggs, err := r.ProviderAggregates(ctx, p.ID)
	return p, aggs, err
}

// SetProviderAggregates replaces a provider's aggregates. With a generation
// (1.19) it must match, and the generation advances.
func (s *Service) SetProviderAggregates(ctx context.Context, uuid string, generation *int64, aggs []string) (Provider, error) {
	if err := s.authorize(ctx, RuleAggregateUpdate); err != nil {
		return Provider{}, err
	}
	now := s.now()
	var out Provider
	err := s.store.Update(ctx, func(tx Tx) error {
		p, err := lockProvider(ctx, tx, uuid)
		if err != nil {
			return err
		}
		if generation != nil && *generation != p.Generation {
			return codedf(ErrConflict, CodeConcurrentUpdate,
				"Resource provider's generation already changed. Please update the generation and try again.")
		}
		if err := tx.SetProviderAggregates(ctx, p.ID, aggs); err != nil {
			return err
		}
		out = p
		if generation != nil {
			out, err = bump(ctx, tx, p, now)
		}
		return err
	})
	return out, err
}
