package identitysql_test

import (
	"context"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/db"
	"github.com/nimbus-cloud/nimbus/internal/db/dbtest"
	"github.com/nimbus-cloud/nimbus/internal/identity"
	"github.com/nimbus-cloud/nimbus/internal/identity/identitysql"
)

func TestAssignments(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *identitysql.Store, _ *db.DB) {
		ctx := context.Background()
		mkRole(t, s, "r1", "")
		mkRole(t, s, "r2", "")
		// Listed order: by type, actor, target, role, then inherited.
		as := []identity.Assignment{
			{Type: identity.GroupDomain, ActorID: "g1", TargetID: "d1", RoleID: "r1", Inherited: true},
			{Type: identity.GroupProject, ActorID: "g1", TargetID: "p1", RoleID: "r2"},
			{Type: identity.GroupSystem, ActorID: "g1", TargetID: identity.SystemTarget, RoleID: "r1"},
			{Type: identity.UserDomain, ActorID: "u1", TargetID: "d1", RoleID: "r1"},
			{Type: identity.UserProject, ActorID: "u1", TargetID: "p1", RoleID: "r1"},
			{Type: identity.UserProject, ActorID: "u1", TargetID: "p1", RoleID: "r1", Inherited: true},
			{Type: identity.UserProject, ActorID: "u2", TargetID: "p2", RoleID: "r2"},
			{Type: identity.UserSystem, ActorID: "u2", TargetID: identity.SystemTarget, RoleID: "r2"},
		}
		for i := len(as) - 1; i >= 0; i-- {
			dbtest.Must(t, s.CreateAssignment(ctx, as[i]))
		}

		t.Run("idempotent", func(t *testing.T) {
			dbtest.Must(t, s.CreateAssignment(ctx, as[0]))
			dbtest.Must(t, s.CreateAssignment(ctx, as[4]))
			got, err := s.ListAssignments(ctx, identity.AssignmentFilter{})
			dbtest.Must(t, err)
			dbtest.Same(t, got, as)
		})
		t.Run("create errors", func(t *testing.T) {
			dbtest.WantErr(t, s.CreateAssignment(ctx, identity.Assignment{Type: identity.UserProject, ActorID: "u1",
				TargetID: "p1", RoleID: "norole"}), identity.ErrNotFound)
			dbtest.WantErr(t, s.CreateAssignment(ctx, identity.Assignment{Type: "UserRegion", ActorID: "u1",
				TargetID: "p1", RoleID: "r1"}), identity.ErrValidation)
		})
		t.Run("list", func(t *testing.T) {
			cases := []struct {
				name string
				f    identity.AssignmentFilter
				want []identity.Assignment
			}{
				{"all", identity.AssignmentFilter{}, as},
				{"types", identity.AssignmentFilter{Types: []identity.AssignmentType{identity.UserSystem, identity.GroupSystem}},
					[]identity.Assignment{as[2], as[7]}},
				{"types empty", identity.AssignmentFilter{Types: []identity.AssignmentType{}}, nil},
				{"actors", identity.AssignmentFilter{ActorIDs: []string{"u2", "g1"}},
					[]identity.Assignment{as[0], as[1], as[2], as[6], as[7]}},
				{"actors empty", identity.AssignmentFilter{ActorIDs: []string{}}, nil},
				{"targets", identity.AssignmentFilter{TargetIDs: []string{"p1"}}, []identity.Assignment{as[1], as[4], as[5]}},
				{"targets empty", identity.AssignmentFilter{TargetIDs: []string{}}, nil},
				{"roles", identity.AssignmentFilter{RoleIDs: []string{"r2"}}, []identity.Assignment{as[1], as[6], as[7]}},
				{"roles empty", identity.AssignmentFilter{RoleIDs: []string{}}, nil},
				{"inherited", identity.AssignmentFilter{Inherited: ptr(true)}, []identity.Assignment{as[0], as[5]}},
				{"direct", identity.AssignmentFilter{Inherited: ptr(false), ActorIDs: []string{"u1"}},
					[]identity.Assignment{as[3], as[4]}},
				{"everything", identity.AssignmentFilter{Types: []identity.AssignmentType{identity.UserProject},
					ActorIDs: []string{"u1", "g1"}, TargetIDs: []string{"p1", "d1"}, RoleIDs: []string{"r1"}, Inherited: ptr(true)},
					[]identity.Assignment{as[5]}},
				{"no match", identity.AssignmentFilter{ActorIDs: []string{"nobody"}}, nil},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					got, err := s.ListAssignments(ctx, c.f)
					dbtest.Must(t, err)
					dbtest.Same(t, got, c.want)
				})
			}
		})
		t.Run("delete", func(t *testing.T) {
			dbtest.Must(t, s.DeleteAssignment(ctx, as[5]))
			dbtest.WantErr(t, s.DeleteAssignment(ctx, as[5]), identity.ErrNotFound)
			wrongFlag := as[3]
			wrongFlag.Inherited = true
			dbtest.WantErr(t, s.DeleteAssignment(ctx, wrongFlag), identity.ErrNotFound)
			got, err := s.ListAssignments(ctx, identity.AssignmentFilter{ActorIDs: []string{"u1"}})
			dbtest.Must(t, err)
			dbtest.Same(t, got, []identity.Assignment{as[3], as[4]})
		})
	})
}
