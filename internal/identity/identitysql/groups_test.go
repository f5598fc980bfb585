package identitysql_test

import (
	"context"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/db"
	"github.com/nimbus-cloud/nimbus/internal/db/dbtest"
	"github.com/nimbus-cloud/nimbus/internal/identity"
	"github.com/nimbus-cloud/nimbus/internal/identity/identitysql"
)

func TestGroups(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *identitysql.Store, _ *db.DB) {
		ctx := context.Background()
		mkDomain(t, s, "d1")
		mkDomain(t, s, "d2")
		g1 := identity.Group{ID: "g1", Name: "admins", DomainID: "d1", Description: "the admins"}
		dbtest.Must(t, s.CreateGroup(ctx, g1))
		dbtest.Must(t, s.CreateGroup(ctx, identity.Group{ID: "g2", Name: "same", DomainID: "d1"}))
		dbtest.Must(t, s.CreateGroup(ctx, identity.Group{ID: "g3", Name: "same", DomainID: "d2"}))
		mkUser(t, s, "u1", "d1")
		mkUser(t, s, "u2", "d2")

		t.Run("get", func(t *testing.T) {
			got, err := s.GetGroup(ctx, "g1")
			dbtest.Must(t, err)
			dbtest.Same(t, got, g1)
		})
		t.Run("not found", func(t *testing.T) {
			_, err := s.GetGroup(ctx, "missing")
			dbtest.WantErr(t, err, identity.ErrNotFound)
			dbtest.WantErr(t, s.CreateGroup(ctx, identity.Group{ID: "x", Name: "x", DomainID: "nodomain"}), identity.ErrNotFound)
			dbtest.WantErr(t, s.UpdateGroup(ctx, identity.Group{ID: "missing", Name: "m", DomainID: "d1"}), identity.ErrNotFound)
			dbtest.WantErr(t, s.DeleteGroup(ctx, "missing"), identity.ErrNotFound)
		})
		t.Run("conflict", func(t *testing.T) {
			dbtest.WantErr(t, s.CreateGroup(ctx, identity.Group{ID: "g1", Name: "new", DomainID: "d1"}), identity.ErrConflict)
			dbtest.WantErr(t, s.CreateGroup(ctx, identity.Group{ID: "g9", Name: "admins", DomainID: "d1"}), identity.ErrConflict)
			dbtest.WantErr(t, s.UpdateGroup(ctx, identity.Group{ID: "g2", Name: "admins", DomainID: "d1"}), identity.ErrConflict)
		})
		t.Run("membership", func(t *testing.T) { testMembership(t, s) })
		t.Run("list", func(t *testing.T) {
			cases := []struct {
				name string
				f    identity.GroupFilter
				want []string
			}{
				{"all", identity.GroupFilter{}, []string{"g1", "g2", "g3"}},
				{"domain", identity.GroupFilter{DomainID: "d1"}, []string{"g1", "g2"}},
				{"name", identity.GroupFilter{Name: "same"}, []string{"g2", "g3"}},
				{"user", identity.GroupFilter{UserID: "u1"}, []string{"g1", "g3"}},
				{"user in domain", identity.GroupFilter{UserID: "u1", DomainID: "d2"}, []string{"g3"}},
				{"user without groups", identity.GroupFilter{UserID: "nouser"}, nil},
				{"ids empty", identity.GroupFilter{IDs: []string{}}, nil},
				{"ids", identity.GroupFilter{IDs: []string{"g3", "g1"}}, []string{"g1", "g3"}},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					got, err := s.ListGroups(ctx, c.f)
					dbtest.Must(t, err)
					dbtest.Same(t, idsOf(got, groupID), c.want)
				})
			}
		})
		t.Run("update", func(t *testing.T) {
			upd := identity.Group{ID: "g2", Name: "renamed", DomainID: "d1", Description: "new"}
			dbtest.Must(t, s.UpdateGroup(ctx, upd))
			dbtest.Must(t, s.UpdateGroup(ctx, upd)) // unchanged
			got, err := s.GetGroup(ctx, "g2")
			dbtest.Must(t, err)
			dbtest.Same(t, got, upd)
		})
		t.Run("delete cascades", func(t *testing.T) { testDeleteGroup(t, s) })
	})
}

// testMembership adds, checks and removes memberships of TestGroups' users.
func testMembership(t *testing.T, s *identitysql.Store) {
	ctx := context.Background()
	dbtest.Must(t, s.AddUserToGroup(ctx, "u1", "g1"))
	dbtest.Must(t, s.AddUserToGroup(ctx, "u1", "g1")) // idempotent
	dbtest.Must(t, s.AddUserToGroup(ctx, "u1", "g3"))
	dbtest.Must(t, s.AddUserToGroup(ctx, "u2", "g3"))
	dbtest.WantErr(t, s.AddUserToGroup(ctx, "nouser", "g1"), identity.ErrNotFound)
	dbtest.WantErr(t, s.AddUserToGroup(ctx, "u1", "nogroup"), identity.ErrNotFound)
	for _, c := range []struct {
		user, group string
		want        bool
	}{{"u1", "g1", true}, {"u1", "g2", false}, {"u2", "g3", true}, {"nouser", "g1", false}} {
		in, err := s.IsUserInGroup(ctx, c.user, c.group)
		dbtest.Must(t, err)
		if in != c.want {
			t.Errorf("IsUserInGroup(%s, %s) = %v, want %v", c.user, c.group, in, c.want)
		}
	}
	dbtest.Must(t, s.AddUserToGroup(ctx, "u2", "g2"))
	dbtest.Must(t, s.RemoveUserFromGroup(ctx, "u2", "g2"))
	dbtest.WantErr(t, s.RemoveUserFromGroup(ctx, "u2", "g2"), identity.ErrNotFound)
	in, err := s.IsUserInGroup(ctx, "u2", "g2")
	dbtest.Must(t, err)
	dbtest.Same(t, in, false)
}

// testDeleteGroup checks that a group's memberships and assignments go with it.
func testDeleteGroup(t *testing.T, s *identitysql.Store) {
	ctx := context.Background()
	mkRole(t, s, "r", "")
	mkProject(t, s, "p", "d1", "")
	kept := identity.Assignment{Type: identity.UserProject, ActorID: "u2", TargetID: "p", RoleID: "r"}
	for _, a := range []identity.Assignment{
		kept,
		{Type: identity.GroupProject, ActorID: "g3", TargetID: "p", RoleID: "r"},
		{Type: identity.GroupDomain, ActorID: "g3", TargetID: "d2", RoleID: "r", Inherited: true},
		{Type: identity.GroupSystem, ActorID: "g3", TargetID: identity.SystemTarget, RoleID: "r"},
	} {
		dbtest.Must(t, s.CreateAssignment(ctx, a))
	}
	dbtest.Must(t, s.DeleteGroup(ctx, "g3"))
	_, err := s.GetGroup(ctx, "g3")
	dbtest.WantErr(t, err, identity.ErrNotFound)
	gs, err := s.ListGroups(ctx, identity.GroupFilter{UserID: "u1"})
	dbtest.Must(t, err)
	dbtest.Same(t, idsOf(gs, groupID), []string{"g1"})
	as, err := s.ListAssignments(ctx, identity.AssignmentFilter{})
	dbtest.Must(t, err)
	dbtest.Same(t, as, []identity.Assignment{kept})
	_, err = s.GetUser(ctx, "u2") // members stay
	dbtest.Must(t, err)
	dbtest.WantErr(t, s.DeleteGroup(ctx, "g3"), identity.ErrNotFound)
}
