package identity_test

import (
	"context"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/identity"
)

func TestGrantLifecycle(t *testing.T) {
	t.Parallel()
	e := newCrudEnv(t)
	ctx := e.admin
	u := e.mkUser(t, "alice")
	g := e.mkGroup(t, "ops", u.ID)
	role := e.mkRole(t, "observer", "")
	project := e.boot.AdminProjectID
	cases := []struct {
		name  string
		grant identity.Grant
		rule  string
	}{
		{"user on project", identity.Grant{UserID: u.ID, ProjectID: project}, "identity:create_grant"},
		{"group on project", identity.Grant{GroupID: g.ID, ProjectID: project}, "identity:create_grant"},
		{"user on domain", identity.Grant{UserID: u.ID, DomainID: "default"}, "identity:create_grant"},
		{"group on domain", identity.Grant{GroupID: g.ID, DomainID: "default"}, "identity:create_grant"},
		{"user on system", identity.Grant{UserID: u.ID, System: true}, "identity:create_system_grant_for_user"},
		{"group on system", identity.Grant{GroupID: g.ID, System: true}, "identity:create_system_grant_for_group"},
		{"user inherited on domain", identity.Grant{UserID: u.ID, DomainID: "default", Inherited: true}, "identity:create_grant"},
		{"group inherited on project", identity.Grant{GroupID: g.ID, ProjectID: project, Inherited: true}, "identity:create_grant"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			gr := c.grant
			gr.RoleID = role.ID
			wantErr(t, e.svc.CheckGrant(ctx, gr), identity.ErrNotFound, "Could not find role assignment with role: "+role.ID)
			mustOK(t, e.svc.CreateGrant(ctx, gr))
			mustOK(t, e.svc.CreateGrant(ctx, gr)) // idempotent, as keystone
			if e.authz.target(c.rule) == nil {
				t.Fatalf("rule %s was not enforced", c.rule)
			}
			mustOK(t, e.svc.CheckGrant(ctx, gr))
			roles, err := e.svc.ListGrants(ctx, gr)
			mustOK(t, err)
			if len(roles) != 1 || roles[0].ID != role.ID {
				t.Fatalf("ListGrants = %+v", roles)
			}
			// The inherited and the direct assignment are different grants.
			other := gr
			other.Inherited = !gr.Inherited
			if !gr.System {
				wantErr(t, e.svc.CheckGrant(ctx, other), identity.ErrNotFound, "Could not find role assignment")
			}
			mustOK(t, e.svc.RevokeGrant(ctx, gr))
			wantErr(t, e.svc.CheckGrant(ctx, gr), identity.ErrNotFound, "Could not find role assignment")
			wantErr(t, e.svc.RevokeGrant(ctx, gr), identity.ErrNotFound, "Could not find role assignment")
		})
	}
}

func TestGrantBadInput(t *testing.T) {
	t.Parallel()
	e := newCrudEnv(t)
	ctx := e.admin
	u := e.mkUser(t, "alice")
	g := e.mkGroup(t, "ops")
	role := e.mkRole(t, "observer", "")
	other, err := e.svc.CreateDomain(ctx, identity.DomainCreate{Name: "other"})
	mustOK(t, err)
	otherRole := e.mkRole(t, "local", other.ID)
	project := e.boot.AdminProjectID
	cases := []struct {
		name  string
		grant identity.Grant
		kind  error
		msg   string
	}{
		{"unknown role", identity.Grant{UserID: u.ID, ProjectID: project, RoleID: "norole"}, identity.ErrNotFound, "Could not find role: norole."},
		{"unknown user", identity.Grant{UserID: "nouser", ProjectID: project, RoleID: role.ID}, identity.ErrNotFound, "Could not find user: nouser."},
		{"unknown group", identity.Grant{GroupID: "nogroup", ProjectID: project, RoleID: role.ID}, identity.ErrNotFound, "Could not find group: nogroup."},
		{"unknown project", identity.Grant{UserID: u.ID, ProjectID: "noproject", RoleID: role.ID}, identity.ErrNotFound, "Could not find project: noproject."},
		{"unknown domain", identity.Grant{GroupID: g.ID, DomainID: "nodomain", RoleID: role.ID}, identity.ErrNotFound, "Could not find domain: nodomain."},
		{"domain role on a project of another domain", identity.Grant{UserID: u.ID, ProjectID: project, RoleID: otherRole.ID},
			identity.ErrForbidden, "must be in the same domain as the role"},
		{"domain role on another domain", identity.Grant{UserID: u.ID, DomainID: "default", RoleID: otherRole.ID},
			identity.ErrForbidden, "must be the domain of the role"},
		{"domain role on the system", identity.Grant{UserID: u.ID, System: true, RoleID: otherRole.ID},
			identity.ErrValidation, "Unable to use a domain-specific role in a system assignment."},
		{"user and group", identity.Grant{UserID: u.ID, GroupID: g.ID, ProjectID: project, RoleID: role.ID}, identity.ErrValidation, "not both"},
		{"inherited system", identity.Grant{UserID: u.ID, System: true, Inherited: true, RoleID: role.ID}, identity.ErrValidation, "cannot be inherited"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			wantErr(t, e.svc.CreateGrant(ctx, c.grant), c.kind, c.msg)
		})
	}
	// A domain-specific role is fine on its own domain.
	mustOK(t, e.svc.CreateGrant(ctx, identity.Grant{UserID: u.ID, DomainID: other.ID, RoleID: otherRole.ID}))
	// Revoking needs no living actor, but a real assignment.
	wantErr(t, e.svc.RevokeGrant(ctx, identity.Grant{UserID: "gone", ProjectID: project, RoleID: role.ID}),
		identity.ErrNotFound, "Could not find role assignment with role: "+role.ID+", user or group: gone, project, domain, or system: "+project+".")
}

func TestGrantPolicyTarget(t *testing.T) {
	t.Parallel()
	e := newCrudEnv(t)
	u := e.mkUser(t, "alice")
	role := e.mkRole(t, "observer", "")
	mustOK(t, e.svc.CreateGrant(e.admin, identity.Grant{UserID: u.ID, ProjectID: e.boot.AdminProjectID, RoleID: role.ID}))
	tgt := e.authz.target("identity:create_grant")["target"].(map[string]any)
	if tgt["role"].(map[string]any)["domain_id"] != nil || tgt["user"].(map[string]any)["domain_id"] != "default" ||
		tgt["project"].(map[string]any)["id"] != e.boot.AdminProjectID {
		t.Fatalf("create_grant target = %v", tgt)
	}
	e.authz.denyRule("identity:revoke_grant")
	wantErr(t, e.svc.RevokeGrant(e.admin, identity.Grant{UserID: u.ID, ProjectID: e.boot.AdminProjectID, RoleID: role.ID}),
		identity.ErrForbidden, "identity:revoke_grant")
	mustOK(t, e.svc.CheckGrant(e.admin, identity.Grant{UserID: u.ID, ProjectID: e.boot.AdminProjectID, RoleID: role.ID}))
}

func TestRevokeGrantKillsTokens(t *testing.T) {
	t.Parallel()
	e := newCrudEnv(t)
	ctx := e.admin
	member := e.roleIDs["member"]
	extra := e.mkRole(t, "extra", "")
	child := e.mkProject(t, "child", e.boot.AdminProjectID)
	cases := []struct {
		name  string
		grant func(u identity.User, g identity.Group) identity.Grant
		scope func(u identity.User) identity.Scope
	}{
		{"user on project",
			func(u identity.User, _ identity.Group) identity.Grant {
				return identity.Grant{UserID: u.ID, ProjectID: child.ID, RoleID: member}
			},
			func(identity.User) identity.Scope { return identity.Scope{ProjectID: child.ID} }},
		{"group on project",
			func(_ identity.User, g identity.Group) identity.Grant {
				return identity.Grant{GroupID: g.ID, ProjectID: child.ID, RoleID: member}
			},
			func(identity.User) identity.Scope { return identity.Scope{ProjectID: child.ID} }},
		{"user on domain",
			func(u identity.User, _ identity.Group) identity.Grant {
				return identity.Grant{UserID: u.ID, DomainID: "default", RoleID: member}
			},
			func(identity.User) identity.Scope { return identity.Scope{DomainID: "default"} }},
		{"user on system",
			func(u identity.User, _ identity.Group) identity.Grant {
				return identity.Grant{UserID: u.ID, System: true, RoleID: member}
			},
			func(identity.User) identity.Scope { return identity.Scope{System: true} }},
		{"group inherited from the parent project",
			func(_ identity.User, g identity.Group) identity.Grant {
				return identity.Grant{GroupID: g.ID, ProjectID: e.boot.AdminProjectID, Inherited: true, RoleID: member}
			},
			func(identity.User) identity.Scope { return identity.Scope{ProjectID: child.ID} }},
		{"user inherited from the domain",
			func(u identity.User, _ identity.Group) identity.Grant {
				return identity.Grant{UserID: u.ID, DomainID: "default", Inherited: true, RoleID: member}
			},
			func(identity.User) identity.Scope { return identity.Scope{ProjectID: child.ID} }},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			u := e.mkUser(t, "user"+string(rune('a'+i)))
			g := e.mkGroup(t, "group"+string(rune('a'+i)), u.ID)
			gr := c.grant(u, g)
			mustOK(t, e.svc.CreateGrant(ctx, gr))
			// Another role on the same scope keeps the token valid once its
			// roles are recomputed: only the revocation can end it.
			sc := c.scope(u)
			keep := identity.Grant{UserID: u.ID, ProjectID: sc.ProjectID, DomainID: sc.DomainID, System: sc.System, RoleID: extra.ID}
			mustOK(t, e.svc.CreateGrant(ctx, keep))
			tok, err := e.svc.Authenticate(context.Background(), identity.AuthRequest{Methods: []string{"password"},
				Password: &identity.PasswordMethod{UserID: u.ID, Password: "pw"}, Scope: sc})
			mustOK(t, err)
			if len(tok.Roles) < 2 {
				t.Fatalf("token roles = %+v, want member (and reader) with extra", tok.Roles)
			}
			if !e.tokenAlive(tok) {
				t.Fatal("fresh token does not validate")
			}
			mustOK(t, e.svc.RevokeGrant(ctx, gr))
			if e.tokenAlive(tok) {
				t.Fatal("token survived the revocation of the grant behind it")
			}
			again, err := e.svc.Authenticate(context.Background(), identity.AuthRequest{Methods: []string{"password"},
				Password: &identity.PasswordMethod{UserID: u.ID, Password: "pw"}, Scope: sc})
			mustOK(t, err)
			if !e.tokenAlive(again) || len(again.Roles) != 1 {
				t.Fatalf("token issued after the revocation: alive %v, roles %+v", e.tokenAlive(again), again.Roles)
			}
		})
	}
}
