package placement

import (
	"context"
	"sort"
	"strings"
	"time"
)

// InventoryOptions are the microversion-dependent inventory rules.
type InventoryOptions struct {
	// ReservedMayEqualTotal allows a capacity of 0 (1.26).
	ReservedMayEqualTotal bool
	// skipCapacity leaves capacity unchecked, as the reshaper does.
	skipCapacity bool
	// unknownClass prefixes the error about a class that does not exist.
	unknownClass string
}

// Inventories returns a provider and its inventories, by class id order.
func (s *Service) Inventories(ctx context.Context, uuid string) (Provider, []Inventory, error) {
	if err := s.authorize(ctx, RuleInventoryList); err != nil {
		return Provider{}, nil, err
	}
	r := s.store.Reader()
	p, err := s.provider(ctx, r, uuid)
	if err != nil {
		return Provider{}, nil, err
	}
	invs, err := r.Inventories(ctx, p.ID)
	return p, invs, err
}

// Inventory returns a provider and its inventory of one class.
func (s *Service) Inventory(ctx context.Context, uuid, class string) (Provider, Inventory, error) {
	if err := s.authorize(ctx, RuleInventoryShow); err != nil {
		return Provider{}, Inventory{}, err
	}
	r := s.store.Reader()
	p, err := s.provider(ctx, r, uuid)
	if err != nil {
		return Provider{}, Inventory{}, err
	}
	invs, err := r.Inventories(ctx, p.ID)
	if err != nil {
		return Provider{}, Inventory{}, err
	}
	for _, inv := range invs {
		if inv.ResourceClass == class {
			return p, inv, nil
		}
	}
	return Provider{}, Inventory{}, errorf(ErrNotFound, "No inventory of class %s for %s", class, uuid)
}

// checkCapacity refuses an inventory whose capacity is negative, or zero
// before 1.26.
func checkCapacity(uuid string, inv Inventory, o InventoryOptions) error {
	if o.skipCapacity {
		return nil
	}
	c := inv.Capacity()
	switch {
	case o.ReservedMayEqualTotal && c < 0:
		return errorf(ErrBadRequest, "Invalid inventory for '%s' on resource provider '%s'. The reserved value is greater than total.",
			inv.ResourceClass, uuid)
	case !o.ReservedMayEqualTotal && c <= 0:
		return errorf(ErrBadRequest, "Invalid inventory for '%s' on resource provider '%s'. The reserved value is greater than or equal to total.",
			inv.ResourceClass, uuid)
	}
	return nil
}

// prefixed wraps an *Error's message with a prefix, keeping kind and code.
func prefixed(err error, prefix string) error {
	if e, ok := err.(*Error); ok {
		return &Error{Kind: e.Kind, Code: e.Code, Message: prefix + e.Message}
	}
	return err
}

// CreateInventory adds the inventory of a class the provider does not have
// yet (POST /resource_providers/{uuid}/inventories).
func (s *Service) CreateInventory(ctx context.Context, uuid string, inv Inventory, o InventoryOptions) (Provider, Inventory, error) {
	if err := s.authorize(ctx, RuleInventoryCreate); err != nil {
		return Provider{}, Inventory{}, err
	}
	now := s.now()
	var out Provider
	err := s.store.Update(ctx, func(tx Tx) error {
		p, err := lockProvider(ctx, tx, uuid)
		if err != nil {
			return err
		}
		prefix := "Unable to create inventory for resource provider " + uuid + ": "
		if err := checkCapacity(uuid, inv, o); err != nil {
			return prefixed(err, prefix)
		}
		ids, err := tx.ClassIDs(ctx, []string{inv.ResourceClass})
		if err != nil {
			return err
		}
		id, ok := ids[inv.ResourceClass]
		if !ok {
			return errorf(ErrBadRequest, "%sNo such resource class %s.", prefix, inv.ResourceClass)
		}
		current, err := inventoriesByID(ctx, tx, p.ID)
		if err != nil {
			return err
		}
		if _, dup := current[id]; dup {
			return codedf(ErrConflict, CodeConcurrentUpdate, "Update conflict: Inventory for '%s' on resource provider '%s' already exists.",
				inv.ResourceClass, uuid)
		}
		inv.CreatedAt, inv.UpdatedAt = now, now
		current[id] = inv
		if err := tx.ReplaceInventories(ctx, p.ID, current, now); err != nil {
			return err
		}
		out, err = bump(ctx, tx, p, now)
		return err
	})
	if err != nil {
		return Provider{}, Inventory{}, err
	}
	inv.CreatedAt, inv.UpdatedAt = now, now
	return out, inv, nil
}

// inventoriesByID returns the provider's inventories keyed by class id.
func inventoriesByID(ctx context.Context, tx Tx, providerID int64) (map[int]Inventory, error) {
	invs, err := tx.Inventories(ctx, providerID)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(invs))
	for i, inv := range invs {
		names[i] = inv.ResourceClass
	}
	ids, err := tx.ClassIDs(ctx, names)
	if err != nil {
		return nil, err
	}
	out := make(map[int]Inventory, len(invs))
	for _, inv := range invs {
		out[ids[inv.ResourceClass]] = inv
	}
	return out, nil
}

// bump advances the locked provider's generation.
func bump(ctx context.Context, tx Tx, p Provider, now time.Time) (Provider, error) {
	if err := tx.BumpGeneration(ctx, p.ID, p.Generation, now); err != nil {
		return Provider{}, staleAsConflict(err)
	}
	p.Generation++
	p.UpdatedAt = now
	return p, nil
}

// staleAsConflict turns a store's ErrStale into placement's concurrent update.
func staleAsConflict(err error) error {
	if isStale(err) {
		return concurrentUpdate("")
	}
	return err
}

// SetInventories replaces all of a provider's inventory (PUT
// /resource_providers/{uuid}/inventories). Removing a class that has
// allocations is refused; lowering a total below what is allocated is allowed,
// as in placement, and logged.
func (s *Service) SetInventories(ctx context.Context, uuid string, generation int64, invs []Inventory, o InventoryOptions) (Provider, []Inventory, error) {
	if err := s.authorize(ctx, RuleInventoryUpdate); err != nil {
		return Provider{}, nil, err
	}
	now := s.now()
	var out Provider
	err := s.store.Update(ctx, func(tx Tx) error {
		p, err := lockProvider(ctx, tx, uuid)
		if err != nil {
			return err
		}
		if p.Generation != generation {
			return codedf(ErrConflict, CodeConcurrentUpdate, "resource provider generation conflict")
		}
		out, err = s.replaceInventory(ctx, tx, p, invs, o, now)
		return err
	})
	if err != nil {
		return Provider{}, nil, err
	}
	for i := range invs {
		invs[i].CreatedAt, invs[i].UpdatedAt = now, now
	}
	sort.Slice(invs, func(i, j int) bool { return invs[i].ResourceClass < invs[j].ResourceClass })
	return out, invs, nil
}

// replaceInventory makes the locked provider's inventory exactly invs and
// bumps its generation.
func (s *Service) replaceInventory(ctx context.Context, tx Tx, p Provider, invs []Inventory, o InventoryOptions, now time.Time) (Provider, error) {
	prefix := "Unable to update inventory for resource provider " + p.UUID + ": "
	names := make([]string, len(invs))
	for i, inv := range invs {
		if err := checkCapacity(p.UUID, inv, o); err != nil {
			return Provider{}, prefixed(err, prefix)
		}
		names[i] = inv.ResourceClass
	}
	ids, err := tx.ClassIDs(ctx, names)
	if err != nil {
		return Provider{}, err
	}
	want := make(map[int]Inventory, len(invs))
	for _, inv := range invs {
		id, ok := ids[inv.ResourceClass]
		if !ok {
			prefix := o.unknownClass
			if prefix == "" {
				prefix = "Unknown resource class in inventory for resource provider " + p.UUID + ": "
			}
			return Provider{}, errorf(ErrBadRequest, "%sNo such resource class %s.", prefix, inv.ResourceClass)
		}
		want[id] = inv
	}
	current, err := inventoriesByID(ctx, tx, p.ID)
	if err != nil {
		return Provider{}, err
	}
	var gone []int
	for id := range current {
		if _, keep := want[id]; !keep {
			gone = append(gone, id)
		}
	}
	if err := refuseInUse(ctx, tx, p, gone, "update conflict: ", CodeInventoryInUse); err != nil {
		return Provider{}, err
	}
	s.warnOverCapacity(ctx, tx, p, want)
	for id, inv := range want {
		if old, ok := current[id]; ok {
			inv.CreatedAt = old.CreatedAt
		} else {
			inv.CreatedAt = now
		}
		inv.UpdatedAt = now
		want[id] = inv
	}
	if err := tx.ReplaceInventories(ctx, p.ID, want, now); err != nil {
		return Provider{}, err
	}
	return bump(ctx, tx, p, now)
}

// refuseInUse fails when the provider has allocations of any of the classes.
func refuseInUse(ctx context.Context, tx Tx, p Provider, classIDs []int, prefix, code string) error {
	if len(classIDs) == 0 {
		return nil
	}
	used, err := tx.AllocatedClasses(ctx, p.ID, classIDs)
	if err != nil {
		return err
	}
	if len(used) > 0 {
		return codedf(ErrConflict, code, "%sInventory for '%s' on resource provider '%s' in use.",
			prefix, strings.Join(used, ", "), p.UUID)
	}
	return nil
}

// warnOverCapacity logs classes whose new capacity is below what is allocated.
func (s *Service) warnOverCapacity(ctx context.Context, tx Tx, p Provider, want map[int]Inventory) {
	ids := make([]int, 0, len(want))
	for id := range want {
		ids = append(ids, id)
	}
	usage, err := tx.InventoryUsage(ctx, []int64{p.ID}, ids)
	if err != nil {
		return
	}
	for _, u := range usage {
		if inv, ok := want[u.ClassID]; ok && u.Used > inv.Capacity() {
			s.log.Warn("resource provider is now over capacity", "resource_provider", p.UUID,
				"resource_class", inv.ResourceClass, "used", u.Used, "capacity", inv.Capacity())
		}
	}
}

// UpdateInventory replaces the inventory of one class the provider has (PUT
// /resource_providers/{uuid}/inventories/{resource_class}).
func (s *Service) UpdateInventory(ctx context.Context, uuid string, generation int64, inv Inventory, o InventoryOptions) (Provider, Inventory, error) {
	if err := s.authorize(ctx, RuleInventoryUpdate); err != nil {
		return Provider{}, Inventory{}, err
	}
	now := s.now()
	var out Provider
	err := s.store.Update(ctx, func(tx Tx) error {
		p, err := lockProvider(ctx, tx, uuid)
		if err != nil {
			return err
		}
		if p.Generation != generation {
			return codedf(ErrConflict, CodeConcurrentUpdate, "resource provider generation conflict")
		}
		if err := checkCapacity(uuid, inv, o); err != nil {
			return prefixed(err, "Unable to update inventory for resource provider "+uuid+": ")
		}
		ids, err := tx.ClassIDs(ctx, []string{inv.ResourceClass})
		if err != nil {
			return err
		}
		id, ok := ids[inv.ResourceClass]
		if !ok {
			return errorf(ErrNotFound, "No such resource class %s.", inv.ResourceClass)
		}
		current, err := inventoriesByID(ctx, tx, p.ID)
		if err != nil {
			return err
		}
		old, ok := current[id]
		if !ok {
			return errorf(ErrBadRequest, "No inventory record with resource class for resource provider %s: No inventory of class %s found.",
				uuid, inv.ResourceClass)
		}
		inv.CreatedAt, inv.UpdatedAt = old.CreatedAt, now
		current[id] = inv
		s.warnOverCapacity(ctx, tx, p, map[int]Inventory{id: inv})
		if err := tx.ReplaceInventories(ctx, p.ID, current, now); err != nil {
			return err
		}
		out, err = bump(ctx, tx, p, now)
		return err
	})
	if err != nil {
		return Provider{}, Inventory{}, err
	}
	inv.UpdatedAt = now
	return out, inv, nil
}

// DeleteInventory removes the inventory of one class that has no allocations.
func (s *Service) DeleteInventory(ctx context.Context, uuid, class string) error {
	if err := s.authorize(ctx, RuleInventoryDelete); err != nil {
		return err
	}
	now := s.now()
	return s.store.Update(ctx, func(tx Tx) error {
		p, err := lockProvider(ctx, tx, uuid)
		if err != nil {
			return err
		}
		ids, err := tx.ClassIDs(ctx, []string{class})
		if err != nil {
			return err
		}
		id, ok := ids[class]
		if !ok {
			return errorf(ErrNotFound, "No inventory of class %s found for delete: No such resource class %s.", class, class)
		}
		current, err := inventoriesByID(ctx, tx, p.ID)
		if err != nil {
			return err
		}
		if _, ok := current[id]; !ok {
			return errorf(ErrNotFound, "No inventory of class %s found for delete", class)
		}
		prefix := "Unable to delete inventory of class " + class + ": "
		if err := refuseInUse(ctx, tx, p, []int{id}, prefix, CodeConcurrentUpdate); err != nil {
			return err
		}
		delete(current, id)
		if err := tx.ReplaceInventories(ctx, p.ID, current, now); err != nil {
			return err
		}
		_, err = bump(ctx, tx, p, now)
		return err
	})
}

// DeleteInventories removes all of a provider's inventory (1.5).
func (s *Service) DeleteInventories(ctx context.Context, uuid string) error {
	if err := s.authorize(ctx, RuleInventoryDelete); err != nil {
		return err
	}
	now := s.now()
	return s.store.Update(ctx, func(tx Tx) error {
		p, err := lockProvider(ctx, tx, uuid)
		if err != nil {
			return err
		}
		current, err := inventoriesByID(ctx, tx, p.ID)
		if err != nil {
			return err
		}
		ids := make([]int, 0, len(current))
		for id := range current {
			ids = append(ids, id)
		}
		if err := refuseInUse(ctx, tx, p, ids, "", CodeInventoryInUse); err != nil {
			return err
		}
		if err := tx.ReplaceInventories(ctx, p.ID, nil, now); err != nil {
			return err
		}
		_, err = bump(ctx, tx, p, now)
		return err
	})
}
