package identityhttp_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/osinherit"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/roles"
)

// rbacSetup is a project, a user in a group, and a fresh role, made over HTTP.
type rbacSetup struct {
	project, user, group, role string
}

func (c *crudCloud) rbacSetup(t *testing.T) rbacSetup {
	t.Helper()
	s := rbacSetup{
		project: c.create(t, "/projects", "project", map[string]any{"name": "web", "domain_id": "default"}),
		user:    c.mkRBACUser(t, "erin"),
		group:   c.create(t, "/groups", "group", map[string]any{"name": "ops", "domain_id": "default"}),
		role:    c.create(t, "/roles", "role", map[string]any{"name": "observer"}),
	}
	wantStatus(t, c.call(t, "PUT", "/groups/"+s.group+"/users/"+s.user, nil), http.StatusNoContent, "")
	return s
}

func TestGrantRoutesAPI(t *testing.T) {
	t.Parallel()
	c := startCrudCloud(t)
	s := c.rbacSetup(t)
	cases := []struct{ name, base, suffix string }{
		{"user on project", "/projects/" + s.project + "/users/" + s.user + "/roles", ""},
		{"group on project", "/projects/" + s.project + "/groups/" + s.group + "/roles", ""},
		{"user on domain", "/domains/default/users/" + s.user + "/roles", ""},
		{"group on domain", "/domains/default/groups/" + s.group + "/roles", ""},
		{"user on system", "/system/users/" + s.user + "/roles", ""},
		{"group on system", "/system/groups/" + s.group + "/roles", ""},
		{"user inherited on domain", "/OS-INHERIT/domains/default/users/" + s.user + "/roles", "/inherited_to_projects"},
		{"group inherited on domain", "/OS-INHERIT/domains/default/groups/" + s.group + "/roles", "/inherited_to_projects"},
		{"user inherited on project", "/OS-INHERIT/projects/" + s.project + "/users/" + s.user + "/roles", "/inherited_to_projects"},
		{"group inherited on project", "/OS-INHERIT/projects/" + s.project + "/groups/" + s.group + "/roles", "/inherited_to_projects"},
	}
	for _, cs := range cases {
		t.Run(cs.name, func(t *testing.T) {
			one := cs.base + "/" + s.role + cs.suffix
			if st := c.call(t, "HEAD", one, nil).Status; st != http.StatusNotFound {
				t.Fatalf("HEAD before the grant = %d, want 404", st)
			}
			wantStatus(t, c.call(t, "GET", one, nil), http.StatusNotFound, "Could not find role assignment with role: "+s.role)
			wantStatus(t, c.call(t, "PUT", one, nil), http.StatusNoContent, "")
			wantStatus(t, c.call(t, "PUT", one, nil), http.StatusNoContent, "")
			wantStatus(t, c.call(t, "HEAD", one, nil), http.StatusNoContent, "")
			wantStatus(t, c.call(t, "GET", one, nil), http.StatusNoContent, "")
			if r := c.call(t, "GET", cs.base+cs.suffix, nil); r.Status != http.StatusMethodNotAllowed && r.Status != http.StatusNotFound {
				wantStatus(t, r, http.StatusOK, "")
				body := r.JSON(t)
				wantKeys(t, "grant list", body, "roles", "links")
				list := body["roles"].([]any)
				if len(list) != 1 || list[0].(map[string]any)["id"] != s.role {
					t.Fatalf("grant list = %s", r.Body)
				}
				wantKeys(t, "granted role", list[0].(map[string]any), "id", "name", "domain_id", "description", "options", "links")
			}
			wantStatus(t, c.call(t, "DELETE", one, nil), http.StatusNoContent, "")
			wantStatus(t, c.call(t, "DELETE", one, nil), http.StatusNotFound, "Could not find role assignment")
		})
	}
}

func TestGrantsBadInputAPI(t *testing.T) {
	t.Parallel()
	c := startCrudCloud(t)
	s := c.rbacSetup(t)
	domainRole := c.create(t, "/roles", "role", map[string]any{"name": "local", "domain_id": "default"})
	cases := []struct {
		name, method, path string
		status             int
		msg                string
	}{
		{"unknown project", "PUT", "/projects/nope/users/" + s.user + "/roles/" + s.role, http.StatusNotFound, "Could not find project: nope."},
		{"unknown domain", "PUT", "/domains/nope/users/" + s.user + "/roles/" + s.role, http.StatusNotFound, "Could not find domain: nope."},
		{"unknown user", "PUT", "/projects/" + s.project + "/users/nope/roles/" + s.role, http.StatusNotFound, "Could not find user: nope."},
		{"unknown group", "PUT", "/system/groups/nope/roles/" + s.role, http.StatusNotFound, "Could not find group: nope."},
		{"unknown role", "PUT", "/projects/" + s.project + "/users/" + s.user + "/roles/nope", http.StatusNotFound, "Could not find role: nope."},
		{"list for unknown user", "GET", "/domains/default/users/nope/roles", http.StatusNotFound, "Could not find user: nope."},
		{"domain role on the system", "PUT", "/system/users/" + s.user + "/roles/" + domainRole, http.StatusBadRequest, "domain-specific role"},
	}
	for _, cs := range cases {
		t.Run(cs.name, func(t *testing.T) {
			t.Parallel()
			wantStatus(t, c.call(t, cs.method, cs.path, nil), cs.status, cs.msg)
		})
	}
}

func TestGrantRevocationAPI(t *testing.T) {
	t.Parallel()
	c := startCrudCloud(t)
	s := c.rbacSetup(t)
	member := c.roleID(t, "member")
	keep := "/projects/" + s.project + "/users/" + s.user + "/roles/" + s.role
	viaGroup := "/projects/" + s.project + "/groups/" + s.group + "/roles/" + member
	wantStatus(t, c.call(t, "PUT", keep, nil), http.StatusNoContent, "")
	wantStatus(t, c.call(t, "PUT", viaGroup, nil), http.StatusNoContent, "")
	tok := c.projectToken(t, "erin", s.project)
	if st := c.tokenStatus(t, tok); st != http.StatusOK {
		t.Fatalf("fresh token validates with %d", st)
	}
	wantStatus(t, c.call(t, "GET", "/auth/catalog", nil, tok), http.StatusOK, "")
	wantStatus(t, c.call(t, "DELETE", viaGroup, nil), http.StatusNoContent, "")
	if st := c.tokenStatus(t, tok); st != http.StatusNotFound {
		t.Fatalf("token validates with %d after its group's grant went, want 404", st)
	}
	wantStatus(t, c.call(t, "GET", "/auth/catalog", nil, tok), http.StatusUnauthorized, "")
	// A new token carries what is left.
	tok = c.projectToken(t, "erin", s.project)
	r := c.Do(t, "GET", c.IdentityURL+"/auth/tokens", c.token, nil, "X-Subject-Token", tok)
	wantStatus(t, r, http.StatusOK, "")
	if got := r.JSON(t)["token"].(map[string]any)["roles"].([]any); len(got) != 1 {
		t.Fatalf("roles after the revocation = %v", got)
	}
}

func TestGrantsGophercloud(t *testing.T) {
	t.Parallel()
	c := startCrudCloud(t)
	s := c.rbacSetup(t)
	ctx := context.Background()
	if err := roles.Assign(ctx, c.client, s.role, roles.AssignOpts{UserID: s.user, ProjectID: s.project}).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if err := roles.Validate(ctx, c.client, s.role, roles.ValidateOpts{UserID: s.user, ProjectID: s.project}).ExtractErr(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if err := roles.Assign(ctx, c.client, s.role, roles.AssignOpts{GroupID: s.group, System: true}).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	pages, err := roles.ListAssignmentsOnResource(c.client, roles.ListAssignmentsOnResourceOpts{UserID: s.user, ProjectID: s.project}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := roles.ExtractRoles(pages); err != nil || len(got) != 1 || got[0].ID != s.role {
		t.Fatalf("roles of the user on the project = %+v, %v", got, err)
	}
	if err := roles.Unassign(ctx, c.client, s.role, roles.UnassignOpts{UserID: s.user, ProjectID: s.project}).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if err := osinherit.Assign(ctx, c.client, s.role, osinherit.AssignOpts{GroupID: s.group, DomainID: "default"}).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if err := osinherit.Validate(ctx, c.client, s.role, osinherit.ValidateOpts{GroupID: s.group, DomainID: "default"}).ExtractErr(); err != nil {
		t.Fatalf("OS-INHERIT Validate: %v", err)
	}
	if err := osinherit.Unassign(ctx, c.client, s.role, osinherit.UnassignOpts{GroupID: s.group, DomainID: "default"}).ExtractErr(); err != nil {
		t.Fatal(err)
	}
}
