package identityhttp_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/domains"

	"github.com/nimbus-cloud/nimbus/internal/cloudtest"
)

// crudCloud is a test cloud with an admin token and a gophercloud identity client.
type crudCloud struct {
	*cloudtest.Cloud
	token  string
	client *gophercloud.ServiceClient
}

func startCrudCloud(t *testing.T) *crudCloud {
	t.Helper()
	c := cloudtest.Start(t)
	return &crudCloud{Cloud: c, token: c.Token(t, cloudtest.Admin), client: c.IdentityClient(t, cloudtest.Admin)}
}

// call sends a request below /v3 with the admin token (or token, when given).
func (c *crudCloud) call(t *testing.T, method, path string, body any, token ...string) *cloudtest.Response {
	t.Helper()
	tok := c.token
	if len(token) > 0 {
		tok = token[0]
	}
	return c.Do(t, method, c.IdentityURL+path, tok, body)
}

// wantStatus checks a response's status and, for errors, keystone's error body
// with a message containing msg.
func wantStatus(t *testing.T, r *cloudtest.Response, status int, msg string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status = %d, want %d: %s", r.Status, status, r.Body)
	}
	if status < 400 {
		return
	}
	e, _ := r.JSON(t)["error"].(map[string]any)
	if e == nil || e["code"] != float64(status) || e["title"] != http.StatusText(status) {
		t.Fatalf("error body = %s", r.Body)
	}
	if m, _ := e["message"].(string); !strings.Contains(m, msg) {
		t.Fatalf("error message = %q, want it to contain %q", m, msg)
	}
}

// wantKeys checks that an object has exactly the given keys.
func wantKeys(t *testing.T, what string, obj map[string]any, keys ...string) {
	t.Helper()
	var got []string
	for k := range obj {
		got = append(got, k)
	}
	slices.Sort(got)
	slices.Sort(keys)
	if !slices.Equal(got, keys) {
		t.Fatalf("%s keys = %v, want %v", what, got, keys)
	}
}

func TestDomainsAPI(t *testing.T) {
	t.Parallel()
	c := startCrudCloud(t)
	ctx := context.Background()
	d, err := domains.Create(ctx, c.client, domains.CreateOpts{Name: "eng", Description: "Engineering"}).Extract()
	if err != nil {
		t.Fatalf("create domain: %v", err)
	}
	if !d.Enabled || d.Name != "eng" || d.Description != "Engineering" {
		t.Fatalf("created %+v", d)
	}
	r := c.call(t, "GET", "/domains/"+d.ID, nil)
	wantStatus(t, r, http.StatusOK, "")
	obj := r.JSON(t)["domain"].(map[string]any)
	wantKeys(t, "domain", obj, "id", "name", "description", "enabled", "tags", "options", "links")
	if obj["links"].(map[string]any)["self"] != c.IdentityURL+"/domains/"+d.ID {
		t.Fatalf("self link = %v", obj["links"])
	}

	pages, err := domains.List(c.client, domains.ListOpts{Name: "eng"}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	list, err := domains.ExtractDomains(pages)
	if err != nil || len(list) != 1 || list[0].ID != d.ID {
		t.Fatalf("list by name = %+v, %v", list, err)
	}
	r = c.call(t, "GET", "/domains?enabled=false", nil)
	wantStatus(t, r, http.StatusOK, "")
	if n := len(r.JSON(t)["domains"].([]any)); n != 0 {
		t.Fatalf("%d disabled domains, want 0", n)
	}

	wantStatus(t, c.call(t, "DELETE", "/domains/"+d.ID, nil), http.StatusForbidden,
		"Cannot delete a domain that is enabled, please disable it first.")
	off := false
	if _, err := domains.Update(ctx, c.client, d.ID, domains.UpdateOpts{Enabled: &off}).Extract(); err != nil {
		t.Fatalf("disable domain: %v", err)
	}
	if err := domains.Delete(ctx, c.client, d.ID).ExtractErr(); err != nil {
		t.Fatalf("delete domain: %v", err)
	}
	wantStatus(t, c.call(t, "GET", "/domains/"+d.ID, nil), http.StatusNotFound, "Could not find domain: "+d.ID+".")
	wantStatus(t, c.call(t, "GET", "/domains", nil, "not-a-token"), http.StatusUnauthorized, "requires authentication")
}

func TestDomainsBadInput(t *testing.T) {
	t.Parallel()
	c := startCrudCloud(t)
	wantStatus(t, c.call(t, "POST", "/domains", map[string]any{"domain": map[string]any{"name": "taken"}}), http.StatusCreated, "")
	cases := []struct {
		name   string
		method string
		path   string
		body   any
		status int
		msg    string
	}{
		{"no domain object", "POST", "/domains", map[string]any{}, 400, "'domain' is a required property"},
		{"domain is not an object", "POST", "/domains", map[string]any{"domain": "x"}, 400, "is not of type 'object'"},
		{"missing name", "POST", "/domains", map[string]any{"domain": map[string]any{}}, 400, "'name' is a required property"},
		{"name is a number", "POST", "/domains", map[string]any{"domain": map[string]any{"name": 12}}, 400,
			"Invalid input for field 'name': 12 is not of type 'string'"},
		{"name too long", "POST", "/domains", map[string]any{"domain": map[string]any{"name": strings.Repeat("d", 65)}}, 400, "is too long"},
		{"enabled is a string", "POST", "/domains", map[string]any{"domain": map[string]any{"name": "x", "enabled": "yes"}}, 400,
			"is not of type 'boolean'"},
		{"tags not a list", "POST", "/domains", map[string]any{"domain": map[string]any{"name": "x", "tags": "a"}}, 400, "'tags'"},
		{"malformed JSON", "POST", "/domains", `{"domain": {`, 400, "Malformed request body"},
		{"duplicate", "POST", "/domains", map[string]any{"domain": map[string]any{"name": "taken"}}, 409,
			"it is not permitted to have two projects acting as domains with the same name: taken."},
		{"empty update", "PATCH", "/domains/default", map[string]any{"domain": map[string]any{}}, 400, "does not have enough properties"},
		{"unknown domain", "PATCH", "/domains/nope", map[string]any{"domain": map[string]any{"name": "x"}}, 404, "Could not find domain: nope."},
		{"delete the default domain", "DELETE", "/domains/default", nil, 403, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			wantStatus(t, c.call(t, tc.method, tc.path, tc.body), tc.status, tc.msg)
		})
	}
}

func TestAuthDomainsAPI(t *testing.T) {
	t.Parallel()
	c := startCrudCloud(t)
	r := c.call(t, "GET", "/auth/domains", nil)
	wantStatus(t, r, http.StatusOK, "")
	body := r.JSON(t)
	wantKeys(t, "body", body, "domains", "links")
	if n := len(body["domains"].([]any)); n != 0 {
		t.Fatalf("the admin holds no domain role, yet %d domains are listed", n)
	}
	pages, err := domains.ListAvailable(c.client).AllPages(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if ds, err := domains.ExtractDomains(pages); err != nil || len(ds) != 0 {
		t.Fatalf("available domains = %+v, %v", ds, err)
	}
}
