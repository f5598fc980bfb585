package qemu

import (
	"context"
	"fmt"
	"os"

	"github.com/nimbus-cloud/nimbus/internal/virt"
)

// driveRescue is the rescue disk's drive id.
const driveRescue = "drive-virtio-rescue"

// rescueMachine boots m from the rescue disk, with the instance's own
// disks after it and none of them bootable, as nova's libvirt driver lays
// a rescue domain out (rescue disk vda, the instance's disk vdb).
func rescueMachine(m *Machine, in *instance) {
	m.Kernel, m.Initrd, m.Append = "", "", ""
	for i := range m.Disks {
		m.Disks[i].BootIndex = 0
	}
	m.Disks = append([]Disk{{ID: driveRescue, Path: in.path(fileRescue), Format: "qcow2", BootIndex: 1}}, m.Disks...)
}

// Rescue boots the instance from a rescue disk, a fresh overlay of the
// rescue image (the instance's own image when rescue is zero), with its
// own disk attached second; the guest runs whatever its state was. The
// rescue system's password is not injected: the rescue image's own
// credentials apply.
func (d *Driver) Rescue(ctx context.Context, spec *virt.InstanceSpec, rescue virt.ImageRef, adminPass string) error {
	uuid := spec.UUID
	in, end, err := d.begin(ctx, d.instances, uuid)
	if err != nil {
		return fmt.Errorf("rescue %s: %w", uuid, err)
	}
	defer end()
	d.mu.Lock()
	p, rescued := in.proc, in.rec.Rescue
	if rescue.IsZero() {
		rescue = in.rec.Spec.Image
	}
	d.mu.Unlock()
	if rescued {
		return fmt.Errorf("rescue %s: %w: the instance is rescued already", uuid, virt.ErrInvalidState)
	}
	b, err := d.ensureBase(ctx, rescue)
	if err != nil {
		return fmt.Errorf("rescue %s: %w", uuid, err)
	}
	r := &reverter{}
	defer r.revert()
	if err := d.createOverlay(ctx, in.path(fileRescue), b.Path, b.Format, b.Size); err != nil {
		return fmt.Errorf("rescue %s: %w", uuid, err)
	}
	r.add(func() { os.Remove(in.path(fileRescue)) })
	if p != nil {
		d.powerOff(ctx, in, p, 0)
		d.set(in, virt.Shutdown, virt.EventStopped)
	}
	if err := d.setRescue(in, true); err != nil {
		return fmt.Errorf("rescue %s: %w", uuid, err)
	}
	r.add(func() {
		if err := d.setRescue(in, false); err != nil {
			d.log.Error("undo a failed rescue", "instance_uuid", uuid, "error", err)
		}
	})
	if err := d.start(ctx, in); err != nil {
		return fmt.Errorf("rescue %s: boot the rescue disk: %w", uuid, err)
	}
	r.done()
	d.log.InfoContext(ctx, "instance rescued", "instance_uuid", uuid, "rescue_image", rescue.ID)
	return nil
}

// Unrescue powers the rescue system off, drops the rescue disk and boots
// the instance from its own disk again.
func (d *Driver) Unrescue(ctx context.Context, uuid string) error {
	in, end, err := d.begin(ctx, d.instances, uuid)
	if err != nil {
		return fmt.Errorf("unrescue %s: %w", uuid, err)
	}
	defer end()
	d.mu.Lock()
	p, rescued := in.proc, in.rec.Rescue
	d.mu.Unlock()
	if !rescued {
		return fmt.Errorf("unrescue %s: %w: the instance is not rescued", uuid, virt.ErrInvalidState)
	}
	if p != nil {
		d.powerOff(ctx, in, p, 0)
		d.set(in, virt.Shutdown, virt.EventStopped)
	}
	if err := d.setRescue(in, false); err != nil {
		return fmt.Errorf("unrescue %s: %w", uuid, err)
	}
	_ = os.Remove(in.path(fileRescue))
	if err := d.start(ctx, in); err != nil {
		return fmt.Errorf("unrescue %s: %w", uuid, err)
	}
	return nil
}

// setRescue records whether the instance boots from its rescue disk.
func (d *Driver) setRescue(in *instance, on bool) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	in.rec.Rescue = on
	return in.save()
}
