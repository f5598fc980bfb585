package identity_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/identity"
)

// assignmentWorld is a small tree of projects a > b > c in the default domain,
// users u and v in group g, and roles r1 (implying r2), x, y, z, s and the
// domain-specific dr (implying r3), assigned as:
//
//	u: r1 on a, dr on c, y inherited on the default domain, s on the system
//	g: x on b, z inherited on a
type assignmentWorld struct {
	e      *crudEnv
	labels map[string]string // id -> short name
	ids    map[string]string // short name -> id
}

func newAssignmentWorld(t *testing.T) *assignmentWorld {
	t.Helper()
	e := newCrudEnv(t)
	w := &assignmentWorld{e: e, labels: map[string]string{"default": "default"}, ids: map[string]string{}}
	name := func(label, id string) string {
		w.labels[id], w.ids[label] = label, id
		return id
	}
	a := name("a", e.mkProject(t, "a", "").ID)
	b := name("b", e.mkProject(t, "b", a).ID)
	c := name("c", e.mkProject(t, "c", b).ID)
	name("admin-project", e.boot.AdminProjectID)
	name("service-project", e.boot.ServiceProjectID)
	name("admin", e.boot.AdminUserID)
	u := name("u", e.mkUser(t, "u").ID)
	v := name("v", e.mkUser(t, "v").ID)
	g := name("g", e.mkGroup(t, "g", u, v).ID)
	for _, r := range []string{"r1", "r2", "r3", "x", "y", "z", "s"} {
		name(r, e.mkRole(t, r, "").ID)
	}
	for n, id := range e.roleIDs {
		name(n, id)
	}
	dr := name("dr", e.mkRole(t, "dr", "default").ID)
	for _, ir := range [][2]string{{"r1", "r2"}, {"dr", "r3"}} {
		_, err := e.svc.CreateImpliedRole(e.admin, w.ids[ir[0]], w.ids[ir[1]])
		mustOK(t, err)
	}
	for _, gr := range []identity.Grant{
		{UserID: u, ProjectID: a, RoleID: w.ids["r1"]},
		{UserID: u, ProjectID: c, RoleID: dr},
		{UserID: u, DomainID: "default", Inherited: true, RoleID: w.ids["y"]},
		{UserID: u, System: true, RoleID: w.ids["s"]},
		{GroupID: g, ProjectID: b, RoleID: w.ids["x"]},
		{GroupID: g, ProjectID: a, Inherited: true, RoleID: w.ids["z"]},
	} {
		mustOK(t, e.svc.CreateGrant(e.admin, gr))
	}
	return w
}

// summary renders entries as sorted "role actor@scope" strings, with
// "+inherited" for OS-INHERIT entries and the sources of effective ones.
func (w *assignmentWorld) summary(entries []identity.RoleAssignment) []string {
	out := make([]string, len(entries))
	for i, e := range entries {
		actor := w.labels[e.UserID] + w.labels[e.GroupID]
		scope := w.labels[e.ProjectID] + w.labels[e.DomainID]
		if e.System {
			scope = "system"
		}
		s := fmt.Sprintf("%s %s@%s", w.labels[e.RoleID], actor, scope)
		if e.Inherited {
			s += " +inherited"
		}
		for _, from := range []string{e.FromGroupID, e.FromProjectID, e.FromDomainID, e.FromRoleID} {
			if from != "" {
				s += " <" + w.labels[from]
			}
		}
		out[i] = s
	}
	slices.Sort(out)
	return out
}

func (w *assignmentWorld) list(t *testing.T, q identity.AssignmentQuery) []string {
	t.Helper()
	entries, err := w.e.svc.ListRoleAssignments(w.e.admin, q)
	mustOK(t, err)
	return w.summary(entries)
}

func TestRoleAssignmentsDirect(t *testing.T) {
	t.Parallel()
	w := newAssignmentWorld(t)
	inherited, direct := true, false
	cases := []struct {
		name string
		q    identity.AssignmentQuery
		want []string
	}{
		{"user", identity.AssignmentQuery{UserID: w.ids["u"]},
			[]string{"dr u@c", "r1 u@a", "s u@system", "y u@default +inherited"}},
		{"group", identity.AssignmentQuery{GroupID: w.ids["g"]},
			[]string{"x g@b", "z g@a +inherited"}},
		{"project", identity.AssignmentQuery{ProjectID: w.ids["a"]},
			[]string{"r1 u@a", "z g@a +inherited"}},
		{"project subtree", identity.AssignmentQuery{ProjectID: w.ids["a"], IncludeSubtree: true},
			[]string{"dr u@c", "r1 u@a", "x g@b", "z g@a +inherited"}},
		{"domain", identity.AssignmentQuery{DomainID: "default"},
			[]string{"y u@default +inherited"}},
		{"system", identity.AssignmentQuery{System: "all"},
			[]string{"admin admin@system", "s u@system"}},
		{"inherited only", identity.AssignmentQuery{UserID: w.ids["u"], Inherited: &inherited},
			[]string{"y u@default +inherited"}},
		{"direct only on a project", identity.AssignmentQuery{ProjectID: w.ids["a"], Inherited: &direct},
			[]string{"r1 u@a"}},
		{"role", identity.AssignmentQuery{RoleID: w.ids["x"]},
			[]string{"x g@b"}},
		{"other scope.system values do not filter", identity.AssignmentQuery{UserID: w.ids["u"], System: "none"},
			[]string{"dr u@c", "r1 u@a", "s u@system", "y u@default +inherited"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := w.list(t, c.q); !slices.Equal(got, c.want) {
				t.Fatalf("assignments =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
		})
	}
}

func TestRoleAssignmentsEffective(t *testing.T) {
	t.Parallel()
	w := newAssignmentWorld(t)
	cases := []struct {
		name string
		q    identity.AssignmentQuery
		want []string
	}{
		{"user", identity.AssignmentQuery{UserID: w.ids["u"]}, []string{
			"r1 u@a", "r2 u@a <r1", "r3 u@c <dr",
			"x u@b <g",
			"y u@a +inherited <default", "y u@admin-project +inherited <default", "y u@b +inherited <default",
			"y u@c +inherited <default", "y u@service-project +inherited <default",
			"z u@b +inherited <g <a", "z u@c +inherited <g <a",
		}},
		{"project", identity.AssignmentQuery{ProjectID: w.ids["b"]}, []string{
			"x u@b <g", "x v@b <g",
			"y u@b +inherited <default",
			"z u@b +inherited <g <a", "z v@b +inherited <g <a",
		}},
		{"project subtree", identity.AssignmentQuery{ProjectID: w.ids["b"], IncludeSubtree: true}, []string{
			"r3 u@c <dr",
			"x u@b <g", "x v@b <g",
			"y u@b +inherited <default", "y u@c +inherited <default",
			"z u@b +inherited <g <a", "z u@c +inherited <g <a", "z v@b +inherited <g <a", "z v@c +inherited <g <a",
		}},
		{"inherited ones on a project", identity.AssignmentQuery{ProjectID: w.ids["a"], UserID: w.ids["v"], Inherited: ptr(true)},
			nil},
		{"role", identity.AssignmentQuery{UserID: w.ids["u"], RoleID: w.ids["r2"]}, []string{"r2 u@a <r1"}},
		{"system", identity.AssignmentQuery{UserID: w.ids["u"], System: "all"}, []string{"s u@system"}},
		{"domain", identity.AssignmentQuery{DomainID: "default"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.q.Effective = true
			got := w.list(t, c.q)
			if len(got) == 0 && len(c.want) == 0 {
				return
			}
			if !slices.Equal(got, c.want) {
				t.Fatalf("effective assignments =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
		})
	}
}

func TestRoleAssignmentsEffectiveSources(t *testing.T) {
	t.Parallel()
	w := newAssignmentWorld(t)
	entries, err := w.e.svc.ListRoleAssignments(w.e.admin, identity.AssignmentQuery{UserID: w.ids["u"],
		ProjectID: w.ids["c"], Effective: true})
	mustOK(t, err)
	for _, e := range entries {
		if e.RoleID == w.ids["r3"] && e.GrantedRoleID != w.ids["dr"] {
			t.Errorf("r3 entry granted role = %s, want dr", w.labels[e.GrantedRoleID])
		}
		if e.RoleID == w.ids["z"] && (e.FromGroupID != w.ids["g"] || e.FromProjectID != w.ids["a"] || e.UserID != w.ids["u"]) {
			t.Errorf("z entry = %+v", e)
		}
	}
}

func TestRoleAssignmentsNames(t *testing.T) {
	t.Parallel()
	w := newAssignmentWorld(t)
	entries, err := w.e.svc.ListRoleAssignments(w.e.admin, identity.AssignmentQuery{ProjectID: w.ids["c"], IncludeNames: true})
	mustOK(t, err)
	if len(entries) != 1 {
		t.Fatalf("entries on c = %d, want dr for u", len(entries))
	}
	n := entries[0].Names
	want := identity.AssignmentNames{Role: "dr", RoleDomainID: "default", RoleDomain: "Default",
		User: "u", UserDomainID: "default", UserDomain: "Default",
		Project: "c", ProjectDomainID: "default", ProjectDomain: "Default"}
	if n == nil || *n != want {
		t.Fatalf("names = %+v, want %+v", n, want)
	}
	entries, err = w.e.svc.ListRoleAssignments(w.e.admin, identity.AssignmentQuery{GroupID: w.ids["g"], IncludeNames: true})
	mustOK(t, err)
	for _, e := range entries {
		if e.Names.Group != "g" || e.Names.GroupDomain != "Default" {
			t.Fatalf("group names = %+v", e.Names)
		}
	}
}

func TestRoleAssignmentsDomainScopedCaller(t *testing.T) {
	t.Parallel()
	w := newAssignmentWorld(t)
	e := w.e
	other, err := e.svc.CreateDomain(e.admin, identity.DomainCreate{Name: "other"})
	mustOK(t, err)
	op, err := e.svc.CreateProject(e.admin, identity.ProjectCreate{Name: "far", DomainID: other.ID})
	mustOK(t, err)
	mustOK(t, e.svc.CreateGrant(e.admin, identity.Grant{UserID: w.ids["u"], ProjectID: op.ID, RoleID: w.ids["x"]}))
	mustOK(t, e.svc.CreateGrant(e.admin, identity.Grant{UserID: w.ids["u"], DomainID: other.ID, RoleID: w.ids["x"]}))

	all, err := e.svc.ListRoleAssignments(e.admin, identity.AssignmentQuery{UserID: w.ids["u"]})
	mustOK(t, err)
	if len(all) != 6 {
		t.Fatalf("project-scoped admin sees %d of u's assignments, want 6", len(all))
	}
	scoped, err := e.svc.ListRoleAssignments(e.as(e.boot.AdminUserID, other.ID), identity.AssignmentQuery{UserID: w.ids["u"]})
	mustOK(t, err)
	if len(scoped) != 2 {
		t.Fatalf("caller scoped to the other domain sees %d assignments, want its project's and its own", len(scoped))
	}
	tgt := e.authz.target("identity:list_role_assignments")["target"].(map[string]any)
	if tgt["domain_id"] != other.ID {
		t.Fatalf("list_role_assignments target = %v", tgt)
	}
}

func TestRoleAssignmentsBadInput(t *testing.T) {
	t.Parallel()
	w := newAssignmentWorld(t)
	cases := []struct {
		name string
		q    identity.AssignmentQuery
		kind error
		msg  string
	}{
		{"user and group", identity.AssignmentQuery{UserID: "u", GroupID: "g"}, identity.ErrValidation, "Specify a user or group, not both"},
		{"project and domain", identity.AssignmentQuery{ProjectID: "p", DomainID: "d"}, identity.ErrValidation, "Specify a domain or project, not both"},
		{"system and project", identity.AssignmentQuery{ProjectID: "p", System: "all"}, identity.ErrValidation, "Specify system or project, not both"},
		{"system and domain", identity.AssignmentQuery{DomainID: "d", System: "all"}, identity.ErrValidation, "Specify system or domain, not both"},
		{"effective group", identity.AssignmentQuery{GroupID: "g", Effective: true}, identity.ErrValidation, "Combining effective and group filter"},
		{"effective inherited domain", identity.AssignmentQuery{DomainID: "d", Effective: true, Inherited: ptr(true)},
			identity.ErrValidation, "Combining effective, domain and inherited filters"},
		{"subtree without project", identity.AssignmentQuery{IncludeSubtree: true}, identity.ErrValidation,
			"scope.project.id must be specified if include_subtree is also specified"},
		{"subtree of an unknown project", identity.AssignmentQuery{ProjectID: "nope", IncludeSubtree: true}, identity.ErrNotFound,
			"Could not find project: nope."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := w.e.svc.ListRoleAssignments(w.e.admin, c.q)
			wantErr(t, err, c.kind, c.msg)
		})
	}
}
