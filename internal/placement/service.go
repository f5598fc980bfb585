// Package placement is the Placement service: resource providers and their
// inventories, traits and aggregates; resource classes; consumers' allocations
// and usages; and the search for allocation candidates. It holds placement's
// rules and writes each change in one store transaction; placementhttp speaks
// the REST API and placementsql keeps the rows.
package placement

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/auth"
)

// Config holds the options operators tune ([placement] names in comments).
type Config struct {
	// RandomizeCandidates samples allocation candidates at random when a
	// limit cuts them, and shuffles them otherwise
	// (randomize_allocation_candidates).
	RandomizeCandidates bool
	// MaxCandidates bounds the candidates generated per request; -1 or 0: no
	// bound (max_allocation_candidates).
	MaxCandidates int
	// BreadthFirst visits provider trees in turn rather than one after the
	// other (allocation_candidates_generation_strategy = breadth-first).
	BreadthFirst bool
	// IncompleteProjectID and IncompleteUserID stand in for the project and
	// user of allocations written before microversion 1.8.
	IncompleteProjectID, IncompleteUserID string
	// ConflictRetries is how often an allocation write is tried when a
	// provider generation changed under it (allocation_conflict_retry_count).
	ConflictRetries int
}

// Authorizer checks the caller in ctx against a named policy rule and target.
type Authorizer interface {
	Authorize(ctx context.Context, rule string, target map[string]any) error
}

// Service is the placement service.
type Service struct {
	cfg     Config
	store   Store
	authz   Authorizer
	log     *slog.Logger
	now     func() time.Time
	newUUID func() string
	shuffle func(n int, swap func(i, j int))
}

// Deps are the collaborators of a Service.
type Deps struct {
	Store Store
	// Authz checks policy; nil allows every authenticated caller.
	Authz Authorizer
	Log   *slog.Logger
	Now   func() time.Time
	// NewUUID makes provider uuids; default random.
	NewUUID func() string
	// Shuffle randomizes candidate order; default math/rand.
	Shuffle func(n int, swap func(i, j int))
}

// New returns a Service.
func New(cfg Config, d Deps) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.NewUUID == nil {
		d.NewUUID = NewUUID
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Shuffle == nil {
		d.Shuffle = mrand.Shuffle
	}
	if cfg.ConflictRetries < 1 {
		cfg.ConflictRetries = 10
	}
	if cfg.IncompleteProjectID == "" {
		cfg.IncompleteProjectID = "00000000-0000-0000-0000-000000000000"
	}
	if cfg.IncompleteUserID == "" {
		cfg.IncompleteUserID = cfg.IncompleteProjectID
	}
	return &Service{cfg: cfg, store: d.Store, authz: d.Authz, log: d.Log, now: d.Now,
		newUUID: d.NewUUID, shuffle: d.Shuffle}
}

// NewUUID returns a random UUID in canonical form.
func NewUUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("read random: %v", err))
	}
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// Sync makes sure the standard resource classes and traits exist; placement
// does this once at start.
func (s *Service) Sync(ctx context.Context) error {
	now := s.now()
	err := s.store.Update(ctx, func(tx Tx) error {
		return tx.SyncStandard(ctx, StandardResourceClasses, StandardTraits, now)
	})
	if err != nil {
		return fmt.Errorf("sync standard resource classes and traits: %w", err)
	}
	return nil
}

// authorize checks the policy rule with placement's default target: the
// caller's own project and user. A Service without an Authorizer allows every
// authenticated call.
func (s *Service) authorize(ctx context.Context, rule string) error {
	return s.authorizeTarget(ctx, rule, nil)
}

// authorizeTarget checks rule against target (the caller's project and user
// when nil).
func (s *Service) authorizeTarget(ctx context.Context, rule string, target map[string]any) error {
	c, ok := auth.FromContext(ctx)
	if !ok {
		return errorf(ErrUnauthorized, "The request you have made requires authentication.")
	}
	if s.authz == nil {
		return nil
	}
	if target == nil {
		target = map[string]any{"project_id": c.ProjectID, "user_id": c.UserID}
	}
	err := s.authz.Authorize(ctx, rule, target)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, auth.ErrForbidden):
		return errorf(ErrForbidden, "Policy does not allow %s to be performed.", rule)
	case errors.Is(err, auth.ErrUnauthorized):
		return errorf(ErrUnauthorized, "The request you have made requires authentication.")
	}
	return err
}

// Check authorizes the caller for a rule with the default target, so that
// the HTTP layer can refuse before reading a body, as placement does.
func (s *Service) Check(ctx context.Context, rule string) error {
	return s.authorize(ctx, rule)
}

// CheckProvider authorizes the caller for a rule and then checks that the
// provider exists (404 otherwise): placement's order before it reads a body.
func (s *Service) CheckProvider(ctx context.Context, rule, uuid string) error {
	if err := s.authorize(ctx, rule); err != nil {
		return err
	}
	_, err := s.provider(ctx, s.store.Reader(), uuid)
	return err
}

// notFoundAs turns a store's ErrNotFound into a client-facing error.
func notFoundAs(err error, kind error, format string, args ...any) error {
	if errors.Is(err, ErrNotFound) {
		return errorf(kind, format, args...)
	}
	return err
}

// provider reads the provider with uuid, or a 404 naming it.
func (s *Service) provider(ctx context.Context, r Reader, uuid string) (Provider, error) {
	p, err := r.Provider(ctx, uuid)
	if err != nil {
		return Provider{}, notFoundAs(err, ErrNotFound, "No resource provider with uuid %s found", uuid)
	}
	return p, nil
}

// lockProvider reads and locks one provider inside tx, or a 404 naming it.
func lockProvider(ctx context.Context, tx Tx, uuid string) (Provider, error) {
	ps, err := tx.LockProviders(ctx, []string{uuid})
	if err != nil {
		return Provider{}, err
	}
	if len(ps) == 0 {
		return Provider{}, errorf(ErrNotFound, "No resource provider with uuid %s found", uuid)
	}
	return ps[0], nil
}
