package compute

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/nimbus-cloud/nimbus/internal/auth"
)

// Config holds the compute rules operators tune (nova's option names in
// comments).
type Config struct {
	// DefaultAvailabilityZone is default_availability_zone ("nova").
	DefaultAvailabilityZone string
	// InternalAvailabilityZone is internal_service_availability_zone
	// ("internal"), never listed to users.
	InternalAvailabilityZone string
	// MaxLimit is [api] max_limit: the largest page of a list.
	MaxLimit int
	// Quota holds the [quota] defaults, by quota resource name
	// ("instances", "injected_file_path_bytes", ...). Resources missing here
	// default to -1 (unlimited).
	Quota map[string]int
	// DefaultScheduleZone is default_schedule_zone: the zone of servers
	// created without one ("" lets the scheduler choose any).
	DefaultScheduleZone string
	// HideInstancePassword is the opposite of [api]
	// enable_instance_password: when set, responses carry no adminPass.
	HideInstancePassword bool
}

// Authorizer checks the caller in ctx against a named policy rule and target.
type Authorizer interface {
	Authorize(ctx context.Context, rule string, target map[string]any) error
}

// ProjectChecker tells whether a project exists, as nova asks identity before
// it accepts a project id (identity.verify_project_id). It answers true when
// it cannot tell, as nova does when identity refuses or fails.
type ProjectChecker interface {
	ProjectExists(ctx context.Context, projectID string) (bool, error)
}

// UsageCounter counts what a project, or one user of it, consumes of the
// countable quota resources it knows (instances, cores, ram, server_groups).
// The servers and server groups of later releases provide them.
type UsageCounter interface {
	// Usage returns the counts by resource name; userID "" counts the whole
	// project.
	Usage(ctx context.Context, projectID, userID string) (map[string]int, error)
}

// KeyGenerator makes a key pair of type kind ("ssh" or "x509") for a user and
// returns the private key as the API returns it, the public key and its
// fingerprint.
type KeyGenerator func(kind, userID string) (private, public, fingerprint string, err error)

// Service is the compute API service.
type Service struct {
	cfg      Config
	store    Store
	authz    Authorizer
	projects ProjectChecker
	counters []UsageCounter
	services ServiceDirectory
	group    ServiceAdmin
	genKey   KeyGenerator
	inst     InstanceStore
	cond     Conductor
	images   ImageService
	consoles ConsoleTokens
	log      *slog.Logger
	now      func() time.Time
	newID    func() string
	random   io.Reader
	// placementAggregates is nil when membership is not mirrored.
	placementAggregates PlacementAggregates
	// placementProviders is nil when deleted hosts' providers stay.
	placementProviders PlacementProviders
	// aggregatesVersion counts the changes of aggregates in this process.
	aggregatesVersion atomic.Uint64
}

// Deps are the collaborators of a Service.
type Deps struct {
	Store Store
	// Authz enforces nova's policy; nil allows every authenticated caller.
	Authz Authorizer
	// Projects checks project ids; nil accepts every id.
	Projects ProjectChecker
	// Counters count usage for quotas and limits; with none, every countable
	// resource is unused.
	Counters []UsageCounter
	// Services lists the cloud's services for the availability zone list;
	// nil lists the default zone alone.
	Services ServiceDirectory
	// ServiceAdmin manages the service group (os-services, os-hypervisors);
	// nil serves neither.
	ServiceAdmin ServiceAdmin
	// GenerateKey makes key pairs; nil uses GenerateKeyPair with crypto/rand.
	GenerateKey KeyGenerator
	// Conductor carries out server operations. Without one (and Images)
	// the service has no servers: ServesServers is false.
	Conductor Conductor
	// Images is the image service servers boot from and snapshot into.
	Images ImageService
	// PlacementAggregates mirrors host aggregate membership into
	// placement; nil mirrors nothing.
	PlacementAggregates PlacementAggregates
	// PlacementProviders removes the resource providers of deleted compute
	// services; nil leaves them.
	PlacementProviders PlacementProviders
	Log                *slog.Logger
	Now                func() time.Time
	// NewID returns the id of a flavor created without one and of new
	// servers; nil: random UUIDs.
	NewID func() string
	// Random feeds generated passwords and reservation ids; nil:
	// crypto/rand.
	Random io.Reader

	// ConsoleTokens looks console auth tokens up (consoleauth.go); nil
	// knows none.
	ConsoleTokens ConsoleTokens
}

// New returns a Service.
func New(cfg Config, d Deps) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.NewID == nil {
		d.NewID = uuid.NewString
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.GenerateKey == nil {
		d.GenerateKey = func(kind, userID string) (string, string, string, error) {
			return GenerateKeyPair(rand.Reader, kind, userID, d.Now())
		}
	}
	if cfg.MaxLimit <= 0 {
		cfg.MaxLimit = 1000
	}
	if cfg.DefaultAvailabilityZone == "" {
		cfg.DefaultAvailabilityZone = "nova"
	}
	if cfg.InternalAvailabilityZone == "" {
		cfg.InternalAvailabilityZone = "internal"
	}
	if d.Random == nil {
		d.Random = rand.Reader
	}
	counters := d.Counters
	is, _ := d.Store.(InstanceStore)
	if is != nil {
		counters = append(slices.Clone(counters), instanceCounter{is})
	}
	return &Service{cfg: cfg, store: d.Store, inst: is, authz: d.Authz, projects: d.Projects, counters: counters,
		services: d.Services, group: d.ServiceAdmin, genKey: d.GenerateKey, cond: d.Conductor, images: d.Images, log: d.Log, now: d.Now,
		newID: d.NewID, random: d.Random, consoles: d.ConsoleTokens, placementAggregates: d.PlacementAggregates,
		placementProviders: d.PlacementProviders}
}

// ServesServers reports whether the service has what servers need: a
// conductor to carry operations out and an image service to boot from.
// Without them the servers API is not offered at all.
func (s *Service) ServesServers() bool {
	return s.inst != nil && s.cond != nil && s.images != nil
}

// MaxLimit is the largest page a list returns (nova's [api] max_limit).
func (s *Service) MaxLimit() int { return s.cfg.MaxLimit }

// caller returns the authenticated caller, or ErrUnauthorized.
func caller(ctx context.Context) (*auth.Caller, error) {
	c, ok := auth.FromContext(ctx)
	if !ok {
		return nil, errorf(ErrUnauthorized, "The request you have made requires authentication.")
	}
	return c, nil
}

// callerTarget is the target nova's context.can uses when an API names none:
// the caller's project and user.
func callerTarget(c *auth.Caller) map[string]any {
	return map[string]any{"project_id": c.ProjectID, "user_id": c.UserID}
}

// authorize checks rule against target, answering nova's 403 message. A
// Service without an Authorizer allows every authenticated caller.
func (s *Service) authorize(ctx context.Context, rule string, target map[string]any) error {
	if _, err := caller(ctx); err != nil {
		return err
	}
	if s.authz == nil {
		return nil
	}
	err := s.authz.Authorize(ctx, rule, target)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, auth.ErrForbidden):
		return errorf(ErrForbidden, "Policy doesn't allow %s to be performed.", rule)
	case errors.Is(err, auth.ErrUnauthorized):
		return errorf(ErrUnauthorized, "The request you have made requires authentication.")
	}
	return fmt.Errorf("authorize %s: %w", rule, err)
}

// allowed reports whether rule allows the caller on the default target,
// nova's context.can(rule, fatal=False).
func (s *Service) allowed(ctx context.Context, rule string) bool {
	c, err := caller(ctx)
	if err != nil {
		return false
	}
	return s.authorize(ctx, rule, callerTarget(c)) == nil
}

// isAdmin is nova's context.is_admin: the caller passes context_is_admin.
func (s *Service) isAdmin(ctx context.Context) bool { return s.allowed(ctx, RuleContextIsAdmin) }

// verifyProject refuses a project id identity does not know, with nova's
// message; when the check itself fails the id is accepted, as nova does.
func (s *Service) verifyProject(ctx context.Context, projectID string) error {
	if s.projects == nil {
		return nil
	}
	ok, err := s.projects.ProjectExists(ctx, projectID)
	if err != nil {
		s.log.WarnContext(ctx, "could not verify project id; accepting it", "project_id", projectID, "error", err)
		return nil
	}
	if !ok {
		return errorf(ErrInvalid, "Project ID %s is not a valid project.", projectID)
	}
	return nil
}
