package placement

import (
	"context"
	"time"
)

// Store keeps placement's rows. Reads outside a transaction go through
// Reader; every change runs inside Update, whose Tx reads and writes in one
// transaction. Missing rows are ErrNotFound (wrapped), unique clashes
// ErrConflict (wrapped), a failed generation compare-and-set ErrStale.
type Store interface {
	Reader() Reader
	// Update runs fn in one transaction and commits it when fn returns nil. A
	// transient conflict (deadlock, serialization failure) runs fn again, so fn
	// must have no effects outside tx.
	Update(ctx context.Context, fn func(tx Tx) error) error
}

// Reader reads placement's rows.
type Reader interface {
	CandidateReader

	// Provider returns the provider with uuid.
	Provider(ctx context.Context, uuid string) (Provider, error)
	// Providers returns the providers f selects, oldest first.
	Providers(ctx context.Context, f ProviderFilter) ([]Provider, error)
	// Subtree returns the provider and all its descendants.
	Subtree(ctx context.Context, id int64) ([]Provider, error)

	// ClassIDs maps the names that exist to their ids.
	ClassIDs(ctx context.Context, names []string) (map[string]int, error)
	Classes(ctx context.Context) ([]ResourceClass, error)
	Class(ctx context.Context, name string) (ResourceClass, error)

	// TraitIDs maps the names that exist to their ids.
	TraitIDs(ctx context.Context, names []string) (map[string]int64, error)
	Traits(ctx context.Context, f TraitFilter) ([]Trait, error)
	Trait(ctx context.Context, name string) (Trait, error)
	ProviderTraits(ctx context.Context, providerID int64) ([]Trait, error)
	ProviderAggregates(ctx context.Context, providerID int64) ([]string, error)

	Inventories(ctx context.Context, providerID int64) ([]Inventory, error)
	// ProviderUsages returns the usage of every class the provider has
	// inventory of, 0 when nothing is allocated.
	ProviderUsages(ctx context.Context, providerID int64) ([]ClassUsage, error)

	// Consumer returns the consumer with uuid.
	Consumer(ctx context.Context, uuid string) (Consumer, error)
	ConsumerAllocations(ctx context.Context, consumerUUID string) ([]Allocation, error)
	ProviderAllocations(ctx context.Context, providerID int64) ([]Allocation, error)
	// TotalUsages sums a project's (and user's) allocations, per consumer type
	// when f says so.
	TotalUsages(ctx context.Context, f UsageFilter) ([]TypeUsage, error)
}

// Tx reads and writes inside one transaction.
type Tx interface {
	Reader

	// LockProviders reads and locks, in id order, the providers with the
	// given uuids, so that writers of the same providers queue; missing uuids
	// are left out. A write transaction locks before it reads anything else,
	// so that its later reads see what earlier holders of the locks wrote
	// (MySQL's repeatable read takes its snapshot at the first plain read).
	LockProviders(ctx context.Context, uuids []string) ([]Provider, error)
	// LockProviderIDs is LockProviders by id.
	LockProviderIDs(ctx context.Context, ids []int64) ([]Provider, error)
	// BumpGeneration sets the provider's generation to from+1 if it is still
	// from (ErrStale otherwise) and stamps updated_at.
	BumpGeneration(ctx context.Context, providerID, from int64, now time.Time) error

	// CreateProvider inserts p (a root when ParentID is 0: its own root) and
	// returns it with ID and RootID set.
	CreateProvider(ctx context.Context, p Provider) (Provider, error)
	// UpdateProvider writes p's name, parent, root and updated_at.
	UpdateProvider(ctx context.Context, p Provider) error
	// SetRoot sets the root of the given providers.
	SetRoot(ctx context.Context, ids []int64, rootID int64) error
	// DeleteProvider removes the provider with its inventories, traits and
	// aggregate links.
	DeleteProvider(ctx context.Context, id int64) error
	HasChildren(ctx context.Context, id int64) (bool, error)

	// InventoryUsage returns, for the providers and classes given, each
	// inventory with what is allocated against it.
	InventoryUsage(ctx context.Context, providerIDs []int64, classIDs []int) ([]InventoryUsage, error)
	// ReplaceInventories makes the provider's inventory exactly invs (keyed
	// by class id), inserting, updating and deleting rows.
	ReplaceInventories(ctx context.Context, providerID int64, invs map[int]Inventory, now time.Time) error
	// AllocatedClasses returns the names of the given classes that the
	// provider has allocations of.
	AllocatedClasses(ctx context.Context, providerID int64, classIDs []int) ([]string, error)
	HasAllocations(ctx context.Context, providerID int64) (bool, error)

	// CreateClass inserts a custom class with the next custom id.
	CreateClass(ctx context.Context, name string, now time.Time) (ResourceClass, error)
	RenameClass(ctx context.Context, id int, name string, now time.Time) error
	DeleteClass(ctx context.Context, id int) error
	ClassInUse(ctx context.Context, id int) (bool, error)

	CreateTrait(ctx context.Context, name string, now time.Time) (Trait, error)
	DeleteTrait(ctx context.Context, id int64) error
	TraitInUse(ctx context.Context, id int64) (bool, error)
	SetProviderTraits(ctx context.Context, providerID int64, traitIDs []int64) error
	// SetProviderAggregates links the provider to exactly the aggregates with
	// the given uuids, creating aggregates as needed.
	SetProviderAggregates(ctx context.Context, providerID int64, uuids []string) error

	CreateConsumer(ctx context.Context, c Consumer) error
	// UpdateConsumer writes c's project, user and type and sets its
	// generation to c.Generation+1 if it is still c.Generation (ErrStale
	// otherwise).
	UpdateConsumer(ctx context.Context, c Consumer, now time.Time) error
	// DeleteIdleConsumers removes those of the consumers that hold no
	// allocations.
	DeleteIdleConsumers(ctx context.Context, uuids []string) error
	DeleteConsumerAllocations(ctx context.Context, consumerUUID string) error
	InsertAllocations(ctx context.Context, rows []AllocationRow, now time.Time) error

	// SyncStandard inserts the standard classes (with their ids) and traits
	// the tables lack.
	SyncStandard(ctx context.Context, classes []string, traits []string, now time.Time) error
}

// ProviderFilter selects providers; zero fields select everything. Names of
// classes and traits are already resolved to ids.
type ProviderFilter struct {
	Name string
	UUID string
	// InTree is the uuid of a provider whose whole tree is wanted.
	InTree string
	// MemberOf: a provider must be in one aggregate of every inner list.
	MemberOf [][]string
	// ForbiddenAggs: a provider must be in none of these aggregates.
	ForbiddenAggs []string
	// RequiredTraits: a provider must have one trait of every inner list.
	RequiredTraits [][]int64
	// ForbiddenTraits: a provider must have none of these.
	ForbiddenTraits []int64
	// Resources: a provider must have room for each amount.
	Resources []ClassAmount
}

// ClassAmount is an amount of one resource class (by id).
type ClassAmount struct {
	ClassID int
	Amount  int64
}

// TraitFilter selects traits: NameIn (when non-nil) lists the names wanted,
// Prefix a name prefix, Associated (when set) whether some provider has it.
type TraitFilter struct {
	NameIn     []string
	Prefix     string
	Associated *bool
}

// UsageFilter selects the allocations GET /usages sums.
type UsageFilter struct {
	ProjectID string
	UserID    string
	// ByType groups the sums by consumer type (1.38); ConsumerType then
	// narrows to one type, or "all" (one group of everything) or "unknown"
	// (consumers without a type).
	ByType       bool
	ConsumerType string
}

// InventoryUsage is an inventory with its allocated total.
type InventoryUsage struct {
	ProviderID int64
	ClassID    int
	Inventory
	Used int64
}

// AllocationRow is one allocation to insert.
type AllocationRow struct {
	ProviderID   int64
	ConsumerUUID string
	ClassID      int
	Used         int64
}
