package identitysql_test

import (
	"context"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/db"
	"github.com/nimbus-cloud/nimbus/internal/db/dbtest"
	"github.com/nimbus-cloud/nimbus/internal/identity"
	"github.com/nimbus-cloud/nimbus/internal/identity/identitysql"
)

func TestProjects(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *identitysql.Store, d *db.DB) {
		ctx := context.Background()
		mkDomain(t, s, "d1")
		mkDomain(t, s, "d2")
		p1 := identity.Project{ID: "p1", Name: "one", DomainID: "d1", Description: "top", Enabled: true,
			Tags: []string{"b", "a"}, Options: map[string]any{"immutable": false}}
		dbtest.Must(t, s.CreateProject(ctx, p1))
		dbtest.Must(t, s.CreateProject(ctx, identity.Project{ID: "p2", Name: "two", DomainID: "d1", ParentID: "p1",
			Tags: []string{"b", "c"}}))
		mkProject(t, s, "p3", "d1", "p1", "A")
		dbtest.Must(t, s.CreateProject(ctx, identity.Project{ID: "p4", Name: "shared", DomainID: "d2", Enabled: true,
			Tags: []string{"a"}}))
		dbtest.Must(t, s.CreateProject(ctx, identity.Project{ID: "p5", Name: "shared", DomainID: "d1", Enabled: true,
			Tags: []string{"c", "b", "a", "a"}}))

		t.Run("get", func(t *testing.T) {
			want := p1
			want.Tags = []string{"a", "b"}
			got, err := s.GetProject(ctx, "p1")
			dbtest.Must(t, err)
			dbtest.Same(t, got, want)
			got, err = s.GetProjectByName(ctx, "d1", "shared")
			dbtest.Must(t, err)
			dbtest.Same(t, got, identity.Project{ID: "p5", Name: "shared", DomainID: "d1", Enabled: true,
				Tags: []string{"a", "b", "c"}})
			got, err = s.GetProjectByName(ctx, "d2", "shared")
			dbtest.Must(t, err)
			dbtest.Same(t, got.ID, "p4")
			got, err = s.GetProject(ctx, "p2")
			dbtest.Must(t, err)
			dbtest.Same(t, got.ParentID, "p1")
		})
		t.Run("not found", func(t *testing.T) {
			_, err := s.GetProject(ctx, "missing")
			dbtest.WantErr(t, err, identity.ErrNotFound)
			_, err = s.GetProjectByName(ctx, "d2", "one")
			dbtest.WantErr(t, err, identity.ErrNotFound)
			dbtest.WantErr(t, s.CreateProject(ctx, identity.Project{ID: "x", Name: "x", DomainID: "nodomain"}), identity.ErrNotFound)
			dbtest.WantErr(t, s.CreateProject(ctx, identity.Project{ID: "x", Name: "x", DomainID: "d1", ParentID: "noparent"}), identity.ErrNotFound)
			dbtest.WantErr(t, s.UpdateProject(ctx, identity.Project{ID: "missing", Name: "m", DomainID: "d1"}), identity.ErrNotFound)
			dbtest.WantErr(t, s.UpdateProject(ctx, identity.Project{ID: "p3", Name: "m", DomainID: "d1", ParentID: "noparent"}), identity.ErrNotFound)
			dbtest.WantErr(t, s.DeleteProject(ctx, "missing"), identity.ErrNotFound)
		})
		t.Run("conflict", func(t *testing.T) {
			dbtest.WantErr(t, s.CreateProject(ctx, identity.Project{ID: "p1", Name: "new", DomainID: "d1"}), identity.ErrConflict)
			dbtest.WantErr(t, s.CreateProject(ctx, identity.Project{ID: "p9", Name: "one", DomainID: "d1"}), identity.ErrConflict)
			dbtest.WantErr(t, s.UpdateProject(ctx, identity.Project{ID: "p3", Name: "two", DomainID: "d1", ParentID: "p1"}), identity.ErrConflict)
		})
		t.Run("list", func(t *testing.T) { testListProjects(t, s) })
		t.Run("update", func(t *testing.T) {
			upd := identity.Project{ID: "p3", Name: "three", DomainID: "d1", ParentID: "p1", Description: "d",
				Tags: []string{"n"}, Options: map[string]any{"x": "y"}}
			dbtest.Must(t, s.UpdateProject(ctx, upd))
			dbtest.Must(t, s.UpdateProject(ctx, upd)) // unchanged
			got, err := s.GetProject(ctx, "p3")
			dbtest.Must(t, err)
			dbtest.Same(t, got, upd)
			upd.Tags, upd.ParentID = nil, ""
			dbtest.Must(t, s.UpdateProject(ctx, upd))
			got, err = s.GetProject(ctx, "p3")
			dbtest.Must(t, err)
			dbtest.Same(t, got, upd)
		})
		t.Run("delete", func(t *testing.T) { testDeleteProject(t, s, d) })
	})
}

// testListProjects runs every ProjectFilter field against the fixture of
// TestProjects: p1 {a b} top, p2 {b c} under p1 disabled, p3 {A} under p1,
// p4 {a} top in d2 named shared, p5 {a b c} top named shared; d1 holds all but p4.
func testListProjects(t *testing.T, s *identitysql.Store) {
	all := []string{"p1", "p2", "p3", "p4", "p5"}
	cases := []struct {
		name string
		f    identity.ProjectFilter
		want []string
	}{
		{"all", identity.ProjectFilter{}, all},
		{"domain", identity.ProjectFilter{DomainID: "d1"}, []string{"p1", "p2", "p3", "p5"}},
		{"parent", identity.ProjectFilter{ParentID: "p1"}, []string{"p2", "p3"}},
		{"top level", identity.ProjectFilter{TopLevel: true}, []string{"p1", "p4", "p5"}},
		{"top level in domain", identity.ProjectFilter{DomainID: "d1", TopLevel: true}, []string{"p1", "p5"}},
		{"name", identity.ProjectFilter{Name: "shared"}, []string{"p4", "p5"}},
		{"enabled", identity.ProjectFilter{Enabled: ptr(true)}, []string{"p1", "p3", "p4", "p5"}},
		{"disabled", identity.ProjectFilter{Enabled: ptr(false)}, []string{"p2"}},
		{"ids nil", identity.ProjectFilter{IDs: nil}, all},
		{"ids empty", identity.ProjectFilter{IDs: []string{}}, nil},
		{"ids", identity.ProjectFilter{IDs: []string{"p3", "p1", "missing"}}, []string{"p1", "p3"}},
		{"tags all", identity.ProjectFilter{Tags: []string{"a", "b"}}, []string{"p1", "p5"}},
		{"tags repeated", identity.ProjectFilter{Tags: []string{"a", "a"}}, []string{"p1", "p4", "p5"}},
		{"tags all three", identity.ProjectFilter{Tags: []string{"c", "b", "a"}}, []string{"p5"}},
		{"tags case", identity.ProjectFilter{Tags: []string{"A"}}, []string{"p3"}},
		{"tags empty", identity.ProjectFilter{Tags: []string{}}, all},
		{"tags any", identity.ProjectFilter{TagsAny: []string{"c"}}, []string{"p2", "p5"}},
		{"tags any two", identity.ProjectFilter{TagsAny: []string{"a", "c"}}, []string{"p1", "p2", "p4", "p5"}},
		{"not tags", identity.ProjectFilter{NotTags: []string{"a", "b"}}, []string{"p2", "p3", "p4"}},
		{"not tags any", identity.ProjectFilter{NotTagsAny: []string{"a"}}, []string{"p2", "p3"}},
		{"not tags any two", identity.ProjectFilter{NotTagsAny: []string{"b", "c"}}, []string{"p3", "p4"}},
		{"combined", identity.ProjectFilter{DomainID: "d1", Tags: []string{"b"}, NotTagsAny: []string{"c"}}, []string{"p1"}},
		{"nothing", identity.ProjectFilter{Name: "shared", TagsAny: []string{"A"}}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := s.ListProjects(context.Background(), c.f)
			dbtest.Must(t, err)
			dbtest.Same(t, idsOf(got, projectID), c.want)
		})
	}
	got, err := s.ListProjects(context.Background(), identity.ProjectFilter{IDs: []string{"p5", "p3"}})
	dbtest.Must(t, err)
	dbtest.Same(t, got[0].Tags, []string{"A"})
	dbtest.Same(t, got[1].Tags, []string{"a", "b", "c"})
}

// testDeleteProject checks that a project with children stays and that a
// project's tags and assignments go with it.
func testDeleteProject(t *testing.T, s *identitysql.Store, d *db.DB) {
	ctx := context.Background()
	keep := identity.Assignment{Type: identity.UserProject, ActorID: "u", TargetID: "p4", RoleID: "r"}
	mkRole(t, s, "r", "")
	for _, a := range []identity.Assignment{
		keep,
		{Type: identity.UserProject, ActorID: "u", TargetID: "p1", RoleID: "r"},
		{Type: identity.GroupProject, ActorID: "g", TargetID: "p1", RoleID: "r", Inherited: true},
	} {
		dbtest.Must(t, s.CreateAssignment(ctx, a))
	}
	dbtest.WantErr(t, s.DeleteProject(ctx, "p1"), identity.ErrConflict) // p2 is below it
	dbtest.Must(t, s.DeleteProject(ctx, "p2"))
	dbtest.Must(t, s.DeleteProject(ctx, "p1"))
	_, err := s.GetProject(ctx, "p1")
	dbtest.WantErr(t, err, identity.ErrNotFound)
	dbtest.Same(t, count(t, d, "SELECT COUNT(*) FROM project_tag WHERE project_id IN (?, ?)", "p1", "p2"), 0)
	as, err := s.ListAssignments(ctx, identity.AssignmentFilter{})
	dbtest.Must(t, err)
	dbtest.Same(t, as, []identity.Assignment{keep})
	dbtest.WantErr(t, s.DeleteProject(ctx, "p1"), identity.ErrNotFound)
}
