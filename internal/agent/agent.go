// Package agent is the compute agent of one hypervisor host, as
// nova-compute is: it registers its host's resource provider and inventory
// in placement, heartbeats to the conductor, and carries out the builds,
// deletes and power actions sent to compute.<host> through its virt driver,
// reporting every change of an instance to the conductor, since it never
// touches the database. A periodic sync, and the driver's lifecycle events,
// bring the database in line with what the hypervisor says.
//
// Operations on one instance run one at a time, in the order they take the
// instance's lock; an instance this agent destroyed is remembered, so that
// a build arriving after its delete does not bring it back.
package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/bus"
	"github.com/nimbus-cloud/nimbus/internal/rpc"
	"github.com/nimbus-cloud/nimbus/internal/virt"
)

// Conductor is where the agent reports, over the bus.
type Conductor interface {
	UpdateInstance(ctx context.Context, r rpc.InstanceUpdateRequest) (rpc.InstanceState, error)
	Event(ctx context.Context, r rpc.InstanceEventRequest) error
	Destroyed(ctx context.Context, r rpc.InstanceDestroyedRequest) error
	Reschedule(ctx context.Context, r rpc.BuildAndRunRequest) error
	ResizeFailed(ctx context.Context, r rpc.ResizeFailedRequest) error
	LiveMigrationDone(ctx context.Context, r rpc.LiveMigrationResult) error
	SyncPowerStates(ctx context.Context, r rpc.PowerSyncRequest) (rpc.PowerSyncReply, error)
	ReportService(ctx context.Context, r rpc.ServiceReport) error
	InstanceShelved(ctx context.Context, r rpc.InstanceShelvedRequest) error
	InstanceUnshelved(ctx context.Context, r rpc.InstanceUnshelvedRequest) error
	ShelvedInstances(ctx context.Context, r rpc.ShelvedInstancesRequest) (rpc.ShelvedInstancesReply, error)
}

// Config holds the agent's options (nova's names in comments).
type Config struct {
	// Host is the compute host's name (host); its resource provider and
	// queue (compute.<host>) are named after it.
	Host string
	// HostIP is the address other hosts reach this one at (my_ip).
	HostIP string
	// ImageCacheDir holds the images instances boot from
	// (instances/_base).
	ImageCacheDir string
	// ReportInterval is report_interval.
	ReportInterval time.Duration
	// SyncPowerStateInterval is sync_power_state_interval; <= 0 never.
	SyncPowerStateInterval time.Duration
	// ShutdownTimeout is shutdown_timeout.
	ShutdownTimeout time.Duration
	// BuildTimeout is instance_build_timeout; 0 no limit.
	BuildTimeout time.Duration
	// ShelvedOffloadTime is shelved_offload_time: how long a shelved
	// instance keeps its guest here; 0 offloads at once, < 0 never.
	ShelvedOffloadTime time.Duration
	// Resources are the overcommit and reserve options.
	Resources ResourceOptions
}

// Deps are the agent's collaborators.
type Deps struct {
	Driver    virt.Driver
	Conductor Conductor
	Placement Placement
	Images    ImageFetcher
	// Uploader takes snapshots; nil refuses them.
	Uploader ImageUploader
	// Hosts reaches the other compute hosts.
	Hosts Hosts
	Log   *slog.Logger
}

// Agent is the compute agent of one host.
type Agent struct {
	cfg       Config
	driver    virt.Driver
	cond      Conductor
	placement Placement
	images    *imageCache
	uploader  ImageUploader
	hosts     Hosts
	log       *slog.Logger

	locks  keyedMutex
	dedupe *bus.Dedupe

	mu sync.Mutex
	// destroyed are instances this agent destroyed, so that a late build
	// of one is dropped; kept for the agent's life (uuids are not reused).
	destroyed map[string]bool
	// powers are the power states last reported per instance, so that a
	// lifecycle event that tells nothing new costs no message.
	powers map[string]int
	// providerUUID is the host's resource provider, once known.
	providerUUID string
	// inventory is the inventory last written to placement.
	inventory map[string]Inventory
	reports   int64
	// shelved are the instances shelved here and not offloaded, with when,
	// for the offload after ShelvedOffloadTime.
	shelved map[string]time.Time
	// live are the live migrations this host, their source, runs.
	live map[string]*liveMigration
}

// New returns an agent; Start brings it up.
func New(cfg Config, d Deps) (*Agent, error) {
	if cfg.Host == "" {
		return nil, errors.New("compute agent: host is empty")
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.ReportInterval <= 0 {
		cfg.ReportInterval = 10 * time.Second
	}
	log := d.Log.With("host", cfg.Host)
	return &Agent{cfg: cfg, driver: d.Driver, cond: d.Conductor, placement: d.Placement,
		images: newImageCache(cfg.ImageCacheDir, d.Images), uploader: d.Uploader, hosts: d.Hosts, log: log, dedupe: bus.NewDedupe(4096),
		destroyed: map[string]bool{}, powers: map[string]int{}, shelved: map[string]time.Time{},
		live: map[string]*liveMigration{}}, nil
}

// Host is the agent's host name.
func (a *Agent) Host() string { return a.cfg.Host }

// Start initialises the driver, registers the host's resource provider and
// inventory, serves compute.<host> on b and sends the first heartbeat; the
// periodic work runs until ctx ends. The returned function stops serving.
func (a *Agent) Start(ctx context.Context, b *bus.Bus) (stop func(context.Context) error, err error) {
	if err := a.driver.Init(ctx, a.cfg.Host); err != nil {
		return nil, fmt.Errorf("init virt driver of %s: %w", a.cfg.Host, err)
	}
	if err := a.updateResources(ctx, true); err != nil {
		// Placement may come up later: the heartbeat tries again.
		a.log.WarnContext(ctx, "register resource provider", "error", err)
	}
	srv, err := b.Serve(ctx, rpc.TopicCompute, a.cfg.Host, a.Endpoint())
	if err != nil {
		return nil, fmt.Errorf("serve compute.%s: %w", a.cfg.Host, err)
	}
	a.heartbeat(ctx)
	a.recoverShelved(ctx)
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Add(4)
	go func() { defer wg.Done(); a.every(runCtx, a.cfg.ReportInterval, a.heartbeat) }()
	go func() { defer wg.Done(); a.every(runCtx, a.offloadInterval(), a.offloadShelved) }()
	go func() { defer wg.Done(); a.every(runCtx, a.cfg.SyncPowerStateInterval, a.syncPowerStates) }()
	go func() { defer wg.Done(); a.watchEvents(runCtx) }()
	a.log.InfoContext(ctx, "compute agent started")
	return func(ctx context.Context) error {
		err := srv.Stop(ctx)
		cancel()
		wg.Wait()
		return err
	}, nil
}

// every runs f every interval until ctx ends; interval <= 0 never.
func (a *Agent) every(ctx context.Context, interval time.Duration, f func(context.Context)) {
	if interval <= 0 {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			f(ctx)
		}
	}
}

// Endpoint is the agent's bus interface, for compute.<host>.
func (a *Agent) Endpoint() *bus.Endpoint {
	ep := bus.NewEndpoint(rpc.NamespaceCompute, rpc.ComputeVersion)
	ep.Use(a.dedupe.Middleware)
	bus.HandleCast(ep, rpc.BuildAndRunInstance, a.BuildAndRun)
	bus.HandleCast(ep, rpc.RebuildInstance, a.Rebuild)
	bus.HandleCast(ep, rpc.SnapshotInstance, a.Snapshot)
	bus.HandleCast(ep, rpc.ResizeInstance, a.ResizeInstance)
	bus.HandleCast(ep, rpc.FinishResize, a.FinishResize)
	bus.HandleCast(ep, rpc.LiveMigration, a.LiveMigration)
	bus.Handle(ep, rpc.PreLiveMigration, a.PreLiveMigration)
	bus.HandleCast(ep, rpc.PostLiveMigration, a.PostLiveMigration)
	bus.HandleCast(ep, rpc.RollbackLiveMigration, a.RollbackLiveMigration)
	bus.HandleCast(ep, rpc.LiveMigrationForceComplete, a.LiveMigrationForceComplete)
	bus.HandleCast(ep, rpc.LiveMigrationAbort, a.LiveMigrationAbort)
	bus.HandleCast(ep, rpc.ConfirmMigration, a.ConfirmMigration)
	bus.HandleCast(ep, rpc.RevertMigration, a.RevertMigration)
	bus.Handle(ep, rpc.FinishRevertMigration, a.FinishRevertMigration)
	bus.HandleCast(ep, rpc.TerminateInstance, a.Terminate)
	bus.HandleCast(ep, rpc.StartInstance, a.StartInstance)
	bus.HandleCast(ep, rpc.StopInstance, a.StopInstance)
	bus.HandleCast(ep, rpc.RebootInstance, a.RebootInstance)
	bus.HandleCast(ep, rpc.PauseInstance, a.PauseInstance)
	bus.HandleCast(ep, rpc.UnpauseInstance, a.UnpauseInstance)
	bus.HandleCast(ep, rpc.SuspendInstance, a.SuspendInstance)
	bus.HandleCast(ep, rpc.ResumeInstance, a.ResumeInstance)
	bus.Handle(ep, rpc.GetConsoleOutput, a.ConsoleOutput)
	bus.Handle(ep, rpc.GetVNCConsole, a.VNCConsole)
	bus.HandleCast(ep, rpc.ShelveInstance, a.Shelve)
	bus.HandleCast(ep, rpc.ShelveOffloadInstance, a.ShelveOffload)
	bus.HandleCast(ep, rpc.UnshelveOnHost, a.Unshelve)
	bus.HandleCast(ep, rpc.RescueInstance, a.Rescue)
	bus.HandleCast(ep, rpc.UnrescueInstance, a.Unrescue)
	bus.HandleCast(ep, rpc.BackupInstance, a.Backup)
	bus.Handle(ep, rpc.GetDiagnostics, a.Diagnostics)
	return ep
}

// heartbeat reports the service with its node and instances, and keeps the
// placement inventory in line with the driver's resources.
func (a *Agent) heartbeat(ctx context.Context) {
	a.mu.Lock()
	a.reports++
	count := a.reports
	a.mu.Unlock()
	if err := a.updateResources(ctx, count%6 == 0); err != nil {
		a.log.WarnContext(ctx, "update resources in placement", "error", err)
	}
	rep := rpc.ServiceReport{Host: a.cfg.Host, Binary: rpc.BinaryCompute, Version: rpc.ComputeVersion,
		ReportCount: count, SentAt: time.Now().UTC()}
	if res, err := a.driver.HostResources(ctx); err == nil {
		rep.Node = a.node(res)
	} else {
		a.log.WarnContext(ctx, "read host resources", "error", err)
	}
	if list, err := a.driver.ListInstances(ctx); err == nil {
		for _, in := range list {
			rep.Instances = append(rep.Instances, in.UUID)
		}
	}
	if err := a.cond.ReportService(ctx, rep); err != nil {
		a.log.WarnContext(ctx, "heartbeat", "error", err)
	}
}

// node is the host's compute node record.
func (a *Agent) node(r virt.HostResources) *rpc.ComputeNode {
	a.mu.Lock()
	rp := a.providerUUID
	a.mu.Unlock()
	n := &rpc.ComputeNode{Host: a.cfg.Host, Node: r.HypervisorHostname, ProviderUUID: rp,
		HypervisorType: r.HypervisorType, HypervisorVersion: r.HypervisorVersion, VCPUs: r.VCPUs,
		MemoryMB: r.MemoryMB, LocalGB: r.DiskGB, VCPUsUsed: r.VCPUsUsed, MemoryMBUsed: r.MemoryMBUsed,
		LocalGBUsed: r.DiskGBUsed, HostIP: a.cfg.HostIP, BootedAt: hostBootTime(r.BootedAt),
		CPUInfo: rpc.CPUInfo{Arch: r.CPUInfo.Arch, Vendor: r.CPUInfo.Vendor, Model: r.CPUInfo.Model,
			Features: r.CPUInfo.Features, Sockets: r.CPUInfo.Sockets, Cores: r.CPUInfo.Cores, Threads: r.CPUInfo.Threads}}
	if n.Node == "" {
		n.Node = a.cfg.Host
	}
	for _, s := range r.SupportedInstances {
		n.SupportedInstances = append(n.SupportedInstances, [3]string{s.Arch, s.HypervisorType, s.VMMode})
	}
	return n
}

// wasDestroyed tells whether this agent destroyed an instance.
func (a *Agent) wasDestroyed(uuid string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.destroyed[uuid]
}

func (a *Agent) markDestroyed(uuid string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.destroyed[uuid] = true
	delete(a.powers, uuid)
}

// forgetPower drops what was reported of an instance that left this host.
func (a *Agent) forgetPower(uuid string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.powers, uuid)
}

// reportedPower is the power state last reported of an instance.
func (a *Agent) reportedPower(uuid string) (int, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	p, ok := a.powers[uuid]
	return p, ok
}

func (a *Agent) setReportedPower(uuid string, p int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.destroyed[uuid] {
		a.powers[uuid] = p
	}
}

// keyedMutex serializes the operations on each instance.
type keyedMutex struct {
	mu    sync.Mutex
	locks map[string]*keyedLock
}

type keyedLock struct {
	mu   sync.Mutex
	refs int
}

// lock takes the lock of key and returns its release.
func (k *keyedMutex) lock(key string) func() {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = map[string]*keyedLock{}
	}
	l := k.locks[key]
	if l == nil {
		l = &keyedLock{}
		k.locks[key] = l
	}
	l.refs++
	k.mu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		k.mu.Lock()
		l.refs--
		if l.refs == 0 {
			delete(k.locks, key)
		}
		k.mu.Unlock()
	}
}

// busy tells whether an operation holds or waits for key's lock.
func (k *keyedMutex) busy(key string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.locks[key] != nil
}
