package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"

	"github.com/nimbus-cloud/nimbus/internal/agent"
	"github.com/nimbus-cloud/nimbus/internal/bus"
	"github.com/nimbus-cloud/nimbus/internal/compute"
	"github.com/nimbus-cloud/nimbus/internal/compute/computesql"
	"github.com/nimbus-cloud/nimbus/internal/conductor"
	"github.com/nimbus-cloud/nimbus/internal/config"
	"github.com/nimbus-cloud/nimbus/internal/image"
	"github.com/nimbus-cloud/nimbus/internal/rpc"
	"github.com/nimbus-cloud/nimbus/internal/scheduler"
	"github.com/nimbus-cloud/nimbus/internal/schedulerd"
	"github.com/nimbus-cloud/nimbus/internal/virt"
	"github.com/nimbus-cloud/nimbus/internal/virt/fake"
)

// computePlane is the compute control plane of this process: the bus, the
// service group, the API's conductor client, and the conductor, scheduler
// and compute agents it runs.
type computePlane struct {
	bus      *bus.Bus
	registry *conductor.Registry
	client   *conductor.Client
	agents   []*agent.Agent
	fakes    map[string]*fake.Driver
	stops    map[string]func(context.Context) error
	// aggregates mirrors host aggregate membership and deleted compute
	// hosts into placement.
	aggregates *placementMirror
}

// defaultServiceUser is the compute service's user in identity when
// [keystone_authtoken] names none, as the install guides name it.
const defaultServiceUser = "nova"

// openComputePlane opens the bus and makes what the compute API needs to
// hand servers over: the conductor client and the service group. It runs
// before the compute API starts; startComputePlane starts the services.
func (c *Cloud) openComputePlane(ctx context.Context) error {
	b, err := openBus(ctx, c.cfg, c.log)
	if err != nil {
		return err
	}
	c.closers = append(c.closers, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return b.Close(ctx)
	})
	d, err := c.openComputeDB(ctx)
	if err != nil {
		return err
	}
	cc := c.cfg.Compute
	reg := conductor.NewRegistry(conductor.RegistryOptions{
		ServiceDownTime: time.Duration(cc.ServiceDownTime) * time.Second,
		ComputeZone:     cc.DefaultAvailabilityZone, InternalZone: cc.InternalServiceAvailabilityZone,
		Store: serviceStore{computesql.New(d)}, Log: c.log.With("service", "compute")})
	if err := reg.Load(ctx); err != nil {
		return err
	}
	c.plane = &computePlane{bus: b, registry: reg, fakes: map[string]*fake.Driver{},
		stops:      map[string]func(context.Context) error{},
		client:     conductor.NewClient(b, reg, c.log.With("service", "compute")),
		aggregates: &placementMirror{reg: reg}}
	return nil
}

// startComputeNode runs the compute role: this host's agents on the shared
// bus, with placement and the image service reached over REST as the
// compute service's user of [keystone_authtoken]. It opens no database.
func (c *Cloud) startComputeNode(ctx context.Context) error {
	if strings.TrimSpace(c.cfg.Default.TransportURL) == "" {
		return errors.New("compute role needs a shared transport_url: set [DEFAULT] transport_url to the controller's RabbitMQ (rabbit://user:password@controller:5672/)")
	}
	sc, err := c.serviceClients(ctx)
	if err != nil {
		return err
	}
	b, err := openBus(ctx, c.cfg, c.log)
	if err != nil {
		return err
	}
	c.closers = append(c.closers, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return b.Close(ctx)
	})
	c.plane = &computePlane{bus: b, fakes: map[string]*fake.Driver{}, stops: map[string]func(context.Context) error{}}
	return c.startComputeAgents(ctx, sc)
}

// computeServerDeps are the compute API's collaborators for servers: the
// conductor, the image service and the service group. Without a compute
// plane the API serves no servers.
func (c *Cloud) computeServerDeps() compute.Deps {
	if c.plane == nil || c.Image == nil {
		return compute.Deps{}
	}
	images := computeImages{svc: c.Image, url: c.ImageURL}
	c.plane.client.DiscardImagesWith(images)
	dir := serviceDirectory{c.plane.registry}
	return compute.Deps{Conductor: c.plane.client, Images: images, Services: dir, ServiceAdmin: dir,
		PlacementAggregates: c.plane.aggregates, PlacementProviders: c.plane.aggregates}
}

// startComputePlane starts the conductor and the scheduler on the bus,
// with the compute service's clients of placement, and keeps the service
// group in sync with its table.
func (c *Cloud) startComputePlane(ctx, runCtx context.Context, sc serviceClients) error {
	p := c.plane
	cfg := c.cfg
	log := c.log.With("service", "compute")
	pl := newPlacementClient(sc.placement)
	p.aggregates.client.Store(&pl)
	host := cfg.HostName()
	reportEvery := time.Duration(cfg.Compute.ReportInterval) * time.Second
	c.goRun(func() { p.registry.Run(runCtx, reportEvery) })

	cond := conductor.NewServer(conductor.Config{Host: host, ReportInterval: reportEvery,
		AllowResizeToSameHost: cfg.Compute.AllowResizeToSameHost}, conductor.Deps{
		Instances: c.Compute, Scheduler: conductor.BusScheduler{Bus: p.bus}, Placement: pl,
		Computes: conductor.BusComputes{Bus: p.bus}, Registry: p.registry, Migrations: c.Compute,
		Log: log.With("component", "conductor")})
	if err := c.serveBus(ctx, rpc.TopicConductor, host, cond.Endpoint()); err != nil {
		return err
	}
	c.goRun(func() { cond.Run(runCtx) })

	sched, err := scheduler.New(SchedulerOptions(cfg))
	if err != nil {
		return err
	}
	sd := schedulerd.New(schedulerd.Config{}, sched, pl, schedulerHosts{p.registry}, log.With("component", "scheduler"))
	sd.UseGroups(schedulerGroups{c.Compute})
	sd.UseAggregates(schedulerAggregates{c.Compute})
	if err := c.serveBus(ctx, rpc.TopicScheduler, host, sd.Endpoint()); err != nil {
		return err
	}
	c.goRun(func() { schedulerd.Run(runCtx, host, reportEvery, p.registry.Report) })
	return nil
}

// startComputeAgents starts this host's compute agents (one, or
// fake_host_count or qemu_host_count of them) on the bus, with the compute service's
// clients of placement and the image service: the same path whether the
// controller runs in this process or elsewhere.
func (c *Cloud) startComputeAgents(ctx context.Context, sc serviceClients) error {
	p := c.plane
	cfg := c.cfg
	log := c.log.With("service", "compute")
	pl := newPlacementClient(sc.placement)
	host := cfg.HostName()

	images := imageFetcher{sc: sc.image}
	drivers := newDrivers(cfg, images, c.fakeDisplay(), log.With("component", "agent"))
	c.closers = append(c.closers, drivers.Close)
	for _, name := range drivers.hosts(host) {
		drv, err := drivers.newDriver(name)
		if err != nil {
			return err
		}
		a, err := newAgent(cfg, name, drv, agent.BusConductor{Bus: p.bus}, agent.BusHosts{Bus: p.bus}, pl, images, images, log.With("component", "agent"))
		if err != nil {
			return err
		}
		stop, err := a.Start(ctx, p.bus)
		if err != nil {
			return err
		}
		c.closers = append(c.closers, func() error {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			return stop(ctx)
		})
		p.agents = append(p.agents, a)
		if f, ok := drv.(*fake.Driver); ok {
			p.fakes[name] = f
		}
		p.stops[name] = stop
	}
	return nil
}

// serveBus serves endpoints on a topic until the cloud closes.
func (c *Cloud) serveBus(ctx context.Context, topic, host string, eps ...*bus.Endpoint) error {
	srv, err := c.plane.bus.Serve(ctx, topic, host, eps...)
	if err != nil {
		return err
	}
	c.closers = append(c.closers, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return srv.Stop(ctx)
	})
	return nil
}

// goRun runs f in the background until the cloud closes (f watches the
// cloud's run context).
func (c *Cloud) goRun(f func()) {
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		f()
	}()
}

// fakeHostNames are the hosts of fake_host_count agents: the host itself
// for one, host-1 ... host-N for more.
func fakeHostNames(host string, n int) []string {
	if n <= 1 {
		return []string{host}
	}
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%d", host, i+1)
	}
	return out
}

// newAgent builds the compute agent of one host from the [compute] options.
func newAgent(cfg *config.Config, host string, drv virt.Driver, cond agent.Conductor, hosts agent.Hosts, pl agent.Placement, images agent.ImageFetcher, uploader agent.ImageUploader, log *slog.Logger) (*agent.Agent, error) {
	cc := cfg.Compute
	sec := func(n int) time.Duration { return time.Duration(n) * time.Second }
	return agent.New(agent.Config{
		Host:                   host,
		HostIP:                 cfg.Default.MyIP,
		ImageCacheDir:          filepath.Join(cfg.Default.StatePath, "instances", "_base"),
		ReportInterval:         sec(cc.ReportInterval),
		SyncPowerStateInterval: sec(cc.SyncPowerStateInterval),
		ShutdownTimeout:        sec(cc.ShutdownTimeout),
		BuildTimeout:           sec(cc.InstanceBuildTimeout),
		ShelvedOffloadTime:     sec(cfg.Default.ShelvedOffloadTime),
		Resources: agent.ResourceOptions{
			CPUAllocationRatio: cc.CPUAllocationRatio, RAMAllocationRatio: cc.RAMAllocationRatio,
			DiskAllocationRatio:       cc.DiskAllocationRatio,
			InitialCPUAllocationRatio: cc.InitialCPUAllocationRatio, InitialRAMAllocationRatio: cc.InitialRAMAllocationRatio,
			InitialDiskAllocationRatio: cc.InitialDiskAllocationRatio,
			ReservedHostCPUs:           cc.ReservedHostCPUs, ReservedHostMemoryMB: cc.ReservedHostMemoryMB,
			ReservedHostDiskMB: cc.ReservedHostDiskMB,
		},
	}, agent.Deps{Driver: drv, Conductor: cond, Placement: pl, Images: images, Uploader: uploader, Hosts: hosts, Log: log})
}

// SchedulerOptions turns [filter_scheduler] and [scheduler] into the
// scheduler's options.
func SchedulerOptions(cfg *config.Config) scheduler.Options {
	fs := cfg.FilterScheduler
	return scheduler.Options{
		EnabledFilters:                     scheduler.ParseNames(fs.EnabledFilters),
		WeightClasses:                      scheduler.ParseNames(fs.WeightClasses),
		RAMWeightMultiplier:                fs.RAMWeightMultiplier,
		CPUWeightMultiplier:                fs.CPUWeightMultiplier,
		DiskWeightMultiplier:               fs.DiskWeightMultiplier,
		SoftAffinityWeightMultiplier:       fs.SoftAffinityWeightMultiplier,
		SoftAntiAffinityWeightMultiplier:   fs.SoftAntiAffinityWeightMultiplier,
		HostSubsetSize:                     fs.HostSubsetSize,
		ShuffleBestSameWeighedHosts:        fs.ShuffleBestSameWeighedHosts,
		MaxAttempts:                        cfg.Scheduler.MaxAttempts,
		ImagePropertiesDefaultArchitecture: fs.ImagePropertiesDefaultArch,
		DefaultAvailabilityZone:            cfg.Compute.DefaultAvailabilityZone,
	}
}

// serviceClients are the compute service's clients of placement and the
// image service.
type serviceClients struct {
	placement, image *gophercloud.ServiceClient
}

// serviceClients authenticates as the compute service's user
// ([keystone_authtoken] username and password; in all-in-one, "nova" with
// a password made at each start) on the service project, and finds
// placement and the image service in the catalog. Where identity runs in
// this process the user is made or its password set; elsewhere (the
// compute role) it is reached at [keystone_authtoken] auth_url.
func (c *Cloud) serviceClients(ctx context.Context) (serviceClients, error) {
	at := c.cfg.AuthToken
	user, password := at.Username, at.Password
	if user == "" {
		user = defaultServiceUser
	}
	authURL := c.IdentityURL
	if c.Identity == nil {
		if at.AuthURL == "" || at.Password == "" {
			return serviceClients{}, errors.New("compute role needs [keystone_authtoken] auth_url and password: the controller's identity URL and the compute service user's password (username: nova by default)")
		}
		authURL = at.AuthURL
	} else {
		if password == "" {
			b := make([]byte, 24)
			if _, err := rand.Read(b); err != nil {
				return serviceClients{}, fmt.Errorf("make service password: %w", err)
			}
			password = hex.EncodeToString(b)
		}
		if err := c.Identity.EnsureServiceUser(ctx, user, password, at.ProjectName); err != nil {
			return serviceClients{}, fmt.Errorf("compute service user: %w", err)
		}
	}
	pc, err := openstack.NewClient(authURL)
	if err != nil {
		return serviceClients{}, err
	}
	pc.HTTPClient = http.Client{Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   128,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: 60 * time.Second,
	}}
	opts := gophercloud.AuthOptions{IdentityEndpoint: authURL, Username: user,
		Password: password, DomainName: at.UserDomainName, AllowReauth: true,
		Scope: &gophercloud.AuthScope{ProjectName: at.ProjectName, DomainName: at.ProjectDomainName}}
	if err := c.authenticate(ctx, pc, opts); err != nil {
		return serviceClients{}, fmt.Errorf("authenticate the compute service user %s at %s: %w", user, authURL, err)
	}
	var out serviceClients
	if out.placement, err = openstack.NewPlacementV1(pc, gophercloud.EndpointOpts{}); err != nil {
		return serviceClients{}, fmt.Errorf("placement endpoint: %w", err)
	}
	if out.image, err = openstack.NewImageV2(pc, gophercloud.EndpointOpts{}); err != nil {
		return serviceClients{}, fmt.Errorf("image endpoint: %w", err)
	}
	return out, nil
}

// authenticate logs in; a compute node whose controller is not reachable
// yet waits for it (until ctx ends), as a refused login fails at once.
func (c *Cloud) authenticate(ctx context.Context, pc *gophercloud.ProviderClient, opts gophercloud.AuthOptions) error {
	for wait := time.Second; ; wait = min(2*wait, 15*time.Second) {
		err := openstack.Authenticate(ctx, pc, opts)
		var refused gophercloud.ErrUnexpectedResponseCode
		if err == nil || c.Identity != nil || errors.As(err, &refused) && refused.Actual < 500 {
			return err
		}
		c.log.WarnContext(ctx, "identity is not reachable yet; trying again", "url", opts.IdentityEndpoint,
			"in", wait, "error", err)
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last: %w)", ctx.Err(), err)
		case <-time.After(wait):
		}
	}
}

// FakeDriver is the fake virt driver of one of this process's compute
// hosts, for tests that inject failures; nil when there is none.
func (c *Cloud) FakeDriver(host string) *fake.Driver {
	if c.plane == nil {
		return nil
	}
	return c.plane.fakes[host]
}

// StopComputeHost stops the agent of one of this process's hosts, as if the
// host died: it takes no more messages and sends no more heartbeats, so
// the service group sees it down after service_down_time.
func (c *Cloud) StopComputeHost(ctx context.Context, host string) error {
	if c.plane == nil || c.plane.stops[host] == nil {
		return fmt.Errorf("no compute agent of host %s runs here", host)
	}
	return c.plane.stops[host](ctx)
}

// ComputeHosts are the hosts of this process's compute agents.
func (c *Cloud) ComputeHosts() []string {
	if c.plane == nil {
		return nil
	}
	out := make([]string, len(c.plane.agents))
	for i, a := range c.plane.agents {
		out[i] = a.Host()
	}
	return out
}

// serviceDirectory shows the service group to the compute API.
type serviceDirectory struct{ reg *conductor.Registry }

func (d serviceDirectory) Services(ctx context.Context) ([]compute.ServiceRecord, error) {
	svcs := d.reg.Services()
	out := make([]compute.ServiceRecord, len(svcs))
	for i, s := range svcs {
		out[i] = compute.ServiceRecord{Host: s.Host, Binary: s.Binary, Zone: s.Zone, Disabled: s.Disabled,
			ForcedDown: s.ForcedDown, Up: s.Up, UpdatedAt: s.LastSeen}
	}
	return out, nil
}

// schedulerHosts shows the compute hosts of the service group to the
// scheduler.
type schedulerHosts struct{ reg *conductor.Registry }

func (h schedulerHosts) ComputeHosts(ctx context.Context) ([]schedulerd.ComputeHost, error) {
	// Count first, so that the hosts and their supported instances (which
	// share one array) are allocated once.
	hosts, triples := 0, 0
	h.reg.EachCompute(func(s *conductor.ServiceStatus, _ bool) {
		hosts++
		if s.Node != nil {
			triples += len(s.Node.SupportedInstances)
		}
	})
	out := make([]schedulerd.ComputeHost, 0, hosts)
	supported := make([]scheduler.SupportedInstance, 0, triples)
	h.reg.EachCompute(func(s *conductor.ServiceStatus, up bool) {
		ch := schedulerd.ComputeHost{Host: s.Host, Node: s.Host, Zone: s.Zone, Up: up, Disabled: s.Disabled,
			DisabledReason: s.DisabledReason, Instances: s.Instances}
		if n := s.Node; n != nil {
			ch.Node, ch.ProviderUUID = n.Node, n.ProviderUUID
			ch.HypervisorType, ch.HypervisorVersion = n.HypervisorType, n.HypervisorVersion
			ch.CPUInfo = scheduler.CPUInfo{Arch: n.CPUInfo.Arch, Vendor: n.CPUInfo.Vendor, Model: n.CPUInfo.Model,
				Features: n.CPUInfo.Features, Topology: scheduler.CPUTopology{Sockets: n.CPUInfo.Sockets,
					Cores: n.CPUInfo.Cores, Threads: n.CPUInfo.Threads}}
			start := len(supported)
			for _, si := range n.SupportedInstances {
				supported = append(supported, scheduler.SupportedInstance{Arch: si[0], HypervisorType: si[1],
					VMMode: si[2]})
			}
			if len(supported) > start {
				ch.Supported = supported[start:len(supported):len(supported)]
			}
		}
		out = append(out, ch)
	})
	return out, nil
}

// computeImages is the image service as the compute API uses it, in this
// process, on the caller's behalf (the caller is in ctx).
type computeImages struct {
	svc *image.Service
	url string
}

func (ci computeImages) Image(ctx context.Context, id string) (compute.Image, error) {
	img, err := ci.svc.GetImage(ctx, id)
	if errors.Is(err, image.ErrNotFound) {
		return compute.Image{}, fmt.Errorf("image %s: %w", id, compute.ErrNotFound)
	}
	if err != nil {
		return compute.Image{}, fmt.Errorf("get image %s: %w", id, err)
	}
	out := compute.Image{ID: img.ID, Name: img.Name, Status: string(img.Status), MinDisk: int(img.MinDisk),
		MinRAM: int(img.MinRAM), DiskFormat: img.DiskFormat, ContainerFormat: img.ContainerFormat,
		Properties: img.Properties}
	if img.Size != nil {
		out.Size = *img.Size
	}
	return out, nil
}

// CreateSnapshot creates the queued image a snapshot uploads into, owned
// by the caller's project.
func (ci computeImages) CreateSnapshot(ctx context.Context, name string, properties map[string]string) (compute.Image, error) {
	attrs := make(map[string]any, len(properties)+1)
	for k, v := range properties {
		attrs[k] = v
		if k == "min_ram" || k == "min_disk" {
			// The image's own attributes, numbers in the image API.
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				delete(attrs, k)
				continue
			}
			attrs[k] = n
		}
	}
	attrs["name"] = name
	img, err := ci.svc.CreateImage(ctx, attrs)
	if err != nil {
		return compute.Image{}, fmt.Errorf("create snapshot image: %w", err)
	}
	return compute.Image{ID: img.ID, Name: img.Name, Status: string(img.Status), Properties: img.Properties}, nil
}

func (ci computeImages) ImageURL(id string) string { return ci.url + "/v2/images/" + id }

// DeleteImage deletes an image on the caller's behalf.
func (ci computeImages) DeleteImage(ctx context.Context, id string) error {
	err := ci.svc.DeleteImage(ctx, id)
	if errors.Is(err, image.ErrNotFound) {
		return fmt.Errorf("image %s: %w", id, compute.ErrNotFound)
	}
	return err
}
