package authhttp

import (
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"

	"github.com/nimbus-cloud/nimbus/internal/auth"
)

// RemoteConfig says how a service that runs apart from identity validates tokens,
// as keystonemiddleware's [keystone_authtoken] does.
type RemoteConfig struct {
	AuthURL                           string
	Username, Password                string
	ProjectName                       string
	UserDomainName, ProjectDomainName string
	// CacheTime bounds how long a validated token is trusted without asking
	// identity again; revocations evict entries sooner.
	CacheTime time.Duration
	// CacheSize bounds the number of cached tokens.
	CacheSize int
	// RevocationPoll is how often identity's revocation events are read.
	RevocationPoll time.Duration
	Log            *slog.Logger
}

// RemoteValidator validates tokens through identity's GET /v3/auth/tokens with a
// service token, keeping a bounded cache whose entries die when identity records
// any revocation.
type RemoteValidator struct {
	cfg    RemoteConfig
	client *gophercloud.ServiceClient
	now    func() time.Time

	mu      sync.RWMutex
	entries map[[32]byte]remoteEntry
	since   time.Time
}

type remoteEntry struct {
	caller  *auth.Caller
	expires time.Time
}

// NewRemoteValidator authenticates the service user and returns a validator.
func NewRemoteValidator(ctx context.Context, cfg RemoteConfig) (*RemoteValidator, error) {
	if cfg.CacheTime <= 0 {
		cfg.CacheTime = 300 * time.Second
	}
	if cfg.CacheSize <= 0 {
		cfg.CacheSize = 10000
	}
	if cfg.RevocationPoll <= 0 {
		cfg.RevocationPoll = 5 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	pc, err := openstack.AuthenticatedClient(ctx, gophercloud.AuthOptions{
		IdentityEndpoint: cfg.AuthURL, Username: cfg.Username, Password: cfg.Password,
		DomainName: cfg.UserDomainName, AllowReauth: true,
		Scope: &gophercloud.AuthScope{ProjectName: cfg.ProjectName, DomainName: cfg.ProjectDomainName},
	})
	if err != nil {
		return nil, fmt.Errorf("authenticate service user %s at %s: %w", cfg.Username, cfg.AuthURL, err)
	}
	client, err := openstack.NewIdentityV3(pc, gophercloud.EndpointOpts{})
	if err != nil {
		return nil, fmt.Errorf("identity client: %w", err)
	}
	return &RemoteValidator{cfg: cfg, client: client, now: time.Now,
		entries: map[[32]byte]remoteEntry{}, since: time.Now().UTC()}, nil
}

// ValidateToken returns the caller of token, from the cache or from identity.
func (v *RemoteValidator) ValidateToken(ctx context.Context, token string) (*auth.Caller, error) {
	key := sha256.Sum256([]byte(token))
	now := v.now()
	v.mu.RLock()
	e, ok := v.entries[key]
	v.mu.RUnlock()
	if ok && now.Before(e.expires) {
		return e.caller, nil
	}
	c, err := v.fetch(ctx, token)
	if err != nil {
		return nil, err
	}
	exp := now.Add(v.cfg.CacheTime)
	if c.ExpiresAt.Before(exp) {
		exp = c.ExpiresAt
	}
	v.mu.Lock()
	if len(v.entries) >= v.cfg.CacheSize {
		for k := range v.entries { // map order is random: evict an arbitrary tenth
			delete(v.entries, k)
			if len(v.entries) < v.cfg.CacheSize*9/10 {
				break
			}
		}
	}
	v.entries[key] = remoteEntry{caller: c, expires: exp}
	v.mu.Unlock()
	return c, nil
}

// tokenBody is the part of keystone's token document a caller is built from.
type tokenBody struct {
	Methods   []string  `json:"methods"`
	AuditIDs  []string  `json:"audit_ids"`
	ExpiresAt time.Time `json:"expires_at"`
	IssuedAt  time.Time `json:"issued_at"`
	User      struct {
		ID, Name string
		Domain   struct{ ID, Name string } `json:"domain"`
	} `json:"user"`
	Project *struct {
		ID, Name string
		Domain   struct{ ID, Name string } `json:"domain"`
	} `json:"project"`
	Domain *struct{ ID, Name string } `json:"domain"`
	System *struct {
		All bool `json:"all"`
	} `json:"system"`
	Roles          []struct{ ID, Name string } `json:"roles"`
	IsAdminProject *bool                       `json:"is_admin_project"`
	AppCred        *struct {
		ID          string
		AccessRules []struct{ Service, Path, Method string } `json:"access_rules"`
	} `json:"application_credential"`
}

func (v *RemoteValidator) fetch(ctx context.Context, token string) (*auth.Caller, error) {
	res := tokens.Get(ctx, v.client, token)
	if res.Err != nil {
		if gophercloud.ResponseCodeIs(res.Err, http.StatusNotFound) || gophercloud.ResponseCodeIs(res.Err, http.StatusUnauthorized) {
			return nil, auth.ErrUnauthorized
		}
		return nil, fmt.Errorf("validate token with identity: %w", res.Err)
	}
	var t tokenBody
	if err := res.ExtractInto(&t); err != nil { // ExtractInto descends into "token"
		return nil, fmt.Errorf("decode token from identity: %w", err)
	}
	c := &auth.Caller{Token: token, UserID: t.User.ID, UserName: t.User.Name, UserDomainID: t.User.Domain.ID,
		UserDomainName: t.User.Domain.Name, Methods: t.Methods, AuditIDs: t.AuditIDs,
		ExpiresAt: t.ExpiresAt, IssuedAt: t.IssuedAt, IsAdminProject: t.IsAdminProject != nil && *t.IsAdminProject}
	if t.Project != nil {
		c.ProjectID, c.ProjectName = t.Project.ID, t.Project.Name
		c.ProjectDomainID, c.ProjectDomainName = t.Project.Domain.ID, t.Project.Domain.Name
	}
	if t.Domain != nil {
		c.DomainID, c.DomainName = t.Domain.ID, t.Domain.Name
	}
	if t.System != nil && t.System.All {
		c.System = "all"
	}
	if t.AppCred != nil {
		c.AppCredID = t.AppCred.ID
		for _, r := range t.AppCred.AccessRules {
			c.AccessRules = append(c.AccessRules, auth.AccessRule{Service: r.Service, Path: r.Path, Method: r.Method})
		}
	}
	for _, r := range t.Roles {
		c.Roles = append(c.Roles, auth.Role{ID: r.ID, Name: r.Name})
	}
	return c, nil
}

// Run polls identity's revocation events until ctx ends, dropping every cached
// token whenever a new event appears.
func (v *RemoteValidator) Run(ctx context.Context) {
	tick := time.NewTicker(v.cfg.RevocationPoll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if err := v.poll(ctx); err != nil && ctx.Err() == nil {
			v.cfg.Log.Warn("read revocation events; dropping the token cache to stay safe", "error", err)
			v.clear()
		}
	}
}

type revokeEvents struct {
	Events []struct {
		RevokedAt time.Time `json:"revoked_at"`
	} `json:"events"`
}

func (v *RemoteValidator) poll(ctx context.Context) error {
	v.mu.RLock()
	since := v.since
	v.mu.RUnlock()
	u := v.client.ServiceURL("OS-REVOKE", "events") + "?since=" + url.QueryEscape(since.Format(time.RFC3339Nano))
	var out revokeEvents
	_, err := v.client.Get(ctx, u, &out, &gophercloud.RequestOpts{OkCodes: []int{http.StatusOK}})
	if err != nil {
		return err
	}
	latest := since
	for _, e := range out.Events {
		if e.RevokedAt.After(latest) {
			latest = e.RevokedAt
		}
	}
	if latest.After(since) {
		v.mu.Lock()
		v.since = latest
		clear(v.entries)
		v.mu.Unlock()
	}
	return nil
}

func (v *RemoteValidator) clear() {
	v.mu.Lock()
	clear(v.entries)
	v.mu.Unlock()
}
