package computesql

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/db"
)

// ProjectQuotas returns the limits set for a project.
func (s *Store) ProjectQuotas(ctx context.Context, projectID string) (map[string]int, error) {
	return s.limits(ctx, `SELECT resource, hard_limit FROM quotas WHERE project_id = ?`, projectID)
}

// UserQuotas returns the limits set for a user of a project.
func (s *Store) UserQuotas(ctx context.Context, projectID, userID string) (map[string]int, error) {
	return s.limits(ctx, `SELECT resource, hard_limit FROM project_user_quotas WHERE project_id = ? AND user_id = ?`,
		projectID, userID)
}

// UserQuotaSums returns the sums of the limits set for a project's users.
func (s *Store) UserQuotaSums(ctx context.Context, projectID string) (map[string]int, error) {
	return s.limits(ctx, `SELECT resource, SUM(hard_limit) FROM project_user_quotas WHERE project_id = ? GROUP BY resource`,
		projectID)
}

// ClassQuotas returns the limits set for a quota class.
func (s *Store) ClassQuotas(ctx context.Context, class string) (map[string]int, error) {
	return s.limits(ctx, `SELECT resource, hard_limit FROM quota_classes WHERE class_name = ?`, class)
}

// limits runs a query of (resource, limit) rows into a map.
func (s *Store) limits(ctx context.Context, q string, args ...any) (map[string]int, error) {
	rows, err := s.d.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read quotas: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var (
			r string
			n int64
		)
		if err := rows.Scan(&r, &n); err != nil {
			return nil, fmt.Errorf("scan quota: %w", err)
		}
		out[r] = int(n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read quotas: %w", err)
	}
	return out, nil
}

// SetQuotas writes a project's limits and, for userID, the user's.
func (s *Store) SetQuotas(ctx context.Context, projectID string, values map[string]int, userID string, userValues map[string]int, at time.Time) error {
	err := s.d.InTx(ctx, func(tx *db.Tx) error {
		for r, v := range values {
			if err := upsertLimit(ctx, tx, "quotas", []string{"project_id", "resource"}, []any{projectID, r}, v, at); err != nil {
				return err
			}
		}
		if userID == "" {
			return nil
		}
		for r, v := range userValues {
			if err := upsertLimit(ctx, tx, "project_user_quotas", []string{"project_id", "user_id", "resource"},
				[]any{projectID, userID, r}, v, at); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("set quotas of project %s: %w", projectID, err)
	}
	return nil
}

// SetClassQuotas writes a quota class's limits.
func (s *Store) SetClassQuotas(ctx context.Context, class string, values map[string]int, at time.Time) error {
	err := s.d.InTx(ctx, func(tx *db.Tx) error {
		for r, v := range values {
			if err := upsertLimit(ctx, tx, "quota_classes", []string{"class_name", "resource"}, []any{class, r}, v, at); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("set quota class %s: %w", class, err)
	}
	return nil
}

// upsertLimit sets hard_limit of the row of table whose key columns hold
// keys, creating it when missing. Table and column names come from code.
func upsertLimit(ctx context.Context, tx *db.Tx, table string, cols []string, keys []any, limit int, at time.Time) error {
	cond := strings.Join(cols, " = ? AND ") + " = ?"
	exists, err := db.Exists(ctx, tx, `SELECT 1 FROM `+table+` WHERE `+cond+db.ForUpdate(tx.Engine()), keys...)
	if err != nil {
		return err
	}
	if exists {
		_, err = tx.ExecContext(ctx, `UPDATE `+table+` SET hard_limit = ?, updated_at = ? WHERE `+cond,
			append([]any{limit, db.At(at)}, keys...)...)
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO `+table+` (`+strings.Join(cols, ", ")+`, hard_limit, created_at)
		VALUES (`+db.Placeholders(len(cols)+2)+`)`, append(keys, limit, db.At(at))...)
	return writeErr(err)
}

// DeleteProjectQuotas removes a project's limits and its users'.
func (s *Store) DeleteProjectQuotas(ctx context.Context, projectID string) error {
	err := s.d.InTx(ctx, func(tx *db.Tx) error {
		for _, q := range []string{`DELETE FROM quotas WHERE project_id = ?`, `DELETE FROM project_user_quotas WHERE project_id = ?`} {
			if _, err := tx.ExecContext(ctx, q, projectID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete quotas of project %s: %w", projectID, err)
	}
	return nil
}

// DeleteUserQuotas removes one user's limits in a project.
func (s *Store) DeleteUserQuotas(ctx context.Context, projectID, userID string) error {
	if _, err := s.d.ExecContext(ctx, `DELETE FROM project_user_quotas WHERE project_id = ? AND user_id = ?`,
		projectID, userID); err != nil {
		return fmt.Errorf("delete quotas of user %s in project %s: %w", userID, projectID, err)
	}
	return nil
}
