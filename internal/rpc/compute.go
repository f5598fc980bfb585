package rpc

import "encoding/json"

// The compute agent's interface, served by each agent on compute.<host>.
// The API casts power actions and deletes straight to the instance's host,
// as nova's compute API does; the conductor casts builds. Version history:
//
//	1.0: build_and_run_instance, terminate_instance, the power actions,
//	     get_console_output, get_vnc_console, rebuild_instance,
//	     snapshot_instance, resize_instance, finish_resize,
//	     confirm_migration, revert_migration, finish_revert_migration,
//	     live_migration, pre_live_migration,
//	     post_live_migration_at_destination,
//	     rollback_live_migration_at_destination.
//	1.1: shelve_instance, shelve_offload_instance, unshelve_instance,
//	     rescue_instance, unrescue_instance, backup_instance,
//	     get_instance_diagnostics.
//	1.2: pre_live_migration answers the destination's migrate data, which
//	     the source's driver needs to reach it;
//	     live_migration_force_complete, live_migration_abort.
var ComputeVersion = V(1, 2)

// NamespaceCompute is the compute agent's namespace.
const NamespaceCompute = "compute"

// BuildAndRunInstance builds an instance whose resources on this host are
// claimed already: the agent fetches the image, spawns, and reports each
// step to the conductor; a spawn that fails is handed back to the conductor
// with reschedule_instance.
var BuildAndRunInstance = Method[BuildAndRunRequest, None]{
	Namespace: NamespaceCompute, Name: "build_and_run_instance", Version: V(1, 0)}

// TerminateInstance destroys an instance and reports it destroyed.
var TerminateInstance = Method[InstanceRequest, None]{
	Namespace: NamespaceCompute, Name: "terminate_instance", Version: V(1, 0)}

// The power actions: each expects the task state the API set and reports
// the instance's new states (or, on failure, a fault and the task state
// reverted) to the conductor.
var (
	StartInstance   = Method[InstanceRequest, None]{Namespace: NamespaceCompute, Name: "start_instance", Version: V(1, 0)}
	StopInstance    = Method[InstanceRequest, None]{Namespace: NamespaceCompute, Name: "stop_instance", Version: V(1, 0)}
	RebootInstance  = Method[InstanceRequest, None]{Namespace: NamespaceCompute, Name: "reboot_instance", Version: V(1, 0)}
	PauseInstance   = Method[InstanceRequest, None]{Namespace: NamespaceCompute, Name: "pause_instance", Version: V(1, 0)}
	UnpauseInstance = Method[InstanceRequest, None]{Namespace: NamespaceCompute, Name: "unpause_instance", Version: V(1, 0)}
	SuspendInstance = Method[InstanceRequest, None]{Namespace: NamespaceCompute, Name: "suspend_instance", Version: V(1, 0)}
	ResumeInstance  = Method[InstanceRequest, None]{Namespace: NamespaceCompute, Name: "resume_instance", Version: V(1, 0)}
)

// RebuildInstance re-creates an instance on its host from an image: its
// guest is destroyed and spawned again, ending ACTIVE (STOPPED when it was
// stopped), or ERROR with a fault when the spawn fails.
var RebuildInstance = Method[RebuildRequest, None]{
	Namespace: NamespaceCompute, Name: "rebuild_instance", Version: V(1, 0)}

// SnapshotInstance uploads an instance's disk into a queued image.
var SnapshotInstance = Method[SnapshotRequest, None]{
	Namespace: NamespaceCompute, Name: "snapshot_instance", Version: V(1, 0)}

// ResizeInstance is the source side of a resize or cold migration: the
// host powers the instance off, hands its disk to the destination and
// casts finish_resize there.
var ResizeInstance = Method[ResizeRequest, None]{
	Namespace: NamespaceCompute, Name: "resize_instance", Version: V(1, 0)}

// FinishResize is the destination side: the host creates the instance from
// the migrated disk with the new flavor, which then awaits confirmation
// (VERIFY_RESIZE).
var FinishResize = Method[FinishResizeRequest, None]{
	Namespace: NamespaceCompute, Name: "finish_resize", Version: V(1, 0)}

// ConfirmMigration drops a source host's copy of a confirmed resize (a
// call).
var ConfirmMigration = Method[InstanceRequest, None]{
	Namespace: NamespaceCompute, Name: "confirm_migration", Version: V(1, 0)}

// RevertMigration destroys a destination host's copy of a reverted resize
// (a call).
var RevertMigration = Method[InstanceRequest, None]{
	Namespace: NamespaceCompute, Name: "revert_migration", Version: V(1, 0)}

// FinishRevertMigration brings a reverted instance back on its source host
// and answers its power state (a call).
var FinishRevertMigration = Method[FinishRevertRequest, InstanceState]{
	Namespace: NamespaceCompute, Name: "finish_revert_migration", Version: V(1, 0)}

// LiveMigration moves a running instance from this host (the source) to
// another while it runs, and reports the outcome to the conductor.
var LiveMigration = Method[LiveMigrationRequest, None]{
	Namespace: NamespaceCompute, Name: "live_migration", Version: V(1, 0)}

// PreLiveMigration readies a destination for an incoming instance and
// answers how the source sends it there (a call from the source host).
var PreLiveMigration = Method[InstanceSpec, PreLiveMigrationReply]{
	Namespace: NamespaceCompute, Name: "pre_live_migration", Version: V(1, 2)}

// PreLiveMigrationReply is the destination's migrate data (nova's
// migrate_data): a JSON document of the destination's virt driver, which
// the source hands to its own driver unread.
type PreLiveMigrationReply struct {
	MigrateData json.RawMessage `json:"migrate_data"`
}

// LiveMigrationForceComplete asks the source host of a live migration under
// way to make it complete now, pausing the guest (a cast from the compute
// API).
var LiveMigrationForceComplete = Method[InstanceRequest, None]{
	Namespace: NamespaceCompute, Name: "live_migration_force_complete", Version: V(1, 2)}

// LiveMigrationAbort asks the source host of a live migration to cancel
// it; the instance stays there and the migration ends cancelled (a cast
// from the compute API).
var LiveMigrationAbort = Method[InstanceRequest, None]{
	Namespace: NamespaceCompute, Name: "live_migration_abort", Version: V(1, 2)}

// PostLiveMigration lets the destination take over a migrated instance (a
// call from the source host).
var PostLiveMigration = Method[InstanceRequest, None]{
	Namespace: NamespaceCompute, Name: "post_live_migration_at_destination", Version: V(1, 0)}

// RollbackLiveMigration undoes what pre_live_migration made after a failed
// live migration (a call from the source host).
var RollbackLiveMigration = Method[InstanceRequest, None]{
	Namespace: NamespaceCompute, Name: "rollback_live_migration_at_destination", Version: V(1, 0)}

// GetConsoleOutput returns the tail of an instance's console log (a call).
var GetConsoleOutput = Method[ConsoleOutputRequest, ConsoleOutputReply]{
	Namespace: NamespaceCompute, Name: "get_console_output", Version: V(1, 0)}

// GetVNCConsole returns where an instance's VNC server listens (a call).
var GetVNCConsole = Method[InstanceRequest, VNCConsoleReply]{
	Namespace: NamespaceCompute, Name: "get_vnc_console", Version: V(1, 0)}

// BuildAndRunRequest is one instance's build on one host. It travels back
// to the conductor unchanged (with the failure added) when the build fails,
// so that the conductor, which keeps no state, can try the alternates.
type BuildAndRunRequest struct {
	Instance InstanceSpec `json:"instance"`
	// Host is the host chosen (the receiver), with its allocation.
	Host HostChoice `json:"host"`
	// Alternates are the hosts left to try, best first.
	Alternates []HostChoice `json:"alternates,omitempty"`
	// Attempt counts the hosts tried, this one included (1 on the first).
	Attempt int `json:"attempt"`
	// Failures are the hosts the build failed on before, and why.
	Failures      []HostFailure  `json:"failures,omitempty"`
	AdminPass     string         `json:"admin_password,omitempty"`
	InjectedFiles []InjectedFile `json:"injected_files,omitempty"`
}

// InstanceRequest names an instance for an operation on its host.
type InstanceRequest struct {
	InstanceUUID string `json:"instance_uuid"`
	// RebootType is "SOFT" or "HARD" for reboot_instance.
	RebootType string `json:"reboot_type,omitempty"`
}

// ConsoleOutputRequest asks for the last Length lines of a console log
// (all when Length < 0).
type ConsoleOutputRequest struct {
	InstanceUUID string `json:"instance_uuid"`
	Length       int    `json:"length"`
}

// ConsoleOutputReply is the console log's tail.
type ConsoleOutputReply struct {
	Output string `json:"output"`
}

// VNCConsoleReply is where an instance's VNC server listens.
type VNCConsoleReply struct {
	Host string `json:"host"`
	Port int    `json:"port"`
}

// RebuildRequest is a rebuild of an instance on its host.
type RebuildRequest struct {
	Instance InstanceSpec `json:"instance"`
	// VMState is the instance's vm_state before the rebuild: a stopped
	// instance stays stopped.
	VMState           string         `json:"orig_vm_state"`
	AdminPass         string         `json:"admin_password,omitempty"`
	PreserveEphemeral bool           `json:"preserve_ephemeral,omitempty"`
	InjectedFiles     []InjectedFile `json:"injected_files,omitempty"`
}

// SnapshotRequest asks a host to upload an instance's disk into ImageID.
type SnapshotRequest struct {
	InstanceUUID string `json:"instance_uuid"`
	ImageID      string `json:"image_id"`
}

// ResizeRequest is the source side of a resize or migration.
type ResizeRequest struct {
	// Instance is the instance with the flavor it has now.
	Instance  InstanceSpec `json:"instance"`
	NewFlavor Flavor       `json:"new_flavor"`
	Dest      HostChoice   `json:"dest"`
	// VMState is the instance's vm_state before the move: a stopped
	// instance is not powered on at the destination.
	VMState string `json:"orig_vm_state"`
}

// FinishResizeRequest is the destination side of a resize or migration.
type FinishResizeRequest struct {
	// Instance is the instance with its new flavor.
	Instance   InstanceSpec      `json:"instance"`
	SourceHost string            `json:"source_host"`
	Disk       map[string]string `json:"disk_info"`
	VMState    string            `json:"orig_vm_state"`
}

// FinishRevertRequest brings a source copy back, running when PowerOn.
type FinishRevertRequest struct {
	InstanceUUID string `json:"instance_uuid"`
	PowerOn      bool   `json:"power_on"`
}

// LiveMigrationRequest is the source side of a live migration.
type LiveMigrationRequest struct {
	Instance InstanceSpec `json:"instance"`
	Dest     HostChoice   `json:"dest"`
}
