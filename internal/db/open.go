package db

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"             // registers the "sqlite" driver
)

// Target is a parsed connection URL.
type Target struct {
	Engine Engine
	// DSN is the driver's data source name; it may hold a password and is never logged.
	DSN string
	// Database is the database name (the file path for SQLite).
	Database string
	// Redacted is the URL with its password masked, safe for logs and errors.
	Redacted string
}

// Parse reads a connection URL in upstream's SQLAlchemy form:
//
//	sqlite:///relative/file.db  sqlite:////absolute/file.db
//	mysql://user:pass@host:3306/db  mysql+pymysql://...  (unix_socket=/path allowed)
//	postgresql://user:pass@host:5432/db  postgresql+psycopg2://...  postgres://...
func Parse(raw string) (Target, error) {
	scheme, _, ok := strings.Cut(raw, "://")
	if !ok {
		return Target{}, fmt.Errorf("connection URL %q has no scheme (want sqlite://, mysql:// or postgresql://)", Redact(raw))
	}
	driverName, _, _ := strings.Cut(strings.ToLower(scheme), "+")
	switch driverName {
	case "sqlite":
		return parseSQLite(raw)
	case "mysql", "mariadb":
		return parseMySQL(raw)
	case "postgresql", "postgres":
		return parsePostgres(raw)
	}
	return Target{}, fmt.Errorf("connection URL scheme %q is not supported (want sqlite, mysql or postgresql)", scheme)
}

// SQLiteURL returns the connection URL of a SQLite file.
// An absolute path gives upstream's four-slash form, sqlite:////abs/path.
func SQLiteURL(path string) string { return "sqlite:///" + path }

func parseSQLite(raw string) (Target, error) {
	_, rest, _ := strings.Cut(raw, "://")
	path := strings.TrimPrefix(rest, "/")
	query := ""
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path, query = path[:i], path[i+1:]
	}
	if path == "" {
		return Target{}, fmt.Errorf("connection URL %q names no SQLite file", raw)
	}
	if query != "" {
		return Target{}, fmt.Errorf("connection URL %q: SQLite options are not supported", raw)
	}
	// WAL lets readers run beside the writer; IMMEDIATE transactions take the write
	// lock up front so two writers queue on busy_timeout instead of deadlocking.
	dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)" +
		"&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	return Target{Engine: SQLite, DSN: dsn, Database: path, Redacted: raw}, nil
}

func parseMySQL(raw string) (Target, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Target{}, fmt.Errorf("connection URL %q: %w", Redact(raw), errNoSecret(err))
	}
	cfg := mysql.NewConfig()
	cfg.User = u.User.Username()
	cfg.Passwd, _ = u.User.Password()
	cfg.DBName = strings.TrimPrefix(u.Path, "/")
	q := u.Query()
	if sock := q.Get("unix_socket"); sock != "" {
		cfg.Net, cfg.Addr = "unix", sock
	} else {
		host, port := u.Hostname(), u.Port()
		if host == "" {
			host = "localhost"
		}
		if port == "" {
			port = "3306"
		}
		cfg.Net, cfg.Addr = "tcp", net.JoinHostPort(host, port)
	}
	cfg.ParseTime = false
	cfg.Collation = "utf8mb4_bin"
	cfg.Params = map[string]string{"charset": "utf8mb4"}
	cfg.Timeout = 10 * time.Second
	if cfg.DBName == "" {
		return Target{}, fmt.Errorf("connection URL %q names no database", Redact(raw))
	}
	return Target{Engine: MySQL, DSN: cfg.FormatDSN(), Database: cfg.DBName, Redacted: Redact(raw)}, nil
}

func parsePostgres(raw string) (Target, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Target{}, fmt.Errorf("connection URL %q: %w", Redact(raw), errNoSecret(err))
	}
	u.Scheme = "postgres"
	name := strings.TrimPrefix(u.Path, "/")
	if name == "" {
		return Target{}, fmt.Errorf("connection URL %q names no database", Redact(raw))
	}
	return Target{Engine: Postgres, DSN: u.String(), Database: name, Redacted: Redact(raw)}, nil
}

// errNoSecret drops url.Error's copy of the URL, which may hold a password.
func errNoSecret(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}

// Redact masks the password of a connection or transport URL.
func Redact(raw string) string {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return raw
	}
	at := strings.LastIndexByte(rest, '@')
	if at < 0 {
		return raw
	}
	userinfo := rest[:at]
	if user, _, hasPass := strings.Cut(userinfo, ":"); hasPass {
		return scheme + "://" + user + ":***@" + rest[at+1:]
	}
	return raw
}

// Open connects to the database a URL names and checks that it answers. A SQLite
// file's directory is created when missing.
func Open(ctx context.Context, raw string) (*DB, error) {
	t, err := Parse(raw)
	if err != nil {
		return nil, err
	}
	return OpenTarget(ctx, t)
}

// OpenTarget connects to a parsed Target.
func OpenTarget(ctx context.Context, t Target) (*DB, error) {
	driverName := map[Engine]string{SQLite: "sqlite", MySQL: "mysql", Postgres: "pgx"}[t.Engine]
	if t.Engine == SQLite {
		if err := os.MkdirAll(filepath.Dir(t.Database), 0o700); err != nil {
			return nil, fmt.Errorf("open %s: %w", t.Redacted, err)
		}
	}
	pool, err := sql.Open(driverName, t.DSN)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", t.Redacted, err)
	}
	switch t.Engine {
	case SQLite:
		pool.SetMaxOpenConns(8)
		pool.SetMaxIdleConns(8)
	default:
		pool.SetMaxOpenConns(32)
		pool.SetMaxIdleConns(8)
		pool.SetConnMaxLifetime(time.Hour)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := pool.PingContext(pingCtx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to %s: %w", t.Redacted, err)
	}
	d := &DB{sql: pool, engine: t.Engine, name: t.Database}
	if t.Engine == SQLite {
		d.stmts = newStmtCache(pool)
	}
	return d, nil
}
