package identitysql_test

import (
	"context"
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/db"
	"github.com/nimbus-cloud/nimbus/internal/db/dbtest"
	"github.com/nimbus-cloud/nimbus/internal/identity"
	"github.com/nimbus-cloud/nimbus/internal/identity/identitysql"
)

var (
	t1 = time.Date(2026, 3, 1, 12, 0, 0, 123456000, time.UTC)
	t2 = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
)

func TestUsers(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *identitysql.Store, d *db.DB) {
		ctx := context.Background()
		mkDomain(t, s, "d1")
		mkDomain(t, s, "d2")
		mkProject(t, s, "p", "d1", "")
		u1 := identity.User{ID: "u1", Name: "alice", DomainID: "d1", Enabled: true, DefaultProjectID: "p",
			Description: "admin", Extra: map[string]any{"email": "alice@example.org"},
			Options:      map[string]any{"ignore_password_expiry": true},
			PasswordHash: "$2a$10$hash", PasswordCreatedAt: t1.Add(-time.Hour), PasswordExpiresAt: t1}
		dbtest.Must(t, s.CreateUser(ctx, u1))
		dbtest.Must(t, s.CreateUser(ctx, identity.User{ID: "u2", Name: "bob", DomainID: "d1", PasswordExpiresAt: t2}))
		dbtest.Must(t, s.CreateUser(ctx, identity.User{ID: "u3", Name: "same", DomainID: "d2", Enabled: true}))
		dbtest.Must(t, s.CreateUser(ctx, identity.User{ID: "u4", Name: "same", DomainID: "d1", Enabled: true,
			Extra: map[string]any{}}))
		mkGroup(t, s, "g1", "d1")
		mkGroup(t, s, "g2", "d1")
		for _, m := range [][2]string{{"u1", "g1"}, {"u3", "g1"}, {"u4", "g2"}} {
			dbtest.Must(t, s.AddUserToGroup(ctx, m[0], m[1]))
		}

		t.Run("get", func(t *testing.T) {
			got, err := s.GetUser(ctx, "u1")
			dbtest.Must(t, err)
			dbtest.Same(t, got, u1)
			got, err = s.GetUserByName(ctx, "d1", "same")
			dbtest.Must(t, err)
			dbtest.Same(t, got, identity.User{ID: "u4", Name: "same", DomainID: "d1", Enabled: true})
		})
		t.Run("not found", func(t *testing.T) {
			_, err := s.GetUser(ctx, "missing")
			dbtest.WantErr(t, err, identity.ErrNotFound)
			_, err = s.GetUserByName(ctx, "d2", "alice")
			dbtest.WantErr(t, err, identity.ErrNotFound)
			dbtest.WantErr(t, s.CreateUser(ctx, identity.User{ID: "x", Name: "x", DomainID: "nodomain"}), identity.ErrNotFound)
			dbtest.WantErr(t, s.UpdateUser(ctx, identity.User{ID: "missing", Name: "m", DomainID: "d1"}), identity.ErrNotFound)
			dbtest.WantErr(t, s.DeleteUser(ctx, "missing"), identity.ErrNotFound)
		})
		t.Run("conflict", func(t *testing.T) {
			dbtest.WantErr(t, s.CreateUser(ctx, identity.User{ID: "u1", Name: "new", DomainID: "d1"}), identity.ErrConflict)
			dbtest.WantErr(t, s.CreateUser(ctx, identity.User{ID: "u9", Name: "alice", DomainID: "d1"}), identity.ErrConflict)
			dbtest.WantErr(t, s.UpdateUser(ctx, identity.User{ID: "u2", Name: "alice", DomainID: "d1"}), identity.ErrConflict)
		})
		t.Run("list", func(t *testing.T) { testListUsers(t, s) })
		t.Run("update", func(t *testing.T) {
			upd := identity.User{ID: "u2", Name: "robert", DomainID: "d1", Enabled: true, DefaultProjectID: "p",
				Description: "d", Extra: map[string]any{"email": "b@example.org"}, Options: map[string]any{"o": "v"},
				PasswordHash: "h2", PasswordCreatedAt: t1, PasswordExpiresAt: t2}
			dbtest.Must(t, s.UpdateUser(ctx, upd))
			dbtest.Must(t, s.UpdateUser(ctx, upd)) // unchanged
			got, err := s.GetUser(ctx, "u2")
			dbtest.Must(t, err)
			dbtest.Same(t, got, upd)
			cleared := identity.User{ID: "u2", Name: "robert", DomainID: "d1"} // password and the rest cleared
			dbtest.Must(t, s.UpdateUser(ctx, cleared))
			got, err = s.GetUser(ctx, "u2")
			dbtest.Must(t, err)
			dbtest.Same(t, got, cleared)
			dbtest.WantErr(t, s.UpdateUser(ctx, identity.User{ID: "u2", Name: "robert", DomainID: "nodomain"}), identity.ErrNotFound)
		})
		t.Run("delete cascades", func(t *testing.T) { testDeleteUser(t, s, d) })
	})
}

// testListUsers runs every UserFilter field against the fixture of TestUsers.
func testListUsers(t *testing.T, s *identitysql.Store) {
	ctx := context.Background()
	cases := []struct {
		name string
		f    identity.UserFilter
		want []string
	}{
		{"all", identity.UserFilter{}, []string{"u1", "u2", "u3", "u4"}},
		{"domain", identity.UserFilter{DomainID: "d1"}, []string{"u1", "u2", "u4"}},
		{"name", identity.UserFilter{Name: "same"}, []string{"u3", "u4"}},
		{"enabled", identity.UserFilter{Enabled: ptr(true)}, []string{"u1", "u3", "u4"}},
		{"disabled", identity.UserFilter{Enabled: ptr(false)}, []string{"u2"}},
		{"group", identity.UserFilter{GroupID: "g1"}, []string{"u1", "u3"}},
		{"group in domain", identity.UserFilter{GroupID: "g1", DomainID: "d2"}, []string{"u3"}},
		{"missing group", identity.UserFilter{GroupID: "nogroup"}, nil},
		{"ids empty", identity.UserFilter{IDs: []string{}}, nil},
		{"ids", identity.UserFilter{IDs: []string{"u2", "u9"}}, []string{"u2"}},
		{"expires lt", identity.UserFilter{PasswordExpiresOp: "lt", PasswordExpiresAt: t2}, []string{"u1"}},
		{"expires lte", identity.UserFilter{PasswordExpiresOp: "lte", PasswordExpiresAt: t2}, []string{"u1", "u2"}},
		{"expires gt", identity.UserFilter{PasswordExpiresOp: "gt", PasswordExpiresAt: t1}, []string{"u2"}},
		{"expires gte", identity.UserFilter{PasswordExpiresOp: "gte", PasswordExpiresAt: t1}, []string{"u1", "u2"}},
		{"expires eq", identity.UserFilter{PasswordExpiresOp: "eq", PasswordExpiresAt: t1}, []string{"u1"}},
		{"expires neq", identity.UserFilter{PasswordExpiresOp: "neq", PasswordExpiresAt: t1}, []string{"u2"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := s.ListUsers(ctx, c.f)
			dbtest.Must(t, err)
			dbtest.Same(t, idsOf(got, userID), c.want)
		})
	}
	_, err := s.ListUsers(ctx, identity.UserFilter{PasswordExpiresOp: "like", PasswordExpiresAt: t1})
	dbtest.WantErr(t, err, identity.ErrValidation)
	_, err = s.ListUsers(ctx, identity.UserFilter{PasswordExpiresOp: "lt"})
	dbtest.WantErr(t, err, identity.ErrValidation)
}

// testDeleteUser checks that a user's memberships, assignments and application
// credentials go with it, and nothing else.
func testDeleteUser(t *testing.T, s *identitysql.Store, d *db.DB) {
	ctx := context.Background()
	mkRole(t, s, "r", "")
	kept := []identity.Assignment{
		{Type: identity.GroupProject, ActorID: "g1", TargetID: "p", RoleID: "r"},
		{Type: identity.UserProject, ActorID: "u3", TargetID: "p", RoleID: "r"},
	}
	for _, a := range append([]identity.Assignment{
		{Type: identity.UserProject, ActorID: "u1", TargetID: "p", RoleID: "r"},
		{Type: identity.UserDomain, ActorID: "u1", TargetID: "d1", RoleID: "r", Inherited: true},
		{Type: identity.UserSystem, ActorID: "u1", TargetID: identity.SystemTarget, RoleID: "r"},
	}, kept...) {
		dbtest.Must(t, s.CreateAssignment(ctx, a))
	}
	dbtest.Must(t, s.CreateApplicationCredential(ctx, identity.ApplicationCredential{ID: "ac1", Name: "a",
		UserID: "u1", RoleIDs: []string{"r"}}))
	dbtest.Must(t, s.CreateApplicationCredential(ctx, identity.ApplicationCredential{ID: "ac3", Name: "a",
		UserID: "u3", RoleIDs: []string{"r"}}))

	dbtest.Must(t, s.DeleteUser(ctx, "u1"))
	_, err := s.GetUser(ctx, "u1")
	dbtest.WantErr(t, err, identity.ErrNotFound)
	members, err := s.ListUsers(ctx, identity.UserFilter{GroupID: "g1"})
	dbtest.Must(t, err)
	dbtest.Same(t, idsOf(members, userID), []string{"u3"})
	as, err := s.ListAssignments(ctx, identity.AssignmentFilter{})
	dbtest.Must(t, err)
	dbtest.Same(t, as, kept)
	_, err = s.GetApplicationCredential(ctx, "ac1")
	dbtest.WantErr(t, err, identity.ErrNotFound)
	dbtest.Same(t, count(t, d, "SELECT COUNT(*) FROM application_credential_role"), 1)
	dbtest.WantErr(t, s.DeleteUser(ctx, "u1"), identity.ErrNotFound)
}
