package identityhttp_test

import (
	"context"
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/applicationcredentials"
)

// appCredAuth is the body of POST /v3/auth/tokens with an application credential.
func appCredAuth(id, secret string) map[string]any {
	return map[string]any{"auth": map[string]any{"identity": map[string]any{"methods": []string{"application_credential"},
		"application_credential": map[string]any{"id": id, "secret": secret}}}}
}

func TestAppCredsAPI(t *testing.T) {
	t.Parallel()
	c := startCrudCloud(t)
	s := c.rbacSetup(t)
	wantStatus(t, c.call(t, "PUT", "/projects/"+s.project+"/users/"+s.user+"/roles/"+c.roleID(t, "member"), nil), http.StatusNoContent, "")
	tok := c.projectToken(t, "erin", s.project)
	path := "/users/" + s.user + "/application_credentials"

	r := c.call(t, "POST", path, map[string]any{"application_credential": map[string]any{"name": "ci", "description": "builds"}}, tok)
	wantStatus(t, r, http.StatusCreated, "")
	ac := r.JSON(t)["application_credential"].(map[string]any)
	wantKeys(t, "application credential", ac, "id", "name", "description", "user_id", "project_id", "expires_at",
		"unrestricted", "roles", "secret", "links")
	id, secret := ac["id"].(string), ac["secret"].(string)
	if !regexp.MustCompile(`^[A-Za-z0-9_-]{64}$`).MatchString(secret) || ac["expires_at"] != nil || ac["unrestricted"] != false ||
		ac["project_id"] != s.project || ac["links"].(map[string]any)["self"] != c.IdentityURL+path+"/"+id {
		t.Fatalf("created application credential = %s", r.Body)
	}
	if rs := ac["roles"].([]any); len(rs) != 2 {
		t.Fatalf("roles = %v, want member and reader", rs)
	}
	wantKeys(t, "application credential role", ac["roles"].([]any)[0].(map[string]any), "id", "name", "domain_id", "description", "options")

	r = c.call(t, "GET", path+"/"+id, nil, tok)
	wantStatus(t, r, http.StatusOK, "")
	if _, has := r.JSON(t)["application_credential"].(map[string]any)["secret"]; has {
		t.Fatalf("GET shows the secret: %s", r.Body)
	}
	r = c.call(t, "GET", path+"?name=ci", nil, tok)
	wantStatus(t, r, http.StatusOK, "")
	if list := r.JSON(t)["application_credentials"].([]any); len(list) != 1 {
		t.Fatalf("list by name = %s", r.Body)
	}

	// Authenticate with it; its token may not manage application credentials.
	r = c.Do(t, "POST", c.IdentityURL+"/auth/tokens", "", appCredAuth(id, secret))
	wantStatus(t, r, http.StatusCreated, "")
	acTok := r.Header.Get("X-Subject-Token")
	wantStatus(t, c.call(t, "POST", path, map[string]any{"application_credential": map[string]any{"name": "child"}}, acTok),
		http.StatusForbidden, "not allowed for managing additional application credentials")
	wantStatus(t, c.call(t, "DELETE", path+"/"+id, nil, acTok), http.StatusForbidden, "not allowed")

	future := time.Now().Add(time.Hour).UTC().Format("2006-01-02T15:04:05.000000")
	bad := []struct {
		name   string
		body   map[string]any
		status int
		msg    string
	}{
		{"duplicate name", map[string]any{"name": "ci"}, http.StatusConflict, "Duplicate entry found with name ci."},
		{"missing name", map[string]any{"description": "x"}, http.StatusBadRequest, "'name' is a required property"},
		{"expired", map[string]any{"name": "x", "expires_at": "2001-01-01T00:00:00"}, http.StatusBadRequest, "must not be before now"},
		{"bad timestamp", map[string]any{"name": "x", "expires_at": "soon"}, http.StatusBadRequest, "Timestamp not in expected format."},
		{"role not held", map[string]any{"name": "x", "roles": []any{map[string]any{"name": "admin"}}}, http.StatusBadRequest,
			"Cannot create an application credential with unassigned role"},
		{"bad access rule", map[string]any{"name": "x", "access_rules": []any{map[string]any{"service": "compute", "path": "/servers", "method": "FETCH"}}},
			http.StatusBadRequest, "'FETCH' is not one of"},
	}
	for _, b := range bad {
		t.Run(b.name, func(t *testing.T) {
			wantStatus(t, c.call(t, "POST", path, map[string]any{"application_credential": b.body}, tok), b.status, b.msg)
		})
	}
	wantStatus(t, c.call(t, "POST", "/users/"+s.user+"/application_credentials",
		map[string]any{"application_credential": map[string]any{"name": "by-admin"}}), http.StatusForbidden, "")
	r = c.call(t, "POST", path, map[string]any{"application_credential": map[string]any{"name": "timed", "expires_at": future,
		"roles": []any{map[string]any{"name": "reader"}}}}, tok)
	wantStatus(t, r, http.StatusCreated, "")
	if got := r.JSON(t)["application_credential"].(map[string]any); got["expires_at"] != future || len(got["roles"].([]any)) != 1 {
		t.Fatalf("timed application credential = %s", r.Body)
	}

	wantStatus(t, c.call(t, "DELETE", path+"/"+id, nil, tok), http.StatusNoContent, "")
	if st := c.tokenStatus(t, acTok); st != http.StatusNotFound {
		t.Fatalf("token of the deleted application credential validates with %d", st)
	}
	wantStatus(t, c.call(t, "GET", path+"/"+id, nil, tok), http.StatusNotFound, "Could not find Application Credential: "+id+".")
}

func TestAppCredsGophercloud(t *testing.T) {
	t.Parallel()
	c := startCrudCloud(t)
	s := c.rbacSetup(t)
	wantStatus(t, c.call(t, "PUT", "/projects/"+s.project+"/users/"+s.user+"/roles/"+c.roleID(t, "member"), nil), http.StatusNoContent, "")
	ctx := context.Background()
	provider, err := openstack.AuthenticatedClient(ctx, gophercloud.AuthOptions{IdentityEndpoint: c.IdentityURL,
		Username: "erin", Password: "pw-erin", DomainID: "default", TenantID: s.project})
	if err != nil {
		t.Fatal(err)
	}
	client, err := openstack.NewIdentityV3(provider, gophercloud.EndpointOpts{})
	if err != nil {
		t.Fatal(err)
	}
	exp := time.Now().Add(24 * time.Hour).Truncate(time.Millisecond).UTC()
	ac, err := applicationcredentials.Create(ctx, client, s.user, applicationcredentials.CreateOpts{Name: "deploy",
		Roles: []applicationcredentials.Role{{Name: "reader"}}, ExpiresAt: &exp}).Extract()
	if err != nil || ac.Secret == "" || !ac.ExpiresAt.Equal(exp) || len(ac.Roles) != 1 {
		t.Fatalf("Create = %+v, %v", ac, err)
	}
	got, err := applicationcredentials.Get(ctx, client, s.user, ac.ID).Extract()
	if err != nil || got.Name != "deploy" || got.Secret != "" {
		t.Fatalf("Get = %+v, %v", got, err)
	}
	pages, err := applicationcredentials.List(client, s.user, applicationcredentials.ListOpts{Name: "deploy"}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if list, err := applicationcredentials.ExtractApplicationCredentials(pages); err != nil || len(list) != 1 {
		t.Fatalf("List = %+v, %v", list, err)
	}
	// The credential authenticates through gophercloud too.
	acProvider, err := openstack.AuthenticatedClient(ctx, gophercloud.AuthOptions{IdentityEndpoint: c.IdentityURL,
		ApplicationCredentialID: ac.ID, ApplicationCredentialSecret: ac.Secret})
	if err != nil || acProvider.Token() == "" {
		t.Fatalf("authenticate with the application credential: %v", err)
	}
	if err := applicationcredentials.Delete(ctx, client, s.user, ac.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
}
