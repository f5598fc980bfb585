package identity_test

import (
	"encoding/json"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/identity"
)

// extrasLDAPConfig is the configuration Tempest's domain configuration tests use,
// with the sensitive LDAP password added.
func extrasLDAPConfig() map[string]any {
	return map[string]any{
		"identity": map[string]any{"driver": "ldap"},
		"ldap":     map[string]any{"url": "ldap://myldap.com:389/", "user_tree_dn": "ou=Users,dc=my_new_root,dc=org", "password": "s3cret"},
	}
}

// extrasJSON fails unless got and want marshal to the same JSON.
func extrasJSON(t *testing.T, what string, got, want any) {
	t.Helper()
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if string(g) != string(w) {
		t.Fatalf("%s = %s, want %s", what, g, w)
	}
}

func TestDomainConfigLifecycle(t *testing.T) {
	t.Parallel()
	e := newCrudEnv(t)
	ctx := e.admin
	d, err := e.svc.CreateDomain(ctx, identity.DomainCreate{Name: "ldap-users"})
	mustOK(t, err)
	shownLDAP := map[string]any{"identity": map[string]any{"driver": "ldap"},
		"ldap": map[string]any{"url": "ldap://myldap.com:389/", "user_tree_dn": "ou=Users,dc=my_new_root,dc=org"}}

	shown, created, err := e.svc.CreateDomainConfig(ctx, d.ID, extrasLDAPConfig())
	mustOK(t, err)
	if !created {
		t.Fatal("first PUT did not report a new configuration")
	}
	extrasJSON(t, "created config", shown, shownLDAP)
	_, created, err = e.svc.CreateDomainConfig(ctx, d.ID, extrasLDAPConfig())
	mustOK(t, err)
	if created {
		t.Fatal("second PUT reported a new configuration")
	}
	if tgt := e.authz.target("identity:create_domain_config"); tgt["domain_id"] != d.ID {
		t.Fatalf("create_domain_config target = %v", tgt)
	}

	got, err := e.svc.GetDomainConfig(ctx, d.ID, "", "")
	mustOK(t, err)
	extrasJSON(t, "whole config", got, shownLDAP)
	got, err = e.svc.GetDomainConfig(ctx, d.ID, "ldap", "")
	mustOK(t, err)
	extrasJSON(t, "ldap group", got, map[string]any{"ldap": shownLDAP["ldap"]})
	got, err = e.svc.GetDomainConfig(ctx, d.ID, "ldap", "url")
	mustOK(t, err)
	extrasJSON(t, "ldap url", got, map[string]any{"url": "ldap://myldap.com:389/"})
	_, err = e.svc.GetDomainConfig(ctx, d.ID, "ldap", "password")
	wantErr(t, err, identity.ErrNotFound, "Could not find option password in group ldap in domain configuration for domain "+d.ID+".")

	got, err = e.svc.UpdateDomainConfig(ctx, d.ID, "identity", "",
		map[string]any{"identity": map[string]any{"driver": "d2", "list_limit": json.Number("42")}})
	mustOK(t, err)
	extrasJSON(t, "after group update", got["identity"], map[string]any{"driver": "d2", "list_limit": 42})
	got, err = e.svc.UpdateDomainConfig(ctx, d.ID, "identity", "driver", map[string]any{"driver": "d3"})
	mustOK(t, err)
	extrasJSON(t, "after option update", got["identity"], map[string]any{"driver": "d3", "list_limit": 42})
	got, err = e.svc.UpdateDomainConfig(ctx, d.ID, "", "", map[string]any{"ldap": map[string]any{"suffix": "cn=x"}})
	mustOK(t, err)
	extrasJSON(t, "after whole update", got["ldap"], map[string]any{"suffix": "cn=x", "url": "ldap://myldap.com:389/",
		"user_tree_dn": "ou=Users,dc=my_new_root,dc=org"})

	mustOK(t, e.svc.DeleteDomainConfig(ctx, d.ID, "identity", "driver"))
	_, err = e.svc.GetDomainConfig(ctx, d.ID, "identity", "driver")
	wantErr(t, err, identity.ErrNotFound, "Could not find option driver in group identity")
	mustOK(t, e.svc.DeleteDomainConfig(ctx, d.ID, "identity", ""))
	_, err = e.svc.GetDomainConfig(ctx, d.ID, "identity", "")
	wantErr(t, err, identity.ErrNotFound, "Could not find group identity in domain configuration")
	mustOK(t, e.svc.DeleteDomainConfig(ctx, d.ID, "", ""))
	_, err = e.svc.GetDomainConfig(ctx, d.ID, "", "")
	wantErr(t, err, identity.ErrNotFound, "Could not find any options in domain configuration for domain "+d.ID+".")
	stored, err := e.store.ListDomainConfig(ctx, d.ID)
	mustOK(t, err)
	if len(stored) != 0 {
		t.Fatalf("left after deleting the configuration: %+v", stored)
	}
}

func TestDomainConfigBadInput(t *testing.T) {
	t.Parallel()
	e := newCrudEnv(t)
	ctx := e.admin
	d, err := e.svc.CreateDomain(ctx, identity.DomainCreate{Name: "configured"})
	mustOK(t, err)
	_, _, err = e.svc.CreateDomainConfig(ctx, d.ID, extrasLDAPConfig())
	mustOK(t, err)
	bare, err := e.svc.CreateDomain(ctx, identity.DomainCreate{Name: "bare"})
	mustOK(t, err)
	type call func() error
	put := func(id string, cfg map[string]any) call {
		return func() error { _, _, err := e.svc.CreateDomainConfig(ctx, id, cfg); return err }
	}
	patch := func(id, group, option string, cfg map[string]any) call {
		return func() error { _, err := e.svc.UpdateDomainConfig(ctx, id, group, option, cfg); return err }
	}
	get := func(id, group, option string) call {
		return func() error { _, err := e.svc.GetDomainConfig(ctx, id, group, option); return err }
	}
	del := func(id, group, option string) call {
		return func() error { return e.svc.DeleteDomainConfig(ctx, id, group, option) }
	}
	cases := []struct {
		name string
		call call
		kind error
		msg  string
	}{
		{"put nothing", put(d.ID, map[string]any{}), identity.ErrForbidden, "No options specified"},
		{"put a group that is no object", put(d.ID, map[string]any{"ldap": "url"}), identity.ErrForbidden,
			"The value of group ldap specified in the config should be a dictionary of options"},
		{"put an empty group", put(d.ID, map[string]any{"ldap": map[string]any{}}), identity.ErrForbidden, "dictionary of options"},
		{"put an unknown group", put(d.ID, map[string]any{"nova": map[string]any{"x": 1}}), identity.ErrForbidden,
			"Invalid domain specific configuration: Group nova is not supported for domain specific configurations."},
		{"put an unknown option", put(d.ID, map[string]any{"ldap": map[string]any{"colour": "red"}}), identity.ErrForbidden,
			"Option colour in group ldap is not supported"},
		{"put on a missing domain", put("nope", extrasLDAPConfig()), identity.ErrNotFound, "Could not find domain: nope."},
		{"patch a group with another", patch(d.ID, "identity", "", map[string]any{"ldap": map[string]any{"url": "x"}}),
			identity.ErrForbidden, "request to update group identity, but config provided contains group ldap instead"},
		{"patch a group with two", patch(d.ID, "identity", "", extrasLDAPConfig()), identity.ErrForbidden,
			"Trying to update group identity, so that, and only that, group must be specified in the config"},
		{"patch an option with two", patch(d.ID, "ldap", "url", map[string]any{"url": "x", "suffix": "y"}),
			identity.ErrForbidden, "so that, and only that, option must be specified"},
		{"patch an option with another", patch(d.ID, "ldap", "url", map[string]any{"suffix": "y"}), identity.ErrForbidden,
			"Trying to update option url in group ldap, but config provided contains option suffix instead"},
		{"patch an option that is not set", patch(d.ID, "ldap", "suffix", map[string]any{"suffix": "y"}),
			identity.ErrNotFound, "Could not find option suffix in group ldap in domain configuration"},
		{"patch a group that is not set", patch(bare.ID, "ldap", "", map[string]any{"ldap": map[string]any{"url": "y"}}),
			identity.ErrNotFound, "Could not find group ldap in domain configuration for domain " + bare.ID},
		{"patch an unknown option", patch(d.ID, "ldap", "colour", map[string]any{"colour": "red"}), identity.ErrForbidden,
			"Option colour in group ldap is not supported"},
		{"get an unknown group", get(d.ID, "nova", ""), identity.ErrForbidden, "Group nova is not supported"},
		{"get a missing domain", get("nope", "", ""), identity.ErrNotFound, "Could not find domain: nope."},
		{"get a bare domain", get(bare.ID, "", ""), identity.ErrNotFound, "Could not find any options"},
		{"delete a group that is not set", del(bare.ID, "ldap", ""), identity.ErrNotFound, "Could not find group ldap"},
		{"delete an option that is not set", del(d.ID, "ldap", "suffix"), identity.ErrNotFound,
			"Could not find option suffix in group ldap"},
		{"delete an unknown option", del(d.ID, "ldap", "colour"), identity.ErrForbidden, "Option colour in group ldap is not supported"},
		{"security compliance of another domain", get(d.ID, "security_compliance", ""), identity.ErrForbidden,
			"Reading security compliance information for any domain other than the default domain is not allowed or supported."},
		{"security compliance option not readable", get("default", "security_compliance", "lockout_duration"),
			identity.ErrForbidden, "Reading security compliance values other than password_regex and password_regex_description is not allowed."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			wantErr(t, c.call(), c.kind, c.msg)
		})
	}
}

func TestDomainConfigPolicyBeforeExistence(t *testing.T) {
	t.Parallel()
	e := newCrudEnv(t)
	for _, rule := range []string{"identity:get_domain_config", "identity:update_domain_config",
		"identity:delete_domain_config", "identity:create_domain_config"} {
		e.authz.denyRule(rule)
	}
	_, err := e.svc.GetDomainConfig(e.admin, "nope", "ldap", "")
	wantErr(t, err, identity.ErrForbidden, "identity:get_domain_config")
	_, err = e.svc.UpdateDomainConfig(e.admin, "nope", "", "", extrasLDAPConfig())
	wantErr(t, err, identity.ErrForbidden, "identity:update_domain_config")
	wantErr(t, e.svc.DeleteDomainConfig(e.admin, "nope", "", ""), identity.ErrForbidden, "identity:delete_domain_config")
	_, _, err = e.svc.CreateDomainConfig(e.admin, "nope", extrasLDAPConfig())
	wantErr(t, err, identity.ErrForbidden, "identity:create_domain_config")
}

func TestDomainConfigDefaults(t *testing.T) {
	t.Parallel()
	e := newCrudEnv(t)
	ctx := e.admin
	all, err := e.svc.DefaultDomainConfig(ctx, "", "")
	mustOK(t, err)
	ldap, _ := all["ldap"].(map[string]any)
	if len(all) != 2 || ldap["url"] != "ldap://localhost" || ldap["user_tree_dn"] != nil || len(ldap) != 49 {
		t.Fatalf("default config = %v", all)
	}
	if _, shown := ldap["password"]; shown {
		t.Fatal("the default config shows the ldap password")
	}
	id, err := e.svc.DefaultDomainConfig(ctx, "identity", "")
	mustOK(t, err)
	extrasJSON(t, "identity defaults", id, map[string]any{"identity": map[string]any{"driver": "sql", "list_limit": nil}})
	opt, err := e.svc.DefaultDomainConfig(ctx, "ldap", "pool_size")
	mustOK(t, err)
	extrasJSON(t, "ldap pool_size default", opt, map[string]any{"pool_size": 10})
	_, err = e.svc.DefaultDomainConfig(ctx, "ldap", "password")
	wantErr(t, err, identity.ErrForbidden, "Reading the default for option password in group ldap is not supported")
	_, err = e.svc.DefaultDomainConfig(ctx, "ldap", "colour")
	wantErr(t, err, identity.ErrForbidden, "Option colour in group ldap is not supported")
	if !slices.Equal(identity.DomainConfigGroups(), []string{"identity", "ldap"}) {
		t.Fatalf("groups = %v", identity.DomainConfigGroups())
	}
	sc, err := e.svc.GetDomainConfig(e.as(e.boot.AdminUserID, ""), "default", "security_compliance", "")
	mustOK(t, err)
	extrasJSON(t, "security compliance", sc, map[string]any{"security_compliance": map[string]any{
		"password_regex": nil, "password_regex_description": nil}})
}

func TestDomainProjects(t *testing.T) {
	t.Parallel()
	e := newCrudEnv(t)
	ctx := e.admin
	d, err := e.svc.CreateDomainProject(ctx, identity.ProjectCreate{Name: " acting ", IsDomain: true,
		Description: "a domain", Tags: []string{"blue"}})
	mustOK(t, err)
	if d.Name != "acting" || !d.Enabled || len(d.ID) != 32 {
		t.Fatalf("created %+v", d)
	}
	asked := e.authz.target("identity:create_project")["target"].(map[string]any)["project"].(map[string]any)
	if asked["is_domain"] != true || asked["domain_id"] != nil {
		t.Fatalf("create_project target = %v", asked)
	}
	if !e.svc.ActsAsDomain(ctx, d.ID) || e.svc.ActsAsDomain(ctx, e.boot.AdminProjectID) || e.svc.ActsAsDomain(ctx, "nope") {
		t.Fatal("ActsAsDomain is wrong")
	}
	got, err := e.svc.GetDomain(ctx, d.ID)
	mustOK(t, err)
	if got.Description != "a domain" {
		t.Fatalf("domain = %+v", got)
	}
	ids := func(q identity.ProjectQuery) []string {
		t.Helper()
		ds, err := e.svc.ListDomainProjects(ctx, q)
		mustOK(t, err)
		var out []string
		for _, x := range ds {
			out = append(out, x.ID)
		}
		return out
	}
	if got := ids(identity.ProjectQuery{}); !slices.Equal(got, []string{d.ID, "default"}) && !slices.Equal(got, []string{"default", d.ID}) {
		t.Fatalf("domain projects = %v", got)
	}
	for name, q := range map[string]identity.ProjectQuery{
		"name":         {ProjectFilter: identity.ProjectFilter{Name: "acting"}},
		"tags":         {ProjectFilter: identity.ProjectFilter{Tags: []string{"blue"}}},
		"not-tags-any": {ProjectFilter: identity.ProjectFilter{NotTagsAny: []string{"red"}, Name: "acting"}},
	} {
		if got := ids(q); !slices.Equal(got, []string{d.ID}) {
			t.Fatalf("filter %s = %v", name, got)
		}
	}
	for name, q := range map[string]identity.ProjectQuery{
		"domain_id": {ProjectFilter: identity.ProjectFilter{DomainID: "default"}},
		"parent_id": {ProjectFilter: identity.ProjectFilter{ParentID: d.ID}},
		"tags-any":  {ProjectFilter: identity.ProjectFilter{TagsAny: []string{"red"}}},
	} {
		if got := ids(q); len(got) != 0 {
			t.Fatalf("filter %s = %v, want none", name, got)
		}
	}
	shown, err := e.svc.GetDomainProject(ctx, d.ID)
	mustOK(t, err)
	if shown.ID != d.ID || e.authz.target("identity:get_project")["target"].(map[string]any)["project"].(map[string]any)["is_domain"] != true {
		t.Fatalf("get = %+v", shown)
	}
	wantErr(t, e.svc.DeleteDomainProject(ctx, d.ID), identity.ErrForbidden, "Cannot delete a domain that is enabled, please disable it first.")
	up, err := e.svc.UpdateDomainProject(ctx, d.ID, identity.ProjectUpdate{Enabled: ptr(false), Name: ptr("renamed"),
		DomainID: ptr(""), ParentID: ptr(""), IsDomain: ptr(true), ID: ptr(d.ID)})
	mustOK(t, err)
	if up.Enabled || up.Name != "renamed" {
		t.Fatalf("updated %+v", up)
	}
	if !e.revoked(t, identity.RevocationEvent{DomainID: d.ID}) {
		t.Fatal("disabling a domain through the projects API revoked nothing")
	}
	mustOK(t, e.svc.DeleteDomainProject(ctx, d.ID))
	_, err = e.svc.GetDomainProject(ctx, d.ID)
	wantErr(t, err, identity.ErrNotFound, "Could not find project: "+d.ID+".")
	wantErr(t, e.svc.DeleteDomainProject(ctx, d.ID), identity.ErrNotFound, "Could not find project: "+d.ID+".")
}

func TestDomainProjectBadInput(t *testing.T) {
	t.Parallel()
	e := newCrudEnv(t)
	ctx := e.admin
	d, err := e.svc.CreateDomainProject(ctx, identity.ProjectCreate{Name: "taken", IsDomain: true})
	mustOK(t, err)
	creates := []struct {
		name string
		in   identity.ProjectCreate
		kind error
		msg  string
	}{
		{"with a domain", identity.ProjectCreate{Name: "x", DomainID: "default"}, identity.ErrValidation,
			"only root projects are allowed to act as domains."},
		{"with a parent", identity.ProjectCreate{Name: "x", ParentID: e.boot.AdminProjectID}, identity.ErrValidation,
			"only root projects are allowed to act as domains."},
		{"name taken", identity.ProjectCreate{Name: "taken"}, identity.ErrConflict,
			"it is not permitted to have two projects acting as domains with the same name: taken."},
		{"empty name", identity.ProjectCreate{}, identity.ErrValidation, "Invalid input for field 'name'"},
		{"bad parent id", identity.ProjectCreate{Name: "x", ParentID: "a b"}, identity.ErrValidation, "Invalid input for field 'parent_id'"},
		{"unknown option", identity.ProjectCreate{Name: "x", Options: map[string]any{"colour": 1}}, identity.ErrValidation,
			"Additional properties are not allowed"},
	}
	for _, c := range creates {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.in.IsDomain = true
			_, err := e.svc.CreateDomainProject(ctx, c.in)
			wantErr(t, err, c.kind, c.msg)
		})
	}
	updates := []struct {
		name string
		u    identity.ProjectUpdate
		kind error
		msg  string
	}{
		{"new id", identity.ProjectUpdate{ID: ptr("other")}, identity.ErrValidation, "Cannot change ID"},
		{"into a domain", identity.ProjectUpdate{DomainID: ptr("default")}, identity.ErrValidation, "Cannot change Domain ID"},
		{"below a parent", identity.ProjectUpdate{ParentID: ptr(e.boot.AdminProjectID)}, identity.ErrForbidden,
			"Update of `parent_id` is not allowed."},
		{"no longer a domain", identity.ProjectUpdate{IsDomain: ptr(false)}, identity.ErrValidation, "Update of `is_domain` is not allowed."},
		{"blank name", identity.ProjectUpdate{Name: ptr(" ")}, identity.ErrValidation, "Invalid input for field 'name'"},
	}
	for _, c := range updates {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := e.svc.UpdateDomainProject(ctx, d.ID, c.u)
			wantErr(t, err, c.kind, c.msg)
		})
	}
	e.authz.denyRule("identity:get_project")
	_, err = e.svc.GetDomainProject(ctx, "nope")
	wantErr(t, err, identity.ErrForbidden, "identity:get_project")
}

// extrasCatalog makes two services with three endpoints:
// s1 public and internal in region r1, s2 public without a region.
func extrasCatalog(t *testing.T, e *crudEnv) (s1, s2 string, eps [3]string) {
	t.Helper()
	ctx := e.admin
	_, err := e.svc.CreateRegion(ctx, identity.Region{ID: "r1"})
	mustOK(t, err)
	for i, svc := range []*string{&s1, &s2} {
		created, err := e.svc.CreateService(ctx, identity.CatalogService{Type: []string{"compute", "image"}[i], Enabled: true})
		mustOK(t, err)
		*svc = created.ID
	}
	for i, ep := range []identity.Endpoint{
		{ServiceID: s1, Interface: "public", URL: "http://a", RegionID: "r1", Enabled: true},
		{ServiceID: s1, Interface: "internal", URL: "http://b", RegionID: "r1", Enabled: true},
		{ServiceID: s2, Interface: "public", URL: "http://c", Enabled: true},
	} {
		created, err := e.svc.CreateEndpoint(ctx, ep, "")
		mustOK(t, err)
		eps[i] = created.ID
	}
	return s1, s2, eps
}

// extrasIDs returns the ids of xs, sorted.
func extrasIDs[T any](xs []T, id func(T) string) []string {
	out := []string{}
	for _, x := range xs {
		out = append(out, id(x))
	}
	slices.Sort(out)
	return out
}

func endpointIDOf(e identity.Endpoint) string { return e.ID }
func projectIDOf(p identity.Project) string   { return p.ID }

func TestEndpointGroupLifecycle(t *testing.T) {
	t.Parallel()
	e := newCrudEnv(t)
	ctx := e.admin
	s1, _, eps := extrasCatalog(t, e)
	g, err := e.svc.CreateEndpointGroup(ctx, identity.EndpointGroup{Name: "compute", Description: "nova",
		Filters: identity.EndpointGroupFilters{ServiceID: &s1}})
	mustOK(t, err)
	got, err := e.svc.GetEndpointGroup(ctx, g.ID)
	mustOK(t, err)
	if !reflect.DeepEqual(got, g) {
		t.Fatalf("get = %+v, want %+v", got, g)
	}
	sel, err := e.svc.ListEndpointGroupEndpoints(ctx, g.ID)
	mustOK(t, err)
	if want := sortedIDs(eps[:2]...); !slices.Equal(extrasIDs(sel, endpointIDOf), want) {
		t.Fatalf("selected %v, want %v", extrasIDs(sel, endpointIDOf), want)
	}
	up, err := e.svc.UpdateEndpointGroup(ctx, g.ID, identity.EndpointGroupUpdate{Name: ptr("regionless"),
		Filters: &identity.EndpointGroupFilters{Interface: ptr("public"), RegionID: ptr("")}})
	mustOK(t, err)
	if up.Name != "regionless" || up.Description != "nova" || up.Filters.ServiceID != nil {
		t.Fatalf("updated %+v", up)
	}
	sel, err = e.svc.ListEndpointGroupEndpoints(ctx, g.ID)
	mustOK(t, err)
	if !slices.Equal(extrasIDs(sel, endpointIDOf), []string{eps[2]}) {
		t.Fatalf("regionless public endpoints = %v", extrasIDs(sel, endpointIDOf))
	}
	named, err := e.svc.ListEndpointGroups(ctx, "regionless")
	mustOK(t, err)
	none, err := e.svc.ListEndpointGroups(ctx, "compute")
	mustOK(t, err)
	if len(named) != 1 || len(none) != 0 {
		t.Fatalf("by name: %+v, %+v", named, none)
	}
	mustOK(t, e.svc.DeleteEndpointGroup(ctx, g.ID))
	_, err = e.svc.GetEndpointGroup(ctx, g.ID)
	wantErr(t, err, identity.ErrNotFound, "Could not find Endpoint Group: "+g.ID+".")
	wantErr(t, e.svc.DeleteEndpointGroup(ctx, g.ID), identity.ErrNotFound, "Could not find Endpoint Group")
	_, err = e.svc.UpdateEndpointGroup(ctx, g.ID, identity.EndpointGroupUpdate{Name: ptr("x")})
	wantErr(t, err, identity.ErrNotFound, "Could not find Endpoint Group")

	bad := []struct {
		name string
		g    identity.EndpointGroup
		msg  string
	}{
		{"no filters", identity.EndpointGroup{Name: "x"}, "filters field is required and cannot be empty"},
		{"bad interface", identity.EndpointGroup{Name: "x", Filters: identity.EndpointGroupFilters{Interface: ptr("outside")}},
			"'outside' is not one of ['admin', 'internal', 'public']"},
		{"blank name", identity.EndpointGroup{Name: " ", Filters: identity.EndpointGroupFilters{ServiceID: &s1}},
			"Invalid input for field 'name'"},
		{"long name", identity.EndpointGroup{Name: strings.Repeat("n", 256), Filters: identity.EndpointGroupFilters{ServiceID: &s1}},
			"is too long"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := e.svc.CreateEndpointGroup(ctx, c.g)
			wantErr(t, err, identity.ErrValidation, c.msg)
		})
	}
}

func TestEndpointFilterAssociations(t *testing.T) {
	t.Parallel()
	e := newCrudEnv(t)
	ctx := e.admin
	s1, _, eps := extrasCatalog(t, e)
	p := e.boot.AdminProjectID
	other, err := e.svc.CreateProject(ctx, identity.ProjectCreate{Name: "other"})
	mustOK(t, err)
	none, err := e.svc.FilteredEndpoints(ctx, p)
	mustOK(t, err)
	if none != nil {
		t.Fatalf("endpoints of a project without associations = %v", none)
	}
	g, err := e.svc.CreateEndpointGroup(ctx, identity.EndpointGroup{Name: "internal",
		Filters: identity.EndpointGroupFilters{ServiceID: &s1, Interface: ptr("internal")}})
	mustOK(t, err)

	mustOK(t, e.svc.AddEndpointGroupToProject(ctx, g.ID, p))
	mustOK(t, e.svc.AddEndpointGroupToProject(ctx, g.ID, other.ID))
	wantErr(t, e.svc.AddEndpointGroupToProject(ctx, g.ID, p), identity.ErrConflict, "Duplicate entry")
	wantErr(t, e.svc.AddEndpointGroupToProject(ctx, g.ID, "nope"), identity.ErrNotFound, "Could not find project: nope.")
	wantErr(t, e.svc.AddEndpointGroupToProject(ctx, "nope", p), identity.ErrNotFound, "Could not find Endpoint Group: nope.")
	mustOK(t, e.svc.GetEndpointGroupInProject(ctx, g.ID, p))
	mustOK(t, e.svc.AddEndpointToProject(ctx, p, eps[2]))
	wantErr(t, e.svc.AddEndpointToProject(ctx, p, eps[2]), identity.ErrConflict, "Duplicate entry")
	wantErr(t, e.svc.AddEndpointToProject(ctx, p, "nope"), identity.ErrNotFound, "Could not find endpoint: nope.")
	mustOK(t, e.svc.CheckEndpointInProject(ctx, p, eps[2]))
	wantErr(t, e.svc.CheckEndpointInProject(ctx, p, eps[0]), identity.ErrNotFound,
		"Endpoint "+eps[0]+" not found in project "+p)

	filtered, err := e.svc.ListProjectEndpoints(ctx, p)
	mustOK(t, err)
	if want := sortedIDs(eps[1], eps[2]); !slices.Equal(extrasIDs(filtered, endpointIDOf), want) {
		t.Fatalf("project endpoints = %v, want %v", extrasIDs(filtered, endpointIDOf), want)
	}
	ps, err := e.svc.ListEndpointGroupProjects(ctx, g.ID)
	mustOK(t, err)
	if want := sortedIDs(p, other.ID); !slices.Equal(extrasIDs(ps, projectIDOf), want) {
		t.Fatalf("projects of the group = %v, want %v", extrasIDs(ps, projectIDOf), want)
	}
	gs, err := e.svc.ListProjectEndpointGroups(ctx, p)
	mustOK(t, err)
	if len(gs) != 1 || gs[0].ID != g.ID {
		t.Fatalf("groups of the project = %+v", gs)
	}
	eps2, err := e.svc.ListEndpointProjects(ctx, eps[2])
	mustOK(t, err)
	if !slices.Equal(extrasIDs(eps2, projectIDOf), []string{p}) {
		t.Fatalf("projects of the endpoint = %v", extrasIDs(eps2, projectIDOf))
	}

	// A deleted project drops out of the lists even though its association stays.
	mustOK(t, e.svc.DeleteProject(ctx, other.ID))
	ps, err = e.svc.ListEndpointGroupProjects(ctx, g.ID)
	mustOK(t, err)
	if !slices.Equal(extrasIDs(ps, projectIDOf), []string{p}) {
		t.Fatalf("projects of the group after a delete = %v", extrasIDs(ps, projectIDOf))
	}
	_, err = e.svc.ListProjectEndpointGroups(ctx, other.ID)
	wantErr(t, err, identity.ErrNotFound, "Could not find project: "+other.ID+".")

	mustOK(t, e.svc.RemoveEndpointGroupFromProject(ctx, g.ID, p))
	wantErr(t, e.svc.RemoveEndpointGroupFromProject(ctx, g.ID, p), identity.ErrNotFound, "Endpoint Group Project Association not found")
	wantErr(t, e.svc.GetEndpointGroupInProject(ctx, g.ID, p), identity.ErrNotFound, "Endpoint Group Project Association not found")
	mustOK(t, e.svc.RemoveEndpointFromProject(ctx, p, eps[2]))
	wantErr(t, e.svc.RemoveEndpointFromProject(ctx, p, eps[2]), identity.ErrNotFound, "not found in project")
	none, err = e.svc.FilteredEndpoints(ctx, p)
	mustOK(t, err)
	if none != nil {
		t.Fatalf("endpoints after removing every association = %v", none)
	}
}

func TestPolicyLifecycle(t *testing.T) {
	t.Parallel()
	e := newCrudEnv(t)
	ctx := e.admin
	p, err := e.svc.CreatePolicy(ctx, identity.Policy{Type: "application/json", Blob: `{"rule": ""}`,
		Extra: map[string]any{"owner": "ops"}})
	mustOK(t, err)
	other, err := e.svc.CreatePolicy(ctx, identity.Policy{Type: "text/plain", Blob: "x"})
	mustOK(t, err)
	got, err := e.svc.GetPolicy(ctx, p.ID)
	mustOK(t, err)
	if !reflect.DeepEqual(got, p) {
		t.Fatalf("get = %+v, want %+v", got, p)
	}
	list, err := e.svc.ListPolicies(ctx, "text/plain")
	mustOK(t, err)
	if len(list) != 1 || list[0].ID != other.ID {
		t.Fatalf("by type = %+v", list)
	}
	up, err := e.svc.UpdatePolicy(ctx, p.ID, identity.PolicyUpdate{ID: ptr(p.ID), Type: ptr("text/yaml"),
		Extra: map[string]any{"rev": "2"}})
	mustOK(t, err)
	if up.Type != "text/yaml" || up.Blob != p.Blob || up.Extra["owner"] != "ops" || up.Extra["rev"] != "2" {
		t.Fatalf("updated %+v", up)
	}
	_, err = e.svc.UpdatePolicy(ctx, p.ID, identity.PolicyUpdate{ID: ptr("other")})
	wantErr(t, err, identity.ErrValidation, "Cannot change policy ID")
	_, err = e.svc.UpdatePolicy(ctx, p.ID, identity.PolicyUpdate{Type: ptr(strings.Repeat("t", 256))})
	wantErr(t, err, identity.ErrValidation, "Invalid input for field 'type'")
	_, err = e.svc.CreatePolicy(ctx, identity.Policy{Type: strings.Repeat("t", 256)})
	wantErr(t, err, identity.ErrValidation, "is too long")
	_, err = e.svc.UpdatePolicy(ctx, "nope", identity.PolicyUpdate{Blob: ptr("x")})
	wantErr(t, err, identity.ErrNotFound, "Could not find policy: nope.")
	mustOK(t, e.svc.DeletePolicy(ctx, p.ID))
	_, err = e.svc.GetPolicy(ctx, p.ID)
	wantErr(t, err, identity.ErrNotFound, "Could not find policy: "+p.ID+".")
	e.authz.denyRule("identity:create_policy")
	_, err = e.svc.CreatePolicy(ctx, identity.Policy{Type: "x", Blob: "y"})
	wantErr(t, err, identity.ErrForbidden, "identity:create_policy")
}

func TestConsumerLifecycle(t *testing.T) {
	t.Parallel()
	e := newCrudEnv(t)
	ctx := e.admin
	c, err := e.svc.CreateConsumer(ctx, "an app", map[string]any{"team": "x"})
	mustOK(t, err)
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(c.Secret) || c.Description != "an app" {
		t.Fatalf("created %+v", c)
	}
	stored, err := e.store.GetConsumer(ctx, c.ID)
	mustOK(t, err)
	if stored.Secret != c.Secret {
		t.Fatal("the store does not hold the secret the answer showed")
	}
	got, err := e.svc.GetConsumer(ctx, c.ID)
	mustOK(t, err)
	if got.Secret != "" || got.Extra["team"] != "x" {
		t.Fatalf("get = %+v", got)
	}
	list, err := e.svc.ListConsumers(ctx)
	mustOK(t, err)
	if len(list) != 1 || list[0].Secret != "" {
		t.Fatalf("list = %+v", list)
	}
	up, err := e.svc.UpdateConsumer(ctx, c.ID, identity.ConsumerUpdate{Description: ptr("renamed"), Extra: map[string]any{"tier": 1.0}})
	mustOK(t, err)
	if up.Description != "renamed" || up.Secret != "" || up.Extra["team"] != "x" || up.Extra["tier"] != 1.0 {
		t.Fatalf("updated %+v", up)
	}
	stored, err = e.store.GetConsumer(ctx, c.ID)
	mustOK(t, err)
	if stored.Secret != c.Secret {
		t.Fatal("an update changed the secret")
	}
	_, err = e.svc.UpdateConsumer(ctx, c.ID, identity.ConsumerUpdate{ID: ptr("other")})
	wantErr(t, err, identity.ErrValidation, "Cannot change ID")
	mustOK(t, e.svc.DeleteConsumer(ctx, c.ID))
	_, err = e.svc.GetConsumer(ctx, c.ID)
	wantErr(t, err, identity.ErrNotFound, "Consumer not found")
	wantErr(t, e.svc.DeleteConsumer(ctx, c.ID), identity.ErrNotFound, "Consumer not found")
	_, err = e.svc.UpdateConsumer(ctx, c.ID, identity.ConsumerUpdate{Description: ptr("x")})
	wantErr(t, err, identity.ErrNotFound, "Consumer not found")
}
