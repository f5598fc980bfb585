package imagesql

import (
	"strings"

	"github.com/nimbus-cloud/nimbus/internal/db"
)

// where collects the conditions of a list query. Column names and operators come
// from this package's code; every value is a placeholder argument.
type where struct {
	conds []string
	args  []any
	// none is set by an empty id set: the query can match nothing.
	none bool
}

// add appends a condition with its arguments.
func (w *where) add(cond string, args ...any) {
	w.conds = append(w.conds, cond)
	w.args = append(w.args, args...)
}

// eq adds col = v when v is not "".
func (w *where) eq(col, v string) {
	if v != "" {
		w.add(col+" = ?", v)
	}
}

// flag adds col = *v when v is set.
func (w *where) flag(col string, v *bool) {
	if v != nil {
		w.add(col+" = ?", *v)
	}
}

// in adds col IN (vs...): nil vs adds nothing, an empty one matches nothing.
func (w *where) in(col string, vs []string) {
	if vs == nil {
		return
	}
	if len(vs) == 0 {
		w.none = true
		return
	}
	w.add(col+" IN ("+db.Placeholders(len(vs))+")", db.Args(vs)...)
}

// String renders " WHERE a AND b", or "" without conditions.
func (w *where) String() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// collate makes a text expression compare and sort in byte order: MySQL tables
// use a binary collation and SQLite compares bytes, while PostgreSQL follows the
// database's locale unless told "C".
func collate(e db.Engine, expr string) string {
	if e == db.Postgres {
		return expr + ` COLLATE "C"`
	}
	return expr
}

// orderBy renders an ascending ORDER BY over text columns in byte order.
func orderBy(e db.Engine, cols ...string) string {
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = collate(e, c)
	}
	return " ORDER BY " + strings.Join(parts, ", ")
}
