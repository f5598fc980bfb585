package identity_test

import (
	"context"
	"strings"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/identity"
)

// mkRole creates a role through the service; domainID "" makes a global role.
func (e *crudEnv) mkRole(t *testing.T, name, domainID string) identity.Role {
	t.Helper()
	r, err := e.svc.CreateRole(e.admin, identity.Role{Name: name, DomainID: domainID})
	mustOK(t, err)
	return r
}

// mkUser creates an enabled user with a password straight in the store.
func (e *crudEnv) mkUser(t *testing.T, name string) identity.User {
	t.Helper()
	u := identity.User{ID: identity.NewID(), Name: name, DomainID: "default", Enabled: true, PasswordHash: "hashed:pw"}
	mustOK(t, e.store.CreateUser(context.Background(), u))
	return u
}

// mkGroup creates a group of the default domain with the given members.
func (e *crudEnv) mkGroup(t *testing.T, name string, members ...string) identity.Group {
	t.Helper()
	ctx := context.Background()
	g := identity.Group{ID: identity.NewID(), Name: name, DomainID: "default"}
	mustOK(t, e.store.CreateGroup(ctx, g))
	for _, m := range members {
		mustOK(t, e.store.AddUserToGroup(ctx, m, g.ID))
	}
	return g
}

// tokenAlive reports whether the token still validates.
func (e *crudEnv) tokenAlive(tok *identity.Token) bool {
	_, err := e.svc.ValidateToken(context.Background(), tok.ID, false)
	return err == nil
}

func TestRoleLifecycle(t *testing.T) {
	t.Parallel()
	e := newCrudEnv(t)
	ctx := e.admin
	r, err := e.svc.CreateRole(ctx, identity.Role{Name: "observer", Description: "looks"})
	mustOK(t, err)
	if len(r.ID) != 32 || r.DomainID != "" {
		t.Fatalf("created role = %+v", r)
	}
	_, err = e.svc.CreateRole(ctx, identity.Role{Name: "observer"})
	wantErr(t, err, identity.ErrConflict, "Conflict occurred attempting to store role - Duplicate entry found with name observer.")
	dr, err := e.svc.CreateRole(ctx, identity.Role{Name: "observer", DomainID: "default"})
	mustOK(t, err)
	_, err = e.svc.CreateRole(ctx, identity.Role{Name: "observer", DomainID: "default"})
	wantErr(t, err, identity.ErrConflict, "at domain ID default")
	if tgt := e.authz.target("identity:create_domain_role"); tgt == nil {
		t.Fatal("a domain-specific role was not created under identity:create_domain_role")
	}

	global, err := e.svc.ListRoles(ctx, "", "")
	mustOK(t, err)
	if len(global) != 4 {
		t.Fatalf("global roles = %d, want admin, member, reader, observer", len(global))
	}
	named, err := e.svc.ListRoles(ctx, "observer", "default")
	mustOK(t, err)
	if len(named) != 1 || named[0].ID != dr.ID {
		t.Fatalf("domain roles named observer = %+v", named)
	}

	got, err := e.svc.GetRole(ctx, r.ID)
	mustOK(t, err)
	if got.Name != "observer" || got.Description != "looks" {
		t.Fatalf("GetRole = %+v", got)
	}
	up, err := e.svc.UpdateRole(ctx, r.ID, identity.RoleUpdate{Name: ptr("watcher"), DomainID: ptr("")})
	mustOK(t, err)
	if up.Name != "watcher" || up.Description != "looks" {
		t.Fatalf("updated role = %+v", up)
	}
	_, err = e.svc.UpdateRole(ctx, r.ID, identity.RoleUpdate{DomainID: ptr("default")})
	wantErr(t, err, identity.ErrValidation, "Update of `domain_id` is not allowed.")
	_, err = e.svc.UpdateRole(ctx, r.ID, identity.RoleUpdate{Name: ptr("admin")})
	wantErr(t, err, identity.ErrConflict, "Duplicate entry found with name admin.")

	mustOK(t, e.svc.DeleteRole(ctx, r.ID))
	_, err = e.svc.GetRole(ctx, r.ID)
	wantErr(t, err, identity.ErrNotFound, "Could not find role: "+r.ID+".")
	wantErr(t, e.svc.DeleteRole(ctx, r.ID), identity.ErrNotFound, "Could not find role: ")
}

func TestRoleBadInput(t *testing.T) {
	t.Parallel()
	e := newCrudEnv(t)
	cases := []struct {
		name string
		in   identity.Role
		kind error
		msg  string
	}{
		{"empty name", identity.Role{}, identity.ErrValidation, "is too short"},
		{"blank name", identity.Role{Name: "   "}, identity.ErrValidation, "does not match"},
		{"long name", identity.Role{Name: strings.Repeat("r", 256)}, identity.ErrValidation, "is too long"},
		{"long description", identity.Role{Name: "x", Description: strings.Repeat("d", 256)}, identity.ErrValidation, "is too long"},
		{"unknown option", identity.Role{Name: "x", Options: map[string]any{"sticky": true}}, identity.ErrValidation, "'sticky' was unexpected"},
		{"option not boolean", identity.Role{Name: "x", Options: map[string]any{"immutable": "yes"}}, identity.ErrValidation, "is not of type 'boolean'"},
		{"unknown domain", identity.Role{Name: "x", DomainID: "nodomain"}, identity.ErrNotFound, "Could not find domain: nodomain."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := e.svc.CreateRole(e.admin, c.in)
			wantErr(t, err, c.kind, c.msg)
		})
	}
}

func TestImmutableRole(t *testing.T) {
	t.Parallel()
	e := newCrudEnv(t)
	ctx := e.admin
	r, err := e.svc.CreateRole(ctx, identity.Role{Name: "pinned", Options: map[string]any{"immutable": true}})
	mustOK(t, err)
	_, err = e.svc.UpdateRole(ctx, r.ID, identity.RoleUpdate{Name: ptr("moved")})
	wantErr(t, err, identity.ErrForbidden, "Unable to update immutable role resource")
	_, err = e.svc.UpdateRole(ctx, r.ID, identity.RoleUpdate{Name: ptr("moved"), Options: map[string]any{"immutable": false}})
	wantErr(t, err, identity.ErrForbidden, "immutable")
	wantErr(t, e.svc.DeleteRole(ctx, r.ID), identity.ErrForbidden, "Unable to delete immutable role resource")

	r, err = e.svc.UpdateRole(ctx, r.ID, identity.RoleUpdate{Options: map[string]any{"immutable": nil}})
	mustOK(t, err)
	if _, set := r.Options["immutable"]; set {
		t.Fatalf("options after clearing immutable = %v", r.Options)
	}
	mustOK(t, e.svc.DeleteRole(ctx, r.ID))
}

func TestImpliedRoleRules(t *testing.T) {
	t.Parallel()
	e := newCrudEnv(t)
	ctx := e.admin
	a, b, c := e.mkRole(t, "a", ""), e.mkRole(t, "b", ""), e.mkRole(t, "c", "")
	local := e.mkRole(t, "local", "default")

	inf, err := e.svc.CreateImpliedRole(ctx, a.ID, b.ID)
	mustOK(t, err)
	if inf.Prior.ID != a.ID || inf.Implied.Name != "b" {
		t.Fatalf("inference = %+v", inf)
	}
	mustOK(t, func() error { _, err := e.svc.CreateImpliedRole(ctx, b.ID, c.ID); return err }())

	cases := []struct {
		name           string
		prior, implied string
		kind           error
		msg            string
	}{
		{"duplicate", a.ID, b.ID, identity.ErrConflict, "Conflict occurred attempting to store implied_role - Duplicate entry."},
		{"loop", c.ID, a.ID, identity.ErrForbidden, "loop"},
		{"self", a.ID, a.ID, identity.ErrForbidden, "loop"},
		{"global implies domain-specific", a.ID, local.ID, identity.ErrForbidden, "Global role cannot imply a domain-specific role"},
		{"prohibited implied role", a.ID, e.roleIDs["admin"], identity.ErrForbidden, "cannot be an implied roles."},
		{"unknown prior", "noprior", b.ID, identity.ErrNotFound, "Could not find role: noprior."},
		{"unknown implied", a.ID, "noimplied", identity.ErrNotFound, "Could not find role: noimplied."},
	}
	for _, cs := range cases {
		t.Run(cs.name, func(t *testing.T) {
			_, err := e.svc.CreateImpliedRole(ctx, cs.prior, cs.implied)
			wantErr(t, err, cs.kind, cs.msg)
		})
	}
	// A domain-specific role may imply a global one.
	_, err = e.svc.CreateImpliedRole(ctx, local.ID, c.ID)
	mustOK(t, err)

	_, err = e.svc.GetImpliedRole(ctx, a.ID, b.ID)
	mustOK(t, err)
	mustOK(t, e.svc.CheckImpliedRole(ctx, a.ID, b.ID))
	wantErr(t, e.svc.CheckImpliedRole(ctx, a.ID, c.ID), identity.ErrNotFound, a.ID+" does not imply "+c.ID+".")
	rule, err := e.svc.ListImpliedRoles(ctx, a.ID)
	mustOK(t, err)
	if rule.Prior.ID != a.ID || len(rule.Implies) != 1 || rule.Implies[0].ID != b.ID {
		t.Fatalf("implies of a = %+v", rule)
	}
	rule, err = e.svc.ListImpliedRoles(ctx, c.ID)
	mustOK(t, err)
	if rule.Implies == nil || len(rule.Implies) != 0 {
		t.Fatalf("implies of c = %+v, want an empty list", rule)
	}
	all, err := e.svc.ListRoleInferences(ctx)
	mustOK(t, err)
	priors := map[string]int{}
	for _, r := range all {
		priors[r.Prior.Name] = len(r.Implies)
	}
	// Bootstrap's admin -> member -> reader plus a -> b, b -> c, local -> c.
	if len(all) != 5 || priors["a"] != 1 || priors["admin"] != 1 || priors["local"] != 1 {
		t.Fatalf("role inferences = %v", priors)
	}

	mustOK(t, e.svc.DeleteImpliedRole(ctx, a.ID, b.ID))
	_, err = e.svc.GetImpliedRole(ctx, a.ID, b.ID)
	wantErr(t, err, identity.ErrNotFound, "does not imply")
	wantErr(t, e.svc.DeleteImpliedRole(ctx, a.ID, b.ID), identity.ErrNotFound, "does not imply")
}

func TestRoleChangesRevokeTokens(t *testing.T) {
	t.Parallel()
	e := newCrudEnv(t)
	ctx := e.admin
	u := e.mkUser(t, "alice")
	prior, implied, extra := e.mkRole(t, "prior", ""), e.mkRole(t, "implied", ""), e.mkRole(t, "extra", "")
	_, err := e.svc.CreateImpliedRole(ctx, prior.ID, implied.ID)
	mustOK(t, err)
	for _, r := range []string{prior.ID, extra.ID} {
		mustOK(t, e.svc.CreateGrant(ctx, identity.Grant{UserID: u.ID, ProjectID: e.boot.AdminProjectID, RoleID: r}))
	}

	tok, err := e.login(u.ID, "pw", e.boot.AdminProjectID)
	mustOK(t, err)
	if len(tok.Roles) != 3 {
		t.Fatalf("token roles = %+v, want prior, implied and extra", tok.Roles)
	}
	mustOK(t, e.svc.DeleteImpliedRole(ctx, prior.ID, implied.ID))
	if e.tokenAlive(tok) {
		t.Fatal("token carrying the prior role survived the deletion of its implication")
	}

	tok, err = e.login(u.ID, "pw", e.boot.AdminProjectID)
	mustOK(t, err)
	mustOK(t, e.svc.DeleteRole(ctx, extra.ID))
	if e.tokenAlive(tok) {
		t.Fatal("token carrying a deleted role survived")
	}
	tok, err = e.login(u.ID, "pw", e.boot.AdminProjectID)
	mustOK(t, err)
	if len(tok.Roles) != 1 || tok.Roles[0].ID != prior.ID {
		t.Fatalf("roles of a new token = %+v, want prior alone", tok.Roles)
	}
}

func TestRolePolicyTargets(t *testing.T) {
	t.Parallel()
	e := newCrudEnv(t)
	local := e.mkRole(t, "local", "default")
	_, err := e.svc.GetRole(e.admin, local.ID)
	mustOK(t, err)
	role := e.authz.target("identity:get_domain_role")["target"].(map[string]any)["role"].(map[string]any)
	if role["domain_id"] != "default" || role["name"] != "local" {
		t.Fatalf("get_domain_role target = %v", role)
	}
	e.authz.denyRule("identity:get_role")
	_, err = e.svc.GetRole(e.admin, "missing")
	wantErr(t, err, identity.ErrForbidden, "identity:get_role")
	_, err = e.svc.GetRole(e.as(e.boot.AdminUserID, ""), e.roleIDs["member"])
	wantErr(t, err, identity.ErrForbidden, "identity:get_role")
	_, err = e.svc.GetRole(context.Background(), local.ID)
	wantErr(t, err, identity.ErrUnauthorized, "requires authentication")
}
