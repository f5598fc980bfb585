package libvirt

import (
	"context"
	"fmt"

	"github.com/nimbus-cloud/nimbus/internal/virt"
)

// Rescue is not carried out through libvirt yet.
func (d *Driver) Rescue(ctx context.Context, spec *virt.InstanceSpec, rescue virt.ImageRef, adminPass string) error {
	return fmt.Errorf("rescue %s: %w by the libvirt driver yet", spec.UUID, virt.ErrNotSupported)
}

// Unrescue is not carried out through libvirt yet.
func (d *Driver) Unrescue(ctx context.Context, uuid string) error {
	return fmt.Errorf("unrescue %s: %w by the libvirt driver yet", uuid, virt.ErrNotSupported)
}

// Diagnostics are not read through libvirt yet.
func (d *Driver) Diagnostics(ctx context.Context, uuid string) (virt.Diagnostics, error) {
	return virt.Diagnostics{}, fmt.Errorf("diagnostics of %s: %w by the libvirt driver yet", uuid, virt.ErrNotSupported)
}
