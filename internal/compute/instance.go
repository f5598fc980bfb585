package compute

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"
)

// Instance is a server as nova records it (the instances table with its
// instance_extra, metadata, tags and block device mappings).
type Instance struct {
	// ID is the row id; the hypervisor's instance name derives from it.
	ID          int64
	UUID        string
	DisplayName string
	// Description is nil when unset (null); before 2.19 it is the name.
	Description *string
	ProjectID   string
	UserID      string
	// Flavor is the copy of the flavor the instance runs with, extra specs
	// included; OldFlavor and NewFlavor are set during a resize.
	Flavor    Flavor
	OldFlavor *Flavor
	NewFlavor *Flavor
	// ImageRef is the image booted from; ImageProperties are the image's
	// properties kept as nova keeps them (system metadata image_*).
	ImageRef        string
	ImageProperties map[string]string
	Host            string
	Node            string
	// AvailabilityZone is where the instance was scheduled ("" before).
	AvailabilityZone string
	// PinnedAvailabilityZone is the zone the request asked for (the request
	// spec's), which moves keep; nil when none was asked.
	PinnedAvailabilityZone *string
	// SchedulerHints are the hints of the create request, as the request
	// spec keeps them: every value a list.
	SchedulerHints map[string][]string
	KeyName        string
	KeyData        string
	// UserData is base64 as given; nil when none.
	UserData *string
	Metadata map[string]string
	// SystemMetadata is what nova keeps in instance_system_metadata beyond
	// the columns here: shelved_at, shelved_image_id, shelved_host,
	// old_vm_state, password_0..3.
	SystemMetadata map[string]string
	// Tags are sorted.
	Tags []string
	// ConfigDrive is nova's config_drive column: "True" or "".
	ConfigDrive    string
	AutoDiskConfig bool
	LaunchedAt     time.Time
	TerminatedAt   time.Time
	Locked         bool
	// LockedBy is "owner" or "admin" while locked.
	LockedBy     string
	LockedReason *string
	Hostname     string
	// ReservationID groups the instances of one create request.
	ReservationID string
	LaunchIndex   int
	AccessIPv4    string
	AccessIPv6    string
	// SecurityGroups are the names asked for ("default" when none).
	SecurityGroups []string
	BlockDevices   []BlockDevice
	RootDeviceName string
	// KernelID and RamdiskID come from the image's properties.
	KernelID, RamdiskID string
	VMState             VMState
	TaskState           TaskState
	PowerState          PowerState
	Progress            int
	// Fault is the latest fault recorded, nil when none.
	Fault     *Fault
	CreatedAt time.Time
	UpdatedAt time.Time
	DeletedAt time.Time
	Deleted   bool
}

// Name is the hypervisor's name of the instance (nova's
// instance_name_template "instance-%08x").
func (i *Instance) Name() string { return fmt.Sprintf("instance-%08x", i.ID) }

// Clone returns a deep copy, so a copy may be changed without touching i.
func (i *Instance) Clone() Instance {
	c := *i
	c.Flavor.ExtraSpecs = maps.Clone(i.Flavor.ExtraSpecs)
	if i.OldFlavor != nil {
		f := *i.OldFlavor
		f.ExtraSpecs = maps.Clone(f.ExtraSpecs)
		c.OldFlavor = &f
	}
	if i.NewFlavor != nil {
		f := *i.NewFlavor
		f.ExtraSpecs = maps.Clone(f.ExtraSpecs)
		c.NewFlavor = &f
	}
	c.ImageProperties = maps.Clone(i.ImageProperties)
	c.SchedulerHints = maps.Clone(i.SchedulerHints)
	c.Metadata = maps.Clone(i.Metadata)
	c.SystemMetadata = maps.Clone(i.SystemMetadata)
	c.Tags = slices.Clone(i.Tags)
	c.SecurityGroups = slices.Clone(i.SecurityGroups)
	c.BlockDevices = slices.Clone(i.BlockDevices)
	if i.Fault != nil {
		f := *i.Fault
		c.Fault = &f
	}
	return c
}

// Fault is an error recorded against an instance (instance_faults).
type Fault struct {
	Code    int
	Message string
	Details string
	Host    string
	Created time.Time
}

// BlockDevice is one block device mapping (block_device_mapping). Until
// block storage exists, an instance has its root disk from the image.
type BlockDevice struct {
	SourceType          string // image, blank, volume, snapshot
	DestinationType     string // local, volume
	BootIndex           *int
	DeviceName          string
	ImageID             string
	VolumeID            string
	VolumeSize          *int
	DeleteOnTermination bool
	GuestFormat         string
	DeviceType          string
	DiskBus             string
	Tag                 string
}

// InstanceAction is one operation on an instance (os-instance-actions).
type InstanceAction struct {
	ID           int64
	InstanceUUID string
	Action       string
	RequestID    string
	UserID       string
	ProjectID    string
	StartTime    time.Time
	// Message is "Error" once an event failed; nil otherwise.
	Message   *string
	UpdatedAt time.Time
	// Events are newest first; read only by InstanceAction.
	Events []InstanceActionEvent
}

// InstanceActionEvent is a step of an action, recorded by the services
// that carry it out (instance_actions_events).
type InstanceActionEvent struct {
	Event      string
	StartTime  time.Time
	FinishTime time.Time
	// Result is "Success" or "Error" once finished, "" before.
	Result    string
	Traceback string
	Host      string
	Details   string
}

type requestIDKey struct{}

// WithRequestID returns ctx carrying the API request id, which instance
// actions record and the conductor's messages carry.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID returns the request id ctx carries, "" when none.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}
