package identityhttp_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/credentials"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/ec2credentials"

	"github.com/nimbus-cloud/nimbus/internal/cloudtest"
)

// credWorld is a test cloud with erin, a member of the project web.
type credWorld struct {
	*crudCloud
	s        rbacSetup
	erinTok  string
	erinIdty *gophercloud.ServiceClient
}

func newCredWorld(t *testing.T) *credWorld {
	t.Helper()
	c := startCrudCloud(t)
	s := c.rbacSetup(t)
	wantStatus(t, c.call(t, "PUT", "/projects/"+s.project+"/users/"+s.user+"/roles/"+c.roleID(t, "member"), nil),
		http.StatusNoContent, "")
	return &credWorld{crudCloud: c, s: s, erinTok: c.projectToken(t, "erin", s.project),
		erinIdty: c.IdentityClient(t, cloudtest.Credentials{Username: "erin", Password: "pw-erin", ProjectName: "web"})}
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestCredentialsAPI(t *testing.T) {
	t.Parallel()
	w := newCredWorld(t)
	ctx := context.Background()
	blob := `{"access": "AKIA-erin", "secret": "s3cr3t"}`
	cr, err := credentials.Create(ctx, w.client, credentials.CreateOpts{UserID: w.s.user, ProjectID: w.s.project,
		Type: "ec2", Blob: blob}).Extract()
	if err != nil {
		t.Fatalf("create credential: %v", err)
	}
	if cr.ID != sha256Hex("AKIA-erin") || cr.Blob != blob || cr.UserID != w.s.user || cr.ProjectID != w.s.project || cr.Type != "ec2" {
		t.Fatalf("created %+v", cr)
	}
	got, err := credentials.Get(ctx, w.client, cr.ID).Extract()
	if err != nil || got.Blob != blob || got.Links["self"] != w.IdentityURL+"/credentials/"+cr.ID {
		t.Fatalf("get = %+v, %v", got, err)
	}
	newBlob := `{"access": "AKIA-erin-2", "secret": "n3w"}`
	up, err := credentials.Update(ctx, w.client, cr.ID, credentials.UpdateOpts{Blob: newBlob, Type: "ec2"}).Extract()
	if err != nil || up.ID != cr.ID || up.Blob != newBlob || up.ProjectID != w.s.project {
		t.Fatalf("update = %+v, %v", up, err)
	}

	// Raw shapes: blob is a string, project_id null when unset, extra
	// attributes at the top level, a given id ignored.
	r := w.call(t, "POST", "/credentials", map[string]any{"credential": map[string]any{"user_id": w.s.user,
		"type": "totp", "blob": "GEZDGNBV", "id": "mine", "label": "phone", "os-x": 1}})
	wantStatus(t, r, http.StatusCreated, "")
	totp := r.JSON(t)["credential"].(map[string]any)
	wantKeys(t, "credential", totp, "id", "user_id", "project_id", "type", "blob", "links", "label", "os_x")
	if totp["project_id"] != nil || totp["blob"] != "GEZDGNBV" || totp["label"] != "phone" ||
		!regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(totp["id"].(string)) {
		t.Fatalf("totp = %s", r.Body)
	}
	totpID := totp["id"].(string)

	r = w.call(t, "GET", "/credentials?type=totp", nil)
	wantStatus(t, r, http.StatusOK, "")
	body := r.JSON(t)
	wantKeys(t, "list", body, "credentials", "links")
	if list := body["credentials"].([]any); len(list) != 1 || list[0].(map[string]any)["id"] != totpID {
		t.Fatalf("list by type = %s", r.Body)
	}
	pages, err := credentials.List(w.client, credentials.ListOpts{UserID: w.s.user}).AllPages(ctx)
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	all, err := credentials.ExtractCredentials(pages)
	if err != nil || len(all) != 2 {
		t.Fatalf("list by user = %+v, %v", all, err)
	}

	// Erin manages her own, and only those.
	r = w.call(t, "GET", "/credentials", nil, w.erinTok)
	wantStatus(t, r, http.StatusOK, "")
	if n := len(r.JSON(t)["credentials"].([]any)); n != 2 {
		t.Fatalf("erin lists %d credentials: %s", n, r.Body)
	}
	admin := w.call(t, "GET", "/users?name=admin", nil).JSON(t)["users"].([]any)[0].(map[string]any)["id"].(string)
	wantStatus(t, w.call(t, "POST", "/credentials", map[string]any{"credential": map[string]any{"user_id": admin,
		"type": "totp", "blob": "x"}}, w.erinTok), http.StatusForbidden, "identity:create_credential")
	wantStatus(t, w.call(t, "PATCH", "/credentials/"+totpID, map[string]any{"credential": map[string]any{"user_id": admin}},
		w.erinTok), http.StatusForbidden, "identity:update_credential")
	wantStatus(t, w.call(t, "PATCH", "/credentials/"+totpID, map[string]any{"credential": map[string]any{"blob": "rotated"}},
		w.erinTok), http.StatusOK, "")
	wantStatus(t, w.call(t, "DELETE", "/credentials/"+totpID, nil, w.erinTok), http.StatusNoContent, "")
	wantStatus(t, w.call(t, "GET", "/credentials/"+totpID, nil), http.StatusNotFound, "Could not find credential: "+totpID+".")

	if err := credentials.Delete(ctx, w.client, cr.ID).ExtractErr(); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := credentials.Get(ctx, w.client, cr.ID).Extract(); !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		t.Fatalf("get after delete: %v", err)
	}

	// The blobs sit in the database sealed, with keys of their own repository.
	keys, err := os.ReadDir(w.Config.CredentialKeyRepository())
	if err != nil || !slices.ContainsFunc(keys, func(e os.DirEntry) bool { return e.Name() == "1" }) {
		t.Fatalf("credential key repository: %v %v", keys, err)
	}
	if filepath.Clean(w.Config.CredentialKeyRepository()) == filepath.Clean(w.Config.FernetKeyRepository()) {
		t.Fatal("credential keys share the token key repository")
	}
}

func TestCredentialsAPIBadInput(t *testing.T) {
	t.Parallel()
	w := newCredWorld(t)
	okBlob := `{"access": "a1", "secret": "s"}`
	r := w.call(t, "POST", "/credentials", map[string]any{"credential": map[string]any{"user_id": w.s.user,
		"project_id": w.s.project, "type": "ec2", "blob": okBlob}})
	wantStatus(t, r, http.StatusCreated, "")
	id := r.JSON(t)["credential"].(map[string]any)["id"].(string)

	cred := func(kv ...any) map[string]any {
		m := map[string]any{"user_id": w.s.user, "project_id": w.s.project, "type": "ec2", "blob": `{"access": "x"}`}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == "<absent>" {
				delete(m, kv[i].(string))
				continue
			}
			m[kv[i].(string)] = kv[i+1]
		}
		return map[string]any{"credential": m}
	}
	cases := []struct {
		name, method, path string
		body               any
		status             int
		msg                string
	}{
		{"no credential", "POST", "/credentials", map[string]any{"cred": map[string]any{}}, 400, "'credential' is a required property"},
		{"credential not an object", "POST", "/credentials", map[string]any{"credential": "x"}, 400, "is not of type 'object'"},
		{"no blob", "POST", "/credentials", cred("blob", "<absent>"), 400, "'blob' is a required property"},
		{"no type", "POST", "/credentials", cred("type", "<absent>"), 400, "'type' is a required property"},
		{"no user", "POST", "/credentials", cred("user_id", "<absent>"), 400, "'user_id' is a required property"},
		{"blob not a string", "POST", "/credentials", cred("blob", map[string]any{"access": "x"}), 400, "'blob'"},
		{"type not a string", "POST", "/credentials", cred("type", 3), 400, "'type'"},
		{"project not a string", "POST", "/credentials", cred("project_id", 3), 400, "'project_id'"},
		{"ec2 without project", "POST", "/credentials", cred("project_id", "<absent>"), 400, "Expecting to find project_id in credential."},
		{"ec2 null project", "POST", "/credentials", cred("project_id", nil), 400, "Expecting to find project_id in credential."},
		{"ec2 blob not JSON", "POST", "/credentials", cred("blob", "access=x"), 400, "Invalid blob in credential"},
		{"ec2 blob without access", "POST", "/credentials", cred("blob", `{"secret": "s"}`), 400, "Expecting to find access in credential."},
		{"missing user", "POST", "/credentials", cred("user_id", "nobody"), 404, "Could not find user: nobody."},
		{"missing project", "POST", "/credentials", cred("project_id", "nowhere"), 404, "Could not find project: nowhere."},
		{"duplicate access key", "POST", "/credentials", cred("blob", okBlob), 409, "Duplicate ID, " + id},
		{"not JSON", "POST", "/credentials", "{", 400, ""},
		{"update nothing", "PATCH", "/credentials/" + id, map[string]any{"credential": map[string]any{}}, 400, "does not have enough properties"},
		{"update id", "PATCH", "/credentials/" + id, map[string]any{"credential": map[string]any{"id": "other"}}, 400, "Cannot change ID"},
		{"update blob type", "PATCH", "/credentials/" + id, map[string]any{"credential": map[string]any{"blob": 1}}, 400, "'blob'"},
		{"update bad ec2 blob", "PATCH", "/credentials/" + id, map[string]any{"credential": map[string]any{"blob": "[]"}}, 400,
			"Expecting to find blob in credential."},
		{"update clears ec2 project", "PATCH", "/credentials/" + id, map[string]any{"credential": map[string]any{"project_id": nil}}, 400,
			"Expecting to find project_id in credential."},
		{"update missing", "PATCH", "/credentials/missing", map[string]any{"credential": map[string]any{"blob": "x"}}, 404,
			"Could not find credential: missing."},
		{"get missing", "GET", "/credentials/missing", nil, 404, "Could not find credential: missing."},
		{"delete missing", "DELETE", "/credentials/missing", nil, 404, "Could not find credential: missing."},
		{"ec2 create no tenant", "POST", "/users/" + w.s.user + "/credentials/OS-EC2", map[string]any{}, 404, "Could not find project: None."},
		{"ec2 create bad tenant", "POST", "/users/" + w.s.user + "/credentials/OS-EC2", map[string]any{"tenant_id": 7}, 400, "'tenant_id'"},
		{"ec2 create missing tenant", "POST", "/users/" + w.s.user + "/credentials/OS-EC2", map[string]any{"tenant_id": "nowhere"}, 404,
			"Could not find project: nowhere."},
		{"ec2 create missing user", "POST", "/users/nobody/credentials/OS-EC2", map[string]any{"tenant_id": w.s.project}, 404,
			"Could not find user: nobody."},
		{"ec2 create body not an object", "POST", "/users/" + w.s.user + "/credentials/OS-EC2", "null", 400, ""},
		{"ec2 list missing user", "GET", "/users/nobody/credentials/OS-EC2", nil, 404, "Could not find user: nobody."},
		{"ec2 get missing", "GET", "/users/" + w.s.user + "/credentials/OS-EC2/nope", nil, 404, "Could not find credential: " + sha256Hex("nope")},
		{"ec2 delete missing", "DELETE", "/users/" + w.s.user + "/credentials/OS-EC2/nope", nil, 404, "Could not find credential"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantStatus(t, w.call(t, c.method, c.path, c.body), c.status, c.msg)
		})
	}
	wantStatus(t, w.Do(t, "GET", w.IdentityURL+"/credentials", "", nil), http.StatusUnauthorized, "")
}

func TestEC2CredentialsAPI(t *testing.T) {
	t.Parallel()
	w := newCredWorld(t)
	ctx := context.Background()
	path := "/users/" + w.s.user + "/credentials/OS-EC2"
	r := w.call(t, "POST", path, map[string]any{"tenant_id": w.s.project}, w.erinTok)
	wantStatus(t, r, http.StatusCreated, "")
	k := r.JSON(t)["credential"].(map[string]any)
	wantKeys(t, "ec2 credential", k, "user_id", "tenant_id", "access", "secret", "trust_id", "links")
	access := k["access"].(string)
	hex32 := regexp.MustCompile(`^[0-9a-f]{32}$`)
	if !hex32.MatchString(access) || !hex32.MatchString(k["secret"].(string)) || k["user_id"] != w.s.user ||
		k["tenant_id"] != w.s.project || k["trust_id"] != nil || k["links"].(map[string]any)["self"] != w.IdentityURL+path+"/"+access {
		t.Fatalf("created %s", r.Body)
	}

	// gophercloud's client reads the same shapes.
	k2, err := ec2credentials.Create(ctx, w.erinIdty, w.s.user, ec2credentials.CreateOpts{TenantID: w.s.project}).Extract()
	if err != nil || k2.TenantID != w.s.project || k2.Secret == "" {
		t.Fatalf("gophercloud create = %+v, %v", k2, err)
	}
	pages, err := ec2credentials.List(w.erinIdty, w.s.user).AllPages(ctx)
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	list, err := ec2credentials.ExtractCredentials(pages)
	if err != nil {
		t.Fatalf("extract list: %v", err)
	}
	var keys []string
	for _, x := range list {
		keys = append(keys, x.Access)
	}
	slices.Sort(keys)
	want := []string{access, k2.Access}
	slices.Sort(want)
	if !slices.Equal(keys, want) {
		t.Fatalf("list = %v, want %v", keys, want)
	}
	got, err := ec2credentials.Get(ctx, w.erinIdty, w.s.user, access).Extract()
	if err != nil || got.Secret != k["secret"] || got.TenantID != w.s.project || got.UserID != w.s.user {
		t.Fatalf("get = %+v, %v", got, err)
	}

	// Each key pair is a credential of type ec2 whose id is the access key's hash.
	r = w.call(t, "GET", "/credentials/"+sha256Hex(access), nil, w.erinTok)
	wantStatus(t, r, http.StatusOK, "")
	var blob map[string]any
	if err := json.Unmarshal([]byte(r.JSON(t)["credential"].(map[string]any)["blob"].(string)), &blob); err != nil ||
		blob["access"] != access || blob["secret"] != k["secret"] {
		t.Fatalf("as a credential: %s", r.Body)
	}

	// Others may not touch erin's key pairs; erin may not make them for others.
	other := w.mkRBACUser(t, "frank")
	wantStatus(t, w.call(t, "PUT", "/projects/"+w.s.project+"/users/"+other+"/roles/"+w.roleID(t, "member"), nil), http.StatusNoContent, "")
	frank := w.projectToken(t, "frank", w.s.project)
	wantStatus(t, w.call(t, "GET", path, nil, frank), http.StatusForbidden, "identity:ec2_list_credentials")
	wantStatus(t, w.call(t, "GET", path+"/"+access, nil, frank), http.StatusForbidden, "identity:ec2_get_credential")
	wantStatus(t, w.call(t, "DELETE", path+"/"+access, nil, frank), http.StatusForbidden, "identity:ec2_delete_credential")
	wantStatus(t, w.call(t, "POST", "/users/"+other+"/credentials/OS-EC2", map[string]any{"tenant_id": w.s.project}, w.erinTok),
		http.StatusForbidden, "identity:ec2_create_credential")

	if err := ec2credentials.Delete(ctx, w.erinIdty, w.s.user, access).ExtractErr(); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := ec2credentials.Get(ctx, w.erinIdty, w.s.user, access).Extract(); !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		t.Fatalf("get after delete: %v", err)
	}

	// Deleting the user deletes the rest.
	wantStatus(t, w.call(t, "DELETE", "/users/"+w.s.user, nil), http.StatusNoContent, "")
	r = w.call(t, "GET", "/credentials", nil)
	wantStatus(t, r, http.StatusOK, "")
	if strings.Contains(string(r.Body), w.s.user) {
		t.Fatalf("credentials of a deleted user remain: %s", r.Body)
	}
}
