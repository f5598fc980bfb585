// Package image is Nimbus's Glance: image records, their sharing and status
// machine, and their data, streamed into a pluggable Backend with checksums and
// format inspection on the way. imagehttp speaks the v2 API; imagesql stores
// the records.
package image

import (
	"errors"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/auth"
)

// Sentinel errors; only the HTTP layer maps them to status codes.
var (
	ErrNotFound     = errors.New("not found")                // 404
	ErrConflict     = errors.New("conflict")                 // 409
	ErrValidation   = errors.New("invalid request")          // 400
	ErrForbidden    = auth.ErrForbidden                      // 403
	ErrUnauthorized = auth.ErrUnauthorized                   // 401
	ErrTooLarge     = errors.New("request entity too large") // 413
	ErrNoData       = errors.New("image has no data")        // 204 on download
	ErrUnsupported  = errors.New("unsupported")              // 415 / 400 per context
)

// Status is an image's place in glance's status machine.
type Status string

// Image statuses, as glance names them.
const (
	Queued        Status = "queued"
	Saving        Status = "saving"
	Uploading     Status = "uploading" // staged by glance-direct, waiting for import
	Importing     Status = "importing"
	Active        Status = "active"
	Killed        Status = "killed"
	Deleted       Status = "deleted"
	Deactivated   Status = "deactivated"
	PendingDelete Status = "pending_delete"
)

// Visibility says who can see an image.
type Visibility string

// Visibilities, as glance names them.
const (
	Public    Visibility = "public"
	Private   Visibility = "private"
	Shared    Visibility = "shared"
	Community Visibility = "community"
)

// Image is an image record.
type Image struct {
	ID              string
	Name            string
	Status          Status
	Visibility      Visibility
	Protected       bool
	Hidden          bool // os_hidden
	Owner           string
	DiskFormat      string
	ContainerFormat string
	MinDisk         int64 // GiB
	MinRAM          int64 // MiB
	Size            *int64
	VirtualSize     *int64
	Checksum        string // md5, hex
	HashAlgo        string // os_hash_algo
	HashValue       string // os_hash_value, hex
	Tags            []string
	// Properties are the additional properties (kernel_id, hw_*, os_*, custom).
	Properties map[string]string
	// Location is where the Backend keeps the data ("file:///..."); never shown.
	Location string
	// Locations are the image's locations as glance's locations list keeps
	// them, in order; see ImageLocations for the list as shown, which also
	// names the Backend's Location once data is uploaded.
	Locations []Location
	// Stores lists the stores holding the data, the one Location is in first.
	Stores []string
	// Copies maps each store of Stores to the data's location there; the
	// first store's is Location.
	Copies    map[string]string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Location is one entry of an image's locations: where a copy of its data is,
// with free-form metadata.
type Location struct {
	URL      string
	Metadata map[string]any
}

// MemberStatus is a consumer's answer to a shared image.
type MemberStatus string

// Member statuses.
const (
	MemberPending  MemberStatus = "pending"
	MemberAccepted MemberStatus = "accepted"
	MemberRejected MemberStatus = "rejected"
)

// Member shares an image with a project.
type Member struct {
	ImageID   string
	MemberID  string // project id
	Status    MemberStatus
	CreatedAt time.Time
	UpdatedAt time.Time
}
