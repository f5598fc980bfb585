package app

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/nimbus-cloud/nimbus/internal/api"
	"github.com/nimbus-cloud/nimbus/internal/auth"
	"github.com/nimbus-cloud/nimbus/internal/auth/policy"
	"github.com/nimbus-cloud/nimbus/internal/config"
	"github.com/nimbus-cloud/nimbus/internal/placement"
	"github.com/nimbus-cloud/nimbus/internal/placement/placementhttp"
	"github.com/nimbus-cloud/nimbus/internal/placement/placementsql"
)

// PlacementConfig turns the [placement] section into the placement service's
// options.
func PlacementConfig(cfg *config.Config) placement.Config {
	p := cfg.Placement
	return placement.Config{
		RandomizeCandidates: p.RandomizeAllocationCandidates,
		MaxCandidates:       p.MaxAllocationCandidates,
		BreadthFirst:        p.AllocationCandidatesGenerationStrategy == "breadth-first",
		IncompleteProjectID: p.IncompleteConsumerProjectID,
		IncompleteUserID:    p.IncompleteConsumerUserID,
		ConflictRetries:     p.AllocationConflictRetryCount,
	}
}

// NewPlacement builds the placement service on its store.
func NewPlacement(cfg *config.Config, store placement.Store, log *slog.Logger) (*placement.Service, error) {
	enforcer, err := policy.New(policy.PlacementDefaults(), policy.Options{
		PolicyFile: cfg.Policy.PolicyFile, EnforceScope: cfg.Policy.EnforceScope})
	if err != nil {
		return nil, fmt.Errorf("load placement policy: %w", err)
	}
	return placement.New(PlacementConfig(cfg), placement.Deps{
		Store: store,
		Authz: auth.NewAuthorizer(enforcer),
		Log:   log,
	}), nil
}

// startPlacement opens the placement database, syncs the standard resource
// classes and traits, registers the placement endpoint (at the root, as
// placement serves itself) in the catalog and serves the Placement API.
func (c *Cloud) startPlacement(ctx context.Context) error {
	ms, err := placementsql.Migrations()
	if err != nil {
		return err
	}
	d, err := OpenDB(ctx, c.cfg, placementsql.ServiceName, ms)
	if err != nil {
		return err
	}
	c.dbs = append(c.dbs, d)
	log := c.log.With("service", "placement")
	svc, err := NewPlacement(c.cfg, placementsql.New(d), log)
	if err != nil {
		return err
	}
	if err := svc.Sync(ctx); err != nil {
		return err
	}
	ln, err := c.listen(c.cfg.Placement.BindPort)
	if err != nil {
		return fmt.Errorf("placement: %w", err)
	}
	c.PlacementURL = c.publicURL(ln)
	urls := map[string]string{"public": c.PlacementURL, "internal": c.PlacementURL, "admin": c.PlacementURL}
	if err := c.Identity.RegisterService(ctx, "RegionOne", "placement", "placement", "Placement API", urls); err != nil {
		ln.Close()
		return fmt.Errorf("register placement service: %w", err)
	}
	srv := api.NewServer(api.Options{Name: "placement", Render: placementhttp.RenderError, Log: log, Metrics: c.metrics})
	h := placementhttp.Register(srv, svc, callerValidator{c.Identity}, c.cfg.OsloMiddleware.MaxRequestBodySize)
	h.SetIdentityURL(c.IdentityURL)
	c.Placement = svc
	c.serve(ln, srv)
	return nil
}
