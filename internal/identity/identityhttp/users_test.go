package identityhttp_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/users"
)

// crudToken issues an unscoped token for a user of the default domain.
func (c *crudCloud) crudToken(t *testing.T, name, password string) string {
	t.Helper()
	body := map[string]any{"auth": map[string]any{"identity": map[string]any{"methods": []string{"password"},
		"password": map[string]any{"user": map[string]any{"name": name, "password": password,
			"domain": map[string]any{"id": "default"}}}}}}
	r := c.Do(t, "POST", c.IdentityURL+"/auth/tokens", "", body)
	if r.Status != http.StatusCreated {
		t.Fatalf("issue token for %s: %d %s", name, r.Status, r.Body)
	}
	return r.Header.Get("X-Subject-Token")
}

func TestUsersAPI(t *testing.T) {
	t.Parallel()
	c := startCrudCloud(t)
	ctx := context.Background()
	u, err := users.Create(ctx, c.client, users.CreateOpts{Name: "jdoe", Password: "first-secret",
		Description: "James", Extra: map[string]any{"email": "jdoe@example.com"},
		Options: map[users.Option]any{users.IgnorePasswordExpiry: true}}).Extract()
	if err != nil {
		t.Fatalf("create user: %v", err)
	}
	if u.Name != "jdoe" || u.DomainID != "default" || !u.Enabled || u.Extra["email"] != "jdoe@example.com" ||
		u.Options["ignore_password_expiry"] != true || !u.PasswordExpiresAt.IsZero() {
		t.Fatalf("created %+v", u)
	}
	r := c.call(t, "GET", "/users/"+u.ID, nil)
	wantStatus(t, r, http.StatusOK, "")
	obj := r.JSON(t)["user"].(map[string]any)
	wantKeys(t, "user", obj, "id", "name", "domain_id", "enabled", "description", "email",
		"password_expires_at", "options", "links")
	if v, ok := obj["password_expires_at"]; !ok || v != nil {
		t.Fatalf("password_expires_at = %v, want null", v)
	}
	if strings.Contains(string(r.Body), "first-secret") || strings.Contains(string(r.Body), "$2") {
		t.Fatalf("the user's password or hash is in the response: %s", r.Body)
	}

	pages, err := users.List(c.client, users.ListOpts{Name: "jdoe"}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	list, err := users.ExtractUsers(pages)
	if err != nil || len(list) != 1 || list[0].ID != u.ID {
		t.Fatalf("list by name = %+v, %v", list, err)
	}
	r = c.call(t, "GET", "/users?password_expires_at=lt:2030-01-01T00:00:00Z", nil)
	wantStatus(t, r, http.StatusOK, "")
	if n := len(r.JSON(t)["users"].([]any)); n != 0 {
		t.Fatalf("%d users with an expiring password, want 0", n)
	}

	up, err := users.Update(ctx, c.client, u.ID, users.UpdateOpts{Extra: map[string]any{"email": "james@example.com"}}).Extract()
	if err != nil || up.Extra["email"] != "james@example.com" || up.Description != "James" {
		t.Fatalf("update: %+v, %v", up, err)
	}

	userToken := c.crudToken(t, "jdoe", "first-secret")
	wantStatus(t, c.call(t, "GET", "/users/"+u.ID, nil, userToken), http.StatusOK, "")
	// Self-service password change needs no token.
	wantStatus(t, c.Do(t, "POST", c.IdentityURL+"/users/"+u.ID+"/password", "",
		map[string]any{"user": map[string]any{"original_password": "wrong", "password": "x"}}), 401, "requires authentication")
	wantStatus(t, c.Do(t, "POST", c.IdentityURL+"/users/"+u.ID+"/password", "",
		map[string]any{"user": map[string]any{"original_password": "first-secret", "password": "second-secret"}}), 204, "")
	wantStatus(t, c.call(t, "GET", "/users/"+u.ID, nil, userToken), 401, "")
	wantStatus(t, c.call(t, "GET", "/users/"+u.ID+"/password", nil), 405, "")
	err = users.ChangePassword(ctx, c.client, u.ID, users.ChangePasswordOpts{OriginalPassword: "second-secret", Password: "third-secret"}).ExtractErr()
	if err != nil {
		t.Fatalf("change password with gophercloud: %v", err)
	}
	userToken = c.crudToken(t, "jdoe", "third-secret")

	off := false
	if _, err := users.Update(ctx, c.client, u.ID, users.UpdateOpts{Enabled: &off}).Extract(); err != nil {
		t.Fatalf("disable user: %v", err)
	}
	wantStatus(t, c.call(t, "GET", "/users/"+u.ID, nil, userToken), 401, "")
	if err := users.Delete(ctx, c.client, u.ID).ExtractErr(); err != nil {
		t.Fatalf("delete user: %v", err)
	}
	wantStatus(t, c.call(t, "GET", "/users/"+u.ID, nil), 404, "Could not find user: "+u.ID+".")
}

func TestUsersBadInput(t *testing.T) {
	t.Parallel()
	c := startCrudCloud(t)
	user := func(fields map[string]any) map[string]any { return map[string]any{"user": fields} }
	cases := []struct {
		name   string
		method string
		path   string
		body   any
		status int
		msg    string
	}{
		{"missing name", "POST", "/users", user(map[string]any{}), 400, "'name' is a required property"},
		{"name is a list", "POST", "/users", user(map[string]any{"name": []string{"a"}}), 400, "is not of type 'string'"},
		{"name too long", "POST", "/users", user(map[string]any{"name": strings.Repeat("u", 256)}), 400, "is too long"},
		{"enabled is a string", "POST", "/users", user(map[string]any{"name": "x", "enabled": "true"}), 400, "is not of type 'boolean'"},
		{"password is a number", "POST", "/users", user(map[string]any{"name": "x", "password": 5}), 400, "Invalid input for field 'password'"},
		{"unknown option", "POST", "/users", user(map[string]any{"name": "x", "options": map[string]any{"x": true}}), 400, "'x' was unexpected"},
		{"duplicate", "POST", "/users", user(map[string]any{"name": "admin"}), 409, "Duplicate entry found with name admin at domain ID default."},
		{"unknown domain", "POST", "/users", user(map[string]any{"name": "x", "domain_id": "nope"}), 404, "Could not find domain: nope."},
		{"unknown default project", "POST", "/users", user(map[string]any{"name": "x", "default_project_id": "nope"}), 400, "Could not find project: nope."},
		{"bad expiry operator", "GET", "/users?password_expires_at=xx:2030-01-01T00:00:00Z", nil, 400, "The given operator xx is not valid."},
		{"bad expiry time", "GET", "/users?password_expires_at=lt:yesterday", nil, 400, "Timestamp not in expected format."},
		{"unknown user", "PATCH", "/users/nope", user(map[string]any{"name": "x"}), 404, "Could not find user: nope."},
		{"empty update", "PATCH", "/users/nope", user(map[string]any{}), 400, "does not have enough properties"},
		{"password change without original", "POST", "/users/nope/password", user(map[string]any{"password": "x"}), 400,
			"'original_password' is a required property"},
		{"password change with an extra member", "POST", "/users/nope/password",
			user(map[string]any{"password": "x", "original_password": "y", "name": "z"}), 400, "'name' was unexpected"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			wantStatus(t, c.call(t, tc.method, tc.path, tc.body), tc.status, tc.msg)
		})
	}
}
