package identityhttp_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/applicationcredentials"

	"github.com/nimbus-cloud/nimbus/internal/cloudtest"
)

// ipsRuleBody is the access rule Tempest creates.
func ipsRuleBody() map[string]any {
	return map[string]any{"service": "compute", "path": "/v2.1/servers/*/ips", "method": "GET"}
}

// accessRuleWorld is erin holding member on a project, with a token there.
type accessRuleWorld struct {
	c        *crudCloud
	user     string
	token    string
	appCreds string // the path of erin's application credentials
	rules    string // the path of erin's access rules
}

func newAccessRuleWorld(t *testing.T) *accessRuleWorld {
	t.Helper()
	c := startCrudCloud(t)
	s := c.rbacSetup(t)
	wantStatus(t, c.call(t, "PUT", "/projects/"+s.project+"/users/"+s.user+"/roles/"+c.roleID(t, "member"), nil), http.StatusNoContent, "")
	return &accessRuleWorld{c: c, user: s.user, token: c.projectToken(t, "erin", s.project),
		appCreds: "/users/" + s.user + "/application_credentials", rules: "/users/" + s.user + "/access_rules"}
}

// createAppCred creates an application credential of erin with access rules
// and returns it.
func (w *accessRuleWorld) createAppCred(t *testing.T, name string, rules ...any) map[string]any {
	t.Helper()
	r := w.c.call(t, "POST", w.appCreds, map[string]any{"application_credential": map[string]any{
		"name": name, "access_rules": rules}}, w.token)
	wantStatus(t, r, http.StatusCreated, "")
	return r.JSON(t)["application_credential"].(map[string]any)
}

func TestAccessRulesAPI(t *testing.T) {
	t.Parallel()
	w := newAccessRuleWorld(t)
	c := w.c
	ac := w.createAppCred(t, "ips", ipsRuleBody())
	rules := ac["access_rules"].([]any)
	rule := rules[0].(map[string]any)
	wantKeys(t, "access rule of an application credential", rule, "id", "service", "path", "method")
	ruleID := rule["id"].(string)
	if len(rules) != 1 || rule["service"] != "compute" || rule["path"] != "/v2.1/servers/*/ips" || rule["method"] != "GET" {
		t.Fatalf("access rules = %v", rules)
	}
	// The same rule again, or named by id, is the same rule.
	again := w.createAppCred(t, "again", ipsRuleBody())
	byID := w.createAppCred(t, "by-id", map[string]any{"id": ruleID})
	for _, other := range []map[string]any{again, byID} {
		if got := other["access_rules"].([]any)[0].(map[string]any)["id"]; got != ruleID {
			t.Fatalf("reused rule id = %v, want %s", got, ruleID)
		}
	}
	r := c.call(t, "GET", w.appCreds+"/"+ac["id"].(string), nil, w.token)
	wantStatus(t, r, http.StatusOK, "")
	if got := r.JSON(t)["application_credential"].(map[string]any)["access_rules"].([]any); len(got) != 1 {
		t.Fatalf("GET application credential access rules = %v", got)
	}

	r = c.call(t, "GET", w.rules, nil, w.token)
	wantStatus(t, r, http.StatusOK, "")
	body := r.JSON(t)
	wantKeys(t, "access rule list", body, "access_rules", "links")
	list := body["access_rules"].([]any)
	if len(list) != 1 {
		t.Fatalf("list = %s", r.Body)
	}
	listed := list[0].(map[string]any)
	wantKeys(t, "listed access rule", listed, "id", "service", "path", "method", "links")
	if listed["links"].(map[string]any)["self"] != c.IdentityURL+w.rules+"/"+ruleID {
		t.Fatalf("self link = %v", listed["links"])
	}
	for query, want := range map[string]int{"?service=compute": 1, "?method=POST": 0, "?path=/v2.1/servers/*/ips": 1} {
		r = c.call(t, "GET", w.rules+query, nil, w.token)
		wantStatus(t, r, http.StatusOK, "")
		if n := len(r.JSON(t)["access_rules"].([]any)); n != want {
			t.Fatalf("list%s = %d rules, want %d", query, n, want)
		}
	}
	r = c.call(t, "GET", w.rules+"/"+ruleID, nil, w.token)
	wantStatus(t, r, http.StatusOK, "")
	wantKeys(t, "access rule", r.JSON(t)["access_rule"].(map[string]any), "id", "service", "path", "method", "links")

	// Tokens of the credential carry its access rules.
	r = c.Do(t, "POST", c.IdentityURL+"/auth/tokens", "", appCredAuth(again["id"].(string), again["secret"].(string)))
	wantStatus(t, r, http.StatusCreated, "")
	acTok := r.Header.Get("X-Subject-Token")
	section := r.JSON(t)["token"].(map[string]any)["application_credential"].(map[string]any)
	wantKeys(t, "token application_credential", section, "id", "name", "restricted", "access_rules")
	if got := section["access_rules"].([]any)[0].(map[string]any); got["id"] != ruleID || got["method"] != "GET" {
		t.Fatalf("token access rules = %v", section["access_rules"])
	}
	r = c.Do(t, "GET", c.IdentityURL+"/auth/tokens", c.token, nil, "X-Subject-Token", acTok)
	wantStatus(t, r, http.StatusOK, "")
	if _, ok := r.JSON(t)["token"].(map[string]any)["application_credential"].(map[string]any)["access_rules"]; !ok {
		t.Fatalf("validated token has no access rules: %s", r.Body)
	}

	// A rule in use may not be deleted; once unused it may.
	wantStatus(t, c.call(t, "DELETE", w.rules+"/"+ruleID, nil, w.token), http.StatusForbidden, "May not delete access rule in use")
	for _, a := range []map[string]any{ac, again, byID} {
		wantStatus(t, c.call(t, "DELETE", w.appCreds+"/"+a["id"].(string), nil, w.token), http.StatusNoContent, "")
	}
	r = c.call(t, "GET", w.rules, nil, w.token)
	if n := len(r.JSON(t)["access_rules"].([]any)); n != 1 {
		t.Fatalf("rules after deleting the credentials = %d, want 1", n)
	}
	wantStatus(t, c.call(t, "DELETE", w.rules+"/"+ruleID, nil, w.token), http.StatusNoContent, "")
	wantStatus(t, c.call(t, "GET", w.rules+"/"+ruleID, nil, w.token), http.StatusNotFound, "Could not find Access Rule: "+ruleID+".")
	wantStatus(t, c.call(t, "DELETE", w.rules+"/"+ruleID, nil, w.token), http.StatusNotFound, "Could not find Access Rule")
}

func TestAccessRulesOfOthersAPI(t *testing.T) {
	t.Parallel()
	w := newAccessRuleWorld(t)
	c := w.c
	ruleID := w.createAppCred(t, "ips", ipsRuleBody())["access_rules"].([]any)[0].(map[string]any)["id"].(string)
	other := c.mkRBACUser(t, "oscar")
	otherTok := c.Token(t, cloudtest.Credentials{Username: "oscar", Password: "pw-oscar"})
	// Another user may not look at erin's rules, nor reach them through their own path.
	wantStatus(t, c.call(t, "GET", w.rules, nil, otherTok), http.StatusForbidden, "identity:list_access_rules")
	wantStatus(t, c.call(t, "GET", w.rules+"/"+ruleID, nil, otherTok), http.StatusForbidden, "identity:get_access_rule")
	wantStatus(t, c.call(t, "DELETE", w.rules+"/"+ruleID, nil, otherTok), http.StatusForbidden, "identity:delete_access_rule")
	wantStatus(t, c.call(t, "GET", "/users/"+other+"/access_rules/"+ruleID, nil, otherTok), http.StatusNotFound, "Could not find Access Rule")
	wantStatus(t, c.call(t, "GET", "/users/"+other+"/access_rules", nil, otherTok), http.StatusOK, "")
}

func TestAccessRulesBadInputAPI(t *testing.T) {
	t.Parallel()
	w := newAccessRuleWorld(t)
	cases := []struct {
		name   string
		rules  any
		status int
		msg    string
	}{
		{"not a list", "compute", http.StatusBadRequest, "is not of type 'array'"},
		{"null", nil, http.StatusBadRequest, "is not of type 'array'"},
		{"not an object", []any{"compute"}, http.StatusBadRequest, "is not of type 'object'"},
		{"method not a string", []any{map[string]any{"service": "compute", "path": "/", "method": 1}}, http.StatusBadRequest,
			"Invalid input for field/attribute method. Value: 1. 1 is not of type 'string'"},
		{"relative path", []any{map[string]any{"service": "compute", "path": "servers", "method": "GET"}}, http.StatusBadRequest,
			"does not match"},
		{"missing service", []any{map[string]any{"path": "/servers", "method": "GET"}}, http.StatusBadRequest,
			"'service' is a required property"},
		{"unknown id", []any{map[string]any{"id": "nope"}}, http.StatusNotFound, "Could not find Access Rule: nope."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := w.c.call(t, "POST", w.appCreds, map[string]any{"application_credential": map[string]any{
				"name": "x", "access_rules": tc.rules}}, w.token)
			wantStatus(t, r, tc.status, tc.msg)
		})
	}
	r := w.c.call(t, "GET", w.appCreds, nil, w.token)
	if n := len(r.JSON(t)["application_credentials"].([]any)); n != 0 {
		t.Fatalf("refused requests left %d application credentials", n)
	}
}

func TestAccessRulesGophercloud(t *testing.T) {
	t.Parallel()
	w := newAccessRuleWorld(t)
	ctx := context.Background()
	provider, err := openstack.AuthenticatedClient(ctx, gophercloud.AuthOptions{IdentityEndpoint: w.c.IdentityURL,
		TokenID: w.token})
	if err != nil {
		t.Fatal(err)
	}
	client, err := openstack.NewIdentityV3(provider, gophercloud.EndpointOpts{})
	if err != nil {
		t.Fatal(err)
	}
	want := applicationcredentials.AccessRule{Service: "image", Path: "/v2/images/*", Method: "GET"}
	ac, err := applicationcredentials.Create(ctx, client, w.user, applicationcredentials.CreateOpts{Name: "images",
		AccessRules: []applicationcredentials.AccessRule{want}}).Extract()
	if err != nil || len(ac.AccessRules) != 1 || ac.AccessRules[0].Path != want.Path || ac.AccessRules[0].ID == "" {
		t.Fatalf("Create = %+v, %v", ac, err)
	}
	id := ac.AccessRules[0].ID
	pages, err := applicationcredentials.ListAccessRules(client, w.user).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if list, err := applicationcredentials.ExtractAccessRules(pages); err != nil || len(list) != 1 || list[0].ID != id {
		t.Fatalf("ListAccessRules = %+v, %v", list, err)
	}
	got, err := applicationcredentials.GetAccessRule(ctx, client, w.user, id).Extract()
	if err != nil || got.Service != "image" || got.Method != "GET" {
		t.Fatalf("GetAccessRule = %+v, %v", got, err)
	}
	if err := applicationcredentials.DeleteAccessRule(ctx, client, w.user, id).ExtractErr(); !gophercloud.ResponseCodeIs(err, http.StatusForbidden) {
		t.Fatalf("DeleteAccessRule of a rule in use = %v, want 403", err)
	}
	if err := applicationcredentials.Delete(ctx, client, w.user, ac.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if err := applicationcredentials.DeleteAccessRule(ctx, client, w.user, id).ExtractErr(); err != nil {
		t.Fatal(err)
	}
}

func TestSecurityComplianceAPI(t *testing.T) {
	t.Parallel()
	c := cloudtest.Start(t,
		cloudtest.WithOption("security_compliance.lockout_failure_attempts", "2"),
		cloudtest.WithOption("security_compliance.lockout_duration", "3600"),
		cloudtest.WithOption("security_compliance.unique_last_password_count", "2"),
		cloudtest.WithOption("security_compliance.password_expires_days", "90"))
	cc := &crudCloud{Cloud: c, token: c.Token(t, cloudtest.Admin)}
	r := cc.call(t, "POST", "/users", map[string]any{"user": map[string]any{"name": "pat", "password": "pw0", "domain_id": "default"}})
	wantStatus(t, r, http.StatusCreated, "")
	user := r.JSON(t)["user"].(map[string]any)
	id := user["id"].(string)
	if _, ok := user["password_expires_at"].(string); !ok {
		t.Fatalf("password_expires_at of a new user = %v, want a time", user["password_expires_at"])
	}
	r = cc.call(t, "POST", "/users", map[string]any{"user": map[string]any{"name": "svc", "password": "pw0",
		"options": map[string]any{"ignore_password_expiry": true}}})
	wantStatus(t, r, http.StatusCreated, "")
	if exp := r.JSON(t)["user"].(map[string]any)["password_expires_at"]; exp != nil {
		t.Fatalf("password_expires_at of an exempt user = %v", exp)
	}

	change := func(original, password string) *cloudtest.Response {
		return c.Do(t, "POST", c.IdentityURL+"/users/"+id+"/password", "", map[string]any{"user": map[string]any{
			"original_password": original, "password": password}})
	}
	wantStatus(t, change("pw0", "pw1"), http.StatusNoContent, "")
	const refused = "The new password cannot be identical to a previous password. The total number which includes the new password must be unique is 2."
	wantStatus(t, change("pw1", "pw1"), http.StatusBadRequest, refused)
	wantStatus(t, change("pw1", "pw0"), http.StatusBadRequest, refused)
	// The administrator's reset is not held to the history.
	wantStatus(t, cc.call(t, "PATCH", "/users/"+id, map[string]any{"user": map[string]any{"password": "pw1"}}), http.StatusOK, "")

	login := func(password string) *cloudtest.Response {
		return c.Do(t, "POST", c.IdentityURL+"/auth/tokens", "", passwordAuth("pat", password, nil))
	}
	for range 2 {
		wantStatus(t, login("wrong"), http.StatusUnauthorized, "The request you have made requires authentication.")
	}
	wantStatus(t, login("pw1"), http.StatusUnauthorized, "The account is locked for user: "+id+".")
	wantStatus(t, change("pw1", "pw2"), http.StatusUnauthorized, "The account is locked for user: "+id+".")
	// An administrator's reset unlocks the account.
	wantStatus(t, cc.call(t, "PATCH", "/users/"+id, map[string]any{"user": map[string]any{"password": "pw3"}}), http.StatusOK, "")
	wantStatus(t, login("pw3"), http.StatusCreated, "")
}
