package app_test

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/instanceactions"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"

	"github.com/nimbus-cloud/nimbus/internal/cloudtest"
)

// restart restarts the cloud on its state folder and makes new clients.
func (q *qemuCloud) restart(t testing.TB) {
	t.Helper()
	q.Restart(t)
	q.compute = q.ComputeClient(t, cloudtest.Admin)
	q.compute.Microversion = "2.47"
	q.image = q.ImageClient(t, cloudtest.Admin)
}

// qemuPID is the QEMU process of a server on the one host, by its pid
// file, and whether that process runs.
func (q *qemuCloud) qemuPID(t testing.TB, id string) (int, bool) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(q.Config.Default.StatePath, "instances", id, "qemu.pid"))
	if err != nil {
		t.Fatalf("pid file of %s: %v", id, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil {
		t.Fatalf("pid file of %s: %v", id, err)
	}
	return pid, syscall.Kill(pid, 0) == nil
}

// actions are a server's instance actions, newest first.
func (q *qemuCloud) actions(t testing.TB, id string) []instanceactions.InstanceAction {
	t.Helper()
	pages, err := instanceactions.List(q.compute, id, nil).AllPages(context.Background())
	if err != nil {
		t.Fatalf("list actions of %s: %v", id, err)
	}
	acts, err := instanceactions.ExtractInstanceActions(pages)
	if err != nil {
		t.Fatal(err)
	}
	return acts
}

func countActions(acts []instanceactions.InstanceAction, name string) int {
	n := 0
	for _, a := range acts {
		if a.Action == name {
			n++
		}
	}
	return n
}

// TestQEMURestartCrashAndSmallDisk takes one real guest through a restart
// of the cloud, which adopts the running QEMU rather than booting it
// again, and through a crash of its QEMU, which the lifecycle events turn
// into SHUTOFF as nova's stop API would; and refuses a flavor whose root
// disk is smaller than the image's virtual size.
func TestQEMURestartCrashAndSmallDisk(t *testing.T) {
	t.Parallel()
	q := startQEMUCloud(t, 1)
	image := q.uploadFile(t, images.CreateOpts{Name: "tiny", DiskFormat: "qcow2", ContainerFormat: "bare"}, "disk.qcow2")
	flavor := q.flavor(t, "q.80", 80)

	t.Run("disk smaller than the image", func(t *testing.T) {
		// 2 GiB of virtual size in a few hundred kilobytes: the API sees
		// only the small file (as nova's does), the host refuses the disk.
		path := filepath.Join(t.TempDir(), "big.qcow2")
		if out, err := exec.Command("qemu-img", "create", "-q", "-f", "qcow2", path, "2G").CombinedOutput(); err != nil {
			t.Fatalf("qemu-img create: %v: %s", err, out)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		big := q.upload(t, images.CreateOpts{Name: "big", DiskFormat: "qcow2", ContainerFormat: "bare"}, f)
		id := q.boot(t, "big", flavor, big)
		s := q.waitStatus(t, id, "ERROR")
		t.Logf("fault: %d %s", s.Fault.Code, s.Fault.Message)
		if !strings.Contains(s.Fault.Details, "Flavor's disk is too small for requested image "+big+
			". Flavor disk is 1073741824 bytes, image is 2147483648 bytes.") || s.Fault.Code != http.StatusInternalServerError {
			t.Errorf("fault %+v: want one saying the root disk is smaller than the image", s.Fault)
		}
		if left := q.instanceFolders(t); len(left) != 0 {
			t.Errorf("a refused build left %v", left)
		}
		q.delete(t, id)
	})

	id := q.boot(t, "guest", flavor, image)
	q.waitStatus(t, id, "ACTIVE")
	q.waitConsole(t, id, guestReady, 1)
	pid, running := q.qemuPID(t, id)
	if !running {
		t.Fatalf("QEMU %d of an ACTIVE server does not run", pid)
	}

	t.Run("restart keeps the guest", func(t *testing.T) {
		q.restart(t)
		s := q.waitStatus(t, id, "ACTIVE")
		if s.PowerState != servers.RUNNING {
			t.Errorf("after the restart: power state %v", s.PowerState)
		}
		if now, running := q.qemuPID(t, id); now != pid || !running {
			t.Errorf("after the restart QEMU is %d (running %v), want the same %d", now, running, pid)
		}
		// The console is the same guest's: booted once, and it still
		// answers the power button.
		if out := q.console(t, id); strings.Count(out, guestReady) != 1 {
			t.Errorf("after the restart the console shows %d boots:\n%s", strings.Count(out, guestReady), out)
		}
		q.action(t, id, "SHUTOFF", func(ctx context.Context) error { return servers.Stop(ctx, q.compute, id).ExtractErr() })
		if out := q.console(t, id); !strings.Contains(out, guestACPI) {
			t.Errorf("the adopted guest was not asked to power off:\n%s", out)
		}
		q.action(t, id, "ACTIVE", func(ctx context.Context) error { return servers.Start(ctx, q.compute, id).ExtractErr() })
		q.waitConsole(t, id, guestReady, 2)
	})

	t.Run("QEMU crash stops the server", func(t *testing.T) {
		stops := countActions(q.actions(t, id), "stop")
		pid, running := q.qemuPID(t, id)
		if !running {
			t.Fatalf("QEMU %d does not run", pid)
		}
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		s := q.waitStatus(t, id, "SHUTOFF")
		if s.PowerState != servers.SHUTDOWN && s.PowerState != servers.CRASHED {
			t.Errorf("crashed server power state %v", s.PowerState)
		}
		// As nova's power state sync calls the stop API: a stop action
		// no user asked for, with the host's stop event.
		acts := q.actions(t, id)
		if n := countActions(acts, "stop"); n != stops+1 {
			t.Fatalf("%d stop actions after the crash, want %d: %+v", n, stops+1, acts)
		}
		act, err := instanceactions.Get(context.Background(), q.compute, id, acts[0].RequestID).Extract()
		if err != nil {
			t.Fatal(err)
		}
		if act.Action != "stop" || act.Events == nil || len(*act.Events) == 0 ||
			(*act.Events)[0].Event != "compute_stop_instance" || (*act.Events)[0].Result != "Success" {
			t.Errorf("newest action %+v", act)
		}
		// No user asked for it: nova's periodic task has none.
		resp := q.Do(t, "GET", q.ComputeURL+"/servers/"+id+"/os-instance-actions/"+act.RequestID, q.Token(t, cloudtest.Admin), nil)
		if a, _ := resp.JSON(t)["instanceAction"].(map[string]any); a == nil || a["user_id"] != nil || a["project_id"] != nil {
			t.Errorf("the sync's stop action: %d %s", resp.Status, resp.Body)
		}
		// It boots again from its disk.
		boots := strings.Count(q.console(t, id), guestReady)
		q.action(t, id, "ACTIVE", func(ctx context.Context) error { return servers.Start(ctx, q.compute, id).ExtractErr() })
		q.waitConsole(t, id, guestReady, boots+1)
	})

	q.delete(t, id)
	if left := q.instanceFolders(t); len(left) != 0 {
		t.Errorf("instance folders left after every server was deleted: %v", left)
	}
}
