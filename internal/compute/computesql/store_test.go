package computesql_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/compute"
	"github.com/nimbus-cloud/nimbus/internal/compute/computesql"
	"github.com/nimbus-cloud/nimbus/internal/db"
	"github.com/nimbus-cloud/nimbus/internal/db/dbtest"
)

// forEachStore runs fn on a fresh, migrated store per available engine.
func forEachStore(t *testing.T, fn func(t *testing.T, s *computesql.Store)) {
	t.Helper()
	ms, err := computesql.Migrations()
	if err != nil {
		t.Fatalf("load migrations: %v", err)
	}
	dbtest.ForEachEngine(t, computesql.ServiceName, ms, func(t *testing.T, d *db.DB) {
		fn(t, computesql.New(d))
	})
}

func TestMigrations(t *testing.T) {
	t.Parallel()
	ms, err := computesql.Migrations()
	if err != nil {
		t.Fatalf("Migrations: %v", err)
	}
	if len(ms) == 0 || ms[0].Version != 1 {
		t.Fatalf("Migrations = %v; want version 1 first", ms)
	}
	dbtest.ForEachEngine(t, computesql.ServiceName, ms, func(t *testing.T, d *db.DB) {
		v, err := db.Migrate(context.Background(), d, computesql.ServiceName, ms)
		if err != nil || v != ms[len(ms)-1].Version {
			t.Fatalf("second Migrate = %d, %v; want %d and no error", v, err, ms[len(ms)-1].Version)
		}
	})
}

// base is the creation time of fixtures; fixture n is created n minutes later.
var base = time.Date(2026, 3, 1, 12, 0, 0, 123456000, time.UTC)

func ptr[T any](v T) *T { return &v }

// flavor returns a public flavor fixture.
func flavor(id, name string, ram, disk int) compute.Flavor {
	return compute.Flavor{FlavorID: id, Name: name, MemoryMB: ram, VCPUs: 1, RootGB: disk, RxTxFactor: 1,
		IsPublic: true, ExtraSpecs: map[string]string{}, CreatedAt: base}
}

func mkFlavor(t *testing.T, s *computesql.Store, f compute.Flavor) compute.Flavor {
	t.Helper()
	out, err := s.CreateFlavor(context.Background(), f)
	if err != nil {
		t.Fatalf("create flavor %s: %v", f.FlavorID, err)
	}
	return out
}

func flavorIDs(fs []compute.Flavor) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.FlavorID)
	}
	return out
}

func TestFlavorRoundTrip(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *computesql.Store) {
		ctx := context.Background()
		in := flavor("f1", "m1.small", 2048, 20)
		in.EphemeralGB, in.Swap, in.RxTxFactor, in.Description = 5, 512, 1.5, ptr("small one")
		in.ExtraSpecs = map[string]string{"hw:cpu_policy": "dedicated"}
		got := mkFlavor(t, s, in)
		if got.ID == 0 {
			t.Error("no internal id assigned")
		}
		in.ID = got.ID
		dbtest.Same(t, got, in)

		_, err := s.CreateFlavor(ctx, flavor("f1", "other", 1, 1))
		dbtest.WantErr(t, err, compute.ErrFlavorIDExists)
		_, err = s.CreateFlavor(ctx, flavor("f2", "m1.small", 1, 1))
		dbtest.WantErr(t, err, compute.ErrFlavorNameExists)

		later := base.Add(time.Hour)
		upd, err := s.UpdateFlavorDescription(ctx, "f1", nil, later)
		dbtest.Must(t, err)
		if upd.Description != nil || !upd.UpdatedAt.Equal(later) {
			t.Errorf("after update: description %v, updated_at %v", upd.Description, upd.UpdatedAt)
		}
		_, err = s.UpdateFlavorDescription(ctx, "nope", nil, later)
		dbtest.WantErr(t, err, compute.ErrNotFound)

		dbtest.Must(t, s.DeleteFlavor(ctx, "f1"))
		_, err = s.GetFlavor(ctx, "f1", compute.FlavorScope{All: true})
		dbtest.WantErr(t, err, compute.ErrNotFound)
		dbtest.WantErr(t, s.DeleteFlavor(ctx, "f1"), compute.ErrNotFound)
	})
}

func TestFlavorVisibility(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *computesql.Store) {
		ctx := context.Background()
		mkFlavor(t, s, flavor("pub", "pub", 512, 1))
		priv := flavor("priv", "priv", 512, 1)
		priv.IsPublic = false
		mkFlavor(t, s, priv)
		dbtest.Must(t, s.AddFlavorProject(ctx, "priv", "p1"))
		dbtest.WantErr(t, s.AddFlavorProject(ctx, "priv", "p1"), compute.ErrConflict)
		dbtest.WantErr(t, s.AddFlavorProject(ctx, "nope", "p1"), compute.ErrNotFound)

		_, err := s.GetFlavor(ctx, "priv", compute.FlavorScope{Project: "p1"})
		dbtest.Must(t, err)
		_, err = s.GetFlavor(ctx, "priv", compute.FlavorScope{Project: "p2"})
		dbtest.WantErr(t, err, compute.ErrNotFound)

		list := func(f compute.FlavorFilter) []string {
			t.Helper()
			fs, err := s.ListFlavors(ctx, f)
			dbtest.Must(t, err)
			return flavorIDs(fs)
		}
		yes, no := true, false
		dbtest.Same(t, list(compute.FlavorFilter{Scope: compute.FlavorScope{Project: "p2"}, IsPublic: &yes, SortKey: "flavorid"}),
			[]string{"pub"})
		dbtest.Same(t, list(compute.FlavorFilter{Scope: compute.FlavorScope{Project: "p1"}, IsPublic: &yes, SortKey: "flavorid"}),
			[]string{"priv", "pub"})
		dbtest.Same(t, list(compute.FlavorFilter{Scope: compute.FlavorScope{All: true}, IsPublic: &no, SortKey: "flavorid"}),
			[]string{"priv"})
		dbtest.Same(t, list(compute.FlavorFilter{Scope: compute.FlavorScope{All: true}, SortKey: "flavorid"}),
			[]string{"priv", "pub"})

		ps, err := s.FlavorProjects(ctx, "priv")
		dbtest.Must(t, err)
		dbtest.Same(t, ps, []string{"p1"})
		dbtest.Must(t, s.RemoveFlavorProject(ctx, "priv", "p1"))
		dbtest.WantErr(t, s.RemoveFlavorProject(ctx, "priv", "p1"), compute.ErrNotFound)
		// Deleting a flavor takes its access list and extra specs along.
		dbtest.Must(t, s.AddFlavorProject(ctx, "priv", "p3"))
		_, err = s.SetExtraSpecs(ctx, "priv", map[string]string{"k": "v"})
		dbtest.Must(t, err)
		dbtest.Must(t, s.DeleteFlavor(ctx, "priv"))
	})
}

func TestFlavorListOrderAndPages(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *computesql.Store) {
		ctx := context.Background()
		// Names and RAM sort differently from ids; two flavors tie on RAM.
		for i, spec := range []struct {
			id, name string
			ram      int
		}{{"3", "c", 1024}, {"1", "b", 4096}, {"2", "a", 1024}, {"10", "B", 8192}} {
			f := flavor(spec.id, spec.name, spec.ram, i)
			f.CreatedAt = base.Add(time.Duration(i) * time.Minute)
			mkFlavor(t, s, f)
		}
		all := compute.FlavorScope{All: true}
		page := func(f compute.FlavorFilter) []string {
			t.Helper()
			f.Scope = all
			fs, err := s.ListFlavors(ctx, f)
			dbtest.Must(t, err)
			return flavorIDs(fs)
		}
		dbtest.Same(t, page(compute.FlavorFilter{SortKey: "flavorid"}), []string{"1", "10", "2", "3"})
		dbtest.Same(t, page(compute.FlavorFilter{SortKey: "name"}), []string{"10", "2", "1", "3"})
		// Ties on memory_mb are broken by the internal id, in the same direction.
		dbtest.Same(t, page(compute.FlavorFilter{SortKey: "memory_mb"}), []string{"3", "2", "1", "10"})
		dbtest.Same(t, page(compute.FlavorFilter{SortKey: "memory_mb", SortDesc: true}), []string{"10", "1", "2", "3"})
		dbtest.Same(t, page(compute.FlavorFilter{SortKey: "memory_mb", Marker: "3", Limit: 2}), []string{"2", "1"})
		dbtest.Same(t, page(compute.FlavorFilter{SortKey: "memory_mb", SortDesc: true, Marker: "1"}), []string{"2", "3"})
		dbtest.Same(t, page(compute.FlavorFilter{SortKey: "flavorid", MinMemoryMB: ptr(2048)}), []string{"1", "10"})
		dbtest.Same(t, page(compute.FlavorFilter{SortKey: "flavorid", MinRootGB: ptr(2)}), []string{"10", "2"})
		dbtest.Same(t, page(compute.FlavorFilter{SortKey: "description", Limit: 1}), []string{"3"})
		dbtest.Same(t, page(compute.FlavorFilter{SortKey: "updated_at", Marker: "2"}), []string{"10"})
		_, err := s.ListFlavors(ctx, compute.FlavorFilter{Scope: all, SortKey: "id", Marker: "99"})
		dbtest.WantErr(t, err, compute.ErrMarkerNotFound)
		_, err = s.ListFlavors(ctx, compute.FlavorFilter{Scope: all, SortKey: "bogus"})
		dbtest.WantErr(t, err, compute.ErrInvalid)
	})
}

func TestExtraSpecs(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *computesql.Store) {
		ctx := context.Background()
		mkFlavor(t, s, flavor("f", "f", 1, 1))
		got, err := s.SetExtraSpecs(ctx, "f", map[string]string{"a": "1", "b": "2"})
		dbtest.Must(t, err)
		dbtest.Same(t, got, map[string]string{"a": "1", "b": "2"})
		// Replacing a value, and writing an unchanged one, which MySQL counts
		// as no row affected.
		got, err = s.SetExtraSpecs(ctx, "f", map[string]string{"a": "3", "b": "2"})
		dbtest.Must(t, err)
		dbtest.Same(t, got, map[string]string{"a": "3", "b": "2"})
		dbtest.Must(t, s.DeleteExtraSpec(ctx, "f", "a"))
		dbtest.WantErr(t, s.DeleteExtraSpec(ctx, "f", "a"), compute.ErrNotFound)
		f, err := s.GetFlavor(ctx, "f", compute.FlavorScope{All: true})
		dbtest.Must(t, err)
		dbtest.Same(t, f.ExtraSpecs, map[string]string{"b": "2"})
		_, err = s.SetExtraSpecs(ctx, "nope", map[string]string{"a": "1"})
		dbtest.WantErr(t, err, compute.ErrNotFound)
	})
}

func TestKeyPairs(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *computesql.Store) {
		ctx := context.Background()
		kp := func(user, name string) compute.KeyPair {
			return compute.KeyPair{UserID: user, Name: name, Type: compute.KeyTypeSSH, Fingerprint: "aa:bb",
				PublicKey: "ssh-ed25519 AAAA " + name, CreatedAt: base}
		}
		for _, name := range []string{"b", "a", "c"} {
			got, err := s.CreateKeyPair(ctx, kp("u1", name), 3)
			dbtest.Must(t, err)
			if got.ID == 0 || !got.CreatedAt.Equal(base) || got.PublicKey != "ssh-ed25519 AAAA "+name {
				t.Errorf("created %+v", got)
			}
		}
		_, err := s.CreateKeyPair(ctx, kp("u1", "d"), 3)
		dbtest.WantErr(t, err, compute.ErrOverQuota)
		_, err = s.CreateKeyPair(ctx, kp("u1", "a"), -1)
		dbtest.WantErr(t, err, compute.ErrConflict)
		_, err = s.CreateKeyPair(ctx, kp("u2", "a"), 0)
		dbtest.WantErr(t, err, compute.ErrOverQuota)
		_, err = s.CreateKeyPair(ctx, kp("u2", "a"), -1)
		dbtest.Must(t, err)

		names := func(kps []compute.KeyPair) []string {
			var out []string
			for _, k := range kps {
				out = append(out, k.Name)
			}
			return out
		}
		all, err := s.ListKeyPairs(ctx, "u1", "", 0)
		dbtest.Must(t, err)
		dbtest.Same(t, names(all), []string{"a", "b", "c"})
		pg, err := s.ListKeyPairs(ctx, "u1", "a", 1)
		dbtest.Must(t, err)
		dbtest.Same(t, names(pg), []string{"b"})
		_, err = s.ListKeyPairs(ctx, "u1", "zzz", 1)
		dbtest.WantErr(t, err, compute.ErrMarkerNotFound)
		n, err := s.CountKeyPairs(ctx, "u1")
		dbtest.Must(t, err)
		if n != 3 {
			t.Errorf("count = %d, want 3", n)
		}
		_, err = s.GetKeyPair(ctx, "u2", "b")
		dbtest.WantErr(t, err, compute.ErrNotFound)
		dbtest.Must(t, s.DeleteKeyPair(ctx, "u1", "b"))
		dbtest.WantErr(t, s.DeleteKeyPair(ctx, "u1", "b"), compute.ErrNotFound)
	})
}

func TestQuotas(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *computesql.Store) {
		ctx := context.Background()
		dbtest.Must(t, s.SetQuotas(ctx, "p1", map[string]int{"cores": 8, "fixed_ips": 3}, "", nil, base))
		dbtest.Must(t, s.SetQuotas(ctx, "p1", map[string]int{"cores": 9}, "u1", map[string]int{"ram": 100}, base))
		dbtest.Must(t, s.SetQuotas(ctx, "p1", nil, "u2", map[string]int{"ram": 50, "cores": -1}, base))
		dbtest.Must(t, s.SetQuotas(ctx, "p2", map[string]int{"cores": 1}, "", nil, base))
		got, err := s.ProjectQuotas(ctx, "p1")
		dbtest.Must(t, err)
		dbtest.Same(t, got, map[string]int{"cores": 9, "fixed_ips": 3})
		got, err = s.UserQuotas(ctx, "p1", "u1")
		dbtest.Must(t, err)
		dbtest.Same(t, got, map[string]int{"ram": 100})
		got, err = s.UserQuotaSums(ctx, "p1")
		dbtest.Must(t, err)
		dbtest.Same(t, got, map[string]int{"ram": 150, "cores": -1})

		dbtest.Must(t, s.DeleteUserQuotas(ctx, "p1", "u2"))
		got, err = s.UserQuotaSums(ctx, "p1")
		dbtest.Must(t, err)
		dbtest.Same(t, got, map[string]int{"ram": 100})
		dbtest.Must(t, s.DeleteProjectQuotas(ctx, "p1"))
		for _, read := range []func() (map[string]int, error){
			func() (map[string]int, error) { return s.ProjectQuotas(ctx, "p1") },
			func() (map[string]int, error) { return s.UserQuotas(ctx, "p1", "u1") },
		} {
			got, err = read()
			dbtest.Must(t, err)
			dbtest.Same(t, got, map[string]int{})
		}
		got, err = s.ProjectQuotas(ctx, "p2")
		dbtest.Must(t, err)
		dbtest.Same(t, got, map[string]int{"cores": 1})

		dbtest.Must(t, s.SetClassQuotas(ctx, "default", map[string]int{"instances": 20, "key_pairs": 5}, base))
		dbtest.Must(t, s.SetClassQuotas(ctx, "default", map[string]int{"instances": 30}, base))
		got, err = s.ClassQuotas(ctx, "default")
		dbtest.Must(t, err)
		dbtest.Same(t, got, map[string]int{"instances": 30, "key_pairs": 5})
	})
}

// TestManyFlavorsSpecsInBatches lists more flavors than one batch of extra
// spec reads covers.
func TestManyFlavorsSpecsInBatches(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *computesql.Store) {
		ctx := context.Background()
		for i := range 520 {
			f := flavor(fmt.Sprintf("f%04d", i), fmt.Sprintf("n%04d", i), 1, 1)
			f.ExtraSpecs = map[string]string{"i": fmt.Sprint(i)}
			mkFlavor(t, s, f)
		}
		fs, err := s.ListFlavors(ctx, compute.FlavorFilter{Scope: compute.FlavorScope{All: true}, SortKey: "flavorid"})
		dbtest.Must(t, err)
		if len(fs) != 520 || fs[519].ExtraSpecs["i"] != "519" || fs[0].ExtraSpecs["i"] != "0" {
			t.Fatalf("listed %d flavors; last specs %v", len(fs), fs[len(fs)-1].ExtraSpecs)
		}
	})
}
