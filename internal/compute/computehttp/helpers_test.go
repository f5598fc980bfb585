package computehttp_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/cloudtest"
)

// newUser creates a project and a user holding the given role (member when
// none) on it, and returns the user's credentials, user id and project id.
func newUser(t *testing.T, c *cloudtest.Cloud, admin, name string, roles ...string) (cloudtest.Credentials, string, string) {
	t.Helper()
	resp := c.Do(t, "POST", c.IdentityURL+"/projects", admin, map[string]any{"project": map[string]any{"name": name}})
	if resp.Status != http.StatusCreated {
		t.Fatalf("create project: %d %s", resp.Status, resp.Body)
	}
	project := resp.JSON(t)["project"].(map[string]any)["id"].(string)
	resp = c.Do(t, "POST", c.IdentityURL+"/users", admin, map[string]any{"user": map[string]any{
		"name": name, "password": "secret-" + name, "default_project_id": project}})
	if resp.Status != http.StatusCreated {
		t.Fatalf("create user: %d %s", resp.Status, resp.Body)
	}
	user := resp.JSON(t)["user"].(map[string]any)["id"].(string)
	if len(roles) == 0 {
		roles = []string{"member"}
	}
	for _, role := range roles {
		resp = c.Do(t, "GET", c.IdentityURL+"/roles?name="+role, admin, nil)
		list := resp.JSON(t)["roles"].([]any)
		if len(list) == 0 {
			t.Fatalf("no %s role", role)
		}
		id := list[0].(map[string]any)["id"].(string)
		resp = c.Do(t, "PUT", c.IdentityURL+"/projects/"+project+"/users/"+user+"/roles/"+id, admin, nil)
		if resp.Status != http.StatusNoContent {
			t.Fatalf("grant %s: %d %s", role, resp.Status, resp.Body)
		}
	}
	return cloudtest.Credentials{Username: name, Password: "secret-" + name, ProjectName: name}, user, project
}

// api sends a compute request at microversion mv ("" for none) and returns
// the response.
func api(t *testing.T, c *cloudtest.Cloud, token, mv, method, path string, body any) *cloudtest.Response {
	t.Helper()
	var headers []string
	if mv != "" {
		headers = []string{"OpenStack-API-Version", "compute " + mv}
	}
	return c.Do(t, method, c.ComputeURL+path, token, body, headers...)
}

// fault checks that resp is nova's error body of the status and name, with
// a message containing msg.
func fault(t *testing.T, resp *cloudtest.Response, status int, name, msg string) {
	t.Helper()
	if resp.Status != status {
		t.Fatalf("status %d, want %d: %s", resp.Status, status, resp.Body)
	}
	body, ok := resp.JSON(t)[name].(map[string]any)
	if !ok {
		t.Fatalf("body has no %q fault: %s", name, resp.Body)
	}
	if code, _ := body["code"].(float64); int(code) != status {
		t.Errorf("fault code %v, want %d", body["code"], status)
	}
	if m, _ := body["message"].(string); !strings.Contains(m, msg) {
		t.Fatalf("message %q does not contain %q", m, msg)
	}
}

// obj is a JSON object of a response; obj(m, "a", "b") walks into it.
func obj(t *testing.T, m map[string]any, path ...string) map[string]any {
	t.Helper()
	for _, p := range path {
		next, ok := m[p].(map[string]any)
		if !ok {
			t.Fatalf("no object %q in %v", p, m)
		}
		m = next
	}
	return m
}
