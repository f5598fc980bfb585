package identitysql_test

import (
	"context"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/db"
	"github.com/nimbus-cloud/nimbus/internal/db/dbtest"
	"github.com/nimbus-cloud/nimbus/internal/identity"
	"github.com/nimbus-cloud/nimbus/internal/identity/identitysql"
)

func regionID(r identity.Region) string          { return r.ID }
func serviceID(s identity.CatalogService) string { return s.ID }
func endpointID(e identity.Endpoint) string      { return e.ID }

func TestRegions(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *identitysql.Store, _ *db.DB) {
		ctx := context.Background()
		one := identity.Region{ID: "RegionOne", Description: "first"}
		dbtest.Must(t, s.CreateRegion(ctx, one))
		dbtest.Must(t, s.CreateRegion(ctx, identity.Region{ID: "east-1", ParentRegionID: "RegionOne"}))
		dbtest.Must(t, s.CreateRegion(ctx, identity.Region{ID: "east-2", ParentRegionID: "RegionOne"}))
		dbtest.Must(t, s.CreateRegion(ctx, identity.Region{ID: "east-1a", ParentRegionID: "east-1"}))

		t.Run("get", func(t *testing.T) {
			got, err := s.GetRegion(ctx, "RegionOne")
			dbtest.Must(t, err)
			dbtest.Same(t, got, one)
			got, err = s.GetRegion(ctx, "east-1a")
			dbtest.Must(t, err)
			dbtest.Same(t, got, identity.Region{ID: "east-1a", ParentRegionID: "east-1"})
		})
		t.Run("errors", func(t *testing.T) {
			_, err := s.GetRegion(ctx, "missing")
			dbtest.WantErr(t, err, identity.ErrNotFound)
			dbtest.WantErr(t, s.CreateRegion(ctx, identity.Region{ID: "x", ParentRegionID: "missing"}), identity.ErrNotFound)
			dbtest.WantErr(t, s.CreateRegion(ctx, identity.Region{ID: "east-1"}), identity.ErrConflict)
			dbtest.WantErr(t, s.UpdateRegion(ctx, identity.Region{ID: "missing"}), identity.ErrNotFound)
			dbtest.WantErr(t, s.UpdateRegion(ctx, identity.Region{ID: "east-2", ParentRegionID: "missing"}), identity.ErrNotFound)
			dbtest.WantErr(t, s.DeleteRegion(ctx, "missing"), identity.ErrNotFound)
		})
		t.Run("list", func(t *testing.T) {
			got, err := s.ListRegions(ctx, identity.RegionFilter{})
			dbtest.Must(t, err)
			dbtest.Same(t, idsOf(got, regionID), []string{"RegionOne", "east-1", "east-1a", "east-2"})
			got, err = s.ListRegions(ctx, identity.RegionFilter{ParentRegionID: "RegionOne"})
			dbtest.Must(t, err)
			dbtest.Same(t, idsOf(got, regionID), []string{"east-1", "east-2"})
			got, err = s.ListRegions(ctx, identity.RegionFilter{ParentRegionID: "east-2"})
			dbtest.Must(t, err)
			dbtest.Same(t, got, nil)
		})
		t.Run("update", func(t *testing.T) {
			upd := identity.Region{ID: "east-2", Description: "moved", ParentRegionID: "east-1"}
			dbtest.Must(t, s.UpdateRegion(ctx, upd))
			dbtest.Must(t, s.UpdateRegion(ctx, upd)) // unchanged
			got, err := s.GetRegion(ctx, "east-2")
			dbtest.Must(t, err)
			dbtest.Same(t, got, upd)
			upd.ParentRegionID = ""
			dbtest.Must(t, s.UpdateRegion(ctx, upd))
			got, err = s.GetRegion(ctx, "east-2")
			dbtest.Must(t, err)
			dbtest.Same(t, got, upd)
		})
		t.Run("delete", func(t *testing.T) {
			dbtest.Must(t, s.CreateService(ctx, identity.CatalogService{ID: "svc", Type: "compute"}))
			dbtest.Must(t, s.CreateEndpoint(ctx, identity.Endpoint{ID: "e", ServiceID: "svc", Interface: "public",
				URL: "http://x", RegionID: "east-2"}))
			dbtest.WantErr(t, s.DeleteRegion(ctx, "RegionOne"), identity.ErrConflict) // child regions
			dbtest.WantErr(t, s.DeleteRegion(ctx, "east-2"), identity.ErrConflict)    // an endpoint
			dbtest.Must(t, s.DeleteEndpoint(ctx, "e"))
			dbtest.Must(t, s.DeleteRegion(ctx, "east-2"))
			dbtest.Must(t, s.DeleteRegion(ctx, "east-1a"))
			dbtest.Must(t, s.DeleteRegion(ctx, "east-1"))
			dbtest.Must(t, s.DeleteRegion(ctx, "RegionOne"))
			dbtest.WantErr(t, s.DeleteRegion(ctx, "RegionOne"), identity.ErrNotFound)
		})
	})
}

func TestServicesAndEndpoints(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *identitysql.Store, _ *db.DB) {
		ctx := context.Background()
		dbtest.Must(t, s.CreateRegion(ctx, identity.Region{ID: "r1"}))
		dbtest.Must(t, s.CreateRegion(ctx, identity.Region{ID: "r2"}))
		nova := identity.CatalogService{ID: "s1", Type: "compute", Name: "nova", Description: "Compute", Enabled: true}
		dbtest.Must(t, s.CreateService(ctx, nova))
		dbtest.Must(t, s.CreateService(ctx, identity.CatalogService{ID: "s2", Type: "image", Name: "glance", Enabled: true}))
		dbtest.Must(t, s.CreateService(ctx, identity.CatalogService{ID: "s3", Type: "compute", Name: "legacy"}))
		eps := []identity.Endpoint{
			{ID: "e1", ServiceID: "s1", Interface: "public", URL: "http://nova/v2.1", RegionID: "r1", Enabled: true},
			{ID: "e2", ServiceID: "s1", Interface: "internal", URL: "http://nova-int/v2.1", RegionID: "r1", Enabled: true},
			{ID: "e3", ServiceID: "s1", Interface: "public", URL: "http://nova2/v2.1", RegionID: "r2"},
			{ID: "e4", ServiceID: "s2", Interface: "public", URL: "http://glance"},
		}
		for _, e := range eps {
			dbtest.Must(t, s.CreateEndpoint(ctx, e))
		}

		t.Run("services", func(t *testing.T) { testServices(t, s, nova) })
		t.Run("endpoints", func(t *testing.T) { testEndpoints(t, s, eps) })
		t.Run("delete service cascades", func(t *testing.T) {
			dbtest.Must(t, s.DeleteService(ctx, "s1"))
			_, err := s.GetService(ctx, "s1")
			dbtest.WantErr(t, err, identity.ErrNotFound)
			list, err := s.ListEndpoints(ctx, identity.EndpointFilter{})
			dbtest.Must(t, err)
			dbtest.Same(t, list, nil)
			dbtest.WantErr(t, s.DeleteService(ctx, "s1"), identity.ErrNotFound)
			dbtest.Must(t, s.DeleteRegion(ctx, "r1")) // no endpoint uses it any more
		})
	})
}

// testServices runs the catalog service methods on TestServicesAndEndpoints' rows.
func testServices(t *testing.T, s *identitysql.Store, nova identity.CatalogService) {
	ctx := context.Background()
	got, err := s.GetService(ctx, "s1")
	dbtest.Must(t, err)
	dbtest.Same(t, got, nova)
	_, err = s.GetService(ctx, "missing")
	dbtest.WantErr(t, err, identity.ErrNotFound)
	dbtest.WantErr(t, s.CreateService(ctx, identity.CatalogService{ID: "s1", Type: "x"}), identity.ErrConflict)
	for _, c := range []struct {
		f    identity.ServiceFilter
		want []string
	}{
		{identity.ServiceFilter{}, []string{"s1", "s2", "s3"}},
		{identity.ServiceFilter{Type: "compute"}, []string{"s1", "s3"}},
		{identity.ServiceFilter{Name: "glance"}, []string{"s2"}},
		{identity.ServiceFilter{Type: "compute", Name: "legacy"}, []string{"s3"}},
		{identity.ServiceFilter{Type: "network"}, nil},
	} {
		list, err := s.ListServices(ctx, c.f)
		dbtest.Must(t, err)
		dbtest.Same(t, idsOf(list, serviceID), c.want)
	}
	upd := identity.CatalogService{ID: "s3", Type: "compute_legacy", Name: "old", Description: "d", Enabled: true}
	dbtest.Must(t, s.UpdateService(ctx, upd))
	dbtest.Must(t, s.UpdateService(ctx, upd)) // unchanged
	got, err = s.GetService(ctx, "s3")
	dbtest.Must(t, err)
	dbtest.Same(t, got, upd)
	dbtest.WantErr(t, s.UpdateService(ctx, identity.CatalogService{ID: "missing"}), identity.ErrNotFound)
}

// testEndpoints runs the endpoint methods on TestServicesAndEndpoints' rows.
func testEndpoints(t *testing.T, s *identitysql.Store, eps []identity.Endpoint) {
	ctx := context.Background()
	got, err := s.GetEndpoint(ctx, "e4")
	dbtest.Must(t, err)
	dbtest.Same(t, got, eps[3])
	_, err = s.GetEndpoint(ctx, "missing")
	dbtest.WantErr(t, err, identity.ErrNotFound)
	dbtest.WantErr(t, s.CreateEndpoint(ctx, identity.Endpoint{ID: "e1", ServiceID: "s1", Interface: "admin"}), identity.ErrConflict)
	dbtest.WantErr(t, s.CreateEndpoint(ctx, identity.Endpoint{ID: "e9", ServiceID: "nosvc", Interface: "admin"}), identity.ErrNotFound)
	dbtest.WantErr(t, s.CreateEndpoint(ctx, identity.Endpoint{ID: "e9", ServiceID: "s1", RegionID: "noregion"}), identity.ErrNotFound)
	for _, c := range []struct {
		f    identity.EndpointFilter
		want []string
	}{
		{identity.EndpointFilter{}, []string{"e1", "e2", "e3", "e4"}},
		{identity.EndpointFilter{ServiceID: "s1"}, []string{"e1", "e2", "e3"}},
		{identity.EndpointFilter{Interface: "public"}, []string{"e1", "e3", "e4"}},
		{identity.EndpointFilter{RegionID: "r1"}, []string{"e1", "e2"}},
		{identity.EndpointFilter{ServiceID: "s1", Interface: "public", RegionID: "r2"}, []string{"e3"}},
		{identity.EndpointFilter{ServiceID: "s3"}, nil},
	} {
		list, err := s.ListEndpoints(ctx, c.f)
		dbtest.Must(t, err)
		dbtest.Same(t, idsOf(list, endpointID), c.want)
	}
	upd := identity.Endpoint{ID: "e4", ServiceID: "s1", Interface: "admin", URL: "http://admin", RegionID: "r2", Enabled: true}
	dbtest.Must(t, s.UpdateEndpoint(ctx, upd))
	dbtest.Must(t, s.UpdateEndpoint(ctx, upd)) // unchanged
	got, err = s.GetEndpoint(ctx, "e4")
	dbtest.Must(t, err)
	dbtest.Same(t, got, upd)
	dbtest.WantErr(t, s.UpdateEndpoint(ctx, identity.Endpoint{ID: "missing", ServiceID: "s1"}), identity.ErrNotFound)
	dbtest.WantErr(t, s.UpdateEndpoint(ctx, identity.Endpoint{ID: "e4", ServiceID: "nosvc"}), identity.ErrNotFound)
	dbtest.Must(t, s.DeleteEndpoint(ctx, "e4"))
	dbtest.WantErr(t, s.DeleteEndpoint(ctx, "e4"), identity.ErrNotFound)
}
