package identitysql_test

import (
	"context"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/db"
	"github.com/nimbus-cloud/nimbus/internal/db/dbtest"
	"github.com/nimbus-cloud/nimbus/internal/identity"
	"github.com/nimbus-cloud/nimbus/internal/identity/identitysql"
)

// forEachStore runs fn on a fresh, migrated store per available engine; d is the
// same database, for checks of rows the Store does not expose.
func forEachStore(t *testing.T, fn func(t *testing.T, s *identitysql.Store, d *db.DB)) {
	t.Helper()
	ms, err := identitysql.Migrations()
	if err != nil {
		t.Fatalf("load migrations: %v", err)
	}
	dbtest.ForEachEngine(t, identitysql.ServiceName, ms, func(t *testing.T, d *db.DB) {
		fn(t, identitysql.New(d), d)
	})
}

func TestMigrations(t *testing.T) {
	t.Parallel()
	ms, err := identitysql.Migrations()
	if err != nil {
		t.Fatalf("Migrations: %v", err)
	}
	if len(ms) == 0 || ms[0].Version != 1 {
		t.Fatalf("Migrations = %d, first version %v; want version 1 first", len(ms), ms)
	}
	forEachStore(t, func(t *testing.T, _ *identitysql.Store, d *db.DB) {
		v, err := db.Migrate(context.Background(), d, identitysql.ServiceName, ms)
		if err != nil || v != ms[len(ms)-1].Version {
			t.Fatalf("second Migrate = %d, %v; want %d and no error", v, err, ms[len(ms)-1].Version)
		}
	})
}

// count returns the single integer a query returns.
func count(t *testing.T, d *db.DB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := d.QueryRowContext(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func ptr[T any](v T) *T { return &v }

// idsOf returns the ids of a list, in order; nil for an empty list.
func idsOf[T any](xs []T, id func(T) string) []string {
	var out []string
	for _, x := range xs {
		out = append(out, id(x))
	}
	return out
}

// Fixture makers: they fail the test when the store refuses the row.

func mkDomain(t *testing.T, s *identitysql.Store, id string) identity.Domain {
	t.Helper()
	d := identity.Domain{ID: id, Name: "domain-" + id, Enabled: true}
	dbtest.Must(t, s.CreateDomain(context.Background(), d))
	return d
}

func mkProject(t *testing.T, s *identitysql.Store, id, domainID, parentID string, tags ...string) identity.Project {
	t.Helper()
	p := identity.Project{ID: id, Name: "project-" + id, DomainID: domainID, ParentID: parentID, Enabled: true, Tags: tags}
	dbtest.Must(t, s.CreateProject(context.Background(), p))
	return p
}

func mkUser(t *testing.T, s *identitysql.Store, id, domainID string) identity.User {
	t.Helper()
	u := identity.User{ID: id, Name: "user-" + id, DomainID: domainID, Enabled: true}
	dbtest.Must(t, s.CreateUser(context.Background(), u))
	return u
}

func mkGroup(t *testing.T, s *identitysql.Store, id, domainID string) identity.Group {
	t.Helper()
	g := identity.Group{ID: id, Name: "group-" + id, DomainID: domainID}
	dbtest.Must(t, s.CreateGroup(context.Background(), g))
	return g
}

func mkRole(t *testing.T, s *identitysql.Store, id, domainID string) identity.Role {
	t.Helper()
	r := identity.Role{ID: id, Name: "role-" + id, DomainID: domainID}
	dbtest.Must(t, s.CreateRole(context.Background(), r))
	return r
}

func domainID(d identity.Domain) string   { return d.ID }
func projectID(p identity.Project) string { return p.ID }
func userID(u identity.User) string       { return u.ID }
func groupID(g identity.Group) string     { return g.ID }
func roleID(r identity.Role) string       { return r.ID }
