package identitysql

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/nimbus-cloud/nimbus/internal/db"
	"github.com/nimbus-cloud/nimbus/internal/identity"
)

// appCredSelect reads application credentials with their roles, one row per role.
const appCredSelect = `SELECT c.id, c.name, c.description, c.user_id, c.project_id, c.secret_hash,
c.expires_at, c.unrestricted, r.role_id
FROM application_credential c LEFT JOIN application_credential_role r ON r.application_credential_id = c.id`

// CreateApplicationCredential stores a new application credential with its
// roles; its name is unique per user. A missing user is ErrNotFound.
func (s *Store) CreateApplicationCredential(ctx context.Context, ac identity.ApplicationCredential) error {
	err := s.d.InTx(ctx, func(tx *db.Tx) error {
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
	})
	if err != nil {
		return fmt.Errorf("create application credential %s: %w", ac.ID, err)
	}
	return nil
}

// GetApplicationCredential returns the application credential with id.
func (s *Store) GetApplicationCredential(ctx context.Context, id string) (identity.ApplicationCredential, error) {
	var w db.Where
	w.Add("c.id = ?", id)
	acs, err := s.queryAppCreds(ctx, &w)
	if err != nil {
		return identity.ApplicationCredential{}, fmt.Errorf("get application credential %s: %w", id, err)
	}
	if len(acs) == 0 {
		return identity.ApplicationCredential{}, fmt.Errorf("get application credential %s: %w", id, identity.ErrNotFound)
	}
	return acs[0], nil
}

// ListApplicationCredentials returns the user's application credentials, only the
// one named name when name is set, ordered by id. An empty userID lists every
// user's.
func (s *Store) ListApplicationCredentials(ctx context.Context, userID, name string) ([]identity.ApplicationCredential, error) {
	var w db.Where
	w.Eq("c.user_id", userID)
	w.Eq("c.name", name)
	acs, err := s.queryAppCreds(ctx, &w)
	if err != nil {
		return nil, fmt.Errorf("list application credentials of user %s: %w", userID, err)
	}
	return acs, nil
}

func (s *Store) queryAppCreds(ctx context.Context, w *db.Where) ([]identity.ApplicationCredential, error) {
	rows, err := s.d.QueryContext(ctx, appCredSelect+w.String()+db.OrderBy(s.d.Engine(), "c.id", "r.role_id"), w.Args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []identity.ApplicationCredential
	for rows.Next() {
		var (
			ac            identity.ApplicationCredential
			project, role sql.NullString
			expires       db.Time
		)
		err := rows.Scan(&ac.ID, &ac.Name, &ac.Description, &ac.UserID, &project, &ac.SecretHash,
			&expires, &ac.Unrestricted, &role)
		if err != nil {
			return nil, err
		}
		if n := len(out); n > 0 && out[n-1].ID == ac.ID {
			out[n-1].RoleIDs = appendJoined(out[n-1].RoleIDs, role)
			continue
		}
		ac.ProjectID, ac.ExpiresAt = project.String, expires.Time
		ac.RoleIDs = appendJoined(nil, role)
		out = append(out, ac)
	}
	return out, rows.Err()
}

// DeleteApplicationCredential removes the application credential with its roles.
func (s *Store) DeleteApplicationCredential(ctx context.Context, id string) error {
	err := s.d.InTx(ctx, func(tx *db.Tx) error {
		_, err := tx.ExecContext(ctx, "DELETE FROM application_credential_role WHERE application_credential_id = ?", id)
		if err != nil {
			return err
		}
		return deleteOne(ctx, tx, "DELETE FROM application_credential WHERE id = ?", id)
	})
	if err != nil {
		return fmt.Errorf("delete application credential %s: %w", id, err)
	}
	return nil
}
