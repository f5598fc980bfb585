package compute

import "slices"

// VMState is nova's vm_state: what the instance is when no task runs
// (nova/compute/vm_states.py).
type VMState string

// The vm_states, spelt as nova stores them.
const (
	VMActive           VMState = "active"
	VMBuilding         VMState = "building"
	VMPaused           VMState = "paused"
	VMSuspended        VMState = "suspended"
	VMStopped          VMState = "stopped"
	VMRescued          VMState = "rescued"
	VMResized          VMState = "resized"
	VMSoftDeleted      VMState = "soft-delete"
	VMDeleted          VMState = "deleted"
	VMError            VMState = "error"
	VMShelved          VMState = "shelved"
	VMShelvedOffloaded VMState = "shelved_offloaded"
)

// TaskState is nova's task_state: what is happening to the instance now
// (nova/compute/task_states.py). TaskNone is no task (NULL).
type TaskState string

// The task_states, spelt as nova stores them.
const (
	TaskNone                       TaskState = ""
	TaskScheduling                 TaskState = "scheduling"
	TaskBlockDeviceMapping         TaskState = "block_device_mapping"
	TaskNetworking                 TaskState = "networking"
	TaskSpawning                   TaskState = "spawning"
	TaskImageSnapshot              TaskState = "image_snapshot"
	TaskImageSnapshotPending       TaskState = "image_snapshot_pending"
	TaskImagePendingUpload         TaskState = "image_pending_upload"
	TaskImageUploading             TaskState = "image_uploading"
	TaskImageBackup                TaskState = "image_backup"
	TaskUpdatingPassword           TaskState = "updating_password"
	TaskResizePrep                 TaskState = "resize_prep"
	TaskResizeMigrating            TaskState = "resize_migrating"
	TaskResizeMigrated             TaskState = "resize_migrated"
	TaskResizeFinish               TaskState = "resize_finish"
	TaskResizeReverting            TaskState = "resize_reverting"
	TaskResizeConfirming           TaskState = "resize_confirming"
	TaskRebooting                  TaskState = "rebooting"
	TaskRebootPending              TaskState = "reboot_pending"
	TaskRebootStarted              TaskState = "reboot_started"
	TaskRebootingHard              TaskState = "rebooting_hard"
	TaskRebootPendingHard          TaskState = "reboot_pending_hard"
	TaskRebootStartedHard          TaskState = "reboot_started_hard"
	TaskPausing                    TaskState = "pausing"
	TaskUnpausing                  TaskState = "unpausing"
	TaskSuspending                 TaskState = "suspending"
	TaskResuming                   TaskState = "resuming"
	TaskPoweringOff                TaskState = "powering-off"
	TaskPoweringOn                 TaskState = "powering-on"
	TaskRescuing                   TaskState = "rescuing"
	TaskUnrescuing                 TaskState = "unrescuing"
	TaskRebuilding                 TaskState = "rebuilding"
	TaskRebuildBlockDeviceMapping  TaskState = "rebuild_block_device_mapping"
	TaskRebuildSpawning            TaskState = "rebuild_spawning"
	TaskMigrating                  TaskState = "migrating"
	TaskDeleting                   TaskState = "deleting"
	TaskSoftDeleting               TaskState = "soft-deleting"
	TaskRestoring                  TaskState = "restoring"
	TaskShelving                   TaskState = "shelving"
	TaskShelvingImagePendingUpload TaskState = "shelving_image_pending_upload"
	TaskShelvingImageUploading     TaskState = "shelving_image_uploading"
	TaskShelvingOffloading         TaskState = "shelving_offloading"
	TaskUnshelving                 TaskState = "unshelving"
)

// PowerState is nova's power_state, the hypervisor's last word on the guest
// (nova/compute/power_state.py); the API shows the number.
type PowerState int

// The power states; 2 and 5 are unused, as in nova.
const (
	PowerNoState   PowerState = 0
	PowerRunning   PowerState = 1
	PowerPaused    PowerState = 3
	PowerShutdown  PowerState = 4
	PowerCrashed   PowerState = 6
	PowerSuspended PowerState = 7
)

// Host statuses of a server's compute service (microversion 2.16).
const (
	HostUp          = "UP"
	HostDown        = "DOWN"
	HostMaintenance = "MAINTENANCE"
	HostUnknown     = "UNKNOWN"
	HostNone        = ""
)

// statusMap is nova's _STATE_MAP: the API status of a vm_state, per task
// state, with a default for the others.
var statusMap = map[VMState]map[TaskState]string{
	VMActive: {
		TaskNone: "ACTIVE", TaskRebooting: "REBOOT", TaskRebootPending: "REBOOT", TaskRebootStarted: "REBOOT",
		TaskRebootingHard: "HARD_REBOOT", TaskRebootPendingHard: "HARD_REBOOT", TaskRebootStartedHard: "HARD_REBOOT",
		TaskUpdatingPassword: "PASSWORD", TaskRebuilding: "REBUILD", TaskRebuildBlockDeviceMapping: "REBUILD",
		TaskRebuildSpawning: "REBUILD", TaskMigrating: "MIGRATING", TaskResizePrep: "RESIZE",
		TaskResizeMigrating: "RESIZE", TaskResizeMigrated: "RESIZE", TaskResizeFinish: "RESIZE",
	},
	VMBuilding: {TaskNone: "BUILD"},
	VMStopped: {
		TaskNone: "SHUTOFF", TaskResizePrep: "RESIZE", TaskResizeMigrating: "RESIZE", TaskResizeMigrated: "RESIZE",
		TaskResizeFinish: "RESIZE", TaskRebuilding: "REBUILD", TaskRebuildBlockDeviceMapping: "REBUILD",
		TaskRebuildSpawning: "REBUILD",
	},
	VMResized:   {TaskNone: "VERIFY_RESIZE", TaskResizeReverting: "REVERT_RESIZE"},
	VMPaused:    {TaskNone: "PAUSED", TaskMigrating: "MIGRATING"},
	VMSuspended: {TaskNone: "SUSPENDED"},
	VMRescued:   {TaskNone: "RESCUE"},
	VMError: {
		TaskNone: "ERROR", TaskRebuilding: "REBUILD", TaskRebuildBlockDeviceMapping: "REBUILD",
		TaskRebuildSpawning: "REBUILD",
	},
	VMDeleted:          {TaskNone: "DELETED"},
	VMSoftDeleted:      {TaskNone: "SOFT_DELETED"},
	VMShelved:          {TaskNone: "SHELVED"},
	VMShelvedOffloaded: {TaskNone: "SHELVED_OFFLOADED"},
}

// Status is the API status of an instance (nova's status_from_state): the
// entry of its task state, else its vm_state's default; DELETED once
// deleted; UNKNOWN for a vm_state nova does not know.
func (i *Instance) Status() string {
	if i.Deleted {
		return "DELETED"
	}
	tasks, ok := statusMap[i.VMState]
	if !ok {
		return "UNKNOWN"
	}
	if s, ok := tasks[i.TaskState]; ok {
		return s
	}
	return tasks[TaskNone]
}

// StatesForStatus turns API statuses into the vm_states and task states
// that show them (nova's task_and_vm_state_from_status). anyTask is true
// when a status is a vm_state's default, which any task state shows, so
// the task states do not narrow the match.
func StatesForStatus(statuses []string) (vms []VMState, tasks []TaskState, anyTask bool) {
	for vm, m := range statusMap {
		for task, status := range m {
			if !slices.ContainsFunc(statuses, func(s string) bool { return equalFold(s, status) }) {
				continue
			}
			if !slices.Contains(vms, vm) {
				vms = append(vms, vm)
			}
			if task == TaskNone {
				anyTask = true
			} else if !slices.Contains(tasks, task) {
				tasks = append(tasks, task)
			}
		}
	}
	slices.Sort(vms)
	slices.Sort(tasks)
	return vms, tasks, anyTask
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// Actions recorded in os-instance-actions (nova/compute/instance_actions.py).
const (
	ActionCreate        = "create"
	ActionRestore       = "restore"
	ActionDelete        = "delete"
	ActionEvacuate      = "evacuate"
	ActionStop          = "stop"
	ActionStart         = "start"
	ActionReboot        = "reboot"
	ActionRebuild       = "rebuild"
	ActionRevertResize  = "revertResize"
	ActionConfirmResize = "confirmResize"
	ActionResize        = "resize"
	ActionMigrate       = "migrate"
	ActionPause         = "pause"
	ActionUnpause       = "unpause"
	ActionSuspend       = "suspend"
	ActionResume        = "resume"
	ActionShelve        = "shelve"
	ActionShelveOffload = "shelveOffload"
	ActionUnshelve      = "unshelve"
	ActionLiveMigration = "live-migration"
	ActionLock          = "lock"
	ActionUnlock        = "unlock"
	ActionCreateImage   = "createImage"
)

// stateRule is what an operation demands of an instance, nova's decorators
// on compute.API methods in the order nova applies them: the lock
// (check_instance_lock), then the host when hostFirst (check_instance_host
// before check_instance_state), the states (check_instance_state: vm_states
// and task states, nil allowing any, and a launched instance), the host
// otherwise, and task states refused (reject_instance_state).
type stateRule struct {
	// name is how the API names the operation in its 409 ("Cannot 'name'
	// instance ...").
	name             string
	checkLock        bool
	vmStates         []VMState
	taskStates       []TaskState
	mustHaveLaunched bool
	needsHost        bool
	hostFirst        bool
	// hostUp also wants the host's compute service up (check_is_up).
	hostUp      bool
	rejectTasks []TaskState
}

// noTask is task_state None, the default demand of check_instance_state.
var noTask = []TaskState{TaskNone}

// stateRules is the transition table: per operation, which states allow it
// (nova's decorators on compute.API, 2025.1).
var stateRules = map[string]stateRule{
	"delete": {name: "delete", checkLock: true},
	"restore": {name: "restore", checkLock: true, vmStates: []VMState{VMSoftDeleted}, taskStates: noTask,
		mustHaveLaunched: true},
	"forceDelete": {name: "forceDelete", checkLock: true},
	"start": {name: "start", checkLock: true, needsHost: true, hostFirst: true, vmStates: []VMState{VMStopped},
		taskStates: noTask, mustHaveLaunched: true},
	"stop": {name: "stop", checkLock: true, needsHost: true, hostFirst: true, vmStates: []VMState{VMActive, VMError},
		taskStates: noTask, mustHaveLaunched: true},
	"rebootSoft": {name: "reboot", checkLock: true, vmStates: []VMState{VMActive}, taskStates: noTask,
		mustHaveLaunched: true},
	"rebootHard": {name: "reboot", checkLock: true,
		vmStates:         []VMState{VMActive, VMStopped, VMPaused, VMSuspended, VMError},
		taskStates:       []TaskState{TaskNone, TaskRebooting, TaskRebootPending, TaskRebootStarted, TaskResuming, TaskRebootingHard, TaskUnpausing, TaskPausing, TaskSuspending},
		mustHaveLaunched: true},
	"pause":   {name: "pause", checkLock: true, vmStates: []VMState{VMActive}, taskStates: noTask, mustHaveLaunched: true},
	"unpause": {name: "unpause", checkLock: true, vmStates: []VMState{VMPaused}, taskStates: noTask, mustHaveLaunched: true},
	"suspend": {name: "suspend", checkLock: true, vmStates: []VMState{VMActive}, taskStates: noTask, mustHaveLaunched: true},
	"resume":  {name: "resume", checkLock: true, vmStates: []VMState{VMSuspended}, taskStates: noTask, mustHaveLaunched: true},
	"rebuild": {name: "rebuild", checkLock: true, vmStates: []VMState{VMActive, VMStopped, VMError}, taskStates: noTask,
		mustHaveLaunched: true},
	"resize": {name: "resize", checkLock: true, vmStates: []VMState{VMActive, VMStopped}, taskStates: noTask,
		mustHaveLaunched: true, needsHost: true, hostUp: true},
	"migrate": {name: "migrate", checkLock: true, vmStates: []VMState{VMActive, VMStopped}, taskStates: noTask,
		mustHaveLaunched: true, needsHost: true, hostUp: true},
	"confirmResize": {name: "confirmResize", checkLock: true, vmStates: []VMState{VMResized}, taskStates: noTask,
		mustHaveLaunched: true},
	"revertResize": {name: "revertResize", checkLock: true, vmStates: []VMState{VMResized}, taskStates: noTask,
		mustHaveLaunched: true},
	"createImage": {name: "createImage", vmStates: []VMState{VMActive, VMStopped, VMPaused, VMSuspended},
		taskStates: noTask, mustHaveLaunched: true},
	"shelve": {name: "shelve", checkLock: true, vmStates: []VMState{VMActive, VMStopped, VMPaused, VMSuspended},
		taskStates: noTask, mustHaveLaunched: true},
	"shelveOffload": {name: "shelveOffload", checkLock: true, vmStates: []VMState{VMShelved}, taskStates: noTask,
		mustHaveLaunched: true},
	"unshelve": {name: "unshelve", checkLock: true, vmStates: []VMState{VMShelved, VMShelvedOffloaded},
		taskStates: noTask, mustHaveLaunched: true},
	"os-migrateLive": {name: "os-migrateLive", checkLock: true, vmStates: []VMState{VMActive, VMPaused},
		taskStates: noTask, mustHaveLaunched: true},
	"evacuate":            {name: "evacuate", vmStates: []VMState{VMActive, VMStopped, VMError}, mustHaveLaunched: true},
	"os-getConsoleOutput": {name: "os-getConsoleOutput", needsHost: true, hostFirst: true},
	"rescue": {name: "rescue", checkLock: true, vmStates: []VMState{VMActive, VMStopped, VMError}, taskStates: noTask,
		mustHaveLaunched: true},
	"unrescue": {name: "unrescue", checkLock: true, vmStates: []VMState{VMRescued}, taskStates: noTask,
		mustHaveLaunched: true},
	"createBackup": {name: "createBackup", vmStates: []VMState{VMActive, VMStopped, VMPaused, VMSuspended},
		taskStates: noTask, mustHaveLaunched: true},
	"diagnostics": {name: "get_diagnostics", needsHost: true, hostFirst: true},
	"remote-console": {name: "get_vnc_console", needsHost: true, hostFirst: true,
		rejectTasks: []TaskState{TaskDeleting, TaskMigrating}},
	"update metadata": {name: "update metadata", checkLock: true,
		vmStates: []VMState{VMActive, VMPaused, VMSuspended, VMStopped}, mustHaveLaunched: true},
	"delete metadata": {name: "delete metadata", checkLock: true,
		vmStates: []VMState{VMActive, VMPaused, VMSuspended, VMStopped}, mustHaveLaunched: true},
	// Tags check the vm_state alone, in the API (server_tags.py).
	"update tag":  {name: "update tag", vmStates: []VMState{VMActive, VMPaused, VMSuspended, VMStopped}},
	"update tags": {name: "update tags", vmStates: []VMState{VMActive, VMPaused, VMSuspended, VMStopped}},
	"delete tag":  {name: "delete tag", vmStates: []VMState{VMActive, VMPaused, VMSuspended, VMStopped}},
	"delete tags": {name: "delete tags", vmStates: []VMState{VMActive, VMPaused, VMSuspended, VMStopped}},
}

// checkState applies the rule of operation op to inst: a locked instance
// (unless admin), a missing host, a vm_state or task state the operation
// does not allow. hostUp reports whether a host's compute service is up.
func checkState(op string, inst *Instance, admin bool, hostUp func(host string) bool) error {
	r, ok := stateRules[op]
	if !ok {
		panic("compute: no state rule for " + op)
	}
	if r.checkLock && inst.Locked && !admin {
		return errorf(ErrConflict, "Instance %s is locked", inst.UUID)
	}
	if r.needsHost && r.hostFirst && inst.Host == "" {
		return errorf(ErrConflict, "Instance %s is not ready", inst.UUID)
	}
	if r.vmStates != nil && !slices.Contains(r.vmStates, inst.VMState) {
		return invalidState(r.name, inst.UUID, "vm_state", string(inst.VMState))
	}
	if r.taskStates != nil && !slices.Contains(r.taskStates, inst.TaskState) {
		return invalidState(r.name, inst.UUID, "task_state", pyNone(string(inst.TaskState)))
	}
	if r.mustHaveLaunched && inst.LaunchedAt.IsZero() {
		return invalidState(r.name, inst.UUID, "launched_at", "None")
	}
	if r.needsHost && !r.hostFirst {
		if inst.Host == "" {
			return errorf(ErrConflict, "Instance %s is not ready", inst.UUID)
		}
		if r.hostUp && hostUp != nil && !hostUp(inst.Host) {
			return errorf(ErrConflict, "Service is unavailable at this time.")
		}
	}
	if slices.Contains(r.rejectTasks, inst.TaskState) {
		return invalidState(r.name, inst.UUID, "task_state", string(inst.TaskState))
	}
	return nil
}

// invalidState is nova's InstanceInvalidState as the API words it
// (raise_http_conflict_for_instance_invalid_state).
func invalidState(action, uuid, attr, state string) error {
	return errorf(ErrConflict, "Cannot '%s' instance %s while it is in %s %s", action, uuid, attr, state)
}

// pyNone shows an empty state as Python's None, as nova's messages do.
func pyNone(s string) string {
	if s == "" {
		return "None"
	}
	return s
}
