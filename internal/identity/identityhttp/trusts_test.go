package identityhttp_test

import (
	"context"
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/trusts"

	"github.com/nimbus-cloud/nimbus/internal/cloudtest"
)

// trustSetup is a trustor holding member and a custom role on a project, a
// trustee, and the trustor's project-scoped token, made over HTTP.
type trustSetup struct {
	project, trustor, trustee, custom, member string
	trustorToken                              string
}

func (c *crudCloud) trustSetup(t *testing.T) trustSetup {
	t.Helper()
	s := trustSetup{
		project: c.create(t, "/projects", "project", map[string]any{"name": "delegated", "domain_id": "default"}),
		trustor: c.mkRBACUser(t, "tina"),
		trustee: c.mkRBACUser(t, "theo"),
		custom:  c.create(t, "/roles", "role", map[string]any{"name": "DelegatedRole"}),
		member:  c.roleID(t, "member"),
	}
	for _, role := range []string{s.member, s.custom} {
		wantStatus(t, c.call(t, "PUT", "/projects/"+s.project+"/users/"+s.trustor+"/roles/"+role, nil), http.StatusNoContent, "")
	}
	s.trustorToken = c.projectToken(t, "tina", s.project)
	return s
}

// trustBody is a create request from the trustor to the trustee.
func (s trustSetup) trustBody(impersonation bool, roles ...map[string]any) map[string]any {
	rs := make([]any, len(roles))
	for i, r := range roles {
		rs[i] = r
	}
	return map[string]any{"trust": map[string]any{"trustor_user_id": s.trustor, "trustee_user_id": s.trustee,
		"project_id": s.project, "impersonation": impersonation, "roles": rs}}
}

// trustAuth is the body of POST /v3/auth/tokens for a user of the default
// domain (password "pw-<name>") scoped to a trust.
func trustAuth(name, trustID string) map[string]any {
	return passwordAuth(name, "pw-"+name, map[string]any{"OS-TRUST:trust": map[string]any{"id": trustID}})
}

func TestTrustsAPI(t *testing.T) {
	t.Parallel()
	c := startCrudCloud(t)
	s := c.trustSetup(t)
	expires := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	body := s.trustBody(true, map[string]any{"name": "DelegatedRole"})
	body["trust"].(map[string]any)["expires_at"] = expires.Format("2006-01-02T15:04:05Z")
	r := c.call(t, "POST", "/OS-TRUST/trusts", body, s.trustorToken)
	wantStatus(t, r, http.StatusCreated, "")
	tr := r.JSON(t)["trust"].(map[string]any)
	detailKeys := []string{"id", "trustor_user_id", "trustee_user_id", "project_id", "impersonation", "expires_at",
		"remaining_uses", "redelegated_trust_id", "redelegation_count", "deleted_at", "roles", "roles_links", "links"}
	wantKeys(t, "trust", tr, detailKeys...)
	id := tr["id"].(string)
	if tr["trustor_user_id"] != s.trustor || tr["trustee_user_id"] != s.trustee || tr["project_id"] != s.project ||
		tr["impersonation"] != true || tr["remaining_uses"] != nil || tr["redelegation_count"] != float64(0) ||
		tr["expires_at"] != expires.Format("2006-01-02T15:04:05")+".000000Z" ||
		tr["links"].(map[string]any)["self"] != c.IdentityURL+"/OS-TRUST/trusts/"+id ||
		tr["roles_links"].(map[string]any)["self"] != c.IdentityURL+"/OS-TRUST/trusts/"+id+"/roles" {
		t.Fatalf("created trust = %s", r.Body)
	}
	roles := tr["roles"].([]any)
	if len(roles) != 1 || roles[0].(map[string]any)["id"] != s.custom {
		t.Fatalf("trust roles = %v", roles)
	}
	wantKeys(t, "trust role", roles[0].(map[string]any), "id", "name", "domain_id", "description", "options", "links")

	r = c.call(t, "GET", "/OS-TRUST/trusts/"+id, nil, s.trustorToken)
	wantStatus(t, r, http.StatusOK, "")
	wantKeys(t, "trust", r.JSON(t)["trust"].(map[string]any), detailKeys...)
	// The trustor lists its trusts; listing a trustee's takes the trustee or
	// an admin.
	for path, tok := range map[string]string{"/OS-TRUST/trusts/?trustor_user_id=" + s.trustor: s.trustorToken,
		"/OS-TRUST/trusts?trustee_user_id=" + s.trustee: c.token} {
		r = c.call(t, "GET", path, nil, tok)
		wantStatus(t, r, http.StatusOK, "")
		list := r.JSON(t)["trusts"].([]any)
		if len(list) != 1 {
			t.Fatalf("GET %s = %s", path, r.Body)
		}
		wantKeys(t, "listed trust", list[0].(map[string]any), "id", "trustor_user_id", "trustee_user_id", "project_id",
			"impersonation", "expires_at", "remaining_uses", "redelegated_trust_id", "redelegation_count", "deleted_at", "links")
	}
	r = c.call(t, "GET", "/OS-TRUST/trusts", nil)
	wantStatus(t, r, http.StatusOK, "")
	if len(r.JSON(t)["trusts"].([]any)) != 1 {
		t.Fatalf("admin list = %s", r.Body)
	}

	rolesPath := "/OS-TRUST/trusts/" + id + "/roles"
	r = c.call(t, "GET", rolesPath, nil, s.trustorToken)
	wantStatus(t, r, http.StatusOK, "")
	wantKeys(t, "trust roles", r.JSON(t), "roles", "links")
	r = c.call(t, "GET", rolesPath+"/"+s.custom, nil, s.trustorToken)
	wantStatus(t, r, http.StatusOK, "")
	if role := r.JSON(t)["role"].(map[string]any); role["name"] != "DelegatedRole" ||
		role["links"].(map[string]any)["self"] != c.IdentityURL+"/roles/"+s.custom {
		t.Fatalf("trust role = %s", r.Body)
	}
	if st := c.call(t, "HEAD", rolesPath+"/"+s.custom, nil, s.trustorToken).Status; st != http.StatusOK {
		t.Fatalf("HEAD delegated role = %d, want 200", st)
	}
	if st := c.call(t, "HEAD", rolesPath+"/"+s.member, nil, s.trustorToken).Status; st != http.StatusNotFound {
		t.Fatalf("HEAD role not delegated = %d, want 404", st)
	}
	wantStatus(t, c.call(t, "GET", rolesPath+"/"+s.member, nil, s.trustorToken), http.StatusNotFound, "Could not find role: "+s.member+".")

	trustToken := c.checkTrustTokens(t, s, id)

	wantStatus(t, c.call(t, "DELETE", "/OS-TRUST/trusts/"+id, nil, s.trustorToken), http.StatusNoContent, "")
	wantStatus(t, c.call(t, "GET", "/OS-TRUST/trusts/"+id, nil, s.trustorToken), http.StatusNotFound, "Could not find trust: "+id+".")
	if st := c.tokenStatus(t, trustToken); st != http.StatusNotFound {
		t.Fatalf("validating a token of a deleted trust = %d, want 404", st)
	}
	wantStatus(t, c.Do(t, "POST", c.IdentityURL+"/auth/tokens", "", trustAuth("theo", id)), http.StatusUnauthorized, "Could not find trust: "+id+".")
}

// checkTrustTokens has the trustee of the impersonating trust id get a token
// through it, checks the token as issued and as validated, and returns it.
func (c *crudCloud) checkTrustTokens(t *testing.T, s trustSetup, id string) string {
	t.Helper()
	r := c.Do(t, "POST", c.IdentityURL+"/auth/tokens", "", trustAuth("theo", id))
	wantStatus(t, r, http.StatusCreated, "")
	trustToken := r.Header.Get("X-Subject-Token")
	tok := r.JSON(t)["token"].(map[string]any)
	wantTrustToken(t, tok, id, s.trustor, s.trustee, s.trustor, s.project)
	if rs := tok["roles"].([]any); len(rs) != 1 || rs[0].(map[string]any)["name"] != "DelegatedRole" {
		t.Fatalf("trust token roles = %v", rs)
	}
	r = c.Do(t, "GET", c.IdentityURL+"/auth/tokens", c.token, nil, "X-Subject-Token", trustToken)
	wantStatus(t, r, http.StatusOK, "")
	wantTrustToken(t, r.JSON(t)["token"].(map[string]any), id, s.trustor, s.trustee, s.trustor, s.project)
	// A trust token may not mint another token.
	wantStatus(t, c.Do(t, "POST", c.IdentityURL+"/auth/tokens", "", map[string]any{"auth": map[string]any{
		"identity": map[string]any{"methods": []string{"token"}, "token": map[string]any{"id": trustToken}}}}),
		http.StatusForbidden, "Using trust-scoped token to create another token.")
	return trustToken
}

// wantTrustToken checks the trust parts of a token body.
func wantTrustToken(t *testing.T, tok map[string]any, trustID, trustor, trustee, user, project string) {
	t.Helper()
	ot, _ := tok["OS-TRUST:trust"].(map[string]any)
	if ot == nil || ot["id"] != trustID || ot["trustor_user"].(map[string]any)["id"] != trustor ||
		ot["trustee_user"].(map[string]any)["id"] != trustee || ot["impersonation"] != (user == trustor) {
		t.Fatalf("OS-TRUST:trust = %v", tok["OS-TRUST:trust"])
	}
	wantKeys(t, "OS-TRUST:trust", ot, "id", "impersonation", "trustee_user", "trustor_user")
	if tok["user"].(map[string]any)["id"] != user || tok["project"].(map[string]any)["id"] != project {
		t.Fatalf("trust token user %v project %v", tok["user"], tok["project"])
	}
}

// TestTrustsGophercloud drives trusts and trust-scoped tokens through gophercloud.
func TestTrustsGophercloud(t *testing.T) {
	t.Parallel()
	c := startCrudCloud(t)
	s := c.trustSetup(t)
	ctx := context.Background()
	trustor := c.IdentityClient(t, cloudtest.Credentials{Username: "tina", Password: "pw-tina", ProjectName: "delegated"})
	exp := time.Now().Add(2 * time.Hour).UTC().Truncate(time.Second)
	tr, err := trusts.Create(ctx, trustor, trusts.CreateOpts{TrustorUserID: s.trustor, TrusteeUserID: s.trustee,
		ProjectID: s.project, ExpiresAt: &exp, RemainingUses: 2, Roles: []trusts.Role{{ID: s.member}}}).Extract()
	if err != nil {
		t.Fatalf("create trust: %v", err)
	}
	if tr.Impersonation || !tr.ExpiresAt.Equal(exp) || tr.RemainingUses != 2 || len(tr.Roles) != 1 || tr.Roles[0].Name != "member" {
		t.Fatalf("created %+v", tr)
	}
	got, err := trusts.Get(ctx, trustor, tr.ID).Extract()
	if err != nil || got.ID != tr.ID {
		t.Fatalf("get trust: %+v, %v", got, err)
	}
	pages, err := trusts.List(trustor, trusts.ListOpts{TrustorUserID: s.trustor}).AllPages(ctx)
	if err != nil {
		t.Fatalf("list trusts: %v", err)
	}
	if list, err := trusts.ExtractTrusts(pages); err != nil || len(list) != 1 {
		t.Fatalf("listed %+v, %v", list, err)
	}
	rolePages, err := trusts.ListRoles(trustor, tr.ID).AllPages(ctx)
	if err != nil {
		t.Fatalf("list trust roles: %v", err)
	}
	if roles, err := trusts.ExtractRoles(rolePages); err != nil || len(roles) != 1 || roles[0].ID != s.member {
		t.Fatalf("trust roles %+v, %v", roles, err)
	}
	if err := trusts.CheckRole(ctx, trustor, tr.ID, s.member).ExtractErr(); err != nil {
		t.Fatalf("check delegated role: %v", err)
	}
	if err := trusts.CheckRole(ctx, trustor, tr.ID, s.custom).ExtractErr(); !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		t.Fatalf("check role not delegated: %v", err)
	}

	// The trustee authenticates with the trust; the two uses run out.
	for i := range 3 {
		pc, err := openstack.NewClient(c.IdentityURL)
		if err != nil {
			t.Fatal(err)
		}
		res := tokens.Create(ctx, mustIdentity(t, pc), &tokens.AuthOptions{UserID: s.trustee, Password: "pw-theo",
			Scope: tokens.Scope{TrustID: tr.ID}})
		if i == 2 {
			if !gophercloud.ResponseCodeIs(res.Err, http.StatusUnauthorized) {
				t.Fatalf("third use of a two-use trust: %v", res.Err)
			}
			break
		}
		trust, err := res.ExtractTrust()
		if err != nil || trust.ID != tr.ID || trust.TrusteeUserID.ID != s.trustee || trust.TrustorUserID.ID != s.trustor {
			t.Fatalf("token trust %+v, %v", trust, err)
		}
		user, err := res.ExtractUser()
		if err != nil || user.ID != s.trustee {
			t.Fatalf("token user %+v, %v (no impersonation: the trustee)", user, err)
		}
	}
	if err := trusts.Delete(ctx, trustor, tr.ID).ExtractErr(); !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		t.Fatalf("delete a used-up trust: %v, want 404 as keystone", err)
	}
}

func mustIdentity(t *testing.T, pc *gophercloud.ProviderClient) *gophercloud.ServiceClient {
	t.Helper()
	sc, err := openstack.NewIdentityV3(pc, gophercloud.EndpointOpts{})
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func TestTrustsBadInput(t *testing.T) {
	t.Parallel()
	c := startCrudCloud(t)
	s := c.trustSetup(t)
	other := c.mkRBACUser(t, "olga")
	wantStatus(t, c.call(t, "PUT", "/projects/"+s.project+"/users/"+other+"/roles/"+s.member, nil), http.StatusNoContent, "")
	otherToken := c.projectToken(t, "olga", s.project)
	edit := func(f func(tr map[string]any)) map[string]any {
		b := s.trustBody(false, map[string]any{"id": s.custom})
		f(b["trust"].(map[string]any))
		return b
	}
	cases := []struct {
		name   string
		body   any
		token  string
		status int
		msg    string
	}{
		{"no trust", map[string]any{}, "", 400, "Expecting to find trust in request body"},
		{"no trustor", edit(func(tr map[string]any) { delete(tr, "trustor_user_id") }), "", 400, "'trustor_user_id' is a required property"},
		{"no impersonation", edit(func(tr map[string]any) { delete(tr, "impersonation") }), "", 400, "'impersonation' is a required property"},
		{"impersonation not boolean", edit(func(tr map[string]any) { tr["impersonation"] = "yes" }), "", 400, "impersonation"},
		{"null trustee", edit(func(tr map[string]any) { tr["trustee_user_id"] = nil }), "", 400, "None is not of type 'string'"},
		{"bad timestamp", edit(func(tr map[string]any) { tr["expires_at"] = "bad.123Z" }), "", 400, "Timestamp not in expected format."},
		{"past expiry", edit(func(tr map[string]any) { tr["expires_at"] = "2001-01-01T00:00:00Z" }), "", 400, "must not be before now"},
		{"zero uses", edit(func(tr map[string]any) { tr["remaining_uses"] = 0 }), "", 400, "less than the minimum of 1"},
		{"fractional uses", edit(func(tr map[string]any) { tr["remaining_uses"] = 1.5 }), "", 400, "remaining_uses"},
		{"role with id and name", edit(func(tr map[string]any) { tr["roles"] = []any{map[string]any{"id": s.custom, "name": "x"}} }), "", 400, "exactly one of 'id' and 'name'"},
		{"role with other key", edit(func(tr map[string]any) { tr["roles"] = []any{map[string]any{"domain": "x"}} }), "", 400, "roles"},
		{"no roles", edit(func(tr map[string]any) { delete(tr, "roles") }), "", 403, "At least one role should be specified."},
		{"not the trustor", edit(func(tr map[string]any) {}), otherToken, 403, "identity:create_trust"},
		{"unknown trustee", edit(func(tr map[string]any) { tr["trustee_user_id"] = "nobody" }), "", 404, "Could not find user: nobody."},
		{"role not held", edit(func(tr map[string]any) { tr["roles"] = []any{map[string]any{"name": "admin"}} }), "", 404, "Could not find role"},
		{"unknown role name", edit(func(tr map[string]any) { tr["roles"] = []any{map[string]any{"name": "nope"}} }), "", 404, "Role nope is not defined"},
		{"redelegation disabled", edit(func(tr map[string]any) { tr["allow_redelegation"] = true }), "", 403, "Redelegation of trusts is not enabled"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tok := s.trustorToken
			if tc.token != "" {
				tok = tc.token
			}
			wantStatus(t, c.call(t, "POST", "/OS-TRUST/trusts", tc.body, tok), tc.status, tc.msg)
		})
	}

}

func TestTrustsReadErrors(t *testing.T) {
	t.Parallel()
	c := startCrudCloud(t)
	s := c.trustSetup(t)
	other := c.mkRBACUser(t, "olga")
	wantStatus(t, c.call(t, "PUT", "/projects/"+s.project+"/users/"+other+"/roles/"+s.member, nil), http.StatusNoContent, "")
	otherToken := c.projectToken(t, "olga", s.project)
	// Two trusts alike in trustor, trustee, project, impersonation and expiry clash.
	expiring := s.trustBody(false, map[string]any{"id": s.custom})
	expiring["trust"].(map[string]any)["expires_at"] = time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	r := c.call(t, "POST", "/OS-TRUST/trusts", expiring, s.trustorToken)
	wantStatus(t, r, http.StatusCreated, "")
	id := r.JSON(t)["trust"].(map[string]any)["id"].(string)
	wantStatus(t, c.call(t, "POST", "/OS-TRUST/trusts", expiring, s.trustorToken),
		http.StatusConflict, "Conflict occurred attempting to store trust")
	reads := []struct {
		name, method, path, token string
		status                    int
		msg                       string
	}{
		{"no token", "GET", "/OS-TRUST/trusts/" + id, "-", 401, "requires authentication"},
		{"unknown trust", "GET", "/OS-TRUST/trusts/nope", s.trustorToken, 404, "Could not find trust: nope."},
		{"unrelated user reads", "GET", "/OS-TRUST/trusts/" + id, otherToken, 403, "identity:get_trust"},
		{"unrelated user lists roles", "GET", "/OS-TRUST/trusts/" + id + "/roles", otherToken, 403, "identity:list_roles_for_trust"},
		{"unrelated user deletes", "DELETE", "/OS-TRUST/trusts/" + id, otherToken, 403, "identity:delete_trust"},
		{"member lists every trust", "GET", "/OS-TRUST/trusts", otherToken, 403, "identity:list_trusts"},
		{"member lists another's trusts", "GET", "/OS-TRUST/trusts?trustor_user_id=" + s.trustor, otherToken, 403, "identity:list_trusts_for_trustor"},
		{"unknown trust roles", "GET", "/OS-TRUST/trusts/nope/roles", s.trustorToken, 404, "Could not find trust: nope."},
		{"unsupported method", "PATCH", "/OS-TRUST/trusts/" + id, s.trustorToken, 405, ""},
	}
	for _, rc := range reads {
		t.Run(rc.name, func(t *testing.T) {
			t.Parallel()
			var r *cloudtest.Response
			if rc.token == "-" {
				r = c.Do(t, rc.method, c.IdentityURL+rc.path, "", nil)
			} else {
				r = c.call(t, rc.method, rc.path, nil, rc.token)
			}
			wantStatus(t, r, rc.status, rc.msg)
		})
	}
	// The trustee reads the trust too, and a trust ID in a token request
	// must come alone.
	theo := c.projectTokenless(t, "theo")
	wantStatus(t, c.call(t, "GET", "/OS-TRUST/trusts/"+id, nil, theo), http.StatusOK, "")
	r = c.Do(t, "POST", c.IdentityURL+"/auth/tokens", "", trustAuth("olga", id))
	wantStatus(t, r, http.StatusForbidden, "User is not a trustee.")
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(id) {
		t.Fatalf("trust id %q is not a keystone id", id)
	}
}

// projectTokenless issues an unscoped token for a user made by mkRBACUser.
func (c *crudCloud) projectTokenless(t *testing.T, name string) string {
	t.Helper()
	r := c.Do(t, "POST", c.IdentityURL+"/auth/tokens", "", passwordAuth(name, "pw-"+name, nil))
	wantStatus(t, r, http.StatusCreated, "")
	return r.Header.Get("X-Subject-Token")
}
