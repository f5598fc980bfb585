package image

import (
	"context"
	"io"
	"time"
)

// Store keeps image records and members. Each method is one transaction. Missing
// rows are ErrNotFound (wrapped), unique clashes ErrConflict (wrapped).
type Store interface {
	MetadefStore
	TaskStore

	CreateImage(ctx context.Context, img Image) error
	GetImage(ctx context.Context, id string) (Image, error)
	// ListImages returns one page of the images f selects, in f's sort order.
	ListImages(ctx context.Context, f ImageFilter) ([]Image, error)
	// UpdateImage writes every field of img (tags and properties included) when
	// the stored status is one of from (any status when from is empty), else it
	// fails with ErrConflict: the compare-and-set that keeps two uploads apart.
	UpdateImage(ctx context.Context, img Image, from ...Status) error
	// DeleteImage removes the record, its tags, properties and members.
	DeleteImage(ctx context.Context, id string) error
	// Usage returns how many images a project owns and their total size.
	Usage(ctx context.Context, owner string) (count int64, bytes int64, err error)

	CreateMember(ctx context.Context, m Member) error
	GetMember(ctx context.Context, imageID, memberID string) (Member, error)
	ListMembers(ctx context.Context, imageID string) ([]Member, error)
	UpdateMember(ctx context.Context, m Member) error
	DeleteMember(ctx context.Context, imageID, memberID string) error
}

// ImageFilter selects and orders images for ListImages.
type ImageFilter struct {
	// Visible narrows to what a project may see: its own images, public ones,
	// community ones, and shared ones it is a member of (with MemberStatus, or
	// accepted ones when MemberStatus is ""). All images when AllProjects is set.
	Project     string
	AllProjects bool

	Name   string
	Status []Status // empty: every status but deleted
	// Visibility "" lists every visible image, else only images of that
	// visibility.
	Visibility Visibility
	// HideOthersCommunity leaves out community images Project does not own, as
	// glance's lists without a visibility filter do.
	HideOthersCommunity bool
	Owner               string
	Tags                []string // every tag
	MemberStatus        MemberStatus
	DiskFormat          string
	ContainerFormat     string
	Protected           *bool
	Hidden              *bool
	SizeMin             *int64
	SizeMax             *int64
	// Created and Updated filter with glance's operators (gt, gte, lt, lte, eq, neq).
	Created, Updated []TimeFilter
	// Properties match additional properties exactly.
	Properties map[string]string
	IDs        []string

	// Sort keys (name, status, created_at, updated_at, size, id, ...) with their
	// directions; the store always adds id last so pages are stable.
	Sort []SortKey
	// Marker is the id of the last image of the previous page.
	Marker string
	Limit  int
}

// TimeFilter is one "op:timestamp" condition.
type TimeFilter struct {
	Op string
	At time.Time
}

// SortKey is one sort column and its direction.
type SortKey struct {
	Key  string
	Desc bool
}

// Backend keeps image data, as a glance_store driver does. A Put that fails
// leaves nothing behind.
type Backend interface {
	// Name is the store id shown in "stores" ("file").
	Name() string
	// Put streams r into the backend under image id and returns its location.
	Put(ctx context.Context, id string, r io.Reader) (location string, err error)
	// Open returns the data at location for reading and seeking, and its size.
	Open(ctx context.Context, location string) (io.ReadSeekCloser, int64, error)
	// Delete removes the data at location; a missing location is not an error.
	Delete(ctx context.Context, location string) error
}
