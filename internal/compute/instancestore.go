package compute

import (
	"context"
	"regexp"
	"time"
)

// InstanceStore keeps instances with their metadata, tags, faults and
// actions. Instances are read with their metadata, tags, block devices and
// latest fault.
type InstanceStore interface {
	// CreateInstances stores new instances (IDs are assigned) with their
	// create actions in one transaction, unless the project or user would
	// then pass a limit of q (ErrOverQuota, nothing stored).
	CreateInstances(ctx context.Context, insts []Instance, actions []InstanceAction, q InstanceQuota) ([]Instance, error)
	// GetInstance returns an instance; a deleted one only with
	// readDeleted.
	GetInstance(ctx context.Context, uuid string, readDeleted bool) (Instance, error)
	// ListInstances returns one page of the instances f selects.
	ListInstances(ctx context.Context, f InstanceFilter) ([]Instance, error)
	// UpdateInstance reads a live instance, locked for the transaction,
	// lets mutate change it and writes it back with its metadata, recording
	// action when not nil. An error from mutate is returned as it is and
	// nothing is written. mutate may run more than once (the transaction
	// is retried on a transient conflict), so it must only change the
	// instance.
	UpdateInstance(ctx context.Context, uuid string, mutate func(*Instance) error, action *InstanceAction) (Instance, error)
	// PurgeInstances removes instances and all their records, for creates
	// the conductor never received.
	PurgeInstances(ctx context.Context, uuids []string) error
	// CountInstances counts the live instances of a project, or of one
	// user of it (userID ""), with their cores and RAM.
	CountInstances(ctx context.Context, projectID, userID string) (InstanceCounts, error)
	// SetInstanceTags replaces a live instance's tags.
	SetInstanceTags(ctx context.Context, uuid string, tags []string, at time.Time) ([]string, error)
	// AddInstanceTag adds a tag unless the instance has max tags already
	// (ErrOverQuota); an existing tag is no change (added false).
	AddInstanceTag(ctx context.Context, uuid, tag string, max int, at time.Time) (added bool, err error)
	// DeleteInstanceTag removes a tag; a missing one is ErrNotFound.
	DeleteInstanceTag(ctx context.Context, uuid, tag string, at time.Time) error
	// RecordAction stores an action on an instance.
	RecordAction(ctx context.Context, a InstanceAction) error
	// ListActions returns an instance's actions, newest first, one page of
	// f. A marker (request id) not found is ErrMarkerNotFound.
	ListActions(ctx context.Context, uuid string, f ActionFilter) ([]InstanceAction, error)
	// GetAction returns the newest action of a request on an instance with
	// its events, newest first.
	GetAction(ctx context.Context, uuid, requestID string) (InstanceAction, error)
	// StartEvent records the start of an event of a request's action and
	// moves the action's updated_at.
	StartEvent(ctx context.Context, uuid, requestID string, e InstanceActionEvent) error
	// FinishEvent records the end of the event; an error result marks the
	// action's message "Error".
	FinishEvent(ctx context.Context, uuid, requestID string, e InstanceActionEvent) error
	// AddFault records a fault of an instance.
	AddFault(ctx context.Context, uuid string, f Fault) error
}

// InstanceCounts are what a project or user's live instances use.
type InstanceCounts struct {
	Instances, Cores, RAM int
}

// InstanceQuota are the limits a create must stay within, -1 unlimited;
// user limits apply to UserID's instances when UserID is set.
type InstanceQuota struct {
	ProjectID string
	Project   InstanceCounts
	UserID    string
	User      InstanceCounts
}

// SortKey is one key of a list order.
type SortKey struct {
	Key  string
	Desc bool
}

// InstanceFilter selects and orders instances for ListInstances, as nova's
// instance_get_all_by_filters_sort does. Empty fields select everything.
type InstanceFilter struct {
	// Exact are exact matches by column (nova's exact_match_filter_names:
	// project_id, user_id, image_ref, vm_state, task_state,
	// instance_type_id, uuid, host, locked); a list matches any of its
	// values ("" matching NULL for task_state); an empty list matches
	// nothing.
	Exact map[string][]string
	// Regex are regular expressions a column's text must contain, checked
	// as rows are read (nova's regex filters).
	Regex map[string]*regexp.Regexp
	// Metadata is a key and value the instance's metadata must have.
	Metadata map[string]string
	// Tags must all be present, TagsAny at least one; NotTags not all of
	// them, NotTagsAny none of them.
	Tags, TagsAny, NotTags, NotTagsAny []string
	// ChangesSince and ChangesBefore bound updated_at, inclusive.
	ChangesSince, ChangesBefore time.Time
	// Deleted nil lists live and deleted instances, false only live ones
	// (and, unless SoftDeleted, not soft-deleted), true only deleted ones.
	Deleted     *bool
	SoftDeleted bool
	// None matches nothing (an address filter while servers have none).
	None bool
	// Sort keys, each one of InstanceSortKeys; ties are broken by
	// created_at and the row id in the first key's direction.
	Sort []SortKey
	// Marker is the UUID of the last instance of the previous page (it may
	// be deleted); unknown is ErrMarkerNotFound.
	Marker string
	Limit  int
}

// InstanceSortKeys are the columns lists may be sorted by (nova's
// VALID_SORT_KEYS less those it ignores, with locked from 2.73).
var InstanceSortKeys = []string{
	"access_ip_v4", "access_ip_v6", "auto_disk_config", "availability_zone", "config_drive", "created_at",
	"display_description", "display_name", "host", "hostname", "image_ref", "instance_type_id", "kernel_id",
	"key_name", "launch_index", "launched_at", "locked", "locked_by", "node", "power_state", "progress",
	"project_id", "ramdisk_id", "root_device_name", "task_state", "terminated_at", "updated_at", "user_id",
	"uuid", "vm_state",
}

// InstanceRegexColumns are the columns regex filters apply to.
var InstanceRegexColumns = []string{
	"access_ip_v4", "access_ip_v6", "auto_disk_config", "availability_zone", "config_drive", "created_at",
	"display_description", "display_name", "hostname", "kernel_id", "key_name", "launch_index", "launched_at",
	"locked_by", "node", "power_state", "progress", "ramdisk_id", "reservation_id", "root_device_name",
	"terminated_at",
}

// ActionFilter pages and bounds a list of actions (microversion 2.58).
type ActionFilter struct {
	ChangesSince, ChangesBefore time.Time
	Marker                      string
	Limit                       int
}
