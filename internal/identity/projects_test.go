package identity_test

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/identity"
)

// mkProject creates a project in the default domain below parent ("" for top level).
func (e *crudEnv) mkProject(t *testing.T, name, parent string) identity.Project {
	t.Helper()
	p, err := e.svc.CreateProject(e.admin, identity.ProjectCreate{Name: name, ParentID: parent})
	mustOK(t, err)
	return p
}

func projectIDs(ps []identity.Project) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.ID
	}
	slices.Sort(out)
	return out
}

func sortedIDs(ids ...string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return out
}

func TestProjectCreateDefaults(t *testing.T) {
	t.Parallel()
	e := newCrudEnv(t)
	d, err := e.svc.CreateDomain(e.admin, identity.DomainCreate{Name: "other"})
	mustOK(t, err)

	p, err := e.svc.CreateProject(e.admin, identity.ProjectCreate{Name: " web ", Tags: []string{"prod"}})
	mustOK(t, err)
	if p.DomainID != "default" || p.ParentID != "" || !p.Enabled || p.Name != "web" || !slices.Equal(p.Tags, []string{"prod"}) {
		t.Fatalf("project with defaults = %+v", p)
	}
	p, err = e.svc.CreateProject(e.as(e.boot.AdminUserID, d.ID), identity.ProjectCreate{Name: "scoped"})
	mustOK(t, err)
	if p.DomainID != d.ID {
		t.Fatalf("domain from a domain-scoped token = %s, want %s", p.DomainID, d.ID)
	}
	p, err = e.svc.CreateProject(e.admin, identity.ProjectCreate{Name: "top", DomainID: d.ID, ParentID: d.ID})
	mustOK(t, err)
	if p.ParentID != "" {
		t.Fatalf("parent_id naming the domain made parent %q, want a top-level project", p.ParentID)
	}
	tgt := e.authz.target("identity:create_project")["target"].(map[string]any)["project"].(map[string]any)
	if tgt["domain_id"] != d.ID || tgt["name"] != "top" {
		t.Fatalf("create_project target = %v", tgt)
	}
}

func TestProjectBadInput(t *testing.T) {
	t.Parallel()
	e := newCrudEnv(t)
	ctx := e.admin
	other, err := e.svc.CreateDomain(ctx, identity.DomainCreate{Name: "other"})
	mustOK(t, err)
	off, err := e.svc.CreateDomain(ctx, identity.DomainCreate{Name: "off", Enabled: ptr(false)})
	mustOK(t, err)
	parent := e.mkProject(t, "parent", "")
	disabled, err := e.svc.CreateProject(ctx, identity.ProjectCreate{Name: "disabled", Enabled: ptr(false)})
	mustOK(t, err)
	chain := parent
	for i := 0; i < 4; i++ {
		chain = e.mkProject(t, "level"+string(rune('a'+i)), chain.ID)
	}
	cases := []struct {
		name string
		in   identity.ProjectCreate
		kind error
		msg  string
	}{
		{"empty name", identity.ProjectCreate{}, identity.ErrValidation, "'' is too short"},
		{"name too long", identity.ProjectCreate{Name: strings.Repeat("p", 65)}, identity.ErrValidation, "is too long"},
		{"duplicate name in domain", identity.ProjectCreate{Name: "parent"}, identity.ErrConflict,
			"Conflict occurred attempting to store project - it is not permitted to have two projects with either the same name or same id in the same domain: name is parent"},
		{"unknown domain", identity.ProjectCreate{Name: "x", DomainID: "nodomain"}, identity.ErrValidation, "Could not find domain: nodomain."},
		{"bad domain id", identity.ProjectCreate{Name: "x", DomainID: "a b"}, identity.ErrValidation, "Invalid input for field 'domain_id'"},
		{"unknown parent", identity.ProjectCreate{Name: "x", ParentID: "noparent"}, identity.ErrValidation, "Could not find project: noparent."},
		{"parent in another domain", identity.ProjectCreate{Name: "x", DomainID: other.ID, ParentID: parent.ID}, identity.ErrValidation,
			"specifies a parent in a different domain (default)"},
		{"parent is another domain", identity.ProjectCreate{Name: "x", ParentID: other.ID}, identity.ErrValidation,
			"is acting as a domain, but this project's domain id (default) does not match"},
		{"disabled parent", identity.ProjectCreate{Name: "x", ParentID: disabled.ID}, identity.ErrValidation,
			"cannot create a project in a branch containing a disabled project: " + disabled.ID},
		{"disabled domain", identity.ProjectCreate{Name: "x", DomainID: off.ID}, identity.ErrValidation,
			"cannot create a project in a branch containing a disabled project: " + off.ID},
		{"too deep", identity.ProjectCreate{Name: "x", ParentID: chain.ID}, identity.ErrForbidden,
			"Max hierarchy depth reached for " + chain.ID + " branch."},
		{"acting as a domain", identity.ProjectCreate{Name: "x", IsDomain: true}, identity.ErrValidation, "not supported"},
		{"bad tag", identity.ProjectCreate{Name: "x", Tags: []string{"a,b"}}, identity.ErrValidation, "does not match '^[^,/]*$'"},
		{"unknown option", identity.ProjectCreate{Name: "x", Options: map[string]any{"x": true}}, identity.ErrValidation, "'x' was unexpected"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := e.svc.CreateProject(ctx, c.in)
			wantErr(t, err, c.kind, c.msg)
		})
	}
}

func TestProjectHierarchyRules(t *testing.T) {
	t.Parallel()
	e := newCrudEnv(t)
	ctx := e.admin
	parent := e.mkProject(t, "parent", "")
	child := e.mkProject(t, "child", parent.ID)

	_, err := e.svc.UpdateProject(ctx, parent.ID, identity.ProjectUpdate{Enabled: ptr(false)})
	wantErr(t, err, identity.ErrForbidden, "Cannot disable project "+parent.ID+" since its subtree contains enabled projects.")
	wantErr(t, e.svc.DeleteProject(ctx, parent.ID), identity.ErrForbidden,
		"Cannot delete the project "+parent.ID+" since it is not a leaf in the hierarchy.")
	_, err = e.svc.UpdateProject(ctx, child.ID, identity.ProjectUpdate{Enabled: ptr(false)})
	mustOK(t, err)
	_, err = e.svc.UpdateProject(ctx, parent.ID, identity.ProjectUpdate{Enabled: ptr(false)})
	mustOK(t, err)
	_, err = e.svc.UpdateProject(ctx, child.ID, identity.ProjectUpdate{Enabled: ptr(true)})
	wantErr(t, err, identity.ErrForbidden, "Cannot enable project "+child.ID+" since it has disabled parents")

	cases := []struct {
		name string
		u    identity.ProjectUpdate
		kind error
		msg  string
	}{
		{"move", identity.ProjectUpdate{ParentID: ptr(parent.ID)}, identity.ErrForbidden, "Update of `parent_id` is not allowed."},
		{"change domain", identity.ProjectUpdate{DomainID: ptr("other")}, identity.ErrValidation, "Cannot change Domain ID"},
		{"change id", identity.ProjectUpdate{ID: ptr("x")}, identity.ErrValidation, "Cannot change ID"},
		{"become a domain", identity.ProjectUpdate{IsDomain: ptr(true)}, identity.ErrValidation, "Update of `is_domain` is not allowed."},
		{"name too long", identity.ProjectUpdate{Name: ptr(strings.Repeat("x", 65))}, identity.ErrValidation, "is too long"},
		{"taken name", identity.ProjectUpdate{Name: ptr("parent")}, identity.ErrConflict, "name is parent"},
	}
	other := e.mkProject(t, "other", "")
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := e.svc.UpdateProject(ctx, other.ID, c.u)
			wantErr(t, err, c.kind, c.msg)
		})
	}
	// Repeating the current parent (the domain, for a top-level project) is fine.
	_, err = e.svc.UpdateProject(ctx, other.ID, identity.ProjectUpdate{ParentID: ptr("default"), DomainID: ptr("default")})
	mustOK(t, err)
	_, err = e.svc.UpdateProject(ctx, "missing", identity.ProjectUpdate{Name: ptr("x")})
	wantErr(t, err, identity.ErrNotFound, "Could not find project: missing.")
}

func TestProjectHierarchyViews(t *testing.T) {
	t.Parallel()
	e := newCrudEnv(t)
	a := e.mkProject(t, "a", "")
	b := e.mkProject(t, "b", a.ID)
	c := e.mkProject(t, "c", b.ID)
	d := e.mkProject(t, "d", b.ID)
	u, err := e.svc.CreateUser(e.admin, identity.UserCreate{Name: "viewer"})
	mustOK(t, err)
	e.grant(t, identity.UserProject, u.ID, a.ID, false)
	e.grant(t, identity.UserProject, u.ID, c.ID, false)
	ctx := e.as(u.ID, "")

	got, err := e.svc.GetProject(ctx, c.ID, identity.ProjectExpand{ParentsAsIDs: true})
	mustOK(t, err)
	want := map[string]any{b.ID: map[string]any{a.ID: map[string]any{"default": nil}}}
	if !reflect.DeepEqual(got.ParentIDs, want) {
		t.Fatalf("parents_as_ids = %v, want %v", got.ParentIDs, want)
	}
	got, err = e.svc.GetProject(ctx, a.ID, identity.ProjectExpand{SubtreeAsIDs: true})
	mustOK(t, err)
	want = map[string]any{b.ID: map[string]any{c.ID: nil, d.ID: nil}}
	if !reflect.DeepEqual(got.SubtreeIDs, want) {
		t.Fatalf("subtree_as_ids = %v, want %v", got.SubtreeIDs, want)
	}
	got, err = e.svc.GetProject(ctx, c.ID, identity.ProjectExpand{ParentsAsList: true})
	mustOK(t, err)
	if ids := projectIDs(got.Parents); !slices.Equal(ids, []string{a.ID}) {
		t.Fatalf("parents_as_list = %v, want only %s, the parent the caller has a role on", ids, a.ID)
	}
	got, err = e.svc.GetProject(ctx, a.ID, identity.ProjectExpand{SubtreeAsList: true})
	mustOK(t, err)
	if ids := projectIDs(got.Subtree); !slices.Equal(ids, []string{c.ID}) {
		t.Fatalf("subtree_as_list = %v, want only %s", ids, c.ID)
	}
	got, err = e.svc.GetProject(ctx, d.ID, identity.ProjectExpand{SubtreeAsIDs: true})
	mustOK(t, err)
	if got.SubtreeIDs != nil {
		t.Fatalf("subtree_as_ids of a leaf = %v, want nil", got.SubtreeIDs)
	}
	_, err = e.svc.GetProject(ctx, a.ID, identity.ProjectExpand{ParentsAsIDs: true, ParentsAsList: true})
	wantErr(t, err, identity.ErrValidation, "Cannot use parents_as_list and parents_as_ids query params at the same time.")
	_, err = e.svc.GetProject(ctx, a.ID, identity.ProjectExpand{SubtreeAsIDs: true, SubtreeAsList: true})
	wantErr(t, err, identity.ErrValidation, "Cannot use subtree_as_list and subtree_as_ids")
}

func TestProjectListFilters(t *testing.T) {
	t.Parallel()
	e := newCrudEnv(t)
	ctx := e.admin
	mk := func(name, parent string, tags ...string) identity.Project {
		p, err := e.svc.CreateProject(ctx, identity.ProjectCreate{Name: name, ParentID: parent, Tags: tags})
		mustOK(t, err)
		return p
	}
	red := mk("red", "", "color", "warm")
	blue := mk("blue", "", "color", "cold")
	plain := mk("plain", red.ID)
	other, err := e.svc.CreateDomain(ctx, identity.DomainCreate{Name: "other"})
	mustOK(t, err)
	elsewhere, err := e.svc.CreateProject(ctx, identity.ProjectCreate{Name: "elsewhere", DomainID: other.ID})
	mustOK(t, err)
	q := func(f identity.ProjectFilter) identity.ProjectQuery { return identity.ProjectQuery{ProjectFilter: f} }
	cases := []struct {
		name string
		q    identity.ProjectQuery
		want []string
	}{
		{"tags", q(identity.ProjectFilter{Tags: []string{"color", "warm"}}), []string{red.ID}},
		{"tags-any", q(identity.ProjectFilter{TagsAny: []string{"warm", "cold"}}), sortedIDs(red.ID, blue.ID)},
		{"not-tags-any", q(identity.ProjectFilter{DomainID: "default", NotTagsAny: []string{"color"}}),
			sortedIDs(plain.ID, e.boot.AdminProjectID, e.boot.ServiceProjectID)},
		{"parent", q(identity.ProjectFilter{ParentID: red.ID}), []string{plain.ID}},
		{"parent is the domain", q(identity.ProjectFilter{ParentID: other.ID}), []string{elsewhere.ID}},
		{"name", q(identity.ProjectFilter{Name: "blue"}), []string{blue.ID}},
		{"is_domain true", identity.ProjectQuery{IsDomain: ptr(true)}, []string{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ps, err := e.svc.ListProjects(ctx, c.q)
			mustOK(t, err)
			if got := projectIDs(ps); !slices.Equal(got, c.want) {
				t.Fatalf("got %v, want %v", got, c.want)
			}
		})
	}
	ps, err := e.svc.ListProjects(e.as(e.boot.AdminUserID, other.ID), identity.ProjectQuery{})
	mustOK(t, err)
	if got := projectIDs(ps); !slices.Equal(got, []string{elsewhere.ID}) {
		t.Fatalf("domain-scoped list = %v", got)
	}
}

func TestProjectTags(t *testing.T) {
	t.Parallel()
	e := newCrudEnv(t)
	ctx := e.admin
	p := e.mkProject(t, "tagged", "")
	mustOK(t, e.svc.AddProjectTag(ctx, p.ID, "one"))
	wantErr(t, e.svc.AddProjectTag(ctx, p.ID, "one"), identity.ErrValidation, "must be unique")
	wantErr(t, e.svc.AddProjectTag(ctx, p.ID, "a/b"), identity.ErrValidation, "does not match")
	wantErr(t, e.svc.AddProjectTag(ctx, "missing", "x"), identity.ErrNotFound, "Could not find project: missing.")
	mustOK(t, e.svc.CheckProjectTag(ctx, p.ID, "one"))
	wantErr(t, e.svc.CheckProjectTag(ctx, p.ID, "two"), identity.ErrNotFound, "Could not find project tag: two.")
	tags, err := e.svc.SetProjectTags(ctx, p.ID, []string{" x ", "y"})
	mustOK(t, err)
	if !slices.Equal(tags, []string{"x", "y"}) {
		t.Fatalf("set tags = %v", tags)
	}
	tags, err = e.svc.ListProjectTags(ctx, p.ID)
	mustOK(t, err)
	if !slices.Equal(tags, []string{"x", "y"}) {
		t.Fatalf("list tags = %v", tags)
	}
	wantErr(t, e.svc.DeleteProjectTag(ctx, p.ID, "one"), identity.ErrNotFound, "Could not find project tag: one.")
	mustOK(t, e.svc.DeleteProjectTag(ctx, p.ID, "x"))
	_, err = e.svc.SetProjectTags(ctx, p.ID, []string{"dup", "dup"})
	wantErr(t, err, identity.ErrValidation, "must be unique")
	_, err = e.svc.SetProjectTags(ctx, p.ID, nil)
	mustOK(t, err)
	tags, err = e.svc.ListProjectTags(ctx, p.ID)
	mustOK(t, err)
	if len(tags) != 0 {
		t.Fatalf("tags after removing all = %v", tags)
	}
}

func TestProjectRevocation(t *testing.T) {
	t.Parallel()
	e := newCrudEnv(t)
	ctx := e.admin
	p := e.mkProject(t, "work", "")
	u, err := e.svc.CreateUser(ctx, identity.UserCreate{Name: "worker", Password: ptr("pw"), DefaultProjectID: p.ID})
	mustOK(t, err)
	e.grant(t, identity.UserProject, u.ID, p.ID, false)
	tok, err := e.login(u.ID, "pw", p.ID)
	mustOK(t, err)
	_, err = e.svc.UpdateProject(ctx, p.ID, identity.ProjectUpdate{Enabled: ptr(false)})
	mustOK(t, err)
	if !e.revoked(t, identity.RevocationEvent{ProjectID: p.ID}) {
		t.Fatal("disabling a project recorded no revocation event")
	}
	_, err = e.svc.ValidateToken(context.Background(), tok.ID, false)
	wantErr(t, err, identity.ErrUnauthorized, "")

	mustOK(t, e.svc.DeleteProject(ctx, p.ID))
	got, err := e.svc.GetUser(ctx, u.ID)
	mustOK(t, err)
	if got.DefaultProjectID != "" {
		t.Fatalf("default project of a user after its deletion = %q", got.DefaultProjectID)
	}
	_, err = e.svc.GetProject(ctx, p.ID, identity.ProjectExpand{})
	wantErr(t, err, identity.ErrNotFound, "Could not find project: "+p.ID+".")
}

func TestProjectsOfUser(t *testing.T) {
	t.Parallel()
	e := newCrudEnv(t)
	ctx := e.admin
	direct := e.mkProject(t, "direct", "")
	viaGroup := e.mkProject(t, "via-group", "")
	top := e.mkProject(t, "top", "")
	below := e.mkProject(t, "below", top.ID)
	off, err := e.svc.CreateProject(ctx, identity.ProjectCreate{Name: "off", Enabled: ptr(false)})
	mustOK(t, err)
	other, err := e.svc.CreateDomain(ctx, identity.DomainCreate{Name: "other"})
	mustOK(t, err)
	inDomain, err := e.svc.CreateProject(ctx, identity.ProjectCreate{Name: "in-domain", DomainID: other.ID})
	mustOK(t, err)
	u, err := e.svc.CreateUser(ctx, identity.UserCreate{Name: "u"})
	mustOK(t, err)
	g, err := e.svc.CreateGroup(ctx, identity.GroupCreate{Name: "g"})
	mustOK(t, err)
	mustOK(t, e.svc.AddUserToGroup(ctx, g.ID, u.ID))
	e.grant(t, identity.UserProject, u.ID, direct.ID, false)
	e.grant(t, identity.GroupProject, g.ID, viaGroup.ID, false)
	e.grant(t, identity.UserProject, u.ID, top.ID, true) // inherited: below only
	e.grant(t, identity.UserDomain, u.ID, other.ID, true)
	e.grant(t, identity.UserProject, u.ID, off.ID, false)

	ps, err := e.svc.AuthProjects(e.as(u.ID, ""))
	mustOK(t, err)
	want := sortedIDs(direct.ID, viaGroup.ID, below.ID, inDomain.ID)
	if got := projectIDs(ps); !slices.Equal(got, want) {
		t.Fatalf("auth projects = %v, want %v", got, want)
	}
	ps, err = e.svc.ListUserProjects(ctx, u.ID, identity.ProjectFilter{})
	mustOK(t, err)
	if got := projectIDs(ps); !slices.Equal(got, sortedIDs(append(want, off.ID)...)) {
		t.Fatalf("user projects = %v", got)
	}
	ps, err = e.svc.ListUserProjects(ctx, u.ID, identity.ProjectFilter{DomainID: other.ID})
	mustOK(t, err)
	if got := projectIDs(ps); !slices.Equal(got, []string{inDomain.ID}) {
		t.Fatalf("user projects in %s = %v", other.ID, got)
	}
	_, err = e.svc.ListUserProjects(ctx, "nobody", identity.ProjectFilter{})
	wantErr(t, err, identity.ErrNotFound, "Could not find user: nobody.")
}
