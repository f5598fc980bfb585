package identitysql

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/nimbus-cloud/nimbus/internal/db"
	"github.com/nimbus-cloud/nimbus/internal/identity"
)

const userColumns = `id, name, domain_id, enabled, default_project_id, description, extra, options,
password_hash, password_created_at, password_expires_at`

// CreateUser stores a new user. A missing domain is ErrNotFound.
func (s *Store) CreateUser(ctx context.Context, u identity.User) error {
	args, err := userArgs(u)
	if err != nil {
		return fmt.Errorf("create user %s: %w", u.ID, err)
	}
	_, err = s.d.ExecContext(ctx, `INSERT INTO identity_user (`+userColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, append([]any{u.ID}, args...)...)
	if err != nil {
		return fmt.Errorf("create user %s: %w", u.ID, writeErr(err))
	}
	return nil
}

// userArgs returns the stored values of every column of u but its id, in
// userColumns order.
func userArgs(u identity.User) ([]any, error) {
	extra, err := encodeMap(u.Extra)
	if err != nil {
		return nil, fmt.Errorf("extra: %w", err)
	}
	opts, err := encodeMap(u.Options)
	if err != nil {
		return nil, fmt.Errorf("options: %w", err)
	}
	return []any{u.Name, u.DomainID, u.Enabled, nullable(u.DefaultProjectID), u.Description,
		extra, opts, nullable(u.PasswordHash), db.At(u.PasswordCreatedAt), db.At(u.PasswordExpiresAt)}, nil
}

// GetUser returns the user with id.
func (s *Store) GetUser(ctx context.Context, id string) (identity.User, error) {
	var w db.Where
	w.Add("u.id = ?", id)
	return s.getUser(ctx, &w, "get user "+id)
}

// GetUserByName returns the user named name in the domain domainID.
func (s *Store) GetUserByName(ctx context.Context, domainID, name string) (identity.User, error) {
	var w db.Where
	w.Add("u.domain_id = ?", domainID)
	w.Add("u.name = ?", name)
	return s.getUser(ctx, &w, fmt.Sprintf("get user %s in domain %s", name, domainID))
}

func (s *Store) getUser(ctx context.Context, w *db.Where, what string) (identity.User, error) {
	us, err := s.queryUsers(ctx, w)
	if err != nil {
		return identity.User{}, fmt.Errorf("%s: %w", what, err)
	}
	if len(us) == 0 {
		return identity.User{}, fmt.Errorf("%s: %w", what, identity.ErrNotFound)
	}
	return us[0], nil
}

// expiryOps maps keystone's password_expires_at operators to SQL.
var expiryOps = map[string]string{"lt": "<", "lte": "<=", "gt": ">", "gte": ">=", "eq": "=", "neq": "<>"}

// ListUsers returns the users matching f, ordered by id. Users whose password
// never expires match no PasswordExpiresOp, as in keystone.
func (s *Store) ListUsers(ctx context.Context, f identity.UserFilter) ([]identity.User, error) {
	var w db.Where
	w.Eq("u.domain_id", f.DomainID)
	w.Eq("u.name", f.Name)
	w.Flag("u.enabled", f.Enabled)
	if f.GroupID != "" {
		w.Add("EXISTS (SELECT 1 FROM user_group_membership m WHERE m.user_id = u.id AND m.group_id = ?)", f.GroupID)
	}
	w.In("u.id", f.IDs)
	if f.PasswordExpiresOp != "" {
		op, ok := expiryOps[f.PasswordExpiresOp]
		if !ok {
			return nil, fmt.Errorf("list users: password_expires_at operator %q: %w", f.PasswordExpiresOp, identity.ErrValidation)
		}
		if f.PasswordExpiresAt.IsZero() {
			return nil, fmt.Errorf("list users: password_expires_at filter without a time: %w", identity.ErrValidation)
		}
		w.Add("u.password_expires_at "+op+" ?", db.At(f.PasswordExpiresAt))
	}
	us, err := s.queryUsers(ctx, &w)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return us, nil
}

func (s *Store) queryUsers(ctx context.Context, w *db.Where) ([]identity.User, error) {
	if w.None {
		return nil, nil
	}
	q := `SELECT u.id, u.name, u.domain_id, u.enabled, u.default_project_id, u.description, u.extra, u.options,
		u.password_hash, u.password_created_at, u.password_expires_at FROM identity_user u` +
		w.String() + db.OrderBy(s.d.Engine(), "u.id")
	rows, err := s.d.QueryContext(ctx, q, w.Args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []identity.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

func scanUser(rows *sql.Rows) (identity.User, error) {
	var (
		u                        identity.User
		project, extra, opts, pw sql.NullString
		created, expires         db.Time
	)
	err := rows.Scan(&u.ID, &u.Name, &u.DomainID, &u.Enabled, &project, &u.Description, &extra, &opts,
		&pw, &created, &expires)
	if err != nil {
		return u, err
	}
	u.DefaultProjectID, u.PasswordHash = project.String, pw.String
	u.PasswordCreatedAt, u.PasswordExpiresAt = created.Time, expires.Time
	if u.Extra, err = decodeMap(extra); err != nil {
		return u, fmt.Errorf("user %s extra: %w", u.ID, err)
	}
	if u.Options, err = decodeMap(opts); err != nil {
		return u, fmt.Errorf("user %s options: %w", u.ID, err)
	}
	return u, nil
}

// UpdateUser replaces every stored field of the user u.ID, the password included.
func (s *Store) UpdateUser(ctx context.Context, u identity.User) error {
	args, err := userArgs(u)
	if err != nil {
		return fmt.Errorf("update user %s: %w", u.ID, err)
	}
	err = s.d.InTx(ctx, func(tx *db.Tx) error {
		return updateOne(ctx, tx, "identity_user", u.ID, `UPDATE identity_user SET name = ?, domain_id = ?,
			enabled = ?, default_project_id = ?, description = ?, extra = ?, options = ?,
			password_hash = ?, password_created_at = ?, password_expires_at = ? WHERE id = ?`,
			append(args, u.ID)...)
	})
	if err != nil {
		return fmt.Errorf("update user %s: %w", u.ID, err)
	}
	return nil
}

// DeleteUser removes the user with its group memberships, role assignments,
// application credentials, credentials, trusts, access rules and password history.
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	err := s.d.InTx(ctx, func(tx *db.Tx) error {
		err := exec(ctx, tx,
			st("DELETE FROM user_group_membership WHERE user_id = ?", id),
			st("DELETE FROM assignment WHERE type IN (?, ?, ?) AND actor_id = ?", append(userActors(), id)...),
			st(`DELETE FROM application_credential_role WHERE application_credential_id IN (
				SELECT id FROM application_credential WHERE user_id = ?)`, id),
			st(`DELETE FROM application_credential_access_rule WHERE application_credential_id IN (
				SELECT id FROM application_credential WHERE user_id = ?)`, id),
			st("DELETE FROM application_credential WHERE user_id = ?", id),
			st("DELETE FROM credential WHERE user_id = ?", id),
			st("DELETE FROM access_rule WHERE user_id = ?", id),
			st("DELETE FROM password_history WHERE user_id = ?", id),
			st("DELETE FROM password_state WHERE user_id = ?", id),
		)
		if err != nil {
			return err
		}
		if _, err := deleteTrustsWhere(ctx, tx, "trustor_user_id = ? OR trustee_user_id = ?", id, id); err != nil {
			return err
		}
		return deleteOne(ctx, tx, "DELETE FROM identity_user WHERE id = ?", id)
	})
	if err != nil {
		return fmt.Errorf("delete user %s: %w", id, err)
	}
	return nil
}
