package placement

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ConsumerWrite is one consumer's part of an allocation write: the
// allocations it should hold afterwards.
type ConsumerWrite struct {
	ConsumerUUID string
	// ProjectID and UserID own the consumer; "" (before 1.8) records the
	// configured incomplete consumer ids.
	ProjectID, UserID string
	// ConsumerType is set from 1.38; "" leaves an existing consumer's type.
	ConsumerType string
	// Generation is the consumer generation the caller saw (1.28); nil is
	// JSON null: the caller expects no consumer.
	Generation *int64
	// Allocations maps provider uuids to amounts by class; empty removes all
	// of the consumer's allocations.
	Allocations map[string]map[string]int64
}

// AllocationOptions are the microversion-dependent allocation rules.
type AllocationOptions struct {
	// CheckGeneration enforces consumer generations (1.28).
	CheckGeneration bool
}

// errProviderStale marks an allocation write that lost a race on a provider
// generation; the write is tried again.
var errProviderStale = errors.New("provider generation changed during allocation write")

// SetConsumerAllocations replaces one consumer's allocations (PUT
// /allocations/{consumer_uuid}).
func (s *Service) SetConsumerAllocations(ctx context.Context, w ConsumerWrite, o AllocationOptions) error {
	if err := s.authorize(ctx, RuleAllocationUpdate); err != nil {
		return err
	}
	return s.writeAllocations(ctx, []ConsumerWrite{w}, o, "Unable to allocate inventory for consumer "+w.ConsumerUUID+": ")
}

// SetAllocations replaces the allocations of several consumers at once
// (POST /allocations, 1.13).
func (s *Service) SetAllocations(ctx context.Context, ws []ConsumerWrite, o AllocationOptions) error {
	if err := s.authorize(ctx, RuleAllocationManage); err != nil {
		return err
	}
	return s.writeAllocations(ctx, ws, o, "Unable to allocate inventory ")
}

// writeAllocations runs the allocation write in one transaction, again when
// a provider generation moved under it, at most ConflictRetries times.
func (s *Service) writeAllocations(ctx context.Context, ws []ConsumerWrite, o AllocationOptions, badPrefix string) error {
	var err error
	for attempt := 0; attempt < s.cfg.ConflictRetries; attempt++ {
		now := s.now()
		err = s.store.Update(ctx, func(tx Tx) error {
			aw := &allocWrite{s: s, tx: tx, ws: ws, o: o, badPrefix: badPrefix, now: now}
			return aw.run(ctx)
		})
		if !errors.Is(err, errProviderStale) {
			return err
		}
		s.log.Debug("retrying allocation write after a provider generation conflict", "attempt", attempt+1)
	}
	return codedf(ErrConflict, CodeConcurrentUpdate,
		"Inventory and/or allocations changed while attempting to allocate: Another thread concurrently updated the resource provider data. %s",
		concurrentUpdateRetryHint)
}

// allocWrite is one allocation write inside a transaction.
type allocWrite struct {
	s         *Service
	tx        Tx
	ws        []ConsumerWrite
	o         AllocationOptions
	badPrefix string
	now       time.Time

	byUUID    map[string]Provider
	byID      map[int64]Provider
	classIDs  map[string]int
	consumers []Consumer
	existing  [][]Allocation
}

// run writes the allocations.
func (a *allocWrite) run(ctx context.Context) error {
	if err := a.lock(ctx); err != nil {
		return err
	}
	if err := a.loadConsumers(ctx); err != nil {
		return err
	}
	if err := a.lockEmptied(ctx); err != nil {
		return err
	}
	if err := a.resolve(ctx); err != nil {
		return err
	}
	rows, err := a.rows()
	if err != nil {
		return err
	}
	if err := a.checkCapacity(ctx, rows); err != nil {
		return err
	}
	for _, c := range a.consumers {
		if err := a.tx.DeleteConsumerAllocations(ctx, c.UUID); err != nil {
			return err
		}
	}
	if err := a.tx.InsertAllocations(ctx, rows, a.now); err != nil {
		return err
	}
	if err := a.bumpProviders(ctx, rows); err != nil {
		return err
	}
	return a.finishConsumers(ctx, rows)
}

// lock reads and locks the providers named in the write, before anything
// else is read.
func (a *allocWrite) lock(ctx context.Context) error {
	var uuids []string
	for _, w := range a.ws {
		for rp := range w.Allocations {
			uuids = append(uuids, rp)
		}
	}
	ps, err := a.tx.LockProviders(ctx, uniqueSorted(uuids))
	if err != nil {
		return err
	}
	a.byUUID = make(map[string]Provider, len(ps))
	a.byID = make(map[int64]Provider, len(ps))
	for _, p := range ps {
		a.byUUID[p.UUID], a.byID[p.ID] = p, p
	}
	return nil
}

// lockEmptied locks the providers a consumer's allocations are removed from
// entirely, whose generations advance too.
func (a *allocWrite) lockEmptied(ctx context.Context) error {
	var ids []int64
	for i, w := range a.ws {
		if len(w.Allocations) > 0 {
			continue
		}
		for _, al := range a.existing[i] {
			if _, ok := a.byID[al.ProviderID]; !ok {
				ids = append(ids, al.ProviderID)
			}
		}
	}
	if len(ids) == 0 {
		return nil
	}
	ps, err := a.tx.LockProviderIDs(ctx, uniqueInts(ids))
	if err != nil {
		return err
	}
	for _, p := range ps {
		a.byUUID[p.UUID], a.byID[p.ID] = p, p
	}
	return nil
}

// loadConsumers reads, checks and creates the consumers, in request order.
func (a *allocWrite) loadConsumers(ctx context.Context) error {
	a.consumers = make([]Consumer, len(a.ws))
	a.existing = make([][]Allocation, len(a.ws))
	for i, w := range a.ws {
		project, user := w.ProjectID, w.UserID
		if project == "" {
			project, user = a.s.cfg.IncompleteProjectID, a.s.cfg.IncompleteUserID
		}
		c, err := a.tx.Consumer(ctx, w.ConsumerUUID)
		switch {
		case err == nil:
			if a.o.CheckGeneration && (w.Generation == nil || *w.Generation != c.Generation) {
				return codedf(ErrConflict, CodeConcurrentUpdate, "consumer generation conflict - expected %d but got %s",
					c.Generation, genString(w.Generation))
			}
		case errors.Is(err, ErrNotFound):
			if a.o.CheckGeneration && w.Generation != nil {
				return codedf(ErrConflict, CodeConcurrentUpdate, "consumer generation conflict - expected null but got %d", *w.Generation)
			}
			c = Consumer{UUID: w.ConsumerUUID, ProjectID: project, UserID: user, Type: w.ConsumerType,
				CreatedAt: a.now, UpdatedAt: a.now}
			if err := a.tx.CreateConsumer(ctx, c); err != nil {
				return err
			}
		default:
			return err
		}
		c.ProjectID, c.UserID = project, user
		if w.ConsumerType != "" {
			c.Type = w.ConsumerType
		}
		a.consumers[i] = c
		if a.existing[i], err = a.tx.ConsumerAllocations(ctx, w.ConsumerUUID); err != nil {
			return err
		}
	}
	return nil
}

func genString(g *int64) string {
	if g == nil {
		return "None"
	}
	return strconv.FormatInt(*g, 10)
}

// resolve checks that the named providers exist and maps class names to ids.
func (a *allocWrite) resolve(ctx context.Context) error {
	var names []string
	for _, w := range a.ws {
		for _, rp := range sortedKeys(w.Allocations) {
			if _, ok := a.byUUID[rp]; !ok {
				return errorf(ErrBadRequest, "Allocation for resource provider '%s' that does not exist.", rp)
			}
			for rc := range w.Allocations[rp] {
				names = append(names, rc)
			}
		}
	}
	names = uniqueSorted(names)
	ids, err := a.tx.ClassIDs(ctx, names)
	if err != nil {
		return err
	}
	for _, n := range names {
		if _, ok := ids[n]; !ok {
			return errorf(ErrBadRequest, "%sNo such resource class %s.", a.badPrefix, n)
		}
	}
	a.classIDs = ids
	return nil
}

// rows lists the allocations to insert, consumers in request order and
// providers and classes sorted within each.
func (a *allocWrite) rows() ([]AllocationRow, error) {
	var rows []AllocationRow
	for _, w := range a.ws {
		for _, rp := range sortedKeys(w.Allocations) {
			for _, rc := range sortedKeys(w.Allocations[rp]) {
				rows = append(rows, AllocationRow{ProviderID: a.byUUID[rp].ID, ConsumerUUID: w.ConsumerUUID,
					ClassID: a.classIDs[rc], Used: w.Allocations[rp][rc]})
			}
		}
	}
	return rows, nil
}

type rpClass struct {
	rp int64
	rc int
}

// checkCapacity refuses rows that break an inventory's constraints or
// exceed its capacity, counting what the consumers already hold as freed. A
// write that leaves a provider over capacity is still allowed when it lowers
// the overage, as placement allows.
func (a *allocWrite) checkCapacity(ctx context.Context, rows []AllocationRow) error {
	if len(rows) == 0 {
		return nil
	}
	var rpIDs []int64
	var rcIDs []int
	seenRP, seenRC := map[int64]bool{}, map[int]bool{}
	for _, r := range rows {
		if !seenRP[r.ProviderID] {
			seenRP[r.ProviderID] = true
			rpIDs = append(rpIDs, r.ProviderID)
		}
		if !seenRC[r.ClassID] {
			seenRC[r.ClassID] = true
			rcIDs = append(rcIDs, r.ClassID)
		}
	}
	invs, err := a.tx.InventoryUsage(ctx, rpIDs, rcIDs)
	if err != nil {
		return err
	}
	inv := make(map[rpClass]InventoryUsage, len(invs))
	withInv := map[int64]bool{}
	for _, u := range invs {
		inv[rpClass{u.ProviderID, u.ClassID}] = u
		withInv[u.ProviderID] = true
	}
	if err := a.missingInventory(rpIDs, rcIDs, withInv); err != nil {
		return err
	}
	freed := map[rpClass]int64{}
	for _, allocs := range a.existing {
		for _, al := range allocs {
			freed[rpClass{al.ProviderID, al.ClassID}] += al.Used
		}
	}
	needed := map[rpClass]int64{}
	for _, r := range rows {
		k := rpClass{r.ProviderID, r.ClassID}
		needed[k] += r.Used
		if err := a.fits(r, inv, k, freed[k], needed[k]); err != nil {
			return err
		}
	}
	return nil
}

// missingInventory reports providers with no inventory of any requested class.
func (a *allocWrite) missingInventory(rpIDs []int64, rcIDs []int, withInv map[int64]bool) error {
	var missing []string
	for _, id := range rpIDs {
		if !withInv[id] {
			missing = append(missing, a.byID[id].UUID)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	names := make([]string, 0, len(rcIDs))
	for _, id := range rcIDs {
		names = append(names, a.className(id))
	}
	return errorf(ErrConflict, "Unable to allocate inventory: Inventory for '%s' on resource provider '%s' invalid.",
		strings.Join(names, ", "), strings.Join(missing, ", "))
}

// fits checks one row against its inventory.
func (a *allocWrite) fits(r AllocationRow, inv map[rpClass]InventoryUsage, k rpClass, freed, neededAll int64) error {
	rc, rp := a.className(r.ClassID), a.byID[r.ProviderID].UUID
	u, ok := inv[k]
	if !ok {
		return errorf(ErrConflict, "Unable to allocate inventory: Inventory for '%s' on resource provider '%s' invalid.", rc, rp)
	}
	if r.Used < u.MinUnit || r.Used > u.MaxUnit || r.Used%u.StepSize != 0 {
		return errorf(ErrConflict, "Unable to allocate inventory: Unable to create allocation for '%s' on resource provider '%s'. "+
			"The requested amount would violate inventory constraints.", rc, rp)
	}
	used := u.Used - freed
	capacity := float64(u.Total-u.Reserved) * u.AllocationRatio
	if capacity >= float64(used+r.Used) && capacity >= float64(used+neededAll) {
		return nil
	}
	if used+neededAll <= u.Used {
		a.s.log.Warn("allocation leaves a provider over capacity but lowers the overage",
			"resource_provider", rp, "resource_class", rc, "used", used+neededAll, "previously", u.Used)
		return nil
	}
	return errorf(ErrConflict, "Unable to allocate inventory: Unable to create allocation for '%s' on resource provider '%s'. "+
		"The requested amount would exceed the capacity.", rc, rp)
}

func (a *allocWrite) className(id int) string {
	for n, i := range a.classIDs {
		if i == id {
			return n
		}
	}
	return strconv.Itoa(id)
}

// bumpProviders advances the generation of every provider given allocations
// and of those a consumer's allocations were removed from entirely.
func (a *allocWrite) bumpProviders(ctx context.Context, rows []AllocationRow) error {
	ids := map[int64]bool{}
	for _, r := range rows {
		ids[r.ProviderID] = true
	}
	for i, w := range a.ws {
		if len(w.Allocations) == 0 {
			for _, al := range a.existing[i] {
				ids[al.ProviderID] = true
			}
		}
	}
	sorted := make([]int64, 0, len(ids))
	for id := range ids {
		sorted = append(sorted, id)
	}
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	for _, id := range sorted {
		p, ok := a.byID[id]
		if !ok {
			return fmt.Errorf("provider %d was not locked for the allocation write", id)
		}
		err := a.tx.BumpGeneration(ctx, id, p.Generation, a.now)
		if isStale(err) {
			return errProviderStale
		}
		if err != nil {
			return err
		}
		p.Generation++
		a.byID[id], a.byUUID[p.UUID] = p, p
	}
	return nil
}

// finishConsumers advances each consumer's generation and removes the
// consumers left without allocations.
func (a *allocWrite) finishConsumers(ctx context.Context, rows []AllocationRow) error {
	holding := map[string]bool{}
	for _, r := range rows {
		holding[r.ConsumerUUID] = true
	}
	var idle []string
	for _, c := range a.consumers {
		err := a.tx.UpdateConsumer(ctx, c, a.now)
		if isStale(err) {
			return codedf(ErrConflict, CodeConcurrentUpdate,
				"Inventory and/or allocations changed while attempting to allocate: Another thread concurrently updated the data. %s",
				concurrentUpdateRetryHint)
		}
		if err != nil {
			return err
		}
		if !holding[c.UUID] {
			idle = append(idle, c.UUID)
		}
	}
	if len(idle) == 0 {
		return nil
	}
	return a.tx.DeleteIdleConsumers(ctx, idle)
}

// ConsumerAllocations returns a consumer and its allocations; a consumer
// without allocations is the zero Consumer and no allocations.
func (s *Service) ConsumerAllocations(ctx context.Context, uuid string) ([]Allocation, error) {
	if err := s.authorize(ctx, RuleAllocationList); err != nil {
		return nil, err
	}
	return s.store.Reader().ConsumerAllocations(ctx, uuid)
}

// ProviderAllocations returns a provider and the allocations against it.
func (s *Service) ProviderAllocations(ctx context.Context, uuid string) (Provider, []Allocation, error) {
	if err := s.authorize(ctx, RuleProviderAllocationList); err != nil {
		return Provider{}, nil, err
	}
	r := s.store.Reader()
	p, err := r.Provider(ctx, uuid)
	if err != nil {
		return Provider{}, nil, notFoundAs(err, ErrNotFound,
			"Resource provider '%s' not found: No resource provider with uuid %s found", uuid, uuid)
	}
	allocs, err := r.ProviderAllocations(ctx, p.ID)
	return p, allocs, err
}

// DeleteConsumerAllocations removes all of a consumer's allocations and the
// consumer. Provider generations do not change, as in placement.
func (s *Service) DeleteConsumerAllocations(ctx context.Context, uuid string) error {
	if err := s.authorize(ctx, RuleAllocationDelete); err != nil {
		return err
	}
	return s.store.Update(ctx, func(tx Tx) error {
		allocs, err := tx.ConsumerAllocations(ctx, uuid)
		if err != nil {
			return err
		}
		if len(allocs) == 0 {
			return errorf(ErrNotFound, "No allocations for consumer '%s'", uuid)
		}
		if err := tx.DeleteConsumerAllocations(ctx, uuid); err != nil {
			return err
		}
		return tx.DeleteIdleConsumers(ctx, []string{uuid})
	})
}

// ProviderUsages returns a provider and the usage of each class it has
// inventory of.
func (s *Service) ProviderUsages(ctx context.Context, uuid string) (Provider, []ClassUsage, error) {
	if err := s.authorize(ctx, RuleProviderUsages); err != nil {
		return Provider{}, nil, err
	}
	r := s.store.Reader()
	p, err := r.Provider(ctx, uuid)
	if err != nil {
		return Provider{}, nil, notFoundAs(err, ErrNotFound,
			"No resource provider with uuid %s found: No resource provider with uuid %s found", uuid, uuid)
	}
	us, err := r.ProviderUsages(ctx, p.ID)
	return p, us, err
}

// TotalUsages sums a project's (or a project user's) allocations. A project
// reader may see its own project's usage.
func (s *Service) TotalUsages(ctx context.Context, f UsageFilter) ([]TypeUsage, error) {
	if err := s.authorizeTarget(ctx, RuleTotalUsages, map[string]any{"project_id": f.ProjectID}); err != nil {
		return nil, err
	}
	return s.store.Reader().TotalUsages(ctx, f)
}
