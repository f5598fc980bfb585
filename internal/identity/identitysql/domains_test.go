package identitysql_test

import (
	"context"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/db"
	"github.com/nimbus-cloud/nimbus/internal/db/dbtest"
	"github.com/nimbus-cloud/nimbus/internal/identity"
	"github.com/nimbus-cloud/nimbus/internal/identity/identitysql"
)

func TestDomains(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *identitysql.Store, d *db.DB) {
		ctx := context.Background()
		full := identity.Domain{ID: "a", Name: "Alpha", Description: "first", Enabled: true,
			Tags: []string{"z", "x", "z", "y"}, Options: map[string]any{"k": "v", "on": true}}
		dbtest.Must(t, s.CreateDomain(ctx, full))
		mkDomain(t, s, "B")
		off := identity.Domain{ID: "c", Name: "Gamma", Options: map[string]any{}}
		dbtest.Must(t, s.CreateDomain(ctx, off))

		t.Run("get", func(t *testing.T) {
			want := full
			want.Tags = []string{"x", "y", "z"}
			got, err := s.GetDomain(ctx, "a")
			dbtest.Must(t, err)
			dbtest.Same(t, got, want)
			got, err = s.GetDomainByName(ctx, "Alpha")
			dbtest.Must(t, err)
			dbtest.Same(t, got, want)
			got, err = s.GetDomain(ctx, "c")
			dbtest.Must(t, err)
			dbtest.Same(t, got, identity.Domain{ID: "c", Name: "Gamma"}) // no tags, empty options: nil
		})
		t.Run("not found", func(t *testing.T) {
			_, err := s.GetDomain(ctx, "missing")
			dbtest.WantErr(t, err, identity.ErrNotFound)
			_, err = s.GetDomainByName(ctx, "alpha") // names compare exactly
			dbtest.WantErr(t, err, identity.ErrNotFound)
			dbtest.WantErr(t, s.UpdateDomain(ctx, identity.Domain{ID: "missing", Name: "m"}), identity.ErrNotFound)
			dbtest.WantErr(t, s.DeleteDomain(ctx, "missing"), identity.ErrNotFound)
		})
		t.Run("conflict", func(t *testing.T) {
			dbtest.WantErr(t, s.CreateDomain(ctx, identity.Domain{ID: "a", Name: "other"}), identity.ErrConflict)
			dbtest.WantErr(t, s.CreateDomain(ctx, identity.Domain{ID: "d", Name: "Alpha"}), identity.ErrConflict)
			dbtest.WantErr(t, s.UpdateDomain(ctx, identity.Domain{ID: "c", Name: "Alpha"}), identity.ErrConflict)
			dbtest.WantErr(t, s.CreateDomain(ctx, identity.Domain{ID: "<<null>>", Name: "x"}), identity.ErrValidation)
		})
		t.Run("list", func(t *testing.T) { testListDomains(t, s) })
		t.Run("update", func(t *testing.T) {
			upd := identity.Domain{ID: "c", Name: "Gamma2", Description: "d", Enabled: true,
				Tags: []string{"t"}, Options: map[string]any{"a": "b"}}
			dbtest.Must(t, s.UpdateDomain(ctx, upd))
			dbtest.Must(t, s.UpdateDomain(ctx, upd)) // unchanged row: MySQL reports 0 rows affected
			got, err := s.GetDomain(ctx, "c")
			dbtest.Must(t, err)
			dbtest.Same(t, got, upd)
			upd.Tags, upd.Options = nil, nil
			dbtest.Must(t, s.UpdateDomain(ctx, upd))
			got, err = s.GetDomain(ctx, "c")
			dbtest.Must(t, err)
			dbtest.Same(t, got, upd)
		})
		t.Run("delete", func(t *testing.T) {
			dbtest.Must(t, s.UpdateDomain(ctx, identity.Domain{ID: "c", Name: "Gamma", Tags: []string{"t1", "t2"}}))
			dbtest.Must(t, s.DeleteDomain(ctx, "c"))
			_, err := s.GetDomain(ctx, "c")
			dbtest.WantErr(t, err, identity.ErrNotFound)
			dbtest.Same(t, count(t, d, "SELECT COUNT(*) FROM domain_tag WHERE domain_id = ?", "c"), 0)
			dbtest.WantErr(t, s.DeleteDomain(ctx, "c"), identity.ErrNotFound)
			dbtest.WantErr(t, s.DeleteDomain(ctx, "<<null>>"), identity.ErrNotFound)
		})
	})
}

// TestDeleteDomainCascade fills two domains and deletes one: everything in it and
// every row that refers to it goes, the other domain and global roles stay.
func TestDeleteDomainCascade(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *identitysql.Store, d *db.DB) {
		ctx := context.Background()
		for _, dom := range []string{"gone", "kept"} {
			mkDomain(t, s, dom)
			mkProject(t, s, dom+"-p", dom, "", "tag")
			mkProject(t, s, dom+"-child", dom, dom+"-p", "tag")
			mkUser(t, s, dom+"-u", dom)
			mkGroup(t, s, dom+"-g", dom)
			mkRole(t, s, dom+"-r", dom)
			dbtest.Must(t, s.AddUserToGroup(ctx, dom+"-u", dom+"-g"))
			dbtest.Must(t, s.CreateApplicationCredential(ctx, identity.ApplicationCredential{
				ID: dom + "-ac", Name: "ac", UserID: dom + "-u", ProjectID: dom + "-p", RoleIDs: []string{"global"}}))
		}
		mkRole(t, s, "global", "")
		mkRole(t, s, "global2", "")
		// A kept user in a doomed group, and kept actors on doomed targets.
		dbtest.Must(t, s.AddUserToGroup(ctx, "kept-u", "gone-g"))
		assignments := []identity.Assignment{
			{Type: identity.UserProject, ActorID: "gone-u", TargetID: "kept-p", RoleID: "global"},
			{Type: identity.GroupProject, ActorID: "gone-g", TargetID: "kept-p", RoleID: "global"},
			{Type: identity.UserProject, ActorID: "kept-u", TargetID: "gone-child", RoleID: "global"},
			{Type: identity.GroupDomain, ActorID: "kept-g", TargetID: "gone", RoleID: "global", Inherited: true},
			{Type: identity.UserSystem, ActorID: "kept-u", TargetID: identity.SystemTarget, RoleID: "gone-r"},
			{Type: identity.UserProject, ActorID: "kept-u", TargetID: "kept-p", RoleID: "global"},
			{Type: identity.UserDomain, ActorID: "kept-u", TargetID: "kept", RoleID: "kept-r"},
		}
		for _, a := range assignments {
			dbtest.Must(t, s.CreateAssignment(ctx, a))
		}
		for _, ir := range []identity.ImpliedRole{
			{PriorID: "gone-r", ImpliedID: "global"}, {PriorID: "global", ImpliedID: "gone-r"},
			{PriorID: "global", ImpliedID: "global2"}, {PriorID: "kept-r", ImpliedID: "global"},
		} {
			dbtest.Must(t, s.CreateImpliedRole(ctx, ir))
		}

		dbtest.Must(t, s.DeleteDomain(ctx, "gone"))

		for _, get := range []func() error{
			func() error { _, err := s.GetDomain(ctx, "gone"); return err },
			func() error { _, err := s.GetProject(ctx, "gone-p"); return err },
			func() error { _, err := s.GetProject(ctx, "gone-child"); return err },
			func() error { _, err := s.GetUser(ctx, "gone-u"); return err },
			func() error { _, err := s.GetGroup(ctx, "gone-g"); return err },
			func() error { _, err := s.GetRole(ctx, "gone-r"); return err },
			func() error { _, err := s.GetApplicationCredential(ctx, "gone-ac"); return err },
		} {
			dbtest.WantErr(t, get(), identity.ErrNotFound)
		}
		for _, get := range []func() error{
			func() error { _, err := s.GetDomain(ctx, "kept"); return err },
			func() error { _, err := s.GetProject(ctx, "kept-child"); return err },
			func() error { _, err := s.GetUser(ctx, "kept-u"); return err },
			func() error { _, err := s.GetGroup(ctx, "kept-g"); return err },
			func() error { _, err := s.GetRole(ctx, "kept-r"); return err },
			func() error { _, err := s.GetRole(ctx, "global"); return err },
			func() error { _, err := s.GetApplicationCredential(ctx, "kept-ac"); return err },
		} {
			dbtest.WantErr(t, get(), nil)
		}
		as, err := s.ListAssignments(ctx, identity.AssignmentFilter{})
		dbtest.Must(t, err)
		dbtest.Same(t, as, []identity.Assignment{assignments[6], assignments[5]}) // ordered by type first
		irs, err := s.ListImpliedRoles(ctx, "")
		dbtest.Must(t, err)
		dbtest.Same(t, irs, []identity.ImpliedRole{{PriorID: "global", ImpliedID: "global2"}, {PriorID: "kept-r", ImpliedID: "global"}})
		in, err := s.IsUserInGroup(ctx, "kept-u", "kept-g")
		dbtest.Must(t, err)
		dbtest.Same(t, in, true)
		dbtest.Same(t, count(t, d, "SELECT COUNT(*) FROM user_group_membership"), 1)
		dbtest.Same(t, count(t, d, "SELECT COUNT(*) FROM project_tag"), 2)
		dbtest.Same(t, count(t, d, "SELECT COUNT(*) FROM application_credential_role"), 1)
	})
}

// TestDeleteDomainForeignChild: a project elsewhere under one of the domain's
// projects keeps the domain, and the failed delete changes nothing.
func TestDeleteDomainForeignChild(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *identitysql.Store, _ *db.DB) {
		ctx := context.Background()
		mkDomain(t, s, "d1")
		mkDomain(t, s, "d2")
		mkProject(t, s, "p1", "d1", "")
		mkProject(t, s, "p2", "d2", "p1")
		dbtest.WantErr(t, s.DeleteDomain(ctx, "d1"), identity.ErrConflict)
		p, err := s.GetProject(ctx, "p1")
		dbtest.Must(t, err)
		dbtest.Same(t, p.DomainID, "d1")
	})
}

// testListDomains runs every DomainFilter field against TestDomains' rows.
func testListDomains(t *testing.T, s *identitysql.Store) {
	ctx := context.Background()
	cases := []struct {
		name string
		f    identity.DomainFilter
		want []string
	}{
		{"all in byte order", identity.DomainFilter{}, []string{"B", "a", "c"}},
		{"name", identity.DomainFilter{Name: "Gamma"}, []string{"c"}},
		{"enabled", identity.DomainFilter{Enabled: ptr(true)}, []string{"B", "a"}},
		{"disabled", identity.DomainFilter{Enabled: ptr(false)}, []string{"c"}},
		{"none", identity.DomainFilter{Name: "nope"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := s.ListDomains(ctx, c.f)
			dbtest.Must(t, err)
			dbtest.Same(t, idsOf(got, domainID), c.want)
		})
	}
	got, err := s.ListDomains(ctx, identity.DomainFilter{Name: "Alpha"})
	dbtest.Must(t, err)
	dbtest.Same(t, got[0].Tags, []string{"x", "y", "z"})
}
