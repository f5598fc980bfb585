package db_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/db"
	"github.com/nimbus-cloud/nimbus/internal/db/dbtest"
)

var testFS = fstest.MapFS{
	"m/001_init.sql": {Data: []byte(`
-- a comment line
CREATE TABLE item (
    id VARCHAR(64) NOT NULL PRIMARY KEY,
    name VARCHAR(255) NOT NULL,
    n INTEGER NOT NULL DEFAULT 0,
    flag BOOLEAN NOT NULL DEFAULT FALSE,
    payload ${BLOB},
    created_at BIGINT,
    UNIQUE (name)
)${TABLE};
CREATE TABLE child (
    seq ${AUTOID},
    item_id VARCHAR(64) NOT NULL,
    FOREIGN KEY (item_id) REFERENCES item (id)
)${TABLE};
`)},
	"m/002_more.sql": {Data: []byte(`ALTER TABLE item ADD COLUMN note VARCHAR(255);`)},
}

func migrations(t *testing.T) []db.Migration {
	t.Helper()
	ms, err := db.LoadMigrations(testFS, "m")
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

func TestStore(t *testing.T) {
	ms := migrations(t)
	dbtest.ForEachEngine(t, "test", ms, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		if v, err := db.Version(ctx, d, "test"); err != nil || v != 2 {
			t.Fatalf("version = %d, %v; want 2", v, err)
		}
		if v, err := db.Migrate(ctx, d, "test", ms); err != nil || v != 2 {
			t.Fatalf("second migrate = %d, %v; want 2 and no error", v, err)
		}

		at := time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC)
		err := d.InTx(ctx, func(tx *db.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO item (id, name, flag, payload, created_at) VALUES (?, ?, ?, ?, ?)`,
				"a", "first", true, []byte{0, 1, 2, 255}, db.At(at))
			return err
		})
		if err != nil {
			t.Fatalf("insert: %v", err)
		}

		var (
			name    string
			flag    bool
			payload []byte
			created db.Time
			note    *string
		)
		err = d.QueryRowContext(ctx, `SELECT name, flag, payload, created_at, note FROM item WHERE id = ? AND name = ?`, "a", "first").
			Scan(&name, &flag, &payload, &created, &note)
		if err != nil {
			t.Fatalf("select: %v", err)
		}
		if name != "first" || !flag || string(payload) != "\x00\x01\x02\xff" || !created.Equal(at) || note != nil {
			t.Fatalf("round trip = %q %v %v %v %v", name, flag, payload, created, note)
		}

		_, err = d.ExecContext(ctx, `INSERT INTO item (id, name) VALUES (?, ?)`, "b", "first")
		if !db.IsDuplicate(err) {
			t.Errorf("duplicate name: got %v, want ErrDuplicate", err)
		}
		conflict, missing := errors.New("conflict"), errors.New("missing")
		if err := db.Classify(err, conflict, missing); !errors.Is(err, conflict) || !db.IsDuplicate(err) {
			t.Errorf("Classify(duplicate) = %v, want conflict with the engine's error kept", err)
		}
		_, err = d.ExecContext(ctx, `INSERT INTO child (item_id) VALUES (?)`, "missing")
		if !db.IsForeignKey(err) {
			t.Errorf("dangling child: got %v, want ErrForeignKey", err)
		}
		if err := db.Classify(err, conflict, missing); !errors.Is(err, missing) {
			t.Errorf("Classify(dangling reference) = %v, want missing", err)
		}
		if err := db.ExecOne(ctx, d, missing, `DELETE FROM item WHERE id = ?`, "nothing"); !errors.Is(err, missing) {
			t.Errorf("ExecOne deleting nothing = %v, want missing", err)
		}

		// A failed transaction leaves nothing behind.
		boom := errors.New("boom")
		err = d.InTx(ctx, func(tx *db.Tx) error {
			if _, err := tx.ExecContext(ctx, `INSERT INTO item (id, name) VALUES (?, ?)`, "c", "third"); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InTx error = %v, want boom", err)
		}
		var n int
		if err := d.QueryRowContext(ctx, `SELECT COUNT(*) FROM item WHERE id = ?`, "c").Scan(&n); err != nil || n != 0 {
			t.Fatalf("rolled-back row count = %d, %v", n, err)
		}
	})
}

func TestConcurrentIncrements(t *testing.T) {
	dbtest.ForEachEngine(t, "test", migrations(t), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		if _, err := d.ExecContext(ctx, `INSERT INTO item (id, name) VALUES ('x', 'x')`); err != nil {
			t.Fatal(err)
		}
		const workers, each = 4, 10
		var wg sync.WaitGroup
		errs := make(chan error, workers*each)
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < each; i++ {
					errs <- d.InTx(ctx, func(tx *db.Tx) error {
						var n int
						q := `SELECT n FROM item WHERE id = ?`
						if tx.Engine() != db.SQLite {
							q += ` FOR UPDATE`
						}
						if err := tx.QueryRowContext(ctx, q, "x").Scan(&n); err != nil {
							return err
						}
						_, err := tx.ExecContext(ctx, `UPDATE item SET n = ? WHERE id = ?`, n+1, "x")
						return err
					})
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("increment: %v", err)
			}
		}
		var n int
		if err := d.QueryRowContext(ctx, `SELECT n FROM item WHERE id = 'x'`).Scan(&n); err != nil || n != workers*each {
			t.Fatalf("n = %d, %v; want %d", n, err, workers*each)
		}
	})
}

func TestParse(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, url string
		engine    db.Engine
		database  string
		redacted  string
		wantErr   bool
	}{
		{"sqlite absolute", "sqlite:////var/lib/nimbus/identity.db", db.SQLite, "/var/lib/nimbus/identity.db", "sqlite:////var/lib/nimbus/identity.db", false},
		{"sqlite relative", "sqlite:///identity.db", db.SQLite, "identity.db", "sqlite:///identity.db", false},
		{"pymysql", "mysql+pymysql://nova:s3cret@controller/nova", db.MySQL, "nova", "mysql+pymysql://nova:***@controller/nova", false},
		{"mysql port", "mysql://root@127.0.0.1:3306/x", db.MySQL, "x", "mysql://root@127.0.0.1:3306/x", false},
		{"postgres", "postgresql+psycopg2://u:pw@h:5432/nimbus", db.Postgres, "nimbus", "postgresql+psycopg2://u:***@h:5432/nimbus", false},
		{"no scheme", "controller/nova", "", "", "", true},
		{"oracle", "oracle://u:p@h/x", "", "", "", true},
		{"mysql no db", "mysql://u:p@h/", "", "", "", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got, err := db.Parse(c.url)
			if c.wantErr {
				if err == nil {
					t.Fatalf("Parse(%q) succeeded, want error", c.url)
				}
				if containsSecret(err.Error()) {
					t.Fatalf("error leaks the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got.Engine != c.engine || got.Database != c.database || got.Redacted != c.redacted {
				t.Fatalf("Parse = %+v", got)
			}
		})
	}
}

func containsSecret(s string) bool {
	return strings.Contains(s, "s3cret") || strings.Contains(s, ":p@")
}

// Transactions that hold every connection of the pool still run
// statements no connection has prepared yet: the statement cache never
// waits for a connection inside a transaction.
func TestTransactionsHoldingThePool(t *testing.T) {
	dbtest.ForEachEngine(t, "test", migrations(t), func(t *testing.T, d *db.DB) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		const workers = 40 // more than any engine's pool
		var wg sync.WaitGroup
		errs := make(chan error, workers)
		start := make(chan struct{})
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				errs <- d.InTx(ctx, func(tx *db.Tx) error {
					// A statement of its own (a new text each time), then a
					// shared one, while the other transactions hold on.
					if _, err := tx.ExecContext(ctx, `INSERT INTO item (id, name, n) VALUES (?, ?, `+strconv.Itoa(w)+`)`,
						"w"+strconv.Itoa(w), "w"+strconv.Itoa(w)); err != nil {
						return err
					}
					var n int
					return tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM item WHERE id = ?`, "w"+strconv.Itoa(w)).Scan(&n)
				})
			}()
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("transaction: %v", err)
			}
		}
		var n int
		if err := d.QueryRowContext(ctx, `SELECT COUNT(*) FROM item`).Scan(&n); err != nil || n != workers {
			t.Fatalf("%d items, %v; want %d", n, err, workers)
		}
	})
}
