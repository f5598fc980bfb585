package identity_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/auth"
	"github.com/nimbus-cloud/nimbus/internal/auth/policy"
	"github.com/nimbus-cloud/nimbus/internal/identity"
)

func TestGroupLifecycle(t *testing.T) {
	t.Parallel()
	e := newCrudEnv(t)
	ctx := e.admin
	g, err := e.svc.CreateGroup(ctx, identity.GroupCreate{Name: " devs ", Description: "developers"})
	mustOK(t, err)
	if g.Name != "devs" || g.DomainID != "default" || g.Description != "developers" {
		t.Fatalf("created %+v", g)
	}
	g, err = e.svc.UpdateGroup(ctx, g.ID, identity.GroupUpdate{Name: ptr("developers"), Description: ptr("")})
	mustOK(t, err)
	if g.Name != "developers" || g.Description != "" {
		t.Fatalf("updated %+v", g)
	}
	gs, err := e.svc.ListGroups(ctx, identity.GroupFilter{Name: "developers"})
	mustOK(t, err)
	if len(gs) != 1 || gs[0].ID != g.ID {
		t.Fatalf("list by name = %+v", gs)
	}
	mustOK(t, e.svc.DeleteGroup(ctx, g.ID))
	_, err = e.svc.GetGroup(ctx, g.ID)
	wantErr(t, err, identity.ErrNotFound, "Could not find group: "+g.ID+".")
	wantErr(t, e.svc.DeleteGroup(ctx, g.ID), identity.ErrNotFound, "Could not find group")
}

func TestGroupBadInput(t *testing.T) {
	t.Parallel()
	e := newCrudEnv(t)
	ctx := e.admin
	taken, err := e.svc.CreateGroup(ctx, identity.GroupCreate{Name: "taken"})
	mustOK(t, err)
	other, err := e.svc.CreateGroup(ctx, identity.GroupCreate{Name: "other"})
	mustOK(t, err)
	creates := []struct {
		name string
		in   identity.GroupCreate
		kind error
		msg  string
	}{
		{"empty name", identity.GroupCreate{}, identity.ErrValidation, "'' is too short"},
		{"name too long", identity.GroupCreate{Name: strings.Repeat("g", 256)}, identity.ErrValidation, "is too long"},
		{"duplicate", identity.GroupCreate{Name: "taken"}, identity.ErrConflict,
			"Conflict occurred attempting to store group - Duplicate entry found with name taken at domain ID default."},
		{"unknown domain", identity.GroupCreate{Name: "x", DomainID: "nowhere"}, identity.ErrNotFound, "Could not find domain: nowhere."},
	}
	for _, c := range creates {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := e.svc.CreateGroup(ctx, c.in)
			wantErr(t, err, c.kind, c.msg)
		})
	}
	updates := []struct {
		name string
		u    identity.GroupUpdate
		kind error
		msg  string
	}{
		{"rename to a taken name", identity.GroupUpdate{Name: ptr("taken")}, identity.ErrConflict, "name taken"},
		{"change domain", identity.GroupUpdate{DomainID: ptr("elsewhere")}, identity.ErrValidation, "Cannot change Domain ID"},
		{"change id", identity.GroupUpdate{ID: ptr(taken.ID)}, identity.ErrValidation, "Cannot change ID"},
	}
	for _, c := range updates {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := e.svc.UpdateGroup(ctx, other.ID, c.u)
			wantErr(t, err, c.kind, c.msg)
		})
	}
}

func TestGroupMembership(t *testing.T) {
	t.Parallel()
	e := newCrudEnv(t)
	ctx := e.admin
	g, err := e.svc.CreateGroup(ctx, identity.GroupCreate{Name: "g"})
	mustOK(t, err)
	u, err := e.svc.CreateUser(ctx, identity.UserCreate{Name: "u", Password: ptr("pw")})
	mustOK(t, err)
	idle, err := e.svc.CreateUser(ctx, identity.UserCreate{Name: "idle", Enabled: ptr(false)})
	mustOK(t, err)

	wantErr(t, e.svc.CheckUserInGroup(ctx, g.ID, u.ID), identity.ErrNotFound, "User '"+u.ID+"' not found in group '"+g.ID+"'")
	wantErr(t, e.svc.AddUserToGroup(ctx, "nogroup", u.ID), identity.ErrNotFound, "Could not find group: nogroup.")
	wantErr(t, e.svc.AddUserToGroup(ctx, g.ID, "nouser"), identity.ErrNotFound, "Could not find user: nouser.")
	wantErr(t, e.svc.RemoveUserFromGroup(ctx, g.ID, u.ID), identity.ErrNotFound, "not found in group")
	mustOK(t, e.svc.AddUserToGroup(ctx, g.ID, u.ID))
	mustOK(t, e.svc.AddUserToGroup(ctx, g.ID, u.ID)) // again: still fine
	mustOK(t, e.svc.AddUserToGroup(ctx, g.ID, idle.ID))
	mustOK(t, e.svc.CheckUserInGroup(ctx, g.ID, u.ID))

	us, err := e.svc.ListGroupUsers(ctx, g.ID, identity.UserFilter{Enabled: ptr(true)})
	mustOK(t, err)
	if len(us) != 1 || us[0].ID != u.ID {
		t.Fatalf("enabled members = %+v", us)
	}
	_, err = e.svc.ListGroupUsers(ctx, "nogroup", identity.UserFilter{})
	wantErr(t, err, identity.ErrNotFound, "Could not find group: nogroup.")

	p := e.mkProject(t, "p", "")
	e.grant(t, identity.GroupProject, g.ID, p.ID, false)
	tok, err := e.login(u.ID, "pw", p.ID)
	mustOK(t, err)
	mustOK(t, e.svc.RemoveUserFromGroup(ctx, g.ID, u.ID))
	if !e.revoked(t, identity.RevocationEvent{UserID: u.ID}) {
		t.Fatal("removing a member recorded no revocation event")
	}
	_, err = e.svc.ValidateToken(context.Background(), tok.ID, false)
	wantErr(t, err, identity.ErrUnauthorized, "")
}

func TestDeleteGroupWithRolesRevokesMembers(t *testing.T) {
	t.Parallel()
	e := newCrudEnv(t)
	ctx := e.admin
	g, err := e.svc.CreateGroup(ctx, identity.GroupCreate{Name: "g"})
	mustOK(t, err)
	u, err := e.svc.CreateUser(ctx, identity.UserCreate{Name: "u"})
	mustOK(t, err)
	mustOK(t, e.svc.AddUserToGroup(ctx, g.ID, u.ID))
	e.grant(t, identity.GroupProject, g.ID, e.boot.AdminProjectID, false)
	mustOK(t, e.svc.DeleteGroup(ctx, g.ID))
	if !e.revoked(t, identity.RevocationEvent{UserID: u.ID}) {
		t.Fatal("deleting a group that held roles did not revoke its members' tokens")
	}
}

// TestRealPolicyTargets runs the service under identity's default policy, so
// the targets the service builds are checked against keystone's rules.
func TestRealPolicyTargets(t *testing.T) {
	t.Parallel()
	e := newCrudEnv(t)
	enf, err := policy.New(policy.IdentityDefaults(), policy.Options{})
	mustOK(t, err)
	svc := identity.New(identity.Config{MaxPasswordLength: 64}, identity.Deps{Store: e.store,
		Hasher: crudHasher{}, Authz: auth.NewAuthorizer(enf)})
	d, err := e.svc.CreateDomain(e.admin, identity.DomainCreate{Name: "managed"})
	mustOK(t, err)
	mine, err := e.svc.CreateUser(e.admin, identity.UserCreate{Name: "mine", DomainID: d.ID})
	mustOK(t, err)
	theirs, err := e.svc.CreateUser(e.admin, identity.UserCreate{Name: "theirs"})
	mustOK(t, err)
	manager := auth.WithCaller(context.Background(), &auth.Caller{UserID: "m", UserDomainID: d.ID,
		DomainID: d.ID, Roles: []auth.Role{{Name: "manager"}, {Name: "member"}, {Name: "reader"}}})

	_, err = svc.CreateUser(manager, identity.UserCreate{Name: "new", DomainID: d.ID})
	mustOK(t, err)
	_, err = svc.CreateUser(manager, identity.UserCreate{Name: "new", DomainID: "default"})
	wantErr(t, err, identity.ErrForbidden, "identity:create_user")
	_, err = svc.GetUser(manager, mine.ID)
	mustOK(t, err)
	_, err = svc.GetUser(manager, theirs.ID)
	wantErr(t, err, identity.ErrForbidden, "identity:get_user")
	_, err = svc.CreateProject(manager, identity.ProjectCreate{Name: "p", DomainID: d.ID})
	mustOK(t, err)
	us, err := svc.ListUsers(manager, identity.UserFilter{})
	mustOK(t, err)
	if len(us) != 2 {
		t.Fatalf("a domain manager lists %d users, want the 2 of their domain", len(us))
	}
	self := auth.WithCaller(context.Background(), &auth.Caller{UserID: theirs.ID, UserDomainID: "default",
		ProjectID: e.boot.ServiceProjectID, Roles: []auth.Role{{Name: "member"}}})
	_, err = svc.GetUser(self, theirs.ID)
	mustOK(t, err)
	if _, err = svc.ListUserGroups(self, theirs.ID, ""); err != nil {
		t.Fatalf("a user listing their own groups: %v", err)
	}
	if _, err = svc.GetUser(self, mine.ID); !errors.Is(err, identity.ErrForbidden) {
		t.Fatalf("a member reading another user: %v", err)
	}
}
