package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// Where collects the conditions of a list query. Column names and operators come
// from the caller's code; every value is a placeholder argument.
type Where struct {
	Conds []string
	Args  []any
	// None is set by an empty id set: the query can match nothing.
	None bool
}

// Add appends a condition with its arguments.
func (w *Where) Add(cond string, args ...any) {
	w.Conds = append(w.Conds, cond)
	w.Args = append(w.Args, args...)
}

// Eq adds col = v when v is not "".
func (w *Where) Eq(col, v string) {
	if v != "" {
		w.Add(col+" = ?", v)
	}
}

// Flag adds col = *v when v is set.
func (w *Where) Flag(col string, v *bool) {
	if v != nil {
		w.Add(col+" = ?", *v)
	}
}

// In adds col IN (vs...): nil vs adds nothing, an empty one matches nothing.
func (w *Where) In(col string, vs []string) {
	if vs == nil {
		return
	}
	if len(vs) == 0 {
		w.None = true
		return
	}
	w.Add(col+" IN ("+Placeholders(len(vs))+")", Args(vs)...)
}

// String renders " WHERE a AND b", or "" without conditions.
func (w *Where) String() string {
	if len(w.Conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.Conds, " AND ")
}

// Collate makes a text expression compare and sort in byte order: MySQL tables
// use a binary collation and SQLite compares bytes, while PostgreSQL follows the
// database's locale unless told "C".
func Collate(e Engine, expr string) string {
	if e == Postgres {
		return expr + ` COLLATE "C"`
	}
	return expr
}

// OrderBy renders an ascending ORDER BY over text columns in byte order.
func OrderBy(e Engine, cols ...string) string {
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = Collate(e, c)
	}
	return " ORDER BY " + strings.Join(parts, ", ")
}

// InsertIgnore renders an insert that does nothing when the row's key exists,
// while still failing on other constraints (foreign keys). MySQL has no
// ON CONFLICT, and INSERT IGNORE would hide foreign key errors too.
func InsertIgnore(e Engine, table string, cols ...string) string {
	q := "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES (" + Placeholders(len(cols)) + ")"
	if e == MySQL {
		return q + " ON DUPLICATE KEY UPDATE " + cols[0] + " = " + cols[0]
	}
	return q + " ON CONFLICT DO NOTHING"
}

// Exists reports whether query returns a row.
func Exists(ctx context.Context, q Querier, query string, args ...any) (bool, error) {
	var one int
	err := q.QueryRowContext(ctx, query, args...).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// Affected returns the rows a statement touched.
func Affected(res sql.Result) (int64, error) {
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("rows affected: %w", err)
	}
	return n, nil
}

// ForUpdate locks the rows a SELECT reads until the transaction ends, on the
// engines that take row locks; SQLite already holds the whole database.
func ForUpdate(e Engine) string {
	if e == SQLite {
		return ""
	}
	return " FOR UPDATE"
}

// Classify marks err, an engine's error from a write, with a service's own
// sentinels: conflict for a unique clash, missing for a reference to a row
// that does not exist. The engine's error stays in the chain; other errors
// pass unchanged.
func Classify(err, conflict, missing error) error {
	switch {
	case err == nil:
		return nil
	case IsDuplicate(err):
		return fmt.Errorf("%w: %w", conflict, err)
	case IsForeignKey(err):
		return fmt.Errorf("%w: %w", missing, err)
	}
	return err
}

// ExecOne runs a statement that must change a row (a delete, mostly); when it
// changes none the error is none.
func ExecOne(ctx context.Context, q Querier, none error, query string, args ...any) error {
	res, err := q.ExecContext(ctx, query, args...)
	if err != nil {
		return err
	}
	n, err := Affected(res)
	if err != nil {
		return err
	}
	if n == 0 {
		return none
	}
	return nil
}
