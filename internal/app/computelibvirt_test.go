package app_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	golibvirt "github.com/digitalocean/go-libvirt"
	"github.com/google/uuid"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/hypervisors"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"

	"github.com/nimbus-cloud/nimbus/internal/cloudtest"
	"github.com/nimbus-cloud/nimbus/internal/virt/libvirt"
	"github.com/nimbus-cloud/nimbus/internal/virt/libvirt/libvirttest"
)

// TestLibvirtServerThroughTheAPI runs one tiny guest on compute_driver
// libvirt through the API: it boots and shows its banner on
// os-getConsoleOutput, keeps running through a restart of the cloud,
// stops on the power button and starts again, goes to SHUTOFF when its
// QEMU is killed, and its delete leaves no domain in libvirtd and no
// instance folder.
func TestLibvirtServerThroughTheAPI(t *testing.T) {
	t.Parallel()
	// A VNC port range apart from the libvirt package's daemons'.
	uri := libvirttest.Require(t, "4e494d42-5553-4000-8000-0000000000a1", 26900)
	q := startQEMUCloud(t, 1, cloudtest.WithLibvirt(uri))
	conn, err := libvirt.Dial(uri)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Disconnect()

	cloudtest.Eventually(t, guestWait, func() bool {
		pages, err := hypervisors.List(q.compute, nil).AllPages(context.Background())
		if err != nil {
			t.Fatalf("list hypervisors: %v", err)
		}
		hs, err := hypervisors.ExtractHypervisors(pages)
		if err != nil {
			t.Fatal(err)
		}
		return len(hs) == 1 && hs[0].HypervisorType == "QEMU" && hs[0].VCPUs > 0 && hs[0].State == "up"
	}, "the libvirt host's hypervisor up")

	image := q.uploadFile(t, images.CreateOpts{Name: "tiny", DiskFormat: "qcow2", ContainerFormat: "bare"}, "disk.qcow2")
	id := q.boot(t, "lv", q.flavor(t, "lv.96", 96), image)
	q.waitStatus(t, id, "ACTIVE")
	out := q.waitConsole(t, id, guestReady, 1)
	if !strings.Contains(out, guestBanner) {
		t.Fatalf("console has no banner:\n%s", out)
	}
	domain := func() (golibvirt.Domain, error) { return conn.DomainLookupByUUID(golibvirt.UUID(uuid.MustParse(id))) }
	if _, err := domain(); err != nil {
		t.Fatalf("no domain of ACTIVE server %s: %v", id, err)
	}

	t.Run("restart keeps the domain", func(t *testing.T) {
		pid := processOf(t, "-uuid\x00"+id+"\x00")
		q.restart(t)
		if s := q.waitStatus(t, id, "ACTIVE"); s.PowerState != servers.RUNNING {
			t.Errorf("after the restart: power state %v", s.PowerState)
		}
		if n := strings.Count(q.console(t, id), guestReady); n != 1 {
			t.Errorf("after the restart the console shows %d boots", n)
		}
		if now := processOf(t, "-uuid\x00"+id+"\x00"); now != pid {
			t.Errorf("after the restart the guest's QEMU is %d, want the same %d", now, pid)
		}
	})
	t.Run("stop and start", func(t *testing.T) {
		s := q.action(t, id, "SHUTOFF", func(ctx context.Context) error { return servers.Stop(ctx, q.compute, id).ExtractErr() })
		if s.PowerState != servers.SHUTDOWN {
			t.Errorf("stopped server power state %v", s.PowerState)
		}
		out := q.console(t, id)
		if !strings.Contains(out, guestACPI) {
			t.Errorf("the guest was not asked to power off:\n%s", out)
		}
		d, err := domain()
		if err != nil {
			t.Fatalf("a stopped server keeps its domain: %v", err)
		}
		if state, _, err := conn.DomainGetState(d, 0); err != nil || state != int32(golibvirt.DomainShutoff) {
			t.Errorf("stopped server's domain state %d, %v", state, err)
		}
		boots := strings.Count(out, guestReady)
		q.action(t, id, "ACTIVE", func(ctx context.Context) error { return servers.Start(ctx, q.compute, id).ExtractErr() })
		q.waitConsole(t, id, guestReady, boots+1)
	})

	t.Run("QEMU crash stops the server", func(t *testing.T) {
		stops := countActions(q.actions(t, id), "stop")
		pid := processOf(t, "-uuid\x00"+id+"\x00")
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		q.waitStatus(t, id, "SHUTOFF")
		if n := countActions(q.actions(t, id), "stop"); n != stops+1 {
			t.Errorf("%d stop actions after the crash, want %d", n, stops+1)
		}
	})

	q.delete(t, id)
	if _, err := domain(); err == nil {
		t.Errorf("the deleted server's domain is still defined")
	}
	if left := q.instanceFolders(t); len(left) != 0 {
		t.Errorf("instance folders left after the delete: %v", left)
	}
}

// processOf is the one running process whose command line holds arg.
func processOf(t *testing.T, arg string) int {
	t.Helper()
	paths, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	var pids []int
	for _, p := range paths {
		cmdline, err := os.ReadFile(p)
		if err == nil && strings.Contains(string(cmdline), arg) {
			pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
			pids = append(pids, pid)
		}
	}
	if len(pids) != 1 {
		t.Fatalf("processes with %q in their command line: %v, want one", arg, pids)
	}
	return pids[0]
}
