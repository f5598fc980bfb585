package identitysql_test

import (
	"context"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/db"
	"github.com/nimbus-cloud/nimbus/internal/db/dbtest"
	"github.com/nimbus-cloud/nimbus/internal/identity"
	"github.com/nimbus-cloud/nimbus/internal/identity/identitysql"
)

func TestRoles(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *identitysql.Store, _ *db.DB) {
		ctx := context.Background()
		mkDomain(t, s, "d1")
		mkDomain(t, s, "d2")
		admin := identity.Role{ID: "r1", Name: "admin", Description: "all", Options: map[string]any{"immutable": true}}
		dbtest.Must(t, s.CreateRole(ctx, admin))
		dbtest.Must(t, s.CreateRole(ctx, identity.Role{ID: "r2", Name: "member"}))
		dbtest.Must(t, s.CreateRole(ctx, identity.Role{ID: "r3", Name: "admin", DomainID: "d1"})) // names are per domain
		dbtest.Must(t, s.CreateRole(ctx, identity.Role{ID: "r4", Name: "admin", DomainID: "d2"}))
		dbtest.Must(t, s.CreateRole(ctx, identity.Role{ID: "r5", Name: "reader", DomainID: "d1"}))

		t.Run("get", func(t *testing.T) {
			got, err := s.GetRole(ctx, "r1")
			dbtest.Must(t, err)
			dbtest.Same(t, got, admin)
			got, err = s.GetRole(ctx, "r3")
			dbtest.Must(t, err)
			dbtest.Same(t, got, identity.Role{ID: "r3", Name: "admin", DomainID: "d1"})
		})
		t.Run("not found", func(t *testing.T) {
			_, err := s.GetRole(ctx, "missing")
			dbtest.WantErr(t, err, identity.ErrNotFound)
			dbtest.WantErr(t, s.CreateRole(ctx, identity.Role{ID: "x", Name: "x", DomainID: "nodomain"}), identity.ErrNotFound)
			dbtest.WantErr(t, s.UpdateRole(ctx, identity.Role{ID: "missing", Name: "m"}), identity.ErrNotFound)
			dbtest.WantErr(t, s.UpdateRole(ctx, identity.Role{ID: "r5", Name: "reader", DomainID: "nodomain"}), identity.ErrNotFound)
			dbtest.WantErr(t, s.DeleteRole(ctx, "missing"), identity.ErrNotFound)
		})
		t.Run("conflict", func(t *testing.T) {
			dbtest.WantErr(t, s.CreateRole(ctx, identity.Role{ID: "r1", Name: "new"}), identity.ErrConflict)
			dbtest.WantErr(t, s.CreateRole(ctx, identity.Role{ID: "r9", Name: "admin"}), identity.ErrConflict)
			dbtest.WantErr(t, s.CreateRole(ctx, identity.Role{ID: "r9", Name: "admin", DomainID: "d1"}), identity.ErrConflict)
			dbtest.WantErr(t, s.UpdateRole(ctx, identity.Role{ID: "r2", Name: "admin"}), identity.ErrConflict)
		})
		t.Run("list", func(t *testing.T) {
			cases := []struct {
				name string
				f    identity.RoleFilter
				want []string
			}{
				{"global", identity.RoleFilter{}, []string{"r1", "r2"}},
				{"domain", identity.RoleFilter{DomainID: "d1"}, []string{"r3", "r5"}},
				{"any domain", identity.RoleFilter{AnyDomain: true}, []string{"r1", "r2", "r3", "r4", "r5"}},
				{"domain wins over any", identity.RoleFilter{DomainID: "d2", AnyDomain: true}, []string{"r4"}},
				{"name global", identity.RoleFilter{Name: "admin"}, []string{"r1"}},
				{"name any domain", identity.RoleFilter{Name: "admin", AnyDomain: true}, []string{"r1", "r3", "r4"}},
				{"name in domain", identity.RoleFilter{Name: "admin", DomainID: "d2"}, []string{"r4"}},
				{"ids", identity.RoleFilter{IDs: []string{"r5", "r1"}, AnyDomain: true}, []string{"r1", "r5"}},
				{"ids global only", identity.RoleFilter{IDs: []string{"r5", "r1"}}, []string{"r1"}},
				{"ids empty", identity.RoleFilter{IDs: []string{}, AnyDomain: true}, nil},
				{"missing domain", identity.RoleFilter{DomainID: "nodomain"}, nil},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					got, err := s.ListRoles(ctx, c.f)
					dbtest.Must(t, err)
					dbtest.Same(t, idsOf(got, roleID), c.want)
				})
			}
			got, err := s.ListRoles(ctx, identity.RoleFilter{AnyDomain: true, IDs: []string{"r1", "r3"}})
			dbtest.Must(t, err)
			dbtest.Same(t, got, []identity.Role{admin, {ID: "r3", Name: "admin", DomainID: "d1"}})
		})
		t.Run("update", func(t *testing.T) {
			upd := identity.Role{ID: "r5", Name: "viewer", DomainID: "d1", Description: "d", Options: map[string]any{"a": "b"}}
			dbtest.Must(t, s.UpdateRole(ctx, upd))
			dbtest.Must(t, s.UpdateRole(ctx, upd)) // unchanged
			got, err := s.GetRole(ctx, "r5")
			dbtest.Must(t, err)
			dbtest.Same(t, got, upd)
			upd.DomainID = "" // becomes global
			dbtest.Must(t, s.UpdateRole(ctx, upd))
			got, err = s.GetRole(ctx, "r5")
			dbtest.Must(t, err)
			dbtest.Same(t, got, upd)
		})
	})
}

func TestImpliedRoles(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *identitysql.Store, _ *db.DB) {
		ctx := context.Background()
		for _, id := range []string{"admin", "member", "reader", "other"} {
			mkRole(t, s, id, "")
		}
		rules := []identity.ImpliedRole{
			{PriorID: "member", ImpliedID: "reader"},
			{PriorID: "admin", ImpliedID: "reader"},
			{PriorID: "admin", ImpliedID: "member"},
			{PriorID: "other", ImpliedID: "admin"},
		}
		for _, ir := range rules {
			dbtest.Must(t, s.CreateImpliedRole(ctx, ir))
		}
		dbtest.Must(t, s.CreateImpliedRole(ctx, rules[0])) // idempotent

		t.Run("create missing role", func(t *testing.T) {
			dbtest.WantErr(t, s.CreateImpliedRole(ctx, identity.ImpliedRole{PriorID: "admin", ImpliedID: "none"}), identity.ErrNotFound)
			dbtest.WantErr(t, s.CreateImpliedRole(ctx, identity.ImpliedRole{PriorID: "none", ImpliedID: "admin"}), identity.ErrNotFound)
		})
		t.Run("list", func(t *testing.T) {
			got, err := s.ListImpliedRoles(ctx, "")
			dbtest.Must(t, err)
			dbtest.Same(t, got, []identity.ImpliedRole{rules[2], rules[1], rules[0], rules[3]})
			got, err = s.ListImpliedRoles(ctx, "admin")
			dbtest.Must(t, err)
			dbtest.Same(t, got, []identity.ImpliedRole{rules[2], rules[1]})
			got, err = s.ListImpliedRoles(ctx, "reader")
			dbtest.Must(t, err)
			dbtest.Same(t, got, nil)
		})
		t.Run("delete", func(t *testing.T) {
			dbtest.Must(t, s.DeleteImpliedRole(ctx, rules[0]))
			dbtest.WantErr(t, s.DeleteImpliedRole(ctx, rules[0]), identity.ErrNotFound)
			got, err := s.ListImpliedRoles(ctx, "member")
			dbtest.Must(t, err)
			dbtest.Same(t, got, nil)
		})
		t.Run("delete role cascades", func(t *testing.T) {
			keep := identity.Assignment{Type: identity.UserProject, ActorID: "u", TargetID: "p", RoleID: "reader"}
			dbtest.Must(t, s.CreateAssignment(ctx, keep))
			dbtest.Must(t, s.CreateAssignment(ctx, identity.Assignment{Type: identity.UserProject, ActorID: "u", TargetID: "p", RoleID: "admin"}))
			dbtest.Must(t, s.CreateAssignment(ctx, identity.Assignment{Type: identity.GroupDomain, ActorID: "g", TargetID: "d", RoleID: "admin", Inherited: true}))
			dbtest.Must(t, s.DeleteRole(ctx, "admin")) // prior of two rules, implied by one
			_, err := s.GetRole(ctx, "admin")
			dbtest.WantErr(t, err, identity.ErrNotFound)
			got, err := s.ListImpliedRoles(ctx, "")
			dbtest.Must(t, err)
			dbtest.Same(t, got, nil)
			as, err := s.ListAssignments(ctx, identity.AssignmentFilter{})
			dbtest.Must(t, err)
			dbtest.Same(t, as, []identity.Assignment{keep})
		})
	})
}
