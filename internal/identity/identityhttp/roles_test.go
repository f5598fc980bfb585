package identityhttp_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/roles"
)

// create POSTs body below /v3 as the admin, wants 201 and returns the id of
// the object under key.
func (c *crudCloud) create(t *testing.T, path, key string, body map[string]any) string {
	t.Helper()
	r := c.call(t, "POST", path, map[string]any{key: body})
	wantStatus(t, r, http.StatusCreated, "")
	return r.JSON(t)[key].(map[string]any)["id"].(string)
}

// mkRBACUser creates a user of the default domain whose password is "pw-<name>".
func (c *crudCloud) mkRBACUser(t *testing.T, name string) string {
	t.Helper()
	return c.create(t, "/users", "user", map[string]any{"name": name, "password": "pw-" + name, "domain_id": "default"})
}

// projectToken issues a token for a user created by mkRBACUser on a project.
func (c *crudCloud) projectToken(t *testing.T, name, projectID string) string {
	t.Helper()
	body := passwordAuth(name, "pw-"+name, map[string]any{"project": map[string]any{"id": projectID}})
	r := c.Do(t, "POST", c.IdentityURL+"/auth/tokens", "", body)
	wantStatus(t, r, http.StatusCreated, "")
	return r.Header.Get("X-Subject-Token")
}

// tokenStatus is the status of validating token with the admin's.
func (c *crudCloud) tokenStatus(t *testing.T, token string) int {
	t.Helper()
	return c.Do(t, "GET", c.IdentityURL+"/auth/tokens", c.token, nil, "X-Subject-Token", token).Status
}

func TestRolesAPI(t *testing.T) {
	t.Parallel()
	c := startCrudCloud(t)
	r := c.call(t, "POST", "/roles", map[string]any{"role": map[string]any{"name": "observer", "description": "looks", "extra": 1}})
	wantStatus(t, r, http.StatusCreated, "")
	role := r.JSON(t)["role"].(map[string]any)
	wantKeys(t, "role", role, "id", "name", "domain_id", "description", "options", "links")
	id := role["id"].(string)
	if role["domain_id"] != nil || role["description"] != "looks" || len(role["options"].(map[string]any)) != 0 ||
		role["links"].(map[string]any)["self"] != c.IdentityURL+"/roles/"+id {
		t.Fatalf("created role = %s", r.Body)
	}
	wantStatus(t, c.call(t, "POST", "/roles", map[string]any{"role": map[string]any{"name": "observer"}}),
		http.StatusConflict, "Duplicate entry found with name observer")
	wantStatus(t, c.call(t, "POST", "/roles", map[string]any{"role": map[string]any{"description": "x"}}),
		http.StatusBadRequest, "'name' is a required property")
	wantStatus(t, c.call(t, "POST", "/roles", map[string]any{"rol": map[string]any{}}), http.StatusBadRequest, "Expecting to find role")
	wantStatus(t, c.call(t, "POST", "/roles", map[string]any{"role": map[string]any{"name": 7}}), http.StatusBadRequest, "name")

	r = c.call(t, "GET", "/roles?name=observer", nil)
	wantStatus(t, r, http.StatusOK, "")
	body := r.JSON(t)
	wantKeys(t, "role list", body, "roles", "links")
	if list := body["roles"].([]any); len(list) != 1 || list[0].(map[string]any)["id"] != id {
		t.Fatalf("roles named observer = %s", r.Body)
	}
	r = c.call(t, "POST", "/roles", map[string]any{"role": map[string]any{"name": "observer", "domain_id": "default"}})
	wantStatus(t, r, http.StatusCreated, "")
	if r.JSON(t)["role"].(map[string]any)["domain_id"] != "default" {
		t.Fatalf("domain role = %s", r.Body)
	}
	r = c.call(t, "GET", "/roles?domain_id=default", nil)
	if list := r.JSON(t)["roles"].([]any); len(list) != 1 {
		t.Fatalf("domain roles = %s", r.Body)
	}

	r = c.call(t, "PATCH", "/roles/"+id, map[string]any{"role": map[string]any{"description": nil, "options": map[string]any{"immutable": true}}})
	wantStatus(t, r, http.StatusOK, "")
	if got := r.JSON(t)["role"].(map[string]any); got["description"] != nil || got["options"].(map[string]any)["immutable"] != true {
		t.Fatalf("patched role = %s", r.Body)
	}
	wantStatus(t, c.call(t, "DELETE", "/roles/"+id, nil), http.StatusForbidden, "Unable to delete immutable role resource")
	wantStatus(t, c.call(t, "PATCH", "/roles/"+id, map[string]any{"role": map[string]any{}}), http.StatusBadRequest, "does not have enough properties")
	wantStatus(t, c.call(t, "PATCH", "/roles/"+id, map[string]any{"role": map[string]any{"id": "other"}}), http.StatusBadRequest, "Cannot change")
	wantStatus(t, c.call(t, "PATCH", "/roles/"+id, map[string]any{"role": map[string]any{"options": map[string]any{"immutable": false}}}),
		http.StatusOK, "")
	wantStatus(t, c.call(t, "DELETE", "/roles/"+id, nil), http.StatusNoContent, "")
	wantStatus(t, c.call(t, "GET", "/roles/"+id, nil), http.StatusNotFound, "Could not find role: "+id+".")
}

func TestImpliedRolesAPI(t *testing.T) {
	t.Parallel()
	c := startCrudCloud(t)
	prior := c.create(t, "/roles", "role", map[string]any{"name": "prior"})
	implied := c.create(t, "/roles", "role", map[string]any{"name": "implied"})
	path := "/roles/" + prior + "/implies/" + implied

	r := c.call(t, "PUT", path, nil)
	wantStatus(t, r, http.StatusCreated, "")
	body := r.JSON(t)
	wantKeys(t, "role inference", body, "role_inference", "links")
	inf := body["role_inference"].(map[string]any)
	p, i := inf["prior_role"].(map[string]any), inf["implies"].(map[string]any)
	wantKeys(t, "prior role", p, "id", "name", "links")
	if p["id"] != prior || i["name"] != "implied" || body["links"].(map[string]any)["self"] != c.IdentityURL+path {
		t.Fatalf("inference = %s", r.Body)
	}
	wantStatus(t, c.call(t, "PUT", path, nil), http.StatusConflict, "implied_role")
	wantStatus(t, c.call(t, "PUT", "/roles/"+implied+"/implies/"+prior, nil), http.StatusForbidden, "loop")
	wantStatus(t, c.call(t, "GET", path, nil), http.StatusOK, "")
	wantStatus(t, c.call(t, "HEAD", path, nil), http.StatusNoContent, "")

	r = c.call(t, "GET", "/roles/"+prior+"/implies", nil)
	wantStatus(t, r, http.StatusOK, "")
	list := r.JSON(t)["role_inference"].(map[string]any)["implies"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["id"] != implied {
		t.Fatalf("implies of prior = %s", r.Body)
	}
	r = c.call(t, "GET", "/role_inferences", nil)
	wantStatus(t, r, http.StatusOK, "")
	if rules := r.JSON(t)["role_inferences"].([]any); len(rules) != 3 { // admin > member > reader from bootstrap
		t.Fatalf("role inferences = %s", r.Body)
	}

	wantStatus(t, c.call(t, "DELETE", path, nil), http.StatusNoContent, "")
	wantStatus(t, c.call(t, "GET", path, nil), http.StatusNotFound, prior+" does not imply "+implied+".")
	wantStatus(t, c.call(t, "PUT", "/roles/nope/implies/"+implied, nil), http.StatusNotFound, "Could not find role: nope.")
}

func TestRolesGophercloud(t *testing.T) {
	t.Parallel()
	c := startCrudCloud(t)
	ctx := context.Background()
	role, err := roles.Create(ctx, c.client, roles.CreateOpts{Name: "auditor"}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	got, err := roles.Get(ctx, c.client, role.ID).Extract()
	if err != nil || got.Name != "auditor" {
		t.Fatalf("Get = %+v, %v", got, err)
	}
	pages, err := roles.List(c.client, roles.ListOpts{Name: "auditor"}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	all, err := roles.ExtractRoles(pages)
	if err != nil || len(all) != 1 {
		t.Fatalf("List = %+v, %v", all, err)
	}
	renamed := "inspector"
	up, err := roles.Update(ctx, c.client, role.ID, roles.UpdateOpts{Name: renamed}).Extract()
	if err != nil || up.Name != renamed {
		t.Fatalf("Update = %+v, %v", up, err)
	}
	readerID := c.roleID(t, "reader")
	rule, err := roles.CreateRoleInferenceRule(ctx, c.client, role.ID, readerID).Extract()
	if err != nil || rule.RoleInference.PriorRole.ID != role.ID || rule.RoleInference.ImpliedRole.ID != readerID {
		t.Fatalf("CreateRoleInferenceRule = %+v, %v", rule, err)
	}
	rules, err := roles.ListRoleInferenceRules(ctx, c.client).Extract()
	if err != nil || len(rules.RoleInferenceRuleList) != 3 {
		t.Fatalf("ListRoleInferenceRules = %+v, %v", rules, err)
	}
	if err := roles.DeleteRoleInferenceRule(ctx, c.client, role.ID, readerID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if err := roles.Delete(ctx, c.client, role.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
}

// roleID finds a global role by name.
func (c *crudCloud) roleID(t *testing.T, name string) string {
	t.Helper()
	r := c.call(t, "GET", "/roles?name="+name, nil)
	wantStatus(t, r, http.StatusOK, "")
	list := r.JSON(t)["roles"].([]any)
	if len(list) != 1 {
		t.Fatalf("roles named %s = %s", name, r.Body)
	}
	return list[0].(map[string]any)["id"].(string)
}

func TestRolesNeedAdmin(t *testing.T) {
	t.Parallel()
	c := startCrudCloud(t)
	project := c.create(t, "/projects", "project", map[string]any{"name": "p", "domain_id": "default"})
	user := c.mkRBACUser(t, "plain")
	wantStatus(t, c.call(t, "PUT", "/projects/"+project+"/users/"+user+"/roles/"+c.roleID(t, "member"), nil), http.StatusNoContent, "")
	tok := c.projectToken(t, "plain", project)
	wantStatus(t, c.call(t, "POST", "/roles", map[string]any{"role": map[string]any{"name": "x"}}, tok),
		http.StatusForbidden, "identity:create_role")
	wantStatus(t, c.call(t, "GET", "/regions", nil, tok), http.StatusOK, "")
	wantStatus(t, c.call(t, "GET", "/services", nil, tok), http.StatusForbidden, "identity:list_services")
}
