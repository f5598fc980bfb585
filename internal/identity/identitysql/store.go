// Package identitysql is identity.Store on SQL: one schema and one code path for
// SQLite, MySQL/MariaDB and PostgreSQL, through internal/db.
//
// Conventions every method follows:
//
//   - A method that writes more than one statement runs in one transaction; reads
//     are single statements (tags and role lists are joined in), so they see one
//     snapshot without taking a transaction.
//   - A missing row is identity.ErrNotFound and a unique clash identity.ErrConflict,
//     both wrapped with what was being done. A create or update that names a row
//     that does not exist (a project's domain, a membership's user) is ErrNotFound.
//   - Update* replaces every stored field of the row, tags included, with the
//     given value; callers read, modify and write back.
//   - Lists are ordered by id (byte order on every engine) and are nil when nothing
//     matches. Tags and RoleIDs are nil when there are none, sorted otherwise;
//     duplicate tags or role ids collapse into one. Empty Options and Extra maps are
//     stored as NULL and read back as nil.
//   - In filters, a nil id set (IDs, Types, ActorIDs, TargetIDs, RoleIDs) matches
//     everything and a non-nil empty one matches nothing. Empty tag sets do not
//     filter.
package identitysql

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/nimbus-cloud/nimbus/internal/db"
	"github.com/nimbus-cloud/nimbus/internal/identity"
)

// ServiceName is the service the migrations are recorded under by db.Migrate.
const ServiceName = "identity"

//go:embed migrations/*.sql
var migrationFS embed.FS

// Migrations returns the identity schema's migrations, oldest first.
func Migrations() ([]db.Migration, error) {
	return db.LoadMigrations(migrationFS, "migrations")
}

// Store is identity.Store on a db.DB migrated with Migrations.
type Store struct {
	d *db.DB
}

var _ identity.Store = (*Store)(nil)

// New returns a Store on d.
func New(d *db.DB) *Store { return &Store{d: d} }

// writeErr classifies the error of a statement that writes: a unique clash is
// ErrConflict and a reference to a missing row ErrNotFound. The engine's error
// stays in the chain.
func writeErr(err error) error {
	return db.Classify(err, identity.ErrConflict, identity.ErrNotFound)
}

// deleteErr classifies the error of a delete: a row still referenced is ErrConflict.
func deleteErr(err error) error {
	if db.IsForeignKey(err) {
		return fmt.Errorf("%w: %w", identity.ErrConflict, err)
	}
	return err
}

// exec runs statements in order on q, stopping at the first error.
func exec(ctx context.Context, q db.Querier, stmts ...stmt) error {
	for _, s := range stmts {
		if _, err := q.ExecContext(ctx, s.q, s.args...); err != nil {
			return err
		}
	}
	return nil
}

// stmt is one statement with its arguments.
type stmt struct {
	q    string
	args []any
}

func st(q string, args ...any) stmt { return stmt{q: q, args: args} }

// deleteOne runs a delete that must remove a row: none removed is ErrNotFound.
func deleteOne(ctx context.Context, q db.Querier, query string, args ...any) error {
	return deleteErr(db.ExecOne(ctx, q, identity.ErrNotFound, query, args...))
}

// updateOne runs an update of the row of table with id. MySQL counts only rows
// that changed, so when none did the row's existence decides between success and
// ErrNotFound. table is one of this package's table names.
func updateOne(ctx context.Context, q db.Querier, table, id, query string, args ...any) error {
	res, err := q.ExecContext(ctx, query, args...)
	if err != nil {
		return writeErr(err)
	}
	n, err := db.Affected(res)
	if err != nil || n > 0 {
		return err
	}
	ok, err := db.Exists(ctx, q, "SELECT 1 FROM "+table+" WHERE id = ?", id)
	if err != nil {
		return err
	}
	if !ok {
		return identity.ErrNotFound
	}
	return nil
}

// nullable stores "" as NULL, for optional references.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// encodeMap stores a map as JSON text, and an empty one as NULL.
func encodeMap(m map[string]any) (any, error) {
	if len(m) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("%w: encode map: %w", identity.ErrValidation, err)
	}
	return string(b), nil
}

// decodeMap reads a map stored by encodeMap.
func decodeMap(s sql.NullString) (map[string]any, error) {
	if !s.Valid || s.String == "" {
		return nil, nil
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(s.String), &m); err != nil {
		return nil, fmt.Errorf("decode stored map: %w", err)
	}
	if len(m) == 0 {
		return nil, nil
	}
	return m, nil
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
