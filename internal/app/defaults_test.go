package app_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/imagedata"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"

	"github.com/nimbus-cloud/nimbus/internal/cloudtest"
)

// TestUpOffersTheTestImage: a new cloud offers the built test guest as the
// public image nimbus-tiny, once; a cloud without one offers none.
func TestUpOffersTheTestImage(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("qemu-img"); err != nil {
		t.Skip("qemu-img is not installed (scripts/test-services.sh installs qemu-utils): no qcow2 to offer")
	}
	// An empty qcow2 disk: the image service checks the data is its format.
	built := t.TempDir()
	if out, err := exec.Command("qemu-img", "create", "-q", "-f", "qcow2", filepath.Join(built, "disk.qcow2"), "1M").CombinedOutput(); err != nil {
		t.Fatalf("qemu-img create: %v: %s", err, out)
	}
	disk, err := os.ReadFile(filepath.Join(built, "disk.qcow2"))
	if err != nil {
		t.Fatal(err)
	}
	up := func(t *testing.T, state, imageDir string) *upProcess {
		return startUp(t, "--state-dir", state, "--set", "DEFAULT.bind_host=127.0.0.1", "--set", "identity.bind_port=0",
			"--set", "image.bind_port=0", "--set", "compute.bind_port=0", "--set", "placement.bind_port=0", "--set", "vnc.novncproxy_port=0",
			"--set", "identity.password_hash_rounds=4", "--set", "compute.offer_test_image=true",
			"--set", "compute.test_image_dir="+imageDir)
	}

	t.Run("built", func(t *testing.T) {
		t.Parallel()
		state := filepath.Join(t.TempDir(), "state")
		p := up(t, state, built)
		list := listImages(t, readOpenRC(t, state))
		if len(list) != 1 {
			t.Fatalf("images after the first start: %+v, want nimbus-tiny", list)
		}
		img := list[0]
		if img.Name != "nimbus-tiny" || img.Visibility != images.ImageVisibilityPublic || img.DiskFormat != "qcow2" ||
			img.ContainerFormat != "bare" || img.Status != images.ImageStatusActive || img.SizeBytes != int64(len(disk)) ||
			img.MinRAMMegabytes != 80 || img.MinDiskGigabytes != 1 {
			t.Errorf("offered image %+v", img)
		}
		for k, want := range map[string]string{"hw_architecture": "x86_64", "os_type": "linux", "hw_disk_bus": "virtio"} {
			if got, _ := img.Properties[k].(string); got != want {
				t.Errorf("property %s = %q, want %q", k, got, want)
			}
		}
		if got := download(t, readOpenRC(t, state), img.ID); !bytes.Equal(got, disk) {
			t.Errorf("image data is %d bytes, not the disk's %d", len(got), len(disk))
		}
		// It boots with the smallest flavor offered (on the fake driver here).
		bootOffered(t, readOpenRC(t, state), img.ID, "42")
		p.stop(t)
		// A first start again (the credentials are gone) finds the image.
		for _, name := range []string{"clouds.yaml", "admin-openrc"} {
			os.Remove(filepath.Join(state, name))
		}
		p = up(t, state, built)
		if list := listImages(t, readOpenRC(t, state)); len(list) != 1 || list[0].ID != img.ID {
			t.Errorf("images after another first start: %+v, want only %s", list, img.ID)
		}
		p.stop(t)
	})

	t.Run("not built", func(t *testing.T) {
		t.Parallel()
		state := filepath.Join(t.TempDir(), "state")
		p := up(t, state, t.TempDir())
		if list := listImages(t, readOpenRC(t, state)); len(list) != 0 {
			t.Errorf("images without a built test image: %+v", list)
		}
		p.stop(t)
	})
}

// imageClient is an image client with the admin-openrc credentials.
func imageClient(t *testing.T, env map[string]string) *gophercloud.ServiceClient {
	t.Helper()
	pc, err := openstack.AuthenticatedClient(context.Background(), gophercloud.AuthOptions{
		IdentityEndpoint: env["OS_AUTH_URL"], Username: env["OS_USERNAME"], Password: env["OS_PASSWORD"],
		DomainName: env["OS_USER_DOMAIN_NAME"], TenantName: env["OS_PROJECT_NAME"]})
	if err != nil {
		t.Fatalf("authenticate: %v", err)
	}
	sc, err := openstack.NewImageV2(pc, gophercloud.EndpointOpts{})
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func listImages(t *testing.T, env map[string]string) []images.Image {
	t.Helper()
	pages, err := images.List(imageClient(t, env), nil).AllPages(context.Background())
	if err != nil {
		t.Fatalf("list images: %v", err)
	}
	all, err := images.ExtractImages(pages)
	if err != nil {
		t.Fatal(err)
	}
	return all
}

func download(t *testing.T, env map[string]string, id string) []byte {
	t.Helper()
	rc, err := imagedata.Download(context.Background(), imageClient(t, env), id).Extract()
	if err != nil {
		t.Fatalf("download %s: %v", id, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// bootOffered boots a server of the image and flavor and waits for it to
// be ACTIVE.
func bootOffered(t *testing.T, env map[string]string, image, flavor string) {
	t.Helper()
	pc, err := openstack.AuthenticatedClient(context.Background(), gophercloud.AuthOptions{
		IdentityEndpoint: env["OS_AUTH_URL"], Username: env["OS_USERNAME"], Password: env["OS_PASSWORD"],
		DomainName: env["OS_USER_DOMAIN_NAME"], TenantName: env["OS_PROJECT_NAME"]})
	if err != nil {
		t.Fatalf("authenticate: %v", err)
	}
	sc, err := openstack.NewComputeV2(pc, gophercloud.EndpointOpts{})
	if err != nil {
		t.Fatal(err)
	}
	sc.Microversion = "2.47"
	s, err := servers.Create(context.Background(), sc, servers.CreateOpts{Name: "first", ImageRef: image, FlavorRef: flavor,
		Networks: "none"}, nil).Extract()
	if err != nil {
		t.Fatalf("boot the offered image: %v", err)
	}
	cloudtest.Eventually(t, 30*time.Second, func() bool {
		got, err := servers.Get(context.Background(), sc, s.ID).Extract()
		if err == nil && got.Status == "ERROR" {
			t.Fatalf("server of the offered image went to ERROR: %+v", got.Fault)
		}
		return err == nil && got.Status == "ACTIVE"
	}, "server of the offered image ACTIVE")
}
