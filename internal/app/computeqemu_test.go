package app_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/flavors"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/hypervisors"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/imagedata"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"

	"github.com/nimbus-cloud/nimbus/internal/app"
	"github.com/nimbus-cloud/nimbus/internal/cloudtest"
)

// The tests in this file boot the tiny test guest (scripts/build-test-image.sh)
// through the API on compute_driver qemu, under TCG. A boot costs a few
// CPU-seconds, so one server goes through as many steps as it can.

// Lines the test guest prints on its serial console.
const (
	guestBanner = "NIMBUS-GUEST: banner"
	guestReady  = "NIMBUS-GUEST: ready"
	guestACPI   = "acpi power button, powering off"
)

// guestWait bounds every wait on a guest: a guard against hangs that
// measures nothing (a TCG boot takes seconds, many more on a busy machine).
const guestWait = 3 * time.Minute

// qemuCloud is a test cloud on the qemu driver with its admin clients.
type qemuCloud struct {
	*cloudtest.Cloud
	compute *gophercloud.ServiceClient
	image   *gophercloud.ServiceClient
	guest   string // the test guest's folder
}

func startQEMUCloud(t testing.TB, hosts int, opts ...cloudtest.Option) *qemuCloud {
	t.Helper()
	guest := cloudtest.TestImage(t)
	c := cloudtest.Start(t, append([]cloudtest.Option{cloudtest.WithQEMU(),
		cloudtest.WithOption("compute.qemu_host_count", strconv.Itoa(hosts)), cloudtest.WithOption("compute.report_interval", "1"),
		cloudtest.WithOption("quota.instances", "-1"), cloudtest.WithOption("quota.ram", "-1")}, opts...)...)
	q := &qemuCloud{Cloud: c, compute: c.ComputeClient(t, cloudtest.Admin), image: c.ImageClient(t, cloudtest.Admin), guest: guest}
	q.compute.Microversion = "2.47"
	return q
}

// upload creates an image and uploads data, returning its id.
func (q *qemuCloud) upload(t testing.TB, opts images.CreateOpts, data io.Reader) string {
	t.Helper()
	ctx := context.Background()
	img, err := images.Create(ctx, q.image, opts).Extract()
	if err != nil {
		t.Fatalf("create image %s: %v", opts.Name, err)
	}
	if err := imagedata.Upload(ctx, q.image, img.ID, data).ExtractErr(); err != nil {
		t.Fatalf("upload image %s: %v", opts.Name, err)
	}
	return img.ID
}

// uploadFile uploads a file of the test guest as an image.
func (q *qemuCloud) uploadFile(t testing.TB, opts images.CreateOpts, name string) string {
	t.Helper()
	f, err := os.Open(filepath.Join(q.guest, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return q.upload(t, opts, f)
}

func (q *qemuCloud) flavor(t testing.TB, name string, ramMB int) string {
	t.Helper()
	disk := 1
	f, err := flavors.Create(context.Background(), q.compute, flavors.CreateOpts{Name: name, VCPUs: 1, RAM: ramMB,
		Disk: &disk}).Extract()
	if err != nil {
		t.Fatalf("create flavor %s: %v", name, err)
	}
	return f.ID
}

func (q *qemuCloud) boot(t testing.TB, name, flavor, image string) string {
	t.Helper()
	s, err := servers.Create(context.Background(), q.compute, servers.CreateOpts{Name: name, ImageRef: image,
		FlavorRef: flavor, Networks: "none"}, nil).Extract()
	if err != nil {
		t.Fatalf("create server %s: %v", name, err)
	}
	return s.ID
}

func (q *qemuCloud) server(t testing.TB, id string) *servers.Server {
	t.Helper()
	s, err := servers.Get(context.Background(), q.compute, id).Extract()
	if err != nil {
		t.Fatalf("get server %s: %v", id, err)
	}
	return s
}

// waitStatus waits until a server shows status and no task; a server that
// goes to ERROR instead fails the test with its fault.
func (q *qemuCloud) waitStatus(t testing.TB, id, status string) *servers.Server {
	t.Helper()
	var s *servers.Server
	cloudtest.Eventually(t, guestWait, func() bool {
		s = q.server(t, id)
		if s.Status == "ERROR" && status != "ERROR" {
			t.Fatalf("server %s went to ERROR waiting for %s: %+v", id, status, s.Fault)
		}
		return s.Status == status && s.TaskState == ""
	}, "server "+id+" "+status)
	return s
}

// action runs a server action and waits for the status it leads to.
func (q *qemuCloud) action(t testing.TB, id, status string, act func(ctx context.Context) error) *servers.Server {
	t.Helper()
	if err := act(context.Background()); err != nil {
		t.Fatalf("action on %s toward %s: %v", id, status, err)
	}
	return q.waitStatus(t, id, status)
}

// console is the server's console output through os-getConsoleOutput.
func (q *qemuCloud) console(t testing.TB, id string) string {
	t.Helper()
	out, err := servers.ShowConsoleOutput(context.Background(), q.compute, id, servers.ShowConsoleOutputOpts{}).Extract()
	if err != nil {
		t.Fatalf("console output of %s: %v", id, err)
	}
	return out
}

// waitConsole waits until the console shows want at least n times; a
// server still building has none yet (409, or 404 while its host has no
// guest for it).
func (q *qemuCloud) waitConsole(t testing.TB, id, want string, n int) string {
	t.Helper()
	deadline := time.Now().Add(guestWait)
	for {
		out, err := servers.ShowConsoleOutput(context.Background(), q.compute, id, servers.ShowConsoleOutputOpts{}).Extract()
		if err != nil && !gophercloud.ResponseCodeIs(err, http.StatusConflict) && !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
			t.Fatalf("console output of %s: %v", id, err)
		}
		if strings.Count(out, want) >= n {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("console of %s does not show %q %d times within %s:\n%s", id, want, n, guestWait, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (q *qemuCloud) delete(t testing.TB, id string) {
	t.Helper()
	if err := servers.Delete(context.Background(), q.compute, id).ExtractErr(); err != nil {
		t.Fatalf("delete %s: %v", id, err)
	}
	cloudtest.Eventually(t, guestWait, func() bool {
		_, err := servers.Get(context.Background(), q.compute, id).Extract()
		return gophercloud.ResponseCodeIs(err, http.StatusNotFound)
	}, "server "+id+" deleted")
}

// instanceFolders are what the hosts' instances folders hold besides the
// image cache.
func (q *qemuCloud) instanceFolders(t testing.TB) []string {
	t.Helper()
	state := q.Config.Default.StatePath
	dirs, _ := filepath.Glob(filepath.Join(state, "hosts", "*", "instances"))
	dirs = append(dirs, filepath.Join(state, "instances"))
	var out []string
	for _, dir := range dirs {
		entries, err := os.ReadDir(dir)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		for _, e := range entries {
			if e.Name() != "_base" {
				out = append(out, filepath.Join(dir, e.Name()))
			}
		}
	}
	return out
}

// TestQEMUServerLifecycle takes one real guest through the server actions
// and moves between two QEMU hosts of this process: each boot shows on the
// console, a stop or reboot goes through the guest's ACPI power button.
func TestQEMUServerLifecycle(t *testing.T) {
	t.Parallel()
	q := startQEMUCloud(t, 2)
	// The image as nimbus up offers it.
	resp := q.Do(t, "POST", q.ImageURL+"/v2/images", q.Token(t, cloudtest.Admin), app.OfferedImageAttrs())
	if resp.Status != http.StatusCreated {
		t.Fatalf("create image: %d %s", resp.Status, resp.Body)
	}
	image, _ := resp.JSON(t)["id"].(string)
	disk, err := os.Open(filepath.Join(q.guest, "disk.qcow2"))
	if err != nil {
		t.Fatal(err)
	}
	defer disk.Close()
	if err := imagedata.Upload(context.Background(), q.image, image, disk).ExtractErr(); err != nil {
		t.Fatalf("upload image: %v", err)
	}
	// Both hosts report the machine through the QEMU driver.
	cloudtest.Eventually(t, guestWait, func() bool {
		pages, err := hypervisors.List(q.compute, nil).AllPages(context.Background())
		if err != nil {
			t.Fatalf("list hypervisors: %v", err)
		}
		hs, err := hypervisors.ExtractHypervisors(pages)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, h := range hs {
			if h.HypervisorType == "QEMU" && h.VCPUs > 0 && h.MemoryMB > 0 && h.State == "up" {
				n++
			}
		}
		return n == 2
	}, "two QEMU hypervisors up")
	// 80 MB is the least the guest boots in; 64 MB loops in its boot loader.
	small, bigger := q.flavor(t, "q.80", 80), q.flavor(t, "q.96", 96)

	id := q.boot(t, "guest", small, image)
	first := q.waitStatus(t, id, "ACTIVE").Host
	out := q.waitConsole(t, id, guestReady, 1)
	if !strings.Contains(out, guestBanner) {
		t.Fatalf("console has no banner:\n%s", out)
	}

	t.Run("stop and start", func(t *testing.T) {
		s := q.action(t, id, "SHUTOFF", func(ctx context.Context) error { return servers.Stop(ctx, q.compute, id).ExtractErr() })
		if s.PowerState != servers.SHUTDOWN {
			t.Errorf("stopped server power state %v", s.PowerState)
		}
		if out := q.console(t, id); !strings.Contains(out, guestACPI) {
			t.Errorf("the guest was not asked to power off:\n%s", out)
		}
		q.action(t, id, "ACTIVE", func(ctx context.Context) error { return servers.Start(ctx, q.compute, id).ExtractErr() })
		q.waitConsole(t, id, guestReady, 2)
	})
	t.Run("pause and unpause", func(t *testing.T) {
		if s := q.action(t, id, "PAUSED", func(ctx context.Context) error {
			return servers.Pause(ctx, q.compute, id).ExtractErr()
		}); s.PowerState != servers.PAUSED {
			t.Errorf("paused server power state %v", s.PowerState)
		}
		q.action(t, id, "ACTIVE", func(ctx context.Context) error { return servers.Unpause(ctx, q.compute, id).ExtractErr() })
	})
	t.Run("suspend and resume", func(t *testing.T) {
		if s := q.action(t, id, "SUSPENDED", func(ctx context.Context) error {
			return servers.Suspend(ctx, q.compute, id).ExtractErr()
		}); s.PowerState != servers.SUSPENDED {
			t.Errorf("suspended server power state %v", s.PowerState)
		}
		s := q.action(t, id, "ACTIVE", func(ctx context.Context) error { return servers.Resume(ctx, q.compute, id).ExtractErr() })
		// Resumed, not booted again.
		if n := strings.Count(q.console(t, id), guestReady); n != 2 || s.PowerState != servers.RUNNING {
			t.Errorf("after resume: %d boots, power %v", n, s.PowerState)
		}
	})
	t.Run("reboot", func(t *testing.T) {
		q.action(t, id, "ACTIVE", func(ctx context.Context) error {
			return servers.Reboot(ctx, q.compute, id, servers.RebootOpts{Type: servers.SoftReboot}).ExtractErr()
		})
		out := q.waitConsole(t, id, guestReady, 3)
		if n := strings.Count(out, guestACPI); n != 2 {
			t.Errorf("a soft reboot should shut the guest down cleanly: %d power offs:\n%s", n, out)
		}
	})
	t.Run("snapshot boots", func(t *testing.T) {
		snap, err := servers.CreateImage(context.Background(), q.compute, id, servers.CreateImageOpts{Name: "guest-snap"}).ExtractImageID()
		if err != nil {
			t.Fatal(err)
		}
		var img *images.Image
		cloudtest.Eventually(t, guestWait, func() bool {
			img, err = images.Get(context.Background(), q.image, snap).Extract()
			return err == nil && img.Status == images.ImageStatusActive
		}, "snapshot "+snap+" active")
		if img.DiskFormat != "qcow2" || img.SizeBytes == 0 {
			t.Errorf("snapshot image %+v", img)
		}
		q.waitStatus(t, id, "ACTIVE")
		clone := q.boot(t, "clone", small, snap)
		q.waitStatus(t, clone, "ACTIVE")
		q.waitConsole(t, clone, guestReady, 1)
		q.delete(t, clone)
	})

	second := first
	t.Run("resize and confirm", func(t *testing.T) {
		s := q.action(t, id, "VERIFY_RESIZE", func(ctx context.Context) error {
			return servers.Resize(ctx, q.compute, id, servers.ResizeOpts{FlavorRef: bigger}).ExtractErr()
		})
		second = s.Host
		if second == first || s.Flavor["original_name"] != "q.96" {
			t.Errorf("resized server on %s (from %s), flavor %v", second, first, s.Flavor)
		}
		q.waitConsole(t, id, guestReady, 1) // a fresh console on the new host
		q.action(t, id, "ACTIVE", func(ctx context.Context) error { return servers.ConfirmResize(ctx, q.compute, id).ExtractErr() })
	})
	t.Run("cold migrate", func(t *testing.T) {
		s := q.action(t, id, "VERIFY_RESIZE", func(ctx context.Context) error { return servers.Migrate(ctx, q.compute, id).ExtractErr() })
		if s.Host != first {
			t.Errorf("migrated to %s, want %s", s.Host, first)
		}
		q.waitConsole(t, id, guestReady, 1)
		q.action(t, id, "ACTIVE", func(ctx context.Context) error { return servers.ConfirmResize(ctx, q.compute, id).ExtractErr() })
	})
	t.Run("live migrate", func(t *testing.T) {
		yes := true
		if err := servers.LiveMigrate(context.Background(), q.compute, id, servers.LiveMigrateOpts{BlockMigration: &yes}).ExtractErr(); err != nil {
			t.Fatal(err)
		}
		var s *servers.Server
		cloudtest.Eventually(t, guestWait, func() bool {
			s = q.server(t, id)
			return s.Status == "ACTIVE" && s.TaskState == "" && s.Host != first
		}, "live migration to another host")
		if s.PowerState != servers.RUNNING {
			t.Errorf("live-migrated server power state %v", s.PowerState)
		}
		// The guest runs on at the destination: it answers the power button.
		q.action(t, id, "SHUTOFF", func(ctx context.Context) error { return servers.Stop(ctx, q.compute, id).ExtractErr() })
		if out := q.console(t, id); !strings.Contains(out, guestACPI) || strings.Contains(out, guestBanner) {
			t.Errorf("the destination's console should show the power off and no boot:\n%s", out)
		}
	})

	q.delete(t, id)
	if left := q.instanceFolders(t); len(left) != 0 {
		t.Errorf("instance folders left after every server was deleted: %v", left)
	}
}

// TestQEMUKernelBootAndBadImage boots a guest from kernel_id and
// ramdisk_id images, and sends an image QEMU cannot read to ERROR with a
// fault that names it, leaving no instance folder behind.
func TestQEMUKernelBootAndBadImage(t *testing.T) {
	t.Parallel()
	q := startQEMUCloud(t, 1)
	flavor := q.flavor(t, "q.80", 80)

	t.Run("kernel and ramdisk", func(t *testing.T) {
		kernel := q.uploadFile(t, images.CreateOpts{Name: "tiny-kernel", DiskFormat: "aki", ContainerFormat: "aki"}, "vmlinuz")
		ramdisk := q.uploadFile(t, images.CreateOpts{Name: "tiny-ramdisk", DiskFormat: "ari", ContainerFormat: "ari"}, "initrd.img")
		root := q.upload(t, images.CreateOpts{Name: "tiny-ami", DiskFormat: "ami", ContainerFormat: "ami",
			Properties: map[string]string{"kernel_id": kernel, "ramdisk_id": ramdisk, "os_command_line": "console=ttyS0 quiet"}},
			bytes.NewReader(make([]byte, 1<<20)))
		id := q.boot(t, "ami", flavor, root)
		q.waitStatus(t, id, "ACTIVE")
		out := q.waitConsole(t, id, guestReady, 1)
		if !strings.Contains(out, guestBanner) {
			t.Errorf("console has no banner:\n%s", out)
		}
		q.delete(t, id)
	})

	t.Run("image QEMU cannot read", func(t *testing.T) {
		id := q.boot(t, "broken", flavor, q.upload(t, images.CreateOpts{Name: "broken", DiskFormat: "qcow2",
			ContainerFormat: "bare"}, bytes.NewReader(brokenQcow2(t))))
		s := q.waitStatus(t, id, "ERROR")
		t.Logf("fault: %s", s.Fault.Message)
		if !strings.Contains(s.Fault.Message, "cannot be read") || s.Fault.Code != http.StatusInternalServerError {
			t.Errorf("fault %+v: want one saying the image cannot be read", s.Fault)
		}
		if left := q.instanceFolders(t); len(left) != 0 {
			t.Errorf("a failed build left %v", left)
		}
		q.delete(t, id)
	})
}

// brokenQcow2 is a qcow2 header the image service takes (version 3, no
// backing or data file) over garbage, with an L1 table offset QEMU refuses.
func brokenQcow2(t *testing.T) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "empty.qcow2")
	if out, err := exec.Command("qemu-img", "create", "-q", "-f", "qcow2", path, "64M").CombinedOutput(); err != nil {
		t.Fatalf("qemu-img create: %v: %s", err, out)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data = slices.Clip(data[:512])
	garbage := make([]byte, 64<<10)
	rand.Read(garbage)
	data = append(data, garbage...)
	binary.BigEndian.PutUint64(data[40:], 0x12345) // l1_table_offset, not cluster aligned
	return data
}
