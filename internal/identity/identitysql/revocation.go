package identitysql

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/db"
	"github.com/nimbus-cloud/nimbus/internal/identity"
)

// AddRevocationEvent stores ev and returns it with the Seq the store assigned.
// RevokedAt and IssuedBefore must be set; unset attributes are stored as NULL.
// Events commit in Seq order, so polling with the last Seq seen misses none.
func (s *Store) AddRevocationEvent(ctx context.Context, ev identity.RevocationEvent) (identity.RevocationEvent, error) {
	if ev.RevokedAt.IsZero() || ev.IssuedBefore.IsZero() {
		return ev, fmt.Errorf("add revocation event: revoked_at and issued_before are required: %w", identity.ErrValidation)
	}
	q := `INSERT INTO revocation_event (user_id, project_id, domain_id, role_id, audit_id, audit_chain_id,
		app_cred_id, trust_id, issued_before, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	args := []any{nullable(ev.UserID), nullable(ev.ProjectID), nullable(ev.DomainID), nullable(ev.RoleID),
		nullable(ev.AuditID), nullable(ev.AuditChainID), nullable(ev.AppCredID), nullable(ev.TrustID),
		db.At(ev.IssuedBefore), db.At(ev.RevokedAt)}
	var seq int64
	err := s.d.InTx(ctx, func(tx *db.Tx) error {
		// Held until commit: the next writer draws its seq only after this one is visible.
		if _, err := tx.ExecContext(ctx, "UPDATE revocation_lock SET n = n + 1 WHERE id = 1"); err != nil {
			return err
		}
		if tx.Engine() == db.Postgres {
			// pgx reports no LastInsertId; PostgreSQL returns the key instead.
			return tx.QueryRowContext(ctx, q+" RETURNING seq", args...).Scan(&seq)
		}
		res, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return err
		}
		seq, err = res.LastInsertId()
		return err
	})
	if err != nil {
		return ev, fmt.Errorf("add revocation event: %w", err)
	}
	ev.Seq = seq
	ev.IssuedBefore = ev.IssuedBefore.UTC().Truncate(time.Microsecond)
	ev.RevokedAt = ev.RevokedAt.UTC().Truncate(time.Microsecond)
	return ev, nil
}

// ListRevocationEvents returns the events with Seq > afterSeq in Seq order.
func (s *Store) ListRevocationEvents(ctx context.Context, afterSeq int64) ([]identity.RevocationEvent, error) {
	rows, err := s.d.QueryContext(ctx, `SELECT seq, user_id, project_id, domain_id, role_id, audit_id,
		audit_chain_id, app_cred_id, trust_id, issued_before, revoked_at FROM revocation_event WHERE seq > ? ORDER BY seq`, afterSeq)
	if err != nil {
		return nil, fmt.Errorf("list revocation events: %w", err)
	}
	defer rows.Close()
	var out []identity.RevocationEvent
	for rows.Next() {
		var (
			ev                                 identity.RevocationEvent
			user, project, domain, role, audit sql.NullString
			chain, appCred, trust              sql.NullString
			issued, revoked                    db.Time
		)
		err := rows.Scan(&ev.Seq, &user, &project, &domain, &role, &audit, &chain, &appCred, &trust, &issued, &revoked)
		if err != nil {
			return nil, fmt.Errorf("list revocation events: %w", err)
		}
		ev.UserID, ev.ProjectID, ev.DomainID, ev.RoleID = user.String, project.String, domain.String, role.String
		ev.AuditID, ev.AuditChainID, ev.AppCredID, ev.TrustID = audit.String, chain.String, appCred.String, trust.String
		ev.IssuedBefore, ev.RevokedAt = issued.Time, revoked.Time
		out = append(out, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list revocation events: %w", err)
	}
	return out, nil
}

// PruneRevocationEvents deletes the events revoked before t and returns how many.
func (s *Store) PruneRevocationEvents(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.d.ExecContext(ctx, "DELETE FROM revocation_event WHERE revoked_at < ?", db.At(before))
	if err != nil {
		return 0, fmt.Errorf("prune revocation events: %w", err)
	}
	n, err := db.Affected(res)
	if err != nil {
		return 0, fmt.Errorf("prune revocation events: %w", err)
	}
	return n, nil
}
