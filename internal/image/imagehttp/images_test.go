package imagehttp_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/members"
	"github.com/gophercloud/gophercloud/v2/pagination"

	"github.com/nimbus-cloud/nimbus/internal/cloudtest"
)

// newUser creates a project and a user holding member on it, and returns the
// user's credentials and project id.
func newUser(t *testing.T, c *cloudtest.Cloud, admin, name string) (cloudtest.Credentials, string) {
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
	resp = c.Do(t, "GET", c.IdentityURL+"/roles?name=member", admin, nil)
	roles := resp.JSON(t)["roles"].([]any)
	if len(roles) == 0 {
		t.Fatal("no member role")
	}
	role := roles[0].(map[string]any)["id"].(string)
	resp = c.Do(t, "PUT", c.IdentityURL+"/projects/"+project+"/users/"+user+"/roles/"+role, admin, nil)
	if resp.Status != http.StatusNoContent {
		t.Fatalf("grant member: %d %s", resp.Status, resp.Body)
	}
	return cloudtest.Credentials{Username: name, Password: "secret-" + name, ProjectName: name}, project
}

func TestImageLifecycleWithGophercloud(t *testing.T) {
	t.Parallel()
	c := cloudtest.Start(t)
	ctx := context.Background()
	ic := c.ImageClient(t, cloudtest.Admin)
	protected := false
	img, err := images.Create(ctx, ic, images.CreateOpts{Name: "cirros", DiskFormat: "raw", ContainerFormat: "bare",
		Tags: []string{"t1"}, Protected: &protected, Properties: map[string]string{"hw_disk_bus": "virtio"}}).Extract()
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if img.Status != images.ImageStatusQueued || img.Visibility != images.ImageVisibilityShared ||
		img.Properties["hw_disk_bus"] != "virtio" {
		t.Errorf("created %+v", img)
	}
	got, err := images.Get(ctx, ic, img.ID).Extract()
	if err != nil || got.Name != "cirros" {
		t.Fatalf("get: %v %+v", err, got)
	}
	upd, err := images.Update(ctx, ic, img.ID, images.UpdateOpts{
		images.ReplaceImageName{NewName: "cirros-2"},
		images.UpdateImageProperty{Op: images.AddOp, Name: "os_distro", Value: "cirros"},
		images.ReplaceImageTags{NewTags: []string{"t2", "t3"}},
	}).Extract()
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	if upd.Name != "cirros-2" || upd.Properties["os_distro"] != "cirros" || len(upd.Tags) != 2 {
		t.Errorf("updated %+v", upd)
	}
	for i := 0; i < 3; i++ {
		if _, err := images.Create(ctx, ic, images.CreateOpts{Name: "page"}).Extract(); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	err = images.List(ic, images.ListOpts{Limit: 2, SortKey: "name", SortDir: "asc"}).EachPage(ctx,
		func(_ context.Context, p pagination.Page) (bool, error) {
			list, err := images.ExtractImages(p)
			for _, i := range list {
				names = append(names, i.Name)
			}
			return true, err
		})
	if err != nil || len(names) != 4 || names[0] != "cirros-2" {
		t.Fatalf("paged list: %v %v", names, err)
	}
	filtered, err := images.List(ic, images.ListOpts{Tags: []string{"t2"}}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if l, _ := images.ExtractImages(filtered); len(l) != 1 || l[0].ID != img.ID {
		t.Errorf("tag filter = %+v", l)
	}
	if err := images.Delete(ctx, ic, img.ID).ExtractErr(); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := images.Get(ctx, ic, img.ID).Extract(); !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		t.Fatalf("get deleted: %v", err)
	}
}

func TestImageViewAndErrors(t *testing.T) {
	t.Parallel()
	c := cloudtest.Start(t)
	tok := c.Token(t, cloudtest.Admin)
	resp := c.Do(t, "POST", c.ImageURL+"/v2/images", tok, `{"name":"v","disk_format":"qcow2","container_format":"bare","k":"v"}`)
	if resp.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", resp.Status, resp.Body)
	}
	view := resp.JSON(t)
	id := view["id"].(string)
	for _, k := range []string{"size", "virtual_size", "checksum", "os_hash_algo", "os_hash_value"} {
		if v, ok := view[k]; !ok || v != nil {
			t.Errorf("%s = %v (present %v), want null", k, v, ok)
		}
	}
	for k, want := range map[string]any{"k": "v", "self": "/v2/images/" + id, "file": "/v2/images/" + id + "/file",
		"schema": "/v2/schemas/image", "status": "queued", "visibility": "shared", "os_hidden": false} {
		if view[k] != want {
			t.Errorf("%s = %v, want %v", k, view[k], want)
		}
	}
	for _, k := range []string{"stores", "locations", "direct_url"} {
		if _, ok := view[k]; ok {
			t.Errorf("%s shown for a queued image", k)
		}
	}
	if ts := view["created_at"].(string); len(ts) != 20 || !strings.HasSuffix(ts, "Z") {
		t.Errorf("created_at = %q", ts)
	}
	patch := func(body, ct string) *cloudtest.Response {
		return c.Do(t, "PATCH", c.ImageURL+"/v2/images/"+id, tok, body, "Content-Type", ct)
	}
	v21 := "application/openstack-images-v2.1-json-patch"
	cases := []struct {
		name   string
		method string
		path   string
		body   string
		ct     string
		status int
	}{
		{"create read-only", "POST", "/v2/images", `{"status":"active"}`, "", 403},
		{"create reserved", "POST", "/v2/images", `{"os_glance_x":"1"}`, "", 403},
		{"create bad format", "POST", "/v2/images", `{"disk_format":"wrong"}`, "", 400},
		{"create bad json", "POST", "/v2/images", `{"name":`, "", 400},
		{"create property not string", "POST", "/v2/images", `{"p":1}`, "", 400},
		{"patch read-only", "PATCH", "/v2/images/" + id, `[{"op":"replace","path":"/size","value":1}]`, v21, 403},
		{"patch bad path", "PATCH", "/v2/images/" + id, `[{"op":"add","path":"/a/b","value":"1"}]`, v21, 400},
		{"patch bad op", "PATCH", "/v2/images/" + id, `[{"op":"copy","path":"/a","value":"1"}]`, v21, 400},
		{"patch wrong type", "PATCH", "/v2/images/" + id, `[{"op":"replace","path":"/name","value":"x"}]`, "application/json", 415},
		{"patch missing property", "PATCH", "/v2/images/" + id, `[{"op":"replace","path":"/nope","value":"x"}]`, v21, 409},
		{"list bad sort key", "GET", "/v2/images?sort_key=bogus", "", "", 400},
		{"list bad sort dir", "GET", "/v2/images?sort_dir=up", "", "", 400},
		{"list sort and sort_key", "GET", "/v2/images?sort=name&sort_key=name", "", "", 400},
		{"list bad limit", "GET", "/v2/images?limit=-1", "", "", 400},
		{"list bad marker", "GET", "/v2/images?marker=nope", "", "", 400},
		{"list bad visibility", "GET", "/v2/images?visibility=nope", "", "", 400},
		{"list bad time", "GET", "/v2/images?created_at=gt:yesterday", "", "", 400},
		{"get missing", "GET", "/v2/images/00000000-0000-4000-8000-000000000000", "", "", 404},
		{"reactivate queued", "POST", "/v2/images/" + id + "/actions/reactivate", "", "", 403},
		{"member of shared ok", "POST", "/v2/images/" + id + "/members", `{"member":"p1"}`, "", 200},
		{"member duplicated", "POST", "/v2/images/" + id + "/members", `{"member":"p1"}`, "", 409},
		{"member missing", "POST", "/v2/images/" + id + "/members", `{}`, "", 400},
		{"tag too long", "PUT", "/v2/images/" + id + "/tags/" + strings.Repeat("x", 256), "", "", 400},
		{"tag missing", "DELETE", "/v2/images/" + id + "/tags/none", "", "", 404},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var resp *cloudtest.Response
			if tc.ct != "" {
				resp = patch(tc.body, tc.ct)
			} else {
				var body any
				if tc.body != "" {
					body = tc.body
				}
				resp = c.Do(t, tc.method, c.ImageURL+tc.path, tok, body)
			}
			if resp.Status != tc.status {
				t.Fatalf("%s %s: %d %s, want %d", tc.method, tc.path, resp.Status, resp.Body, tc.status)
			}
			if tc.status >= 400 {
				if m, _ := resp.JSON(t)["message"].(string); m == "" {
					t.Errorf("error without message: %s", resp.Body)
				}
			}
		})
	}
	resp = patch(`[{"replace":"/name","value":"v20"},{"op":"add","path":"/min_ram","value":512}]`, v21)
	if resp.Status != http.StatusOK || resp.JSON(t)["name"] != "v20" {
		t.Fatalf("patch 2.0 + 2.1 ops: %d %s", resp.Status, resp.Body)
	}
}

func TestListResponseLinks(t *testing.T) {
	t.Parallel()
	c := cloudtest.Start(t)
	tok := c.Token(t, cloudtest.Admin)
	for _, n := range []string{"a", "b", "c"} {
		if r := c.Do(t, "POST", c.ImageURL+"/v2/images", tok, map[string]any{"name": n}); r.Status != 201 {
			t.Fatalf("create: %d %s", r.Status, r.Body)
		}
	}
	resp := c.Do(t, "GET", c.ImageURL+"/v2/images?limit=2&sort=name:asc", tok, nil)
	body := resp.JSON(t)
	if body["schema"] != "/v2/schemas/images" || !strings.HasPrefix(body["first"].(string), "/v2/images") {
		t.Errorf("links: %s", resp.Body)
	}
	next, _ := body["next"].(string)
	u, err := url.Parse(next)
	if err != nil || u.Query().Get("marker") == "" || u.Query().Get("limit") != "2" {
		t.Fatalf("next = %q", next)
	}
	resp = c.Do(t, "GET", c.ImageURL+next, tok, nil)
	body = resp.JSON(t)
	if imgs := body["images"].([]any); len(imgs) != 1 || imgs[0].(map[string]any)["name"] != "c" {
		t.Errorf("second page: %s", resp.Body)
	}
	if _, ok := body["next"]; ok {
		t.Errorf("next on the last page: %s", resp.Body)
	}
	resp = c.Do(t, "GET", c.ImageURL+"/v2/images?name=b&created_at=lte:2999-01-01T00:00:00Z", tok, nil)
	if imgs := resp.JSON(t)["images"].([]any); len(imgs) != 1 {
		t.Errorf("name + created_at filter: %s", resp.Body)
	}
}

func TestVersionsAndSchemas(t *testing.T) {
	t.Parallel()
	c := cloudtest.Start(t)
	resp := c.Do(t, "GET", c.ImageURL+"/", "", nil)
	if resp.Status != http.StatusMultipleChoices {
		t.Fatalf("GET /: %d", resp.Status)
	}
	vs := resp.JSON(t)["versions"].([]any)
	if len(vs) != 18 || vs[0].(map[string]any)["id"] != "v2.17" || vs[0].(map[string]any)["status"] != "CURRENT" {
		t.Errorf("versions: %s", resp.Body)
	}
	if r := c.Do(t, "GET", c.ImageURL+"/versions", "", nil); r.Status != http.StatusOK {
		t.Errorf("/versions: %d", r.Status)
	}
	tok := c.Token(t, cloudtest.Admin)
	for _, s := range []string{"image", "images", "member", "members"} {
		r := c.Do(t, "GET", c.ImageURL+"/v2/schemas/"+s, tok, nil)
		if r.Status != http.StatusOK || r.JSON(t)["name"] != s {
			t.Errorf("schema %s: %d %s", s, r.Status, r.Body)
		}
	}
	img := c.Do(t, "GET", c.ImageURL+"/v2/schemas/image", tok, nil).JSON(t)
	if ap := img["additionalProperties"].(map[string]any); ap["type"] != "string" {
		t.Errorf("additionalProperties = %v", ap)
	}
	if r := c.Do(t, "GET", c.ImageURL+"/v2/images", "", nil); r.Status != http.StatusUnauthorized {
		t.Errorf("no token: %d", r.Status)
	}
}

func TestMembersAcrossProjects(t *testing.T) {
	t.Parallel()
	c := cloudtest.Start(t)
	ctx := context.Background()
	adminTok := c.Token(t, cloudtest.Admin)
	ownerCreds, _ := newUser(t, c, adminTok, "owner")
	consumerCreds, consumerProject := newUser(t, c, adminTok, "consumer")
	owner := c.ImageClient(t, ownerCreds)
	consumer := c.ImageClient(t, consumerCreds)

	img, err := images.Create(ctx, owner, images.CreateOpts{Name: "shared"}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	pub := images.ImageVisibilityPublic
	if _, err := images.Update(ctx, owner, img.ID, images.UpdateOpts{images.UpdateVisibility{Visibility: pub}}).Extract(); !gophercloud.ResponseCodeIs(err, http.StatusForbidden) {
		t.Fatalf("member publicizes: %v", err)
	}
	if _, err := images.Get(ctx, consumer, img.ID).Extract(); !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		t.Fatalf("consumer sees unshared image: %v", err)
	}
	m, err := members.Create(ctx, owner, img.ID, consumerProject).Extract()
	if err != nil || m.Status != "pending" {
		t.Fatalf("add member: %v %+v", err, m)
	}
	if _, err := members.Update(ctx, owner, img.ID, consumerProject, members.UpdateOpts{Status: "accepted"}).Extract(); !gophercloud.ResponseCodeIs(err, http.StatusForbidden) {
		t.Fatalf("owner accepts: %v", err)
	}
	if _, err := members.Update(ctx, consumer, img.ID, consumerProject, members.UpdateOpts{Status: "accepted"}).Extract(); err != nil {
		t.Fatalf("consumer accepts: %v", err)
	}
	pages, err := images.List(consumer, images.ListOpts{}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if l, _ := images.ExtractImages(pages); len(l) != 1 || l[0].ID != img.ID {
		t.Errorf("consumer list = %+v", l)
	}
	if err := members.Delete(ctx, consumer, img.ID, consumerProject).ExtractErr(); !gophercloud.ResponseCodeIs(err, http.StatusForbidden) {
		t.Fatalf("consumer removes itself: %v", err)
	}
	if err := images.Delete(ctx, consumer, img.ID).ExtractErr(); !gophercloud.ResponseCodeIs(err, http.StatusForbidden) {
		t.Fatalf("consumer deletes: %v", err)
	}
	if err := members.Delete(ctx, owner, img.ID, consumerProject).ExtractErr(); err != nil {
		t.Fatalf("owner removes member: %v", err)
	}
	if _, err := images.Get(ctx, consumer, img.ID).Extract(); !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		t.Fatalf("removed member sees image: %v", err)
	}
}
