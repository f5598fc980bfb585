package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/flavors"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/imagedata"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
)

// Lines the test guest prints on its serial console.
const (
	guestBanner = "NIMBUS-GUEST: banner"
	guestACPI   = "acpi power button, powering off"
)

// guestWait bounds every wait on a guest: a guard against hangs that
// measures nothing (a TCG boot takes seconds, many more on a busy machine).
const guestWait = 3 * time.Minute

// TestMultiNodeQEMULiveMigration live-migrates a real guest between two
// compute processes on compute_driver qemu (TCG): the destination's
// addresses reach the source only through the bus, as between machines.
// The server ends ACTIVE on the other host with its migration completed,
// the guest runs on there, and the source keeps no QEMU of it.
func TestMultiNodeQEMULiveMigration(t *testing.T) {
	requireServers(t)
	guest := testImage(t)
	dirs := map[string]string{"cmp1": qemuStateDir(t), "cmp2": qemuStateDir(t)}
	cl := startCluster(t, clusterOptions{driver: "qemu", computeConf: "\n[qemu]\nvirt_type = qemu\n",
		stateDir: func(host string) string { return dirs[host] }})
	c := cl.clients
	ctx := context.Background()

	id := c.bootGuest(t, guest)
	cl.step("guest booted on cmp1")
	if pids := qemusOf(dirs["cmp1"], id); len(pids) != 1 {
		t.Fatalf("QEMU processes of %s in cmp1's state folder: %v, want one", id, pids)
	}

	began := time.Now()
	c.liveMigrate(t, id, "cmp2")
	s := c.waitServer(t, id, func(s *servers.Server) bool {
		return s.Status == "ACTIVE" && s.TaskState == "" && s.Host != "cmp1"
	})
	took := time.Since(began)
	cl.step(fmt.Sprintf("live migrated in %s through the API", took.Round(time.Millisecond)))
	if m := regexp.MustCompile(`instance live migrated.* took=(\S+)`).FindStringSubmatch(cl.computes["cmp1"].out.String()); m != nil {
		t.Logf("cmp1's driver: the guest moved in %s", m[1])
	}
	if s.Host != "cmp2" || s.PowerState != servers.RUNNING {
		t.Errorf("after the live migration the server is on %s, power state %v; want cmp2, running", s.Host, s.PowerState)
	}
	if m := c.lastMigration(t, id); m.Status != "completed" || m.Type != "live-migration" || m.Source != "cmp1" || m.Dest != "cmp2" {
		t.Errorf("migration record %+v, want a completed live-migration from cmp1 to cmp2", m)
	}
	if pids := qemusOf(dirs["cmp1"], id); len(pids) != 0 {
		t.Errorf("cmp1 still runs QEMU %v for the migrated server", pids)
	}
	if pids := qemusOf(dirs["cmp2"], id); len(pids) != 1 {
		t.Errorf("QEMU processes of %s in cmp2's state folder: %v, want one", id, pids)
	}
	// The console answers from cmp2, and the guest runs on there: it
	// obeys the power button without booting again.
	if _, err := servers.ShowConsoleOutput(ctx, c.compute, id, servers.ShowConsoleOutputOpts{}).Extract(); err != nil {
		t.Fatalf("console output after the migration: %v", err)
	}
	c.stopMovedGuest(t, id)
	cl.step("the guest shut down on cmp2 at the power button")
}

// TestMultiNodeQEMULiveMigrationSteered aborts and then forces live
// migrations between two compute processes on compute_driver qemu, whose
// transfers are held back at 1 MiB/s (live_migration_bandwidth). Aborted,
// the migration ends cancelled, the destination's QEMU goes and the guest
// runs on at the source; forced, the guest pauses, the cap lifts, and the
// guest runs on at the destination.
func TestMultiNodeQEMULiveMigrationSteered(t *testing.T) {
	requireServers(t)
	guest := testImage(t)
	dirs := map[string]string{"cmp1": qemuStateDir(t), "cmp2": qemuStateDir(t)}
	cl := startCluster(t, clusterOptions{driver: "qemu",
		computeConf: "\n[qemu]\nvirt_type = qemu\nlive_migration_bandwidth = 1\n",
		stateDir:    func(host string) string { return dirs[host] }})
	c := cl.clients
	id := c.bootGuest(t, guest)
	cl.step("guest booted on cmp1")
	// moving starts a live migration to cmp2 and waits until cmp1's
	// driver transfers the guest's memory (its disks are in sync then).
	transfers := 0
	moving := func() int {
		t.Helper()
		c.liveMigrate(t, id, "cmp2")
		transfers++
		eventually(t, guestWait, func() bool {
			return strings.Count(cl.computes["cmp1"].out.String(), "memory transfer starts") == transfers
		}, "cmp1 transfers the guest's memory")
		if pids := qemusOf(dirs["cmp2"], id); len(pids) != 1 {
			t.Fatalf("cmp2's QEMU for the guest: %v, want one", pids)
		}
		m := c.lastMigration(t, id)
		if m.Status != "running" {
			t.Fatalf("migration %+v under way, want running", m)
		}
		return m.ID
	}
	steer := func(method string, mid int, mv string, body any) {
		t.Helper()
		sc := *c.compute
		sc.Microversion = mv
		url := sc.ServiceURL("servers", id, "migrations", fmt.Sprint(mid))
		opts := &gophercloud.RequestOpts{OkCodes: []int{http.StatusAccepted}}
		var err error
		if method == http.MethodDelete {
			_, err = sc.Delete(context.Background(), url, opts)
		} else {
			_, err = sc.Post(context.Background(), url+"/action", body, nil, opts)
		}
		if err != nil {
			t.Fatalf("%s migration %d: %v", method, mid, err)
		}
	}

	mid := moving()
	cl.step("live migration under way")
	began := time.Now()
	steer(http.MethodDelete, mid, "2.24", nil)
	eventually(t, guestWait, func() bool { return c.lastMigration(t, id).Status == "cancelled" }, "migration cancelled")
	cl.step(fmt.Sprintf("aborted: cancelled %s after the request", time.Since(began).Round(time.Millisecond)))
	s := c.waitServer(t, id, func(s *servers.Server) bool { return s.Status == "ACTIVE" && s.TaskState == "" })
	if s.Host != "cmp1" || s.PowerState != servers.RUNNING || s.Fault.Message != "" {
		t.Errorf("after the abort the server is on %s, power %v, fault %q; want cmp1, running, none", s.Host, s.PowerState, s.Fault.Message)
	}
	eventually(t, guestWait, func() bool { return len(qemusOf(dirs["cmp2"], id)) == 0 }, "cmp2's QEMU gone after the abort")
	if pids := qemusOf(dirs["cmp1"], id); len(pids) != 1 {
		t.Errorf("cmp1's QEMU for the guest after the abort: %v, want one", pids)
	}
	if out := c.waitConsole(t, id, guestBanner); out == "" {
		t.Error("no console after the abort")
	}

	mid = moving()
	began = time.Now()
	steer(http.MethodPost, mid, "2.22", map[string]any{"force_complete": nil})
	s = c.waitServer(t, id, func(s *servers.Server) bool {
		return s.Status == "ACTIVE" && s.TaskState == "" && s.Host != "cmp1"
	})
	cl.step(fmt.Sprintf("forced to complete: on %s %s after the request", s.Host, time.Since(began).Round(time.Millisecond)))
	if m := c.lastMigration(t, id); m.Status != "completed" || m.Dest != "cmp2" {
		t.Errorf("migration record %+v, want completed to cmp2", m)
	}
	if pids := qemusOf(dirs["cmp1"], id); len(pids) != 0 {
		t.Errorf("cmp1 still runs QEMU %v for the migrated server", pids)
	}
	if s.PowerState != servers.RUNNING {
		t.Errorf("power state %v at the destination, want running", s.PowerState)
	}
	c.stopMovedGuest(t, id)
	cl.step("the guest shut down on cmp2 at the power button")
	// How cmp1 steered them, for the log.
	for _, line := range strings.Split(cl.computes["cmp1"].out.String(), "\n") {
		if strings.Contains(line, "live migration") && (strings.Contains(line, "abort") || strings.Contains(line, "forced") ||
			strings.Contains(line, "cancel")) {
			t.Logf("cmp1: %s", line)
		}
	}
}

// stopMovedGuest stops a server that moved live: its guest runs, so it
// obeys the power button, and it did not boot again, so the console of
// its new host shows no banner.
func (c *clients) stopMovedGuest(t *testing.T, id string) {
	t.Helper()
	if err := servers.Stop(context.Background(), c.compute, id).ExtractErr(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	c.waitServer(t, id, func(s *servers.Server) bool { return s.Status == "SHUTOFF" && s.TaskState == "" })
	if out := c.waitConsole(t, id, guestACPI); strings.Contains(out, guestBanner) {
		t.Errorf("the new host's console shows a boot: the guest did not move live:\n%s", out)
	}
}

// bootGuest boots the test guest on cmp1 (80 MiB, the image's minimum)
// and waits for its banner.
func (c *clients) bootGuest(t *testing.T, guest string) string {
	t.Helper()
	ctx := context.Background()
	image := c.uploadQcow2(t, filepath.Join(guest, "disk.qcow2"))
	disk := 1
	f, err := flavors.Create(ctx, c.compute, flavors.CreateOpts{Name: "e2e.guest", VCPUs: 1, RAM: 80, Disk: &disk}).Extract()
	if err != nil {
		t.Fatalf("create flavor: %v", err)
	}
	s, err := servers.Create(ctx, c.compute, servers.CreateOpts{Name: "migrant", ImageRef: image, FlavorRef: f.ID,
		Networks: "none", AvailabilityZone: "nova:cmp1"}, nil).Extract()
	if err != nil {
		t.Fatalf("create server: %v", err)
	}
	id := s.ID
	t.Cleanup(func() { _ = servers.Delete(context.Background(), c.compute, id).ExtractErr() })
	s = c.waitServer(t, id, func(s *servers.Server) bool { return s.Status == "ACTIVE" && s.TaskState == "" })
	if s.Host != "cmp1" {
		t.Fatalf("server on %s, want cmp1", s.Host)
	}
	c.waitConsole(t, id, guestBanner)
	return id
}

// liveMigrate asks for a block live migration of the server to host
// (microversion 2.30: a named host, checked by the scheduler).
func (c *clients) liveMigrate(t *testing.T, id, host string) {
	t.Helper()
	mc := *c.compute
	mc.Microversion = "2.30"
	yes := true
	if err := servers.LiveMigrate(context.Background(), &mc, id, servers.LiveMigrateOpts{Host: &host, BlockMigration: &yes}).ExtractErr(); err != nil {
		t.Fatalf("live migrate: %v", err)
	}
}

// testImage builds the tiny test guest (scripts/build-test-image.sh,
// quick when built) and returns its folder; without QEMU, or when the
// guest cannot be built here, the test skips.
func testImage(t *testing.T) string {
	t.Helper()
	for _, bin := range []string{"qemu-system-x86_64", "qemu-img"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("%s is not installed (scripts/test-services.sh installs qemu-system-x86 and qemu-utils)", bin)
		}
	}
	out, err := exec.Command(filepath.Join("..", "..", "scripts", "build-test-image.sh")).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			err = fmt.Errorf("%w: %s", err, bytes.TrimSpace(ee.Stderr))
		}
		t.Skipf("the test guest cannot be built here: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// qemuStateDir is a compute node's state folder, short enough for QMP
// sockets (107 bytes). Registered before the node starts, its cleanup runs
// after the node stopped: it kills the QEMU processes the node left, as
// guests outlive their agent by design, then removes the folder.
func qemuStateDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "ne2e")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, pid := range qemusOf(dir, "") {
			t.Logf("killing QEMU %d left in %s", pid, dir)
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		os.RemoveAll(dir)
	})
	return dir
}

// qemusOf are the running QEMU processes whose command line names the
// state folder dir and, unless empty, the instance uuid.
func qemusOf(dir, uuid string) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !bytes.HasPrefix(cmdline, []byte("qemu-system")) && !bytes.Contains(cmdline, []byte("/qemu-system")) {
			continue
		}
		if bytes.Contains(cmdline, []byte(dir+"/")) && bytes.Contains(cmdline, []byte(uuid)) {
			out = append(out, pid)
		}
	}
	return out
}

// uploadQcow2 creates a public qcow2 image of the file at path.
func (c *clients) uploadQcow2(t *testing.T, path string) string {
	t.Helper()
	ctx := context.Background()
	vis := images.ImageVisibilityPublic
	img, err := images.Create(ctx, c.image, images.CreateOpts{Name: "e2e-guest", DiskFormat: "qcow2", ContainerFormat: "bare",
		Visibility: &vis, MinRAM: 80, MinDisk: 1}).Extract()
	if err != nil {
		t.Fatalf("create image: %v", err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := imagedata.Upload(ctx, c.image, img.ID, f).ExtractErr(); err != nil {
		t.Fatalf("upload image: %v", err)
	}
	return img.ID
}

// waitServer waits until the server satisfies done; one that goes to
// ERROR fails the test with its fault.
func (c *clients) waitServer(t *testing.T, id string, done func(*servers.Server) bool) *servers.Server {
	t.Helper()
	var s *servers.Server
	eventually(t, guestWait, func() bool {
		var err error
		s, err = servers.Get(context.Background(), c.compute, id).Extract()
		if err != nil {
			t.Fatalf("get server %s: %v", id, err)
		}
		if s.Status == "ERROR" {
			t.Fatalf("server %s failed: %+v", id, s.Fault)
		}
		return done(s)
	}, "server "+id)
	return s
}

// waitConsole waits until the server's console shows want, and returns
// it; a server whose guest is not there yet has none (409 or 404).
func (c *clients) waitConsole(t *testing.T, id, want string) string {
	t.Helper()
	var out string
	eventually(t, guestWait, func() bool {
		var err error
		out, err = servers.ShowConsoleOutput(context.Background(), c.compute, id, servers.ShowConsoleOutputOpts{}).Extract()
		if err != nil && !gophercloud.ResponseCodeIs(err, http.StatusConflict) && !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
			t.Fatalf("console output of %s: %v", id, err)
		}
		return strings.Contains(out, want)
	}, fmt.Sprintf("console of %s shows %q", id, want))
	return out
}

// migrationRecord is one row of os-migrations.
type migrationRecord struct {
	ID     int    `json:"id"`
	Status string `json:"status"`
	Type   string `json:"migration_type"`
	Source string `json:"source_compute"`
	Dest   string `json:"dest_compute"`
	UUID   string `json:"instance_uuid"`
}

// lastMigration is the server's newest migration record.
func (c *clients) lastMigration(t *testing.T, id string) migrationRecord {
	t.Helper()
	var body struct {
		Migrations []migrationRecord `json:"migrations"`
	}
	if _, err := c.compute.Get(context.Background(), c.compute.ServiceURL("os-migrations"), &body, nil); err != nil {
		t.Fatalf("list migrations: %v", err)
	}
	var last migrationRecord
	for _, m := range body.Migrations {
		if m.UUID == id && m.ID > last.ID {
			last = m
		}
	}
	if last.ID == 0 {
		t.Fatalf("no migration of %s", id)
	}
	return last
}
