// Package computesql is compute.Store on SQL: one schema and one code path
// for SQLite, MySQL/MariaDB and PostgreSQL, through internal/db.
//
// Conventions every method follows:
//
//   - A method runs in one transaction, reads included (a flavor is read with
//     its extra specs).
//   - A missing row is compute.ErrNotFound and a unique clash
//     compute.ErrConflict, both wrapped with what was being done.
//   - Flavors are addressed by their API id (flavorid); the internal id only
//     orders them and links their extra specs and access lists.
//   - Text sorts in byte order on every engine; NULLs sort first ascending,
//     as on nova's reference engine, MySQL.
//   - Times are kept to the microsecond.
package computesql

import (
	"context"
	"embed"

	"github.com/nimbus-cloud/nimbus/internal/compute"
	"github.com/nimbus-cloud/nimbus/internal/db"
)

// ServiceName is the service the migrations are recorded under by db.Migrate.
const ServiceName = "compute"

//go:embed migrations/*.sql
var migrationFS embed.FS

// Migrations returns the compute schema's migrations, oldest first.
func Migrations() ([]db.Migration, error) {
	return db.LoadMigrations(migrationFS, "migrations")
}

// Store is compute.Store on a db.DB migrated with Migrations.
type Store struct {
	d *db.DB
}

var _ compute.Store = (*Store)(nil)

// New returns a Store on d.
func New(d *db.DB) *Store { return &Store{d: d} }

// writeErr classifies the error of a statement that writes: a unique clash is
// ErrConflict and a reference to a missing row ErrNotFound. The engine's error
// stays in the chain.
func writeErr(err error) error {
	return db.Classify(err, compute.ErrConflict, compute.ErrNotFound)
}

// deleteSome runs a delete that must remove a row: none removed is
// ErrNotFound.
func deleteSome(ctx context.Context, q db.Querier, query string, args ...any) error {
	return db.ExecOne(ctx, q, compute.ErrNotFound, query, args...)
}
