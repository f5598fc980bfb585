package compute

import (
	"context"
	"time"
)

// Store keeps compute's records. Each method is one transaction. Missing rows
// are ErrNotFound (wrapped) unless a method says otherwise.
type Store interface {
	FlavorStore
	KeyPairStore
	QuotaStore
	InstanceStore
}

// FlavorScope says which flavors a caller may see: all of them (admins), or
// public ones and the private ones its project was given access to.
type FlavorScope struct {
	All     bool
	Project string
}

// FlavorStore keeps flavors with their extra specs and access lists.
type FlavorStore interface {
	// CreateFlavor stores f (ID is assigned) with its extra specs and returns
	// it as stored. A clash is ErrFlavorIDExists or ErrFlavorNameExists.
	CreateFlavor(ctx context.Context, f Flavor) (Flavor, error)
	// GetFlavor returns the flavor with API id flavorID, if scope sees it.
	GetFlavor(ctx context.Context, flavorID string, scope FlavorScope) (Flavor, error)
	// ListFlavors returns one page of the flavors f selects, in f's order,
	// with their extra specs. A marker the scope does not see is
	// ErrMarkerNotFound.
	ListFlavors(ctx context.Context, f FlavorFilter) ([]Flavor, error)
	// UpdateFlavorDescription sets the description and updated_at.
	UpdateFlavorDescription(ctx context.Context, flavorID string, description *string, at time.Time) (Flavor, error)
	// DeleteFlavor removes the flavor, its extra specs and access list.
	DeleteFlavor(ctx context.Context, flavorID string) error
	// SetExtraSpecs adds specs to the flavor's, replacing the values of keys
	// it has, and returns the flavor's extra specs afterwards. As in nova,
	// the flavor's updated_at stays: extra specs are rows of their own.
	SetExtraSpecs(ctx context.Context, flavorID string, specs map[string]string) (map[string]string, error)
	// DeleteExtraSpec removes one key; a missing flavor or key is ErrNotFound.
	DeleteExtraSpec(ctx context.Context, flavorID, key string) error
	// FlavorProjects lists the projects given access to the flavor, sorted.
	FlavorProjects(ctx context.Context, flavorID string) ([]string, error)
	// AddFlavorProject gives a project access; an existing grant is ErrConflict.
	AddFlavorProject(ctx context.Context, flavorID, projectID string) error
	// RemoveFlavorProject takes the access back; none is ErrNotFound.
	RemoveFlavorProject(ctx context.Context, flavorID, projectID string) error
}

// FlavorFilter selects and orders flavors for ListFlavors, as nova's
// flavor_get_all does.
type FlavorFilter struct {
	Scope FlavorScope
	// IsPublic nil lists both; true lists public flavors and the private ones
	// Scope.Project may use; false lists private flavors.
	IsPublic *bool
	Disabled *bool
	// MinMemoryMB and MinRootGB keep flavors with at least this much.
	MinMemoryMB, MinRootGB *int
	// SortKey is one of FlavorSortKeys; ties are broken by the internal id,
	// in the same direction.
	SortKey  string
	SortDesc bool
	// Marker is the API id of the last flavor of the previous page.
	Marker string
	Limit  int
}

// FlavorSortKeys are the sort_key values GET /flavors accepts, nova's names.
var FlavorSortKeys = []string{
	"created_at", "description", "disabled", "ephemeral_gb", "flavorid", "id", "is_public", "memory_mb", "name",
	"root_gb", "rxtx_factor", "swap", "updated_at", "vcpu_weight", "vcpus",
}

// KeyPairStore keeps key pairs, unique by user and name.
type KeyPairStore interface {
	// CreateKeyPair stores kp (ID is assigned) unless the user would then own
	// more than limit key pairs (ErrOverQuota; a negative limit is none). A
	// clash of names is ErrConflict.
	CreateKeyPair(ctx context.Context, kp KeyPair, limit int) (KeyPair, error)
	GetKeyPair(ctx context.Context, userID, name string) (KeyPair, error)
	// ListKeyPairs returns the user's key pairs by name, after marker (a
	// name; missing is ErrMarkerNotFound), at most limit (0: all).
	ListKeyPairs(ctx context.Context, userID, marker string, limit int) ([]KeyPair, error)
	DeleteKeyPair(ctx context.Context, userID, name string) error
	// CountKeyPairs returns how many key pairs the user owns.
	CountKeyPairs(ctx context.Context, userID string) (int, error)
}

// QuotaStore keeps the limits an operator set: per project, per user of a
// project, and per quota class. Maps are keyed by resource name and hold
// only the limits that were set.
type QuotaStore interface {
	ProjectQuotas(ctx context.Context, projectID string) (map[string]int, error)
	UserQuotas(ctx context.Context, projectID, userID string) (map[string]int, error)
	// UserQuotaSums returns, per resource, the sum of the limits set for the
	// users of the project.
	UserQuotaSums(ctx context.Context, projectID string) (map[string]int, error)
	ClassQuotas(ctx context.Context, class string) (map[string]int, error)
	// SetQuotas writes limits in one transaction: project limits, and user
	// limits for the resources in userValues.
	SetQuotas(ctx context.Context, projectID string, values map[string]int, userID string, userValues map[string]int, at time.Time) error
	SetClassQuotas(ctx context.Context, class string, values map[string]int, at time.Time) error
	// DeleteProjectQuotas removes the project's limits and its users'.
	DeleteProjectQuotas(ctx context.Context, projectID string) error
	// DeleteUserQuotas removes one user's limits in the project.
	DeleteUserQuotas(ctx context.Context, projectID, userID string) error
}
