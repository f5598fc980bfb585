package identity_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/identity"
)

func TestUserCreate(t *testing.T) {
	t.Parallel()
	e := newCrudEnv(t)
	ctx := e.admin
	p := e.mkProject(t, "home", "")
	u, err := e.svc.CreateUser(ctx, identity.UserCreate{Name: " jdoe ", Password: ptr("s3cret"), DefaultProjectID: p.ID,
		Description: "James", Extra: map[string]any{"email": "jdoe@example.com"},
		Options: map[string]any{"ignore_password_expiry": true, "multi_factor_auth_rules": []any{[]any{"password", "totp"}}}})
	mustOK(t, err)
	if u.Name != "jdoe" || u.DomainID != "default" || !u.Enabled || u.DefaultProjectID != p.ID {
		t.Fatalf("created %+v", u)
	}
	if u.PasswordHash != "hashed:s3cret" || u.PasswordCreatedAt.IsZero() || !u.PasswordExpiresAt.IsZero() {
		t.Fatalf("password fields: hash %q created %v expires %v", u.PasswordHash, u.PasswordCreatedAt, u.PasswordExpiresAt)
	}
	if u.Extra["email"] != "jdoe@example.com" || u.Options["ignore_password_expiry"] != true {
		t.Fatalf("extra %v options %v", u.Extra, u.Options)
	}
	if _, err := e.login(u.ID, "s3cret", ""); err != nil {
		t.Fatalf("log in with the new password: %v", err)
	}
	d, err := e.svc.CreateDomain(ctx, identity.DomainCreate{Name: "corp"})
	mustOK(t, err)
	u, err = e.svc.CreateUser(e.as(e.boot.AdminUserID, d.ID), identity.UserCreate{Name: "jdoe"})
	mustOK(t, err)
	if u.DomainID != d.ID || u.PasswordHash != "" {
		t.Fatalf("user from a domain-scoped token = %+v", u)
	}
}

func TestUserBadInput(t *testing.T) {
	t.Parallel()
	e := newCrudEnv(t)
	ctx := e.admin
	_, err := e.svc.CreateUser(ctx, identity.UserCreate{Name: "taken"})
	mustOK(t, err)
	cases := []struct {
		name string
		in   identity.UserCreate
		kind error
		msg  string
	}{
		{"empty name", identity.UserCreate{}, identity.ErrValidation, "Invalid input for field 'name': '' is too short"},
		{"name too long", identity.UserCreate{Name: strings.Repeat("u", 256)}, identity.ErrValidation, "is too long"},
		{"duplicate", identity.UserCreate{Name: "taken"}, identity.ErrConflict,
			"Conflict occurred attempting to store user - Duplicate entry found with name taken at domain ID default."},
		{"unknown domain", identity.UserCreate{Name: "x", DomainID: "nowhere"}, identity.ErrNotFound, "Could not find domain: nowhere."},
		{"unknown default project", identity.UserCreate{Name: "x", DefaultProjectID: "nope"}, identity.ErrValidation, "Could not find project: nope."},
		{"default project is a domain", identity.UserCreate{Name: "x", DefaultProjectID: "default"}, identity.ErrValidation,
			"User's default project ID cannot be a domain ID: default"},
		{"password too long", identity.UserCreate{Name: "x", Password: ptr(strings.Repeat("p", 65))}, identity.ErrForbidden,
			"The password length must be less than or equal to 64."},
		{"unknown option", identity.UserCreate{Name: "x", Options: map[string]any{"favourite_color": true}}, identity.ErrValidation,
			"'favourite_color' was unexpected"},
		{"option of the wrong type", identity.UserCreate{Name: "x", Options: map[string]any{"lock_password": "yes"}},
			identity.ErrValidation, "Invalid input for field 'options/lock_password'"},
		{"repeated mfa rule", identity.UserCreate{Name: "x", Options: map[string]any{
			"multi_factor_auth_rules": []any{[]any{"password"}, []any{"password"}}}}, identity.ErrValidation, "must be a list of lists"},
		{"empty mfa rule", identity.UserCreate{Name: "x", Options: map[string]any{
			"multi_factor_auth_rules": []any{[]any{}}}}, identity.ErrValidation, "must be a list of lists"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := e.svc.CreateUser(ctx, c.in)
			wantErr(t, err, c.kind, c.msg)
		})
	}
}

func TestUserUpdate(t *testing.T) {
	t.Parallel()
	e := newCrudEnv(t)
	ctx := e.admin
	u, err := e.svc.CreateUser(ctx, identity.UserCreate{Name: "ann", Password: ptr("pw"),
		Extra: map[string]any{"email": "a@x", "team": "blue"}, Options: map[string]any{"lock_password": true}})
	mustOK(t, err)
	u, err = e.svc.UpdateUser(ctx, u.ID, identity.UserUpdate{Name: ptr("anne"), Extra: map[string]any{"email": "anne@x"},
		Options: map[string]any{"lock_password": nil}})
	mustOK(t, err)
	if u.Name != "anne" || u.Extra["email"] != "anne@x" || u.Extra["team"] != "blue" || len(u.Options) != 0 {
		t.Fatalf("updated %+v", u)
	}
	if e.revoked(t, identity.RevocationEvent{UserID: u.ID}) {
		t.Fatal("a rename revoked the user's tokens")
	}
	_, err = e.svc.CreateUser(ctx, identity.UserCreate{Name: "bob"})
	mustOK(t, err)
	cases := []struct {
		name string
		u    identity.UserUpdate
		kind error
		msg  string
	}{
		{"change id", identity.UserUpdate{ID: ptr("other")}, identity.ErrValidation, "Cannot change ID"},
		{"change domain", identity.UserUpdate{DomainID: ptr("other")}, identity.ErrValidation, "Cannot change Domain ID"},
		{"taken name", identity.UserUpdate{Name: ptr("bob")}, identity.ErrConflict, "Duplicate entry found with name bob"},
		{"password too long", identity.UserUpdate{Password: ptr(strings.Repeat("p", 65))}, identity.ErrForbidden, "password length"},
		{"unknown default project", identity.UserUpdate{DefaultProjectID: ptr("nope")}, identity.ErrValidation, "Could not find project: nope."},
		{"unknown option", identity.UserUpdate{Options: map[string]any{"nope": true}}, identity.ErrValidation, "'nope' was unexpected"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := e.svc.UpdateUser(ctx, u.ID, c.u)
			wantErr(t, err, c.kind, c.msg)
		})
	}
	_, err = e.svc.UpdateUser(ctx, "ghost", identity.UserUpdate{Name: ptr("x")})
	wantErr(t, err, identity.ErrNotFound, "Could not find user: ghost.")
}

func TestUserRevocation(t *testing.T) {
	t.Parallel()
	e := newCrudEnv(t)
	ctx := e.admin
	u, err := e.svc.CreateUser(ctx, identity.UserCreate{Name: "rev", Password: ptr("old")})
	mustOK(t, err)
	tok, err := e.login(u.ID, "old", "")
	mustOK(t, err)
	_, err = e.svc.UpdateUser(ctx, u.ID, identity.UserUpdate{Password: ptr("new")})
	mustOK(t, err)
	_, err = e.svc.ValidateToken(context.Background(), tok.ID, false)
	wantErr(t, err, identity.ErrUnauthorized, "revoked")
	if _, err := e.login(u.ID, "old", ""); err == nil {
		t.Fatal("the old password still works after a reset")
	}
	tok, err = e.login(u.ID, "new", "")
	mustOK(t, err)

	_, err = e.svc.UpdateUser(ctx, u.ID, identity.UserUpdate{Enabled: ptr(false)})
	mustOK(t, err)
	_, err = e.svc.ValidateToken(context.Background(), tok.ID, false)
	wantErr(t, err, identity.ErrUnauthorized, "")
	_, err = e.svc.UpdateUser(ctx, u.ID, identity.UserUpdate{Enabled: ptr(true)})
	mustOK(t, err)

	tok, err = e.login(u.ID, "new", "")
	mustOK(t, err)
	mustOK(t, e.svc.DeleteUser(ctx, u.ID))
	_, err = e.svc.ValidateToken(context.Background(), tok.ID, false)
	wantErr(t, err, identity.ErrUnauthorized, "")
	if !e.revoked(t, identity.RevocationEvent{UserID: u.ID}) {
		t.Fatal("no revocation event for the user")
	}
	_, err = e.svc.GetUser(ctx, u.ID)
	wantErr(t, err, identity.ErrNotFound, "Could not find user: "+u.ID+".")
	wantErr(t, e.svc.DeleteUser(ctx, u.ID), identity.ErrNotFound, "Could not find user")
}

func TestChangePassword(t *testing.T) {
	t.Parallel()
	e := newCrudEnv(t)
	ctx := e.admin
	u, err := e.svc.CreateUser(ctx, identity.UserCreate{Name: "self", Password: ptr("first")})
	mustOK(t, err)
	tok, err := e.login(u.ID, "first", "")
	mustOK(t, err)
	anon := context.Background() // the call needs no token
	cases := []struct {
		name, user, original, password string
		kind                           error
		msg                            string
	}{
		{"wrong original password", u.ID, "guess", "second", identity.ErrUnauthorized, "requires authentication"},
		{"unknown user", "ghost", "first", "second", identity.ErrUnauthorized, "requires authentication"},
		{"new password too long", u.ID, "first", strings.Repeat("x", 65), identity.ErrValidation, "Invalid input for field 'password'"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			wantErr(t, e.svc.ChangePassword(anon, c.user, c.original, c.password), c.kind, c.msg)
		})
	}
	mustOK(t, e.svc.ChangePassword(anon, u.ID, "first", "second"))
	_, err = e.svc.ValidateToken(anon, tok.ID, false)
	wantErr(t, err, identity.ErrUnauthorized, "revoked")
	if _, err := e.login(u.ID, "second", ""); err != nil {
		t.Fatalf("log in with the changed password: %v", err)
	}
	_, err = e.svc.UpdateUser(ctx, u.ID, identity.UserUpdate{Options: map[string]any{"lock_password": true}})
	mustOK(t, err)
	wantErr(t, e.svc.ChangePassword(anon, u.ID, "second", "third"), identity.ErrValidation, "password policy disallowing password changes")
	_, err = e.svc.UpdateUser(ctx, u.ID, identity.UserUpdate{Enabled: ptr(false), Options: map[string]any{"lock_password": false}})
	mustOK(t, err)
	wantErr(t, e.svc.ChangePassword(anon, u.ID, "second", "third"), identity.ErrUnauthorized, "")
}

func TestUserListFilters(t *testing.T) {
	t.Parallel()
	e := newCrudEnv(t)
	ctx := e.admin
	other, err := e.svc.CreateDomain(ctx, identity.DomainCreate{Name: "other"})
	mustOK(t, err)
	on, err := e.svc.CreateUser(ctx, identity.UserCreate{Name: "on"})
	mustOK(t, err)
	off, err := e.svc.CreateUser(ctx, identity.UserCreate{Name: "off", Enabled: ptr(false)})
	mustOK(t, err)
	away, err := e.svc.CreateUser(ctx, identity.UserCreate{Name: "on", DomainID: other.ID})
	mustOK(t, err)
	ids := func(us []identity.User) []string {
		out := make([]string, len(us))
		for i, u := range us {
			out[i] = u.ID
		}
		slices.Sort(out)
		return out
	}
	cases := []struct {
		name string
		f    identity.UserFilter
		want []string
	}{
		{"name", identity.UserFilter{Name: "on"}, sortedIDs(on.ID, away.ID)},
		{"domain and name", identity.UserFilter{Name: "on", DomainID: other.ID}, []string{away.ID}},
		{"disabled", identity.UserFilter{Enabled: ptr(false)}, []string{off.ID}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			us, err := e.svc.ListUsers(ctx, c.f)
			mustOK(t, err)
			if got := ids(us); !slices.Equal(got, c.want) {
				t.Fatalf("got %v, want %v", got, c.want)
			}
		})
	}
	us, err := e.svc.ListUsers(e.as(e.boot.AdminUserID, other.ID), identity.UserFilter{})
	mustOK(t, err)
	if got := ids(us); !slices.Equal(got, []string{away.ID}) {
		t.Fatalf("domain-scoped list = %v", got)
	}
	if tgt := e.authz.target("identity:list_users")["target"].(map[string]any); tgt["domain_id"] != other.ID {
		t.Fatalf("list_users target = %v", tgt)
	}
}

func TestListUserGroups(t *testing.T) {
	t.Parallel()
	e := newCrudEnv(t)
	ctx := e.admin
	u, err := e.svc.CreateUser(ctx, identity.UserCreate{Name: "member"})
	mustOK(t, err)
	for _, name := range []string{"alpha", "beta"} {
		g, err := e.svc.CreateGroup(ctx, identity.GroupCreate{Name: name})
		mustOK(t, err)
		mustOK(t, e.svc.AddUserToGroup(ctx, g.ID, u.ID))
	}
	gs, err := e.svc.ListUserGroups(ctx, u.ID, "")
	mustOK(t, err)
	if len(gs) != 2 {
		t.Fatalf("groups = %+v", gs)
	}
	gs, err = e.svc.ListUserGroups(ctx, u.ID, "beta")
	mustOK(t, err)
	if len(gs) != 1 || gs[0].Name != "beta" {
		t.Fatalf("groups named beta = %+v", gs)
	}
	if tgt := e.authz.target("identity:list_groups_for_user"); tgt["user_id"] != u.ID {
		t.Fatalf("list_groups_for_user target = %v", tgt)
	}
	_, err = e.svc.ListUserGroups(ctx, "ghost", "")
	wantErr(t, err, identity.ErrNotFound, "Could not find user: ghost.")
}
