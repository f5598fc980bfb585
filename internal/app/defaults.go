package app

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"

	"github.com/nimbus-cloud/nimbus/internal/auth"
	"github.com/nimbus-cloud/nimbus/internal/compute"
	"github.com/nimbus-cloud/nimbus/internal/config"
	"github.com/nimbus-cloud/nimbus/internal/identity"
	"github.com/nimbus-cloud/nimbus/internal/image"
)

// defaultFlavors are the flavors a new cloud offers: nova's classic m1 set
// with its historic ids, and the two small ones devstack adds for tiny test
// guests.
var defaultFlavors = []compute.FlavorCreate{
	{ID: "1", Name: "m1.tiny", MemoryMB: 512, VCPUs: 1, RootGB: 1},
	{ID: "2", Name: "m1.small", MemoryMB: 2048, VCPUs: 1, RootGB: 20},
	{ID: "3", Name: "m1.medium", MemoryMB: 4096, VCPUs: 2, RootGB: 40},
	{ID: "4", Name: "m1.large", MemoryMB: 8192, VCPUs: 4, RootGB: 80},
	{ID: "5", Name: "m1.xlarge", MemoryMB: 16384, VCPUs: 8, RootGB: 160},
	{ID: "42", Name: "m1.nano", MemoryMB: 128, VCPUs: 1, RootGB: 1},
	{ID: "84", Name: "m1.micro", MemoryMB: 192, VCPUs: 1, RootGB: 1},
}

// offerDefaults gives a new cloud the usual public flavors and, when it is
// built, the tiny test guest as an image, so a newcomer can boot at once. A
// flavor or image that exists already is left as it is.
func (c *Cloud) offerDefaults(ctx context.Context) error {
	if c.Compute == nil {
		return nil
	}
	ctx = auth.WithCaller(ctx, cloudAdmin(""))
	for _, f := range defaultFlavors {
		f.IsPublic, f.RxTxFactor = true, 1
		if _, err := c.Compute.CreateFlavor(ctx, f); err != nil && !errors.Is(err, compute.ErrConflict) {
			return fmt.Errorf("create flavor %s: %w", f.Name, err)
		}
	}
	// A test image that cannot be offered is no reason not to start.
	if err := c.offerTestImage(ctx); err != nil {
		c.log.WarnContext(ctx, "the test image is not offered", "image", testImageName, "error", err)
	}
	return nil
}

// cloudAdmin is the caller the cloud acts as when it sets itself up, as
// bootstrap does: the admin of the admin project (whose id the image
// service needs, the compute service not).
func cloudAdmin(projectID string) *auth.Caller {
	return &auth.Caller{UserName: "admin", ProjectName: "admin", ProjectID: projectID, IsAdminProject: true,
		Roles: []auth.Role{{Name: "admin"}, {Name: "member"}, {Name: "reader"}}}
}

// testImageName is the image a new cloud offers, as devstack offers cirros.
const testImageName = "nimbus-tiny"

// testImageAttrs are its attributes: what the guest needs (it boots in 80
// MB) and the hardware it has drivers for.
var testImageAttrs = map[string]any{
	"name": testImageName, "disk_format": "qcow2", "container_format": "bare", "visibility": "public",
	"min_ram": 80, "min_disk": 1, "hw_architecture": "x86_64", "os_type": "linux",
	"hw_disk_bus": "virtio", "hw_vif_model": "virtio",
}

// testImageDir is where nimbus up looks for the tiny guest make test-image
// builds: [compute] test_image_dir, else $NIMBUS_TEST_IMAGE_DIR, else
// nimbus/test-image in the user's cache folder, as the build script has it.
func testImageDir(cfg *config.Config) string {
	if d := cfg.Compute.TestImageDir; d != "" {
		return d
	}
	if d := os.Getenv("NIMBUS_TEST_IMAGE_DIR"); d != "" {
		return d
	}
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "nimbus", "test-image")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".cache", "nimbus", "test-image")
	}
	return ""
}

// offerTestImage uploads the built test guest's disk as the public image
// nimbus-tiny of the admin project, unless offer_test_image is off, the
// guest is not built, or an image of that name exists.
func (c *Cloud) offerTestImage(ctx context.Context) error {
	if !c.cfg.Compute.OfferTestImage || c.Image == nil || c.Identity == nil {
		return nil
	}
	dir := testImageDir(c.cfg)
	if dir == "" {
		return nil
	}
	disk := filepath.Join(dir, "disk.qcow2")
	f, err := os.Open(disk)
	if errors.Is(err, os.ErrNotExist) {
		c.log.InfoContext(ctx, "no test image to offer: make test-image builds one", "image", testImageName, "path", disk)
		return nil
	}
	if err != nil {
		return fmt.Errorf("offer image %s: %w", testImageName, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("offer image %s: %w", testImageName, err)
	}
	projects, err := c.Identity.ListProjects(ctx, identity.ProjectQuery{ProjectFilter: identity.ProjectFilter{
		DomainID: c.cfg.Identity.DefaultDomainID, Name: "admin"}})
	if err != nil || len(projects) != 1 {
		return fmt.Errorf("offer image %s: find the admin project: %d found, %v", testImageName, len(projects), err)
	}
	ctx = auth.WithCaller(ctx, cloudAdmin(projects[0].ID))
	existing, _, err := c.Image.ListImages(ctx, image.ImageFilter{Project: projects[0].ID, Name: testImageName})
	if err != nil {
		return fmt.Errorf("offer image %s: %w", testImageName, err)
	}
	if len(existing) > 0 {
		return nil
	}
	img, err := c.Image.CreateImage(ctx, maps.Clone(testImageAttrs))
	if err != nil {
		return fmt.Errorf("offer image %s: %w", testImageName, err)
	}
	if err := c.Image.UploadData(ctx, img.ID, f, st.Size()); err != nil {
		if derr := c.Image.DeleteImage(ctx, img.ID); derr != nil {
			c.log.WarnContext(ctx, "delete the image whose upload failed", "image_id", img.ID, "error", derr)
		}
		return fmt.Errorf("offer image %s: upload %s: %w", testImageName, disk, err)
	}
	c.log.InfoContext(ctx, "offering the test image", "image", testImageName, "image_id", img.ID, "path", disk)
	return nil
}
