package computehttp_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/flavors"
	"github.com/gophercloud/gophercloud/v2/pagination"

	"github.com/nimbus-cloud/nimbus/internal/cloudtest"
)

func intp(n int) *int    { return &n }
func boolp(b bool) *bool { return &b }

func TestFlavorsWithGophercloud(t *testing.T) {
	t.Parallel()
	c := cloudtest.Start(t)
	ctx := context.Background()
	admin := c.ComputeClient(t, cloudtest.Admin)
	admin.Microversion = "2.61"
	adminToken := c.Token(t, cloudtest.Admin)
	alice, _, aliceProject := newUser(t, c, adminToken, "alice")
	member := c.ComputeClient(t, alice)
	member.Microversion = "2.61"

	f, err := flavors.Create(ctx, admin, flavors.CreateOpts{Name: "m1.tiny", RAM: 512, VCPUs: 1, Disk: intp(1),
		ID: "1", Swap: intp(128), RxTxFactor: 2, Ephemeral: intp(5), Description: "tiny one"}).Extract()
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if f.ID != "1" || f.Swap != 128 || f.RxTxFactor != 2 || f.Ephemeral != 5 || !f.IsPublic ||
		f.Description != "tiny one" || f.ExtraSpecs == nil || len(f.ExtraSpecs) != 0 {
		t.Errorf("created %+v", f)
	}
	for i := 2; i <= 4; i++ {
		if _, err := flavors.Create(ctx, admin, flavors.CreateOpts{Name: fmt.Sprintf("m1.s%d", i), RAM: 1024 * i,
			VCPUs: i, Disk: intp(10 * i)}).Extract(); err != nil {
			t.Fatal(err)
		}
	}
	private, err := flavors.Create(ctx, admin, flavors.CreateOpts{Name: "secret", RAM: 256, VCPUs: 1, Disk: intp(0),
		IsPublic: boolp(false)}).Extract()
	if err != nil {
		t.Fatal(err)
	}

	// Pages of two follow flavors_links; the last full page links to an empty one,
	// which gophercloud does not count.
	var pages, total int
	err = flavors.ListDetail(member, flavors.ListOpts{Limit: 2, SortKey: "memory_mb"}).EachPage(ctx,
		func(_ context.Context, p pagination.Page) (bool, error) {
			fs, err := flavors.ExtractFlavors(p)
			pages++
			total += len(fs)
			return true, err
		})
	if err != nil || total != 4 || pages != 2 {
		t.Fatalf("paged detail list: %d flavors in %d pages, %v", total, pages, err)
	}
	all, err := flavors.ListDetail(admin, flavors.ListOpts{AccessType: flavors.AllAccess, MinRAM: 1000}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if fs, _ := flavors.ExtractFlavors(all); len(fs) != 3 {
		t.Errorf("admin's flavors with 1000 MiB or more: %d", len(fs))
	}

	// The private flavor is hidden from alice's project until it gets access.
	if _, err := flavors.Get(ctx, member, private.ID).Extract(); !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		t.Fatalf("member got a private flavor: %v", err)
	}
	acc, err := flavors.AddAccess(ctx, admin, private.ID, flavors.AddAccessOpts{Tenant: aliceProject}).Extract()
	if err != nil || len(acc) != 1 || acc[0].TenantID != aliceProject || acc[0].FlavorID != private.ID {
		t.Fatalf("add access: %+v %v", acc, err)
	}
	if got, err := flavors.Get(ctx, member, private.ID).Extract(); err != nil || got.Name != "secret" {
		t.Fatalf("member after access: %+v %v", got, err)
	}
	pages = 0
	if err := flavors.ListAccesses(admin, private.ID).EachPage(ctx, func(_ context.Context, p pagination.Page) (bool, error) {
		as, err := flavors.ExtractAccesses(p)
		pages += len(as)
		return true, err
	}); err != nil || pages != 1 {
		t.Fatalf("list access: %d entries, %v", pages, err)
	}
	if _, err := flavors.RemoveAccess(ctx, admin, private.ID, flavors.RemoveAccessOpts{Tenant: aliceProject}).Extract(); err != nil {
		t.Fatal(err)
	}

	// Extra specs.
	specs, err := flavors.CreateExtraSpecs(ctx, admin, "1", flavors.ExtraSpecsOpts{"hw:cpu_policy": "dedicated",
		"acme:fast": "yes"}).Extract()
	if err != nil || specs["hw:cpu_policy"] != "dedicated" {
		t.Fatalf("create extra specs: %v %v", specs, err)
	}
	if _, err := flavors.UpdateExtraSpec(ctx, admin, "1", flavors.ExtraSpecsOpts{"acme:fast": "no"}).Extract(); err != nil {
		t.Fatal(err)
	}
	one, err := flavors.GetExtraSpec(ctx, member, "1", "acme:fast").Extract()
	if err != nil || one["acme:fast"] != "no" {
		t.Fatalf("get extra spec: %v %v", one, err)
	}
	if err := flavors.DeleteExtraSpec(ctx, admin, "1", "acme:fast").ExtractErr(); err != nil {
		t.Fatal(err)
	}
	got, err := flavors.Get(ctx, member, "1").Extract()
	if err != nil || len(got.ExtraSpecs) != 1 || got.ExtraSpecs["hw:cpu_policy"] != "dedicated" {
		t.Fatalf("flavor specs at 2.61: %+v %v", got, err)
	}

	upd, err := flavors.Update(ctx, admin, "1", flavors.UpdateOpts{Description: "smaller"}).Extract()
	if err != nil || upd.Description != "smaller" {
		t.Fatalf("update: %+v %v", upd, err)
	}
	if _, err := flavors.Create(ctx, member, flavors.CreateOpts{Name: "mine", RAM: 1, VCPUs: 1, Disk: intp(0)}).Extract(); !gophercloud.ResponseCodeIs(err, http.StatusForbidden) {
		t.Fatalf("member created a flavor: %v", err)
	}
	if err := flavors.Delete(ctx, admin, "1").ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if _, err := flavors.Get(ctx, admin, "1").Extract(); !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		t.Fatalf("deleted flavor still shown: %v", err)
	}
}

// TestFlavorMicroversions checks the flavor body of each microversion that
// changed it, with raw JSON.
func TestFlavorMicroversions(t *testing.T) {
	t.Parallel()
	c := cloudtest.Start(t)
	token := c.Token(t, cloudtest.Admin)
	resp := api(t, c, token, "2.1", "POST", "/flavors", map[string]any{"flavor": map[string]any{
		"name": "f", "ram": "512", "vcpus": 1, "disk": 0, "id": 42}})
	if resp.Status != http.StatusOK {
		t.Fatalf("create at 2.1: %d %s", resp.Status, resp.Body)
	}
	f := obj(t, resp.JSON(t), "flavor")
	if f["id"] != "42" || f["swap"] != "" || f["ram"] != float64(512) || f["rxtx_factor"] != float64(1) {
		t.Errorf("2.1 flavor %v", f)
	}
	if !strings.Contains(string(resp.Body), `"rxtx_factor":1.0`) {
		t.Errorf("rxtx_factor is not written as nova writes it: %s", resp.Body)
	}
	for _, key := range []string{"description", "extra_specs"} {
		if _, ok := f[key]; ok {
			t.Errorf("2.1 flavor has %s", key)
		}
	}
	links := f["links"].([]any)
	if links[0].(map[string]any)["href"] != c.ComputeURL+"/flavors/42" ||
		links[1].(map[string]any)["href"] != strings.TrimSuffix(c.ComputeURL, "/v2.1")+"/flavors/42" {
		t.Errorf("links %v", links)
	}

	cases := []struct {
		mv       string
		swap     any
		desc     bool
		specs    bool
		listDesc bool
	}{
		{"2.54", "", false, false, false},
		{"2.55", "", true, false, true},
		{"2.60", "", true, false, true},
		{"2.61", "", true, true, true},
		{"2.75", float64(0), true, true, true},
		{"2.100", float64(0), true, true, true},
	}
	for _, tc := range cases {
		f := obj(t, api(t, c, token, tc.mv, "GET", "/flavors/42", nil).JSON(t), "flavor")
		_, hasDesc := f["description"]
		_, hasSpecs := f["extra_specs"]
		if f["swap"] != tc.swap || hasDesc != tc.desc || hasSpecs != tc.specs {
			t.Errorf("%s: swap %#v description %v extra_specs %v", tc.mv, f["swap"], hasDesc, hasSpecs)
		}
		brief := api(t, c, token, tc.mv, "GET", "/flavors", nil).JSON(t)["flavors"].([]any)[0].(map[string]any)
		if _, ok := brief["description"]; ok != tc.listDesc || len(brief) != 3+map[bool]int{true: 1}[tc.listDesc] {
			t.Errorf("%s: brief %v", tc.mv, brief)
		}
	}
	if f := obj(t, api(t, c, token, "2.55", "GET", "/flavors/42", nil).JSON(t), "flavor"); f["description"] != nil {
		t.Errorf("unset description is %v, want null", f["description"])
	}
	fault(t, api(t, c, token, "2.54", "PUT", "/flavors/42", map[string]any{"flavor": map[string]any{"description": "x"}}),
		404, "itemNotFound", "could not be found")
	resp = api(t, c, token, "2.55", "PUT", "/flavors/42", map[string]any{"flavor": map[string]any{"description": "x"}})
	if resp.Status != http.StatusOK || obj(t, resp.JSON(t), "flavor")["description"] != "x" {
		t.Fatalf("update at 2.55: %d %s", resp.Status, resp.Body)
	}
	fault(t, api(t, c, token, "2.1", "DELETE", "/flavors/nope", nil), 404, "itemNotFound", "Flavor nope could not be found.")
	if resp := api(t, c, token, "2.1", "DELETE", "/flavors/42", nil); resp.Status != http.StatusAccepted || len(resp.Body) != 0 {
		t.Fatalf("delete: %d %s", resp.Status, resp.Body)
	}
}

func TestFlavorValidation(t *testing.T) {
	t.Parallel()
	c := cloudtest.Start(t)
	token := c.Token(t, cloudtest.Admin)
	body := func(kv ...any) map[string]any {
		f := map[string]any{"name": "ok", "ram": 512, "vcpus": 1, "disk": 1}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(f, kv[i].(string))
			} else {
				f[kv[i].(string)] = kv[i+1]
			}
		}
		return map[string]any{"flavor": f}
	}
	cases := []struct {
		name string
		mv   string
		body any
		msg  string
	}{
		{"ram zero", "2.1", body("ram", 0), "Invalid input for field/attribute ram. Value: 0. 0 is less than the minimum of 1"},
		{"ram string zero", "2.1", body("ram", "0"), "Invalid input for field/attribute ram. Value: 0. 0 is less than the minimum of 1"},
		{"ram not digits", "2.1", body("ram", "1x"), "Invalid input for field/attribute ram. Value: 1x. '1x' does not match '^[0-9]+$'"},
		{"vcpus too big", "2.1", body("vcpus", 2147483648), "2147483648 is greater than the maximum of 2147483647"},
		{"disk negative", "2.1", body("disk", -1), "-1 is less than the minimum of 0"},
		{"bool ram", "2.1", body("ram", true), "True is not of type 'integer', 'string'"},
		{"ram missing", "2.1", body("ram", nil), "Invalid input for field/attribute flavor. Value: {'disk': 1, 'name': 'ok', 'vcpus': 1}. 'ram' is a required property"},
		{"unknown key", "2.1", body("color", "red"), "Additional properties are not allowed ('color' was unexpected)"},
		{"description before 2.55", "2.54", body("description", "d"), "Additional properties are not allowed ('description' was unexpected)"},
		{"name with spaces", "2.1", body("name", " padded"), "An invalid 'name' value was provided. The name must be: printable characters. Can not start or end with whitespace."},
		{"empty name", "2.1", body("name", ""), "Invalid input for field/attribute name. Value: . '' is too short"},
		{"bad id", "2.1", body("id", "a/b"), `'a/b' does not match '^(?! )[a-zA-Z0-9. _-]+(?<! )$'`},
		{"id trailing space", "2.1", body("id", "ab "), "does not match"},
		{"bad is_public", "2.1", body("os-flavor-access:is_public", "maybe"), "'maybe' is not one of [True, 'True'"},
		{"rxtx zero", "2.1", body("rxtx_factor", 0), "0 is less than or equal to the minimum of 0"},
		{"rxtx string zero", "2.1", body("rxtx_factor", "0"), "'rxtx_factor' argument must be a float between 0 and 3.40282e+38"},
		{"integral float", "2.1", body("ram", 512.5), "512.5 is not of type 'integer', 'string'"},
		{"no wrapper", "2.1", map[string]any{"name": "x"}, "'flavor' is a required property"},
		{"not an object", "2.1", []any{1}, "[1] is not of type 'object'"},
		{"malformed", "2.1", `{"flavor": `, "Malformed request body"},
	}
	for _, tc := range cases {
		fault(t, api(t, c, token, tc.mv, "POST", "/flavors", tc.body), 400, "badRequest", tc.msg)
	}
	resp := api(t, c, token, "2.1", "POST", "/flavors", body("name", "dup", "id", "d1"))
	if resp.Status != http.StatusOK {
		t.Fatalf("create: %d %s", resp.Status, resp.Body)
	}
	fault(t, api(t, c, token, "2.1", "POST", "/flavors", body("name", "dup", "id", "d2")), 409, "conflictingRequest",
		"Flavor with name dup already exists.")
	fault(t, api(t, c, token, "2.1", "POST", "/flavors", body("name", "other", "id", "d1")), 409, "conflictingRequest",
		"Flavor with ID d1 already exists.")

	for _, q := range []struct{ mv, query, msg string }{
		{"2.1", "limit=-1", "Invalid input for query parameters limit. Value: -1. '-1' does not match '^[0-9]*$'"},
		{"2.1", "sort_key=color", "Invalid input for query parameters sort_key. Value: color. 'color' is not one of ['created_at'"},
		{"2.1", "sort_dir=up", "'up' is not one of ['asc', 'desc']"},
		{"2.1", "minRam=lots", "Invalid minRam filter [lots]"},
		{"2.1", "marker=nope", "marker [nope] not found"},
		{"2.1", "is_public=maybe", "Invalid is_public filter [maybe]"},
		{"2.75", "color=red", "Additional properties are not allowed ('color' was unexpected)"},
	} {
		fault(t, api(t, c, token, q.mv, "GET", "/flavors?"+q.query, nil), 400, "badRequest", q.msg)
	}
	// Before 2.75 unknown parameters are ignored.
	if resp := api(t, c, token, "2.74", "GET", "/flavors?color=red", nil); resp.Status != http.StatusOK {
		t.Fatalf("unknown parameter at 2.74: %d %s", resp.Status, resp.Body)
	}
	if n := len(api(t, c, token, "2.1", "GET", "/flavors?limit=0", nil).JSON(t)["flavors"].([]any)); n != 0 {
		t.Errorf("limit=0 listed %d flavors", n)
	}
}

func TestExtraSpecsAndAccessRaw(t *testing.T) {
	t.Parallel()
	c := cloudtest.Start(t)
	token := c.Token(t, cloudtest.Admin)
	_, _, project := newUser(t, c, token, "bob")
	api(t, c, token, "2.1", "POST", "/flavors", map[string]any{"flavor": map[string]any{
		"name": "pub", "ram": 1, "vcpus": 1, "disk": 0, "id": "pub"}})
	api(t, c, token, "2.1", "POST", "/flavors", map[string]any{"flavor": map[string]any{
		"name": "priv", "ram": 1, "vcpus": 1, "disk": 0, "id": "priv", "os-flavor-access:is_public": false}})

	resp := api(t, c, token, "2.1", "POST", "/flavors/pub/os-extra_specs",
		map[string]any{"extra_specs": map[string]any{"hw:numa_nodes": 2, "x": "y"}})
	if resp.Status != http.StatusOK || !strings.Contains(string(resp.Body), `"hw:numa_nodes":2`) {
		t.Fatalf("create extra specs with a number: %d %s", resp.Status, resp.Body)
	}
	if got := obj(t, api(t, c, token, "2.1", "GET", "/flavors/pub/os-extra_specs", nil).JSON(t), "extra_specs"); got["hw:numa_nodes"] != "2" {
		t.Errorf("stored number %v", got)
	}
	fault(t, api(t, c, token, "2.86", "POST", "/flavors/pub/os-extra_specs",
		map[string]any{"extra_specs": map[string]any{"hw:numa_nodes": 0}}), 400, "badRequest",
		"Validation failed; '0' is less than the min value of '1'.")
	fault(t, api(t, c, token, "2.86", "PUT", "/flavors/pub/os-extra_specs/hw:cpu_polcy",
		map[string]any{"hw:cpu_polcy": "dedicated"}), 400, "badRequest", "does not appear to be a valid extra spec")
	fault(t, api(t, c, token, "2.1", "POST", "/flavors/pub/os-extra_specs",
		map[string]any{"extra_specs": map[string]any{"bad/key": "v"}}), 400, "badRequest",
		"Invalid input for field/attribute extra_specs. Value: {'bad/key': 'v'}. Additional properties are not allowed ('bad/key' was unexpected)")
	fault(t, api(t, c, token, "2.1", "POST", "/flavors/pub/os-extra_specs",
		map[string]any{"extra_specs": map[string]any{"k": true}}), 400, "badRequest",
		"Invalid input for field/attribute k. Value: True. True is not of type 'string', 'number'")
	fault(t, api(t, c, token, "2.1", "PUT", "/flavors/pub/os-extra_specs/x", map[string]any{"y": "1"}), 400, "badRequest",
		"Request body and URI mismatch")
	fault(t, api(t, c, token, "2.1", "PUT", "/flavors/pub/os-extra_specs/x", map[string]any{"x": "1", "y": "2"}), 400,
		"badRequest", "has too many properties")
	resp = api(t, c, token, "2.1", "PUT", "/flavors/pub/os-extra_specs/x", map[string]any{"x": 1.5})
	if resp.Status != http.StatusOK || string(resp.Body) != "{\"x\":1.5}\n" {
		t.Fatalf("update: %d %s", resp.Status, resp.Body)
	}
	if got := api(t, c, token, "2.1", "GET", "/flavors/pub/os-extra_specs/x", nil).JSON(t); got["x"] != "1.5" {
		t.Errorf("show %v", got)
	}
	fault(t, api(t, c, token, "2.1", "GET", "/flavors/pub/os-extra_specs/nope", nil), 404, "itemNotFound",
		"Flavor pub has no extra specs with key nope.")
	if resp := api(t, c, token, "2.1", "DELETE", "/flavors/pub/os-extra_specs/x", nil); resp.Status != http.StatusOK {
		t.Fatalf("delete: %d %s", resp.Status, resp.Body)
	}

	add := func(mv, flavor, tenant string) *cloudtest.Response {
		return api(t, c, token, mv, "POST", "/flavors/"+flavor+"/action",
			map[string]any{"addTenantAccess": map[string]any{"tenant": tenant}})
	}
	fault(t, add("2.7", "pub", project), 409, "conflictingRequest", "Can not add access to a public flavor.")
	if resp := add("2.6", "pub", project); resp.Status != http.StatusOK {
		t.Fatalf("add access to a public flavor before 2.7: %d %s", resp.Status, resp.Body)
	}
	fault(t, add("2.7", "priv", "no-such-project"), 400, "badRequest", "Project ID no-such-project is not a valid project.")
	resp = add("2.7", "priv", project)
	if resp.Status != http.StatusOK {
		t.Fatalf("add access: %d %s", resp.Status, resp.Body)
	}
	if list := resp.JSON(t)["flavor_access"].([]any); len(list) != 1 || list[0].(map[string]any)["tenant_id"] != project {
		t.Errorf("access %v", list)
	}
	fault(t, add("2.7", "priv", project), 409, "conflictingRequest", "Flavor access already exists")
	fault(t, api(t, c, token, "2.1", "POST", "/flavors/priv/action", map[string]any{"a": 1, "b": 2}), 400, "badRequest",
		"Malformed request body")
	fault(t, api(t, c, token, "2.1", "POST", "/flavors/priv/action", map[string]any{"resize": 1}), 400, "badRequest",
		"There is no such action: resize")
	fault(t, api(t, c, token, "2.1", "POST", "/flavors/priv/action",
		map[string]any{"removeTenantAccess": map[string]any{}}), 400, "badRequest", "'tenant' is a required property")
	fault(t, api(t, c, token, "2.1", "GET", "/flavors/pub/os-flavor-access", nil), 404, "itemNotFound",
		"Access list not available for public flavors.")
	resp = api(t, c, token, "2.1", "POST", "/flavors/priv/action",
		map[string]any{"removeTenantAccess": map[string]any{"tenant": project}})
	if resp.Status != http.StatusOK || len(resp.JSON(t)["flavor_access"].([]any)) != 0 {
		t.Fatalf("remove access: %d %s", resp.Status, resp.Body)
	}
}
