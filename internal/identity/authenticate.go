package identity

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/nimbus-cloud/nimbus/internal/identity/fernet"
)

// AuthRequest is the body of POST /v3/auth/tokens in domain terms.
type AuthRequest struct {
	Methods  []string
	Password *PasswordMethod
	Token    *TokenMethod
	AppCred  *AppCredMethod
	Scope    Scope
}

// PasswordMethod names a user by id, or by name and domain, with a password.
type PasswordMethod struct {
	UserID, UserName             string
	UserDomainID, UserDomainName string
	Password                     string
}

// TokenMethod exchanges an existing token for a new one (usually to scope it).
type TokenMethod struct {
	ID string
}

// AppCredMethod names an application credential by id, or by name and user.
type AppCredMethod struct {
	ID, Name                     string
	UserID, UserName             string
	UserDomainID, UserDomainName string
	Secret                       string
}

// Scope is the requested scope; the zero Scope means "the user's default project,
// else unscoped".
type Scope struct {
	ProjectID, ProjectName             string
	ProjectDomainID, ProjectDomainName string
	DomainID, DomainName               string
	System                             bool
	// TrustID scopes the token to a trust (OS-TRUST): its project and roles.
	TrustID string
	// Unscoped asks for an unscoped token even when the user has a default project.
	Unscoped bool
}

func (sc Scope) empty() bool {
	return sc == Scope{}
}

// authFailed is keystone's answer to any bad credential: it never says whether the
// user exists or which part was wrong.
func authFailed() error {
	return unauthorized("The request you have made requires authentication.")
}

// Authenticate checks the credentials of req and issues a token for its scope.
func (s *Service) Authenticate(ctx context.Context, req AuthRequest) (*Token, error) {
	if len(req.Methods) == 0 {
		return nil, invalid("Expecting to find identity in auth - the server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.")
	}
	var (
		user    *User
		base    *Token // the token being exchanged, if any
		appCred *ApplicationCredential
		methods []string
	)
	agree := func(u *User) error {
		if user != nil && user.ID != u.ID {
			return unauthorized("The methods of the request authenticate different users.")
		}
		user = u
		return nil
	}
	for _, m := range req.Methods {
		var (
			u   *User
			err error
		)
		switch m {
		case "password":
			u, err = s.checkPassword(ctx, req.Password)
		case "token":
			base, err = s.checkTokenMethod(ctx, req.Token)
			if err == nil {
				u = &base.User
			}
		case "application_credential":
			appCred, u, err = s.checkAppCred(ctx, req.AppCred)
		default:
			return nil, unauthorized("Attempted to authenticate with an unsupported method.")
		}
		if err != nil {
			return nil, err
		}
		if err := agree(u); err != nil {
			return nil, err
		}
		methods = appendUnique(methods, m)
	}
	if base != nil {
		for _, m := range base.Methods {
			methods = appendUnique(methods, m)
		}
	}
	return s.issue(ctx, issueRequest{user: user, methods: methods, scope: req.Scope, base: base, appCred: appCred})
}

func appendUnique(list []string, v string) []string {
	if slices.Contains(list, v) {
		return list
	}
	return append(list, v)
}

var (
	dummyHashOnce sync.Once
	dummyHash     string
)

// equalizeTiming spends as long as a real password check would, so a response's
// timing does not tell whether a user exists.
func (s *Service) equalizeTiming(password string) {
	dummyHashOnce.Do(func() {
		var b [16]byte
		_, _ = rand.Read(b[:])
		dummyHash, _ = s.hasher.Hash(base64.RawStdEncoding.EncodeToString(b[:]))
	})
	_ = s.hasher.Compare(dummyHash, password)
}

func (s *Service) checkPassword(ctx context.Context, pm *PasswordMethod) (*User, error) {
	if pm == nil {
		return nil, invalid("Expecting to find password in identity.")
	}
	if pm.UserID == "" && pm.UserName == "" {
		return nil, invalid("Expecting to find user id or user name in password.")
	}
	if len(pm.Password) > s.cfg.MaxPasswordLength {
		return nil, authFailed()
	}
	u, err := s.findUser(ctx, pm.UserID, pm.UserName, pm.UserDomainID, pm.UserDomainName)
	if err != nil {
		if errors.Is(err, ErrNotFound) || errors.Is(err, ErrValidation) {
			s.equalizeTiming(pm.Password)
			if errors.Is(err, ErrValidation) {
				return nil, err
			}
			return nil, authFailed()
		}
		return nil, err
	}
	// Lockout and failed-check counting as keystone's [security_compliance].
	failures, err := s.verifyPassword(ctx, u, pm.Password)
	if err != nil {
		return nil, err
	}
	if err := s.checkUserUsable(ctx, u); err != nil {
		return nil, err
	}
	if s.isPasswordExpired(u) {
		return nil, passwordExpired(u.ID)
	}
	if err := s.clearFailedAuth(ctx, u.ID, failures); err != nil {
		return nil, err
	}
	return u, nil
}

// findUser resolves a user by id, or by name within a domain named by id or name.
func (s *Service) findUser(ctx context.Context, id, name, domainID, domainName string) (*User, error) {
	if id != "" {
		u, err := s.store.GetUser(ctx, id)
		if err != nil {
			return nil, err
		}
		return &u, nil
	}
	if domainID == "" && domainName == "" {
		return nil, invalid("Expecting to find domain in user.")
	}
	if domainID == "" {
		d, err := s.store.GetDomainByName(ctx, domainName)
		if err != nil {
			return nil, err
		}
		domainID = d.ID
	}
	u, err := s.store.GetUserByName(ctx, domainID, name)
	if err != nil {
		return nil, err
	}
	return &u, nil
}

// checkUserUsable refuses disabled users and users of disabled domains.
func (s *Service) checkUserUsable(ctx context.Context, u *User) error {
	if !u.Enabled {
		s.log.Info("authentication refused: user disabled", "user_id", u.ID)
		return authFailed()
	}
	d, err := s.store.GetDomain(ctx, u.DomainID)
	if err != nil {
		return fmt.Errorf("get domain of user %s: %w", u.ID, err)
	}
	if !d.Enabled {
		s.log.Info("authentication refused: domain disabled", "user_id", u.ID, "domain_id", d.ID)
		return authFailed()
	}
	return nil
}

func (s *Service) checkTokenMethod(ctx context.Context, tm *TokenMethod) (*Token, error) {
	if tm == nil || tm.ID == "" {
		return nil, invalid("Expecting to find token in identity.")
	}
	t, err := s.ValidateToken(ctx, tm.ID, false)
	if errorsIsUnauthorized(err) {
		// Keystone answers a bad token in the token method with 404.
		return nil, &Error{Kind: ErrNotFound, Message: "Could not find token."}
	}
	if err != nil {
		return nil, err
	}
	if t.AppCred != nil {
		return nil, forbidden("Application credential tokens cannot be rescoped.")
	}
	return t, nil
}

func (s *Service) checkAppCred(ctx context.Context, am *AppCredMethod) (*ApplicationCredential, *User, error) {
	if am == nil || am.Secret == "" {
		return nil, nil, invalid("Expecting to find application_credential with a secret in identity.")
	}
	var ac ApplicationCredential
	var err error
	switch {
	case am.ID != "":
		ac, err = s.store.GetApplicationCredential(ctx, am.ID)
	case am.Name != "" && (am.UserID != "" || am.UserName != ""):
		var u *User
		if u, err = s.findUser(ctx, am.UserID, am.UserName, am.UserDomainID, am.UserDomainName); err == nil {
			var list []ApplicationCredential
			if list, err = s.store.ListApplicationCredentials(ctx, u.ID, am.Name); err == nil {
				if len(list) == 0 {
					err = ErrNotFound
				} else {
					ac = list[0]
				}
			}
		}
	default:
		return nil, nil, invalid("Expecting to find application_credential id, or name and user.")
	}
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			s.equalizeTiming(am.Secret)
			return nil, nil, authFailed()
		}
		return nil, nil, err
	}
	if s.hasher.Compare(ac.SecretHash, am.Secret) != nil {
		return nil, nil, authFailed()
	}
	if !ac.ExpiresAt.IsZero() && !s.now().Before(ac.ExpiresAt) {
		return nil, nil, unauthorized("Application credential %s has expired.", ac.ID)
	}
	u, err := s.store.GetUser(ctx, ac.UserID)
	if err != nil {
		return nil, nil, lookup(err, "user", ac.UserID)
	}
	if err := s.checkUserUsable(ctx, &u); err != nil {
		return nil, nil, err
	}
	return &ac, &u, nil
}

// issueRequest is an authenticated user asking for a token with a scope.
type issueRequest struct {
	user    *User
	methods []string
	scope   Scope
	base    *Token
	appCred *ApplicationCredential
}

func (s *Service) issue(ctx context.Context, r issueRequest) (*Token, error) {
	now := s.now().UTC()
	t := &Token{Methods: r.methods, User: *r.user, IssuedAt: now, ExpiresAt: now.Add(s.cfg.TokenExpiration), AppCred: r.appCred}
	audit := newAuditID()
	t.AuditIDs = []string{audit}
	if r.base != nil {
		// A token from a token keeps its parent's lifetime and audit chain.
		t.ExpiresAt = r.base.ExpiresAt
		t.AuditIDs = []string{audit, r.base.AuditIDs[len(r.base.AuditIDs)-1]}
		if r.base.Trust != nil {
			return nil, forbidden("You are not authorized to perform the requested action: Using trust-scoped token to create another token. Create a new trust-scoped token instead.")
		}
		if r.base.Scoped() && !s.cfg.AllowRescopeScopedToken {
			return nil, forbidden("Rescoping a scoped token is not allowed.")
		}
	}
	if r.appCred != nil {
		if !r.scope.empty() && r.scope.ProjectID != r.appCred.ProjectID {
			return nil, unauthorized("Application credentials cannot request a scope.")
		}
		r.scope = Scope{ProjectID: r.appCred.ProjectID}
		if !r.appCred.ExpiresAt.IsZero() && r.appCred.ExpiresAt.Before(t.ExpiresAt) {
			t.ExpiresAt = r.appCred.ExpiresAt
		}
	}
	if err := s.resolveScope(ctx, t, r.scope); err != nil {
		return nil, err
	}
	if err := s.fill(ctx, t); err != nil {
		return nil, err
	}
	if t.Scoped() && len(t.Roles) == 0 {
		return nil, unauthorized("User %s has no access to the requested scope.", t.User.ID)
	}
	p := fernet.Payload{UserID: t.User.ID, Methods: t.Methods, System: t.System,
		ExpiresAt: t.ExpiresAt, IssuedAt: t.IssuedAt, AuditIDs: t.AuditIDs}
	if t.Project != nil {
		p.ProjectID = t.Project.ID
	}
	if t.Domain != nil {
		p.DomainID = t.Domain.ID
	}
	if t.AppCred != nil {
		p.AppCredID = t.AppCred.ID
	}
	if t.Trust != nil {
		// The payload names the authenticated trustee, as keystone's does.
		p.UserID, p.TrustID = t.Trust.TrusteeUserID, t.Trust.ID
	}
	id, err := s.tokens.Issue(p)
	if err != nil {
		return nil, fmt.Errorf("issue token: %w", err)
	}
	if err := s.consumeTrustUse(ctx, t.Trust); err != nil {
		return nil, err
	}
	t.ID = id
	return t, nil
}

func newAuditID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("read random: %v", err))
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}
