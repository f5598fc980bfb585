// Package dbtest gives store test suites a fresh, migrated database on every engine
// the machine has: SQLite always, MySQL/MariaDB when NIMBUS_TEST_MYSQL_URL is set and
// PostgreSQL when NIMBUS_TEST_POSTGRES_URL is set. Each URL names a server account
// that may create databases; every test gets its own database, dropped afterwards.
package dbtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/db"
)

// Environment variables naming the server engines to test against.
const (
	MySQLEnv    = "NIMBUS_TEST_MYSQL_URL"
	PostgresEnv = "NIMBUS_TEST_POSTGRES_URL"
)

// Engines lists the engines available to this test run.
func Engines() []db.Engine {
	out := []db.Engine{db.SQLite}
	if os.Getenv(MySQLEnv) != "" {
		out = append(out, db.MySQL)
	}
	if os.Getenv(PostgresEnv) != "" {
		out = append(out, db.Postgres)
	}
	return out
}

// ForEachEngine runs fn as a subtest per available engine, each with a fresh
// database migrated with ms for service.
func ForEachEngine(t *testing.T, service string, ms []db.Migration, fn func(t *testing.T, d *db.DB)) {
	t.Helper()
	for _, e := range Engines() {
		t.Run(string(e), func(t *testing.T) {
			d := Open(t, e)
			if _, err := db.Migrate(context.Background(), d, service, ms); err != nil {
				t.Fatalf("migrate: %v", err)
			}
			fn(t, d)
		})
	}
}

// Open creates an empty database on engine e and drops it when the test ends.
func Open(t testing.TB, e db.Engine) *db.DB {
	t.Helper()
	ctx := context.Background()
	switch e {
	case db.SQLite:
		d, err := db.Open(ctx, db.SQLiteURL(filepath.Join(t.TempDir(), "test.db")))
		if err != nil {
			t.Fatalf("open sqlite: %v", err)
		}
		t.Cleanup(func() { d.Close() })
		return d
	case db.MySQL:
		return openServer(t, os.Getenv(MySQLEnv), "CREATE DATABASE %s CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
	case db.Postgres:
		return openServer(t, os.Getenv(PostgresEnv), "CREATE DATABASE %s")
	}
	t.Fatalf("unknown engine %q", e)
	return nil
}

func openServer(t testing.TB, admin, create string) *db.DB {
	t.Helper()
	if admin == "" {
		t.Skip("no server URL set for this engine")
	}
	ctx := context.Background()
	root, err := db.Open(ctx, admin)
	if err != nil {
		t.Fatalf("connect to test server: %v", err)
	}
	defer root.Close()
	name := "nimbus_test_" + randomHex(6)
	if _, err := root.ExecContext(ctx, strings.Replace(create, "%s", name, 1)); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("parse test URL: %v", err)
	}
	u.Path = "/" + name
	d, err := db.Open(ctx, u.String())
	if err != nil {
		t.Fatalf("open test database: %v", err)
	}
	t.Cleanup(func() {
		d.Close()
		root, err := db.Open(context.Background(), admin)
		if err != nil {
			t.Logf("drop test database %s: %v", name, err)
			return
		}
		defer root.Close()
		if _, err := root.ExecContext(context.Background(), "DROP DATABASE "+name); err != nil {
			t.Logf("drop test database %s: %v", name, err)
		}
	})
	return d
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}
