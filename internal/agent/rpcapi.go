package agent

import (
	"context"

	"github.com/nimbus-cloud/nimbus/internal/bus"
	"github.com/nimbus-cloud/nimbus/internal/rpc"
	"github.com/nimbus-cloud/nimbus/internal/virt"
)

// BusConductor is the conductor reached over the bus.
type BusConductor struct{ Bus *bus.Bus }

var conductorTarget = bus.Target{Topic: rpc.TopicConductor}

// UpdateInstance calls instance_update.
func (b BusConductor) UpdateInstance(ctx context.Context, r rpc.InstanceUpdateRequest) (rpc.InstanceState, error) {
	return bus.Call(ctx, b.Bus, conductorTarget, rpc.InstanceUpdate, r)
}

// Event calls instance_event, so that an event's end never overtakes its
// start.
func (b BusConductor) Event(ctx context.Context, r rpc.InstanceEventRequest) error {
	_, err := bus.Call(ctx, b.Bus, conductorTarget, rpc.InstanceEvent, r)
	return err
}

// Destroyed calls instance_destroyed.
func (b BusConductor) Destroyed(ctx context.Context, r rpc.InstanceDestroyedRequest) error {
	_, err := bus.Call(ctx, b.Bus, conductorTarget, rpc.InstanceDestroyed, r)
	return err
}

// Reschedule casts reschedule_instance.
func (b BusConductor) Reschedule(ctx context.Context, r rpc.BuildAndRunRequest) error {
	return bus.Cast(ctx, b.Bus, conductorTarget, rpc.RescheduleInstance, r)
}

// ResizeFailed casts resize_failed.
func (b BusConductor) ResizeFailed(ctx context.Context, r rpc.ResizeFailedRequest) error {
	return bus.Cast(ctx, b.Bus, conductorTarget, rpc.ResizeFailed, r)
}

// LiveMigrationDone casts live_migration_done.
func (b BusConductor) LiveMigrationDone(ctx context.Context, r rpc.LiveMigrationResult) error {
	return bus.Cast(ctx, b.Bus, conductorTarget, rpc.LiveMigrationDone, r)
}

// SyncPowerStates calls sync_power_states.
func (b BusConductor) SyncPowerStates(ctx context.Context, r rpc.PowerSyncRequest) (rpc.PowerSyncReply, error) {
	return bus.Call(ctx, b.Bus, conductorTarget, rpc.SyncPowerStates, r)
}

// ReportService casts service_update.
func (b BusConductor) ReportService(ctx context.Context, r rpc.ServiceReport) error {
	return bus.Cast(ctx, b.Bus, conductorTarget, rpc.ServiceUpdate, r)
}

// InstanceShelved calls instance_shelved.
func (b BusConductor) InstanceShelved(ctx context.Context, r rpc.InstanceShelvedRequest) error {
	_, err := bus.Call(ctx, b.Bus, conductorTarget, rpc.InstanceShelved, r)
	return err
}

// InstanceUnshelved calls instance_unshelved.
func (b BusConductor) InstanceUnshelved(ctx context.Context, r rpc.InstanceUnshelvedRequest) error {
	_, err := bus.Call(ctx, b.Bus, conductorTarget, rpc.InstanceUnshelved, r)
	return err
}

// ShelvedInstances calls shelved_instances.
func (b BusConductor) ShelvedInstances(ctx context.Context, r rpc.ShelvedInstancesRequest) (rpc.ShelvedInstancesReply, error) {
	return bus.Call(ctx, b.Bus, conductorTarget, rpc.ShelvedInstances, r)
}

// BusHosts are the other compute hosts reached over the bus.
type BusHosts struct{ Bus *bus.Bus }

// FinishResize casts finish_resize to the destination of a move.
func (b BusHosts) FinishResize(ctx context.Context, host string, req rpc.FinishResizeRequest) error {
	return bus.Cast(ctx, b.Bus, hostTarget(host), rpc.FinishResize, req)
}

func hostTarget(host string) bus.Target { return bus.Target{Topic: rpc.TopicCompute, Host: host} }

// PreLiveMigration calls pre_live_migration on the destination and
// answers its migrate data.
func (b BusHosts) PreLiveMigration(ctx context.Context, host string, spec rpc.InstanceSpec) (virt.MigrateData, error) {
	r, err := bus.Call(ctx, b.Bus, hostTarget(host), rpc.PreLiveMigration, spec)
	if err != nil {
		return nil, err
	}
	return virt.MigrateData(r.MigrateData), nil
}

// PostLiveMigration calls post_live_migration_at_destination.
func (b BusHosts) PostLiveMigration(ctx context.Context, host, uuid string) error {
	_, err := bus.Call(ctx, b.Bus, hostTarget(host), rpc.PostLiveMigration, rpc.InstanceRequest{InstanceUUID: uuid})
	return err
}

// RollbackLiveMigration calls rollback_live_migration_at_destination.
func (b BusHosts) RollbackLiveMigration(ctx context.Context, host, uuid string) error {
	_, err := bus.Call(ctx, b.Bus, hostTarget(host), rpc.RollbackLiveMigration, rpc.InstanceRequest{InstanceUUID: uuid})
	return err
}
