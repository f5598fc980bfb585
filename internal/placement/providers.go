package placement

import (
	"context"
	"errors"
	"slices"
	"sort"
	"strings"
)

// NewProvider is what POST /resource_providers asks for.
type NewProvider struct {
	// UUID is the provider's uuid in canonical form; "" makes one.
	UUID string
	Name string
	// ParentUUID names the parent (1.14); "" makes a root.
	ParentUUID string
}

// CreateProvider creates a resource provider.
func (s *Service) CreateProvider(ctx context.Context, np NewProvider) (Provider, error) {
	if err := s.authorize(ctx, RuleProviderCreate); err != nil {
		return Provider{}, err
	}
	if np.UUID == "" {
		np.UUID = s.newUUID()
	}
	fail := func(reason string) error {
		return errorf(ErrBadRequest, "Unable to create resource provider \"%s\", %s: Object action create failed because: %s",
			np.Name, np.UUID, reason)
	}
	if np.ParentUUID == np.UUID {
		return Provider{}, fail("parent provider UUID cannot be same as UUID. " +
			"Please set parent provider UUID to None if there is no parent.")
	}
	now := s.now()
	var out Provider
	err := s.store.Update(ctx, func(tx Tx) error {
		p := Provider{UUID: np.UUID, Name: np.Name, CreatedAt: now, UpdatedAt: now}
		if np.ParentUUID != "" {
			parent, err := tx.Provider(ctx, np.ParentUUID)
			if errors.Is(err, ErrNotFound) {
				return fail("parent provider UUID does not exist.")
			}
			if err != nil {
				return err
			}
			p.ParentID, p.ParentUUID, p.RootID, p.RootUUID = parent.ID, parent.UUID, parent.RootID, parent.RootUUID
		}
		if err := duplicateProvider(ctx, tx, p.UUID, p.Name); err != nil {
			return err
		}
		created, err := tx.CreateProvider(ctx, p)
		if errors.Is(err, ErrConflict) {
			return codedf(ErrConflict, CodeDuplicateName, "Conflicting resource provider uuid: %s, name: %s already exists.", p.UUID, p.Name)
		}
		out = created
		return err
	})
	return out, err
}

// duplicateProvider names which of uuid and name another provider already has.
func duplicateProvider(ctx context.Context, r Reader, uuid, name string) error {
	var dups []string
	if _, err := r.Provider(ctx, uuid); err == nil {
		dups = append(dups, "uuid: "+uuid)
	} else if !errors.Is(err, ErrNotFound) {
		return err
	}
	named, err := r.Providers(ctx, ProviderFilter{Name: name})
	if err != nil {
		return err
	}
	if len(named) > 0 {
		dups = append(dups, "name: "+name)
	}
	if len(dups) > 0 {
		return codedf(ErrConflict, CodeDuplicateName, "Conflicting resource provider %s already exists.", strings.Join(dups, ", "))
	}
	return nil
}

// GetProvider returns one provider.
func (s *Service) GetProvider(ctx context.Context, uuid string) (Provider, error) {
	if err := s.authorize(ctx, RuleProviderShow); err != nil {
		return Provider{}, err
	}
	return s.provider(ctx, s.store.Reader(), uuid)
}

// ProviderQuery is GET /resource_providers' filters, by name.
type ProviderQuery struct {
	Name, UUID, InTree string
	MemberOf           [][]string
	ForbiddenAggs      []string
	RequiredTraits     [][]string
	ForbiddenTraits    []string
	// Resources maps class names to amounts.
	Resources map[string]int64
}

// ListProviders returns the providers q selects.
func (s *Service) ListProviders(ctx context.Context, q ProviderQuery) ([]Provider, error) {
	if err := s.authorize(ctx, RuleProviderList); err != nil {
		return nil, err
	}
	r := s.store.Reader()
	f := ProviderFilter{Name: q.Name, UUID: q.UUID, InTree: q.InTree, MemberOf: q.MemberOf, ForbiddenAggs: q.ForbiddenAggs}
	if len(q.Resources) > 0 {
		names := sortedKeys(q.Resources)
		ids, err := r.ClassIDs(ctx, names)
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			id, ok := ids[n]
			if !ok {
				return nil, errorf(ErrBadRequest, "Invalid resource class in resources parameter: No such resource class %s.", n)
			}
			f.Resources = append(f.Resources, ClassAmount{ClassID: id, Amount: q.Resources[n]})
		}
	}
	if len(q.RequiredTraits) > 0 || len(q.ForbiddenTraits) > 0 {
		ids, err := resolveTraits(ctx, r, append(slices.Concat(q.RequiredTraits...), q.ForbiddenTraits...))
		if err != nil {
			return nil, errorf(ErrBadRequest, "Invalid trait(s) in \"required\" parameter: %s", err.Error())
		}
		for _, anyOf := range q.RequiredTraits {
			f.RequiredTraits = append(f.RequiredTraits, idsOf(anyOf, ids))
		}
		f.ForbiddenTraits = idsOf(q.ForbiddenTraits, ids)
	}
	return r.Providers(ctx, f)
}

// resolveTraits maps trait names to ids; a missing name is an *Error naming
// every missing trait, as placement's TraitNotFound does.
func resolveTraits(ctx context.Context, r Reader, names []string) (map[string]int64, error) {
	names = uniqueSorted(names)
	ids, err := r.TraitIDs(ctx, names)
	if err != nil {
		return nil, err
	}
	var missing []string
	for _, n := range names {
		if _, ok := ids[n]; !ok {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return nil, errorf(ErrBadRequest, "No such trait(s): %s.", strings.Join(missing, ", "))
	}
	return ids, nil
}

func idsOf[T any](names []string, ids map[string]T) []T {
	out := make([]T, 0, len(names))
	for _, n := range names {
		out = append(out, ids[n])
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func uniqueSorted(in []string) []string {
	out := slices.Clone(in)
	slices.Sort(out)
	return slices.Compact(out)
}

// ProviderUpdate is what PUT /resource_providers/{uuid} asks for.
type ProviderUpdate struct {
	Name string
	// SetParent is set when the body names parent_provider_uuid (1.14);
	// ParentUUID "" then means null.
	SetParent  bool
	ParentUUID string
	// AllowReparent permits moving a child to another parent or making it a
	// root (1.37).
	AllowReparent bool
}

// UpdateProvider renames a provider and moves it in its tree. It does not
// change the provider's generation, as placement does not.
func (s *Service) UpdateProvider(ctx context.Context, uuid string, u ProviderUpdate) (Provider, error) {
	if err := s.authorize(ctx, RuleProviderUpdate); err != nil {
		return Provider{}, err
	}
	now := s.now()
	var out Provider
	err := s.store.Update(ctx, func(tx Tx) error {
		p, err := lockProvider(ctx, tx, uuid)
		if err != nil {
			return err
		}
		p.Name, p.UpdatedAt = u.Name, now
		var moved []Provider
		if u.SetParent {
			if moved, err = reparent(ctx, tx, &p, u); err != nil {
				return err
			}
		}
		if err := tx.UpdateProvider(ctx, p); err != nil {
			if errors.Is(err, ErrConflict) {
				return codedf(ErrConflict, CodeDuplicateName, "Conflicting resource provider %s already exists.", u.Name)
			}
			return err
		}
		if len(moved) > 0 {
			ids := make([]int64, len(moved))
			for i, m := range moved {
				ids[i] = m.ID
			}
			if err := tx.SetRoot(ctx, ids, p.RootID); err != nil {
				return err
			}
		}
		out = p
		return nil
	})
	return out, err
}

// reparent applies u's parent to p and returns the descendants whose root
// changes with it.
func reparent(ctx context.Context, tx Tx, p *Provider, u ProviderUpdate) ([]Provider, error) {
	fail := func(action, reason string) error {
		return errorf(ErrBadRequest, "Unable to save resource provider %s: Object action %s failed because: %s", p.UUID, action, reason)
	}
	if u.ParentUUID == "" {
		if p.ParentID == 0 {
			return nil, nil
		}
		if !u.AllowReparent {
			return nil, fail("update", "un-parenting a provider is not currently allowed.")
		}
		sub, err := descendants(ctx, tx, p.ID)
		if err != nil {
			return nil, err
		}
		p.ParentID, p.ParentUUID, p.RootID, p.RootUUID = 0, "", p.ID, p.UUID
		return sub, nil
	}
	parent, err := tx.Provider(ctx, u.ParentUUID)
	if errors.Is(err, ErrNotFound) {
		return nil, fail("create", "parent provider UUID does not exist.")
	}
	if err != nil {
		return nil, err
	}
	if parent.ID == p.ParentID {
		return nil, nil
	}
	if p.ParentID != 0 && !u.AllowReparent {
		return nil, fail("update", "re-parenting a provider is not currently allowed.")
	}
	sub, err := descendants(ctx, tx, p.ID)
	if err != nil {
		return nil, err
	}
	if parent.ID == p.ID || slices.ContainsFunc(sub, func(d Provider) bool { return d.ID == parent.ID }) {
		return nil, fail("update", "creating loop in the provider tree is not allowed.")
	}
	p.ParentID, p.ParentUUID, p.RootID, p.RootUUID = parent.ID, parent.UUID, parent.RootID, parent.RootUUID
	return sub, nil
}

// descendants returns the providers below id (not id itself).
func descendants(ctx context.Context, r Reader, id int64) ([]Provider, error) {
	sub, err := r.Subtree(ctx, id)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(sub, func(p Provider) bool { return p.ID == id }), nil
}

// DeleteProvider deletes a provider that has no children and no allocations,
// with its inventories, traits and aggregate links.
func (s *Service) DeleteProvider(ctx context.Context, uuid string) error {
	if err := s.authorize(ctx, RuleProviderDelete); err != nil {
		return err
	}
	return s.store.Update(ctx, func(tx Tx) error {
		ps, err := tx.LockProviders(ctx, []string{uuid})
		if err != nil {
			return err
		}
		if len(ps) == 0 {
			return errorf(ErrNotFound, "No resource provider with uuid %s found for delete", uuid)
		}
		p := ps[0]
		children, err := tx.HasChildren(ctx, p.ID)
		if err != nil {
			return err
		}
		if children {
			return codedf(ErrConflict, CodeProviderCannotDelete,
				"Unable to delete parent resource provider %s: It has child resource providers.", uuid)
		}
		used, err := tx.HasAllocations(ctx, p.ID)
		if err != nil {
			return err
		}
		if used {
			return codedf(ErrConflict, CodeProviderInUse,
				"Unable to delete resource provider %s: Resource provider has allocations.", uuid)
		}
		return tx.DeleteProvider(ctx, p.ID)
	})
}
