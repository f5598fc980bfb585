package computehttp_test

import (
	"context"
	"net/http"
	"slices"
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servergroups"

	"github.com/nimbus-cloud/nimbus/internal/cloudtest"
)

func TestServerGroupsWithGophercloud(t *testing.T) {
	t.Parallel()
	c := cloudtest.Start(t)
	cc := c.ComputeClient(t, cloudtest.Admin)
	ctx := context.Background()
	cc.Microversion = "2.64"
	g, err := servergroups.Create(ctx, cc, servergroups.CreateOpts{Name: "web", Policy: "anti-affinity",
		Rules: &servergroups.Rules{MaxServerPerHost: 3}}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if g.Policy == nil || *g.Policy != "anti-affinity" || g.Rules == nil || g.Rules.MaxServerPerHost != 3 ||
		len(g.Members) != 0 || g.ProjectID == "" || g.UserID == "" {
		t.Errorf("created %+v", g)
	}
	got, err := servergroups.Get(ctx, cc, g.ID).Extract()
	if err != nil || got.Name != "web" {
		t.Fatalf("get: %+v %v", got, err)
	}
	cc.Microversion = "2.1"
	old, err := servergroups.Create(ctx, cc, servergroups.CreateOpts{Name: "db", Policies: []string{"affinity"}}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(old.Policies, []string{"affinity"}) {
		t.Errorf("policies %v", old.Policies)
	}
	pages, err := servergroups.List(cc, nil).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	all, err := servergroups.ExtractServerGroups(pages)
	if err != nil || len(all) != 2 {
		t.Fatalf("list: %v %v", all, err)
	}
	if err := servergroups.Delete(ctx, cc, g.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if _, err := servergroups.Get(ctx, cc, g.ID).Extract(); err == nil {
		t.Error("deleted group still shown")
	}
}

func TestServerGroupViewsByMicroversion(t *testing.T) {
	t.Parallel()
	c := cloudtest.Start(t)
	tok := c.Token(t, cloudtest.Admin)
	for _, tc := range []struct {
		mv       string
		body     map[string]any
		has, not []string
	}{
		{"2.1", map[string]any{"name": "a", "policies": []string{"anti-affinity"}},
			[]string{"policies", "metadata", "members"}, []string{"project_id", "policy", "rules"}},
		{"2.13", map[string]any{"name": "b", "policies": []string{"affinity"}},
			[]string{"policies", "project_id", "user_id"}, []string{"policy"}},
		{"2.15", map[string]any{"name": "c", "policies": []string{"soft-affinity"}},
			[]string{"policies"}, []string{"policy"}},
		{"2.64", map[string]any{"name": "d", "policy": "soft-anti-affinity"},
			[]string{"policy", "rules", "project_id"}, []string{"policies", "metadata"}},
	} {
		t.Run(tc.mv, func(t *testing.T) {
			resp := api(t, c, tok, tc.mv, "POST", "/os-server-groups", map[string]any{"server_group": tc.body})
			if resp.Status != http.StatusOK {
				t.Fatalf("create: %d %s", resp.Status, resp.Body)
			}
			v := obj(t, resp.JSON(t), "server_group")
			for _, k := range tc.has {
				if _, ok := v[k]; !ok {
					t.Errorf("view lacks %s: %v", k, v)
				}
			}
			for _, k := range tc.not {
				if _, ok := v[k]; ok {
					t.Errorf("view has %s: %v", k, v)
				}
			}
		})
	}
}

func TestServerGroupBadRequests(t *testing.T) {
	t.Parallel()
	c := cloudtest.Start(t)
	tok := c.Token(t, cloudtest.Admin)
	for _, tc := range []struct {
		name, mv string
		body     any
		status   int
		msg      string
	}{
		{"soft policy before 2.15", "2.14", map[string]any{"name": "x", "policies": []string{"soft-affinity"}}, 400, "'soft-affinity' is not one of"},
		{"two policies", "2.15", map[string]any{"name": "x", "policies": []string{"affinity", "anti-affinity"}}, 400, "policies"},
		{"no policies", "2.1", map[string]any{"name": "x"}, 400, "policies"},
		{"policies at 2.64", "2.64", map[string]any{"name": "x", "policies": []string{"affinity"}}, 400, "policies"},
		{"unknown policy", "2.64", map[string]any{"name": "x", "policy": "spread"}, 400, "policy"},
		{"rules on affinity", "2.64", map[string]any{"name": "x", "policy": "affinity",
			"rules": map[string]any{"max_server_per_host": 2}}, 400, "Only anti-affinity policy supports rules."},
		{"zero per host", "2.64", map[string]any{"name": "x", "policy": "anti-affinity",
			"rules": map[string]any{"max_server_per_host": 0}}, 400, "max_server_per_host"},
		{"unknown rule", "2.64", map[string]any{"name": "x", "policy": "anti-affinity",
			"rules": map[string]any{"max_servers": 2}}, 400, "max_servers"},
		{"empty name", "2.64", map[string]any{"name": "", "policy": "affinity"}, 400, "name"},
		{"long name", "2.64", map[string]any{"name": string(make([]byte, 256)), "policy": "affinity"}, 400, "name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := api(t, c, tok, tc.mv, "POST", "/os-server-groups", map[string]any{"server_group": tc.body})
			fault(t, resp, tc.status, "badRequest", tc.msg)
		})
	}
	fault(t, api(t, c, tok, "2.64", "GET", "/os-server-groups/nope", nil), 404, "itemNotFound",
		"Instance group nope could not be found.")
	fault(t, api(t, c, tok, "2.64", "DELETE", "/os-server-groups/nope", nil), 404, "itemNotFound", "nope")
	fault(t, api(t, c, tok, "2.75", "GET", "/os-server-groups?sort=name", nil), 400, "badRequest", "sort")
	fault(t, api(t, c, tok, "2.75", "GET", "/os-server-groups?limit=-1", nil), 400, "badRequest", "limit")
}

// TestServerGroupProjects: a member sees and deletes only its project's
// groups, all_projects is the admin's, and pages are limit and offset.
func TestServerGroupProjects(t *testing.T) {
	t.Parallel()
	c := cloudtest.Start(t)
	admin := c.Token(t, cloudtest.Admin)
	cr, _, _ := newUser(t, c, admin, "alice")
	alice := c.Token(t, cr)
	create := func(tok, name string) string {
		resp := api(t, c, tok, "2.64", "POST", "/os-server-groups",
			map[string]any{"server_group": map[string]any{"name": name, "policy": "affinity"}})
		if resp.Status != http.StatusOK {
			t.Fatalf("create %s: %d %s", name, resp.Status, resp.Body)
		}
		return obj(t, resp.JSON(t), "server_group")["id"].(string)
	}
	adminGroup := create(admin, "ops")
	var mine []string
	for _, n := range []string{"a1", "a2", "a3"} {
		mine = append(mine, create(alice, n))
	}
	names := func(tok, query string) []string {
		resp := api(t, c, tok, "2.64", "GET", "/os-server-groups"+query, nil)
		if resp.Status != http.StatusOK {
			t.Fatalf("list%s: %d %s", query, resp.Status, resp.Body)
		}
		var out []string
		for _, g := range resp.JSON(t)["server_groups"].([]any) {
			out = append(out, g.(map[string]any)["name"].(string))
		}
		return out
	}
	for _, tc := range []struct {
		who, query string
		want       []string
	}{
		{"alice", "", []string{"a1", "a2", "a3"}},
		{"alice", "?all_projects=True", []string{"a1", "a2", "a3"}},
		{"admin", "", []string{"ops"}},
		{"admin", "?all_projects=True", []string{"ops", "a1", "a2", "a3"}},
		{"admin", "?all_projects=True&limit=2&offset=1", []string{"a1", "a2"}},
		{"alice", "?limit=0", nil},
		{"alice", "?offset=2", []string{"a3"}},
	} {
		tok := map[string]string{"alice": alice, "admin": admin}[tc.who]
		if got := names(tok, tc.query); !slices.Equal(got, tc.want) {
			t.Errorf("%s lists%s: %v; want %v", tc.who, tc.query, got, tc.want)
		}
	}
	fault(t, api(t, c, alice, "2.64", "GET", "/os-server-groups/"+adminGroup, nil), 404, "itemNotFound", adminGroup)
	fault(t, api(t, c, alice, "2.64", "DELETE", "/os-server-groups/"+adminGroup, nil), 404, "itemNotFound", adminGroup)
	if resp := api(t, c, admin, "2.64", "GET", "/os-server-groups/"+mine[0], nil); resp.Status != http.StatusOK {
		t.Errorf("admin shows alice's group: %d %s", resp.Status, resp.Body)
	}
	if resp := api(t, c, alice, "2.64", "DELETE", "/os-server-groups/"+mine[0], nil); resp.Status != http.StatusNoContent {
		t.Errorf("alice deletes her group: %d %s", resp.Status, resp.Body)
	}
	reader, _, _ := newUser(t, c, admin, "rita", "reader")
	rt := c.Token(t, reader)
	fault(t, api(t, c, rt, "2.64", "POST", "/os-server-groups",
		map[string]any{"server_group": map[string]any{"name": "r", "policy": "affinity"}}), 403, "forbidden",
		"os_compute_api:os-server-groups:create")
	if got := names(rt, ""); got != nil {
		t.Errorf("reader lists %v in an empty project", got)
	}
}
