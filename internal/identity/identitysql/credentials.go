package identitysql

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/nimbus-cloud/nimbus/internal/db"
	"github.com/nimbus-cloud/nimbus/internal/identity"
)

// credentialSelect reads credentials; the blob stays sealed.
const credentialSelect = `SELECT c.id, c.user_id, c.project_id, c.type, c.encrypted_blob, c.key_hash, c.extra
FROM credential c`

// CreateCredential stores a new credential; a taken id is ErrConflict.
func (s *Store) CreateCredential(ctx context.Context, c identity.CredentialRecord) error {
	extra, err := encodeMap(c.Extra)
	if err != nil {
		return fmt.Errorf("create credential %s: %w", c.ID, err)
	}
	_, err = s.d.ExecContext(ctx, `INSERT INTO credential
		(id, user_id, project_id, type, encrypted_blob, key_hash, extra) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.UserID, nullable(c.ProjectID), c.Type, c.EncryptedBlob, c.KeyHash, extra)
	if err != nil {
		return fmt.Errorf("create credential %s: %w", c.ID, writeErr(err))
	}
	return nil
}

// GetCredential returns the credential with id.
func (s *Store) GetCredential(ctx context.Context, id string) (identity.CredentialRecord, error) {
	var w db.Where
	w.Add("c.id = ?", id)
	cs, err := s.queryCredentials(ctx, &w)
	if err != nil {
		return identity.CredentialRecord{}, fmt.Errorf("get credential %s: %w", id, err)
	}
	if len(cs) == 0 {
		return identity.CredentialRecord{}, fmt.Errorf("get credential %s: %w", id, identity.ErrNotFound)
	}
	return cs[0], nil
}

// ListCredentials returns the credentials matching f, ordered by id.
func (s *Store) ListCredentials(ctx context.Context, f identity.CredentialFilter) ([]identity.CredentialRecord, error) {
	var w db.Where
	w.Eq("c.user_id", f.UserID)
	w.Eq("c.project_id", f.ProjectID)
	w.Eq("c.type", f.Type)
	cs, err := s.queryCredentials(ctx, &w)
	if err != nil {
		return nil, fmt.Errorf("list credentials: %w", err)
	}
	return cs, nil
}

func (s *Store) queryCredentials(ctx context.Context, w *db.Where) ([]identity.CredentialRecord, error) {
	rows, err := s.d.QueryContext(ctx, credentialSelect+w.String()+db.OrderBy(s.d.Engine(), "c.id"), w.Args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []identity.CredentialRecord
	for rows.Next() {
		var (
			c              identity.CredentialRecord
			project, extra sql.NullString
		)
		if err := rows.Scan(&c.ID, &c.UserID, &project, &c.Type, &c.EncryptedBlob, &c.KeyHash, &extra); err != nil {
			return nil, err
		}
		c.ProjectID = project.String
		if c.Extra, err = decodeMap(extra); err != nil {
			return nil, fmt.Errorf("credential %s extra: %w", c.ID, err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// UpdateCredential replaces every stored field of the credential c.ID.
func (s *Store) UpdateCredential(ctx context.Context, c identity.CredentialRecord) error {
	extra, err := encodeMap(c.Extra)
	if err != nil {
		return fmt.Errorf("update credential %s: %w", c.ID, err)
	}
	err = s.d.InTx(ctx, func(tx *db.Tx) error {
		return updateOne(ctx, tx, "credential", c.ID, `UPDATE credential SET user_id = ?, project_id = ?, type = ?,
			encrypted_blob = ?, key_hash = ?, extra = ? WHERE id = ?`,
			c.UserID, nullable(c.ProjectID), c.Type, c.EncryptedBlob, c.KeyHash, extra, c.ID)
	})
	if err != nil {
		return fmt.Errorf("update credential %s: %w", c.ID, err)
	}
	return nil
}

// DeleteCredential removes the credential with id.
func (s *Store) DeleteCredential(ctx context.Context, id string) error {
	if err := deleteOne(ctx, s.d, "DELETE FROM credential WHERE id = ?", id); err != nil {
		return fmt.Errorf("delete credential %s: %w", id, err)
	}
	return nil
}
