package compute

import "context"

// Conductor carries out what the API has recorded, as nova's conductor and
// compute services do. The API casts to it after the instance is written:
// each method returns once the work is handed over, not when it is done; the
// conductor reports progress back through the Service's lifecycle methods
// (SaveInstance, DestroyInstance, AddFault, StartEvent, FinishEvent). The
// caller and request id travel in ctx (auth.FromContext, RequestID). An
// error means the work was not handed over: the API undoes its record and
// answers 500.
type Conductor interface {
	// BuildInstances schedules and spawns instances recorded in BUILDING,
	// task_state scheduling.
	BuildInstances(ctx context.Context, req BuildRequest) error
	// DeleteInstance tears an instance down. Local is true when the
	// instance never reached a host and the API has deleted it already:
	// only its build, allocations and scheduling are to be cleaned up.
	DeleteInstance(ctx context.Context, inst Instance, local bool) error
	StartInstance(ctx context.Context, inst Instance) error
	StopInstance(ctx context.Context, inst Instance) error
	RebootInstance(ctx context.Context, inst Instance, hard bool) error
	PauseInstance(ctx context.Context, inst Instance) error
	UnpauseInstance(ctx context.Context, inst Instance) error
	SuspendInstance(ctx context.Context, inst Instance) error
	ResumeInstance(ctx context.Context, inst Instance) error
	RebuildInstance(ctx context.Context, req RebuildRequest) error
	// ResizeInstance moves an instance to a new flavor (or, for a cold
	// migration, the same flavor on another host).
	ResizeInstance(ctx context.Context, req ResizeRequest) error
	ConfirmResize(ctx context.Context, inst Instance) error
	RevertResize(ctx context.Context, inst Instance) error
	// SnapshotInstance uploads the instance's disk into the image the API
	// created for it.
	SnapshotInstance(ctx context.Context, inst Instance, imageID string) error
	// ShelveInstance snapshots the instance into imageID and stops it; with
	// offload it also frees the host.
	ShelveInstance(ctx context.Context, inst Instance, imageID string) error
	ShelveOffloadInstance(ctx context.Context, inst Instance) error
	UnshelveInstance(ctx context.Context, req UnshelveRequest) error
	LiveMigrateInstance(ctx context.Context, req LiveMigrateRequest) error
	// EvacuateInstance rebuilds an instance of a dead host on another.
	EvacuateInstance(ctx context.Context, req EvacuateRequest) error
	// ConsoleOutput returns the last length lines of the instance's
	// console log (all with length < 0); it is a call, not a cast.
	ConsoleOutput(ctx context.Context, inst Instance, length int) (string, error)
	// RemoteConsole returns the URL of a console of the protocol ("vnc",
	// "spice", "serial", "mks") and type ("novnc", ...); a call.
	RemoteConsole(ctx context.Context, inst Instance, protocol, kind string) (string, error)
	// RescueInstance boots the instance from rescueImage with its own disk
	// attached second.
	RescueInstance(ctx context.Context, inst Instance, rescueImage Image, adminPass string) error
	UnrescueInstance(ctx context.Context, inst Instance) error
	// BackupInstance uploads the instance's disk into the backup image the
	// API created, then keeps only the newest rotation backups of
	// backupType.
	BackupInstance(ctx context.Context, inst Instance, imageID, backupType string, rotation int) error
	// Diagnostics returns the instance's diagnostics from its host; a
	// call.
	Diagnostics(ctx context.Context, inst Instance) (Diagnostics, error)
}

// BuildRequest is what the scheduler and compute agents need to build the
// instances of one create request (nova's request spec and build request).
type BuildRequest struct {
	Instances []Instance
	Image     Image
	// AvailabilityZone is the zone asked for, "" for any.
	AvailabilityZone string
	// ForcedHost and ForcedNode skip scheduling (az:host:node, admins).
	ForcedHost, ForcedNode string
	// RequestedHost and RequestedNode are checked by the scheduler's
	// filters (2.74, admins).
	RequestedHost, RequestedNode string
	// SchedulerHints as given, each value a list.
	SchedulerHints map[string][]string
	AdminPass      string
	// InjectedFiles are personality files (path, base64 contents), before
	// microversion 2.57.
	InjectedFiles []InjectedFile
}

// InjectedFile is a personality file of a create or rebuild request.
type InjectedFile struct {
	Path     string
	Contents string
}

// RebuildRequest re-creates an instance's disk from an image.
type RebuildRequest struct {
	Instance          Instance
	Image             Image
	OriginalImageRef  string
	AdminPass         string
	PreserveEphemeral bool
	InjectedFiles     []InjectedFile
}

// ResizeRequest moves an instance to Flavor (its own flavor for a cold
// migration). Host, when set, is the destination an admin chose.
type ResizeRequest struct {
	Instance Instance
	Flavor   Flavor
	Migrate  bool
	Host     string
}

// UnshelveRequest brings a shelved instance back, optionally into another
// availability zone or onto a chosen host.
type UnshelveRequest struct {
	Instance Instance
	// ZoneSet asks for AvailabilityZone (nil unpins the instance).
	ZoneSet          bool
	AvailabilityZone *string
	Host             string
}

// LiveMigrateRequest moves a running instance. An empty Host lets the
// scheduler choose; Force skips its checks of the chosen host. A nil
// BlockMigration is "auto".
type LiveMigrateRequest struct {
	Instance       Instance
	Host           string
	Force          bool
	BlockMigration *bool
}

// EvacuateRequest rebuilds an instance whose host is down on another host
// (Host, or the scheduler's choice). TargetStopped leaves it stopped
// (microversion 2.95).
type EvacuateRequest struct {
	Instance      Instance
	Host          string
	Force         bool
	AdminPass     string
	TargetStopped bool
}

// Image is what compute needs to know of an image from the image service.
type Image struct {
	ID     string
	Name   string
	Status string
	// MinDisk is in GiB, MinRAM in MiB, Size in bytes.
	MinDisk, MinRAM int
	Size            int64
	DiskFormat      string
	ContainerFormat string
	// Properties are the image's additional properties.
	Properties map[string]string
}

// ImageService is the image service as compute uses it, on the caller's
// behalf (the caller is in ctx).
type ImageService interface {
	// Image returns an image the caller may use; one it may not see, or
	// that does not exist, is ErrNotFound.
	Image(ctx context.Context, id string) (Image, error)
	// CreateSnapshot creates the queued image a snapshot or shelve uploads
	// into, with the given properties, and returns it.
	CreateSnapshot(ctx context.Context, name string, properties map[string]string) (Image, error)
	// ImageURL is where the image service serves the image, for the
	// Location of createImage responses before 2.45.
	ImageURL(id string) string
	// DeleteImage deletes an image, as a shelved server's delete removes
	// its shelved image; a missing image is ErrNotFound.
	DeleteImage(ctx context.Context, id string) error
}
