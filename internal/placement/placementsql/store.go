// Package placementsql is placement.Store on SQL: one schema and one code path
// for SQLite, MySQL/MariaDB and PostgreSQL, through internal/db.
//
// Conventions every method follows:
//
//   - Reads outside a transaction run on the pool, statement by statement;
//     writes run inside Update's transaction.
//   - A missing row is placement.ErrNotFound and a unique clash
//     placement.ErrConflict, both wrapped with what was being done; a failed
//     generation compare-and-set is placement.ErrStale.
//   - Resource class and trait names are joined in SQL, never cached: another
//     process may create or delete them at any time.
//   - Long id lists are sent in chunks, under every engine's limit of bound
//     parameters.
package placementsql

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/db"
	"github.com/nimbus-cloud/nimbus/internal/placement"
)

// ServiceName is the service the migrations are recorded under by db.Migrate.
const ServiceName = "placement"

//go:embed migrations/*.sql
var migrationFS embed.FS

// Migrations returns the placement schema's migrations, oldest first.
func Migrations() ([]db.Migration, error) {
	return db.LoadMigrations(migrationFS, "migrations")
}

// Store is placement.Store on a db.DB migrated with Migrations.
type Store struct {
	d *db.DB
}

var _ placement.Store = (*Store)(nil)

// New returns a Store on d.
func New(d *db.DB) *Store { return &Store{d: d} }

// Reader returns the store's reads, each statement on its own.
func (s *Store) Reader() placement.Reader { return &conn{q: s.d} }

// Update runs fn in one transaction.
func (s *Store) Update(ctx context.Context, fn func(tx placement.Tx) error) error {
	return s.d.InTx(ctx, func(tx *db.Tx) error { return fn(&conn{q: tx}) })
}

// conn runs the store's statements on a pool or a transaction.
type conn struct {
	q db.Querier
}

var _ placement.Tx = (*conn)(nil)

func (c *conn) engine() db.Engine { return c.q.Engine() }

// chunk is the most ids bound in one statement.
const chunk = 2000

// chunks splits ids into slices of at most chunk elements.
func chunks[T any](ids []T) [][]T {
	var out [][]T
	for len(ids) > chunk {
		out = append(out, ids[:chunk])
		ids = ids[chunk:]
	}
	if len(ids) > 0 {
		out = append(out, ids)
	}
	return out
}

// insertID runs an insert and returns the id the engine gave the new row.
func (c *conn) insertID(ctx context.Context, query string, args ...any) (int64, error) {
	if c.engine() == db.Postgres {
		var id int64
		if err := c.q.QueryRowContext(ctx, query+" RETURNING id", args...).Scan(&id); err != nil {
			return 0, writeErr(err)
		}
		return id, nil
	}
	res, err := c.q.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, writeErr(err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, fmt.Errorf("read inserted id: %w", err)
	}
	return id, nil
}

// writeErr classifies the error of a statement that writes: a unique clash
// is ErrConflict and a reference to a missing row ErrNotFound.
func writeErr(err error) error {
	return db.Classify(err, placement.ErrConflict, placement.ErrNotFound)
}

// notFound maps sql.ErrNoRows to placement.ErrNotFound.
func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, placement.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// affectedOne fails with ErrStale unless the statement changed one row.
func affectedOne(res sql.Result, err error) error {
	if err != nil {
		return writeErr(err)
	}
	n, err := db.Affected(res)
	if err != nil {
		return err
	}
	if n != 1 {
		return placement.ErrStale
	}
	return nil
}

func ts(t time.Time) db.Time { return db.At(t) }

// queryRows runs a query and calls scan for every row.
func (c *conn) queryRows(ctx context.Context, query string, args []any, scan func(*sql.Rows) error) error {
	rows, err := c.q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// exists reports whether a query returns a row.
func (c *conn) exists(ctx context.Context, query string, args ...any) (bool, error) {
	return db.Exists(ctx, c.q, query, args...)
}
