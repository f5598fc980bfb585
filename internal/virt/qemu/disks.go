package qemu

import (
	"context"

	"github.com/nimbus-cloud/nimbus/internal/virt"
	"github.com/nimbus-cloud/nimbus/internal/virt/disk"
)

// The instance's disks are prepared by package disk, over this host's
// _base; these are the driver's short names for it.

func (d *Driver) qemuImg(ctx context.Context, args ...string) ([]byte, error) {
	return d.disks.Run(ctx, args...)
}

func (d *Driver) info(ctx context.Context, path, format string) (disk.Info, error) {
	return d.disks.Info(ctx, path, format)
}

func (d *Driver) ensureBase(ctx context.Context, ref virt.ImageRef) (disk.Base, error) {
	return d.disks.EnsureBase(ctx, ref)
}

func (d *Driver) createOverlay(ctx context.Context, path, backing, backingFormat string, size int64) error {
	return d.disks.CreateOverlay(ctx, path, backing, backingFormat, size)
}

func (d *Driver) ensureFile(ctx context.Context, id string) (string, error) {
	return d.disks.EnsureFile(ctx, id)
}

// makeDisks creates the instance's root, ephemeral and swap disks.
func (d *Driver) makeDisks(ctx context.Context, in *instance, b disk.Base) error {
	return d.disks.MakeDisks(ctx, in.dir, in.rec.Spec.Flavor, in.rec.Spec.Image.ID, b)
}

var linkOrCopy = disk.LinkOrCopy
