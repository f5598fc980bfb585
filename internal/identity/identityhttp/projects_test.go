package identityhttp_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/projects"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/users"

	"github.com/nimbus-cloud/nimbus/internal/cloudtest"
)

func TestProjectsAPI(t *testing.T) {
	t.Parallel()
	c := startCrudCloud(t)
	ctx := context.Background()
	parent, err := projects.Create(ctx, c.client, projects.CreateOpts{Name: "parent", Tags: []string{"team"}}).Extract()
	if err != nil {
		t.Fatalf("create project: %v", err)
	}
	if parent.DomainID != "default" || parent.ParentID != "default" || parent.IsDomain || !parent.Enabled {
		t.Fatalf("created %+v", parent)
	}
	child, err := projects.Create(ctx, c.client, projects.CreateOpts{Name: "child", ParentID: parent.ID}).Extract()
	if err != nil || child.ParentID != parent.ID {
		t.Fatalf("create child: %+v, %v", child, err)
	}

	r := c.call(t, "GET", "/projects/"+child.ID, nil)
	wantStatus(t, r, http.StatusOK, "")
	obj := r.JSON(t)["project"].(map[string]any)
	wantKeys(t, "project", obj, "id", "name", "domain_id", "parent_id", "is_domain", "enabled", "description",
		"tags", "options", "links")
	if obj["description"] != "" || len(obj["tags"].([]any)) != 0 || len(obj["options"].(map[string]any)) != 0 {
		t.Fatalf("project = %v", obj)
	}

	r = c.call(t, "GET", "/projects/"+child.ID+"?parents_as_ids", nil)
	wantStatus(t, r, http.StatusOK, "")
	parents := r.JSON(t)["project"].(map[string]any)["parents"].(map[string]any)
	if inner, _ := parents[parent.ID].(map[string]any); len(parents) != 1 || inner == nil || inner["default"] != nil {
		t.Fatalf("parents_as_ids = %v", parents)
	}
	r = c.call(t, "GET", "/projects/"+parent.ID+"?subtree_as_ids", nil)
	sub := r.JSON(t)["project"].(map[string]any)["subtree"].(map[string]any)
	if v, ok := sub[child.ID]; len(sub) != 1 || !ok || v != nil {
		t.Fatalf("subtree_as_ids = %v", sub)
	}
	r = c.call(t, "GET", "/projects/"+child.ID+"?subtree_as_ids", nil)
	if v, ok := r.JSON(t)["project"].(map[string]any)["subtree"]; !ok || v != nil {
		t.Fatalf("subtree_as_ids of a leaf = %v, want null", v)
	}
	wantStatus(t, c.call(t, "GET", "/projects/"+child.ID+"?parents_as_ids&parents_as_list", nil), 400,
		"Cannot use parents_as_list and parents_as_ids query params at the same time.")

	pages, err := projects.List(c.client, projects.ListOpts{TagsAny: "team,other"}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	list, err := projects.ExtractProjects(pages)
	if err != nil || len(list) != 1 || list[0].ID != parent.ID {
		t.Fatalf("list tags-any = %+v, %v", list, err)
	}
	r = c.call(t, "GET", "/projects?parent_id=default&name=parent", nil)
	if ps := r.JSON(t)["projects"].([]any); len(ps) != 1 {
		t.Fatalf("top-level projects named parent = %v", ps)
	}

	wantStatus(t, c.call(t, "DELETE", "/projects/"+parent.ID, nil), 403, "since it is not a leaf in the hierarchy")
	wantStatus(t, c.call(t, "PATCH", "/projects/"+child.ID, map[string]any{"project": map[string]any{"parent_id": "default"}}),
		403, "Update of `parent_id` is not allowed.")
	wantStatus(t, c.call(t, "PATCH", "/projects/"+parent.ID, map[string]any{"project": map[string]any{"enabled": false}}),
		403, "since its subtree contains enabled projects")
	desc := "renamed"
	up, err := projects.Update(ctx, c.client, child.ID, projects.UpdateOpts{Name: "kid", Description: &desc}).Extract()
	if err != nil || up.Name != "kid" || up.Description != "renamed" {
		t.Fatalf("update: %+v, %v", up, err)
	}
	if err := projects.Delete(ctx, c.client, child.ID).ExtractErr(); err != nil {
		t.Fatalf("delete child: %v", err)
	}
	wantStatus(t, c.call(t, "GET", "/projects/"+child.ID, nil), 404, "Could not find project: "+child.ID+".")
}

func TestProjectTagsAPI(t *testing.T) {
	t.Parallel()
	c := startCrudCloud(t)
	ctx := context.Background()
	p, err := projects.Create(ctx, c.client, projects.CreateOpts{Name: "tagged"}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	base := "/projects/" + p.ID + "/tags"
	r := c.call(t, "PUT", base+"/blue", nil)
	wantStatus(t, r, http.StatusCreated, "")
	if loc := r.Header.Get("Location"); loc != c.IdentityURL+base+"/blue" {
		t.Fatalf("Location = %q", loc)
	}
	wantStatus(t, c.call(t, "PUT", base+"/blue", nil), 400, "must be unique")
	wantStatus(t, c.call(t, "GET", base+"/blue", nil), http.StatusNoContent, "")
	wantStatus(t, c.call(t, "HEAD", base+"/blue", nil), http.StatusNoContent, "")
	wantStatus(t, c.call(t, "GET", base+"/green", nil), 404, "Could not find project tag: green.")

	if _, err := projects.ModifyTags(ctx, c.client, p.ID, projects.ModifyTagsOpts{Tags: []string{"a", "b"}}).Extract(); err != nil {
		t.Fatalf("modify tags: %v", err)
	}
	tags, err := projects.ListTags(ctx, c.client, p.ID).Extract()
	if err != nil || !slices.Equal(tags.Tags, []string{"a", "b"}) {
		t.Fatalf("tags after modifying = %+v, %v", tags, err)
	}
	r = c.call(t, "GET", base, nil)
	wantStatus(t, r, http.StatusOK, "")
	body := r.JSON(t)
	wantKeys(t, "tags body", body, "tags", "links")
	wantStatus(t, c.call(t, "PUT", base, map[string]any{"tags": []string{"x/y"}}), 400, "does not match")
	wantStatus(t, c.call(t, "PUT", base, map[string]any{}), 400, "'tags' is a required property")
	wantStatus(t, c.call(t, "DELETE", base+"/a", nil), http.StatusNoContent, "")
	if err := projects.DeleteTags(ctx, c.client, p.ID).ExtractErr(); err != nil {
		t.Fatalf("delete tags: %v", err)
	}
	tags, err = projects.ListTags(ctx, c.client, p.ID).Extract()
	if err != nil || len(tags.Tags) != 0 {
		t.Fatalf("tags after deleting all = %v, %v", tags, err)
	}
}

func TestProjectsBadInput(t *testing.T) {
	t.Parallel()
	c := startCrudCloud(t)
	cases := []struct {
		name   string
		body   any
		status int
		msg    string
	}{
		{"missing name", map[string]any{"project": map[string]any{}}, 400, "'name' is a required property"},
		{"name too long", map[string]any{"project": map[string]any{"name": strings.Repeat("p", 65)}}, 400, "is too long"},
		{"tags not strings", map[string]any{"project": map[string]any{"name": "x", "tags": []any{1}}}, 400, "'tags'"},
		{"duplicate", map[string]any{"project": map[string]any{"name": "admin"}}, 409,
			"it is not permitted to have two projects with either the same name or same id in the same domain: name is admin"},
		{"unknown parent", map[string]any{"project": map[string]any{"name": "x", "parent_id": "nope"}}, 400, "Could not find project: nope."},
		{"unknown domain", map[string]any{"project": map[string]any{"name": "x", "domain_id": "nope"}}, 400, "Could not find domain: nope."},
		{"unknown option", map[string]any{"project": map[string]any{"name": "x", "options": map[string]any{"x": 1}}}, 400, "'x' was unexpected"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			wantStatus(t, c.call(t, "POST", "/projects", tc.body), tc.status, tc.msg)
		})
	}
}

func TestAuthAndUserProjectsAPI(t *testing.T) {
	t.Parallel()
	c := startCrudCloud(t)
	ctx := context.Background()
	pages, err := projects.ListAvailable(c.client).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ps, err := projects.ExtractProjects(pages)
	if err != nil || len(ps) != 1 || ps[0].Name != "admin" {
		t.Fatalf("available projects = %+v, %v", ps, err)
	}
	r := c.call(t, "GET", "/users?name=admin", nil)
	adminID := r.JSON(t)["users"].([]any)[0].(map[string]any)["id"].(string)
	pages, err = users.ListProjects(c.client, adminID).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ps, err = projects.ExtractProjects(pages); err != nil || len(ps) != 1 || ps[0].Name != "admin" {
		t.Fatalf("projects of the admin = %+v, %v", ps, err)
	}
	wantStatus(t, c.call(t, "GET", "/users/nobody/projects", nil), 404, "Could not find user: nobody.")
}

func TestListLimitTruncates(t *testing.T) {
	t.Parallel()
	c := cloudtest.Start(t, cloudtest.WithOption("identity.list_limit", "1"))
	r := c.Do(t, "GET", c.IdentityURL+"/projects", c.Token(t, cloudtest.Admin), nil)
	wantStatus(t, r, http.StatusOK, "")
	body := r.JSON(t)
	if n := len(body["projects"].([]any)); n != 1 || body["truncated"] != true {
		t.Fatalf("with list_limit 1: %d projects, truncated %v", n, body["truncated"])
	}
}
