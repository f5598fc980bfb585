package computesql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/console"
	"github.com/nimbus-cloud/nimbus/internal/db"
)

// The console auth tokens live in the compute schema, as nova keeps them in
// its cell database beside the instances.
var _ console.Store = (*Store)(nil)

// CreateConsoleToken stores a console auth token record.
func (s *Store) CreateConsoleToken(ctx context.Context, r console.Record) error {
	_, err := s.d.ExecContext(ctx, `INSERT INTO console_auth_tokens (token_hash, console_type, host, port,
		internal_access_path, access_url_base, instance_uuid, expires, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.TokenHash, r.ConsoleType, r.Host, r.Port, emptyNull(r.InternalAccessPath), emptyNull(r.AccessURLBase),
		r.InstanceUUID, db.At(r.Expires), db.At(r.Created))
	if err != nil {
		return fmt.Errorf("create console token of instance %s: %w", r.InstanceUUID, writeErr(err))
	}
	return nil
}

// ConsoleToken returns the record of a token hash that expires after now.
func (s *Store) ConsoleToken(ctx context.Context, tokenHash string, now time.Time) (console.Record, error) {
	var (
		r             console.Record
		path, urlBase sql.NullString
		expires       db.Time
	)
	err := s.d.QueryRowContext(ctx, `SELECT token_hash, console_type, host, port, internal_access_path,
		access_url_base, instance_uuid, expires FROM console_auth_tokens WHERE token_hash = ? AND expires > ?`,
		tokenHash, db.At(now)).Scan(&r.TokenHash, &r.ConsoleType, &r.Host, &r.Port, &path, &urlBase,
		&r.InstanceUUID, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return console.Record{}, console.ErrNotFound
	}
	if err != nil {
		return console.Record{}, fmt.Errorf("read console token: %w", err)
	}
	r.InternalAccessPath, r.AccessURLBase, r.Expires = path.String, urlBase.String, expires.Time
	return r, nil
}

// DeleteExpiredConsoleTokens removes the tokens expired at or before now.
func (s *Store) DeleteExpiredConsoleTokens(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.d.ExecContext(ctx, `DELETE FROM console_auth_tokens WHERE expires <= ?`, db.At(now))
	if err != nil {
		return 0, fmt.Errorf("delete expired console tokens: %w", err)
	}
	return db.Affected(res)
}

// DeleteInstanceConsoleTokens removes every console token of an instance.
func (s *Store) DeleteInstanceConsoleTokens(ctx context.Context, instanceUUID string) error {
	return deleteInstanceConsoleTokens(ctx, s.d, instanceUUID)
}

func deleteInstanceConsoleTokens(ctx context.Context, q db.Querier, instanceUUID string) error {
	if _, err := q.ExecContext(ctx, `DELETE FROM console_auth_tokens WHERE instance_uuid = ?`, instanceUUID); err != nil {
		return fmt.Errorf("delete console tokens of instance %s: %w", instanceUUID, err)
	}
	return nil
}

// emptyNull stores "" as NULL, as nova leaves the optional columns unset.
func emptyNull(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }
