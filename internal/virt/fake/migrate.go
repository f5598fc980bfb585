package fake

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/nimbus-cloud/nimbus/internal/virt"
)

// MigrateDiskAndPowerOff powers the instance off and keeps it aside as the
// migration's source copy. Disks cannot shrink: a flavor with a smaller
// root or ephemeral disk is refused, as nova's drivers refuse it.
func (d *Driver) MigrateDiskAndPowerOff(ctx context.Context, uuid, dest string, flavor virt.Flavor) (virt.MigratedDisk, error) {
	if err := d.enter(ctx, OpMigrateDisk, uuid); err != nil {
		return virt.MigratedDisk{}, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	in, ok := d.instances[uuid]
	if !ok {
		return virt.MigratedDisk{}, virt.NotFound(uuid)
	}
	allowed := states(virt.Running, virt.Shutdown)
	if !slices.Contains(allowed, in.state) {
		return virt.MigratedDisk{}, &virt.StateError{UUID: uuid, Op: "migrate", State: in.state, Allowed: allowed}
	}
	if old := in.spec.Flavor; flavor.RootGB < old.RootGB || flavor.EphemeralGB < old.EphemeralGB {
		return virt.MigratedDisk{}, fmt.Errorf("migrate %s: %w: cannot resize disks down (root %d to %d GB, ephemeral %d to %d GB)",
			uuid, virt.ErrNotSupported, old.RootGB, flavor.RootGB, old.EphemeralGB, flavor.EphemeralGB)
	}
	if _, busy := d.migrating[uuid]; busy {
		return virt.MigratedDisk{}, fmt.Errorf("migrate %s: %w: a migration of it is not finished", uuid, virt.ErrInstanceExists)
	}
	if in.state == virt.Running {
		in.console.write("reboot: Power down")
		d.emit(uuid, virt.EventStopped)
	}
	in.state = virt.Shutdown
	delete(d.instances, uuid)
	delete(d.vncPorts, in.vncPort)
	d.migrating[uuid] = in
	disk := virt.MigratedDisk{SourceHost: d.host, Info: map[string]string{
		"root_gb": strconv.Itoa(in.spec.Flavor.RootGB), "dest": dest,
	}}
	if in.image != nil {
		disk.Info["image_id"] = in.image.id
		disk.Info["disk_format"] = in.image.diskFormat
	}
	return disk, nil
}

// FinishMigration creates the instance on this host from the migrated disk,
// which for the fake is the instance's image again, with the new flavor.
func (d *Driver) FinishMigration(ctx context.Context, spec *virt.InstanceSpec, disk virt.MigratedDisk) error {
	if err := validateSpec(spec); err != nil {
		return err
	}
	if id := disk.Info["image_id"]; id != "" && spec.Image.ID != "" && id != spec.Image.ID {
		return fmt.Errorf("finish migration of %s: %w: disk is of image %s, spec names %s", spec.UUID, virt.ErrInvalidSpec, id, spec.Image.ID)
	}
	if err := d.enterNamed(ctx, OpFinishMigration, spec.Name); err != nil {
		return err
	}
	img, err := d.readImage(spec.Image)
	if err != nil {
		return fmt.Errorf("finish migration of %s: %w", spec.UUID, err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, exists := d.instances[spec.UUID]; exists {
		return fmt.Errorf("finish migration of %s: %w", spec.UUID, virt.ErrInstanceExists)
	}
	in := &instance{spec: copySpec(spec), state: virt.Shutdown, image: d.holdImage(img), vncPort: d.allocVNCPort()}
	if !spec.StartStopped {
		in.state = virt.Running
		in.console.boot(&in.spec)
		d.emit(spec.UUID, virt.EventStarted)
	}
	d.instances[spec.UUID] = in
	return nil
}

// ConfirmMigration drops the source copy; with none there is nothing to do.
func (d *Driver) ConfirmMigration(ctx context.Context, uuid string) error {
	if err := d.enter(ctx, OpConfirmMigration, uuid); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if in, ok := d.migrating[uuid]; ok {
		delete(d.migrating, uuid)
		d.releaseImage(in.image)
	}
	return nil
}

// FinishRevertMigration brings the source copy back, once the destination's
// copy is gone (on one host, after Destroy).
func (d *Driver) FinishRevertMigration(ctx context.Context, uuid string, powerOn bool) error {
	if err := d.enter(ctx, OpFinishRevertMigration, uuid); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	in, ok := d.migrating[uuid]
	if !ok {
		return fmt.Errorf("revert migration: %w", virt.NotFound(uuid))
	}
	if _, exists := d.instances[uuid]; exists {
		return fmt.Errorf("revert migration of %s: %w: destroy the destination's copy first", uuid, virt.ErrInstanceExists)
	}
	delete(d.migrating, uuid)
	in.vncPort = d.allocVNCPort()
	if powerOn {
		in.state = virt.Running
		in.console.boot(&in.spec)
		d.emit(uuid, virt.EventStarted)
	}
	d.instances[uuid] = in
	return nil
}

// PostLiveMigrationAtDestination starts the migrated instance here.
func (d *Driver) PostLiveMigrationAtDestination(ctx context.Context, uuid string) error {
	if err := d.enter(ctx, OpPostLiveMigration, uuid); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	in, ok := d.incoming[uuid]
	if !ok {
		return fmt.Errorf("post live migration: %w", virt.NotFound(uuid))
	}
	delete(d.incoming, uuid)
	in.state = virt.Running
	in.vncPort = d.allocVNCPort()
	in.console.write("[    0.000000] resumed after live migration")
	d.instances[uuid] = in
	d.emit(uuid, virt.EventResumed)
	return nil
}

// RollbackLiveMigrationAtDestination drops an incoming instance; with none
// there is nothing to do.
func (d *Driver) RollbackLiveMigrationAtDestination(ctx context.Context, uuid string) error {
	if err := d.enter(ctx, OpRollbackLiveMigration, uuid); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if in, ok := d.incoming[uuid]; ok {
		delete(d.incoming, uuid)
		d.releaseImage(in.image)
	}
	return nil
}
