// Package imagesql is image.Store on SQL: one schema and one code path for
// SQLite, MySQL/MariaDB and PostgreSQL, through internal/db.
//
// Conventions every method follows:
//
//   - A method that runs more than one statement runs in one transaction, reads
//     included (an image is read with its tags and properties).
//   - A missing row is image.ErrNotFound and a unique clash image.ErrConflict,
//     both wrapped with what was being done. A member of a missing image is
//     ErrNotFound.
//   - UpdateImage replaces every stored field of the image, tags and properties
//     included; callers read, modify and write back.
//   - Tags are nil when there are none, sorted otherwise, duplicates collapsed;
//     Properties and Stores are nil when empty. CreatedAt and UpdatedAt are
//     required (ErrValidation when zero) and kept to the microsecond.
//   - Text sorts in byte order on every engine. A NULL size or virtual_size
//     sorts before every known size, on every engine.
//   - In filters, a nil IDs matches everything and a non-nil empty one nothing.
package imagesql

import (
	"context"
	"embed"
	"slices"

	"github.com/nimbus-cloud/nimbus/internal/db"
	"github.com/nimbus-cloud/nimbus/internal/image"
)

// ServiceName is the service the migrations are recorded under by db.Migrate.
const ServiceName = "image"

//go:embed migrations/*.sql
var migrationFS embed.FS

// Migrations returns the image schema's migrations, oldest first.
func Migrations() ([]db.Migration, error) {
	return db.LoadMigrations(migrationFS, "migrations")
}

// Store is image.Store on a db.DB migrated with Migrations.
type Store struct {
	d *db.DB
}

var _ image.Store = (*Store)(nil)

// New returns a Store on d.
func New(d *db.DB) *Store { return &Store{d: d} }

// writeErr classifies the error of a statement that writes: a unique clash is
// ErrConflict and a reference to a missing row ErrNotFound. The engine's error
// stays in the chain.
func writeErr(err error) error {
	return db.Classify(err, image.ErrConflict, image.ErrNotFound)
}

// deleteOne runs a delete that must remove a row: none removed is ErrNotFound.
func deleteOne(ctx context.Context, q db.Querier, query string, args ...any) error {
	return db.ExecOne(ctx, q, image.ErrNotFound, query, args...)
}

// uniqueSorted returns the distinct values of vs in order, nil when there are none.
func uniqueSorted(vs []string) []string {
	if len(vs) == 0 {
		return nil
	}
	out := slices.Clone(vs)
	slices.Sort(out)
	return slices.Compact(out)
}
