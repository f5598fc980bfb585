package placement

import (
	"context"
	"sort"
	"time"
)

// ReshapeInventory is one provider's new inventory in a reshape.
type ReshapeInventory struct {
	ProviderUUID string
	// Generation is the provider generation the caller saw.
	Generation  int64
	Inventories []Inventory
}

// Reshape moves inventory and allocations between providers atomically
// (POST /reshaper, 1.30): each provider first gets its new inventory merged
// over the old, then the allocations are replaced, then each provider's
// inventory becomes exactly the new one. Capacity is not checked for the new
// inventory, as placement does not.
func (s *Service) Reshape(ctx context.Context, invs []ReshapeInventory, ws []ConsumerWrite, o AllocationOptions) error {
	if err := s.authorize(ctx, RuleReshape); err != nil {
		return err
	}
	sort.Slice(invs, func(i, j int) bool { return invs[i].ProviderUUID < invs[j].ProviderUUID })
	now := s.now()
	return s.store.Update(ctx, func(tx Tx) error {
		var uuids []string
		for _, ri := range invs {
			uuids = append(uuids, ri.ProviderUUID)
		}
		for _, w := range ws {
			for rp := range w.Allocations {
				uuids = append(uuids, rp)
			}
		}
		locked, err := tx.LockProviders(ctx, uniqueSorted(uuids))
		if err != nil {
			return err
		}
		byUUID := make(map[string]Provider, len(locked))
		for _, p := range locked {
			byUUID[p.UUID] = p
		}
		for _, ri := range invs {
			p, ok := byUUID[ri.ProviderUUID]
			if !ok {
				return codedf(ErrBadRequest, CodeProviderNotFound,
					"Resource provider %s in inventories not found: No resource provider with uuid %s found",
					ri.ProviderUUID, ri.ProviderUUID)
			}
			if p.Generation != ri.Generation {
				return codedf(ErrConflict, CodeConcurrentUpdate,
					"resource provider generation conflict for provider %s: actual: %d, given: %d", p.UUID, p.Generation, ri.Generation)
			}
		}
		return s.reshape(ctx, tx, invs, byUUID, ws, o, now)
	})
}

func (s *Service) reshape(ctx context.Context, tx Tx, invs []ReshapeInventory, byUUID map[string]Provider,
	ws []ConsumerWrite, o AllocationOptions, now time.Time) error {
	io := InventoryOptions{skipCapacity: true, unknownClass: "malformed reshaper data: "}
	for _, ri := range invs {
		if len(ri.Inventories) == 0 {
			continue
		}
		p := byUUID[ri.ProviderUUID]
		current, err := tx.Inventories(ctx, p.ID)
		if err != nil {
			return err
		}
		merged := map[string]Inventory{}
		for _, inv := range current {
			merged[inv.ResourceClass] = inv
		}
		for _, inv := range ri.Inventories {
			merged[inv.ResourceClass] = inv
		}
		list := make([]Inventory, 0, len(merged))
		for _, inv := range merged {
			list = append(list, inv)
		}
		if _, err := s.replaceInventory(ctx, tx, p, list, io, now); err != nil {
			return err
		}
	}
	aw := &allocWrite{s: s, tx: tx, ws: ws, o: o, badPrefix: "malformed reshaper data: ", now: now}
	if err := aw.run(ctx); err != nil {
		if isStale(err) || err == errProviderStale {
			return concurrentUpdate("update conflict: ")
		}
		return err
	}
	for _, ri := range invs {
		ps, err := tx.LockProviders(ctx, []string{ri.ProviderUUID})
		if err != nil {
			return err
		}
		if _, err := s.replaceInventory(ctx, tx, ps[0], ri.Inventories, io, now); err != nil {
			return err
		}
	}
	return nil
}
