// Package conductor carries out what the compute API records, as nova's
// conductor does: it has the scheduler place new instances, hands each to
// its host, takes failed builds back to try the alternates, and writes
// what compute agents report (they never touch the database) through the
// compute service's lifecycle methods. Client is the compute API's side of
// it: it implements compute.Conductor by casting over the bus.
//
// The conductor keeps no state of its own between messages: what a
// reschedule needs travels in the build request, and every handler checks
// the instance's recorded state first, so a message delivered twice (the
// bus delivers at least once) changes nothing the second time.
package conductor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/bus"
	"github.com/nimbus-cloud/nimbus/internal/compute"
	"github.com/nimbus-cloud/nimbus/internal/rpc"
)

// Lifecycle is the compute service as the conductor drives it: its
// lifecycle methods, which apply no policy.
type Lifecycle interface {
	Instance(ctx context.Context, uuid string) (compute.Instance, error)
	SaveInstance(ctx context.Context, uuid string, mutate func(*compute.Instance) error) (compute.Instance, error)
	// SaveInstanceAction is SaveInstance recording an instance action
	// under requestID, for what no API request started.
	SaveInstanceAction(ctx context.Context, uuid, action, requestID string, mutate func(*compute.Instance) error) (compute.Instance, error)
	DestroyInstance(ctx context.Context, uuid string) error
	AddFault(ctx context.Context, uuid string, f compute.Fault) error
	StartEvent(ctx context.Context, uuid, requestID, event, host string) error
	FinishEvent(ctx context.Context, uuid, requestID, event string, failure error) error
	// Now is the service clock, in UTC.
	Now() time.Time
}

// Scheduler places instances and claims their resources.
type Scheduler interface {
	SelectDestinations(ctx context.Context, spec rpc.RequestSpec) ([]rpc.Selection, error)
}

// Placement is what the conductor asks of placement, through its REST API.
type Placement interface {
	// Claim allocates for consumer as a new consumer (generation null);
	// false with a nil error is placement's refusal (the capacity was
	// taken meanwhile).
	Claim(ctx context.Context, consumer, projectID, userID string, alloc rpc.Allocation) (bool, error)
	// DeleteAllocations removes a consumer's allocations; none is no error.
	DeleteAllocations(ctx context.Context, consumer string) error
	// Allocations returns what a consumer holds, by provider.
	Allocations(ctx context.Context, consumer string) (rpc.Allocation, error)
	// MoveAllocations gives to the allocations from holds, in place of its
	// own, and empties from, in one write (nova's move_allocations).
	MoveAllocations(ctx context.Context, from, to, projectID, userID string) error
}

// Computes sends work to compute hosts.
type Computes interface {
	BuildAndRun(ctx context.Context, host string, req rpc.BuildAndRunRequest) error
	Rebuild(ctx context.Context, host string, req rpc.RebuildRequest) error
	Terminate(ctx context.Context, host, uuid string) error
	Resize(ctx context.Context, host string, req rpc.ResizeRequest) error
	ConfirmMigration(ctx context.Context, host, uuid string) error
	RevertMigration(ctx context.Context, host, uuid string) error
	FinishRevertMigration(ctx context.Context, host, uuid string, powerOn bool) (rpc.InstanceState, error)
	LiveMigrate(ctx context.Context, host string, req rpc.LiveMigrationRequest) error
	UnshelveOnHost(ctx context.Context, host string, req rpc.UnshelveOnHostRequest) error
}

// Config holds the conductor's options.
type Config struct {
	// Host is this conductor's host name, recorded on its events.
	Host string
	// ReportInterval is how often the conductor's own service record is
	// refreshed in the registry.
	ReportInterval time.Duration
	// AllowResizeToSameHost lets a resize stay on its host
	// (allow_resize_to_same_host).
	AllowResizeToSameHost bool
}

// Deps are the conductor's collaborators.
type Deps struct {
	Instances Lifecycle
	Scheduler Scheduler
	Placement Placement
	Computes  Computes
	Registry  *Registry
	// Migrations records moves; nil keeps no records.
	Migrations Migrations
	Log        *slog.Logger
}

// Server is the conductor: the handlers of its bus interface.
type Server struct {
	cfg       Config
	inst      Lifecycle
	sched     Scheduler
	placement Placement
	computes  Computes
	reg       *Registry
	mig       Migrations
	log       *slog.Logger
	dedupe    *bus.Dedupe
}

// NewServer returns a conductor.
func NewServer(cfg Config, d Deps) *Server {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.ReportInterval <= 0 {
		cfg.ReportInterval = 10 * time.Second
	}
	return &Server{cfg: cfg, inst: d.Instances, sched: d.Scheduler, placement: d.Placement, computes: d.Computes,
		reg: d.Registry, mig: d.Migrations, log: d.Log, dedupe: bus.NewDedupe(4096)}
}

// Endpoint is the conductor's bus interface, for bus.Serve on the
// conductor topic.
func (s *Server) Endpoint() *bus.Endpoint {
	ep := bus.NewEndpoint(rpc.NamespaceConductor, rpc.ConductorVersion)
	ep.Use(s.dedupe.Middleware)
	bus.HandleCast(ep, rpc.BuildInstances, s.BuildInstances)
	bus.HandleCast(ep, rpc.CleanupDeletedInstance, func(ctx context.Context, r rpc.InstanceRequest) error {
		return s.CleanupDeletedInstance(ctx, r.InstanceUUID)
	})
	bus.HandleCast(ep, rpc.RescheduleInstance, s.RescheduleInstance)
	bus.HandleCast(ep, rpc.RebuildServer, s.RebuildServer)
	bus.HandleCast(ep, rpc.MigrateServer, s.MigrateServer)
	bus.HandleCast(ep, rpc.ConfirmResize, func(ctx context.Context, r rpc.InstanceRequest) error { return s.ConfirmResize(ctx, r.InstanceUUID) })
	bus.HandleCast(ep, rpc.RevertResize, func(ctx context.Context, r rpc.InstanceRequest) error { return s.RevertResize(ctx, r.InstanceUUID) })
	bus.HandleCast(ep, rpc.ResizeFailed, s.ResizeFailed)
	bus.HandleCast(ep, rpc.LiveMigrateInstance, s.LiveMigrateInstance)
	bus.HandleCast(ep, rpc.LiveMigrationDone, s.LiveMigrationDone)
	bus.HandleCast(ep, rpc.EvacuateInstance, s.EvacuateInstance)
	bus.HandleCast(ep, rpc.UnshelveInstance, s.UnshelveInstance)
	bus.HandleCast(ep, rpc.InstanceShelved, s.InstanceShelved)
	bus.HandleCast(ep, rpc.InstanceUnshelved, s.InstanceUnshelved)
	bus.Handle(ep, rpc.ShelvedInstances, s.ShelvedInstances)
	bus.Handle(ep, rpc.InstanceUpdate, s.InstanceUpdate)
	bus.HandleCast(ep, rpc.InstanceEvent, s.InstanceEvent)
	bus.HandleCast(ep, rpc.InstanceDestroyed, s.InstanceDestroyed)
	bus.Handle(ep, rpc.SyncPowerStates, s.SyncPowerStates)
	bus.Handle(ep, rpc.ServiceUpdate, func(ctx context.Context, r rpc.ServiceReport) (rpc.None, error) {
		s.reg.Report(r)
		return rpc.None{}, nil
	})
	return ep
}

// Run keeps the conductor's own service record fresh until ctx ends.
func (s *Server) Run(ctx context.Context) {
	var count int64
	report := func() {
		count++
		s.reg.Report(rpc.ServiceReport{Host: s.cfg.Host, Binary: rpc.BinaryConductor, Version: rpc.ConductorVersion,
			ReportCount: count, SentAt: time.Now().UTC()})
	}
	report()
	t := time.NewTicker(s.cfg.ReportInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			report()
		}
	}
}

// requestID is the API request a message belongs to.
func requestID(ctx context.Context) string { return rpc.FromContext(ctx).RequestID }

// startEvent and finishEvent record the conductor's events; a record that
// fails is logged, not fatal: the work matters more than its log.
func (s *Server) startEvent(ctx context.Context, uuid, event string) {
	if err := s.inst.StartEvent(ctx, uuid, requestID(ctx), event, s.cfg.Host); err != nil {
		s.log.WarnContext(ctx, "record event start", "instance_uuid", uuid, "event", event, "error", err)
	}
}

func (s *Server) finishEvent(ctx context.Context, uuid, event string, failure error) {
	if err := s.inst.FinishEvent(ctx, uuid, requestID(ctx), event, failure); err != nil {
		s.log.WarnContext(ctx, "record event end", "instance_uuid", uuid, "event", event, "error", err)
	}
}

// remote turns the compute service's errors into the kinds agents test.
func remote(uuid string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, compute.ErrNotFound):
		return rpc.Errorf(rpc.KindInstanceNotFound, "instance %s not found", uuid)
	case errors.Is(err, compute.ErrUnexpectedTaskState):
		return rpc.Errorf(rpc.KindUnexpectedTaskState, "%v", err)
	}
	return fmt.Errorf("instance %s: %w", uuid, err)
}
