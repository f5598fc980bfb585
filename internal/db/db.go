// Package db opens the relational store of a service by connection URL and gives
// every engine (SQLite, MySQL/MariaDB, PostgreSQL) one code path: queries are written
// with '?' placeholders, transactions are closures retried on transient conflicts,
// and engine errors are classified into a few sentinel kinds.
package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Engine names the SQL engine behind a DB.
type Engine string

// The supported engines.
const (
	SQLite   Engine = "sqlite"
	MySQL    Engine = "mysql"
	Postgres Engine = "postgresql"
)

// Sentinel errors returned (wrapped) by queries; services map them to their own.
var (
	// ErrDuplicate reports a unique or primary key violation.
	ErrDuplicate = errors.New("duplicate entry")
	// ErrForeignKey reports a foreign key violation.
	ErrForeignKey = errors.New("foreign key violation")
	// ErrNoRows is returned by QueryRow scans that find nothing.
	ErrNoRows = sql.ErrNoRows
)

// Querier is what DB and Tx have in common: queries with '?' placeholders.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	// Engine is the engine the queries run on, for the rare engine-specific SQL.
	Engine() Engine
}

// DB is a connection pool to one service's schema.
type DB struct {
	sql    *sql.DB
	engine Engine
	name   string // database (or file) name, for messages
	// stmts keeps statements prepared (SQLite only); nil: none kept.
	stmts *stmtCache
}

// Engine returns the engine of the pool.
func (d *DB) Engine() Engine { return d.engine }

// SQL returns the underlying pool, for tools that need it (migrations, tests).
func (d *DB) SQL() *sql.DB { return d.sql }

// Close closes the pool.
func (d *DB) Close() error {
	if d.stmts != nil {
		d.stmts.close()
	}
	return d.sql.Close()
}

// stmt is the cached prepared statement of q, nil when none is kept.
func (d *DB) stmt(ctx context.Context, q string) *sql.Stmt {
	if d.stmts == nil {
		return nil
	}
	return d.stmts.get(ctx, q)
}

// ExecContext runs a statement written with '?' placeholders.
func (d *DB) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	q = rebind(d.engine, q)
	if st := d.stmt(ctx, q); st != nil {
		res, err := st.ExecContext(ctx, args...)
		return res, classify(d.engine, err)
	}
	res, err := d.sql.ExecContext(ctx, q, args...)
	return res, classify(d.engine, err)
}

// QueryContext runs a query written with '?' placeholders.
func (d *DB) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	q = rebind(d.engine, q)
	if st := d.stmt(ctx, q); st != nil {
		rows, err := st.QueryContext(ctx, args...)
		return rows, classify(d.engine, err)
	}
	rows, err := d.sql.QueryContext(ctx, q, args...)
	return rows, classify(d.engine, err)
}

// QueryRowContext runs a query expected to return at most one row.
func (d *DB) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	q = rebind(d.engine, q)
	if st := d.stmt(ctx, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return d.sql.QueryRowContext(ctx, q, args...)
}

// Tx is a transaction with the same '?' placeholder convention as DB.
type Tx struct {
	tx     *sql.Tx
	engine Engine
	db     *DB
}

// stmt is q's cached statement borrowed by the transaction, nil when none
// is kept yet.
func (t *Tx) stmt(ctx context.Context, q string) *sql.Stmt {
	if t.db.stmts == nil {
		return nil
	}
	if st := t.db.stmts.lookup(q); st != nil {
		return t.tx.StmtContext(ctx, st)
	}
	return nil
}

// Engine returns the engine of the transaction.
func (t *Tx) Engine() Engine { return t.engine }

// ExecContext runs a statement inside the transaction.
func (t *Tx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	q = rebind(t.engine, q)
	if st := t.stmt(ctx, q); st != nil {
		res, err := st.ExecContext(ctx, args...)
		return res, classify(t.engine, err)
	}
	res, err := t.tx.ExecContext(ctx, q, args...)
	return res, classify(t.engine, err)
}

// QueryContext runs a query inside the transaction.
func (t *Tx) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	q = rebind(t.engine, q)
	if st := t.stmt(ctx, q); st != nil {
		rows, err := st.QueryContext(ctx, args...)
		return rows, classify(t.engine, err)
	}
	rows, err := t.tx.QueryContext(ctx, q, args...)
	return rows, classify(t.engine, err)
}

// QueryRowContext runs a single-row query inside the transaction.
func (t *Tx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	q = rebind(t.engine, q)
	if st := t.stmt(ctx, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return t.tx.QueryRowContext(ctx, q, args...)
}

// maxAttempts bounds the retries of a transaction that hit a transient conflict.
const maxAttempts = 8

// InTx runs fn in a transaction and commits it when fn returns nil. A transaction
// that fails on a transient conflict (deadlock, serialization failure, busy SQLite
// file) is rolled back and run again, so fn must have no side effects outside tx.
func (d *DB) InTx(ctx context.Context, fn func(tx *Tx) error) error {
	var err error
	for attempt := 0; attempt < maxAttempts; attempt++ {
		if attempt > 0 {
			backoff := time.Duration(attempt*attempt) * 2 * time.Millisecond
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(backoff):
			}
		}
		err = d.inTxOnce(ctx, fn)
		if err == nil || !IsRetryable(err) {
			return err
		}
	}
	return fmt.Errorf("transaction gave up after %d attempts: %w", maxAttempts, err)
}

func (d *DB) inTxOnce(ctx context.Context, fn func(tx *Tx) error) (err error) {
	stx, err := d.sql.BeginTx(ctx, nil)
	if err != nil {
		return classify(d.engine, err)
	}
	tx := &Tx{tx: stx, engine: d.engine, db: d}
	defer func() {
		if p := recover(); p != nil {
			_ = stx.Rollback()
			panic(p)
		}
		if err != nil {
			_ = stx.Rollback()
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	return classify(d.engine, stx.Commit())
}

// rebind turns '?' placeholders into the engine's own. Question marks inside
// single-quoted literals are left alone.
func rebind(e Engine, q string) string {
	if e != Postgres || !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 8)
	n := 0
	inQuote := false
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c == '\'':
			inQuote = !inQuote
			b.WriteByte(c)
		case c == '?' && !inQuote:
			n++
			b.WriteByte('$')
			b.WriteString(itoa(n))
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return fmt.Sprint(n)
}

// Placeholders returns "?, ?, ?" with n marks, for IN lists.
func Placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?, ", n-1) + "?"
}

// Args converts a slice into a []any for variadic query arguments.
func Args[T any](vs []T) []any {
	out := make([]any, len(vs))
	for i, v := range vs {
		out[i] = v
	}
	return out
}
