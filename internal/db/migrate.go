package db

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// Migration is one numbered schema change of a service.
type Migration struct {
	Version    int
	Name       string
	Statements []string
}

// LoadMigrations reads files named NNN_description.sql from dir in fsys. Statements
// end with ';' at the end of a line. Engine-specific spellings are written as macros
// that Migrate expands: ${BLOB} (binary), ${AUTOID} (auto-increment primary key),
// ${TABLE} (table options: InnoDB, utf8mb4, binary collation on MySQL).
func LoadMigrations(fsys fs.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var out []Migration
	seen := map[int]string{}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must start with a positive number and '_'", e.Name())
		}
		if prev, dup := seen[v]; dup {
			return nil, fmt.Errorf("migrations %s and %s share version %d", prev, e.Name(), v)
		}
		seen[v] = e.Name()
		body, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", e.Name(), err)
		}
		out = append(out, Migration{Version: v, Name: e.Name(), Statements: splitStatements(string(body))})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

func splitStatements(body string) []string {
	var stmts []string
	var cur strings.Builder
	for _, line := range strings.Split(body, "\n") {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "--") {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(trimmed, ";") {
			stmts = append(stmts, strings.TrimSuffix(strings.TrimSpace(cur.String()), ";"))
			cur.Reset()
		}
	}
	if s := strings.TrimSpace(cur.String()); s != "" {
		stmts = append(stmts, s)
	}
	return stmts
}

var macros = map[Engine]*strings.Replacer{
	SQLite:   strings.NewReplacer("${BLOB}", "BLOB", "${AUTOID}", "INTEGER PRIMARY KEY AUTOINCREMENT", "${TABLE}", ""),
	MySQL:    strings.NewReplacer("${BLOB}", "LONGBLOB", "${AUTOID}", "BIGINT AUTO_INCREMENT PRIMARY KEY", "${TABLE}", " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"),
	Postgres: strings.NewReplacer("${BLOB}", "BYTEA", "${AUTOID}", "BIGSERIAL PRIMARY KEY", "${TABLE}", ""),
}

// Migrate applies the migrations of service that the database does not have yet,
// each in its own transaction where the engine allows DDL in transactions, and
// records them in nimbus_migrations. It returns the version reached.
func Migrate(ctx context.Context, d *DB, service string, ms []Migration) (int, error) {
	if _, err := d.ExecContext(ctx, expand(d.engine, `CREATE TABLE IF NOT EXISTS nimbus_migrations (
		service VARCHAR(64) NOT NULL,
		version INTEGER NOT NULL,
		name VARCHAR(255) NOT NULL,
		applied_at BIGINT NOT NULL,
		PRIMARY KEY (service, version))${TABLE}`)); err != nil {
		return 0, fmt.Errorf("create migrations table: %w", err)
	}
	current, err := Version(ctx, d, service)
	if err != nil {
		return 0, err
	}
	for _, m := range ms {
		if m.Version <= current {
			continue
		}
		err := d.InTx(ctx, func(tx *Tx) error {
			for _, st := range m.Statements {
				if _, err := tx.ExecContext(ctx, expand(d.engine, st)); err != nil {
					return fmt.Errorf("%s: %w", firstLine(st), err)
				}
			}
			_, err := tx.ExecContext(ctx,
				`INSERT INTO nimbus_migrations (service, version, name, applied_at) VALUES (?, ?, ?, ?)`,
				service, m.Version, m.Name, nowMicro())
			return err
		})
		if err != nil {
			return current, fmt.Errorf("migrate %s to %s: %w", service, m.Name, err)
		}
		current = m.Version
	}
	return current, nil
}

// Version returns the last migration applied for service, 0 when none.
func Version(ctx context.Context, d Querier, service string) (int, error) {
	var v *int64
	err := d.QueryRowContext(ctx, `SELECT MAX(version) FROM nimbus_migrations WHERE service = ?`, service).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("read schema version of %s: %w", service, err)
	}
	if v == nil {
		return 0, nil
	}
	return int(*v), nil
}

func expand(e Engine, stmt string) string { return macros[e].Replace(stmt) }

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}
