package qemu

import (
	"context"
	"fmt"
	"os"

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
			f, err := os.CreateTemp(in.dir, ".snapshot-*.qcow2")
			if err != nil {
				return err
			}
			path := f.Name()
			f.Close()
			if _, err := d.qemuImg(ctx, "convert", "-q", "-U", "-f", "qcow2", "-O", "qcow2", in.path(fileDisk), path); err != nil {
				os.Remove(path)
				return err
			}
			data, err := os.Open(path)
			if err != nil {
				os.Remove(path)
				return err
			}
			st, err := data.Stat()
			if err != nil {
				data.Close()
				os.Remove(path)
				return err
			}
			snap = &virt.SnapshotImage{Data: &removeOnClose{File: data}, Size: st.Size(), DiskFormat: "qcow2", ContainerFormat: "bare"}
			return nil
		})
	if err != nil {
		return nil, err
	}
	return snap, nil
}

// removeOnClose is a temporary file that goes when closed.
type removeOnClose struct{ *os.File }

func (r *removeOnClose) Close() error {
	err := r.File.Close()
	if rerr := os.Remove(r.File.Name()); err == nil {
		err = rerr
	}
	if err != nil {
		return fmt.Errorf("close snapshot: %w", err)
	}
	return nil
}
