package identitysql

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/nimbus-cloud/nimbus/internal/db"
	"github.com/nimbus-cloud/nimbus/internal/identity"
)

// globalRoleDomain is the domain id stored for global roles, keystone's NULL_DOMAIN_ID
// for roles: a NULL would escape UNIQUE (name, domain_id) on every engine.
const globalRoleDomain = "<<null>>"

// storedRoleDomain maps a role's DomainID to its stored form.
func storedRoleDomain(id string) string {
	if id == "" {
		return globalRoleDomain
	}
	return id
}

// lockDomain reports whether the domain exists and, on server engines, locks its
// row until the transaction ends so that a concurrent DeleteDomain cannot miss
// rows added under it. SQLite transactions already run one at a time.
func lockDomain(ctx context.Context, tx *db.Tx, id string) (bool, error) {
	q := "SELECT 1 FROM domain WHERE id = ?" + db.ForUpdate(tx.Engine())
	return db.Exists(ctx, tx, q, id)
}

// checkRoleDomain returns ErrNotFound when a domain-specific role names a
// missing domain.
func checkRoleDomain(ctx context.Context, tx *db.Tx, domainID string) error {
	if domainID == "" {
		return nil
	}
	ok, err := lockDomain(ctx, tx, domainID)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("domain %s: %w", domainID, identity.ErrNotFound)
	}
	return nil
}

// CreateRole stores a new role; its name is unique among the global roles or
// among its domain's roles. A missing domain is ErrNotFound.
func (s *Store) CreateRole(ctx context.Context, r identity.Role) error {
	opts, err := encodeMap(r.Options)
	if err != nil {
		return fmt.Errorf("create role %s: %w", r.ID, err)
	}
	err = s.d.InTx(ctx, func(tx *db.Tx) error {
		if err := checkRoleDomain(ctx, tx, r.DomainID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO role (id, name, domain_id, description, options)
			VALUES (?, ?, ?, ?, ?)`, r.ID, r.Name, storedRoleDomain(r.DomainID), r.Description, opts)
		return writeErr(err)
	})
	if err != nil {
		return fmt.Errorf("create role %s: %w", r.ID, err)
	}
	return nil
}

// GetRole returns the role with id.
func (s *Store) GetRole(ctx context.Context, id string) (identity.Role, error) {
	var w db.Where
	w.Add("r.id = ?", id)
	rs, err := s.queryRoles(ctx, &w)
	if err != nil {
		return identity.Role{}, fmt.Errorf("get role %s: %w", id, err)
	}
	if len(rs) == 0 {
		return identity.Role{}, fmt.Errorf("get role %s: %w", id, identity.ErrNotFound)
	}
	return rs[0], nil
}

// ListRoles returns the roles matching f, ordered by id. A DomainID selects that
// domain's roles; without one, AnyDomain selects every role and otherwise only
// global roles match.
func (s *Store) ListRoles(ctx context.Context, f identity.RoleFilter) ([]identity.Role, error) {
	var w db.Where
	w.Eq("r.name", f.Name)
	switch {
	case f.DomainID != "":
		w.Add("r.domain_id = ?", f.DomainID)
	case !f.AnyDomain:
		w.Add("r.domain_id = ?", globalRoleDomain)
	}
	w.In("r.id", f.IDs)
	rs, err := s.queryRoles(ctx, &w)
	if err != nil {
		return nil, fmt.Errorf("list roles: %w", err)
	}
	return rs, nil
}

func (s *Store) queryRoles(ctx context.Context, w *db.Where) ([]identity.Role, error) {
	if w.None {
		return nil, nil
	}
	q := "SELECT r.id, r.name, r.domain_id, r.description, r.options FROM role r" +
		w.String() + db.OrderBy(s.d.Engine(), "r.id")
	rows, err := s.d.QueryContext(ctx, q, w.Args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []identity.Role
	for rows.Next() {
		var (
			r    identity.Role
			opts sql.NullString
		)
		if err := rows.Scan(&r.ID, &r.Name, &r.DomainID, &r.Description, &opts); err != nil {
			return nil, err
		}
		if r.DomainID == globalRoleDomain {
			r.DomainID = ""
		}
		if r.Options, err = decodeMap(opts); err != nil {
			return nil, fmt.Errorf("role %s options: %w", r.ID, err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// UpdateRole replaces the stored fields of the role r.ID.
func (s *Store) UpdateRole(ctx context.Context, r identity.Role) error {
	opts, err := encodeMap(r.Options)
	if err != nil {
		return fmt.Errorf("update role %s: %w", r.ID, err)
	}
	err = s.d.InTx(ctx, func(tx *db.Tx) error {
		if err := checkRoleDomain(ctx, tx, r.DomainID); err != nil {
			return err
		}
		return updateOne(ctx, tx, "role", r.ID,
			`UPDATE role SET name = ?, domain_id = ?, description = ?, options = ? WHERE id = ?`,
			r.Name, storedRoleDomain(r.DomainID), r.Description, opts, r.ID)
	})
	if err != nil {
		return fmt.Errorf("update role %s: %w", r.ID, err)
	}
	return nil
}

// DeleteRole removes the role with its assignments and every implication it is
// part of, as prior or as implied role.
func (s *Store) DeleteRole(ctx context.Context, id string) error {
	err := s.d.InTx(ctx, func(tx *db.Tx) error {
		err := exec(ctx, tx,
			st("DELETE FROM assignment WHERE role_id = ?", id),
			st("DELETE FROM implied_role WHERE prior_role_id = ? OR implied_role_id = ?", id, id),
		)
		if err != nil {
			return err
		}
		return deleteOne(ctx, tx, "DELETE FROM role WHERE id = ?", id)
	})
	if err != nil {
		return fmt.Errorf("delete role %s: %w", id, err)
	}
	return nil
}

// CreateImpliedRole records that the prior role implies the other; it is
// idempotent. A missing role is ErrNotFound.
func (s *Store) CreateImpliedRole(ctx context.Context, ir identity.ImpliedRole) error {
	q := db.InsertIgnore(s.d.Engine(), "implied_role", "prior_role_id", "implied_role_id")
	if _, err := s.d.ExecContext(ctx, q, ir.PriorID, ir.ImpliedID); err != nil {
		return fmt.Errorf("create implied role %s -> %s: %w", ir.PriorID, ir.ImpliedID, writeErr(err))
	}
	return nil
}

// DeleteImpliedRole removes an implication; ErrNotFound when there is none.
func (s *Store) DeleteImpliedRole(ctx context.Context, ir identity.ImpliedRole) error {
	err := deleteOne(ctx, s.d, "DELETE FROM implied_role WHERE prior_role_id = ? AND implied_role_id = ?",
		ir.PriorID, ir.ImpliedID)
	if err != nil {
		return fmt.Errorf("delete implied role %s -> %s: %w", ir.PriorID, ir.ImpliedID, err)
	}
	return nil
}

// ListImpliedRoles returns the implications of the prior role priorID, or all of
// them when priorID is "", ordered by prior then implied role id.
func (s *Store) ListImpliedRoles(ctx context.Context, priorID string) ([]identity.ImpliedRole, error) {
	var w db.Where
	w.Eq("prior_role_id", priorID)
	q := "SELECT prior_role_id, implied_role_id FROM implied_role" + w.String() +
		db.OrderBy(s.d.Engine(), "prior_role_id", "implied_role_id")
	rows, err := s.d.QueryContext(ctx, q, w.Args...)
	if err != nil {
		return nil, fmt.Errorf("list implied roles: %w", err)
	}
	defer rows.Close()
	var out []identity.ImpliedRole
	for rows.Next() {
		var ir identity.ImpliedRole
		if err := rows.Scan(&ir.PriorID, &ir.ImpliedID); err != nil {
			return nil, fmt.Errorf("list implied roles: %w", err)
		}
		out = append(out, ir)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list implied roles: %w", err)
	}
	return out, nil
}
