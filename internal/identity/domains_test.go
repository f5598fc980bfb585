package identity_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/auth"
	"github.com/nimbus-cloud/nimbus/internal/db"
	"github.com/nimbus-cloud/nimbus/internal/db/dbtest"
	"github.com/nimbus-cloud/nimbus/internal/identity"
	"github.com/nimbus-cloud/nimbus/internal/identity/fernet"
	"github.com/nimbus-cloud/nimbus/internal/identity/identitysql"
)

// crudAuthz is a fake Authorizer: it allows every rule but those in deny, and
// records the target of each rule it was asked about.
type crudAuthz struct {
	mu      sync.Mutex
	deny    map[string]bool
	targets map[string]map[string]any
}

// Authorize records the target and refuses denied rules and missing callers.
func (a *crudAuthz) Authorize(ctx context.Context, rule string, target map[string]any) error {
	if _, ok := auth.FromContext(ctx); !ok {
		return auth.ErrUnauthorized
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.targets[rule] = target
	if a.deny[rule] {
		return auth.ErrForbidden
	}
	return nil
}

func (a *crudAuthz) denyRule(rule string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.deny[rule] = true
}

func (a *crudAuthz) target(rule string) map[string]any {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.targets[rule]
}

// crudHasher is a cheap, reversible stand-in for bcrypt.
type crudHasher struct{}

// Hash returns a readable stand-in for a hash.
func (crudHasher) Hash(pw string) (string, error) { return "hashed:" + pw, nil }

// Compare matches a password against Hash's output.
func (crudHasher) Compare(hash, pw string) error {
	if hash != "hashed:"+pw {
		return errors.New("password mismatch")
	}
	return nil
}

// crudTokens is a fake token format that keeps payloads in memory.
type crudTokens struct {
	mu sync.Mutex
	m  map[string]fernet.Payload
}

// Issue stores the payload under a new token id.
func (c *crudTokens) Issue(p fernet.Payload) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	id := fmt.Sprintf("token-%d", len(c.m))
	c.m[id] = p
	return id, nil
}

// Validate returns the payload of a token Issue made.
func (c *crudTokens) Validate(token string) (fernet.Payload, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.m[token]
	if !ok {
		return fernet.Payload{}, fernet.ErrInvalidToken
	}
	return p, nil
}

// KeyGeneration is constant: the fake has no keys to rotate.
func (c *crudTokens) KeyGeneration() uint64 { return 0 }

// crudEnv is an identity service on a fresh SQLite database, bootstrapped with
// the default domain, the admin/member/reader roles and the admin user.
type crudEnv struct {
	svc   *identity.Service
	store *identitysql.Store
	authz *crudAuthz
	// admin is a context whose caller is the admin on the admin project.
	admin   context.Context
	boot    identity.BootstrapResult
	roleIDs map[string]string
}

const crudAdminPassword = "admin-secret"

func newCrudEnv(t *testing.T) *crudEnv {
	t.Helper()
	ctx := context.Background()
	d := dbtest.Open(t, db.SQLite)
	ms, err := identitysql.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Migrate(ctx, d, identitysql.ServiceName, ms); err != nil {
		t.Fatal(err)
	}
	// The clock moves a second per reading, so a token issued after a
	// revocation is always newer than it.
	var mu sync.Mutex
	clock := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	now := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		clock = clock.Add(time.Second)
		return clock
	}
	e := &crudEnv{store: identitysql.New(d), authz: &crudAuthz{deny: map[string]bool{}, targets: map[string]map[string]any{}}}
	e.svc = identity.New(identity.Config{MaxPasswordLength: 64}, identity.Deps{Store: e.store,
		Tokens: &crudTokens{m: map[string]fernet.Payload{}}, Hasher: crudHasher{}, Authz: e.authz, Now: now})
	if e.boot, err = e.svc.Bootstrap(ctx, identity.BootstrapOptions{AdminPassword: crudAdminPassword}); err != nil {
		t.Fatalf("bootstrap: %v", err)
	}
	e.roleIDs = map[string]string{}
	roles, err := e.store.ListRoles(ctx, identity.RoleFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range roles {
		e.roleIDs[r.Name] = r.ID
	}
	e.admin = auth.WithCaller(ctx, &auth.Caller{UserID: e.boot.AdminUserID, UserDomainID: "default",
		ProjectID: e.boot.AdminProjectID, ProjectDomainID: "default", Roles: []auth.Role{{Name: "admin"}}})
	return e
}

// as returns a context whose caller is the user, scoped to a domain ("" for none).
func (e *crudEnv) as(userID, domainID string) context.Context {
	return auth.WithCaller(context.Background(), &auth.Caller{UserID: userID, UserDomainID: "default",
		DomainID: domainID, Roles: []auth.Role{{Name: "admin"}}})
}

// grant gives the actor the member role on a target straight in the store.
func (e *crudEnv) grant(t *testing.T, typ identity.AssignmentType, actor, target string, inherited bool) {
	t.Helper()
	a := identity.Assignment{Type: typ, ActorID: actor, TargetID: target, RoleID: e.roleIDs["member"], Inherited: inherited}
	if err := e.store.CreateAssignment(context.Background(), a); err != nil {
		t.Fatal(err)
	}
}

// login authenticates with a password and scopes to a project ("" for none).
func (e *crudEnv) login(userID, password, projectID string) (*identity.Token, error) {
	sc := identity.Scope{ProjectID: projectID, Unscoped: projectID == ""}
	return e.svc.Authenticate(context.Background(), identity.AuthRequest{Methods: []string{"password"},
		Password: &identity.PasswordMethod{UserID: userID, Password: password}, Scope: sc})
}

// revoked reports whether the store holds a revocation event matching want's
// set fields.
func (e *crudEnv) revoked(t *testing.T, want identity.RevocationEvent) bool {
	t.Helper()
	evs, err := e.store.ListRevocationEvents(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		if ev.UserID == want.UserID && ev.ProjectID == want.ProjectID && ev.DomainID == want.DomainID {
			return true
		}
	}
	return false
}

func mustOK(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
}

// wantErr checks an error's kind and that its message contains msg.
func wantErr(t *testing.T, err, kind error, msg string) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("error = %v, want kind %v", err, kind)
	}
	if !strings.Contains(err.Error(), msg) {
		t.Fatalf("error = %q, want it to contain %q", err, msg)
	}
}

func ptr[T any](v T) *T { return &v }

func TestDomainLifecycle(t *testing.T) {
	t.Parallel()
	e := newCrudEnv(t)
	ctx := e.admin
	d, err := e.svc.CreateDomain(ctx, identity.DomainCreate{Name: "  Engineering ", Description: "eng",
		Tags: []string{"b", "a"}})
	mustOK(t, err)
	if d.Name != "Engineering" || !d.Enabled || len(d.ID) != 32 || strings.Join(d.Tags, ",") != "a,b" {
		t.Fatalf("created %+v", d)
	}
	got, err := e.svc.GetDomain(ctx, d.ID)
	mustOK(t, err)
	if got.Description != "eng" {
		t.Fatalf("get = %+v", got)
	}
	if tgt := e.authz.target("identity:get_domain")["target"].(map[string]any)["domain"].(map[string]any); tgt["id"] != d.ID {
		t.Fatalf("get_domain target = %v", tgt)
	}
	list, err := e.svc.ListDomains(ctx, identity.DomainFilter{Name: "Engineering"})
	mustOK(t, err)
	if len(list) != 1 || list[0].ID != d.ID {
		t.Fatalf("list by name = %+v", list)
	}
	err = e.svc.DeleteDomain(ctx, d.ID)
	wantErr(t, err, identity.ErrForbidden, "Cannot delete a domain that is enabled, please disable it first.")

	up, err := e.svc.UpdateDomain(ctx, d.ID, identity.DomainUpdate{Enabled: ptr(false), Name: ptr("Eng")})
	mustOK(t, err)
	if up.Enabled || up.Name != "Eng" {
		t.Fatalf("updated %+v", up)
	}
	if !e.revoked(t, identity.RevocationEvent{DomainID: d.ID}) {
		t.Fatal("disabling a domain recorded no revocation event")
	}
	list, err = e.svc.ListDomains(ctx, identity.DomainFilter{Enabled: ptr(false)})
	mustOK(t, err)
	if len(list) != 1 || list[0].ID != d.ID {
		t.Fatalf("list disabled = %+v", list)
	}
	mustOK(t, e.svc.DeleteDomain(ctx, d.ID))
	_, err = e.svc.GetDomain(ctx, d.ID)
	wantErr(t, err, identity.ErrNotFound, "Could not find domain: "+d.ID+".")
}

func TestDomainExplicitID(t *testing.T) {
	t.Parallel()
	e := newCrudEnv(t)
	id := strings.Repeat("ab", 16)
	d, err := e.svc.CreateDomain(e.admin, identity.DomainCreate{ID: id, Name: "x"})
	mustOK(t, err)
	if d.ID != id {
		t.Fatalf("id = %s", d.ID)
	}
}

func TestDomainBadInput(t *testing.T) {
	t.Parallel()
	e := newCrudEnv(t)
	_, err := e.svc.CreateDomain(e.admin, identity.DomainCreate{Name: "taken"})
	mustOK(t, err)
	tags81 := make([]string, 81)
	for i := range tags81 {
		tags81[i] = fmt.Sprint("t", i)
	}
	cases := []struct {
		name string
		in   identity.DomainCreate
		kind error
		msg  string
	}{
		{"empty name", identity.DomainCreate{}, identity.ErrValidation, "Invalid input for field 'name': '' is too short"},
		{"name too long", identity.DomainCreate{Name: strings.Repeat("n", 65)}, identity.ErrValidation, "is too long"},
		{"blank name", identity.DomainCreate{Name: "   "}, identity.ErrValidation, `does not match '[\S]+'`},
		{"duplicate name", identity.DomainCreate{Name: "taken"}, identity.ErrConflict,
			"Conflict occurred attempting to store project - it is not permitted to have two projects acting as domains with the same name: taken."},
		{"explicit id not a uuid", identity.DomainCreate{ID: "my-domain", Name: "x"}, identity.ErrValidation,
			"Domain ID does not conform to required UUID format."},
		{"too many tags", identity.DomainCreate{Name: "x", Tags: tags81}, identity.ErrValidation, "at most 80"},
		{"tag with slash", identity.DomainCreate{Name: "x", Tags: []string{"a/b"}}, identity.ErrValidation, "Invalid input for field 'tags/0'"},
		{"repeated tag", identity.DomainCreate{Name: "x", Tags: []string{"a", "a"}}, identity.ErrValidation, "must be unique"},
		{"unknown option", identity.DomainCreate{Name: "x", Options: map[string]any{"color": "red"}}, identity.ErrValidation,
			"Additional properties are not allowed ('color' was unexpected)"},
		{"option of the wrong type", identity.DomainCreate{Name: "x", Options: map[string]any{"immutable": "yes"}},
			identity.ErrValidation, "Invalid input for field 'options/immutable'"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := e.svc.CreateDomain(e.admin, c.in)
			wantErr(t, err, c.kind, c.msg)
		})
	}
}

func TestDomainDeleteRules(t *testing.T) {
	t.Parallel()
	e := newCrudEnv(t)
	ctx := e.admin
	_, err := e.svc.UpdateDomain(ctx, "default", identity.DomainUpdate{Enabled: ptr(false)})
	mustOK(t, err)
	wantErr(t, e.svc.DeleteDomain(ctx, "default"), identity.ErrForbidden, "default domain")
	wantErr(t, e.svc.DeleteDomain(ctx, "nope"), identity.ErrNotFound, "Could not find domain: nope.")
	_, err = e.svc.UpdateDomain(ctx, "nope", identity.DomainUpdate{Name: ptr("x")})
	wantErr(t, err, identity.ErrNotFound, "Could not find domain: nope.")

	d, err := e.svc.CreateDomain(ctx, identity.DomainCreate{Name: "frozen", Options: map[string]any{"immutable": true}})
	mustOK(t, err)
	_, err = e.svc.UpdateDomain(ctx, d.ID, identity.DomainUpdate{Enabled: ptr(false)})
	wantErr(t, err, identity.ErrForbidden, "Unable to update immutable domain resource")
	wantErr(t, e.svc.DeleteDomain(ctx, d.ID), identity.ErrForbidden, "Unable to delete immutable domain resource")
	d, err = e.svc.UpdateDomain(ctx, d.ID, identity.DomainUpdate{Options: map[string]any{"immutable": nil}})
	mustOK(t, err)
	if len(d.Options) != 0 {
		t.Fatalf("options after clearing immutable = %v", d.Options)
	}
	_, err = e.svc.UpdateDomain(ctx, d.ID, identity.DomainUpdate{Enabled: ptr(false)})
	mustOK(t, err)
	mustOK(t, e.svc.DeleteDomain(ctx, d.ID))
}

func TestDomainScopedCallerSeesOwnDomain(t *testing.T) {
	t.Parallel()
	e := newCrudEnv(t)
	d, err := e.svc.CreateDomain(e.admin, identity.DomainCreate{Name: "mine"})
	mustOK(t, err)
	list, err := e.svc.ListDomains(e.as(e.boot.AdminUserID, d.ID), identity.DomainFilter{})
	mustOK(t, err)
	if len(list) != 1 || list[0].ID != d.ID {
		t.Fatalf("domain-scoped list = %+v", list)
	}
	tgt := e.authz.target("identity:list_domains")["target"].(map[string]any)
	if tgt["domain"].(map[string]any)["id"] != d.ID {
		t.Fatalf("list_domains target = %v", tgt)
	}
}

func TestDomainPolicyBeforeExistence(t *testing.T) {
	t.Parallel()
	e := newCrudEnv(t)
	e.authz.denyRule("identity:get_domain")
	_, err := e.svc.GetDomain(e.admin, "no-such-domain")
	wantErr(t, err, identity.ErrForbidden, "identity:get_domain")
	_, err = e.svc.ListDomains(context.Background(), identity.DomainFilter{})
	wantErr(t, err, identity.ErrUnauthorized, "requires authentication")
}

func TestAuthDomains(t *testing.T) {
	t.Parallel()
	e := newCrudEnv(t)
	ctx := e.admin
	d1, err := e.svc.CreateDomain(ctx, identity.DomainCreate{Name: "one"})
	mustOK(t, err)
	d2, err := e.svc.CreateDomain(ctx, identity.DomainCreate{Name: "two"})
	mustOK(t, err)
	off, err := e.svc.CreateDomain(ctx, identity.DomainCreate{Name: "off", Enabled: ptr(false)})
	mustOK(t, err)
	u, err := e.svc.CreateUser(ctx, identity.UserCreate{Name: "u"})
	mustOK(t, err)
	g, err := e.svc.CreateGroup(ctx, identity.GroupCreate{Name: "g"})
	mustOK(t, err)
	mustOK(t, e.svc.AddUserToGroup(ctx, g.ID, u.ID))
	e.grant(t, identity.UserDomain, u.ID, d1.ID, false)
	e.grant(t, identity.GroupDomain, g.ID, d2.ID, false)
	e.grant(t, identity.UserDomain, u.ID, off.ID, false)
	ds, err := e.svc.AuthDomains(e.as(u.ID, ""))
	mustOK(t, err)
	got := map[string]bool{}
	for _, d := range ds {
		got[d.ID] = true
	}
	if len(got) != 2 || !got[d1.ID] || !got[d2.ID] {
		t.Fatalf("auth domains = %v, want %s and %s", got, d1.ID, d2.ID)
	}
}
