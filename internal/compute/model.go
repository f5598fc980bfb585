// Package compute is the API side of Nimbus's Nova: flavors and their extra
// specs and access lists, key pairs, the quota engine behind os-quota-sets,
// os-quota-class-sets and limits, availability zones, and servers: the
// instance model with nova's vm_state, task_state and power_state, the
// transition table each server action checks, instance actions and their
// events, each with nova's default policy. computehttp speaks the compute
// API (microversions 2.1 to 2.100); computesql stores the records.
//
// What the API records about servers is carried out by a Conductor (the
// scheduler, conductor and compute agents of later packages), which reports
// back through the Service's lifecycle methods; computetest has a fake one.
package compute

import (
	"errors"
	"fmt"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/auth"
)

// Sentinel errors; only the HTTP layer maps them to status codes.
var (
	ErrNotFound     = errors.New("not found")       // 404 itemNotFound
	ErrConflict     = errors.New("conflict")        // 409 conflictingRequest
	ErrInvalid      = errors.New("invalid request") // 400 badRequest
	ErrForbidden    = auth.ErrForbidden             // 403 forbidden
	ErrUnauthorized = auth.ErrUnauthorized          // 401 unauthorized
	// ErrOverLimit is an over-quota failure nova reports as 413 overLimit.
	// Most quota failures (key pairs, later servers) are 403 forbidden.
	ErrOverLimit = errors.New("over limit")
	// ErrNotImplemented is what the host's driver cannot do (501).
	ErrNotImplemented = errors.New("not implemented")

	// ErrMarkerNotFound is a list marker naming nothing the caller sees;
	// stores return it, the service turns it into a 400 worded per resource.
	ErrMarkerNotFound = errors.New("marker not found")
	// ErrFlavorIDExists and ErrFlavorNameExists tell the two unique clashes
	// of a new flavor apart; both are ErrConflict.
	ErrFlavorIDExists   = fmt.Errorf("%w: flavor id exists", ErrConflict)
	ErrFlavorNameExists = fmt.Errorf("%w: flavor name exists", ErrConflict)
	// ErrOverQuota is returned by a store that refuses a write because a
	// count would pass its limit.
	ErrOverQuota = errors.New("over quota")
)

// Error is a failure with a message meant for the API client; Kind decides
// the status code.
type Error struct {
	Kind    error
	Message string
}

func (e *Error) Error() string { return e.Message }

// Unwrap returns the sentinel kind.
func (e *Error) Unwrap() error { return e.Kind }

// errorf returns an *Error of kind with a formatted message.
func errorf(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// Flavor is a size of server: nova's flavor (the API DB's flavors table).
type Flavor struct {
	// ID is the internal row id; lists break sort ties with it, as nova's do.
	ID int64
	// FlavorID is the id the API shows ("flavorid").
	FlavorID    string
	Name        string
	MemoryMB    int
	VCPUs       int
	RootGB      int
	EphemeralGB int
	Swap        int // MiB
	RxTxFactor  float64
	// VCPUWeight is nova's vcpu_weight, set by no API; nil when unset.
	VCPUWeight *int
	Disabled   bool
	IsPublic   bool
	// Description is nil when never set (the API shows null).
	Description *string
	// ExtraSpecs is never nil for a flavor read from a store.
	ExtraSpecs map[string]string
	CreatedAt  time.Time
	// UpdatedAt is zero until the flavor is first changed.
	UpdatedAt time.Time
}

// Key pair types (nova's keypair.type).
const (
	KeyTypeSSH  = "ssh"
	KeyTypeX509 = "x509"
)

// KeyPair is a user's public key (nova's key_pairs).
type KeyPair struct {
	// ID is the row id, which GET /os-keypairs/{name} shows.
	ID          int64
	UserID      string
	Name        string
	Type        string
	Fingerprint string
	PublicKey   string
	CreatedAt   time.Time
}
