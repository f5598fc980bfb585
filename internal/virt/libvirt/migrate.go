package libvirt

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/nimbus-cloud/nimbus/internal/virt"
	"github.com/nimbus-cloud/nimbus/internal/virt/disk"
)

// resizeSuffix marks a cold migration's source copy, as nova renames the
// instance folder to <uuid>_resize.
const resizeSuffix = "_resize"

// MigrateDiskAndPowerOff is the source side of a cold migration or resize,
// as nova's libvirt driver does it: the guest is shut down (ACPI for up to
// CleanShutdownTimeout, then destroyed), its domain undefined, and its
// folder moved aside to <uuid>_resize, where the destination copies the
// disks from. Disks never shrink.
func (d *Driver) MigrateDiskAndPowerOff(ctx context.Context, uuid, dest string, flavor virt.Flavor) (virt.MigratedDisk, error) {
	in, end, err := d.begin(ctx, d.instances, uuid)
	if err != nil {
		return virt.MigratedDisk{}, fmt.Errorf("migrate %s: %w", uuid, err)
	}
	defer end()
	conn, err := d.connection()
	if err != nil {
		return virt.MigratedDisk{}, fmt.Errorf("migrate %s: %w", uuid, err)
	}
	state, err := d.state(in)
	if err != nil {
		return virt.MigratedDisk{}, fmt.Errorf("migrate %s: %w", uuid, err)
	}
	allowed := states(virt.Running, virt.Shutdown)
	if !contains(allowed, state) {
		return virt.MigratedDisk{}, &virt.StateError{UUID: uuid, Op: "migrate", State: state, Allowed: allowed}
	}
	if old := in.rec.Spec.Flavor; flavor.RootGB < old.RootGB || flavor.EphemeralGB < old.EphemeralGB {
		return virt.MigratedDisk{}, fmt.Errorf("migrate %s: %w: cannot resize disks down (root %d to %d GB, ephemeral %d to %d GB)",
			uuid, virt.ErrNotSupported, old.RootGB, flavor.RootGB, old.EphemeralGB, flavor.EphemeralGB)
	}
	d.mu.Lock()
	_, busy := d.migrating[uuid]
	host := d.host
	d.mu.Unlock()
	if busy {
		return virt.MigratedDisk{}, fmt.Errorf("migrate %s: %w: a migration of it is not finished", uuid, virt.ErrInstanceExists)
	}
	if err := d.powerOff(ctx, conn, in, state, d.opts.CleanShutdownTimeout); err != nil {
		return virt.MigratedDisk{}, fmt.Errorf("migrate %s: %w", uuid, err)
	}
	if err := d.undefine(conn, domainOf(in)); err != nil {
		return virt.MigratedDisk{}, fmt.Errorf("migrate %s: %w", uuid, err)
	}
	aside := in.dir + resizeSuffix
	if err := os.RemoveAll(aside); err != nil {
		return virt.MigratedDisk{}, fmt.Errorf("migrate %s: %w", uuid, err)
	}
	if err := os.Rename(in.dir, aside); err != nil {
		// The domain goes back as it was, shut off.
		if derr := d.define(in, nil); derr != nil {
			err = errors.Join(err, derr)
		}
		return virt.MigratedDisk{}, fmt.Errorf("migrate %s: move its folder aside: %w", uuid, err)
	}
	d.mu.Lock()
	if state == virt.Running {
		d.emit(in, virt.EventStopped)
	}
	in.dir = aside
	delete(d.instances, uuid)
	d.migrating[uuid] = in
	d.mu.Unlock()
	f := in.rec.Spec.Flavor
	return virt.MigratedDisk{SourceHost: host, Info: map[string]string{
		"path": aside, "image_id": in.rec.Spec.Image.ID, "disk_format": "qcow2", "dest": dest,
		"root_gb": strconv.Itoa(f.RootGB), "ephemeral_gb": strconv.Itoa(f.EphemeralGB), "swap_mb": strconv.Itoa(f.SwapMB),
	}}, nil
}

func contains(s []virt.PowerState, v virt.PowerState) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// FinishMigration is the destination side: it copies the migrated disks
// into a new instance folder (the root overlay onto this host's base of
// the same image, the others whole), grows them to spec's flavor, writes
// a new config drive, defines the domain and starts it unless
// spec.StartStopped. The source folder must be reachable here: on the
// same machine, or an instances folder shared between hosts.
func (d *Driver) FinishMigration(ctx context.Context, spec *virt.InstanceSpec, md virt.MigratedDisk) error {
	if err := validateSpec(spec); err != nil {
		return err
	}
	if id := md.Info["image_id"]; id != "" && id != spec.Image.ID {
		return fmt.Errorf("finish migration of %s: %w: disk is of image %s, spec names %s", spec.UUID, virt.ErrInvalidSpec, id, spec.Image.ID)
	}
	src := md.Info["path"]
	if _, err := os.Stat(filepath.Join(src, disk.FileDisk)); src == "" || err != nil {
		return fmt.Errorf("finish migration of %s: %w: the disk at %s:%s is not reachable from here (cold migration between machines needs a shared instances folder)",
			spec.UUID, virt.ErrNotSupported, md.SourceHost, src)
	}
	in, end, err := d.reserve(d.instances, spec)
	if err != nil {
		return fmt.Errorf("finish migration of %s: %w", spec.UUID, err)
	}
	defer end()
	r := &reverter{}
	defer r.revert()
	r.add(func() { d.unreserve(d.instances, in) })
	if err := d.makeDir(in, r); err != nil {
		return fmt.Errorf("finish migration of %s: %w", spec.UUID, err)
	}
	b, err := d.disks.EnsureBase(ctx, in.rec.Spec.Image)
	if err != nil {
		return fmt.Errorf("finish migration of %s: %w", spec.UUID, err)
	}
	if err := d.disks.CopyMigrated(ctx, in.dir, src, b); err != nil {
		return fmt.Errorf("finish migration of %s: %w", spec.UUID, err)
	}
	if err := d.disks.GrowDisks(ctx, in.dir, in.rec.Spec.Flavor, b); err != nil {
		return fmt.Errorf("finish migration of %s: %w", spec.UUID, err)
	}
	if err := d.finishCreate(ctx, in, r); err != nil {
		return fmt.Errorf("finish migration of %s: %w", spec.UUID, err)
	}
	if err := d.startNew(ctx, in, spec.StartStopped); err != nil {
		return fmt.Errorf("finish migration of %s: %w", spec.UUID, err)
	}
	r.done()
	return nil
}

// ConfirmMigration removes the source copy; with none there is nothing to
// do.
func (d *Driver) ConfirmMigration(ctx context.Context, uuid string) error {
	in, end, err := d.begin(ctx, d.migrating, uuid)
	if errors.Is(err, virt.ErrInstanceNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("confirm migration of %s: %w", uuid, err)
	}
	defer end()
	if err := os.RemoveAll(in.dir); err != nil {
		return fmt.Errorf("confirm migration of %s: %w", uuid, err)
	}
	d.mu.Lock()
	delete(d.migrating, uuid)
	in.gone = true
	d.mu.Unlock()
	return nil
}

// FinishRevertMigration moves the source copy back into place once the
// destination's copy is destroyed, defines its domain again and starts it
// when powerOn.
func (d *Driver) FinishRevertMigration(ctx context.Context, uuid string, powerOn bool) error {
	in, end, err := d.begin(ctx, d.migrating, uuid)
	if err != nil {
		return fmt.Errorf("revert migration of %s: %w", uuid, err)
	}
	defer end()
	d.mu.Lock()
	_, exists := d.instances[uuid]
	d.mu.Unlock()
	if exists {
		return fmt.Errorf("revert migration of %s: %w: destroy the destination's copy first", uuid, virt.ErrInstanceExists)
	}
	dir := filepath.Join(d.root, uuid)
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("revert migration of %s: %w", uuid, err)
	}
	if err := os.Rename(in.dir, dir); err != nil {
		return fmt.Errorf("revert migration of %s: %w", uuid, err)
	}
	d.mu.Lock()
	in.dir = dir
	delete(d.migrating, uuid)
	d.instances[uuid] = in
	in.reported = virt.Shutdown
	d.mu.Unlock()
	if err := d.define(in, nil); err != nil {
		return fmt.Errorf("revert migration of %s: %w", uuid, err)
	}
	if powerOn {
		if err := d.start(ctx, in); err != nil {
			return fmt.Errorf("revert migration of %s: %w", uuid, err)
		}
	}
	return nil
}
