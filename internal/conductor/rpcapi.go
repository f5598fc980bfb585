package conductor

import (
	"context"

	"github.com/nimbus-cloud/nimbus/internal/bus"
	"github.com/nimbus-cloud/nimbus/internal/rpc"
)

// BusScheduler is the scheduler reached over the bus.
type BusScheduler struct{ Bus *bus.Bus }

// SelectDestinations calls select_destinations on the scheduler topic.
func (b BusScheduler) SelectDestinations(ctx context.Context, spec rpc.RequestSpec) ([]rpc.Selection, error) {
	r, err := bus.Call(ctx, b.Bus, bus.Target{Topic: rpc.TopicScheduler}, rpc.SelectDestinations,
		rpc.SelectDestinationsRequest{Spec: spec})
	if err != nil {
		return nil, err
	}
	return r.Selections, nil
}

// BusComputes are the compute hosts reached over the bus, each on
// compute.<host>.
type BusComputes struct{ Bus *bus.Bus }

func computeTarget(host string) bus.Target { return bus.Target{Topic: rpc.TopicCompute, Host: host} }

// BuildAndRun casts build_and_run_instance to a host.
func (b BusComputes) BuildAndRun(ctx context.Context, host string, req rpc.BuildAndRunRequest) error {
	return bus.Cast(ctx, b.Bus, computeTarget(host), rpc.BuildAndRunInstance, req)
}

// Rebuild casts rebuild_instance to a host.
func (b BusComputes) Rebuild(ctx context.Context, host string, req rpc.RebuildRequest) error {
	return bus.Cast(ctx, b.Bus, computeTarget(host), rpc.RebuildInstance, req)
}

// Terminate casts terminate_instance to a host.
func (b BusComputes) Terminate(ctx context.Context, host, uuid string) error {
	return bus.Cast(ctx, b.Bus, computeTarget(host), rpc.TerminateInstance, rpc.InstanceRequest{InstanceUUID: uuid})
}

// Resize casts resize_instance to the source host.
func (b BusComputes) Resize(ctx context.Context, host string, req rpc.ResizeRequest) error {
	return bus.Cast(ctx, b.Bus, computeTarget(host), rpc.ResizeInstance, req)
}

// ConfirmMigration calls confirm_migration on the source host.
func (b BusComputes) ConfirmMigration(ctx context.Context, host, uuid string) error {
	_, err := bus.Call(ctx, b.Bus, computeTarget(host), rpc.ConfirmMigration, rpc.InstanceRequest{InstanceUUID: uuid})
	return err
}

// RevertMigration calls revert_migration on the destination host.
func (b BusComputes) RevertMigration(ctx context.Context, host, uuid string) error {
	_, err := bus.Call(ctx, b.Bus, computeTarget(host), rpc.RevertMigration, rpc.InstanceRequest{InstanceUUID: uuid})
	return err
}

// FinishRevertMigration calls finish_revert_migration on the source host.
func (b BusComputes) FinishRevertMigration(ctx context.Context, host, uuid string, powerOn bool) (rpc.InstanceState, error) {
	return bus.Call(ctx, b.Bus, computeTarget(host), rpc.FinishRevertMigration,
		rpc.FinishRevertRequest{InstanceUUID: uuid, PowerOn: powerOn})
}

// LiveMigrate casts live_migration to the source host.
func (b BusComputes) LiveMigrate(ctx context.Context, host string, req rpc.LiveMigrationRequest) error {
	return bus.Cast(ctx, b.Bus, computeTarget(host), rpc.LiveMigration, req)
}

// UnshelveOnHost casts unshelve_instance to a host.
func (b BusComputes) UnshelveOnHost(ctx context.Context, host string, req rpc.UnshelveOnHostRequest) error {
	return bus.Cast(ctx, b.Bus, computeTarget(host), rpc.UnshelveOnHost, req)
}
