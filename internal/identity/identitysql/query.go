package identitysql

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

// orderBy renders an ORDER BY over text columns in byte order on every engine:
// MySQL tables use a binary collation and SQLite compares bytes, while PostgreSQL
// sorts by the database's locale unless told "C".
func orderBy(e db.Engine, cols ...string) string {
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = c
		if e == db.Postgres {
			parts[i] += ` COLLATE "C"`
		}
	}
	return " ORDER BY " + strings.Join(parts, ", ")
}

// insertIgnore renders an insert that does nothing when the row's key exists,
// while still failing on other constraints (foreign keys). MySQL has no
// ON CONFLICT, and INSERT IGNORE would hide foreign key errors too.
func insertIgnore(e db.Engine, table string, cols ...string) string {
	q := "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES (" + db.Placeholders(len(cols)) + ")"
	if e == db.MySQL {
		return q + " ON DUPLICATE KEY UPDATE " + cols[0] + " = " + cols[0]
	}
	return q + " ON CONFLICT DO NOTHING"
}
