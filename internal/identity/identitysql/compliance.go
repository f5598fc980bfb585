package identitysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/db"
	"github.com/nimbus-cloud/nimbus/internal/identity"
)

var _ identity.ComplianceStore = (*Store)(nil)

// GetPasswordState returns the user's failed password checks and whether the
// user chose the current password; the zero state when no row was written.
func (s *Store) GetPasswordState(ctx context.Context, userID string) (identity.PasswordState, error) {
	var (
		st identity.PasswordState
		at db.Time
	)
	err := s.d.QueryRowContext(ctx, `SELECT failed_auth_count, failed_auth_at, self_service
		FROM password_state WHERE user_id = ?`, userID).Scan(&st.FailedAuthCount, &at, &st.SelfService)
	if errors.Is(err, sql.ErrNoRows) {
		return identity.PasswordState{}, nil
	}
	if err != nil {
		return identity.PasswordState{}, fmt.Errorf("get password state of user %s: %w", userID, err)
	}
	st.FailedAuthAt = at.Time
	return st, nil
}

// ensurePasswordState creates the user's password_state row when it is missing;
// a missing user is ErrNotFound.
func ensurePasswordState(ctx context.Context, tx *db.Tx, userID string) error {
	_, err := tx.ExecContext(ctx, db.InsertIgnore(tx.Engine(), "password_state", "user_id", "failed_auth_count", "self_service"),
		userID, 0, false)
	return writeErr(err)
}

// RecordFailedAuth adds one to the user's failed password checks, the last at t.
// Concurrent failures all count.
func (s *Store) RecordFailedAuth(ctx context.Context, userID string, t time.Time) error {
	err := s.d.InTx(ctx, func(tx *db.Tx) error {
		if err := ensurePasswordState(ctx, tx, userID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE password_state SET failed_auth_count = failed_auth_count + 1,
			failed_auth_at = ? WHERE user_id = ?`, db.At(t), userID)
		return err
	})
	if err != nil {
		return fmt.Errorf("record failed authentication of user %s: %w", userID, err)
	}
	return nil
}

// ResetFailedAuth forgets the user's failed password checks; a user without any
// is left as is.
func (s *Store) ResetFailedAuth(ctx context.Context, userID string) error {
	_, err := s.d.ExecContext(ctx, `UPDATE password_state SET failed_auth_count = 0, failed_auth_at = NULL
		WHERE user_id = ?`, userID)
	if err != nil {
		return fmt.Errorf("reset failed authentications of user %s: %w", userID, err)
	}
	return nil
}

// ListPasswordHistory returns up to limit of the user's previous passwords,
// newest first; nil when there are none.
func (s *Store) ListPasswordHistory(ctx context.Context, userID string, limit int) ([]identity.PasswordRecord, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := s.d.QueryContext(ctx, `SELECT password_hash, created_at FROM password_history
		WHERE user_id = ? ORDER BY seq DESC LIMIT `+strconv.Itoa(limit), userID)
	if err != nil {
		return nil, fmt.Errorf("list password history of user %s: %w", userID, err)
	}
	defer rows.Close()
	var out []identity.PasswordRecord
	for rows.Next() {
		var (
			r  identity.PasswordRecord
			at db.Time
		)
		if err := rows.Scan(&r.Hash, &at); err != nil {
			return nil, fmt.Errorf("list password history of user %s: %w", userID, err)
		}
		r.CreatedAt = at.Time
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list password history of user %s: %w", userID, err)
	}
	return out, nil
}

// SetPassword writes the user's new password and, in the same transaction,
// moves the replaced one into the history, trims the history to ch.Keep
// entries and records who chose the password.
func (s *Store) SetPassword(ctx context.Context, ch identity.PasswordChange) error {
	err := s.d.InTx(ctx, func(tx *db.Tx) error {
		// Lock the user's row first, so concurrent changes queue up and each
		// one moves the hash it really replaces into the history.
		if _, err := tx.ExecContext(ctx, "UPDATE identity_user SET password_hash = password_hash WHERE id = ?", ch.UserID); err != nil {
			return err
		}
		var (
			old     sql.NullString
			created db.Time
		)
		err := tx.QueryRowContext(ctx, "SELECT password_hash, password_created_at FROM identity_user WHERE id = ?",
			ch.UserID).Scan(&old, &created)
		if errors.Is(err, sql.ErrNoRows) {
			return identity.ErrNotFound
		}
		if err != nil {
			return err
		}
		if old.String != "" && ch.Keep > 0 {
			_, err := tx.ExecContext(ctx, "INSERT INTO password_history (user_id, password_hash, created_at) VALUES (?, ?, ?)",
				ch.UserID, old.String, created)
			if err != nil {
				return writeErr(err)
			}
		}
		if err := trimPasswordHistory(ctx, tx, ch.UserID, ch.Keep); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE identity_user SET password_hash = ?, password_created_at = ?,
			password_expires_at = ? WHERE id = ?`,
			nullable(ch.Hash), db.At(ch.CreatedAt), db.At(ch.ExpiresAt), ch.UserID)
		if err != nil {
			return writeErr(err)
		}
		if err := ensurePasswordState(ctx, tx, ch.UserID); err != nil {
			return err
		}
		q := "UPDATE password_state SET self_service = ? WHERE user_id = ?"
		if ch.ResetFailedAuth {
			q = "UPDATE password_state SET self_service = ?, failed_auth_count = 0, failed_auth_at = NULL WHERE user_id = ?"
		}
		_, err = tx.ExecContext(ctx, q, ch.SelfService, ch.UserID)
		return err
	})
	if err != nil {
		return fmt.Errorf("set password of user %s: %w", ch.UserID, err)
	}
	return nil
}

// trimPasswordHistory deletes all but the newest keep entries of the user's
// password history.
func trimPasswordHistory(ctx context.Context, tx *db.Tx, userID string, keep int) error {
	if keep <= 0 {
		_, err := tx.ExecContext(ctx, "DELETE FROM password_history WHERE user_id = ?", userID)
		return err
	}
	var oldest int64
	err := tx.QueryRowContext(ctx, `SELECT seq FROM password_history WHERE user_id = ?
		ORDER BY seq DESC LIMIT 1 OFFSET `+strconv.Itoa(keep), userID).Scan(&oldest)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, "DELETE FROM password_history WHERE user_id = ? AND seq <= ?", userID, oldest)
	return err
}

// accessRuleColumns are the columns of access_rule in AccessRule's field order.
const accessRuleColumns = "id, user_id, service, path, method"

// scanAccessRule reads a row of accessRuleColumns.
func scanAccessRule(row interface{ Scan(...any) error }) (identity.AccessRule, error) {
	var r identity.AccessRule
	err := row.Scan(&r.ID, &r.UserID, &r.Service, &r.Path, &r.Method)
	return r, err
}

// CreateApplicationCredentialWithAccessRules stores the application credential
// with its roles, as CreateApplicationCredential does, and links it to its
// access rules, reusing the user's rule with a rule's ID or with its service,
// path and method, and creating the others. All in one transaction: a
// credential never exists without its rules. A rule ID taken by another
// user's rule is ErrConflict.
func (s *Store) CreateApplicationCredentialWithAccessRules(ctx context.Context, ac identity.ApplicationCredential,
	rules []identity.AccessRule) ([]identity.AccessRule, error) {
	var out []identity.AccessRule
	err := s.d.InTx(ctx, func(tx *db.Tx) error {
		out = make([]identity.AccessRule, 0, len(rules))
		if err := insertAppCred(ctx, tx, ac); err != nil {
			return err
		}
		linked := map[string]bool{}
		for _, r := range rules {
			r.UserID = ac.UserID
			stored, err := findOrCreateAccessRule(ctx, tx, r)
			if err != nil {
				return err
			}
			out = append(out, stored)
			if linked[stored.ID] {
				continue
			}
			linked[stored.ID] = true
			_, err = tx.ExecContext(ctx, `INSERT INTO application_credential_access_rule
				(application_credential_id, access_rule_id) VALUES (?, ?)`, ac.ID, stored.ID)
			if err != nil {
				return writeErr(err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("create application credential %s: %w", ac.ID, err)
	}
	return out, nil
}

// insertAppCred writes an application credential's row and roles; it is the
// statement pair CreateApplicationCredential runs.
func insertAppCred(ctx context.Context, tx *db.Tx, ac identity.ApplicationCredential) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO application_credential
		(id, name, description, user_id, project_id, secret_hash, expires_at, unrestricted)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		ac.ID, ac.Name, ac.Description, ac.UserID, nullable(ac.ProjectID), ac.SecretHash,
		db.At(ac.ExpiresAt), ac.Unrestricted)
	if err != nil {
		return writeErr(err)
	}
	for _, role := range uniqueSorted(ac.RoleIDs) {
		_, err := tx.ExecContext(ctx, `INSERT INTO application_credential_role
			(application_credential_id, role_id) VALUES (?, ?)`, ac.ID, role)
		if err != nil {
			return writeErr(err)
		}
	}
	return nil
}

// findOrCreateAccessRule returns r.UserID's rule with r.ID, else the user's
// rule equal to r, else r newly stored.
func findOrCreateAccessRule(ctx context.Context, tx *db.Tx, r identity.AccessRule) (identity.AccessRule, error) {
	lookups := []struct {
		where string
		args  []any
	}{
		{"id = ? AND user_id = ?", []any{r.ID, r.UserID}},
		{"user_id = ? AND service = ? AND path = ? AND method = ?", []any{r.UserID, r.Service, r.Path, r.Method}},
	}
	for _, l := range lookups {
		got, err := scanAccessRule(tx.QueryRowContext(ctx, "SELECT "+accessRuleColumns+" FROM access_rule WHERE "+l.where, l.args...))
		if err == nil {
			return got, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return identity.AccessRule{}, err
		}
	}
	if r.Service == "" || r.Path == "" || r.Method == "" {
		return identity.AccessRule{}, fmt.Errorf("access rule %s: %w", r.ID, identity.ErrNotFound)
	}
	_, err := tx.ExecContext(ctx, "INSERT INTO access_rule ("+accessRuleColumns+") VALUES (?, ?, ?, ?, ?)",
		r.ID, r.UserID, r.Service, r.Path, r.Method)
	if err != nil {
		return identity.AccessRule{}, writeErr(err)
	}
	return r, nil
}

// GetAccessRule returns the access rule with id.
func (s *Store) GetAccessRule(ctx context.Context, id string) (identity.AccessRule, error) {
	r, err := scanAccessRule(s.d.QueryRowContext(ctx, "SELECT "+accessRuleColumns+" FROM access_rule WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		err = identity.ErrNotFound
	}
	if err != nil {
		return identity.AccessRule{}, fmt.Errorf("get access rule %s: %w", id, err)
	}
	return r, nil
}

// ListAccessRules returns the access rules matching f, ordered by id.
func (s *Store) ListAccessRules(ctx context.Context, f identity.AccessRuleFilter) ([]identity.AccessRule, error) {
	var w db.Where
	w.Eq("user_id", f.UserID)
	w.Eq("service", f.Service)
	w.Eq("path", f.Path)
	w.Eq("method", f.Method)
	rows, err := s.d.QueryContext(ctx, "SELECT "+accessRuleColumns+" FROM access_rule"+w.String()+
		db.OrderBy(s.d.Engine(), "id"), w.Args...)
	if err != nil {
		return nil, fmt.Errorf("list access rules: %w", err)
	}
	defer rows.Close()
	var out []identity.AccessRule
	for rows.Next() {
		r, err := scanAccessRule(rows)
		if err != nil {
			return nil, fmt.Errorf("list access rules: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list access rules: %w", err)
	}
	return out, nil
}

// ListAppCredAccessRules returns the access rules of the application
// credentials, by credential id; credentials without rules are absent.
func (s *Store) ListAppCredAccessRules(ctx context.Context, appCredIDs []string) (map[string][]identity.AccessRule, error) {
	if len(appCredIDs) == 0 {
		return nil, nil
	}
	var w db.Where
	w.In("l.application_credential_id", appCredIDs)
	rows, err := s.d.QueryContext(ctx, `SELECT l.application_credential_id, r.id, r.user_id, r.service, r.path, r.method
		FROM application_credential_access_rule l JOIN access_rule r ON r.id = l.access_rule_id`+w.String()+
		db.OrderBy(s.d.Engine(), "l.application_credential_id", "r.id"), w.Args...)
	if err != nil {
		return nil, fmt.Errorf("list access rules of application credentials: %w", err)
	}
	defer rows.Close()
	out := map[string][]identity.AccessRule{}
	for rows.Next() {
		var (
			acID string
			r    identity.AccessRule
		)
		if err := rows.Scan(&acID, &r.ID, &r.UserID, &r.Service, &r.Path, &r.Method); err != nil {
			return nil, fmt.Errorf("list access rules of application credentials: %w", err)
		}
		out[acID] = append(out[acID], r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list access rules of application credentials: %w", err)
	}
	return out, nil
}

// DeleteAccessRule removes the access rule with id; while an application
// credential uses it, it stays and the answer is ErrConflict.
func (s *Store) DeleteAccessRule(ctx context.Context, id string) error {
	err := s.d.InTx(ctx, func(tx *db.Tx) error {
		used, err := db.Exists(ctx, tx, "SELECT 1 FROM application_credential_access_rule WHERE access_rule_id = ?", id)
		if err != nil {
			return err
		}
		if used {
			return fmt.Errorf("access rule in use: %w", identity.ErrConflict)
		}
		return deleteOne(ctx, tx, "DELETE FROM access_rule WHERE id = ?", id)
	})
	if err != nil {
		return fmt.Errorf("delete access rule %s: %w", id, err)
	}
	return nil
}
