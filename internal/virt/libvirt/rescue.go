package libvirt

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/nimbus-cloud/nimbus/internal/virt"
	"github.com/nimbus-cloud/nimbus/internal/virt/disk"
)

// Rescue boots the instance from a rescue disk, a fresh qcow2 overlay of
// the rescue image's base (the instance's own image when rescue is
// zero), with its own root disk attached second, as nova's libvirt
// driver does: the domain is destroyed, defined again in its rescue
// layout and started, whatever its state was. The record keeps the
// rescue, so that a restarted driver knows it. An instance with a config
// drive gets a rescue config drive whose meta_data.json carries
// adminPass as admin_pass.
func (d *Driver) Rescue(ctx context.Context, spec *virt.InstanceSpec, rescue virt.ImageRef, adminPass string) error {
	uuid := spec.UUID
	in, end, err := d.begin(ctx, d.instances, uuid)
	if err != nil {
		return fmt.Errorf("rescue %s: %w", uuid, err)
	}
	defer end()
	d.mu.Lock()
	rescued := in.rec.Rescue != nil
	if rescue.IsZero() {
		rescue = in.rec.Spec.Image
	}
	d.mu.Unlock()
	if rescued {
		return fmt.Errorf("rescue %s: %w: the instance is rescued already", uuid, virt.ErrInvalidState)
	}
	conn, err := d.connection()
	if err != nil {
		return fmt.Errorf("rescue %s: %w", uuid, err)
	}
	state, err := d.state(in)
	if err != nil {
		return fmt.Errorf("rescue %s: %w", uuid, err)
	}
	b, err := d.disks.EnsureBase(ctx, rescue)
	if err != nil {
		return fmt.Errorf("rescue %s: %w", uuid, err)
	}
	r := &reverter{}
	defer r.revert()
	r.add(func() { removeRescueFiles(in) })
	if err := d.disks.CreateOverlay(ctx, in.path(fileRescue), b.Path, b.Format, b.Size); err != nil {
		return fmt.Errorf("rescue %s: %w", uuid, err)
	}
	rr, err := d.rescueBoot(ctx, in, rescue)
	if err != nil {
		return fmt.Errorf("rescue %s: %w", uuid, err)
	}
	if err := d.rescueConfigDrive(ctx, in, adminPass); err != nil {
		return fmt.Errorf("rescue %s: %w", uuid, err)
	}
	if err := d.powerOff(ctx, conn, in, state, 0); err != nil {
		return fmt.Errorf("rescue %s: %w", uuid, err)
	}
	if state == virt.Running || state == virt.Paused {
		d.report(in, virt.EventStopped)
	}
	if err := d.setRescue(in, rr); err != nil {
		return fmt.Errorf("rescue %s: %w", uuid, err)
	}
	// A rescue that fails from here leaves the instance stopped, with its
	// own domain.
	r.add(func() {
		err := d.setRescue(in, nil)
		if err == nil {
			err = d.define(in, nil)
		}
		if err != nil {
			d.log.Error("undo a failed rescue", "instance_uuid", uuid, "error", err)
		}
	})
	if err := d.define(in, nil); err != nil {
		return fmt.Errorf("rescue %s: %w", uuid, err)
	}
	if err := d.start(ctx, in); err != nil {
		return fmt.Errorf("rescue %s: boot the rescue disk: %w", uuid, err)
	}
	r.done()
	d.log.InfoContext(ctx, "instance rescued", "instance_uuid", uuid, "rescue_image", rescue.ID)
	return nil
}

// rescueBoot is how the rescue domain boots: the kernel and ramdisk the
// rescue image names (kernel_id, ramdisk_id), each else the instance's
// own, as nova's rescue_kernel_id and rescue_ramdisk_id default; without
// a kernel the firmware boots the rescue disk.
func (d *Driver) rescueBoot(ctx context.Context, in *instance, img virt.ImageRef) (*rescueRecord, error) {
	rr := &rescueRecord{ImageID: img.ID, Kernel: in.rec.Kernel, Initrd: in.rec.Initrd, Append: in.rec.Append}
	if img.ID == in.rec.Spec.Image.ID {
		return rr, nil
	}
	props := img.Properties
	fetch := func(what, id, name string) error {
		src, err := d.disks.EnsureFile(ctx, id)
		if err != nil {
			return fmt.Errorf("rescue %s: %w", what, err)
		}
		_ = os.Remove(in.path(name))
		if err := disk.LinkOrCopy(src, in.path(name)); err != nil {
			return fmt.Errorf("rescue %s: %w", what, err)
		}
		return nil
	}
	if id := props["kernel_id"]; id != "" {
		if err := fetch("kernel", id, fileRescueKernel); err != nil {
			return nil, err
		}
		rr.Kernel = fileRescueKernel
		rr.Append = cmp.Or(props["os_command_line"], "root=/dev/vda console=tty0 console=ttyS0")
	}
	if id := props["ramdisk_id"]; id != "" {
		if err := fetch("ramdisk", id, fileRescueRamdisk); err != nil {
			return nil, err
		}
		rr.Initrd = fileRescueRamdisk
	}
	return rr, nil
}

// rescueConfigDrive writes the rescue's config drive, the instance's
// with adminPass as meta_data.json's admin_pass, as nova makes it; an
// instance without a config drive gets none.
func (d *Driver) rescueConfigDrive(ctx context.Context, in *instance, adminPass string) error {
	if in.rec.ConfigDrive == "" {
		return nil
	}
	var links []disk.Link
	for _, n := range nics(&in.rec.Spec) {
		links = append(links, disk.Link{ID: n.ID, MAC: n.MAC})
	}
	files, err := disk.ConfigDriveFiles(&in.rec.Spec, links)
	if err != nil {
		return fmt.Errorf("rescue config drive: %w", err)
	}
	if adminPass != "" {
		const name = "openstack/latest/meta_data.json"
		var md map[string]any
		if err := json.Unmarshal(files[name], &md); err != nil {
			return fmt.Errorf("rescue config drive: %w", err)
		}
		md["admin_pass"] = adminPass
		if files[name], err = json.Marshal(md); err != nil {
			return fmt.Errorf("rescue config drive: %w", err)
		}
	}
	_ = os.Remove(in.path(fileRescueConfigDrive))
	if err := disk.BuildConfigDrive(ctx, in.path(fileRescueConfigDrive), in.rec.ConfigDrive, files); err != nil {
		return fmt.Errorf("rescue config drive: %w", err)
	}
	return nil
}

// Unrescue destroys the rescue domain, defines the instance's own domain
// again, removes the rescue disk and starts the instance.
func (d *Driver) Unrescue(ctx context.Context, uuid string) error {
	in, end, err := d.begin(ctx, d.instances, uuid)
	if err != nil {
		return fmt.Errorf("unrescue %s: %w", uuid, err)
	}
	defer end()
	d.mu.Lock()
	rr := in.rec.Rescue
	d.mu.Unlock()
	if rr == nil {
		return fmt.Errorf("unrescue %s: %w: the instance is not rescued", uuid, virt.ErrInvalidState)
	}
	conn, err := d.connection()
	if err != nil {
		return fmt.Errorf("unrescue %s: %w", uuid, err)
	}
	state, err := d.state(in)
	if err != nil {
		return fmt.Errorf("unrescue %s: %w", uuid, err)
	}
	if err := d.powerOff(ctx, conn, in, state, 0); err != nil {
		return fmt.Errorf("unrescue %s: %w", uuid, err)
	}
	if state == virt.Running || state == virt.Paused {
		d.report(in, virt.EventStopped)
	}
	if err := d.setRescue(in, nil); err != nil {
		return fmt.Errorf("unrescue %s: %w", uuid, err)
	}
	if err := d.define(in, nil); err != nil {
		// Still the rescue domain: the instance stays rescued.
		if serr := d.setRescue(in, rr); serr != nil {
			d.log.Error("undo a failed unrescue", "instance_uuid", uuid, "error", serr)
		}
		return fmt.Errorf("unrescue %s: %w", uuid, err)
	}
	removeRescueFiles(in)
	if err := d.start(ctx, in); err != nil {
		return fmt.Errorf("unrescue %s: %w", uuid, err)
	}
	d.log.InfoContext(ctx, "instance unrescued", "instance_uuid", uuid)
	return nil
}

// setRescue records the instance's rescue, or that it has none.
func (d *Driver) setRescue(in *instance, rr *rescueRecord) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	in.rec.Rescue = rr
	return in.save()
}

// removeRescueFiles removes the rescue disk, kernel and ramdisk.
func removeRescueFiles(in *instance) {
	for _, f := range []string{fileRescue, fileRescueKernel, fileRescueRamdisk, fileRescueConfigDrive} {
		_ = os.Remove(in.path(f))
	}
}
