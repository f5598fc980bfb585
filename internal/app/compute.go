package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/nimbus-cloud/nimbus/internal/api"
	"github.com/nimbus-cloud/nimbus/internal/auth"
	"github.com/nimbus-cloud/nimbus/internal/auth/policy"
	"github.com/nimbus-cloud/nimbus/internal/compute"
	"github.com/nimbus-cloud/nimbus/internal/compute/computehttp"
	"github.com/nimbus-cloud/nimbus/internal/compute/computesql"
	"github.com/nimbus-cloud/nimbus/internal/config"
	"github.com/nimbus-cloud/nimbus/internal/db"
	"github.com/nimbus-cloud/nimbus/internal/identity"
)

// ComputeConfig turns the [compute] and [quota] sections into the compute
// service's rules. [quota] injected_file_path_length is the limit nova's API
// calls injected_file_path_bytes.
func ComputeConfig(cfg *config.Config) compute.Config {
	q := cfg.Quota
	return compute.Config{
		DefaultAvailabilityZone:  cfg.Compute.DefaultAvailabilityZone,
		InternalAvailabilityZone: cfg.Compute.InternalServiceAvailabilityZone,
		MaxLimit:                 cfg.Compute.MaxLimit,
		Quota: map[string]int{
			compute.ResourceInstances:                q.Instances,
			compute.ResourceCores:                    q.Cores,
			compute.ResourceRAM:                      q.RAM,
			compute.ResourceMetadataItems:            q.MetadataItems,
			compute.ResourceInjectedFiles:            q.InjectedFiles,
			compute.ResourceInjectedFileContentBytes: q.InjectedFileContentBytes,
			compute.ResourceInjectedFilePathBytes:    q.InjectedFilePathLength,
			compute.ResourceKeyPairs:                 q.KeyPairs,
			compute.ResourceServerGroups:             q.ServerGroups,
			compute.ResourceServerGroupMembers:       q.ServerGroupMembers,
		},
	}
}

// identityProjects checks project ids with the identity service in this
// process, on the caller's behalf, as nova asks keystone with the caller's
// token: a project the caller may not look at is taken to exist.
type identityProjects struct{ svc *identity.Service }

func (p identityProjects) ProjectExists(ctx context.Context, projectID string) (bool, error) {
	_, err := p.svc.GetProject(ctx, projectID, identity.ProjectExpand{})
	switch {
	case err == nil, errors.Is(err, identity.ErrForbidden):
		return true, nil
	case errors.Is(err, identity.ErrNotFound):
		return false, nil
	}
	return false, fmt.Errorf("look up project %s: %w", projectID, err)
}

// NewCompute builds the compute service on its store; projects checks the
// project ids requests name; servers supplies what servers need (the
// conductor, images, the service group), empty for none.
func NewCompute(cfg *config.Config, store compute.Store, projects compute.ProjectChecker, log *slog.Logger, servers compute.Deps) (*compute.Service, error) {
	enforcer, err := policy.New(policy.ComputeDefaults(), policy.Options{
		PolicyFile: cfg.Policy.PolicyFile, EnforceScope: cfg.Policy.EnforceScope})
	if err != nil {
		return nil, fmt.Errorf("load compute policy: %w", err)
	}
	zoned := zonedServices(servers.Services, store, log)
	if d, ok := servers.Services.(serviceDirectory); ok && zoned != nil {
		// Instances record the zone of the host they land on, aggregates
		// included.
		d.reg.SetZoneOf(computeZoneOf(zoned))
	}
	return compute.New(ComputeConfig(cfg), compute.Deps{
		Store:        store,
		Authz:        auth.NewAuthorizer(enforcer),
		Projects:     projects,
		Conductor:    servers.Conductor,
		Images:       servers.Images,
		Services:     zoned,
		ServiceAdmin: servers.ServiceAdmin,
		Counters:     serverGroupCounters(store),
		Log:          log,

		ConsoleTokens:       servers.ConsoleTokens,
		PlacementAggregates: servers.PlacementAggregates,
		PlacementProviders:  servers.PlacementProviders,
	}), nil
}

// startCompute opens the compute database, registers the compute endpoint
// (nova, <base>/v2.1, without a project id as modern nova) in the catalog,
// and serves the Compute API.
func (c *Cloud) startCompute(ctx context.Context) error {
	d, err := c.openComputeDB(ctx)
	if err != nil {
		return err
	}
	store := computesql.New(d)
	servers := c.computeServerDeps()
	if servers.ConsoleTokens, err = c.startConsoles(store); err != nil {
		return err
	}
	svc, err := NewCompute(c.cfg, store, identityProjects{c.Identity}, c.log.With("service", "compute"), servers)
	if err != nil {
		return err
	}
	ln, err := c.listen(c.cfg.Compute.BindPort)
	if err != nil {
		return fmt.Errorf("compute: %w", err)
	}
	c.ComputeURL = c.publicURL(ln) + "/v2.1"
	urls := map[string]string{"public": c.ComputeURL, "internal": c.ComputeURL, "admin": c.ComputeURL}
	if err := c.Identity.RegisterService(ctx, "RegionOne", "compute", "nova", "Compute service", urls); err != nil {
		ln.Close()
		return fmt.Errorf("register compute service: %w", err)
	}
	srv := api.NewServer(api.Options{Name: "compute", Render: computehttp.RenderError,
		Log: c.log.With("service", "compute"), Metrics: c.metrics,
		RequestIDHeaders: []string{computehttp.RequestIDHeader}})
	h := computehttp.Register(srv, svc, callerValidator{c.Identity}, c.cfg.OsloMiddleware.MaxRequestBodySize)
	h.SetIdentityURL(c.IdentityURL)
	h.SetImageURL(c.ImageURL)
	c.Compute = svc
	c.serve(ln, srv)
	return nil
}

// openComputeDB opens (and migrates) the compute database once: the compute
// API and the service group share it.
func (c *Cloud) openComputeDB(ctx context.Context) (*db.DB, error) {
	if c.computeDB != nil {
		return c.computeDB, nil
	}
	ms, err := computesql.Migrations()
	if err != nil {
		return nil, err
	}
	d, err := OpenDB(ctx, c.cfg, computesql.ServiceName, ms)
	if err != nil {
		return nil, err
	}
	c.dbs = append(c.dbs, d)
	c.computeDB = d
	return d, nil
}
