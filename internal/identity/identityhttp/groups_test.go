package identityhttp_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/groups"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/users"
)

func TestGroupsAPI(t *testing.T) {
	t.Parallel()
	c := startCrudCloud(t)
	ctx := context.Background()
	g, err := groups.Create(ctx, c.client, groups.CreateOpts{Name: "devs", Description: "Developers"}).Extract()
	if err != nil {
		t.Fatalf("create group: %v", err)
	}
	if g.Name != "devs" || g.DomainID != "default" || g.Description != "Developers" {
		t.Fatalf("created %+v", g)
	}
	r := c.call(t, "GET", "/groups/"+g.ID, nil)
	wantStatus(t, r, http.StatusOK, "")
	wantKeys(t, "group", r.JSON(t)["group"].(map[string]any), "id", "name", "domain_id", "description", "links")

	u, err := users.Create(ctx, c.client, users.CreateOpts{Name: "dev", Password: "dev-secret"}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if in, err := users.IsMemberOfGroup(ctx, c.client, g.ID, u.ID).Extract(); err != nil || in {
		t.Fatalf("member before adding: %v, %v", in, err)
	}
	if err := users.AddToGroup(ctx, c.client, g.ID, u.ID).ExtractErr(); err != nil {
		t.Fatalf("add to group: %v", err)
	}
	if in, err := users.IsMemberOfGroup(ctx, c.client, g.ID, u.ID).Extract(); err != nil || !in {
		t.Fatalf("member after adding: %v, %v", in, err)
	}
	wantStatus(t, c.call(t, "GET", "/groups/"+g.ID+"/users/"+u.ID, nil), http.StatusNoContent, "")

	pages, err := users.ListInGroup(c.client, g.ID, users.ListOpts{Name: "dev"}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if members, err := users.ExtractUsers(pages); err != nil || len(members) != 1 || members[0].ID != u.ID {
		t.Fatalf("members = %+v, %v", members, err)
	}
	r = c.call(t, "GET", "/users/"+u.ID+"/groups", nil)
	wantStatus(t, r, http.StatusOK, "")
	entry := r.JSON(t)["groups"].([]any)[0].(map[string]any)
	wantKeys(t, "user's group", entry, "id", "name", "domain_id", "description", "links", "membership_expires_at")
	pages, err = users.ListGroups(c.client, u.ID).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if gs, err := groups.ExtractGroups(pages); err != nil || len(gs) != 1 || gs[0].ID != g.ID {
		t.Fatalf("groups of the user = %+v, %v", gs, err)
	}

	if err := users.RemoveFromGroup(ctx, c.client, g.ID, u.ID).ExtractErr(); err != nil {
		t.Fatalf("remove from group: %v", err)
	}
	wantStatus(t, c.call(t, "DELETE", "/groups/"+g.ID+"/users/"+u.ID, nil), 404,
		"User '"+u.ID+"' not found in group '"+g.ID+"'")

	desc := ""
	up, err := groups.Update(ctx, c.client, g.ID, groups.UpdateOpts{Name: "developers", Description: &desc}).Extract()
	if err != nil || up.Name != "developers" || up.Description != "" {
		t.Fatalf("update: %+v, %v", up, err)
	}
	pages, err = groups.List(c.client, groups.ListOpts{Name: "developers"}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if gs, err := groups.ExtractGroups(pages); err != nil || len(gs) != 1 {
		t.Fatalf("list by name = %+v, %v", gs, err)
	}
	if err := groups.Delete(ctx, c.client, g.ID).ExtractErr(); err != nil {
		t.Fatalf("delete group: %v", err)
	}
	wantStatus(t, c.call(t, "GET", "/groups/"+g.ID, nil), 404, "Could not find group: "+g.ID+".")
}

func TestGroupsBadInput(t *testing.T) {
	t.Parallel()
	c := startCrudCloud(t)
	r := c.call(t, "POST", "/groups", map[string]any{"group": map[string]any{"name": "taken"}})
	wantStatus(t, r, http.StatusCreated, "")
	gid := r.JSON(t)["group"].(map[string]any)["id"].(string)
	group := func(fields map[string]any) map[string]any { return map[string]any{"group": fields} }
	cases := []struct {
		name   string
		method string
		path   string
		body   any
		status int
		msg    string
	}{
		{"missing name", "POST", "/groups", group(map[string]any{}), 400, "'name' is a required property"},
		{"name too long", "POST", "/groups", group(map[string]any{"name": strings.Repeat("g", 256)}), 400, "is too long"},
		{"description is a number", "POST", "/groups", group(map[string]any{"name": "x", "description": 1}), 400,
			"Invalid input for field 'description'"},
		{"duplicate", "POST", "/groups", group(map[string]any{"name": "taken"}), 409,
			"Conflict occurred attempting to store group - Duplicate entry found with name taken at domain ID default."},
		{"change domain", "PATCH", "/groups/" + gid, group(map[string]any{"domain_id": "other"}), 400, "Cannot change Domain ID"},
		{"unknown group", "GET", "/groups/nope", nil, 404, "Could not find group: nope."},
		{"add an unknown user", "PUT", "/groups/" + gid + "/users/nope", nil, 404, "Could not find user: nope."},
		{"add to an unknown group", "PUT", "/groups/nope/users/nope", nil, 404, "Could not find group: nope."},
		{"members of an unknown group", "GET", "/groups/nope/users", nil, 404, "Could not find group: nope."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			wantStatus(t, c.call(t, tc.method, tc.path, tc.body), tc.status, tc.msg)
		})
	}
}
