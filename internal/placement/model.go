package placement

import (
	"strings"
	"time"
)

// MaxInt is the largest inventory value placement accepts (its db MAX_INT).
const MaxInt = 2147483647

// MaxFloat is the largest allocation ratio (single precision float max).
const MaxFloat = 3.40282e38

// MinCustomClassID is the first id of a custom resource class; standard
// classes are numbered from 0 by their place in StandardResourceClasses.
const MinCustomClassID = 10000

// CustomPrefix starts every custom resource class and trait name.
const CustomPrefix = "CUSTOM_"

// SharesViaAggregate marks a provider whose inventory is shared with the
// providers of its aggregates.
const SharesViaAggregate = "MISC_SHARES_VIA_AGGREGATE"

// Provider is a resource provider, with the uuids of its parent and root.
type Provider struct {
	ID         int64
	UUID       string
	Name       string
	Generation int64
	// ParentID is 0 and ParentUUID "" for a root provider.
	ParentID   int64
	ParentUUID string
	RootID     int64
	RootUUID   string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Modified is when the provider last changed.
func (p Provider) Modified() time.Time { return latest(p.CreatedAt, p.UpdatedAt) }

// Inventory is one resource class's inventory on a provider.
type Inventory struct {
	ResourceClass   string
	Total           int64
	Reserved        int64
	MinUnit         int64
	MaxUnit         int64
	StepSize        int64
	AllocationRatio float64
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// DefaultInventory is an inventory of total with placement's defaults for the
// other fields.
func DefaultInventory(class string, total int64) Inventory {
	return Inventory{ResourceClass: class, Total: total, MinUnit: 1, MaxUnit: MaxInt, StepSize: 1, AllocationRatio: 1}
}

// Capacity is what the inventory can hand out: (total - reserved) *
// allocation_ratio, truncated as placement does.
func (i Inventory) Capacity() int64 { return capacity(i.Total, i.Reserved, i.AllocationRatio) }

// Modified is when the inventory last changed.
func (i Inventory) Modified() time.Time { return latest(i.CreatedAt, i.UpdatedAt) }

func capacity(total, reserved int64, ratio float64) int64 {
	return int64(float64(total-reserved) * ratio)
}

// ResourceClass is a standard or custom resource class.
type ResourceClass struct {
	ID        int
	Name      string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Modified is when the class last changed.
func (c ResourceClass) Modified() time.Time { return latest(c.CreatedAt, c.UpdatedAt) }

// Trait is a standard or custom trait.
type Trait struct {
	ID        int64
	Name      string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Modified is when the trait last changed.
func (t Trait) Modified() time.Time { return latest(t.CreatedAt, t.UpdatedAt) }

// Consumer is who holds allocations: an instance, a migration, a port.
type Consumer struct {
	UUID      string
	ProjectID string
	UserID    string
	// Type is the consumer type (1.38); "" is placement's "unknown".
	Type       string
	Generation int64
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Allocation is an amount of one class a consumer holds on a provider.
type Allocation struct {
	ProviderID         int64
	ProviderUUID       string
	ProviderGeneration int64
	ResourceClass      string
	ClassID            int
	Used               int64
	Consumer           Consumer
	CreatedAt          time.Time
	UpdatedAt          time.Time
}

// ClassUsage is how much of a resource class is allocated.
type ClassUsage struct {
	ResourceClass string
	Used          int64
}

// TypeUsage is the usage of one consumer type (GET /usages, 1.38).
type TypeUsage struct {
	ConsumerType  string
	ConsumerCount int64
	Usages        []ClassUsage
}

// latest returns the later of two times.
func latest(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// IsCustom reports whether a class or trait name is custom.
func IsCustom(name string) bool { return strings.HasPrefix(name, CustomPrefix) }

// ValidName reports whether name uses only A-Z, 0-9 and _ and is not empty,
// the alphabet of resource class, trait and consumer type names.
func ValidName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// ValidCustomName reports whether name is CUSTOM_ followed by at least one
// valid character.
func ValidCustomName(name string) bool {
	return len(name) > len(CustomPrefix) && IsCustom(name) && ValidName(name)
}
