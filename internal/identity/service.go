package identity

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/auth"
	"github.com/nimbus-cloud/nimbus/internal/identity/fernet"
)

// Config holds the identity rules that operators tune.
type Config struct {
	// DefaultDomainID is the domain of bootstrap and of v2-style requests.
	DefaultDomainID string
	// TokenExpiration is a new token's lifetime.
	TokenExpiration time.Duration
	// AllowRescopeScopedToken lets a scoped token be exchanged for another scope.
	AllowRescopeScopedToken bool
	// AllowExpiredWindow is how long after expiry a service may still validate a
	// token with allow_expired.
	AllowExpiredWindow time.Duration
	// MaxPasswordLength bounds passwords, as keystone's [identity] max_password_length.
	MaxPasswordLength int
	// ListLimit truncates lists (keystone's list_limit); 0: no limit.
	ListLimit int
	// AdminProjectName and AdminProjectDomainName name the cloud's admin project,
	// whose tokens carry is_admin_project.
	AdminProjectName, AdminProjectDomainName string
	// Compliance holds keystone's [security_compliance] rules.
	Compliance ComplianceConfig
	// AllowRedelegation and MaxRedelegationCount are keystone's [trust] options.
	AllowRedelegation    bool
	MaxRedelegationCount int
}

// ComplianceConfig is keystone's [security_compliance]: lockout, password
// history, age and expiry rules. Zero values switch each rule off.
type ComplianceConfig struct {
	LockoutFailureAttempts     int
	LockoutDuration            time.Duration
	UniqueLastPasswordCount    int
	MinimumPasswordAge         time.Duration
	PasswordExpires            time.Duration
	ChangePasswordUponFirstUse bool
	PasswordRegex              string
	PasswordRegexDescription   string
}

// PasswordHasher hashes and checks passwords (bcrypt in production).
type PasswordHasher interface {
	Hash(password string) (string, error)
	// Compare returns nil when password matches hash.
	Compare(hash, password string) error
}

// TokenFormat issues and opens tokens (Fernet in production).
type TokenFormat interface {
	Issue(p fernet.Payload) (string, error)
	// Validate returns fernet.ErrInvalidToken or fernet.ErrTokenExpired (wrapped)
	// for tokens it refuses; with ErrTokenExpired it returns the payload too.
	Validate(token string) (fernet.Payload, error)
	// KeyGeneration changes whenever the signing keys change.
	KeyGeneration() uint64
}

// Authorizer checks the caller in ctx against a named policy rule and target.
type Authorizer interface {
	Authorize(ctx context.Context, rule string, target map[string]any) error
}

// Service is the identity service: every rule of keystone's v3 API.
type Service struct {
	cfg    Config
	store  Store
	tokens TokenFormat
	hasher PasswordHasher
	authz  Authorizer
	creds  CredentialCipher
	log    *slog.Logger
	now    func() time.Time
	newID  func() string

	revocations *revocationIndex
	cache       *tokenCache
	catalog     atomic.Pointer[Catalog]
}

// Deps are the collaborators of a Service.
type Deps struct {
	Store  Store
	Tokens TokenFormat
	Hasher PasswordHasher
	Authz  Authorizer
	// Credentials seals the blobs of credentials at rest; without it the
	// credential APIs fail.
	Credentials CredentialCipher
	Log         *slog.Logger
	// Now and NewID default to the wall clock and random 32-hex ids.
	Now   func() time.Time
	NewID func() string
}

// New returns a Service. Call Start to load revocation events before serving.
func New(cfg Config, d Deps) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.NewID == nil {
		d.NewID = NewID
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.DefaultDomainID == "" {
		cfg.DefaultDomainID = "default"
	}
	if cfg.TokenExpiration <= 0 {
		cfg.TokenExpiration = time.Hour
	}
	if cfg.MaxPasswordLength <= 0 {
		cfg.MaxPasswordLength = 4096
	}
	return &Service{cfg: cfg, store: d.Store, tokens: d.Tokens, hasher: d.Hasher, authz: d.Authz,
		creds: d.Credentials, log: d.Log, now: d.Now, newID: d.NewID,
		revocations: newRevocationIndex(), cache: newTokenCache(4096)}
}

// NewID returns a keystone-style id: 32 lowercase hex digits of a random UUID.
func NewID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("read random: %v", err))
	}
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	return hex.EncodeToString(b[:])
}

// Config returns the service's configuration.
func (s *Service) Config() Config { return s.cfg }

// authorize checks the caller against rule, with target as keystone builds it
// ({"target": {...}} plus any flat keys), and returns ErrForbidden naming the rule.
func (s *Service) authorize(ctx context.Context, rule string, target map[string]any) error {
	if s.authz == nil {
		return nil
	}
	err := s.authz.Authorize(ctx, rule, target)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, auth.ErrUnauthorized):
		return &Error{Kind: ErrUnauthorized, Message: "The request you have made requires authentication."}
	case errors.Is(err, auth.ErrForbidden):
		return &Error{Kind: ErrForbidden, Message: "You are not authorized to perform the requested action: " + rule + "."}
	}
	return err
}

// caller returns the authenticated caller, or ErrUnauthorized.
func caller(ctx context.Context) (*auth.Caller, error) {
	c, ok := auth.FromContext(ctx)
	if !ok {
		return nil, &Error{Kind: ErrUnauthorized, Message: "The request you have made requires authentication."}
	}
	return c, nil
}

// changed drops everything derived from identity rows (cached tokens, the
// catalog). Every successful write calls it.
func (s *Service) changed() {
	s.cache.clear()
	s.catalog.Store(nil)
}

// ValidateCaller implements auth.Validator for services in this process.
func (s *Service) ValidateCaller(ctx context.Context, token string) (*auth.Caller, error) {
	v, err := s.validate(ctx, token, false)
	if err != nil {
		return nil, err
	}
	return v.caller, nil
}
