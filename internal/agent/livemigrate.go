package agent

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/nimbus-cloud/nimbus/internal/rpc"
	"github.com/nimbus-cloud/nimbus/internal/virt"
)

// LiveMigration is the source side of a live migration (nova's
// live_migration): the destination is readied, the guest moves while it
// runs, the destination takes it over, and the outcome goes to the
// conductor. A failure before the guest moved rolls the destination back;
// the instance stays here.
func (a *Agent) LiveMigration(ctx context.Context, r rpc.LiveMigrationRequest) error {
	id, dest := r.Instance.UUID, r.Dest.Host
	// Tracked before the lock is taken: a steer that comes while another
	// operation on the instance ends is remembered.
	lm := a.trackLive(id)
	defer a.untrackLive(id, lm)
	unlock := a.locks.lock(id)
	defer unlock()
	const event = "compute_live_migration"
	a.event(ctx, id, event, false, nil)
	err := a.liveMigrate(ctx, r, lm)
	a.event(ctx, id, event, true, err)
	res := rpc.LiveMigrationResult{InstanceUUID: id, Source: a.cfg.Host, Dest: rpc.HostNode{Host: dest, Node: r.Dest.Node}}
	switch {
	case err != nil && lm.wasAborted():
		a.log.InfoContext(ctx, "live migration cancelled", "instance_uuid", id, "dest", dest, "error", err)
		res.Error, res.Cancelled = err.Error(), true
	case err != nil:
		a.log.WarnContext(ctx, "live migration failed", "instance_uuid", id, "dest", dest, "error", err)
		res.Error = err.Error()
	default:
		a.forgetPower(id)
	}
	return a.cond.LiveMigrationDone(ctx, res)
}

// liveMigrate readies the destination, has the driver move the guest as
// the destination's migrate data says, and lets the destination take it
// over. An abort before the driver began, or one the driver obeys, ends it
// with the destination rolled back.
func (a *Agent) liveMigrate(ctx context.Context, r rpc.LiveMigrationRequest, lm *liveMigration) error {
	id, dest := r.Instance.UUID, r.Dest.Host
	data, err := a.hosts.PreLiveMigration(ctx, dest, r.Instance)
	if err != nil {
		return fmt.Errorf("prepare %s: %w", dest, err)
	}
	mctx, forced, ok := lm.enterDriver(ctx)
	if !ok {
		a.rollbackDest(ctx, dest, id)
		return fmt.Errorf("live migration of %s to %s: %w before the guest moved", id, dest, virt.ErrLiveMigrationCancelled)
	}
	if forced {
		go func() { _ = a.forceComplete(mctx, id, lm) }()
	}
	err = a.driver.LiveMigrate(mctx, id, dest, data)
	lm.leaveDriver()
	if err != nil {
		a.rollbackDest(ctx, dest, id)
		return err
	}
	if err := a.hosts.PostLiveMigration(ctx, dest, id); err != nil {
		return fmt.Errorf("take over on %s: %w", dest, err)
	}
	return nil
}

// rollbackDest removes what pre_live_migration made on dest.
func (a *Agent) rollbackDest(ctx context.Context, dest, id string) {
	if err := a.hosts.RollbackLiveMigration(ctx, dest, id); err != nil {
		a.log.ErrorContext(ctx, "roll the destination back", "instance_uuid", id, "dest", dest, "error", err)
	}
}

// PreLiveMigration readies this host, the destination, for an incoming
// instance: its image is fetched and the driver makes room, answering the
// migrate data the source's driver needs to reach it.
func (a *Agent) PreLiveMigration(ctx context.Context, in rpc.InstanceSpec) (rpc.PreLiveMigrationReply, error) {
	unlock := a.locks.lock(in.UUID)
	defer unlock()
	spec, err := a.spec(ctx, rpc.BuildAndRunRequest{Instance: in})
	if err != nil {
		return rpc.PreLiveMigrationReply{}, err
	}
	data, err := a.driver.PreLiveMigration(ctx, spec)
	if err != nil {
		return rpc.PreLiveMigrationReply{}, driverError(err)
	}
	return rpc.PreLiveMigrationReply{MigrateData: json.RawMessage(data)}, nil
}

// PostLiveMigration takes a migrated instance over on this host.
func (a *Agent) PostLiveMigration(ctx context.Context, r rpc.InstanceRequest) error {
	unlock := a.locks.lock(r.InstanceUUID)
	defer unlock()
	if err := a.driver.PostLiveMigrationAtDestination(ctx, r.InstanceUUID); err != nil {
		return driverError(err)
	}
	if info, err := a.driver.GetInfo(ctx, r.InstanceUUID); err == nil {
		a.setReportedPower(r.InstanceUUID, int(info.State))
	}
	return nil
}

// RollbackLiveMigration drops what PreLiveMigration made.
func (a *Agent) RollbackLiveMigration(ctx context.Context, r rpc.InstanceRequest) error {
	unlock := a.locks.lock(r.InstanceUUID)
	defer unlock()
	return driverError(a.driver.RollbackLiveMigrationAtDestination(ctx, r.InstanceUUID))
}
