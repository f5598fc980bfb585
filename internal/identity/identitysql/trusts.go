package identitysql

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/nimbus-cloud/nimbus/internal/db"
	"github.com/nimbus-cloud/nimbus/internal/identity"
)

// trustSelect reads trusts with their roles, one row per role.
const trustSelect = `SELECT t.id, t.trustor_user_id, t.trustee_user_id, t.project_id, t.impersonation,
t.expires_at, t.remaining_uses, t.redelegated_trust_id, t.redelegation_count, r.role_id
FROM trust t LEFT JOIN trust_role r ON r.trust_id = t.id`

// CreateTrust stores a new trust with its roles. A trust with the same
// trustor, trustee, project, impersonation and expiry is ErrConflict, and a
// redelegated trust whose parent is missing ErrNotFound.
func (s *Store) CreateTrust(ctx context.Context, t identity.Trust) error {
	var uses any
	if t.RemainingUses != nil {
		uses = *t.RemainingUses
	}
	err := s.d.InTx(ctx, func(tx *db.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO trust (id, trustor_user_id, trustee_user_id, project_id,
			impersonation, expires_at, remaining_uses, redelegated_trust_id, redelegation_count)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			t.ID, t.TrustorUserID, t.TrusteeUserID, nullable(t.ProjectID), t.Impersonation, db.At(t.ExpiresAt),
			uses, nullable(t.RedelegatedTrustID), t.RedelegationCount)
		if err != nil {
			return writeErr(err)
		}
		for _, role := range uniqueSorted(t.RoleIDs) {
			_, err := tx.ExecContext(ctx, "INSERT INTO trust_role (trust_id, role_id) VALUES (?, ?)", t.ID, role)
			if err != nil {
				return writeErr(err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("create trust %s: %w", t.ID, err)
	}
	return nil
}

// GetTrust returns the trust with id, whether or not it has expired or run
// out of uses.
func (s *Store) GetTrust(ctx context.Context, id string) (identity.Trust, error) {
	var w db.Where
	w.Add("t.id = ?", id)
	trusts, err := s.queryTrusts(ctx, &w)
	if err != nil {
		return identity.Trust{}, fmt.Errorf("get trust %s: %w", id, err)
	}
	if len(trusts) == 0 {
		return identity.Trust{}, fmt.Errorf("get trust %s: %w", id, identity.ErrNotFound)
	}
	return trusts[0], nil
}

// ListTrusts returns the trusts matching f, ordered by id.
func (s *Store) ListTrusts(ctx context.Context, f identity.TrustFilter) ([]identity.Trust, error) {
	var w db.Where
	w.Eq("t.trustor_user_id", f.TrustorUserID)
	w.Eq("t.trustee_user_id", f.TrusteeUserID)
	w.Eq("t.redelegated_trust_id", f.RedelegatedTrustID)
	trusts, err := s.queryTrusts(ctx, &w)
	if err != nil {
		return nil, fmt.Errorf("list trusts: %w", err)
	}
	return trusts, nil
}

func (s *Store) queryTrusts(ctx context.Context, w *db.Where) ([]identity.Trust, error) {
	rows, err := s.d.QueryContext(ctx, trustSelect+w.String()+db.OrderBy(s.d.Engine(), "t.id", "r.role_id"), w.Args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []identity.Trust
	for rows.Next() {
		var (
			t                     identity.Trust
			project, parent, role sql.NullString
			expires               db.Time
			uses                  sql.NullInt64
		)
		err := rows.Scan(&t.ID, &t.TrustorUserID, &t.TrusteeUserID, &project, &t.Impersonation, &expires,
			&uses, &parent, &t.RedelegationCount, &role)
		if err != nil {
			return nil, err
		}
		if n := len(out); n > 0 && out[n-1].ID == t.ID {
			out[n-1].RoleIDs = appendJoined(out[n-1].RoleIDs, role)
			continue
		}
		t.ProjectID, t.RedelegatedTrustID, t.ExpiresAt = project.String, parent.String, expires.Time
		if uses.Valid {
			n := int(uses.Int64)
			t.RemainingUses = &n
		}
		t.RoleIDs = appendJoined(nil, role)
		out = append(out, t)
	}
	return out, rows.Err()
}

// DeleteTrust removes the trust, its roles and every trust redelegated from
// it at any depth, and returns the removed ids with id first. A missing trust
// is ErrNotFound.
func (s *Store) DeleteTrust(ctx context.Context, id string) ([]string, error) {
	var ids []string
	err := s.d.InTx(ctx, func(tx *db.Tx) error {
		var err error
		if ids, err = deleteTrustsWhere(ctx, tx, "id = ?", id); err != nil {
			return err
		}
		if len(ids) == 0 {
			return identity.ErrNotFound
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("delete trust %s: %w", id, err)
	}
	return ids, nil
}

// deleteTrustsWhere deletes, inside tx, the trusts matching cond (a condition
// on trust's columns written by this package, with placeholders for args),
// every trust redelegated from them at any depth, and their roles. It returns
// the deleted ids, those matching cond first. Deleting a user or a project
// takes its trusts along with
// deleteTrustsWhere(ctx, tx, "trustor_user_id = ? OR trustee_user_id = ?", id, id)
// or deleteTrustsWhere(ctx, tx, "project_id = ?", id).
func deleteTrustsWhere(ctx context.Context, tx *db.Tx, cond string, args ...any) ([]string, error) {
	ids, err := trustIDs(ctx, tx, "SELECT id FROM trust WHERE "+cond+db.OrderBy(tx.Engine(), "id"), args...)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, id := range ids {
		seen[id] = true
	}
	for i := 0; i < len(ids); i++ {
		children, err := trustIDs(ctx, tx, "SELECT id FROM trust WHERE redelegated_trust_id = ?"+db.OrderBy(tx.Engine(), "id"), ids[i])
		if err != nil {
			return nil, err
		}
		for _, c := range children {
			if !seen[c] {
				seen[c] = true
				ids = append(ids, c)
			}
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	// The set holds every trust below its members, so unlinking them from
	// their parents first lets them go in any order.
	in, inArgs := " IN ("+db.Placeholders(len(ids))+")", db.Args(ids)
	err = exec(ctx, tx,
		st("UPDATE trust SET redelegated_trust_id = NULL WHERE id"+in, inArgs...),
		st("DELETE FROM trust_role WHERE trust_id"+in, inArgs...),
		st("DELETE FROM trust WHERE id"+in, inArgs...))
	if err != nil {
		return nil, deleteErr(err)
	}
	return ids, nil
}

// trustIDs runs a query returning one id per row.
func trustIDs(ctx context.Context, q db.Querier, query string, args ...any) ([]string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// ConsumeTrustUse takes one use of a trust with limited uses, atomically, and
// leaves a trust without a limit alone. A missing trust, or one with no uses
// left, is ErrNotFound.
func (s *Store) ConsumeTrustUse(ctx context.Context, id string) error {
	res, err := s.d.ExecContext(ctx, `UPDATE trust SET remaining_uses = remaining_uses - 1
		WHERE id = ? AND remaining_uses > 0`, id)
	if err != nil {
		return fmt.Errorf("consume a use of trust %s: %w", id, err)
	}
	n, err := db.Affected(res)
	if err != nil || n > 0 {
		return err
	}
	unlimited, err := db.Exists(ctx, s.d, "SELECT 1 FROM trust WHERE id = ? AND remaining_uses IS NULL", id)
	if err != nil {
		return fmt.Errorf("consume a use of trust %s: %w", id, err)
	}
	if !unlimited {
		return fmt.Errorf("consume a use of trust %s: %w", id, identity.ErrNotFound)
	}
	return nil
}
