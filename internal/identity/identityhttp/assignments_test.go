package identityhttp_test

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/roles"
)

// findAssignment returns the entry of a role_assignments body whose role id
// and scope project (or "system") match.
func findAssignment(t *testing.T, body map[string]any, roleID, scope string) map[string]any {
	t.Helper()
	for _, raw := range body["role_assignments"].([]any) {
		e := raw.(map[string]any)
		sc := e["scope"].(map[string]any)
		got := "system"
		if p, ok := sc["project"].(map[string]any); ok {
			got = p["id"].(string)
		}
		if e["role"].(map[string]any)["id"] == roleID && got == scope {
			return e
		}
	}
	t.Fatalf("no assignment of role %s on %s in %v", roleID, scope, body)
	return nil
}

func TestRoleAssignmentsAPI(t *testing.T) {
	t.Parallel()
	c := startCrudCloud(t)
	s := c.rbacSetup(t)
	child := c.create(t, "/projects", "project", map[string]any{"name": "child", "domain_id": "default", "parent_id": s.project})
	member, reader := c.roleID(t, "member"), c.roleID(t, "reader")
	wantStatus(t, c.call(t, "PUT", "/OS-INHERIT/projects/"+s.project+"/groups/"+s.group+"/roles/"+member+"/inherited_to_projects", nil),
		http.StatusNoContent, "")
	wantStatus(t, c.call(t, "PUT", "/system/users/"+s.user+"/roles/"+s.role, nil), http.StatusNoContent, "")
	base := c.IdentityURL

	// Direct: the group's inherited assignment, as stored.
	r := c.call(t, "GET", "/role_assignments?group.id="+s.group, nil)
	wantStatus(t, r, http.StatusOK, "")
	body := r.JSON(t)
	wantKeys(t, "role assignment list", body, "role_assignments", "links")
	e := findAssignment(t, body, member, s.project)
	wantKeys(t, "assignment", e, "role", "group", "scope", "links")
	if e["scope"].(map[string]any)["OS-INHERIT:inherited_to"] != "projects" ||
		e["links"].(map[string]any)["assignment"] != base+"/OS-INHERIT/projects/"+s.project+"/groups/"+s.group+"/roles/"+member+"/inherited_to_projects" {
		t.Fatalf("inherited group assignment = %v", e)
	}

	// Effective: the user gets member (and reader) on the child through the group.
	r = c.call(t, "GET", "/role_assignments?effective&user.id="+s.user, nil)
	wantStatus(t, r, http.StatusOK, "")
	body = r.JSON(t)
	if n := len(body["role_assignments"].([]any)); n != 2 {
		t.Fatalf("effective assignments of the user = %d, want member and reader on the child: %s", n, r.Body)
	}
	e = findAssignment(t, body, member, child)
	links := e["links"].(map[string]any)
	if links["membership"] != base+"/groups/"+s.group+"/users/"+s.user ||
		links["assignment"] != base+"/OS-INHERIT/projects/"+s.project+"/groups/"+s.group+"/roles/"+member+"/inherited_to_projects" {
		t.Fatalf("effective entry links = %v", links)
	}
	if e["user"].(map[string]any)["id"] != s.user {
		t.Fatalf("effective entry = %v", e)
	}
	e = findAssignment(t, body, reader, child)
	if e["links"].(map[string]any)["prior_role"] != base+"/roles/"+member+"/implies/"+reader {
		t.Fatalf("implied entry links = %v", e["links"])
	}

	// Names and the system scope.
	r = c.call(t, "GET", "/role_assignments?scope.system=all&include_names=1&user.id="+s.user, nil)
	wantStatus(t, r, http.StatusOK, "")
	e = findAssignment(t, r.JSON(t), s.role, "system")
	if sys := e["scope"].(map[string]any)["system"].(map[string]any); sys["all"] != true {
		t.Fatalf("system scope = %v", e["scope"])
	}
	user := e["user"].(map[string]any)
	if user["name"] != "erin" || user["domain"].(map[string]any)["name"] != "Default" || e["role"].(map[string]any)["name"] != "observer" {
		t.Fatalf("named system entry = %v", e)
	}
	if e["links"].(map[string]any)["assignment"] != base+"/system/users/"+s.user+"/roles/"+s.role {
		t.Fatalf("system assignment link = %v", e["links"])
	}

	r = c.call(t, "GET", "/role_assignments?scope.project.id="+s.project+"&include_subtree=true&effective", nil)
	wantStatus(t, r, http.StatusOK, "")
	if n := len(r.JSON(t)["role_assignments"].([]any)); n != 2 {
		t.Fatalf("effective assignments below the project = %d, want 2: %s", n, r.Body)
	}
	wantStatus(t, c.call(t, "GET", "/role_assignments?user.id=a&group.id=b", nil), http.StatusBadRequest, "Specify a user or group, not both")
	wantStatus(t, c.call(t, "GET", "/role_assignments?include_subtree", nil), http.StatusBadRequest, "scope.project.id must be specified")

	pages, err := roles.ListAssignments(c.client, roles.ListAssignmentsOpts{UserID: s.user, Effective: ptrTo(true)}).AllPages(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got, err := roles.ExtractRoleAssignments(pages)
	if err != nil || len(got) != 2 || got[0].Scope.Project.ID != child {
		t.Fatalf("gophercloud ListAssignments = %+v, %v", got, err)
	}
}

func ptrTo[T any](v T) *T { return &v }

func TestRevokeEventsAPI(t *testing.T) {
	t.Parallel()
	c := startCrudCloud(t)
	s := c.rbacSetup(t)
	grant := "/projects/" + s.project + "/users/" + s.user + "/roles/" + s.role
	wantStatus(t, c.call(t, "PUT", grant, nil), http.StatusNoContent, "")
	wantStatus(t, c.call(t, "DELETE", grant, nil), http.StatusNoContent, "")

	r := c.call(t, "GET", "/OS-REVOKE/events", nil)
	wantStatus(t, r, http.StatusOK, "")
	body := r.JSON(t)
	wantKeys(t, "revoke events", body, "events", "links")
	if body["links"].(map[string]any)["self"] != c.IdentityURL+"/OS-REVOKE/events" {
		t.Fatalf("links = %v", body["links"])
	}
	var ev map[string]any
	for _, raw := range body["events"].([]any) {
		if e := raw.(map[string]any); e["user_id"] == s.user {
			ev = e
		}
	}
	if ev == nil {
		t.Fatalf("no event for the revoked grant: %s", r.Body)
	}
	wantKeys(t, "revoke event", ev, "user_id", "project_id", "issued_before", "revoked_at")
	stamp := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$`)
	if !stamp.MatchString(ev["revoked_at"].(string)) || ev["project_id"] != s.project {
		t.Fatalf("event = %v", ev)
	}
	r = c.call(t, "GET", "/OS-REVOKE/events?since="+strings.TrimSuffix(ev["revoked_at"].(string), "Z"), nil)
	wantStatus(t, r, http.StatusOK, "")
	if evs := r.JSON(t)["events"].([]any); len(evs) != 0 {
		t.Fatalf("events since the last one = %v", evs)
	}
	wantStatus(t, c.call(t, "GET", "/OS-REVOKE/events?since=yesterday", nil), http.StatusBadRequest, "invalidate date format yesterday")

	wantStatus(t, c.call(t, "PUT", "/projects/"+s.project+"/users/"+s.user+"/roles/"+c.roleID(t, "member"), nil), http.StatusNoContent, "")
	tok := c.projectToken(t, "erin", s.project)
	wantStatus(t, c.call(t, "GET", "/OS-REVOKE/events", nil, tok), http.StatusForbidden, "identity:list_revoke_events")
}
