package identityhttp_test

import (
	"context"
	"net/http"
	"regexp"
	"slices"
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/domains"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/oauth1"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/policies"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/projectendpoints"

	"github.com/nimbus-cloud/nimbus/internal/cloudtest"
)

// extrasMemberToken returns a token of a new user holding only the member
// role on the admin project.
func extrasMemberToken(t *testing.T, c *crudCloud) string {
	t.Helper()
	r := c.call(t, "POST", "/users", map[string]any{"user": map[string]any{"name": "plain", "password": "plain-secret"}})
	wantStatus(t, r, http.StatusCreated, "")
	uid := r.JSON(t)["user"].(map[string]any)["id"].(string)
	r = c.call(t, "GET", "/roles?name=member", nil)
	rid := r.JSON(t)["roles"].([]any)[0].(map[string]any)["id"].(string)
	r = c.call(t, "GET", "/projects?name=admin", nil)
	pid := r.JSON(t)["projects"].([]any)[0].(map[string]any)["id"].(string)
	wantStatus(t, c.call(t, "PUT", "/projects/"+pid+"/users/"+uid+"/roles/"+rid, nil), http.StatusNoContent, "")
	return c.Token(t, cloudtest.Credentials{Username: "plain", Password: "plain-secret", ProjectName: "admin"})
}

// extrasObject returns the member key of a response's JSON object.
func extrasObject(t *testing.T, r *cloudtest.Response, key string) map[string]any {
	t.Helper()
	obj, _ := r.JSON(t)[key].(map[string]any)
	if obj == nil {
		t.Fatalf("no %q object in %s", key, r.Body)
	}
	return obj
}

// extrasCase is one request and the status and message it must get; token
// "" is the admin's.
type extrasCase struct {
	name, method, path string
	body               any
	token              string
	status             int
	msg                string
}

// runExtrasCases sends each case as a subtest.
func runExtrasCases(t *testing.T, c *crudCloud, cases []extrasCase) {
	t.Helper()
	for _, b := range cases {
		t.Run(b.name, func(t *testing.T) {
			tok := c.token
			if b.token != "" {
				tok = b.token
			}
			wantStatus(t, c.call(t, b.method, b.path, b.body, tok), b.status, b.msg)
		})
	}
}

// extrasConfiguredDomain makes a domain with an LDAP configuration and returns
// the path of its configuration.
func extrasConfiguredDomain(t *testing.T, c *crudCloud) (domainID, base string) {
	t.Helper()
	r := c.call(t, "POST", "/domains", map[string]any{"domain": map[string]any{"name": "ldap"}})
	wantStatus(t, r, http.StatusCreated, "")
	domainID = extrasObject(t, r, "domain")["id"].(string)
	base = "/domains/" + domainID + "/config"
	cfg := map[string]any{"identity": map[string]any{"driver": "ldap"},
		"ldap": map[string]any{"url": "ldap://myldap.com:389/", "user_tree_dn": "ou=Users,dc=org", "password": "pw"}}
	r = c.call(t, "PUT", base, map[string]any{"config": cfg})
	wantStatus(t, r, http.StatusCreated, "")
	got := extrasObject(t, r, "config")
	wantKeys(t, "config", got, "identity", "ldap")
	wantKeys(t, "ldap", got["ldap"].(map[string]any), "url", "user_tree_dn")
	wantStatus(t, c.call(t, "PUT", base, map[string]any{"config": cfg}), http.StatusOK, "")
	return domainID, base
}

func TestDomainConfigAPI(t *testing.T) {
	t.Parallel()
	c := startCrudCloud(t)
	did, base := extrasConfiguredDomain(t, c)
	r := c.call(t, "PATCH", base+"/identity", map[string]any{"config": map[string]any{
		"identity": map[string]any{"driver": "d2", "list_limit": 9007199254740993}}})
	wantStatus(t, r, http.StatusOK, "")
	if !regexp.MustCompile(`"list_limit":9007199254740993\b`).Match(r.Body) {
		t.Fatalf("list_limit lost its digits: %s", r.Body)
	}
	r = c.call(t, "PATCH", base+"/identity/driver", map[string]any{"config": map[string]any{"driver": "d3"}})
	wantStatus(t, r, http.StatusOK, "")
	if extrasObject(t, r, "config")["identity"].(map[string]any)["driver"] != "d3" {
		t.Fatalf("after option update: %s", r.Body)
	}
	r = c.call(t, "GET", base+"/ldap/url", nil)
	wantStatus(t, r, http.StatusOK, "")
	wantKeys(t, "option", extrasObject(t, r, "config"), "url")
	r = c.call(t, "GET", base+"/ldap", nil)
	wantStatus(t, r, http.StatusOK, "")
	wantKeys(t, "group", extrasObject(t, r, "config"), "ldap")
	if r := c.call(t, "HEAD", base, nil); r.Status != http.StatusOK || len(r.Body) != 0 {
		t.Fatalf("HEAD config = %d %q", r.Status, r.Body)
	}
	wantStatus(t, c.call(t, "DELETE", base+"/identity/driver", nil), http.StatusNoContent, "")
	wantStatus(t, c.call(t, "GET", base+"/identity/driver", nil), http.StatusNotFound,
		"Could not find option driver in group identity in domain configuration for domain "+did+".")
	wantStatus(t, c.call(t, "DELETE", base+"/identity", nil), http.StatusNoContent, "")
	wantStatus(t, c.call(t, "GET", base+"/identity", nil), http.StatusNotFound, "Could not find group identity")
	wantStatus(t, c.call(t, "DELETE", base, nil), http.StatusNoContent, "")
	wantStatus(t, c.call(t, "GET", base, nil), http.StatusNotFound, "Could not find any options")
}

func TestDomainConfigAPIBadInput(t *testing.T) {
	t.Parallel()
	c := startCrudCloud(t)
	_, base := extrasConfiguredDomain(t, c)
	member := extrasMemberToken(t, c)
	runExtrasCases(t, c, []extrasCase{
		{name: "no options", method: "PUT", path: base, body: map[string]any{"config": map[string]any{}},
			status: 403, msg: "No options specified"},
		{name: "no config member", method: "PATCH", path: base, body: map[string]any{}, status: 403, msg: "No options specified"},
		{name: "config not an object", method: "PUT", path: base, body: map[string]any{"config": "x"},
			status: 400, msg: "is not of type 'object'"},
		{name: "unsupported group", method: "PUT", path: base,
			body:   map[string]any{"config": map[string]any{"nova": map[string]any{"a": 1}}},
			status: 403, msg: "Group nova is not supported for domain specific configurations"},
		{name: "unsupported option", method: "GET", path: base + "/ldap/colour", status: 403,
			msg: "Option colour in group ldap is not supported"},
		{name: "sensitive option", method: "GET", path: base + "/ldap/password", status: 404,
			msg: "Could not find option password in group ldap"},
		{name: "missing domain", method: "GET", path: "/domains/nope/config", status: 404, msg: "Could not find domain: nope."},
		{name: "other group in body", method: "PATCH", path: base + "/ldap",
			body:   map[string]any{"config": map[string]any{"identity": map[string]any{"driver": "x"}}},
			status: 403, msg: "request to update group ldap, but config provided contains group identity instead"},
		{name: "member may not read", method: "GET", path: base, token: member, status: 403, msg: "identity:get_domain_config"},
		{name: "bad default option", method: "GET", path: "/domains/config/ldap/password/default", status: 403,
			msg: "Reading the default for option password in group ldap is not supported"},
		{name: "unknown default group", method: "GET", path: "/domains/config/nova/default", status: 404},
	})
}

func TestDomainConfigDefaultsAPI(t *testing.T) {
	t.Parallel()
	c := startCrudCloud(t)
	r := c.call(t, "GET", "/domains/config/default", nil)
	wantStatus(t, r, http.StatusOK, "")
	wantKeys(t, "default config", extrasObject(t, r, "config"), "identity", "ldap")
	r = c.call(t, "GET", "/domains/config/identity/default", nil)
	wantStatus(t, r, http.StatusOK, "")
	wantKeys(t, "identity defaults", extrasObject(t, r, "config")["identity"].(map[string]any), "driver", "list_limit")
	r = c.call(t, "GET", "/domains/config/ldap/user_tree_dn/default", nil)
	wantStatus(t, r, http.StatusOK, "")
	wantKeys(t, "option default", extrasObject(t, r, "config"), "user_tree_dn")
	r = c.call(t, "GET", "/domains/default/config/security_compliance", nil, extrasMemberToken(t, c))
	wantStatus(t, r, http.StatusOK, "")
	wantKeys(t, "security compliance", extrasObject(t, r, "config")["security_compliance"].(map[string]any),
		"password_regex", "password_regex_description")
}

// epGroups is the collection of OS-EP-FILTER endpoint groups below /v3.
const epGroups = "/OS-EP-FILTER/endpoint_groups"

// extrasEndpointGroup makes a compute service with an internal endpoint and an
// endpoint group selecting the service's endpoints, and checks its shape.
func extrasEndpointGroup(t *testing.T, c *crudCloud) (sid, eid, gid string) {
	t.Helper()
	r := c.call(t, "POST", "/services", map[string]any{"service": map[string]any{"type": "compute"}})
	sid = extrasObject(t, r, "service")["id"].(string)
	r = c.call(t, "POST", "/endpoints", map[string]any{"endpoint": map[string]any{"service_id": sid,
		"interface": "internal", "url": "http://nova"}})
	wantStatus(t, r, http.StatusCreated, "")
	eid = extrasObject(t, r, "endpoint")["id"].(string)
	r = c.call(t, "POST", epGroups, map[string]any{"endpoint_group": map[string]any{"name": "g",
		"filters": map[string]any{"service_id": sid, "region_id": nil}}})
	wantStatus(t, r, http.StatusCreated, "")
	g := extrasObject(t, r, "endpoint_group")
	wantKeys(t, "endpoint_group", g, "id", "name", "description", "filters", "links")
	gid = g["id"].(string)
	if g["description"] != nil || g["links"].(map[string]any)["self"] != c.IdentityURL+epGroups+"/"+gid {
		t.Fatalf("endpoint group = %v", g)
	}
	if f := g["filters"].(map[string]any); len(f) != 2 || f["service_id"] != sid || f["region_id"] != nil {
		t.Fatalf("filters = %v", f)
	}
	return sid, eid, gid
}

func TestEndpointGroupsAPI(t *testing.T) {
	t.Parallel()
	c := startCrudCloud(t)
	_, eid, gid := extrasEndpointGroup(t, c)
	r := c.call(t, "GET", epGroups, nil)
	wantStatus(t, r, http.StatusOK, "")
	if list := r.JSON(t)["endpoint_groups"].([]any); len(list) != 1 || list[0].(map[string]any)["id"] != gid {
		t.Fatalf("list = %s", r.Body)
	}
	if r := c.call(t, "HEAD", epGroups+"/"+gid, nil); r.Status != http.StatusOK {
		t.Fatalf("HEAD endpoint group = %d", r.Status)
	}
	r = c.call(t, "GET", epGroups+"/"+gid+"/endpoints", nil)
	wantStatus(t, r, http.StatusOK, "")
	if list := r.JSON(t)["endpoints"].([]any); len(list) != 1 || list[0].(map[string]any)["id"] != eid {
		t.Fatalf("endpoints of the group = %s", r.Body)
	}
	r = c.call(t, "PATCH", epGroups+"/"+gid, map[string]any{"endpoint_group": map[string]any{"description": "d",
		"filters": map[string]any{"interface": "public"}}})
	wantStatus(t, r, http.StatusOK, "")
	if g := extrasObject(t, r, "endpoint_group"); g["description"] != "d" || len(g["filters"].(map[string]any)) != 1 {
		t.Fatalf("updated = %v", g)
	}
	group := func(members map[string]any) map[string]any { return map[string]any{"endpoint_group": members} }
	runExtrasCases(t, c, []extrasCase{
		{name: "no name", method: "POST", path: epGroups, body: group(map[string]any{"filters": map[string]any{"interface": "public"}}),
			status: 400, msg: "'name' is a required property"},
		{name: "no filters", method: "POST", path: epGroups, body: group(map[string]any{"name": "x"}),
			status: 400, msg: "filters field is required and cannot be empty"},
		{name: "unknown filter", method: "POST", path: epGroups,
			body:   group(map[string]any{"name": "x", "filters": map[string]any{"enabled": true}}),
			status: 400, msg: "Expecting to find service_id or region_id or interface in endpoint_group."},
		{name: "bad interface", method: "POST", path: epGroups,
			body:   group(map[string]any{"name": "x", "filters": map[string]any{"interface": "x"}}),
			status: 400, msg: "is not one of ['admin', 'internal', 'public']"},
		{name: "filters not an object", method: "POST", path: epGroups, body: group(map[string]any{"name": "x", "filters": []string{}}),
			status: 400, msg: "is not of type 'object'"},
		{name: "unknown member", method: "PATCH", path: epGroups + "/" + gid, body: group(map[string]any{"id": "x"}),
			status: 400, msg: "Additional properties are not allowed ('id' was unexpected)"},
		{name: "empty update", method: "PATCH", path: epGroups + "/" + gid, body: group(map[string]any{}),
			status: 400, msg: "does not have enough properties"},
		{name: "missing group", method: "GET", path: epGroups + "/nope", status: 404, msg: "Could not find Endpoint Group: nope."},
		{name: "member may not create", method: "POST", path: epGroups, token: extrasMemberToken(t, c),
			body:   group(map[string]any{"name": "x", "filters": map[string]any{"interface": "public"}}),
			status: 403, msg: "identity:create_endpoint_group"},
	})
	wantStatus(t, c.call(t, "DELETE", epGroups+"/"+gid, nil), http.StatusNoContent, "")
	wantStatus(t, c.call(t, "GET", epGroups+"/"+gid, nil), http.StatusNotFound, "Could not find Endpoint Group")
}

func TestEndpointFilterProjectsAPI(t *testing.T) {
	t.Parallel()
	c := startCrudCloud(t)
	_, eid, gid := extrasEndpointGroup(t, c)
	r := c.call(t, "GET", "/projects?name=admin", nil)
	pid := r.JSON(t)["projects"].([]any)[0].(map[string]any)["id"].(string)
	assoc := epGroups + "/" + gid + "/projects/" + pid
	wantStatus(t, c.call(t, "PUT", assoc, nil), http.StatusNoContent, "")
	r = c.call(t, "GET", assoc, nil)
	wantStatus(t, r, http.StatusOK, "")
	wantKeys(t, "project_endpoint_group", extrasObject(t, r, "project_endpoint_group"), "endpoint_group_id", "project_id", "links")
	r = c.call(t, "GET", epGroups+"/"+gid+"/projects", nil)
	if list := r.JSON(t)["projects"].([]any); len(list) != 1 || list[0].(map[string]any)["id"] != pid {
		t.Fatalf("projects of the group = %s", r.Body)
	}
	r = c.call(t, "GET", "/OS-EP-FILTER/projects/"+pid+"/endpoint_groups", nil)
	if list := r.JSON(t)["endpoint_groups"].([]any); len(list) != 1 {
		t.Fatalf("groups of the project = %s", r.Body)
	}

	ctx := context.Background()
	if err := projectendpoints.Create(ctx, c.client, pid, eid).ExtractErr(); err != nil {
		t.Fatalf("gophercloud project endpoint create: %v", err)
	}
	wantStatus(t, c.call(t, "HEAD", "/OS-EP-FILTER/projects/"+pid+"/endpoints/"+eid, nil), http.StatusNoContent, "")
	pages, err := projectendpoints.List(c.client, pid).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	eps, err := projectendpoints.ExtractEndpoints(pages)
	if err != nil || len(eps) != 1 || eps[0].ID != eid {
		t.Fatalf("gophercloud project endpoints = %+v, %v", eps, err)
	}
	r = c.call(t, "GET", "/OS-EP-FILTER/endpoints/"+eid+"/projects", nil)
	if list := r.JSON(t)["projects"].([]any); len(list) != 1 {
		t.Fatalf("projects of the endpoint = %s", r.Body)
	}
	if err := projectendpoints.Delete(ctx, c.client, pid, eid).ExtractErr(); err != nil {
		t.Fatalf("gophercloud project endpoint delete: %v", err)
	}
	runExtrasCases(t, c, []extrasCase{
		{name: "association twice", method: "PUT", path: assoc, status: 409, msg: "Duplicate entry"},
		{name: "missing project", method: "PUT", path: epGroups + "/" + gid + "/projects/nope", status: 404,
			msg: "Could not find project: nope."},
		{name: "missing endpoint", method: "PUT", path: "/OS-EP-FILTER/projects/" + pid + "/endpoints/nope", status: 404,
			msg: "Could not find endpoint: nope."},
		{name: "endpoint not in project", method: "GET", path: "/OS-EP-FILTER/projects/" + pid + "/endpoints/" + eid,
			status: 404, msg: "Endpoint " + eid + " not found in project " + pid},
	})
	wantStatus(t, c.call(t, "DELETE", assoc, nil), http.StatusNoContent, "")
	wantStatus(t, c.call(t, "GET", assoc, nil), http.StatusNotFound, "Endpoint Group Project Association not found")
}

func TestPoliciesAPI(t *testing.T) {
	t.Parallel()
	c := startCrudCloud(t)
	ctx := context.Background()
	p, err := policies.Create(ctx, c.client, policies.CreateOpts{Type: "application/json", Blob: []byte(`{"a": "b"}`),
		Extra: map[string]any{"owner": "ops"}}).Extract()
	if err != nil {
		t.Fatalf("gophercloud policy create: %v", err)
	}
	if p.Blob != `{"a": "b"}` || p.Extra["owner"] != "ops" || len(p.ID) != 32 {
		t.Fatalf("created %+v", p)
	}
	r := c.call(t, "GET", "/policies/"+p.ID, nil)
	wantStatus(t, r, http.StatusOK, "")
	wantKeys(t, "policy", extrasObject(t, r, "policy"), "id", "type", "blob", "owner", "links")
	up, err := policies.Update(ctx, c.client, p.ID, policies.UpdateOpts{Type: "text/plain"}).Extract()
	if err != nil || up.Type != "text/plain" || up.Blob != p.Blob {
		t.Fatalf("gophercloud policy update = %+v, %v", up, err)
	}
	pages, err := policies.List(c.client, policies.ListOpts{Type: "text/plain"}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if list, err := policies.ExtractPolicies(pages); err != nil || len(list) != 1 || list[0].ID != p.ID {
		t.Fatalf("gophercloud policy list = %+v, %v", list, err)
	}
	runExtrasCases(t, c, []extrasCase{
		{name: "no blob", method: "POST", path: "/policies", body: map[string]any{"policy": map[string]any{"type": "x"}},
			status: 400, msg: "'blob' is a required property"},
		{name: "no type", method: "POST", path: "/policies", body: map[string]any{"policy": map[string]any{"blob": "x"}},
			status: 400, msg: "'type' is a required property"},
		{name: "blob not a string", method: "POST", path: "/policies",
			body: map[string]any{"policy": map[string]any{"blob": 1, "type": "x"}}, status: 400, msg: "Invalid input for field 'blob'"},
		{name: "new id", method: "PATCH", path: "/policies/" + p.ID, body: map[string]any{"policy": map[string]any{"id": "other"}},
			status: 400, msg: "Cannot change policy ID"},
		{name: "empty update", method: "PATCH", path: "/policies/" + p.ID, body: map[string]any{"policy": map[string]any{}},
			status: 400, msg: "does not have enough properties"},
		{name: "missing", method: "GET", path: "/policies/nope", status: 404, msg: "Could not find policy: nope."},
		{name: "member may not list", method: "GET", path: "/policies", token: extrasMemberToken(t, c),
			status: 403, msg: "identity:list_policies"},
	})
	if err := policies.Delete(ctx, c.client, p.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, c.call(t, "GET", "/policies/"+p.ID, nil), http.StatusNotFound, "Could not find policy")
}

func TestConsumersAPI(t *testing.T) {
	t.Parallel()
	c := startCrudCloud(t)
	ctx := context.Background()
	created, err := oauth1.CreateConsumer(ctx, c.client, oauth1.CreateConsumerOpts{Description: "app"}).Extract()
	if err != nil {
		t.Fatalf("gophercloud consumer create: %v", err)
	}
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(created.Secret) || created.Description != "app" {
		t.Fatalf("created %+v", created)
	}
	got, err := oauth1.GetConsumer(ctx, c.client, created.ID).Extract()
	if err != nil || got.Secret != "" || got.Description != "app" {
		t.Fatalf("gophercloud consumer get = %+v, %v", got, err)
	}
	r := c.call(t, "GET", "/OS-OAUTH1/consumers/"+created.ID, nil)
	wantKeys(t, "consumer", extrasObject(t, r, "consumer"), "id", "description", "links")
	up, err := oauth1.UpdateConsumer(ctx, c.client, created.ID, oauth1.UpdateConsumerOpts{Description: "renamed"}).Extract()
	if err != nil || up.Description != "renamed" || up.Secret != "" {
		t.Fatalf("gophercloud consumer update = %+v, %v", up, err)
	}
	r = c.call(t, "POST", "/OS-OAUTH1/consumers", map[string]any{})
	wantStatus(t, r, http.StatusCreated, "")
	if obj := extrasObject(t, r, "consumer"); obj["description"] != nil || obj["secret"] == nil {
		t.Fatalf("consumer made of nothing = %v", obj)
	}
	pages, err := oauth1.ListConsumers(c.client).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	list, err := oauth1.ExtractConsumers(pages)
	if err != nil || len(list) != 2 || slices.ContainsFunc(list, func(x oauth1.Consumer) bool { return x.Secret != "" }) {
		t.Fatalf("gophercloud consumer list = %+v, %v", list, err)
	}
	path := "/OS-OAUTH1/consumers/" + created.ID
	consumer := func(members map[string]any) map[string]any { return map[string]any{"consumer": members} }
	runExtrasCases(t, c, []extrasCase{
		{name: "new secret", method: "PATCH", path: path, body: consumer(map[string]any{"secret": "x"}), status: 400, msg: "secret"},
		{name: "new id", method: "PATCH", path: path, body: consumer(map[string]any{"id": "x"}), status: 400, msg: "Cannot change ID"},
		{name: "empty update", method: "PATCH", path: path, body: consumer(map[string]any{}), status: 400,
			msg: "does not have enough properties"},
		{name: "no consumer member", method: "PATCH", path: path, body: map[string]any{}, status: 400,
			msg: "'consumer' is a required property"},
		{name: "description not a string", method: "PATCH", path: path, body: consumer(map[string]any{"description": 1}),
			status: 400, msg: "Invalid input for field 'description'"},
		{name: "missing", method: "GET", path: "/OS-OAUTH1/consumers/nope", status: 404, msg: "Consumer not found"},
	})
	if err := oauth1.DeleteConsumer(ctx, c.client, created.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, c.call(t, "GET", path, nil), http.StatusNotFound, "Consumer not found")
}

func TestDomainProjectAPI(t *testing.T) {
	t.Parallel()
	c := startCrudCloud(t)
	r := c.call(t, "POST", "/projects", map[string]any{"project": map[string]any{"name": "acting", "is_domain": true,
		"domain_id": nil, "description": "d"}})
	wantStatus(t, r, http.StatusCreated, "")
	p := extrasObject(t, r, "project")
	wantKeys(t, "project", p, "id", "name", "domain_id", "parent_id", "is_domain", "enabled", "description",
		"tags", "options", "links")
	id := p["id"].(string)
	if p["is_domain"] != true || p["domain_id"] != nil || p["parent_id"] != nil || p["links"].(map[string]any)["self"] != c.IdentityURL+"/projects/"+id {
		t.Fatalf("project acting as a domain = %v", p)
	}
	r = c.call(t, "GET", "/projects?is_domain=true", nil)
	wantStatus(t, r, http.StatusOK, "")
	var ids []string
	for _, x := range r.JSON(t)["projects"].([]any) {
		ids = append(ids, x.(map[string]any)["id"].(string))
	}
	if !slices.Contains(ids, id) || !slices.Contains(ids, "default") {
		t.Fatalf("projects acting as domains = %v", ids)
	}
	r = c.call(t, "GET", "/projects", nil)
	for _, x := range r.JSON(t)["projects"].([]any) {
		if x.(map[string]any)["id"] == id {
			t.Fatal("a domain is listed among the projects")
		}
	}
	d, err := domains.Get(context.Background(), c.client, id).Extract()
	if err != nil || d.Name != "acting" || d.Description != "d" {
		t.Fatalf("the domain = %+v, %v", d, err)
	}
	r = c.call(t, "GET", "/projects/"+id, nil)
	wantStatus(t, r, http.StatusOK, "")
	if extrasObject(t, r, "project")["is_domain"] != true {
		t.Fatalf("show = %s", r.Body)
	}
	wantStatus(t, c.call(t, "DELETE", "/projects/"+id, nil), http.StatusForbidden, "Cannot delete a domain that is enabled")
	wantStatus(t, c.call(t, "PATCH", "/projects/"+id, map[string]any{"project": map[string]any{"is_domain": false}}),
		http.StatusBadRequest, "Update of `is_domain` is not allowed.")
	r = c.call(t, "PATCH", "/projects/"+id, map[string]any{"project": map[string]any{"enabled": false}})
	wantStatus(t, r, http.StatusOK, "")
	if obj := extrasObject(t, r, "project"); obj["enabled"] != false || obj["is_domain"] != true {
		t.Fatalf("disabled = %v", obj)
	}
	wantStatus(t, c.call(t, "DELETE", "/projects/"+id, nil), http.StatusNoContent, "")
	wantStatus(t, c.call(t, "GET", "/projects/"+id, nil), http.StatusNotFound, "Could not find project: "+id+".")
	wantStatus(t, c.call(t, "GET", "/domains/"+id, nil), http.StatusNotFound, "Could not find domain")

	wantStatus(t, c.call(t, "POST", "/projects", map[string]any{"project": map[string]any{"name": "x", "is_domain": true,
		"domain_id": "default"}}), http.StatusBadRequest, "only root projects are allowed to act as domains.")
	wantStatus(t, c.call(t, "POST", "/projects", map[string]any{"project": map[string]any{"name": "Default", "is_domain": true}}),
		http.StatusConflict, "it is not permitted to have two projects acting as domains with the same name: Default.")
	member := extrasMemberToken(t, c)
	wantStatus(t, c.call(t, "POST", "/projects", map[string]any{"project": map[string]any{"name": "y", "is_domain": true}}, member),
		http.StatusForbidden, "identity:create_project")
}
