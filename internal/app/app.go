// Package app is the composition root of Nimbus: it builds each role of the one
// binary from the configuration, and is the only package that knows the concrete
// stores, token formats and HTTP handlers.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/api"
	"github.com/nimbus-cloud/nimbus/internal/auth"
	"github.com/nimbus-cloud/nimbus/internal/auth/policy"
	"github.com/nimbus-cloud/nimbus/internal/compute"
	"github.com/nimbus-cloud/nimbus/internal/config"
	"github.com/nimbus-cloud/nimbus/internal/db"
	"github.com/nimbus-cloud/nimbus/internal/identity"
	"github.com/nimbus-cloud/nimbus/internal/identity/fernet"
	"github.com/nimbus-cloud/nimbus/internal/identity/identityhttp"
	"github.com/nimbus-cloud/nimbus/internal/identity/identitysql"
	"github.com/nimbus-cloud/nimbus/internal/image"
	"github.com/nimbus-cloud/nimbus/internal/placement"
)

// Cloud is a running set of Nimbus services in this process.
type Cloud struct {
	cfg     *config.Config
	log     *slog.Logger
	metrics *api.Metrics

	// Identity is the identity service; nil when this process does not run it.
	Identity *identity.Service
	// IdentityURL is the public identity endpoint, ending in /v3.
	IdentityURL string
	// Image is the image service; nil when this process does not run it.
	Image *image.Service
	// ImageURL is the public image endpoint, without a version.
	ImageURL string
	// Placement is the placement service; nil when this process does not run it.
	Placement *placement.Service
	// PlacementURL is the public placement endpoint (placement serves at its root).
	PlacementURL string
	// Compute is the compute service; nil when this process does not run it.
	Compute *compute.Service
	// ComputeURL is the public compute endpoint, ending in /v2.1.
	ComputeURL string

	// plane is the compute control plane; nil when this process runs none.
	plane *computePlane
	// computeDB is the compute database, once opened.
	computeDB *db.DB
	// consoles are the console auth tokens and proxy (console.go).
	consoles *consoles

	dbs     []*db.DB
	closers []func() error
	servers []*http.Server
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	errs    chan error
}

// StartOptions tune Start beyond the configuration.
type StartOptions struct {
	// AdminPassword is used when bootstrap has to create the admin user.
	AdminPassword string
	// Log receives every log line; nil writes text to stderr.
	Log *slog.Logger
	// NoComputePlane runs the compute API without the bus, conductor,
	// scheduler and compute agents: the API then serves no servers.
	NoComputePlane bool
	// Role is what this process runs: RoleAll (the default), RoleController
	// or RoleCompute.
	Role string
}

// The roles of `nimbus serve --role`.
const (
	// RoleAll runs every service, the compute agents of this host
	// included, as `nimbus up` does.
	RoleAll = "all"
	// RoleController runs identity, image, placement, the compute API, the
	// conductor and the scheduler: no compute agent.
	RoleController = "controller"
	// RoleCompute runs only this host's compute agents. They need no
	// database: they reach the conductor over the shared bus and
	// placement and the image service over REST.
	RoleCompute = "compute"
)

// Start opens the databases (migrating them), bootstraps identity, and starts
// serving the APIs. Listeners on port 0 get a free port, which the catalog shows.
func Start(ctx context.Context, cfg *config.Config, o StartOptions) (_ *Cloud, err error) {
	if o.Log == nil {
		level := slog.LevelInfo
		if cfg.Default.Debug {
			level = slog.LevelDebug
		}
		o.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	}
	c := &Cloud{cfg: cfg, log: o.Log, metrics: api.NewMetrics(), errs: make(chan error, 8)}
	defer func() {
		if err != nil {
			c.Close(context.Background())
		}
	}()
	if err := os.MkdirAll(cfg.Default.StatePath, 0o700); err != nil {
		return nil, fmt.Errorf("create state directory: %w", err)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	switch o.Role {
	case "", RoleAll, RoleController:
	case RoleCompute:
		if err := c.startComputeNode(ctx); err != nil {
			return nil, err
		}
		return c, nil
	default:
		return nil, fmt.Errorf("unknown role %q: want %s, %s or %s", o.Role, RoleAll, RoleController, RoleCompute)
	}
	if err := c.startIdentity(ctx, runCtx, o.AdminPassword); err != nil {
		return nil, err
	}
	if err := c.startImage(ctx); err != nil {
		return nil, err
	}
	if err := c.startPlacement(ctx); err != nil {
		return nil, err
	}
	if !o.NoComputePlane {
		if err := c.openComputePlane(ctx); err != nil {
			return nil, err
		}
	}
	if err := c.startCompute(ctx); err != nil {
		return nil, err
	}
	if c.plane != nil {
		sc, err := c.serviceClients(ctx)
		if err != nil {
			return nil, err
		}
		if err := c.startComputePlane(ctx, runCtx, sc); err != nil {
			return nil, err
		}
		// The agents of this host join as a compute node's do: over the
		// bus and the REST endpoints of the catalog.
		if o.Role != RoleController {
			if err := c.startComputeAgents(ctx, sc); err != nil {
				return nil, err
			}
		}
	}
	return c, nil
}

// OpenDB opens (and migrates) the database of one service: its own SQLite file
// under the state path, or the configured server database.
func OpenDB(ctx context.Context, cfg *config.Config, service string, ms []db.Migration) (*db.DB, error) {
	url := cfg.Database.Connection
	if url == "" {
		url = db.SQLiteURL(filepath.Join(cfg.Default.StatePath, service+".db"))
	}
	d, err := db.Open(ctx, url)
	if err != nil {
		return nil, err
	}
	if _, err := db.Migrate(ctx, d, service, ms); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// NewIdentity builds the identity service over an open database.
func NewIdentity(cfg *config.Config, d *db.DB, log *slog.Logger) (*identity.Service, error) {
	repo, err := fernet.NewKeyRepository(cfg.FernetKeyRepository(), cfg.FernetTokens.MaxActiveKeys)
	if err != nil {
		return nil, err
	}
	if err := repo.Setup(); err != nil {
		return nil, fmt.Errorf("set up fernet keys: %w", err)
	}
	tokens, err := fernet.NewProvider(repo, fernet.ProviderConfig{Logger: log})
	if err != nil {
		return nil, err
	}
	// Credential keys are their own repository, as keystone's [credential]
	// key_repository: they rotate apart from the token keys.
	credRepo, err := fernet.NewKeyRepository(cfg.CredentialKeyRepository(), 0)
	if err != nil {
		return nil, err
	}
	if err := credRepo.Setup(); err != nil {
		return nil, fmt.Errorf("set up credential keys: %w", err)
	}
	enforcer, err := policy.New(policy.IdentityDefaults(), policy.Options{
		PolicyFile: cfg.Policy.PolicyFile, EnforceScope: cfg.Policy.EnforceScope})
	if err != nil {
		return nil, fmt.Errorf("load identity policy: %w", err)
	}
	return identity.New(identity.Config{
		DefaultDomainID:         cfg.Identity.DefaultDomainID,
		TokenExpiration:         time.Duration(cfg.Token.Expiration) * time.Second,
		AllowRescopeScopedToken: cfg.Token.AllowRescopeScopedToken,
		AllowExpiredWindow:      time.Duration(cfg.Token.AllowExpiredWindow) * time.Second,
		MaxPasswordLength:       cfg.Identity.MaxPasswordLength,
		ListLimit:               cfg.Identity.ListLimit,
		AdminProjectName:        "admin",
		AdminProjectDomainName:  "Default",
		AllowRedelegation:       cfg.Trust.AllowRedelegation,
		MaxRedelegationCount:    cfg.Trust.MaxRedelegationCount,
		Compliance: identity.ComplianceConfig{
			LockoutFailureAttempts:     cfg.SecurityCompliance.LockoutFailureAttempts,
			LockoutDuration:            time.Duration(cfg.SecurityCompliance.LockoutDuration) * time.Second,
			UniqueLastPasswordCount:    cfg.SecurityCompliance.UniqueLastPasswordCount,
			MinimumPasswordAge:         time.Duration(cfg.SecurityCompliance.MinimumPasswordAge) * 24 * time.Hour,
			PasswordExpires:            time.Duration(cfg.SecurityCompliance.PasswordExpiresDays) * 24 * time.Hour,
			ChangePasswordUponFirstUse: cfg.SecurityCompliance.ChangePasswordUponFirstUse,
			PasswordRegex:              cfg.SecurityCompliance.PasswordRegex,
			PasswordRegexDescription:   cfg.SecurityCompliance.PasswordRegexDescription,
		},
	}, identity.Deps{
		Store:  identitysql.New(d),
		Tokens: tokens,
		Hasher: identity.BcryptHasher{Cost: cfg.Identity.PasswordHashRounds},
		Authz:  auth.NewAuthorizer(enforcer),
		Log:    log.With("service", "identity"),
		// Credential blobs are sealed at rest with the credential keys.
		Credentials: identity.NewFernetCipher(credRepo),
	}), nil
}

func (c *Cloud) startIdentity(ctx, runCtx context.Context, adminPassword string) error {
	ms, err := identitysql.Migrations()
	if err != nil {
		return err
	}
	d, err := OpenDB(ctx, c.cfg, "identity", ms)
	if err != nil {
		return err
	}
	c.dbs = append(c.dbs, d)
	svc, err := NewIdentity(c.cfg, d, c.log)
	if err != nil {
		return err
	}
	if err := svc.RefreshRevocations(ctx); err != nil {
		return err
	}
	ln, err := c.listen(c.cfg.Identity.BindPort)
	if err != nil {
		return fmt.Errorf("identity: %w", err)
	}
	c.IdentityURL = c.publicURL(ln) + "/v3"
	urls := map[string]string{"public": c.IdentityURL, "internal": c.IdentityURL, "admin": c.IdentityURL}
	if _, err := svc.Bootstrap(ctx, identity.BootstrapOptions{AdminPassword: adminPassword, IdentityURLs: urls}); err != nil {
		ln.Close()
		return fmt.Errorf("bootstrap identity: %w", err)
	}
	srv := api.NewServer(api.Options{Name: "identity", Render: identityhttp.RenderError,
		Log: c.log.With("service", "identity"), Metrics: c.metrics})
	identityhttp.Register(srv, svc, c.cfg.OsloMiddleware.MaxRequestBodySize)
	srv.Handle("GET /metrics", c.metrics.Handler())
	c.Identity = svc
	c.serve(ln, srv)
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		svc.Run(runCtx, 2*time.Second)
	}()
	return nil
}

func (c *Cloud) listen(port int) (net.Listener, error) {
	addr := net.JoinHostPort(c.cfg.Default.BindHost, strconv.Itoa(port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	return ln, nil
}

// publicURL is the URL clients reach a listener at: my_ip and the bound port.
func (c *Cloud) publicURL(ln net.Listener) string {
	port := ln.Addr().(*net.TCPAddr).Port
	return c.cfg.Default.PublicScheme + "://" + net.JoinHostPort(c.cfg.Default.MyIP, strconv.Itoa(port))
}

func (c *Cloud) serve(ln net.Listener, h http.Handler) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second,
		ErrorLog: slog.NewLogLogger(c.log.Handler(), slog.LevelWarn)}
	c.servers = append(c.servers, srv)
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			c.errs <- fmt.Errorf("serve %s: %w", ln.Addr(), err)
		}
	}()
}

// Err delivers a fatal serving error.
func (c *Cloud) Err() <-chan error { return c.errs }

// Close stops the servers (letting requests in flight finish until ctx ends) and
// background work, then closes the databases.
func (c *Cloud) Close(ctx context.Context) error {
	var errs []error
	for _, s := range c.servers {
		if err := s.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if c.cancel != nil {
		c.cancel()
	}
	c.wg.Wait()
	// Closers run last-added first, as defers do: a service stops before the
	// stores it uses.
	for i := len(c.closers) - 1; i >= 0; i-- {
		if err := c.closers[i](); err != nil {
			errs = append(errs, err)
		}
	}
	for _, d := range c.dbs {
		if err := d.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
