package identitysql_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/db"
	"github.com/nimbus-cloud/nimbus/internal/db/dbtest"
	"github.com/nimbus-cloud/nimbus/internal/identity"
	"github.com/nimbus-cloud/nimbus/internal/identity/identitysql"
)

func TestDomainConfig(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *identitysql.Store, _ *db.DB) {
		ctx := context.Background()
		first := []identity.DomainConfigOption{
			{Group: "identity", Option: "driver", Value: "ldap"},
			{Group: "identity", Option: "list_limit", Value: json.Number("42")},
			{Group: "ldap", Option: "password", Value: "s3cret", Sensitive: true},
			{Group: "ldap", Option: "url", Value: "ldap://example.org"},
			{Group: "ldap", Option: "use_tls", Value: true},
			{Group: "ldap", Option: "user_attribute_ignore", Value: []any{"a", "b"}},
			{Group: "ldap", Option: "user_filter", Value: nil},
		}
		replaced, err := s.ReplaceDomainConfig(ctx, "d1", first)
		dbtest.Must(t, err)
		if replaced {
			t.Error("first ReplaceDomainConfig reported a replaced configuration")
		}
		got, err := s.ListDomainConfig(ctx, "d1")
		dbtest.Must(t, err)
		dbtest.Same(t, got, first)
		other, err := s.ListDomainConfig(ctx, "d2")
		dbtest.Must(t, err)
		dbtest.Same(t, other, nil)

		t.Run("replace", func(t *testing.T) {
			only := []identity.DomainConfigOption{{Group: "identity", Option: "driver", Value: "sql"}}
			dbtest.Must(t, s.UpdateDomainConfig(ctx, "d9", only))
			replaced, err := s.ReplaceDomainConfig(ctx, "d9", first[:2])
			dbtest.Must(t, err)
			if !replaced {
				t.Error("ReplaceDomainConfig over a configuration did not report it")
			}
			got, err := s.ListDomainConfig(ctx, "d9")
			dbtest.Must(t, err)
			dbtest.Same(t, got, first[:2])
		})
		t.Run("update", func(t *testing.T) {
			dbtest.Must(t, s.UpdateDomainConfig(ctx, "d1", []identity.DomainConfigOption{
				{Group: "identity", Option: "driver", Value: "sql"},
				{Group: "ldap", Option: "suffix", Value: "cn=x"}}))
			got, err := s.ListDomainConfig(ctx, "d1")
			dbtest.Must(t, err)
			if len(got) != len(first)+1 || got[0].Value != "sql" || got[3].Option != "suffix" {
				t.Errorf("after update: %+v", got)
			}
		})
		t.Run("delete", func(t *testing.T) {
			dbtest.Must(t, s.DeleteDomainConfig(ctx, "d1", "ldap", "url"))
			dbtest.Must(t, s.DeleteDomainConfig(ctx, "d1", "ldap", "url")) // nothing left to delete
			dbtest.Must(t, s.DeleteDomainConfig(ctx, "d1", "identity", ""))
			got, err := s.ListDomainConfig(ctx, "d1")
			dbtest.Must(t, err)
			for _, o := range got {
				if o.Group != "ldap" || o.Option == "url" {
					t.Errorf("left after deletes: %+v", o)
				}
			}
			dbtest.Must(t, s.DeleteDomainConfig(ctx, "d1", "", ""))
			got, err = s.ListDomainConfig(ctx, "d1")
			dbtest.Must(t, err)
			dbtest.Same(t, got, nil)
			got, err = s.ListDomainConfig(ctx, "d9")
			dbtest.Must(t, err)
			dbtest.Same(t, len(got), 2)
		})
	})
}

func endpointGroupID(g identity.EndpointGroup) string { return g.ID }

func TestEndpointGroups(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *identitysql.Store, _ *db.DB) {
		ctx := context.Background()
		g1 := identity.EndpointGroup{ID: "g1", Name: "compute", Description: "nova",
			Filters: identity.EndpointGroupFilters{ServiceID: ptr("svc"), Interface: ptr("public")}}
		g2 := identity.EndpointGroup{ID: "g2", Name: "regionless",
			Filters: identity.EndpointGroupFilters{RegionID: ptr("")}}
		g3 := identity.EndpointGroup{ID: "g3", Name: "compute",
			Filters: identity.EndpointGroupFilters{RegionID: ptr("RegionOne")}}
		for _, g := range []identity.EndpointGroup{g1, g2, g3} {
			dbtest.Must(t, s.CreateEndpointGroup(ctx, g))
		}
		t.Run("get and list", func(t *testing.T) {
			for _, want := range []identity.EndpointGroup{g1, g2, g3} {
				got, err := s.GetEndpointGroup(ctx, want.ID)
				dbtest.Must(t, err)
				dbtest.Same(t, got, want)
			}
			all, err := s.ListEndpointGroups(ctx, "")
			dbtest.Must(t, err)
			dbtest.Same(t, idsOf(all, endpointGroupID), []string{"g1", "g2", "g3"})
			named, err := s.ListEndpointGroups(ctx, "compute")
			dbtest.Must(t, err)
			dbtest.Same(t, idsOf(named, endpointGroupID), []string{"g1", "g3"})
		})
		t.Run("errors", func(t *testing.T) {
			_, err := s.GetEndpointGroup(ctx, "missing")
			dbtest.WantErr(t, err, identity.ErrNotFound)
			dbtest.WantErr(t, s.CreateEndpointGroup(ctx, g1), identity.ErrConflict)
			dbtest.WantErr(t, s.UpdateEndpointGroup(ctx, identity.EndpointGroup{ID: "missing", Name: "x"}), identity.ErrNotFound)
			dbtest.WantErr(t, s.DeleteEndpointGroup(ctx, "missing"), identity.ErrNotFound)
			dbtest.WantErr(t, s.AddEndpointGroupToProject(ctx, "missing", "p1"), identity.ErrNotFound)
			dbtest.WantErr(t, s.RemoveEndpointGroupFromProject(ctx, "g1", "p1"), identity.ErrNotFound)
		})
		t.Run("update", func(t *testing.T) {
			up := identity.EndpointGroup{ID: "g3", Name: "renamed", Description: "now",
				Filters: identity.EndpointGroupFilters{Interface: ptr("admin")}}
			dbtest.Must(t, s.UpdateEndpointGroup(ctx, up))
			dbtest.Must(t, s.UpdateEndpointGroup(ctx, up)) // unchanged
			got, err := s.GetEndpointGroup(ctx, "g3")
			dbtest.Must(t, err)
			dbtest.Same(t, got, up)
		})
		t.Run("project associations", func(t *testing.T) {
			dbtest.Must(t, s.AddEndpointGroupToProject(ctx, "g1", "p1"))
			dbtest.Must(t, s.AddEndpointGroupToProject(ctx, "g1", "p2"))
			dbtest.Must(t, s.AddEndpointGroupToProject(ctx, "g2", "p1"))
			dbtest.WantErr(t, s.AddEndpointGroupToProject(ctx, "g1", "p1"), identity.ErrConflict)
			got, err := s.ListEndpointGroupProjects(ctx, identity.ProjectAssociationFilter{EndpointGroupID: "g1"})
			dbtest.Must(t, err)
			dbtest.Same(t, got, []identity.EndpointGroupProject{{EndpointGroupID: "g1", ProjectID: "p1"}, {EndpointGroupID: "g1", ProjectID: "p2"}})
			got, err = s.ListEndpointGroupProjects(ctx, identity.ProjectAssociationFilter{ProjectID: "p1"})
			dbtest.Must(t, err)
			dbtest.Same(t, len(got), 2)
			dbtest.Must(t, s.RemoveEndpointGroupFromProject(ctx, "g1", "p2"))
			dbtest.Must(t, s.DeleteEndpointGroup(ctx, "g1"))
			got, err = s.ListEndpointGroupProjects(ctx, identity.ProjectAssociationFilter{})
			dbtest.Must(t, err)
			dbtest.Same(t, got, []identity.EndpointGroupProject{{EndpointGroupID: "g2", ProjectID: "p1"}})
		})
		t.Run("project endpoints", func(t *testing.T) {
			dbtest.Must(t, s.AddEndpointToProject(ctx, "e1", "p1"))
			dbtest.Must(t, s.AddEndpointToProject(ctx, "e2", "p1"))
			dbtest.Must(t, s.AddEndpointToProject(ctx, "e1", "p2"))
			dbtest.WantErr(t, s.AddEndpointToProject(ctx, "e1", "p1"), identity.ErrConflict)
			got, err := s.ListProjectEndpoints(ctx, identity.ProjectAssociationFilter{ProjectID: "p1"})
			dbtest.Must(t, err)
			dbtest.Same(t, got, []identity.ProjectEndpoint{{EndpointID: "e1", ProjectID: "p1"}, {EndpointID: "e2", ProjectID: "p1"}})
			got, err = s.ListProjectEndpoints(ctx, identity.ProjectAssociationFilter{EndpointID: "e1", ProjectID: "p2"})
			dbtest.Must(t, err)
			dbtest.Same(t, got, []identity.ProjectEndpoint{{EndpointID: "e1", ProjectID: "p2"}})
			dbtest.Must(t, s.RemoveEndpointFromProject(ctx, "e1", "p1"))
			dbtest.WantErr(t, s.RemoveEndpointFromProject(ctx, "e1", "p1"), identity.ErrNotFound)
		})
	})
}

func TestPoliciesAndConsumers(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *identitysql.Store, _ *db.DB) {
		ctx := context.Background()
		p1 := identity.Policy{ID: "p1", Type: "application/json", Blob: `{"default": ""}`,
			Extra: map[string]any{"owner": "ops", "rev": float64(3)}}
		p2 := identity.Policy{ID: "p2", Type: "text/plain", Blob: "x"}
		dbtest.Must(t, s.CreatePolicy(ctx, p1))
		dbtest.Must(t, s.CreatePolicy(ctx, p2))
		dbtest.WantErr(t, s.CreatePolicy(ctx, p2), identity.ErrConflict)
		got, err := s.GetPolicy(ctx, "p1")
		dbtest.Must(t, err)
		dbtest.Same(t, got, p1)
		list, err := s.ListPolicies(ctx, "text/plain")
		dbtest.Must(t, err)
		dbtest.Same(t, list, []identity.Policy{p2})
		p2.Blob, p2.Extra = "y", map[string]any{"k": "v"}
		dbtest.Must(t, s.UpdatePolicy(ctx, p2))
		got, err = s.GetPolicy(ctx, "p2")
		dbtest.Must(t, err)
		dbtest.Same(t, got, p2)
		dbtest.Must(t, s.DeletePolicy(ctx, "p2"))
		dbtest.WantErr(t, s.DeletePolicy(ctx, "p2"), identity.ErrNotFound)
		dbtest.WantErr(t, s.UpdatePolicy(ctx, p2), identity.ErrNotFound)
		_, err = s.GetPolicy(ctx, "p2")
		dbtest.WantErr(t, err, identity.ErrNotFound)

		c1 := identity.Consumer{ID: "c1", Description: "app", Secret: "0123456789abcdef0123456789abcdef"}
		c2 := identity.Consumer{ID: "c2", Secret: "fedcba9876543210fedcba9876543210", Extra: map[string]any{"team": "x"}}
		dbtest.Must(t, s.CreateConsumer(ctx, c1))
		dbtest.Must(t, s.CreateConsumer(ctx, c2))
		dbtest.WantErr(t, s.CreateConsumer(ctx, c1), identity.ErrConflict)
		cs, err := s.ListConsumers(ctx)
		dbtest.Must(t, err)
		dbtest.Same(t, cs, []identity.Consumer{c1, c2})
		dbtest.Must(t, s.UpdateConsumer(ctx, identity.Consumer{ID: "c1", Description: "renamed", Secret: "ignored"}))
		c, err := s.GetConsumer(ctx, "c1")
		dbtest.Must(t, err)
		dbtest.Same(t, c, identity.Consumer{ID: "c1", Description: "renamed", Secret: c1.Secret})
		dbtest.Must(t, s.DeleteConsumer(ctx, "c1"))
		dbtest.WantErr(t, s.DeleteConsumer(ctx, "c1"), identity.ErrNotFound)
		dbtest.WantErr(t, s.UpdateConsumer(ctx, c1), identity.ErrNotFound)
		_, err = s.GetConsumer(ctx, "c1")
		dbtest.WantErr(t, err, identity.ErrNotFound)
	})
}
