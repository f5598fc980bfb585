package identity_test

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/auth"
	"github.com/nimbus-cloud/nimbus/internal/identity"
)

// appCredWorld is a user holding member (which implies reader) on the admin
// project, with a context carrying the user's project-scoped token.
type appCredWorld struct {
	e    *crudEnv
	user identity.User
	ctx  context.Context
}

func newAppCredWorld(t *testing.T) *appCredWorld {
	t.Helper()
	e := newCrudEnv(t)
	u := e.mkUser(t, "carol")
	mustOK(t, e.svc.CreateGrant(e.admin, identity.Grant{UserID: u.ID, ProjectID: e.boot.AdminProjectID, RoleID: e.roleIDs["member"]}))
	tok, err := e.login(u.ID, "pw", e.boot.AdminProjectID)
	mustOK(t, err)
	return &appCredWorld{e: e, user: u, ctx: auth.WithCaller(context.Background(), tok.Caller())}
}

// authenticate logs in with an application credential.
func (w *appCredWorld) authenticate(id, secret string) (*identity.Token, error) {
	return w.e.svc.Authenticate(context.Background(), identity.AuthRequest{Methods: []string{"application_credential"},
		AppCred: &identity.AppCredMethod{ID: id, Secret: secret}})
}

func roleNames(roles []identity.Role) []string {
	out := make([]string, len(roles))
	for i, r := range roles {
		out[i] = r.Name
	}
	slices.Sort(out)
	return out
}

func TestAppCredCreateAndAuthenticate(t *testing.T) {
	t.Parallel()
	w := newAppCredWorld(t)
	ac, err := w.e.svc.CreateApplicationCredential(w.ctx, w.user.ID, identity.AppCredRequest{Name: "ci", Description: "builds"})
	mustOK(t, err)
	if !regexp.MustCompile(`^[A-Za-z0-9_-]{64}$`).MatchString(ac.Secret) {
		t.Fatalf("generated secret %q is not 64 URL-safe characters", ac.Secret)
	}
	if ac.ProjectID != w.e.boot.AdminProjectID || ac.Unrestricted || !ac.ExpiresAt.IsZero() {
		t.Fatalf("created = %+v", ac.ApplicationCredential)
	}
	if got := roleNames(ac.Roles); !slices.Equal(got, []string{"member", "reader"}) {
		t.Fatalf("roles = %v, want the token's member and reader", got)
	}
	stored, err := w.e.store.GetApplicationCredential(context.Background(), ac.ID)
	mustOK(t, err)
	if stored.SecretHash == ac.Secret || stored.SecretHash != "hashed:"+ac.Secret {
		t.Fatalf("stored secret hash = %q", stored.SecretHash)
	}
	got, err := w.e.svc.GetApplicationCredential(w.ctx, w.user.ID, ac.ID)
	mustOK(t, err)
	if got.Secret != "" || got.Name != "ci" || len(got.Roles) != 2 {
		t.Fatalf("GetApplicationCredential = %+v", got)
	}

	tok, err := w.authenticate(ac.ID, ac.Secret)
	mustOK(t, err)
	if tok.Project == nil || tok.Project.ID != w.e.boot.AdminProjectID || len(tok.Roles) != 2 {
		t.Fatalf("app cred token = project %v roles %+v", tok.Project, tok.Roles)
	}

	chosen, err := w.e.svc.CreateApplicationCredential(w.ctx, w.user.ID, identity.AppCredRequest{Name: "reader-only",
		Secret: "my-own-secret", Roles: []identity.RoleRef{{Name: "reader"}}, ExpiresAt: time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)})
	mustOK(t, err)
	if chosen.Secret != "my-own-secret" || !slices.Equal(roleNames(chosen.Roles), []string{"reader"}) {
		t.Fatalf("app cred with chosen roles = %+v", chosen)
	}
	tok, err = w.authenticate(chosen.ID, "my-own-secret")
	mustOK(t, err)
	if len(tok.Roles) != 1 || tok.Roles[0].Name != "reader" {
		t.Fatalf("restricted token roles = %+v", tok.Roles)
	}
	byID, err := w.e.svc.CreateApplicationCredential(w.ctx, w.user.ID, identity.AppCredRequest{Name: "member",
		Roles: []identity.RoleRef{{ID: w.e.roleIDs["member"]}}})
	mustOK(t, err)
	if !slices.Equal(roleNames(byID.Roles), []string{"member", "reader"}) {
		t.Fatalf("roles of a member app cred = %v, want the implied reader too", roleNames(byID.Roles))
	}

	list, err := w.e.svc.ListApplicationCredentials(w.ctx, w.user.ID, "")
	mustOK(t, err)
	if len(list) != 3 {
		t.Fatalf("list = %d, want 3", len(list))
	}
	list, err = w.e.svc.ListApplicationCredentials(w.ctx, w.user.ID, "reader-only")
	mustOK(t, err)
	if len(list) != 1 || list[0].ID != chosen.ID || list[0].Secret != "" {
		t.Fatalf("list by name = %+v", list)
	}
}

func TestAppCredBadInput(t *testing.T) {
	t.Parallel()
	w := newAppCredWorld(t)
	e := w.e
	_, err := e.svc.CreateApplicationCredential(w.ctx, w.user.ID, identity.AppCredRequest{Name: "taken"})
	mustOK(t, err)
	// A domain role named like a global one makes the name ambiguous.
	_, err = e.svc.CreateRole(e.admin, identity.Role{Name: "member", DomainID: "default"})
	mustOK(t, err)
	unscoped, err := e.login(w.user.ID, "pw", "")
	mustOK(t, err)
	past := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name string
		ctx  context.Context
		user string
		req  identity.AppCredRequest
		kind error
		msg  string
	}{
		{"duplicate name", w.ctx, w.user.ID, identity.AppCredRequest{Name: "taken"}, identity.ErrConflict,
			"Conflict occurred attempting to store application_credential - Duplicate entry found with name taken."},
		{"blank name", w.ctx, w.user.ID, identity.AppCredRequest{Name: " "}, identity.ErrValidation, "does not match"},
		{"role not held", w.ctx, w.user.ID, identity.AppCredRequest{Name: "x", Roles: []identity.RoleRef{{ID: e.roleIDs["admin"]}}},
			identity.ErrValidation, "Invalid application credential: Cannot create an application credential with unassigned role"},
		{"role name not held", w.ctx, w.user.ID, identity.AppCredRequest{Name: "x", Roles: []identity.RoleRef{{Name: "admin"}}},
			identity.ErrValidation, "unassigned role"},
		{"unknown role name", w.ctx, w.user.ID, identity.AppCredRequest{Name: "x", Roles: []identity.RoleRef{{Name: "nope"}}},
			identity.ErrNotFound, "Role nope is not defined"},
		{"ambiguous role name", w.ctx, w.user.ID, identity.AppCredRequest{Name: "x", Roles: []identity.RoleRef{{Name: "member"}}},
			identity.ErrValidation, "There are multiple role entities named 'member'."},
		{"expired", w.ctx, w.user.ID, identity.AppCredRequest{Name: "x", ExpiresAt: past}, identity.ErrValidation,
			"The 'expires_at' must not be before now."},
		{"secret too long for bcrypt", w.ctx, w.user.ID, identity.AppCredRequest{Name: "x", Secret: strings.Repeat("s", 73)},
			identity.ErrValidation, "longer than 72 bytes"},
		{"another user", w.ctx, e.boot.AdminUserID, identity.AppCredRequest{Name: "x"}, identity.ErrForbidden,
			"Cannot create an application credential for another user."},
		{"unscoped token", auth.WithCaller(context.Background(), unscoped.Caller()), w.user.ID, identity.AppCredRequest{Name: "x"},
			identity.ErrForbidden, "project-scoped token"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := e.svc.CreateApplicationCredential(c.ctx, c.user, c.req)
			wantErr(t, err, c.kind, c.msg)
		})
	}
}

func TestAppCredRestrictedToken(t *testing.T) {
	t.Parallel()
	w := newAppCredWorld(t)
	svc := w.e.svc
	restricted, err := svc.CreateApplicationCredential(w.ctx, w.user.ID, identity.AppCredRequest{Name: "restricted"})
	mustOK(t, err)
	unrestricted, err := svc.CreateApplicationCredential(w.ctx, w.user.ID, identity.AppCredRequest{Name: "unrestricted", Unrestricted: true})
	mustOK(t, err)
	victim, err := svc.CreateApplicationCredential(w.ctx, w.user.ID, identity.AppCredRequest{Name: "victim"})
	mustOK(t, err)

	tok, err := w.authenticate(restricted.ID, restricted.Secret)
	mustOK(t, err)
	rctx := auth.WithCaller(context.Background(), tok.Caller())
	_, err = svc.CreateApplicationCredential(rctx, w.user.ID, identity.AppCredRequest{Name: "child"})
	wantErr(t, err, identity.ErrForbidden, "Using method 'application_credential' is not allowed for managing additional application credentials.")
	wantErr(t, svc.DeleteApplicationCredential(rctx, w.user.ID, victim.ID), identity.ErrForbidden, "not allowed")
	_, err = svc.ListApplicationCredentials(rctx, w.user.ID, "")
	mustOK(t, err)

	tok, err = w.authenticate(unrestricted.ID, unrestricted.Secret)
	mustOK(t, err)
	uctx := auth.WithCaller(context.Background(), tok.Caller())
	_, err = svc.CreateApplicationCredential(uctx, w.user.ID, identity.AppCredRequest{Name: "child"})
	mustOK(t, err)
	mustOK(t, svc.DeleteApplicationCredential(uctx, w.user.ID, victim.ID))
}

func TestAppCredDeleteRevokesTokens(t *testing.T) {
	t.Parallel()
	w := newAppCredWorld(t)
	svc := w.e.svc
	ac, err := svc.CreateApplicationCredential(w.ctx, w.user.ID, identity.AppCredRequest{Name: "ci"})
	mustOK(t, err)
	tok, err := w.authenticate(ac.ID, ac.Secret)
	mustOK(t, err)
	if !w.e.tokenAlive(tok) {
		t.Fatal("app cred token does not validate")
	}
	// Another user's path hides the credential.
	_, err = svc.GetApplicationCredential(w.ctx, w.e.boot.AdminUserID, ac.ID)
	wantErr(t, err, identity.ErrNotFound, "Could not find Application Credential: "+ac.ID+".")
	wantErr(t, svc.DeleteApplicationCredential(w.ctx, w.e.boot.AdminUserID, ac.ID), identity.ErrNotFound, "Could not find Application Credential")
	if tgt := w.e.authz.target("identity:delete_application_credential"); tgt["user_id"] != w.user.ID {
		t.Fatalf("delete policy target = %v, want the credential's owner", tgt)
	}

	mustOK(t, svc.DeleteApplicationCredential(w.ctx, w.user.ID, ac.ID))
	if w.e.tokenAlive(tok) {
		t.Fatal("token of a deleted application credential still validates")
	}
	evs, err := svc.ListRevokeEvents(w.e.admin, time.Time{})
	mustOK(t, err)
	if !slices.ContainsFunc(evs, func(ev identity.RevocationEvent) bool { return ev.AppCredID == ac.ID }) {
		t.Fatalf("no revocation event for application credential %s in %+v", ac.ID, evs)
	}
	_, err = svc.GetApplicationCredential(w.ctx, w.user.ID, ac.ID)
	wantErr(t, err, identity.ErrNotFound, "Could not find Application Credential")
	_, err = w.authenticate(ac.ID, ac.Secret)
	wantErr(t, err, identity.ErrUnauthorized, "requires authentication")
}

func TestRoleDeletionRemovesAppCreds(t *testing.T) {
	t.Parallel()
	w := newAppCredWorld(t)
	e := w.e
	extra := e.mkRole(t, "extra", "")
	mustOK(t, e.svc.CreateGrant(e.admin, identity.Grant{UserID: w.user.ID, ProjectID: e.boot.AdminProjectID, RoleID: extra.ID}))
	tok, err := e.login(w.user.ID, "pw", e.boot.AdminProjectID)
	mustOK(t, err)
	ctx := auth.WithCaller(context.Background(), tok.Caller())
	ac, err := e.svc.CreateApplicationCredential(ctx, w.user.ID, identity.AppCredRequest{Name: "ci", Roles: []identity.RoleRef{{Name: "reader"}}})
	mustOK(t, err)
	mustOK(t, e.svc.DeleteRole(e.admin, extra.ID))
	_, err = e.svc.GetApplicationCredential(ctx, w.user.ID, ac.ID)
	wantErr(t, err, identity.ErrNotFound, "Could not find Application Credential")
}
