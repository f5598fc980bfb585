package compute

import (
	"strings"
	"testing"
	"time"
)

func TestStatus(t *testing.T) {
	t.Parallel()
	cases := []struct {
		vm   VMState
		task TaskState
		want string
	}{
		{VMActive, TaskNone, "ACTIVE"}, {VMActive, TaskRebootingHard, "HARD_REBOOT"}, {VMActive, TaskPoweringOff, "ACTIVE"},
		{VMStopped, TaskResizePrep, "RESIZE"}, {VMStopped, TaskPoweringOn, "SHUTOFF"}, {VMBuilding, TaskScheduling, "BUILD"},
		{VMResized, TaskResizeReverting, "REVERT_RESIZE"}, {VMResized, TaskResizeConfirming, "VERIFY_RESIZE"},
		{VMError, TaskRebuilding, "REBUILD"}, {VMShelvedOffloaded, TaskNone, "SHELVED_OFFLOADED"}, {"bogus", TaskNone, "UNKNOWN"},
		{VMActive, TaskRescuing, "ACTIVE"}, {VMRescued, TaskUnrescuing, "RESCUE"}, {VMShelved, TaskShelvingOffloading, "SHELVED"},
		{VMActive, TaskShelvingImageUploading, "ACTIVE"}, {VMShelvedOffloaded, TaskUnshelving, "SHELVED_OFFLOADED"},
	}
	for _, tc := range cases {
		i := Instance{VMState: tc.vm, TaskState: tc.task}
		if got := i.Status(); got != tc.want {
			t.Errorf("%s/%s: %s, want %s", tc.vm, tc.task, got, tc.want)
		}
	}
	if (&Instance{VMState: VMActive, Deleted: true}).Status() != "DELETED" {
		t.Error("a deleted instance is not DELETED")
	}
	vms, tasks, anyTask := StatesForStatus([]string{"ACTIVE", "verify_resize"})
	if len(vms) != 2 || vms[0] != VMActive || vms[1] != VMResized || len(tasks) != 0 || !anyTask {
		t.Errorf("ACTIVE, VERIFY_RESIZE: %v %v %v", vms, tasks, anyTask)
	}
}

// TestCheckStateOrder checks that the refusals come in nova's decorator
// order: the lock, a missing host (before the states where nova checks it
// first), the states, a launch, the host's service.
func TestCheckStateOrder(t *testing.T) {
	t.Parallel()
	launched := time.Unix(1, 0)
	down := func(string) bool { return false }
	cases := []struct {
		name, op string
		inst     Instance
		admin    bool
		want     string
	}{
		{"lock first", "stop", Instance{UUID: "u", Locked: true, VMState: VMBuilding}, false, "Instance u is locked"},
		{"admins pass locks", "stop", Instance{UUID: "u", Locked: true, VMState: VMStopped, Host: "h", LaunchedAt: launched},
			true, "Cannot 'stop' instance u while it is in vm_state stopped"},
		{"host before state", "stop", Instance{UUID: "u", VMState: VMBuilding}, false, "Instance u is not ready"},
		{"state before host", "resize", Instance{UUID: "u", VMState: VMBuilding}, false, "vm_state building"},
		{"task", "pause", Instance{UUID: "u", VMState: VMActive, TaskState: TaskRebooting}, false,
			"Cannot 'pause' instance u while it is in task_state rebooting"},
		{"launched", "pause", Instance{UUID: "u", VMState: VMActive}, false, "while it is in launched_at None"},
		{"host down", "resize", Instance{UUID: "u", VMState: VMActive, Host: "h", LaunchedAt: launched}, false,
			"Service is unavailable at this time."},
		{"console while migrating", "remote-console", Instance{UUID: "u", Host: "h", TaskState: TaskMigrating}, false,
			"Cannot 'get_vnc_console' instance u while it is in task_state migrating"},
		{"delete anything", "delete", Instance{UUID: "u", VMState: VMError, TaskState: TaskDeleting}, false, ""},
		{"rescue an errored server", "rescue", Instance{UUID: "u", VMState: VMError, LaunchedAt: launched}, false, ""},
		{"rescue a paused server", "rescue", Instance{UUID: "u", VMState: VMPaused, LaunchedAt: launched}, false,
			"Cannot 'rescue' instance u while it is in vm_state paused"},
		{"rescue while busy", "rescue", Instance{UUID: "u", VMState: VMActive, TaskState: TaskRebooting,
			LaunchedAt: launched}, false, "task_state rebooting"},
		{"rescue locked", "rescue", Instance{UUID: "u", Locked: true, VMState: VMActive}, false, "Instance u is locked"},
		{"unrescue active", "unrescue", Instance{UUID: "u", VMState: VMActive, LaunchedAt: launched}, false,
			"Cannot 'unrescue' instance u while it is in vm_state active"},
		{"backup locked", "createBackup", Instance{UUID: "u", Locked: true, VMState: VMSuspended, LaunchedAt: launched},
			false, ""},
		{"backup stopped", "createBackup", Instance{UUID: "u", VMState: VMStopped, LaunchedAt: launched}, false, ""},
		{"backup shelved", "createBackup", Instance{UUID: "u", VMState: VMShelved, LaunchedAt: launched}, false,
			"Cannot 'createBackup' instance u while it is in vm_state shelved"},
		{"offload active", "shelveOffload", Instance{UUID: "u", VMState: VMActive, LaunchedAt: launched}, true,
			"Cannot 'shelveOffload' instance u while it is in vm_state active"},
		{"unshelve offloaded", "unshelve", Instance{UUID: "u", VMState: VMShelvedOffloaded, LaunchedAt: launched}, false, ""},
		{"diagnostics without a host", "diagnostics", Instance{UUID: "u", VMState: VMShelvedOffloaded}, true,
			"Instance u is not ready"},
	}
	for _, tc := range cases {
		err := checkState(tc.op, &tc.inst, tc.admin, down)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestSanitizeHostname(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"Web Server_1.example": "web-server-1-example", "--x--": "x",
		"héllo wörld": "héllo-wörld", "日本": "", strings.Repeat("a", 70): strings.Repeat("a", 63)} {
		if got := sanitizeHostname(in); got != want {
			t.Errorf("sanitizeHostname(%q) = %q, want %q", in, got, want)
		}
	}
}
