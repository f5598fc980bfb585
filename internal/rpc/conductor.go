package rpc

// The conductor's interface, on the conductor topic: the compute API casts
// builds to it, and compute agents report to it, since they never touch the
// database. Version history:
//
//	1.0: build_instances, cleanup_deleted_instance, reschedule_instance,
//	     rebuild_instance, migrate_server, confirm_resize, revert_resize,
//	     resize_failed, live_migrate_instance, live_migration_done,
//	     evacuate_instance, instance_update, instance_event,
//	     instance_destroyed, sync_power_states, service_update.
//	1.1: unshelve_instance, instance_shelved, instance_unshelved,
//	     shelved_instances.
//	1.2: live_migration_done tells a cancelled live migration apart.
var ConductorVersion = V(1, 2)

// NamespaceConductor is the conductor's namespace.
const NamespaceConductor = "conductor"

// BuildInstances schedules the instances of one create request and casts
// each to its host (a cast from the compute API).
var BuildInstances = Method[BuildInstancesRequest, None]{
	Namespace: NamespaceConductor, Name: "build_instances", Version: V(1, 0)}

// CleanupDeletedInstance releases what an instance the API deleted before
// any host took it still holds (its allocations).
var CleanupDeletedInstance = Method[InstanceRequest, None]{
	Namespace: NamespaceConductor, Name: "cleanup_deleted_instance", Version: V(1, 0)}

// RescheduleInstance takes back a build that failed on its host: the
// conductor releases the claim there and tries the next alternate, or puts
// the instance in ERROR with a fault naming every host's failure.
var RescheduleInstance = Method[BuildAndRunRequest, None]{
	Namespace: NamespaceConductor, Name: "reschedule_instance", Version: V(1, 0)}

// RebuildServer rebuilds an instance on its host with an image (a cast
// from the compute API): a new image must pass the scheduler's filters on
// the instance's host first.
var RebuildServer = Method[RebuildServerRequest, None]{
	Namespace: NamespaceConductor, Name: "rebuild_instance", Version: V(1, 0)}

// RebuildServerRequest is a rebuild the API recorded.
type RebuildServerRequest struct {
	InstanceUUID      string         `json:"instance_uuid"`
	Image             ImageMeta      `json:"image"`
	OriginalImageRef  string         `json:"orig_image_ref"`
	AdminPass         string         `json:"admin_password,omitempty"`
	PreserveEphemeral bool           `json:"preserve_ephemeral,omitempty"`
	InjectedFiles     []InjectedFile `json:"injected_files,omitempty"`
}

// MigrateServer resizes an instance to a flavor, or cold-migrates it with
// its own (a cast from the compute API): the conductor moves the source's
// allocation to the migration, has the scheduler claim the destination and
// casts resize_instance to the source host.
var MigrateServer = Method[MigrateServerRequest, None]{
	Namespace: NamespaceConductor, Name: "migrate_server", Version: V(1, 0)}

// ConfirmResize keeps a resized instance where it is: the source host drops
// its copy and the migration's allocation goes.
var ConfirmResize = Method[InstanceRequest, None]{
	Namespace: NamespaceConductor, Name: "confirm_resize", Version: V(1, 0)}

// RevertResize takes a resized instance back to its source host and flavor.
var RevertResize = Method[InstanceRequest, None]{
	Namespace: NamespaceConductor, Name: "revert_resize", Version: V(1, 0)}

// ResizeFailed reports that the source host could not hand a resized
// instance over: the conductor puts its allocations, flavor and task back.
var ResizeFailed = Method[ResizeFailedRequest, None]{
	Namespace: NamespaceConductor, Name: "resize_failed", Version: V(1, 0)}

// LiveMigrateInstance moves a running instance to another host (a cast
// from the compute API): the conductor claims the destination (chosen by
// the scheduler, or forced) and casts live_migration to the source host.
var LiveMigrateInstance = Method[LiveMigrateRequest, None]{
	Namespace: NamespaceConductor, Name: "live_migrate_instance", Version: V(1, 0)}

// LiveMigrationDone reports the end of a live migration from its source
// host: on success the instance is the destination's and the source's
// allocation goes; on failure the destination's claim goes and the
// instance stays, with a fault; cancelled, it stays without one.
var LiveMigrationDone = Method[LiveMigrationResult, None]{
	Namespace: NamespaceConductor, Name: "live_migration_done", Version: V(1, 2)}

// EvacuateInstance rebuilds an instance of a dead host on another one (a
// cast from the compute API).
var EvacuateInstance = Method[EvacuateRequest, None]{
	Namespace: NamespaceConductor, Name: "evacuate_instance", Version: V(1, 0)}

// LiveMigrateRequest is a live migration the API recorded.
type LiveMigrateRequest struct {
	InstanceUUID string `json:"instance_uuid"`
	// Host is the destination asked for ("" for the scheduler's); Force
	// skips the scheduler's filters.
	Host  string `json:"host,omitempty"`
	Force bool   `json:"force,omitempty"`
}

// LiveMigrationResult is the end of a live migration, Error "" on success.
type LiveMigrationResult struct {
	InstanceUUID string   `json:"instance_uuid"`
	Source       string   `json:"source"`
	Dest         HostNode `json:"dest"`
	Error        string   `json:"error,omitempty"`
	// Cancelled: live_migration_abort stopped it (Error says how); the
	// instance is on the source as it was.
	Cancelled bool `json:"cancelled,omitempty"`
}

// EvacuateRequest is an evacuation the API recorded.
type EvacuateRequest struct {
	InstanceUUID string `json:"instance_uuid"`
	// Host is the destination asked for; Force skips the filters.
	Host          string `json:"host,omitempty"`
	Force         bool   `json:"force,omitempty"`
	AdminPass     string `json:"admin_password,omitempty"`
	TargetStopped bool   `json:"target_state_stopped,omitempty"`
}

// MigrateServerRequest is a resize (Migrate false) or cold migration the
// API recorded.
type MigrateServerRequest struct {
	InstanceUUID string `json:"instance_uuid"`
	// Flavor is the target flavor (the instance's own for a migration).
	Flavor  Flavor `json:"flavor"`
	Migrate bool   `json:"migrate,omitempty"`
	// Host is the destination an admin chose, "" for the scheduler's.
	Host string `json:"host,omitempty"`
}

// ResizeFailedRequest is a source host's failure to migrate a disk.
type ResizeFailedRequest struct {
	InstanceUUID string `json:"instance_uuid"`
	Host         string `json:"host"`
	Reason       string `json:"reason"`
}

// InstanceUpdate changes an instance's states for its host, checking the
// task state expected (nova's instance.save(expected_task_state=...)).
var InstanceUpdate = Method[InstanceUpdateRequest, InstanceState]{
	Namespace: NamespaceConductor, Name: "instance_update", Version: V(1, 0)}

// InstanceEvent records the start or end of an event of a request's action
// on an instance (os-instance-actions).
var InstanceEvent = Method[InstanceEventRequest, None]{
	Namespace: NamespaceConductor, Name: "instance_event", Version: V(1, 0)}

// InstanceDestroyed reports that a host tore an instance down: the
// conductor releases its allocations and marks it deleted.
var InstanceDestroyed = Method[InstanceDestroyedRequest, None]{
	Namespace: NamespaceConductor, Name: "instance_destroyed", Version: V(1, 0)}

// SyncPowerStates brings the database in line with a host's hypervisor
// (nova's _sync_power_states) and answers what the host must do to its
// guests in turn.
var SyncPowerStates = Method[PowerSyncRequest, PowerSyncReply]{
	Namespace: NamespaceConductor, Name: "sync_power_states", Version: V(1, 0)}

// ServiceUpdate is a service's heartbeat, with a compute host's node and
// instances.
var ServiceUpdate = Method[ServiceReport, None]{
	Namespace: NamespaceConductor, Name: "service_update", Version: V(1, 0)}

// BuildInstancesRequest is one create request's instances and what placing
// and building them needs beyond their records.
type BuildInstancesRequest struct {
	InstanceUUIDs []string  `json:"instance_uuids"`
	Image         ImageMeta `json:"image"`
	// AvailabilityZone is the zone asked for, "" for any.
	AvailabilityZone string              `json:"availability_zone,omitempty"`
	ForcedHost       string              `json:"force_host,omitempty"`
	ForcedNode       string              `json:"force_node,omitempty"`
	RequestedHost    string              `json:"requested_host,omitempty"`
	RequestedNode    string              `json:"requested_node,omitempty"`
	SchedulerHints   map[string][]string `json:"scheduler_hints,omitempty"`
	AdminPass        string              `json:"admin_password,omitempty"`
	InjectedFiles    []InjectedFile      `json:"injected_files,omitempty"`
}

// InstanceUpdateRequest is a host's change to an instance. Nil fields are
// left as they are.
type InstanceUpdateRequest struct {
	InstanceUUID string `json:"instance_uuid"`
	// Host is the reporting host, which must be the instance's.
	Host string `json:"host"`
	// ExpectedTaskStates refuses the change (UnexpectedTaskState) unless
	// the instance is in one of them ("" is no task); nil accepts any.
	ExpectedTaskStates []string `json:"expected_task_state,omitempty"`
	VMState            *string  `json:"vm_state,omitempty"`
	// TaskState "" clears the task.
	TaskState  *string `json:"task_state,omitempty"`
	PowerState *int    `json:"power_state,omitempty"`
	Progress   *int    `json:"progress,omitempty"`
	// Launched sets launched_at to now.
	Launched bool `json:"launched,omitempty"`
	// MoveTo hands the instance to another host (the source of a move,
	// once the disk is migrated).
	MoveTo *HostNode `json:"move_to,omitempty"`
	// FlavorNew makes the instance's new flavor (of a resize) its flavor.
	FlavorNew bool `json:"apply_new_flavor,omitempty"`
	// Fault is recorded against the instance with the change.
	Fault *Fault `json:"fault,omitempty"`
}

// HostNode is a host and its hypervisor node.
type HostNode struct {
	Host string `json:"host"`
	Node string `json:"node"`
}

// Fault is an instance fault a host records.
type Fault struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Details string `json:"details,omitempty"`
}

// InstanceState is an instance's states after an update.
type InstanceState struct {
	VMState    string `json:"vm_state"`
	TaskState  string `json:"task_state"`
	PowerState int    `json:"power_state"`
}

// InstanceEventRequest is the start (Finish false) or end of an event.
type InstanceEventRequest struct {
	InstanceUUID string `json:"instance_uuid"`
	RequestID    string `json:"request_id"`
	Event        string `json:"event"`
	Host         string `json:"host"`
	Finish       bool   `json:"finish,omitempty"`
	// Error is the failure's message when the event failed.
	Error string `json:"error,omitempty"`
}

// InstanceDestroyedRequest reports an instance gone from its host.
type InstanceDestroyedRequest struct {
	InstanceUUID string `json:"instance_uuid"`
	Host         string `json:"host"`
}

// PowerSyncRequest is a host's hypervisor view: the power state of each
// instance it runs.
type PowerSyncRequest struct {
	Host      string          `json:"host"`
	Instances []InstancePower `json:"instances"`
}

// InstancePower is an instance's power state on the hypervisor.
type InstancePower struct {
	UUID       string `json:"uuid"`
	PowerState int    `json:"power_state"`
}

// Power sync actions a host carries out on its guests.
const (
	// SyncPowerOff: the database says stopped, the guest runs.
	SyncPowerOff = "power_off"
	// SyncDestroy: the instance is deleted; its guest lingers.
	SyncDestroy = "destroy"
)

// PowerSyncReply lists what the host must do to its guests.
type PowerSyncReply struct {
	Actions []PowerSyncAction `json:"actions,omitempty"`
}

// PowerSyncAction is one thing to do to a guest.
type PowerSyncAction struct {
	UUID   string `json:"uuid"`
	Action string `json:"action"`
	// RequestID is the stop action a power off belongs to, whose event the
	// host records ("" none).
	RequestID string `json:"request_id,omitempty"`
}
