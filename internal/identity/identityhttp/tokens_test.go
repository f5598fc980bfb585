package identityhttp_test

import (
	"bytes"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"

	"github.com/nimbus-cloud/nimbus/internal/cloudtest"
)

func passwordAuth(user, password string, scope any) map[string]any {
	a := map[string]any{"identity": map[string]any{"methods": []string{"password"},
		"password": map[string]any{"user": map[string]any{"name": user, "password": password,
			"domain": map[string]any{"id": "default"}}}}}
	if scope != nil {
		a["scope"] = scope
	}
	return map[string]any{"auth": a}
}

var adminProjectScope = map[string]any{"project": map[string]any{"name": "admin", "domain": map[string]any{"id": "default"}}}

func TestVersionDiscovery(t *testing.T) {
	t.Parallel()
	c := cloudtest.Start(t)
	root := strings.TrimSuffix(c.IdentityURL, "/v3")
	r := c.Do(t, "GET", root+"/", "", nil)
	if r.Status != http.StatusMultipleChoices {
		t.Fatalf("GET / = %d, want 300", r.Status)
	}
	values := r.JSON(t)["versions"].(map[string]any)["values"].([]any)
	if v := values[0].(map[string]any); v["id"] != "v3.14" || v["status"] != "stable" {
		t.Fatalf("version entry = %v", v)
	}
	r = c.Do(t, "GET", c.IdentityURL, "", nil)
	if r.Status != http.StatusOK || r.JSON(t)["version"].(map[string]any)["id"] != "v3.14" {
		t.Fatalf("GET /v3 = %d %s", r.Status, r.Body)
	}
	if r.Header.Get("X-Openstack-Request-Id") == "" {
		t.Fatal("no x-openstack-request-id header")
	}
}

func TestIssueProjectTokenShape(t *testing.T) {
	t.Parallel()
	c := cloudtest.Start(t)
	r := c.Do(t, "POST", c.IdentityURL+"/auth/tokens", "", passwordAuth("admin", cloudtest.AdminPassword, adminProjectScope))
	if r.Status != http.StatusCreated {
		t.Fatalf("issue = %d %s", r.Status, r.Body)
	}
	if r.Header.Get("X-Subject-Token") == "" {
		t.Fatal("no X-Subject-Token")
	}
	tok := r.JSON(t)["token"].(map[string]any)
	stamp := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$`)
	for _, k := range []string{"expires_at", "issued_at"} {
		if s, _ := tok[k].(string); !stamp.MatchString(s) {
			t.Errorf("%s = %v, want keystone's timestamp format", k, tok[k])
		}
	}
	if ids := tok["audit_ids"].([]any); len(ids) != 1 || len(ids[0].(string)) != 22 {
		t.Errorf("audit_ids = %v", ids)
	}
	roles := map[string]bool{}
	for _, r := range tok["roles"].([]any) {
		roles[r.(map[string]any)["name"].(string)] = true
	}
	if !roles["admin"] || !roles["member"] || !roles["reader"] {
		t.Errorf("roles = %v, want admin with implied member and reader", roles)
	}
	proj := tok["project"].(map[string]any)
	if proj["name"] != "admin" || proj["domain"].(map[string]any)["id"] != "default" {
		t.Errorf("project = %v", proj)
	}
	user := tok["user"].(map[string]any)
	if user["name"] != "admin" || user["domain"].(map[string]any)["name"] != "Default" {
		t.Errorf("user = %v", user)
	}
	if _, ok := user["password_expires_at"]; !ok {
		t.Error("user has no password_expires_at")
	}
	var identityEntry map[string]any
	for _, e := range tok["catalog"].([]any) {
		if e.(map[string]any)["type"] == "identity" {
			identityEntry = e.(map[string]any)
		}
	}
	if identityEntry == nil {
		t.Fatalf("catalog has no identity service: %v", tok["catalog"])
	}
	if eps := identityEntry["endpoints"].([]any); len(eps) != 3 {
		t.Errorf("identity endpoints = %d, want public, internal, admin", len(eps))
	}

	r = c.Do(t, "POST", c.IdentityURL+"/auth/tokens?nocatalog", "", passwordAuth("admin", cloudtest.AdminPassword, adminProjectScope))
	if _, has := r.JSON(t)["token"].(map[string]any)["catalog"]; has {
		t.Error("nocatalog still returned a catalog")
	}
}

func TestGophercloudAuthentication(t *testing.T) {
	t.Parallel()
	c := cloudtest.Start(t)
	client := c.IdentityClient(t, cloudtest.Admin)
	token := client.Token()
	res := tokens.Get(t.Context(), client, token)
	user, err := res.ExtractUser()
	if err != nil || user.Name != "admin" {
		t.Fatalf("validate own token: %v %v", user, err)
	}
	project, err := res.ExtractProject()
	if err != nil || project.Name != "admin" {
		t.Fatalf("token project: %v %v", project, err)
	}
	if ok, err := tokens.Validate(t.Context(), client, token); err != nil || !ok {
		t.Fatalf("HEAD validate = %v, %v", ok, err)
	}
}

func TestIssueBadInput(t *testing.T) {
	t.Parallel()
	c := cloudtest.Start(t)
	url := c.IdentityURL + "/auth/tokens"
	cases := []struct {
		name   string
		body   any
		status int
		msg    string
	}{
		{"malformed JSON", `{"auth": `, 400, "Malformed request body"},
		{"empty body", ``, 400, "body is empty"},
		{"no identity", map[string]any{"auth": map[string]any{}}, 400, "identity"},
		{"methods not a list", `{"auth": {"identity": {"methods": "password"}}}`, 400, "methods"},
		{"wrong password", passwordAuth("admin", "wrong", nil), 401, "requires authentication"},
		{"unknown user", passwordAuth("nobody", "wrong", nil), 401, "requires authentication"},
		{"unsupported method", map[string]any{"auth": map[string]any{"identity": map[string]any{"methods": []string{"totp"}}}}, 401, "unsupported method"},
		{"unknown project", passwordAuth("admin", cloudtest.AdminPassword, map[string]any{"project": map[string]any{"id": "nope"}}), 401, "Could not find project"},
		{"project without domain", passwordAuth("admin", cloudtest.AdminPassword, map[string]any{"project": map[string]any{"name": "admin"}}), 400, "domain"},
		{"project and domain", passwordAuth("admin", cloudtest.AdminPassword, map[string]any{"project": map[string]any{"id": "x"}, "domain": map[string]any{"id": "default"}}), 400, "not several"},
		{"no role on domain", passwordAuth("admin", cloudtest.AdminPassword, map[string]any{"domain": map[string]any{"id": "default"}}), 401, "no access"},
		{"bad token method", map[string]any{"auth": map[string]any{"identity": map[string]any{"methods": []string{"token"}, "token": map[string]any{"id": "garbage"}}}}, 404, "Could not find token"},
		{"unknown trust", passwordAuth("admin", cloudtest.AdminPassword, map[string]any{"OS-TRUST:trust": map[string]any{"id": "x"}}), 401, "Could not find trust: x."},
		{"trust without id", passwordAuth("admin", cloudtest.AdminPassword, map[string]any{"OS-TRUST:trust": map[string]any{}}), 400, "trust_id"},
		{"trust and project", passwordAuth("admin", cloudtest.AdminPassword, map[string]any{"OS-TRUST:trust": map[string]any{"id": "x"}, "project": map[string]any{"id": "x"}}), 400, "not several"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := c.Do(t, "POST", url, "", tc.body)
			if r.Status != tc.status {
				t.Fatalf("status = %d, want %d: %s", r.Status, tc.status, r.Body)
			}
			e := r.JSON(t)["error"].(map[string]any)
			if int(e["code"].(float64)) != tc.status || e["title"] != http.StatusText(tc.status) {
				t.Errorf("error body = %v", e)
			}
			if !strings.Contains(e["message"].(string), tc.msg) {
				t.Errorf("message = %q, want it to mention %q", e["message"], tc.msg)
			}
		})
	}
	// A wrong password and an unknown user must be indistinguishable.
	a := c.Do(t, "POST", url, "", passwordAuth("admin", "wrong", nil))
	b := c.Do(t, "POST", url, "", passwordAuth("nobody", "wrong", nil))
	if a.Status != b.Status || a.JSON(t)["error"].(map[string]any)["message"] != b.JSON(t)["error"].(map[string]any)["message"] {
		t.Errorf("wrong password %s vs unknown user %s", a.Body, b.Body)
	}
}

func TestValidateAndRevoke(t *testing.T) {
	t.Parallel()
	c := cloudtest.Start(t)
	admin := c.Token(t, cloudtest.Admin)
	subject := c.Token(t, cloudtest.Admin)
	url := c.IdentityURL + "/auth/tokens"

	if r := c.Do(t, "GET", url, admin, nil, "X-Subject-Token", subject); r.Status != 200 {
		t.Fatalf("validate = %d %s", r.Status, r.Body)
	}
	if r := c.Do(t, "HEAD", url, admin, nil, "X-Subject-Token", subject); r.Status != 200 {
		t.Fatalf("check = %d", r.Status)
	}
	if r := c.Do(t, "GET", url, admin, nil, "X-Subject-Token", "garbage"); r.Status != 404 {
		t.Fatalf("validate garbage = %d, want 404", r.Status)
	}
	if r := c.Do(t, "GET", url, admin, nil); r.Status != 400 {
		t.Fatalf("validate without subject = %d, want 400", r.Status)
	}
	if r := c.Do(t, "GET", url, "", nil, "X-Subject-Token", subject); r.Status != 401 {
		t.Fatalf("validate without token = %d, want 401", r.Status)
	}
	if r := c.Do(t, "DELETE", url, admin, nil, "X-Subject-Token", subject); r.Status != 204 {
		t.Fatalf("revoke = %d %s", r.Status, r.Body)
	}
	if r := c.Do(t, "GET", url, admin, nil, "X-Subject-Token", subject); r.Status != 404 {
		t.Fatalf("validate revoked = %d, want 404", r.Status)
	}
	if r := c.Do(t, "GET", c.IdentityURL+"/auth/catalog", subject, nil); r.Status != 401 {
		t.Fatalf("use revoked token = %d, want 401", r.Status)
	}
	if r := c.Do(t, "GET", c.IdentityURL+"/auth/catalog", admin, nil); r.Status != 200 {
		t.Fatalf("other token after revoke = %d, want 200", r.Status)
	}
}

func TestRescopeKeepsChainAndExpiry(t *testing.T) {
	t.Parallel()
	c := cloudtest.Start(t)
	url := c.IdentityURL + "/auth/tokens"
	r := c.Do(t, "POST", url, "", passwordAuth("admin", cloudtest.AdminPassword, "unscoped"))
	if r.Status != 201 {
		t.Fatalf("unscoped = %d %s", r.Status, r.Body)
	}
	unscoped := r.JSON(t)["token"].(map[string]any)
	if _, has := unscoped["roles"]; has {
		t.Error("unscoped token has roles")
	}
	r = c.Do(t, "POST", url, "", map[string]any{"auth": map[string]any{
		"identity": map[string]any{"methods": []string{"token"}, "token": map[string]any{"id": r.Header.Get("X-Subject-Token")}},
		"scope":    adminProjectScope}})
	if r.Status != 201 {
		t.Fatalf("rescope = %d %s", r.Status, r.Body)
	}
	scoped := r.JSON(t)["token"].(map[string]any)
	if scoped["expires_at"] != unscoped["expires_at"] {
		t.Errorf("rescoped expires_at %v, parent %v", scoped["expires_at"], unscoped["expires_at"])
	}
	ids := scoped["audit_ids"].([]any)
	if len(ids) != 2 || ids[1] != unscoped["audit_ids"].([]any)[0] {
		t.Errorf("audit_ids = %v, want [new, parent]", ids)
	}
	if m := scoped["methods"].([]any); len(m) != 2 {
		t.Errorf("methods = %v, want token and password", m)
	}
}

func TestSystemScope(t *testing.T) {
	t.Parallel()
	c := cloudtest.Start(t)
	r := c.Do(t, "POST", c.IdentityURL+"/auth/tokens", "", passwordAuth("admin", cloudtest.AdminPassword,
		map[string]any{"system": map[string]any{"all": true}}))
	if r.Status != 201 {
		t.Fatalf("system token = %d %s", r.Status, r.Body)
	}
	if sys := r.JSON(t)["token"].(map[string]any)["system"]; sys.(map[string]any)["all"] != true {
		t.Fatalf("system = %v", sys)
	}
	token := r.Header.Get("X-Subject-Token")
	r = c.Do(t, "GET", c.IdentityURL+"/auth/system", token, nil)
	if r.Status != 200 || len(r.JSON(t)["system"].([]any)) != 1 {
		t.Fatalf("auth/system = %d %s", r.Status, r.Body)
	}
}

func TestExpiredToken(t *testing.T) {
	t.Parallel()
	c := cloudtest.Start(t, cloudtest.WithOption("token.expiration", "1"))
	admin := c.Token(t, cloudtest.Admin)
	cloudtest.Eventually(t, 5*time.Second, func() bool {
		return c.Do(t, "GET", c.IdentityURL+"/auth/catalog", admin, nil).Status == 401
	}, "an expired token is refused")
}

func TestPlumbing(t *testing.T) {
	t.Parallel()
	c := cloudtest.Start(t)
	root := strings.TrimSuffix(c.IdentityURL, "/v3")
	if r := c.Do(t, "GET", root+"/healthcheck", "", nil); r.Status != 200 {
		t.Errorf("healthcheck = %d", r.Status)
	}
	r := c.Do(t, "GET", c.IdentityURL+"/no-such-thing", "", nil)
	if r.Status != 404 || r.JSON(t)["error"].(map[string]any)["code"].(float64) != 404 {
		t.Errorf("unknown route = %d %s", r.Status, r.Body)
	}
	r = c.Do(t, "PATCH", c.IdentityURL+"/auth/tokens", "", nil)
	if r.Status != 405 || r.Header.Get("Allow") == "" {
		t.Errorf("wrong method = %d allow=%q %s", r.Status, r.Header.Get("Allow"), r.Body)
	}
	r = c.Do(t, "GET", c.IdentityURL+"/auth/catalog", "", nil)
	if r.Status != 401 || r.JSON(t)["error"].(map[string]any)["title"] != "Unauthorized" {
		t.Errorf("no token = %d %s", r.Status, r.Body)
	}
	big := `{"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "` + strings.Repeat("x", 200000) + `"}}}}}`
	if r := c.Do(t, "POST", c.IdentityURL+"/auth/tokens", "", big); r.Status != 413 {
		t.Errorf("oversized body = %d, want 413", r.Status)
	}
	r = c.Do(t, "GET", root+"/metrics", "", nil)
	if r.Status != 200 || !bytes.Contains(r.Body, []byte(`nimbus_http_requests_total{code="404"`)) {
		t.Errorf("metrics = %d, missing request counter", r.Status)
	}
}

// lockedBuffer is a log sink safe for the server's goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestNoSecretsInLogs(t *testing.T) {
	t.Parallel()
	var logs lockedBuffer
	c := cloudtest.Start(t, cloudtest.WithLog(&logs))
	token := c.Token(t, cloudtest.Admin)
	c.Do(t, "POST", c.IdentityURL+"/auth/tokens", "", passwordAuth("admin", "a-wrong-secret", nil))
	c.Do(t, "GET", c.IdentityURL+"/auth/tokens", token, nil, "X-Subject-Token", token)
	c.Do(t, "GET", c.IdentityURL+"/auth/tokens", "not-a-real-token-secret", nil)
	out := logs.String()
	if !strings.Contains(out, "request") {
		t.Fatal("no access log captured")
	}
	for _, secret := range []string{cloudtest.AdminPassword, "a-wrong-secret", token, "not-a-real-token-secret"} {
		if strings.Contains(out, secret) {
			t.Errorf("log contains a secret %q", secret[:8])
		}
	}
}

func TestAccessRulesAreEnforced(t *testing.T) {
	t.Parallel()
	c := cloudtest.Start(t)
	admin := c.Token(t, cloudtest.Admin)
	me := c.Do(t, "GET", c.IdentityURL+"/auth/tokens", admin, nil, "X-Subject-Token", admin).JSON(t)
	userID := me["token"].(map[string]any)["user"].(map[string]any)["id"].(string)
	r := c.Do(t, "POST", c.IdentityURL+"/users/"+userID+"/application_credentials", admin, map[string]any{
		"application_credential": map[string]any{"name": "catalog-only", "access_rules": []any{
			map[string]any{"service": "identity", "path": "/v3/auth/*", "method": "GET"}}}})
	if r.Status != 201 {
		t.Fatalf("create application credential = %d %s", r.Status, r.Body)
	}
	ac := r.JSON(t)["application_credential"].(map[string]any)
	r = c.Do(t, "POST", c.IdentityURL+"/auth/tokens", "", map[string]any{"auth": map[string]any{"identity": map[string]any{
		"methods":                []string{"application_credential"},
		"application_credential": map[string]any{"id": ac["id"], "secret": ac["secret"]}}}})
	if r.Status != 201 {
		t.Fatalf("authenticate with it = %d %s", r.Status, r.Body)
	}
	token := r.Header.Get("X-Subject-Token")
	if got := c.Do(t, "GET", c.IdentityURL+"/auth/catalog", token, nil); got.Status != 200 {
		t.Errorf("allowed operation = %d %s", got.Status, got.Body)
	}
	if got := c.Do(t, "GET", c.IdentityURL+"/users", token, nil); got.Status != 401 {
		t.Errorf("operation outside the rules = %d, want 401", got.Status)
	}
	if got := c.Do(t, "DELETE", c.IdentityURL+"/auth/tokens", token, nil, "X-Subject-Token", token); got.Status != 401 {
		t.Errorf("method outside the rules = %d, want 401", got.Status)
	}
}
