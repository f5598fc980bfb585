package identity_test

import (
	"strings"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/identity"
)

func TestRegionLifecycle(t *testing.T) {
	t.Parallel()
	e := newCrudEnv(t)
	ctx := e.admin
	gen, err := e.svc.CreateRegion(ctx, identity.Region{Description: "generated"})
	mustOK(t, err)
	if len(gen.ID) != 32 {
		t.Fatalf("generated region id = %q", gen.ID)
	}
	west, err := e.svc.CreateRegion(ctx, identity.Region{ID: "West", Description: "west coast"})
	mustOK(t, err)
	_, err = e.svc.CreateRegion(ctx, identity.Region{ID: "West-1", ParentRegionID: west.ID})
	mustOK(t, err)
	_, err = e.svc.CreateRegion(ctx, identity.Region{ID: "West-1a", ParentRegionID: "West-1"})
	mustOK(t, err)

	children, err := e.svc.ListRegions(ctx, "West")
	mustOK(t, err)
	if len(children) != 1 || children[0].ID != "West-1" {
		t.Fatalf("children of West = %+v", children)
	}
	all, err := e.svc.ListRegions(ctx, "")
	mustOK(t, err)
	if len(all) != 5 { // RegionOne from bootstrap, the generated one, West, West-1, West-1a
		t.Fatalf("regions = %d, want 5", len(all))
	}

	up, err := e.svc.UpdateRegion(ctx, "West-1", identity.RegionUpdate{Description: ptr("north"), ParentRegionID: ptr("")})
	mustOK(t, err)
	if up.ParentRegionID != "" || up.Description != "north" {
		t.Fatalf("updated region = %+v", up)
	}
	up, err = e.svc.UpdateRegion(ctx, "West-1", identity.RegionUpdate{ParentRegionID: ptr("West")})
	mustOK(t, err)
	if up.ParentRegionID != "West" || up.Description != "north" {
		t.Fatalf("re-parented region = %+v", up)
	}

	// Deleting a region takes the regions below it along, as keystone does.
	mustOK(t, e.svc.DeleteRegion(ctx, "West"))
	for _, id := range []string{"West", "West-1", "West-1a"} {
		_, err := e.svc.GetRegion(ctx, id)
		wantErr(t, err, identity.ErrNotFound, "Could not find region: "+id+".")
	}
	wantErr(t, e.svc.DeleteRegion(ctx, "West"), identity.ErrNotFound, "Could not find region: West.")
}

func TestRegionBadInput(t *testing.T) {
	t.Parallel()
	e := newCrudEnv(t)
	ctx := e.admin
	for _, r := range []identity.Region{{ID: "top"}, {ID: "mid", ParentRegionID: "top"}, {ID: "leaf", ParentRegionID: "mid"}} {
		_, err := e.svc.CreateRegion(ctx, r)
		mustOK(t, err)
	}
	creates := []struct {
		name string
		in   identity.Region
		kind error
		msg  string
	}{
		{"duplicate id", identity.Region{ID: "top"}, identity.ErrConflict, "Conflict occurred attempting to store region - Duplicate ID, top."},
		{"unknown parent", identity.Region{ID: "x", ParentRegionID: "nowhere"}, identity.ErrNotFound, "Could not find region: nowhere."},
		{"own parent", identity.Region{ID: "self", ParentRegionID: "self"}, identity.ErrNotFound, "Could not find region: self."},
		{"long id", identity.Region{ID: strings.Repeat("r", 256)}, identity.ErrValidation, "is too long"},
		{"long description", identity.Region{ID: "x", Description: strings.Repeat("d", 256)}, identity.ErrValidation, "is too long"},
	}
	for _, c := range creates {
		t.Run(c.name, func(t *testing.T) {
			_, err := e.svc.CreateRegion(ctx, c.in)
			wantErr(t, err, c.kind, c.msg)
		})
	}
	updates := []struct {
		name   string
		id     string
		parent string
		kind   error
		msg    string
	}{
		{"loop through a child", "top", "leaf", identity.ErrValidation, "The specified parent region leaf would create a circular region hierarchy."},
		{"loop to itself", "mid", "mid", identity.ErrValidation, "would create a circular region hierarchy"},
		{"unknown parent", "mid", "nowhere", identity.ErrNotFound, "Could not find region: nowhere."},
		{"unknown region", "nowhere", "top", identity.ErrNotFound, "Could not find region: nowhere."},
	}
	for _, c := range updates {
		t.Run(c.name, func(t *testing.T) {
			_, err := e.svc.UpdateRegion(ctx, c.id, identity.RegionUpdate{ParentRegionID: ptr(c.parent)})
			wantErr(t, err, c.kind, c.msg)
		})
	}
	// A region whose subtree has endpoints stays, and so does the subtree.
	svc, err := e.svc.CreateService(ctx, identity.CatalogService{Type: "compute", Enabled: true})
	mustOK(t, err)
	_, err = e.svc.CreateEndpoint(ctx, identity.Endpoint{ServiceID: svc.ID, Interface: "public",
		URL: "http://compute:8774/v2.1", RegionID: "leaf", Enabled: true}, "")
	mustOK(t, err)
	wantErr(t, e.svc.DeleteRegion(ctx, "top"), identity.ErrForbidden,
		"Unable to delete region top because it or its child regions have associated endpoints.")
	_, err = e.svc.GetRegion(ctx, "leaf")
	mustOK(t, err)
}

func TestServiceLifecycle(t *testing.T) {
	t.Parallel()
	e := newCrudEnv(t)
	ctx := e.admin
	svc, err := e.svc.CreateService(ctx, identity.CatalogService{Type: "compute", Name: "nova", Description: "VMs", Enabled: true})
	mustOK(t, err)
	if _, err := e.svc.CreateService(ctx, identity.CatalogService{Type: "image", Name: "glance", Enabled: false}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		f    identity.ServiceFilter
		want int
	}{{identity.ServiceFilter{}, 3}, {identity.ServiceFilter{Type: "compute"}, 1}, {identity.ServiceFilter{Name: "glance"}, 1},
		{identity.ServiceFilter{Type: "compute", Name: "glance"}, 0}} {
		got, err := e.svc.ListServices(ctx, c.f)
		mustOK(t, err)
		if len(got) != c.want {
			t.Errorf("ListServices(%+v) = %d services, want %d", c.f, len(got), c.want)
		}
	}
	up, err := e.svc.UpdateService(ctx, svc.ID, identity.ServiceUpdate{Enabled: ptr(false), Description: ptr("")})
	mustOK(t, err)
	if up.Enabled || up.Name != "nova" || up.Description != "" {
		t.Fatalf("updated service = %+v", up)
	}
	_, err = e.svc.UpdateService(ctx, svc.ID, identity.ServiceUpdate{Type: ptr("")})
	wantErr(t, err, identity.ErrValidation, "is too short")
	_, err = e.svc.CreateService(ctx, identity.CatalogService{})
	wantErr(t, err, identity.ErrValidation, "Invalid input for field/attribute type.")
	_, err = e.svc.CreateService(ctx, identity.CatalogService{Type: strings.Repeat("t", 256)})
	wantErr(t, err, identity.ErrValidation, "is too long")

	ep, err := e.svc.CreateEndpoint(ctx, identity.Endpoint{ServiceID: svc.ID, Interface: "public", URL: "http://nova/", Enabled: true}, "")
	mustOK(t, err)
	mustOK(t, e.svc.DeleteService(ctx, svc.ID))
	_, err = e.svc.GetService(ctx, svc.ID)
	wantErr(t, err, identity.ErrNotFound, "Could not find service: "+svc.ID+".")
	_, err = e.svc.GetEndpoint(ctx, ep.ID)
	wantErr(t, err, identity.ErrNotFound, "Could not find endpoint: "+ep.ID+".")
}

func TestEndpointLifecycle(t *testing.T) {
	t.Parallel()
	e := newCrudEnv(t)
	ctx := e.admin
	svc, err := e.svc.CreateService(ctx, identity.CatalogService{Type: "compute", Name: "nova", Enabled: true})
	mustOK(t, err)
	ep, err := e.svc.CreateEndpoint(ctx, identity.Endpoint{ServiceID: svc.ID, Interface: "public",
		URL: "http://compute:8774/v2.1/$(project_id)s", RegionID: "RegionOne", Enabled: true}, "")
	mustOK(t, err)
	cat, err := e.svc.Catalog(ctx)
	mustOK(t, err)
	if !catalogHas(cat, ep.ID) {
		t.Fatal("new endpoint is not in the catalog")
	}

	// The deprecated "region" names a region, created when missing.
	legacy, err := e.svc.CreateEndpoint(ctx, identity.Endpoint{ServiceID: svc.ID, Interface: "internal",
		URL: "http://compute.internal:8774/", Enabled: true}, "OldRegion")
	mustOK(t, err)
	if legacy.RegionID != "OldRegion" {
		t.Fatalf("endpoint from the region field = %+v", legacy)
	}
	_, err = e.svc.GetRegion(ctx, "OldRegion")
	mustOK(t, err)

	for _, c := range []struct {
		f    identity.EndpointFilter
		want int
	}{{identity.EndpointFilter{ServiceID: svc.ID}, 2}, {identity.EndpointFilter{Interface: "internal"}, 1},
		{identity.EndpointFilter{RegionID: "OldRegion"}, 1}, {identity.EndpointFilter{ServiceID: svc.ID, Interface: "admin"}, 0}} {
		got, err := e.svc.ListEndpoints(ctx, c.f)
		mustOK(t, err)
		if len(got) != c.want {
			t.Errorf("ListEndpoints(%+v) = %d, want %d", c.f, len(got), c.want)
		}
	}
	_, err = e.svc.ListEndpoints(ctx, identity.EndpointFilter{Interface: "private"})
	wantErr(t, err, identity.ErrValidation, "is not one of ['admin', 'internal', 'public']")

	up, err := e.svc.UpdateEndpoint(ctx, ep.ID, identity.EndpointUpdate{Enabled: ptr(false), RegionID: ptr("")})
	mustOK(t, err)
	if up.Enabled || up.RegionID != "" || up.URL != ep.URL {
		t.Fatalf("updated endpoint = %+v", up)
	}
	cat, err = e.svc.Catalog(ctx)
	mustOK(t, err)
	if catalogHas(cat, ep.ID) {
		t.Fatal("disabled endpoint is still in the catalog")
	}
	mustOK(t, e.svc.DeleteEndpoint(ctx, ep.ID))
	wantErr(t, e.svc.DeleteEndpoint(ctx, ep.ID), identity.ErrNotFound, "Could not find endpoint: "+ep.ID+".")
}

func catalogHas(cat *identity.Catalog, endpointID string) bool {
	for _, c := range cat.Entries {
		for _, ep := range c.Endpoints {
			if ep.ID == endpointID {
				return true
			}
		}
	}
	return false
}

func TestEndpointBadInput(t *testing.T) {
	t.Parallel()
	e := newCrudEnv(t)
	ctx := e.admin
	svc, err := e.svc.CreateService(ctx, identity.CatalogService{Type: "compute", Enabled: true})
	mustOK(t, err)
	good := identity.Endpoint{ServiceID: svc.ID, Interface: "public", URL: "https://compute.example.com:8774/v2.1", Enabled: true}
	cases := []struct {
		name string
		edit func(*identity.Endpoint)
		kind error
		msg  string
	}{
		{"bad interface", func(ep *identity.Endpoint) { ep.Interface = "private" }, identity.ErrValidation, "'private' is not one of ['admin', 'internal', 'public']"},
		{"empty url", func(ep *identity.Endpoint) { ep.URL = "" }, identity.ErrValidation, "does not match"},
		{"url without scheme", func(ep *identity.Endpoint) { ep.URL = "compute.example.com" }, identity.ErrValidation, "does not match"},
		{"url too long", func(ep *identity.Endpoint) { ep.URL = "http://" + strings.Repeat("x", 220) }, identity.ErrValidation, "is too long"},
		{"unknown substitution", func(ep *identity.Endpoint) { ep.URL = "http://x/$(tenant)s" }, identity.ErrValidation,
			"Cannot create an endpoint with an invalid URL: http://x/$(tenant)s."},
		{"unclosed substitution", func(ep *identity.Endpoint) { ep.URL = "http://x/$(project_id" }, identity.ErrValidation, "invalid URL"},
		{"bare percent", func(ep *identity.Endpoint) { ep.URL = "http://x/a%20b" }, identity.ErrValidation, "invalid URL"},
		{"unknown service", func(ep *identity.Endpoint) { ep.ServiceID = "noservice" }, identity.ErrValidation,
			"Expecting to find endpoint service_id in service table."},
		{"unknown region", func(ep *identity.Endpoint) { ep.RegionID = "nowhere" }, identity.ErrValidation,
			"Expecting to find endpoint region_id in region table."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ep := good
			c.edit(&ep)
			_, err := e.svc.CreateEndpoint(ctx, ep, "")
			wantErr(t, err, c.kind, c.msg)
		})
	}
	for _, url := range []string{"http://x/$(tenant_id)s/$(user_id)s", "http://x/100%%", "http://x/%(compute_host)s"} {
		ep := good
		ep.URL = url
		if _, err := e.svc.CreateEndpoint(ctx, ep, ""); err != nil {
			t.Errorf("URL %s refused: %v", url, err)
		}
	}
	created, err := e.svc.CreateEndpoint(ctx, good, "")
	mustOK(t, err)
	_, err = e.svc.UpdateEndpoint(ctx, created.ID, identity.EndpointUpdate{Interface: ptr("public-ish")})
	wantErr(t, err, identity.ErrValidation, "is not one of")
	_, err = e.svc.UpdateEndpoint(ctx, created.ID, identity.EndpointUpdate{RegionID: ptr("nowhere")})
	wantErr(t, err, identity.ErrValidation, "Expecting to find endpoint region_id in region table.")
	_, err = e.svc.UpdateEndpoint(ctx, "noendpoint", identity.EndpointUpdate{Enabled: ptr(true)})
	wantErr(t, err, identity.ErrNotFound, "Could not find endpoint: noendpoint.")
}
