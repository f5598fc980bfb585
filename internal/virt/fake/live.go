package fake

import (
	"context"
	"fmt"
	"slices"

	"github.com/nimbus-cloud/nimbus/internal/virt"
)

// incomingData is the fake's migrate data: the destination host and the
// instance it expects, which the source checks as a real driver checks its
// destination's addresses.
type incomingData struct {
	Host     string `json:"host"`
	Instance string `json:"instance_uuid"`
}

// PreLiveMigration makes room for the incoming instance, paused until the
// migration completes, and names this host and the instance in its
// migrate data.
func (d *Driver) PreLiveMigration(ctx context.Context, spec *virt.InstanceSpec) (virt.MigrateData, error) {
	if err := validateSpec(spec); err != nil {
		return nil, err
	}
	if err := d.enterNamed(ctx, OpPreLiveMigration, spec.Name); err != nil {
		return nil, err
	}
	img, err := d.readImage(spec.Image)
	if err != nil {
		return nil, fmt.Errorf("pre live migration of %s: %w", spec.UUID, err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, exists := d.instances[spec.UUID]; exists {
		return nil, fmt.Errorf("pre live migration of %s: %w", spec.UUID, virt.ErrInstanceExists)
	}
	if _, exists := d.incoming[spec.UUID]; exists {
		return nil, fmt.Errorf("pre live migration of %s: %w: already incoming", spec.UUID, virt.ErrInstanceExists)
	}
	data, err := virt.NewMigrateData(incomingData{Host: d.host, Instance: spec.UUID})
	if err != nil {
		return nil, fmt.Errorf("pre live migration of %s: %w", spec.UUID, err)
	}
	d.incoming[spec.UUID] = &instance{spec: copySpec(spec), state: virt.Paused, image: d.holdImage(img)}
	return data, nil
}

// LiveMigrate hands a running or paused instance to dest, whose
// PreLiveMigration data must name dest and the instance; the source no
// longer has it. While HoldLiveMigrations is on, the migration stays under
// way until LiveMigrationForceComplete or LiveMigrationAbort (or ctx) ends
// it.
func (d *Driver) LiveMigrate(ctx context.Context, uuid, dest string, data virt.MigrateData) error {
	if err := d.enter(ctx, OpLiveMigrate, uuid); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	in, err := d.checkLiveMigrate(uuid, dest, data)
	if err != nil {
		return err
	}
	if d.holdLive {
		if err := d.holdLiveMigration(ctx, uuid); err != nil {
			return fmt.Errorf("live migrate %s to %s: %w", uuid, dest, err)
		}
		if d.instances[uuid] != in {
			return fmt.Errorf("live migrate %s: %w", uuid, virt.NotFound(uuid))
		}
	}
	delete(d.instances, uuid)
	d.forget(in)
	d.emit(uuid, virt.EventMigrationCompleted)
	return nil
}

// checkLiveMigrate is the instance to live-migrate, when it can go to
// dest as data says; d.mu is held.
func (d *Driver) checkLiveMigrate(uuid, dest string, data virt.MigrateData) (*instance, error) {
	in, ok := d.instances[uuid]
	if !ok {
		return nil, virt.NotFound(uuid)
	}
	if dest == "" || dest == d.host {
		return nil, fmt.Errorf("live migrate %s: %w: destination %q is not another host", uuid, virt.ErrInvalidSpec, dest)
	}
	allowed := states(virt.Running, virt.Paused)
	if !slices.Contains(allowed, in.state) {
		return nil, &virt.StateError{UUID: uuid, Op: "live migrate", State: in.state, Allowed: allowed}
	}
	if _, busy := d.live[uuid]; busy {
		return nil, fmt.Errorf("live migrate %s: %w: a live migration of it is under way", uuid, virt.ErrInstanceExists)
	}
	var target incomingData
	if err := data.Decode(&target); err != nil {
		return nil, fmt.Errorf("live migrate %s to %s: %w", uuid, dest, err)
	}
	if target.Host != dest || target.Instance != uuid {
		return nil, fmt.Errorf("live migrate %s to %s: %w: the migrate data is for %s on %q", uuid, dest, virt.ErrInvalidSpec,
			target.Instance, target.Host)
	}
	return in, nil
}

// liveJob is a live migration held under way from this host.
type liveJob struct {
	// steer takes the one decision that ends the hold: true completes the
	// migration, false cancels it.
	steer chan bool
}

// HoldLiveMigrations makes live migrations from this host stay under way,
// so that tests can steer them, until LiveMigrationForceComplete or
// LiveMigrationAbort; off, the migrations started later end at once.
func (d *Driver) HoldLiveMigrations(hold bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.holdLive = hold
}

// LiveMigrationUnderWay tells whether a live migration of uuid is held
// under way from this host.
func (d *Driver) LiveMigrationUnderWay(uuid string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, ok := d.live[uuid]
	return ok
}

// holdLiveMigration waits, d.mu released meanwhile, until the migration of
// uuid is steered or ctx ends; a cancelled one is
// ErrLiveMigrationCancelled.
func (d *Driver) holdLiveMigration(ctx context.Context, uuid string) error {
	job := &liveJob{steer: make(chan bool, 1)}
	d.live[uuid] = job
	d.mu.Unlock()
	var err error
	select {
	case complete := <-job.steer:
		if !complete {
			err = virt.ErrLiveMigrationCancelled
		}
	case <-ctx.Done():
		err = ctx.Err()
	}
	d.mu.Lock()
	delete(d.live, uuid)
	return err
}

// LiveMigrationForceComplete ends a held live migration of uuid: it
// completes.
func (d *Driver) LiveMigrationForceComplete(ctx context.Context, uuid string) error {
	return d.steerLive(ctx, OpLiveMigrationForceComplete, uuid, true)
}

// LiveMigrationAbort ends a held live migration of uuid: it is cancelled
// and the instance stays here.
func (d *Driver) LiveMigrationAbort(ctx context.Context, uuid string) error {
	return d.steerLive(ctx, OpLiveMigrationAbort, uuid, false)
}

func (d *Driver) steerLive(ctx context.Context, op Op, uuid string, complete bool) error {
	if err := d.enter(ctx, op, uuid); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	job, ok := d.live[uuid]
	if !ok {
		return fmt.Errorf("%s %s: %w", op, uuid, virt.ErrNoLiveMigration)
	}
	select {
	case job.steer <- complete:
	default: // steered already: the first word stands
	}
	return nil
}
