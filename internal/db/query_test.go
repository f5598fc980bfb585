package db_test

import (
	"reflect"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/db"
)

func TestWhere(t *testing.T) {
	t.Parallel()
	yes := true
	var w db.Where
	w.Eq("name", "a")
	w.Eq("skipped", "")
	w.Flag("enabled", &yes)
	w.Flag("skipped", nil)
	w.In("id", []string{"1", "2"})
	w.In("skipped", nil)
	if got, want := w.String(), " WHERE name = ? AND enabled = ? AND id IN (?, ?)"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	if want := []any{"a", true, "1", "2"}; !reflect.DeepEqual(w.Args, want) || w.None {
		t.Errorf("Args = %v, None = %v", w.Args, w.None)
	}
	var empty db.Where
	empty.In("id", []string{})
	if !empty.None || empty.String() != "" {
		t.Errorf("an empty id set: None = %v, String = %q", empty.None, empty.String())
	}
}

func TestEngineSpelling(t *testing.T) {
	t.Parallel()
	if got := db.OrderBy(db.Postgres, "a", "b"); got != ` ORDER BY a COLLATE "C", b COLLATE "C"` {
		t.Errorf("postgres OrderBy = %q", got)
	}
	if got := db.OrderBy(db.MySQL, "a"); got != " ORDER BY a" {
		t.Errorf("mysql OrderBy = %q", got)
	}
	if got := db.InsertIgnore(db.MySQL, "t", "a", "b"); got != "INSERT INTO t (a, b) VALUES (?, ?) ON DUPLICATE KEY UPDATE a = a" {
		t.Errorf("mysql InsertIgnore = %q", got)
	}
	if got := db.InsertIgnore(db.SQLite, "t", "a"); got != "INSERT INTO t (a) VALUES (?) ON CONFLICT DO NOTHING" {
		t.Errorf("sqlite InsertIgnore = %q", got)
	}
}
