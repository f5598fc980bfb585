package identity_test

import (
	"context"
	"slices"
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

// trustWorld is a trustor holding member (which implies reader) and a custom
// role on a project, a trustee, and a context carrying the trustor's
// project-scoped token. Its clock stands still until advanced.
type trustWorld struct {
	e                *crudEnv
	trustor, trustee identity.User
	project          identity.Project
	custom           identity.Role
	trustorCtx       context.Context

	mu    sync.Mutex
	clock time.Time
}

func newTrustWorld(t *testing.T, cfg identity.Config) *trustWorld {
	t.Helper()
	ctx := context.Background()
	d := dbtest.Open(t, db.SQLite)
	ms, err := identitysql.Migrations()
	mustOK(t, err)
	_, err = db.Migrate(ctx, d, identitysql.ServiceName, ms)
	mustOK(t, err)
	w := &trustWorld{clock: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	e := &crudEnv{store: identitysql.New(d), authz: &crudAuthz{deny: map[string]bool{}, targets: map[string]map[string]any{}}}
	cfg.MaxPasswordLength = 64
	e.svc = identity.New(cfg, identity.Deps{Store: e.store, Tokens: &crudTokens{m: map[string]fernet.Payload{}},
		Hasher: crudHasher{}, Authz: e.authz, Now: w.now})
	e.boot, err = e.svc.Bootstrap(ctx, identity.BootstrapOptions{AdminPassword: crudAdminPassword})
	mustOK(t, err)
	e.roleIDs = map[string]string{}
	roles, err := e.store.ListRoles(ctx, identity.RoleFilter{})
	mustOK(t, err)
	for _, r := range roles {
		e.roleIDs[r.Name] = r.ID
	}
	e.admin = auth.WithCaller(ctx, &auth.Caller{UserID: e.boot.AdminUserID, UserDomainID: "default",
		ProjectID: e.boot.AdminProjectID, ProjectDomainID: "default", Roles: []auth.Role{{Name: "admin"}}})
	w.e = e
	w.project = e.mkProject(t, "delegated", "")
	w.custom = e.mkRole(t, "custom", "")
	w.trustor, w.trustee = e.mkUser(t, "trustor"), e.mkUser(t, "trustee")
	for _, role := range []string{e.roleIDs["member"], w.custom.ID} {
		mustOK(t, e.svc.CreateGrant(e.admin, identity.Grant{UserID: w.trustor.ID, ProjectID: w.project.ID, RoleID: role}))
	}
	w.trustorCtx = w.loginCtx(t, w.trustor.ID, w.project.ID)
	return w
}

func (w *trustWorld) now() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.clock = w.clock.Add(time.Millisecond)
	return w.clock
}

func (w *trustWorld) advance(d time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.clock = w.clock.Add(d)
}

// loginCtx logs a user in (password "pw") and returns a context carrying the token.
func (w *trustWorld) loginCtx(t *testing.T, userID, projectID string) context.Context {
	t.Helper()
	tok, err := w.e.login(userID, "pw", projectID)
	mustOK(t, err)
	return auth.WithCaller(context.Background(), tok.Caller())
}

// request is a trust from the trustor to the trustee on the project with the
// given roles (by name).
func (w *trustWorld) request(impersonate bool, roles ...string) identity.TrustRequest {
	req := identity.TrustRequest{TrustorUserID: w.trustor.ID, TrusteeUserID: w.trustee.ID, ProjectID: w.project.ID,
		Impersonation: impersonate}
	for _, r := range roles {
		req.Roles = append(req.Roles, identity.RoleRef{Name: r})
	}
	return req
}

// trustToken authenticates a user (password "pw") with a trust as scope.
func (w *trustWorld) trustToken(userID, trustID string) (*identity.Token, error) {
	return w.e.svc.Authenticate(context.Background(), identity.AuthRequest{Methods: []string{"password"},
		Password: &identity.PasswordMethod{UserID: userID, Password: "pw"}, Scope: identity.Scope{TrustID: trustID}})
}

func TestTrustLifecycle(t *testing.T) {
	t.Parallel()
	w := newTrustWorld(t, identity.Config{})
	e := w.e
	exp := time.Date(2030, 6, 1, 12, 30, 0, 123456789, time.UTC)
	req := w.request(true, "member")
	req.Roles = append(req.Roles, identity.RoleRef{ID: w.custom.ID}, identity.RoleRef{Name: "member"})
	req.ExpiresAt = exp
	tr, err := e.svc.CreateTrust(w.trustorCtx, req)
	mustOK(t, err)
	if len(tr.ID) != 32 || tr.TrustorUserID != w.trustor.ID || tr.TrusteeUserID != w.trustee.ID ||
		tr.ProjectID != w.project.ID || !tr.Impersonation || !tr.ExpiresAt.Equal(exp.Truncate(time.Microsecond)) ||
		tr.RemainingUses != nil || tr.RedelegationCount != 0 || tr.RedelegatedTrustID != "" {
		t.Fatalf("created %+v", tr.Trust)
	}
	if got := roleNames(tr.Roles); !slices.Equal(got, []string{"custom", "member"}) {
		t.Fatalf("roles = %v, want custom and member (not the implied reader)", got)
	}
	target := e.authz.target("identity:create_trust")["target"].(map[string]any)["trust"].(map[string]any)
	if target["trustor_user_id"] != w.trustor.ID || target["trustee_user_id"] != w.trustee.ID {
		t.Fatalf("create_trust target = %v", target)
	}

	got, err := e.svc.GetTrust(w.trustorCtx, tr.ID)
	mustOK(t, err)
	if got.ID != tr.ID || len(got.Roles) != 2 {
		t.Fatalf("get = %+v", got)
	}
	if tgt := e.authz.target("identity:get_trust")["target"].(map[string]any)["trust"].(map[string]any); tgt["trustee_user_id"] != w.trustee.ID {
		t.Fatalf("get_trust target = %v", tgt)
	}
	roles, err := e.svc.ListTrustRoles(w.trustorCtx, tr.ID)
	mustOK(t, err)
	if !slices.Equal(roleNames(roles), []string{"custom", "member"}) {
		t.Fatalf("trust roles = %v", roleNames(roles))
	}
	r, err := e.svc.GetTrustRole(w.trustorCtx, tr.ID, e.roleIDs["member"])
	mustOK(t, err)
	if r.Name != "member" {
		t.Fatalf("trust role = %+v", r)
	}
	_, err = e.svc.GetTrustRole(w.trustorCtx, tr.ID, e.roleIDs["reader"])
	wantErr(t, err, identity.ErrNotFound, "Could not find role: "+e.roleIDs["reader"]+".")

	for _, c := range []struct {
		name, trustor, trustee, rule string
		want                         int
	}{
		{"all", "", "", "identity:list_trusts", 1},
		{"by trustor", w.trustor.ID, "", "identity:list_trusts_for_trustor", 1},
		{"by trustee", "", w.trustee.ID, "identity:list_trusts_for_trustee", 1},
		{"by another trustor", w.trustee.ID, "", "identity:list_trusts_for_trustor", 0},
	} {
		list, err := e.svc.ListTrusts(e.admin, c.trustor, c.trustee)
		mustOK(t, err)
		if len(list) != c.want || e.authz.target(c.rule) == nil {
			t.Fatalf("%s: list = %+v, %s target %v", c.name, list, c.rule, e.authz.target(c.rule))
		}
	}

	mustOK(t, e.svc.DeleteTrust(w.trustorCtx, tr.ID))
	_, err = e.svc.GetTrust(w.trustorCtx, tr.ID)
	wantErr(t, err, identity.ErrNotFound, "Could not find trust: "+tr.ID+".")
	wantErr(t, e.svc.DeleteTrust(w.trustorCtx, tr.ID), identity.ErrNotFound, "Could not find trust")
	if !slices.ContainsFunc(mustEvents(t, e), func(ev identity.RevocationEvent) bool { return ev.TrustID == tr.ID }) {
		t.Fatal("deleting the trust recorded no revocation event for it")
	}
}

func mustEvents(t *testing.T, e *crudEnv) []identity.RevocationEvent {
	t.Helper()
	evs, err := e.store.ListRevocationEvents(context.Background(), 0)
	mustOK(t, err)
	return evs
}

func TestTrustCreateBadInput(t *testing.T) {
	t.Parallel()
	w := newTrustWorld(t, identity.Config{MaxRedelegationCount: 3})
	e := w.e
	cases := []struct {
		name string
		ctx  func() context.Context
		edit func(*identity.TrustRequest)
		kind error
		msg  string
	}{
		{"project without roles", nil, func(r *identity.TrustRequest) { r.Roles = nil }, identity.ErrForbidden, "At least one role should be specified."},
		{"someone else's trust", func() context.Context { return e.admin }, nil, identity.ErrForbidden, "The authenticated user should match the trustor."},
		{"unknown trustee", nil, func(r *identity.TrustRequest) { r.TrusteeUserID = "nobody" }, identity.ErrNotFound, "Could not find user: nobody."},
		{"role not held", nil, func(r *identity.TrustRequest) { r.Roles = []identity.RoleRef{{Name: "admin"}} }, identity.ErrNotFound, "Could not find role: " + e.roleIDs["admin"] + "."},
		{"unknown role id", nil, func(r *identity.TrustRequest) { r.Roles = []identity.RoleRef{{ID: "nope"}} }, identity.ErrNotFound, "Could not find role: nope."},
		{"unknown role name", nil, func(r *identity.TrustRequest) { r.Roles = []identity.RoleRef{{Name: "nope"}} }, identity.ErrNotFound, "Role nope is not defined"},
		{"unknown project", nil, func(r *identity.TrustRequest) { r.ProjectID = "nope" }, identity.ErrNotFound, "Could not find project: nope."},
		{"roles without project", nil, func(r *identity.TrustRequest) { r.ProjectID = "" }, identity.ErrNotFound, "Could not find role"},
		{"expired", nil, func(r *identity.TrustRequest) { r.ExpiresAt = time.Date(2029, 1, 1, 0, 0, 0, 0, time.UTC) }, identity.ErrValidation, "must not be before now"},
		{"no uses", nil, func(r *identity.TrustRequest) { r.RemainingUses = ptr(0) }, identity.ErrValidation, "less than the minimum of 1"},
		{"negative redelegation count", nil, func(r *identity.TrustRequest) { r.RedelegationCount = ptr(-1) }, identity.ErrValidation, "less than the minimum of 0"},
		{"redelegation disabled", nil, func(r *identity.TrustRequest) { r.AllowRedelegation = true }, identity.ErrForbidden, "Redelegation of trusts is not enabled"},
		{"application credential", func() context.Context {
			return auth.WithCaller(context.Background(), &auth.Caller{UserID: w.trustor.ID, Methods: []string{"application_credential"}})
		}, nil, identity.ErrForbidden, "not allowed for managing trusts"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := w.request(false, "member")
			if c.edit != nil {
				c.edit(&req)
			}
			ctx := w.trustorCtx
			if c.ctx != nil {
				ctx = c.ctx()
			}
			_, err := e.svc.CreateTrust(ctx, req)
			wantErr(t, err, c.kind, c.msg)
		})
	}
	e.authz.denyRule("identity:create_trust")
	_, err := e.svc.CreateTrust(w.trustorCtx, w.request(false, "member"))
	wantErr(t, err, identity.ErrForbidden, "identity:create_trust")
	list, err := e.store.ListTrusts(context.Background(), identity.TrustFilter{})
	mustOK(t, err)
	if len(list) != 0 {
		t.Fatalf("refused requests left trusts behind: %+v", list)
	}
}

func TestTrustScopedTokens(t *testing.T) {
	t.Parallel()
	w := newTrustWorld(t, identity.Config{})
	e := w.e
	imp, err := e.svc.CreateTrust(w.trustorCtx, w.request(true, "member"))
	mustOK(t, err)
	tok, err := w.trustToken(w.trustee.ID, imp.ID)
	mustOK(t, err)
	if tok.User.ID != w.trustor.ID || tok.Project == nil || tok.Project.ID != w.project.ID || tok.Trust == nil ||
		tok.Trust.ID != imp.ID || !slices.Equal(roleNames(tok.Roles), []string{"member", "reader"}) {
		t.Fatalf("impersonating token: user %s project %v trust %v roles %v", tok.User.ID, tok.Project, tok.Trust, roleNames(tok.Roles))
	}
	v, err := e.svc.ValidateToken(context.Background(), tok.ID, false)
	mustOK(t, err)
	if v.User.ID != w.trustor.ID || v.Trust == nil || v.Trust.TrusteeUserID != w.trustee.ID || len(v.Roles) != 2 {
		t.Fatalf("validated impersonating token: user %s trust %v roles %v", v.User.ID, v.Trust, roleNames(v.Roles))
	}

	plain, err := e.svc.CreateTrust(w.trustorCtx, w.request(false, "custom"))
	mustOK(t, err)
	tok2, err := w.trustToken(w.trustee.ID, plain.ID)
	mustOK(t, err)
	if tok2.User.ID != w.trustee.ID || !slices.Equal(roleNames(tok2.Roles), []string{"custom"}) {
		t.Fatalf("plain token: user %s roles %v", tok2.User.ID, roleNames(tok2.Roles))
	}

	// Only the trustee may use it, and a trust token cannot make another token.
	_, err = w.trustToken(w.trustor.ID, plain.ID)
	wantErr(t, err, identity.ErrForbidden, "User is not a trustee.")
	_, err = w.trustToken(w.trustee.ID, "nope")
	wantErr(t, err, identity.ErrUnauthorized, "Could not find trust: nope.")
	_, err = e.svc.Authenticate(context.Background(), identity.AuthRequest{Methods: []string{"token"},
		Token: &identity.TokenMethod{ID: tok2.ID}, Scope: identity.Scope{ProjectID: w.project.ID}})
	wantErr(t, err, identity.ErrForbidden, "Using trust-scoped token to create another token.")
	// The trustee may also trade an unscoped token of its own for a trust token.
	unscoped, err := e.login(w.trustee.ID, "pw", "")
	mustOK(t, err)
	_, err = e.svc.Authenticate(context.Background(), identity.AuthRequest{Methods: []string{"token"},
		Token: &identity.TokenMethod{ID: unscoped.ID}, Scope: identity.Scope{TrustID: plain.ID}})
	mustOK(t, err)

	// The trustor losing a delegated role invalidates the token and the trust.
	mustOK(t, e.svc.RevokeGrant(e.admin, identity.Grant{UserID: w.trustor.ID, ProjectID: w.project.ID, RoleID: w.custom.ID}))
	if e.tokenAlive(tok2) {
		t.Fatal("token survived the trustor losing the delegated role")
	}
	_, err = w.trustToken(w.trustee.ID, plain.ID)
	wantErr(t, err, identity.ErrForbidden, "Trustee has no delegated roles.")

	// Revoking the trustor's grant revoked every token of the trustor on the
	// project, trust tokens included, as keystone's user events do. Disabling
	// the trustor revokes a fresh impersonating token too.
	if e.tokenAlive(tok) {
		t.Fatal("impersonating token survived the revocation of its trustor's grant")
	}
	tok, err = w.trustToken(w.trustee.ID, imp.ID)
	mustOK(t, err)
	_, err = e.svc.UpdateUser(e.admin, w.trustor.ID, identity.UserUpdate{Enabled: ptr(false)})
	mustOK(t, err)
	if e.tokenAlive(tok) {
		t.Fatal("token survived its trustor being disabled")
	}
	_, err = w.trustToken(w.trustee.ID, imp.ID)
	wantErr(t, err, identity.ErrForbidden, "Trustor is disabled.")
}

func TestTrustLimits(t *testing.T) {
	t.Parallel()
	w := newTrustWorld(t, identity.Config{TokenExpiration: 4 * time.Hour})
	e := w.e
	req := w.request(false, "member")
	req.RemainingUses = ptr(2)
	req.ExpiresAt = w.clock.Add(2 * time.Hour)
	tr, err := e.svc.CreateTrust(w.trustorCtx, req)
	mustOK(t, err)
	first, err := w.trustToken(w.trustee.ID, tr.ID)
	mustOK(t, err)
	if !first.ExpiresAt.Equal(tr.ExpiresAt) {
		t.Fatalf("token expires %s, want the trust's %s", first.ExpiresAt, tr.ExpiresAt)
	}
	got, err := e.svc.GetTrust(w.trustorCtx, tr.ID)
	mustOK(t, err)
	if *got.RemainingUses != 1 {
		t.Fatalf("remaining uses = %d, want 1", *got.RemainingUses)
	}
	_, err = w.trustToken(w.trustee.ID, tr.ID)
	mustOK(t, err)
	_, err = w.trustToken(w.trustee.ID, tr.ID)
	wantErr(t, err, identity.ErrUnauthorized, "Could not find trust: "+tr.ID+".")
	_, err = e.svc.GetTrust(w.trustorCtx, tr.ID)
	wantErr(t, err, identity.ErrNotFound, "Could not find trust")
	if !e.tokenAlive(first) {
		t.Fatal("using up a trust killed the tokens it issued")
	}

	open, err := e.svc.CreateTrust(w.trustorCtx, func() identity.TrustRequest {
		r := w.request(true, "member")
		r.ExpiresAt = w.clock.Add(time.Hour)
		return r
	}())
	mustOK(t, err)
	tok, err := w.trustToken(w.trustee.ID, open.ID)
	mustOK(t, err)
	w.advance(61 * time.Minute)
	if e.tokenAlive(tok) {
		t.Fatal("token outlived its trust")
	}
	_, err = w.trustToken(w.trustee.ID, open.ID)
	wantErr(t, err, identity.ErrUnauthorized, "Could not find trust")
	list, err := e.svc.ListTrusts(w.trustorCtx, w.trustor.ID, "")
	mustOK(t, err)
	if len(list) != 2 {
		t.Fatalf("list = %d trusts, want the used-up and the expired ones listed", len(list))
	}
}

func TestTrustDeleteRevokesTokens(t *testing.T) {
	t.Parallel()
	w := newTrustWorld(t, identity.Config{})
	e := w.e
	tr, err := e.svc.CreateTrust(w.trustorCtx, w.request(true, "member"))
	mustOK(t, err)
	tok, err := w.trustToken(w.trustee.ID, tr.ID)
	mustOK(t, err)
	if !e.tokenAlive(tok) {
		t.Fatal("fresh trust token does not validate")
	}
	trusteeCtx := w.loginCtx(t, w.trustee.ID, "")
	e.authz.denyRule("identity:delete_trust")
	wantErr(t, e.svc.DeleteTrust(trusteeCtx, tr.ID), identity.ErrForbidden, "identity:delete_trust")
	wantErr(t, e.svc.DeleteTrust(trusteeCtx, "nope"), identity.ErrNotFound, "Could not find trust: nope.")
	e.authz.deny = map[string]bool{}
	mustOK(t, e.svc.DeleteTrust(w.trustorCtx, tr.ID))
	_, err = e.svc.ValidateToken(context.Background(), tok.ID, false)
	wantErr(t, err, identity.ErrUnauthorized, "")
}

func TestTrustRedelegation(t *testing.T) {
	t.Parallel()
	w := newTrustWorld(t, identity.Config{AllowRedelegation: true, MaxRedelegationCount: 3})
	e := w.e
	third := e.mkUser(t, "third")

	bad := w.request(true, "member")
	bad.AllowRedelegation, bad.RemainingUses = true, ptr(1)
	_, err := e.svc.CreateTrust(w.trustorCtx, bad)
	wantErr(t, err, identity.ErrValidation, "remaining_uses must not be set if redelegation is allowed")
	bad.RemainingUses, bad.RedelegationCount = nil, ptr(4)
	_, err = e.svc.CreateTrust(w.trustorCtx, bad)
	wantErr(t, err, identity.ErrForbidden, "Requested redelegation depth of 4 is greater than allowed 3")

	req := w.request(true, "member", "custom")
	req.AllowRedelegation = true
	root, err := e.svc.CreateTrust(w.trustorCtx, req)
	mustOK(t, err)
	if root.RedelegationCount != 3 {
		t.Fatalf("redelegation count = %d, want the maximum 3", root.RedelegationCount)
	}
	tok, err := w.trustToken(w.trustee.ID, root.ID)
	mustOK(t, err)
	trusteeCtx := auth.WithCaller(context.Background(), tok.Caller())

	// The trustee, impersonating the trustor, passes part of the trust on.
	sub := identity.TrustRequest{TrustorUserID: w.trustor.ID, TrusteeUserID: third.ID, ProjectID: w.project.ID,
		Impersonation: true, AllowRedelegation: true, Roles: []identity.RoleRef{{Name: "member"}}}
	over := sub
	over.RedelegationCount = ptr(1)
	_, err = e.svc.CreateTrust(trusteeCtx, over)
	wantErr(t, err, identity.ErrForbidden, "Modifying \"redelegation_count\" upon redelegation is forbidden.")
	child, err := e.svc.CreateTrust(trusteeCtx, sub)
	mustOK(t, err)
	if child.RedelegatedTrustID != root.ID || child.RedelegationCount != 2 {
		t.Fatalf("redelegated trust = %+v", child.Trust)
	}
	childTok, err := w.trustToken(third.ID, child.ID)
	mustOK(t, err)
	if childTok.User.ID != w.trustor.ID || !slices.Equal(roleNames(childTok.Roles), []string{"member", "reader"}) {
		t.Fatalf("redelegated token: user %s roles %v", childTok.User.ID, roleNames(childTok.Roles))
	}

	// A plain (not redelegatable) trust made from a trust token cannot grow.
	wider := sub
	wider.AllowRedelegation, wider.Roles = false, []identity.RoleRef{{Name: "member"}, {Name: "custom"}}
	wider.TrusteeUserID = w.trustee.ID
	narrow, err := e.svc.CreateTrust(trusteeCtx, wider)
	mustOK(t, err)
	if narrow.RedelegationCount != 0 || narrow.RedelegatedTrustID != root.ID {
		t.Fatalf("plain redelegated trust = %+v", narrow.Trust)
	}

	// Deleting the root takes its redelegated trusts and their tokens along.
	mustOK(t, e.svc.DeleteTrust(w.trustorCtx, root.ID))
	if e.tokenAlive(tok) || e.tokenAlive(childTok) {
		t.Fatal("tokens of deleted trusts still validate")
	}
	_, err = e.svc.GetTrust(e.admin, child.ID)
	wantErr(t, err, identity.ErrNotFound, "Could not find trust")
}

func TestTrustRedelegationDisabled(t *testing.T) {
	t.Parallel()
	w := newTrustWorld(t, identity.Config{})
	e := w.e
	tr, err := e.svc.CreateTrust(w.trustorCtx, w.request(true, "member"))
	mustOK(t, err)
	tok, err := w.trustToken(w.trustee.ID, tr.ID)
	mustOK(t, err)
	_, err = e.svc.CreateTrust(auth.WithCaller(context.Background(), tok.Caller()), w.request(true, "member"))
	wantErr(t, err, identity.ErrForbidden, "Redelegation of trusts is not enabled")
}
