package qemu

import (
	"context"

	"github.com/nimbus-cloud/nimbus/internal/virt"
)

// Snapshot returns the root disk as one qcow2, its backing chain
// flattened. A running guest is paused while the disk is copied (QEMU
// flushes its writes when it stops), so the copy is consistent; the file
// is removed when the caller closes it.
func (d *Driver) Snapshot(ctx context.Context, uuid string) (*virt.SnapshotImage, error) {
	var snap *virt.SnapshotImage
	err := d.powerOp(ctx, uuid, "snapshot", states(virt.Running, virt.Paused, virt.Shutdown, virt.Crashed, virt.Suspended), nil,
		func(in *instance, p *process) error {
			d.mu.Lock()
			running := in.state == virt.Running
			d.mu.Unlock()
			if running {
				if err := p.qmp.Stop(ctx); err != nil {
					return err
				}
				defer func() { _ = p.qmp.Cont(context.WithoutCancel(ctx)) }()
			}
			var err error
			snap, err = d.disks.Flatten(ctx, in.dir, in.path(fileDisk))
			return err
		})
	if err != nil {
		return nil, err
	}
	return snap, nil
}
