package placementhttp_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/placement/v1/allocationcandidates"
	"github.com/gophercloud/gophercloud/v2/openstack/placement/v1/allocations"
	"github.com/gophercloud/gophercloud/v2/openstack/placement/v1/resourceclasses"
	"github.com/gophercloud/gophercloud/v2/openstack/placement/v1/resourceproviders"
	"github.com/gophercloud/gophercloud/v2/openstack/placement/v1/traits"
	"github.com/gophercloud/gophercloud/v2/openstack/placement/v1/usages"

	"github.com/nimbus-cloud/nimbus/internal/cloudtest"
)

// placementCloud is a test cloud with a gophercloud placement client at
// the newest microversion and a raw admin token.
type placementCloud struct {
	*cloudtest.Cloud
	sc  *gophercloud.ServiceClient
	tok string
}

func startPlacement(t *testing.T) *placementCloud {
	t.Helper()
	c := cloudtest.Start(t)
	sc := c.PlacementClient(t, cloudtest.Admin)
	sc.Microversion = "1.39"
	return &placementCloud{Cloud: c, sc: sc, tok: c.Token(t, cloudtest.Admin)}
}

// call sends a raw request at a microversion ("" for none).
func (c *placementCloud) call(t *testing.T, method, path, version string, body any, headers ...string) *cloudtest.Response {
	t.Helper()
	if version != "" {
		headers = append(headers, "OpenStack-API-Version", "placement "+version)
	}
	return c.Do(t, method, c.PlacementURL+path, c.tok, body, headers...)
}

// errorOf decodes placement's error body.
func errorOf(t *testing.T, r *cloudtest.Response) map[string]any {
	t.Helper()
	var body struct {
		Errors []map[string]any `json:"errors"`
	}
	if err := json.Unmarshal(r.Body, &body); err != nil || len(body.Errors) != 1 {
		t.Fatalf("not a placement error body (%v): %s", err, r.Body)
	}
	return body.Errors[0]
}

func TestProvidersWithGophercloud(t *testing.T) {
	t.Parallel()
	c := startPlacement(t)
	ctx := context.Background()
	root, err := resourceproviders.Create(ctx, c.sc, resourceproviders.CreateOpts{Name: "cn1"}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	child, err := resourceproviders.Create(ctx, c.sc, resourceproviders.CreateOpts{Name: "numa0",
		ParentProviderUUID: root.UUID}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if child.RootProviderUUID != root.UUID || child.ParentProviderUUID != root.UUID {
		t.Errorf("child %+v: want parent and root %s", child, root.UUID)
	}
	inv, err := resourceproviders.UpdateInventories(ctx, c.sc, root.UUID, resourceproviders.UpdateInventoriesOpts{
		ResourceProviderGeneration: root.Generation,
		Inventories: map[string]resourceproviders.Inventory{
			"VCPU":      {Total: 8, AllocationRatio: 4, MaxUnit: 8, MinUnit: 1, StepSize: 1},
			"MEMORY_MB": {Total: 4096, AllocationRatio: 1, MaxUnit: 4096, MinUnit: 1, StepSize: 1, Reserved: 512},
		}}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if inv.ResourceProviderGeneration != 1 || inv.Inventories["VCPU"].Total != 8 {
		t.Errorf("inventories %+v", inv)
	}
	_, err = resourceproviders.UpdateTraits(ctx, c.sc, root.UUID, resourceproviders.UpdateTraitsOpts{
		ResourceProviderGeneration: 1, Traits: []string{"HW_CPU_X86_AVX2"}}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	pages, err := resourceproviders.List(c.sc, resourceproviders.ListOpts{Resources: "VCPU:8", Required: "HW_CPU_X86_AVX2"}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	list, _ := resourceproviders.ExtractResourceProviders(pages)
	if len(list) != 1 || list[0].UUID != root.UUID {
		t.Errorf("providers with room for 8 VCPU and AVX2: %+v", list)
	}
	got, err := resourceproviders.Get(ctx, c.sc, root.UUID).Extract()
	if err != nil || got.Generation != 2 {
		t.Errorf("provider generation %d after inventory and traits (err %v), want 2", got.Generation, err)
	}
	two := 2
	aggs, err := resourceproviders.UpdateAggregates(ctx, c.sc, root.UUID, resourceproviders.UpdateAggregatesOpts{
		ResourceProviderGeneration: &two, Aggregates: []string{"2b5a8e6a-1c5e-4c44-9dbb-0a6e07c4a1aa"}}).Extract()
	if err != nil || aggs.ResourceProviderGeneration == nil || *aggs.ResourceProviderGeneration != 3 {
		t.Errorf("aggregates %+v (err %v): want generation 3", aggs, err)
	}
	// A parent with children cannot go; the child can.
	if err := resourceproviders.Delete(ctx, c.sc, root.UUID).ExtractErr(); !gophercloud.ResponseCodeIs(err, http.StatusConflict) {
		t.Errorf("delete parent: %v, want 409", err)
	}
	if err := resourceproviders.Delete(ctx, c.sc, child.UUID).ExtractErr(); err != nil {
		t.Errorf("delete child: %v", err)
	}
}

func TestAllocationsWithGophercloud(t *testing.T) {
	t.Parallel()
	c := startPlacement(t)
	ctx := context.Background()
	rp, err := resourceproviders.Create(ctx, c.sc, resourceproviders.CreateOpts{Name: "cn1"}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := resourceproviders.UpdateInventories(ctx, c.sc, rp.UUID, resourceproviders.UpdateInventoriesOpts{
		Inventories: map[string]resourceproviders.Inventory{"VCPU": {Total: 4, AllocationRatio: 1, MaxUnit: 4, MinUnit: 1, StepSize: 1}},
	}).Extract(); err != nil {
		t.Fatal(err)
	}
	consumer := "6e6fdd4e-4cc4-4d3a-8f7e-2f79e1e1f001"
	claim := allocations.UpdateOpts{ProjectID: "p1", UserID: "u1", ConsumerType: "INSTANCE",
		Allocations: map[string]allocations.ProviderAllocationsOpts{rp.UUID: {Resources: map[string]int{"VCPU": 3}}}}
	if err := allocations.Update(ctx, c.sc, consumer, claim).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	got, err := allocations.Get(ctx, c.sc, consumer).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if got.ConsumerGeneration == nil || *got.ConsumerGeneration != 1 || got.Allocations[rp.UUID].Resources["VCPU"] != 3 ||
		*got.ConsumerType != "INSTANCE" {
		t.Errorf("allocations %+v", got)
	}
	// Another consumer cannot take more than is left.
	other := claim
	other.Allocations = map[string]allocations.ProviderAllocationsOpts{rp.UUID: {Resources: map[string]int{"VCPU": 2}}}
	err = allocations.Update(ctx, c.sc, "6e6fdd4e-4cc4-4d3a-8f7e-2f79e1e1f002", other).ExtractErr()
	if !gophercloud.ResponseCodeIs(err, http.StatusConflict) {
		t.Errorf("over capacity: %v, want 409", err)
	}
	// A stale consumer generation is a concurrent update.
	err = allocations.Update(ctx, c.sc, consumer, claim).ExtractErr()
	if !gophercloud.ResponseCodeIs(err, http.StatusConflict) {
		t.Errorf("null generation for an existing consumer: %v, want 409", err)
	}
	use, err := usages.Get(ctx, c.sc, usages.GetOpts{ProjectID: "p1"}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if use.Usages["INSTANCE"]["consumer_count"] != 1 || use.Usages["INSTANCE"]["VCPU"] != 3 {
		t.Errorf("usages %+v", use.Usages)
	}
	cands, err := allocationcandidates.List(c.sc, allocationcandidates.ListOpts{Resources: "VCPU:1"}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ac, err := allocationcandidates.ExtractAllocationCandidates(cands)
	if err != nil {
		t.Fatal(err)
	}
	if len(ac.AllocationRequests) != 1 || ac.ProviderSummaries[rp.UUID].Resources["VCPU"].Used != 3 {
		t.Errorf("allocation candidates %+v", ac)
	}
	if err := allocations.Delete(ctx, c.sc, consumer).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	pu, err := resourceproviders.GetUsages(ctx, c.sc, rp.UUID).Extract()
	if err != nil || pu.Usages["VCPU"] != 0 {
		t.Errorf("usage after delete: %+v (err %v)", pu, err)
	}
}

func TestClassesAndTraitsWithGophercloud(t *testing.T) {
	t.Parallel()
	c := startPlacement(t)
	ctx := context.Background()
	if err := resourceclasses.Create(ctx, c.sc, resourceclasses.CreateOpts{Name: "CUSTOM_FPGA_X"}).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	rc, err := resourceclasses.Get(ctx, c.sc, "CUSTOM_FPGA_X").Extract()
	if err != nil || rc.Name != "CUSTOM_FPGA_X" {
		t.Errorf("class %+v (err %v)", rc, err)
	}
	pages, err := resourceclasses.List(c.sc).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rcs, _ := resourceclasses.ExtractResourceClasses(pages)
	if len(rcs) < 22 || rcs[0].Name != "VCPU" {
		t.Errorf("%d classes, first %+v", len(rcs), rcs[0])
	}
	if err := traits.Create(ctx, c.sc, "CUSTOM_RAID").ExtractErr(); err != nil {
		t.Fatal(err)
	}
	tp, err := traits.List(c.sc, traits.ListOpts{Name: "startswith:CUSTOM_"}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ts, _ := traits.ExtractTraits(tp)
	if len(ts) != 1 || ts[0] != "CUSTOM_RAID" {
		t.Errorf("custom traits %v", ts)
	}
	if err := traits.Delete(ctx, c.sc, "HW_CPU_X86_AVX2").ExtractErr(); !gophercloud.ResponseCodeIs(err, http.StatusBadRequest) {
		t.Errorf("delete a standard trait: %v, want 400", err)
	}
}

func TestRootAndMicroversions(t *testing.T) {
	t.Parallel()
	c := startPlacement(t)
	r := c.Do(t, "GET", c.PlacementURL+"/", "", nil)
	if r.Status != 200 || !strings.Contains(string(r.Body), `"max_version":"1.39"`) {
		t.Fatalf("root without a token: %d %s", r.Status, r.Body)
	}
	r = c.call(t, "GET", "/", "1.40", nil)
	e := errorOf(t, r)
	if r.Status != 406 || e["max_version"] != "1.39" || e["min_version"] != "1.0" {
		t.Errorf("version 1.40: %d %v", r.Status, e)
	}
	if r = c.call(t, "GET", "/", "pony", nil); r.Status != 400 {
		t.Errorf("malformed version: %d", r.Status)
	}
	r = c.call(t, "GET", "/resource_providers", "1.39", nil)
	if r.Header.Get("OpenStack-API-Version") != "placement 1.39" || r.Header.Get("Cache-Control") != "no-cache" ||
		r.Header.Get("Last-Modified") == "" {
		t.Errorf("1.39 headers: %v", r.Header)
	}
	// Routes below their microversion do not exist.
	if r = c.call(t, "GET", "/traits", "1.5", nil); r.Status != 404 {
		t.Errorf("GET /traits at 1.5: %d", r.Status)
	}
	if r = c.call(t, "DELETE", "/resource_providers/8d0a1d4e-0000-4000-8000-000000000001/inventories", "1.4", nil); r.Status != 405 {
		t.Errorf("DELETE inventories at 1.4: %d", r.Status)
	}
	r = c.call(t, "PATCH", "/resource_providers", "1.39", nil)
	if r.Status != 405 || r.Header.Get("Allow") != "GET, POST" {
		t.Errorf("PATCH /resource_providers: %d, Allow %q", r.Status, r.Header.Get("Allow"))
	}
	if r = c.Do(t, "GET", c.PlacementURL+"/resource_providers", "", nil); r.Status != 401 {
		t.Errorf("no token: %d", r.Status)
	}
}

func TestErrorBodies(t *testing.T) {
	t.Parallel()
	c := startPlacement(t)
	r := c.call(t, "POST", "/resource_providers", "1.20", map[string]any{"name": "cn1", "extra": 1})
	e := errorOf(t, r)
	if r.Status != 400 || !strings.Contains(e["detail"].(string), "Additional properties are not allowed ('extra' was unexpected)") {
		t.Errorf("extra property: %d %v", r.Status, e)
	}
	if _, ok := e["code"]; ok {
		t.Errorf("error at 1.20 has a code: %v", e)
	}
	r = c.call(t, "POST", "/resource_providers", "1.23", map[string]any{"name": "cn1"})
	uuid := r.JSON(t)["uuid"].(string)
	r = c.call(t, "POST", "/resource_providers", "1.23", map[string]any{"name": "cn1"})
	if e := errorOf(t, r); r.Status != 409 || e["code"] != "placement.duplicate_name" || e["request_id"] == "" {
		t.Errorf("duplicate name: %d %v", r.Status, e)
	}
	r = c.call(t, "PUT", "/resource_providers/"+uuid+"/inventories", "1.23",
		map[string]any{"resource_provider_generation": 7, "inventories": map[string]any{"VCPU": map[string]any{"total": 1}}})
	if e := errorOf(t, r); r.Status != 409 || e["code"] != "placement.concurrent_update" {
		t.Errorf("stale generation: %d %v", r.Status, e)
	}
	r = c.call(t, "PUT", "/resource_providers/"+uuid+"/inventories", "1.23",
		map[string]any{"resource_provider_generation": 0, "inventories": map[string]any{"VCPU": map[string]any{"total": 0}}})
	if e := errorOf(t, r); r.Status != 400 || !strings.Contains(e["detail"].(string), "0 is less than the minimum of 1") {
		t.Errorf("total 0: %d %v", r.Status, e)
	}
	r = c.call(t, "GET", "/allocation_candidates?resources=VCPU:1&required=in:A,B", "1.38", nil)
	if e := errorOf(t, r); r.Status != 400 || !strings.Contains(e["detail"].(string), "1.39") {
		t.Errorf("any-traits before 1.39: %d %v", r.Status, e)
	}
	r = c.call(t, "GET", "/allocation_candidates?resources1=VCPU:1&resources2=VCPU:1", "1.39", nil)
	if e := errorOf(t, r); r.Status != 400 || !strings.Contains(e["detail"].(string), "group_policy") {
		t.Errorf("two groups without policy: %d %v", r.Status, e)
	}
	r = c.call(t, "GET", "/allocation_candidates?resources=VCPU:1&root_required=A&root_required=B", "1.39", nil)
	if e := errorOf(t, r); r.Status != 400 || e["code"] != "placement.query.duplicate_key" {
		t.Errorf("repeated root_required: %d %v", r.Status, e)
	}
	r = c.call(t, "GET", "/resource_providers?member_of=not-a-uuid", "1.39", nil)
	if e := errorOf(t, r); r.Status != 400 || !strings.Contains(e["detail"].(string), "not-a-uuid") {
		t.Errorf("bad member_of: %d %v", r.Status, e)
	}
	r = c.call(t, "POST", "/resource_providers", "1.39", "name=cn2", "Content-Type", "text/plain")
	if r.Status != 415 {
		t.Errorf("text body: %d", r.Status)
	}
	r = c.call(t, "GET", "/resource_providers", "1.39", nil, "Accept", "text/plain")
	if r.Status != 406 {
		t.Errorf("Accept text/plain: %d", r.Status)
	}
}

func TestPostAllocationsAndReshaper(t *testing.T) {
	t.Parallel()
	c := startPlacement(t)
	mk := func(name, parent string) string {
		t.Helper()
		body := map[string]any{"name": name}
		if parent != "" {
			body["parent_provider_uuid"] = parent
		}
		r := c.call(t, "POST", "/resource_providers", "1.39", body)
		if r.Status != 200 {
			t.Fatalf("create %s: %d %s", name, r.Status, r.Body)
		}
		return r.JSON(t)["uuid"].(string)
	}
	cn := mk("cn", "")
	numa := mk("numa", cn)
	r := c.call(t, "PUT", "/resource_providers/"+cn+"/inventories", "1.39",
		map[string]any{"resource_provider_generation": 0, "inventories": map[string]any{"VCPU": map[string]any{"total": 8}}})
	if r.Status != 200 {
		t.Fatalf("inventory: %d %s", r.Status, r.Body)
	}
	c1, c2 := "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"
	alloc := func(vcpu int) map[string]any {
		return map[string]any{"allocations": map[string]any{cn: map[string]any{"resources": map[string]any{"VCPU": vcpu}}},
			"project_id": "p", "user_id": "u", "consumer_generation": nil, "consumer_type": "INSTANCE"}
	}
	if r = c.call(t, "POST", "/allocations", "1.39", map[string]any{c1: alloc(2), c2: alloc(3)}); r.Status != 204 {
		t.Fatalf("POST /allocations: %d %s", r.Status, r.Body)
	}
	// The reshaper needs the service role, as placement's policy says.
	reshape := map[string]any{
		"inventories": map[string]any{
			cn:   map[string]any{"resource_provider_generation": 2, "inventories": map[string]any{}},
			numa: map[string]any{"resource_provider_generation": 0, "inventories": map[string]any{"VCPU": map[string]any{"total": 8}}},
		},
		"allocations": map[string]any{
			c1: map[string]any{"allocations": map[string]any{numa: map[string]any{"resources": map[string]any{"VCPU": 2}}},
				"project_id": "p", "user_id": "u", "consumer_generation": 1, "consumer_type": "INSTANCE"},
			c2: map[string]any{"allocations": map[string]any{numa: map[string]any{"resources": map[string]any{"VCPU": 3}}},
				"project_id": "p", "user_id": "u", "consumer_generation": 1, "consumer_type": "INSTANCE"},
		},
	}
	if r = c.call(t, "POST", "/reshaper", "1.39", reshape); r.Status != 403 {
		t.Errorf("reshape as admin without the service role: %d %s", r.Status, r.Body)
	}
	c.grantService(t)
	if r = c.call(t, "POST", "/reshaper", "1.39", reshape); r.Status != 204 {
		t.Fatalf("reshape: %d %s", r.Status, r.Body)
	}
	r = c.call(t, "GET", "/resource_providers/"+numa+"/usages", "1.39", nil)
	if u := r.JSON(t)["usages"].(map[string]any)["VCPU"]; u != 5.0 {
		t.Errorf("NUMA usage after reshape: %v", u)
	}
	r = c.call(t, "GET", "/resource_providers/"+cn+"/inventories", "1.39", nil)
	if invs := r.JSON(t)["inventories"].(map[string]any); len(invs) != 0 {
		t.Errorf("compute node inventory after reshape: %v", invs)
	}
}

// grantService gives the admin user the service role and a fresh token.
func (c *placementCloud) grantService(t *testing.T) {
	t.Helper()
	id := c.IdentityURL
	r := c.Do(t, "POST", id+"/roles", c.tok, map[string]any{"role": map[string]any{"name": "service"}})
	if r.Status != 201 && r.Status != 409 {
		t.Fatalf("create service role: %d %s", r.Status, r.Body)
	}
	var role string
	if r.Status == 201 {
		role = r.JSON(t)["role"].(map[string]any)["id"].(string)
	} else {
		roles := c.Do(t, "GET", id+"/roles?name=service", c.tok, nil).JSON(t)["roles"].([]any)
		role = roles[0].(map[string]any)["id"].(string)
	}
	user := c.Do(t, "GET", id+"/users?name=admin", c.tok, nil).JSON(t)["users"].([]any)[0].(map[string]any)["id"].(string)
	proj := c.Do(t, "GET", id+"/projects?name=admin", c.tok, nil).JSON(t)["projects"].([]any)[0].(map[string]any)["id"].(string)
	if r := c.Do(t, "PUT", id+"/projects/"+proj+"/users/"+user+"/roles/"+role, c.tok, nil); r.Status != 204 {
		t.Fatalf("grant service: %d %s", r.Status, r.Body)
	}
	c.tok = c.Token(t, cloudtest.Admin)
}

func TestMemberIsForbidden(t *testing.T) {
	t.Parallel()
	c := startPlacement(t)
	id := c.IdentityURL
	proj := c.Do(t, "POST", id+"/projects", c.tok, map[string]any{"project": map[string]any{"name": "p1", "domain_id": "default"}})
	user := c.Do(t, "POST", id+"/users", c.tok, map[string]any{"user": map[string]any{"name": "bob", "password": "bob-secret-1",
		"domain_id": "default"}})
	pid := proj.JSON(t)["project"].(map[string]any)["id"].(string)
	uid := user.JSON(t)["user"].(map[string]any)["id"].(string)
	for _, role := range []string{"member", "reader"} {
		rid := c.Do(t, "GET", id+"/roles?name="+role, c.tok, nil).JSON(t)["roles"].([]any)[0].(map[string]any)["id"].(string)
		c.Do(t, "PUT", id+"/projects/"+pid+"/users/"+uid+"/roles/"+rid, c.tok, nil)
	}
	bob := c.Token(t, cloudtest.Credentials{Username: "bob", Password: "bob-secret-1", ProjectName: "p1"})
	r := c.Do(t, "GET", c.PlacementURL+"/resource_providers", bob, nil)
	if r.Status != 403 {
		t.Errorf("member lists providers: %d", r.Status)
	}
	// A project reader may see its own project's usage, and no other.
	if r = c.Do(t, "GET", c.PlacementURL+"/usages?project_id="+pid, bob, nil, "OpenStack-API-Version", "placement 1.9"); r.Status != 200 {
		t.Errorf("reader's own usages: %d %s", r.Status, r.Body)
	}
	if r = c.Do(t, "GET", c.PlacementURL+"/usages?project_id=other", bob, nil, "OpenStack-API-Version", "placement 1.9"); r.Status != 403 {
		t.Errorf("reader's other project's usages: %d", r.Status)
	}
}
