package qemu

import (
	"context"
	"fmt"

	"github.com/nimbus-cloud/nimbus/internal/virt"
)

// Rescue is not done by this driver yet.
func (d *Driver) Rescue(ctx context.Context, spec *virt.InstanceSpec, rescue virt.ImageRef, adminPass string) error {
	return fmt.Errorf("rescue %s: %w", spec.UUID, virt.ErrNotSupported)
}

// Unrescue is not done by this driver yet.
func (d *Driver) Unrescue(ctx context.Context, uuid string) error {
	return fmt.Errorf("unrescue %s: %w", uuid, virt.ErrNotSupported)
}

// Diagnostics is not done by this driver yet.
func (d *Driver) Diagnostics(ctx context.Context, uuid string) (virt.Diagnostics, error) {
	return virt.Diagnostics{}, fmt.Errorf("diagnostics of %s: %w", uuid, virt.ErrNotSupported)
}
