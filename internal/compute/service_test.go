package compute_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/auth"
	"github.com/nimbus-cloud/nimbus/internal/auth/policy"
	"github.com/nimbus-cloud/nimbus/internal/compute"
	"github.com/nimbus-cloud/nimbus/internal/compute/computesql"
	"github.com/nimbus-cloud/nimbus/internal/db"
	"github.com/nimbus-cloud/nimbus/internal/db/dbtest"
)

// projects is a fake ProjectChecker knowing a fixed set of projects.
type projects map[string]bool

func (p projects) ProjectExists(_ context.Context, id string) (bool, error) { return p[id], nil }

// counter is a fake UsageCounter with fixed counts per project and user.
type counter map[string]map[string]int

func (c counter) Usage(_ context.Context, projectID, userID string) (map[string]int, error) {
	if userID != "" {
		return c[projectID+"/"+userID], nil
	}
	return c[projectID], nil
}

// fakeKeys is a KeyGenerator that makes no real key, so tests stay fast.
func fakeKeys(kind, userID string) (string, string, string, error) {
	return "PRIVATE-" + kind + "-" + userID, "ssh-rsa AAAA generated", "00:11", nil
}

// quotaDefaults are nova's [quota] defaults.
var quotaDefaults = map[string]int{
	"instances": 10, "cores": 20, "ram": 51200, "metadata_items": 128, "injected_files": 5,
	"injected_file_content_bytes": 10240, "injected_file_path_bytes": 255, "key_pairs": 100,
	"server_groups": 10, "server_group_members": 10,
}

// newService returns a Service on a fresh SQLite store with nova's default
// policy; projects p1, p2 and admin exist.
func newService(t *testing.T, mod func(*compute.Config, *compute.Deps)) *compute.Service {
	t.Helper()
	ms, err := computesql.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	d := dbtest.Open(t, db.SQLite)
	if _, err := db.Migrate(context.Background(), d, computesql.ServiceName, ms); err != nil {
		t.Fatal(err)
	}
	enf, err := policy.New(policy.ComputeDefaults(), policy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	cfg := compute.Config{MaxLimit: 1000, Quota: quotaDefaults}
	deps := compute.Deps{Store: computesql.New(d), Authz: auth.NewAuthorizer(enf),
		Projects:    projects{"p1": true, "p2": true, "admin": true},
		GenerateKey: fakeKeys,
		Now:         func() time.Time { clock = clock.Add(time.Second); return clock }}
	if mod != nil {
		mod(&cfg, &deps)
	}
	return compute.New(cfg, deps)
}

// as returns a context of user on project with roles.
func as(user, project string, roles ...string) context.Context {
	c := &auth.Caller{UserID: user, ProjectID: project}
	for _, r := range roles {
		c.Roles = append(c.Roles, auth.Role{Name: r})
	}
	return auth.WithCaller(context.Background(), c)
}

var (
	alice  = as("alice", "p1", "member", "reader")
	bob    = as("bob", "p2", "member", "reader")
	admin  = as("root", "admin", "admin", "member", "reader")
	reader = as("rita", "p1", "reader")
)

// wantErr checks err is a compute error of kind, and that its message
// contains msg.
func wantErr(t *testing.T, err, kind error, msg string) {
	t.Helper()
	var ce *compute.Error
	if !errors.Is(err, kind) || !errors.As(err, &ce) {
		t.Fatalf("error = %v, want kind %v", err, kind)
	}
	if !strings.Contains(ce.Message, msg) {
		t.Fatalf("message %q does not contain %q", ce.Message, msg)
	}
}

// must returns v for t, failing t on err: must(f())(t).
func must[T any](v T, err error) func(testing.TB) T {
	return func(t testing.TB) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func ptr[T any](v T) *T { return &v }

func small(id, name string) compute.FlavorCreate {
	return compute.FlavorCreate{ID: id, Name: name, MemoryMB: 512, VCPUs: 1, RootGB: 1, RxTxFactor: 1, IsPublic: true}
}

func TestCreateFlavor(t *testing.T) {
	t.Parallel()
	s := newService(t, func(_ *compute.Config, d *compute.Deps) { d.NewID = func() string { return "generated-id" } })
	_, err := s.CreateFlavor(alice, small("1", "tiny"))
	wantErr(t, err, compute.ErrForbidden, "Policy doesn't allow os_compute_api:os-flavor-manage:create to be performed.")

	fc := small("", "  tiny  ")
	fc.Description = ptr("for tests")
	f := must(s.CreateFlavor(admin, fc))(t)
	if f.FlavorID != "generated-id" || f.Name != "tiny" || *f.Description != "for tests" || f.ExtraSpecs == nil {
		t.Errorf("created %+v", f)
	}
	_, err = s.CreateFlavor(admin, small("generated-id", "other"))
	wantErr(t, err, compute.ErrConflict, "Flavor with ID generated-id already exists.")
	_, err = s.CreateFlavor(admin, small("2", "tiny"))
	wantErr(t, err, compute.ErrConflict, "Flavor with name tiny already exists.")

	for _, tc := range []struct {
		mod func(*compute.FlavorCreate)
		msg string
	}{
		{func(f *compute.FlavorCreate) { f.MemoryMB = 0 }, "ram must be >= 1"},
		{func(f *compute.FlavorCreate) { f.VCPUs = compute.MaxInt + 1 }, "vcpus must be <= 2147483647"},
		{func(f *compute.FlavorCreate) { f.Swap = -1 }, "swap must be >= 0"},
		{func(f *compute.FlavorCreate) { f.RxTxFactor = 0 }, "'rxtx_factor' argument must be a float between 0 and"},
		{func(f *compute.FlavorCreate) { f.Name = "   " }, "name"},
	} {
		fc := small("x", "x")
		tc.mod(&fc)
		_, err := s.CreateFlavor(admin, fc)
		wantErr(t, err, compute.ErrInvalid, tc.msg)
	}
}

func TestFlavorVisibilityAndList(t *testing.T) {
	t.Parallel()
	s := newService(t, nil)
	must(s.CreateFlavor(admin, small("1", "public")))(t)
	priv := small("2", "private")
	priv.IsPublic = false
	must(s.CreateFlavor(admin, priv))(t)
	must(s.AddFlavorAccess(admin, "2", "p1", true))(t)

	ids := func(ctx context.Context, o compute.FlavorListOptions) []string {
		t.Helper()
		var out []string
		for _, f := range must(s.Flavors(ctx, o))(t) {
			out = append(out, f.FlavorID)
		}
		return out
	}
	dbtest.Same(t, ids(alice, compute.FlavorListOptions{}), []string{"1", "2"})
	dbtest.Same(t, ids(bob, compute.FlavorListOptions{}), []string{"1"})
	// is_public is an admin's filter; others' values are ignored, even bad ones.
	dbtest.Same(t, ids(bob, compute.FlavorListOptions{IsPublic: ptr("bogus")}), []string{"1"})
	dbtest.Same(t, ids(admin, compute.FlavorListOptions{}), []string{"1"})
	dbtest.Same(t, ids(admin, compute.FlavorListOptions{IsPublic: ptr("None")}), []string{"1", "2"})
	dbtest.Same(t, ids(admin, compute.FlavorListOptions{IsPublic: ptr("false")}), []string{"2"})
	_, err := s.Flavors(admin, compute.FlavorListOptions{IsPublic: ptr("maybe")})
	wantErr(t, err, compute.ErrInvalid, "Invalid is_public filter [maybe]")
	dbtest.Same(t, ids(admin, compute.FlavorListOptions{IsPublic: ptr("none"), SortDir: "desc"}), []string{"2", "1"})
	dbtest.Same(t, ids(admin, compute.FlavorListOptions{IsPublic: ptr("none"), Limit: ptr(1)}), []string{"1"})
	dbtest.Same(t, ids(admin, compute.FlavorListOptions{IsPublic: ptr("none"), Limit: ptr(0)}), []string(nil))
	_, err = s.Flavors(bob, compute.FlavorListOptions{Marker: ptr("2")})
	wantErr(t, err, compute.ErrInvalid, "marker [2] not found")

	_, err = s.Flavor(bob, "2")
	wantErr(t, err, compute.ErrNotFound, "Flavor 2 could not be found.")
	must(s.Flavor(alice, "2"))(t)
	if !s.CanSeeExtraSpecs(reader) || s.CanSeeExtraSpecs(as("svc", "p9", "service")) {
		t.Error("extra specs visibility does not follow os-flavor-extra-specs:index")
	}
}

func TestFlavorUpdateDelete(t *testing.T) {
	t.Parallel()
	s := newService(t, nil)
	must(s.CreateFlavor(admin, small("1", "one")))(t)
	_, err := s.UpdateFlavor(alice, "1", ptr("x"))
	wantErr(t, err, compute.ErrForbidden, "os-flavor-manage:update")
	f := must(s.UpdateFlavor(admin, "1", ptr("new")))(t)
	if *f.Description != "new" || f.UpdatedAt.IsZero() {
		t.Errorf("updated %+v", f)
	}
	_, err = s.UpdateFlavor(admin, "9", nil)
	wantErr(t, err, compute.ErrNotFound, "Flavor 9 could not be found.")
	wantErr(t, s.DeleteFlavor(alice, "1"), compute.ErrForbidden, "os-flavor-manage:delete")
	if err := s.DeleteFlavor(admin, "1"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, s.DeleteFlavor(admin, "1"), compute.ErrNotFound, "Flavor 1 could not be found.")
}

func TestExtraSpecs(t *testing.T) {
	t.Parallel()
	s := newService(t, nil)
	must(s.CreateFlavor(admin, small("1", "one")))(t)
	_, err := s.CreateExtraSpecs(alice, "1", map[string]string{"a": "b"}, true)
	wantErr(t, err, compute.ErrForbidden, "os-flavor-extra-specs:create")
	_, err = s.CreateExtraSpecs(admin, "1", map[string]string{"hw:cpu_policy": "pinned"}, true)
	wantErr(t, err, compute.ErrInvalid, "Validation failed; 'pinned' is not one of: dedicated, shared, mixed.")
	// Before microversion 2.86 values are not validated.
	must(s.CreateExtraSpecs(admin, "1", map[string]string{"hw:cpu_policy": "pinned"}, false))(t)
	_, err = s.CreateExtraSpecs(admin, "1", map[string]string{"k": strings.Repeat("v", 256)}, false)
	wantErr(t, err, compute.ErrInvalid, "extra_specs value has more than 255 characters.")
	_, err = s.CreateExtraSpecs(admin, "9", map[string]string{"a": "b"}, true)
	wantErr(t, err, compute.ErrNotFound, "Flavor 9 could not be found.")

	_, err = s.UpdateExtraSpec(admin, "1", "hw:cpu_policy", map[string]string{"other": "x"}, true)
	wantErr(t, err, compute.ErrInvalid, "Request body and URI mismatch")
	must(s.UpdateExtraSpec(admin, "1", "hw:cpu_policy", map[string]string{"hw:cpu_policy": "shared"}, true))(t)
	if v := must(s.ExtraSpec(reader, "1", "hw:cpu_policy"))(t); v != "shared" {
		t.Errorf("extra spec = %q", v)
	}
	_, err = s.ExtraSpec(reader, "1", "missing")
	wantErr(t, err, compute.ErrNotFound, "Flavor 1 has no extra specs with key missing.")
	wantErr(t, s.DeleteExtraSpec(admin, "1", "missing"), compute.ErrNotFound, "has no extra specs with key missing")
	if err := s.DeleteExtraSpec(admin, "1", "hw:cpu_policy"); err != nil {
		t.Fatal(err)
	}
	dbtest.Same(t, must(s.ExtraSpecs(reader, "1"))(t), map[string]string{})
}

func TestFlavorAccess(t *testing.T) {
	t.Parallel()
	s := newService(t, nil)
	must(s.CreateFlavor(admin, small("pub", "pub")))(t)
	priv := small("priv", "priv")
	priv.IsPublic = false
	must(s.CreateFlavor(admin, priv))(t)

	_, err := s.AddFlavorAccess(admin, "pub", "p1", true)
	wantErr(t, err, compute.ErrConflict, "Can not add access to a public flavor.")
	// Before microversion 2.7 a public flavor takes the grant.
	must(s.AddFlavorAccess(admin, "pub", "p1", false))(t)
	_, err = s.FlavorAccess(admin, "pub")
	wantErr(t, err, compute.ErrNotFound, "Access list not available for public flavors.")

	_, err = s.AddFlavorAccess(admin, "priv", "ghost", true)
	wantErr(t, err, compute.ErrInvalid, "Project ID ghost is not a valid project.")
	_, err = s.AddFlavorAccess(alice, "priv", "p1", true)
	wantErr(t, err, compute.ErrForbidden, "add_tenant_access")
	dbtest.Same(t, must(s.AddFlavorAccess(admin, "priv", "p2", true))(t), []string{"p2"})
	dbtest.Same(t, must(s.AddFlavorAccess(admin, "priv", "p1", true))(t), []string{"p1", "p2"})
	_, err = s.AddFlavorAccess(admin, "priv", "p1", true)
	wantErr(t, err, compute.ErrConflict, "Flavor access already exists for flavor priv and project p1 combination.")
	_, err = s.FlavorAccess(alice, "priv")
	wantErr(t, err, compute.ErrForbidden, "os-flavor-access")
	dbtest.Same(t, must(s.RemoveFlavorAccess(admin, "priv", "p2"))(t), []string{"p1"})
	_, err = s.RemoveFlavorAccess(admin, "priv", "p2")
	wantErr(t, err, compute.ErrNotFound, "Flavor access not found for priv / p2 combination.")
	// A project that no longer exists can still be removed.
	_, err = s.RemoveFlavorAccess(admin, "priv", "ghost")
	wantErr(t, err, compute.ErrNotFound, "Flavor access not found for priv / ghost combination.")
}
