package identityhttp_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/cloudtest"
)

func TestPolicyFileOverridesDefaults(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(file, []byte("\"identity:list_users\": \"!\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := cloudtest.Start(t, cloudtest.WithOption("oslo_policy.policy_file", file))
	admin := c.Token(t, cloudtest.Admin)
	r := c.Do(t, "GET", c.IdentityURL+"/users", admin, nil)
	if r.Status != 403 {
		t.Fatalf("list users under a policy that forbids it = %d %s", r.Status, r.Body)
	}
	if msg := r.JSON(t)["error"].(map[string]any)["message"]; msg != "You are not authorized to perform the requested action: identity:list_users." {
		t.Errorf("message = %q", msg)
	}
	if r := c.Do(t, "GET", c.IdentityURL+"/projects", admin, nil); r.Status != 200 {
		t.Errorf("a rule the file leaves alone = %d, want 200", r.Status)
	}
}
