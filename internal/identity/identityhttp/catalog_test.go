package identityhttp_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/endpoints"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/regions"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/services"
)

func TestRegionsAPI(t *testing.T) {
	t.Parallel()
	c := startCrudCloud(t)
	r := c.call(t, "POST", "/regions", map[string]any{"region": map[string]any{"id": "West", "description": "west"}})
	wantStatus(t, r, http.StatusCreated, "")
	reg := r.JSON(t)["region"].(map[string]any)
	wantKeys(t, "region", reg, "id", "description", "parent_region_id", "links")
	if reg["parent_region_id"] != nil || reg["links"].(map[string]any)["self"] != c.IdentityURL+"/regions/West" {
		t.Fatalf("region = %v", reg)
	}
	r = c.call(t, "POST", "/regions", map[string]any{"region": map[string]any{}})
	wantStatus(t, r, http.StatusCreated, "")
	if id := r.JSON(t)["region"].(map[string]any)["id"].(string); len(id) != 32 {
		t.Fatalf("generated region id %q", id)
	}
	r = c.call(t, "PUT", "/regions/West-1", map[string]any{"region": map[string]any{"parent_region_id": "West"}})
	wantStatus(t, r, http.StatusCreated, "")
	if got := r.JSON(t)["region"].(map[string]any); got["id"] != "West-1" || got["parent_region_id"] != "West" || got["description"] != "" {
		t.Fatalf("PUT region = %v", got)
	}
	wantStatus(t, c.call(t, "PUT", "/regions/East", map[string]any{"region": map[string]any{"id": "North"}}),
		http.StatusBadRequest, `Conflicting region IDs specified: "East" != "North"`)
	wantStatus(t, c.call(t, "PUT", "/regions/West", map[string]any{"region": map[string]any{}}), http.StatusConflict, "Duplicate ID, West.")
	wantStatus(t, c.call(t, "POST", "/regions", map[string]any{"region": map[string]any{"parent_region_id": "nowhere"}}),
		http.StatusNotFound, "Could not find region: nowhere.")
	wantStatus(t, c.call(t, "PATCH", "/regions/West", map[string]any{"region": map[string]any{"parent_region_id": "West-1"}}),
		http.StatusBadRequest, "would create a circular region hierarchy")
	r = c.call(t, "GET", "/regions?parent_region_id=West", nil)
	wantStatus(t, r, http.StatusOK, "")
	if list := r.JSON(t)["regions"].([]any); len(list) != 1 {
		t.Fatalf("children of West = %s", r.Body)
	}
	r = c.call(t, "PATCH", "/regions/West-1", map[string]any{"region": map[string]any{"parent_region_id": nil, "description": "free"}})
	wantStatus(t, r, http.StatusOK, "")
	if got := r.JSON(t)["region"].(map[string]any); got["parent_region_id"] != nil || got["description"] != "free" {
		t.Fatalf("PATCH region = %v", got)
	}
	wantStatus(t, c.call(t, "DELETE", "/regions/West", nil), http.StatusNoContent, "")
	wantStatus(t, c.call(t, "GET", "/regions/West", nil), http.StatusNotFound, "Could not find region: West.")

	ctx := context.Background()
	created, err := regions.Create(ctx, c.client, regions.CreateOpts{ID: "South", Description: "south"}).Extract()
	if err != nil || created.ID != "South" {
		t.Fatalf("gophercloud region create = %+v, %v", created, err)
	}
	desc := "far south"
	if up, err := regions.Update(ctx, c.client, "South", regions.UpdateOpts{Description: &desc}).Extract(); err != nil || up.Description != desc {
		t.Fatalf("gophercloud region update = %+v, %v", up, err)
	}
	if err := regions.Delete(ctx, c.client, "South").ExtractErr(); err != nil {
		t.Fatal(err)
	}
}

func TestServicesAndEndpointsAPI(t *testing.T) {
	t.Parallel()
	c := startCrudCloud(t)
	wantStatus(t, c.call(t, "POST", "/services", map[string]any{"service": map[string]any{"name": "nova"}}),
		http.StatusBadRequest, "'type' is a required property")
	// A type no Nimbus service registers, so the list below holds this one alone.
	r := c.call(t, "POST", "/services", map[string]any{"service": map[string]any{"type": "orchestration"}})
	wantStatus(t, r, http.StatusCreated, "")
	svc := r.JSON(t)["service"].(map[string]any)
	wantKeys(t, "service", svc, "id", "type", "name", "enabled", "links")
	if svc["name"] != "" || svc["enabled"] != true {
		t.Fatalf("service defaults = %v", svc)
	}
	sid := svc["id"].(string)
	r = c.call(t, "PATCH", "/services/"+sid, map[string]any{"service": map[string]any{"name": "nova", "description": "VMs"}})
	wantStatus(t, r, http.StatusOK, "")
	if got := r.JSON(t)["service"].(map[string]any); got["name"] != "nova" || got["description"] != "VMs" {
		t.Fatalf("patched service = %v", got)
	}
	r = c.call(t, "GET", "/services?type=orchestration", nil)
	if list := r.JSON(t)["services"].([]any); len(list) != 1 {
		t.Fatalf("orchestration services = %s", r.Body)
	}
	testEndpointsAPI(t, c, sid)
	wantStatus(t, c.call(t, "DELETE", "/services/"+sid, nil), http.StatusNoContent, "")
	wantStatus(t, c.call(t, "GET", "/services/"+sid, nil), http.StatusNotFound, "Could not find service: "+sid+".")
}

// testEndpointsAPI exercises the endpoint routes on the service sid.
func testEndpointsAPI(t *testing.T, c *crudCloud, sid string) {
	good := map[string]any{"service_id": sid, "interface": "public", "url": "http://compute:8774/v2.1/$(project_id)s", "region_id": "RegionOne"}
	bad := []struct {
		name  string
		field string
		value any
		msg   string
	}{
		{"bad interface", "interface", "private", "is not one of ['admin', 'internal', 'public']"},
		{"bad url", "url", "compute:", "does not match"},
		{"bad substitution", "url", "http://x/$(tenant)s", "Cannot create an endpoint with an invalid URL"},
		{"unknown service", "service_id", "nope", "Expecting to find endpoint service_id in service table."},
		{"unknown region", "region_id", "nowhere", "Expecting to find endpoint region_id in region table."},
		{"missing url", "url", nil, "'url' is a required property"},
		{"enabled not boolean", "enabled", "yes", "enabled"},
	}
	for _, b := range bad {
		t.Run(b.name, func(t *testing.T) {
			ep := map[string]any{}
			for k, v := range good {
				ep[k] = v
			}
			if b.value == nil {
				delete(ep, b.field)
			} else {
				ep[b.field] = b.value
			}
			wantStatus(t, c.call(t, "POST", "/endpoints", map[string]any{"endpoint": ep}), http.StatusBadRequest, b.msg)
		})
	}
	r := c.call(t, "POST", "/endpoints", map[string]any{"endpoint": good})
	wantStatus(t, r, http.StatusCreated, "")
	ep := r.JSON(t)["endpoint"].(map[string]any)
	wantKeys(t, "endpoint", ep, "id", "interface", "region_id", "region", "service_id", "url", "enabled", "links")
	if ep["region"] != "RegionOne" || ep["enabled"] != true || ep["url"] != good["url"] {
		t.Fatalf("endpoint = %v", ep)
	}
	eid := ep["id"].(string)
	r = c.call(t, "POST", "/endpoints", map[string]any{"endpoint": map[string]any{"service_id": sid, "interface": "internal",
		"url": "http://compute.internal:8774/", "region": "Legacy"}})
	wantStatus(t, r, http.StatusCreated, "")
	if got := r.JSON(t)["endpoint"].(map[string]any); got["region_id"] != "Legacy" {
		t.Fatalf("endpoint from the deprecated region field = %v", got)
	}
	wantStatus(t, c.call(t, "DELETE", "/regions/Legacy", nil), http.StatusForbidden, "have associated endpoints")

	r = c.call(t, "GET", "/endpoints?service_id="+sid+"&interface=public", nil)
	if list := r.JSON(t)["endpoints"].([]any); len(list) != 1 || list[0].(map[string]any)["id"] != eid {
		t.Fatalf("public compute endpoints = %s", r.Body)
	}
	// The catalog of a new token lists the endpoint.
	r = c.call(t, "GET", "/auth/catalog", nil)
	wantStatus(t, r, http.StatusOK, "")
	found := false
	for _, s := range r.JSON(t)["catalog"].([]any) {
		if s.(map[string]any)["id"] == sid {
			found = len(s.(map[string]any)["endpoints"].([]any)) == 2
		}
	}
	if !found {
		t.Fatalf("catalog = %s", r.Body)
	}
	r = c.call(t, "PATCH", "/endpoints/"+eid, map[string]any{"endpoint": map[string]any{"enabled": false, "region_id": nil}})
	wantStatus(t, r, http.StatusOK, "")
	if got := r.JSON(t)["endpoint"].(map[string]any); got["enabled"] != false || got["region_id"] != nil {
		t.Fatalf("patched endpoint = %v", got)
	}
	wantStatus(t, c.call(t, "DELETE", "/endpoints/"+eid, nil), http.StatusNoContent, "")
	wantStatus(t, c.call(t, "GET", "/endpoints/"+eid, nil), http.StatusNotFound, "Could not find endpoint: "+eid+".")
}

func TestCatalogGophercloud(t *testing.T) {
	t.Parallel()
	c := startCrudCloud(t)
	ctx := context.Background()
	svc, err := services.Create(ctx, c.client, services.CreateOpts{Type: "object-store", Extra: map[string]any{"name": "swift"}}).Extract()
	if err != nil || svc.Type != "object-store" {
		t.Fatalf("services.Create = %+v, %v", svc, err)
	}
	ep, err := endpoints.Create(ctx, c.client, endpoints.CreateOpts{Availability: "public", Name: "swift",
		Region: "RegionOne", URL: "http://image:9292", ServiceID: svc.ID}).Extract()
	if err != nil || ep.Region != "RegionOne" || ep.ServiceID != svc.ID {
		t.Fatalf("endpoints.Create = %+v, %v", ep, err)
	}
	pages, err := endpoints.List(c.client, endpoints.ListOpts{ServiceID: svc.ID}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if eps, err := endpoints.ExtractEndpoints(pages); err != nil || len(eps) != 1 {
		t.Fatalf("endpoints.List = %+v, %v", eps, err)
	}
	pages, err = services.List(c.client, services.ListOpts{ServiceType: "object-store"}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if svcs, err := services.ExtractServices(pages); err != nil || len(svcs) != 1 || svcs[0].Extra["name"] != "swift" {
		t.Fatalf("services.List = %+v, %v", svcs, err)
	}
	if err := endpoints.Delete(ctx, c.client, ep.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if err := services.Delete(ctx, c.client, svc.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
}
