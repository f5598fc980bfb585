package identitysql

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/nimbus-cloud/nimbus/internal/db"
	"github.com/nimbus-cloud/nimbus/internal/identity"
)

// domainSelect reads domains with their tags, one row per tag.
const domainSelect = `SELECT d.id, d.name, d.description, d.enabled, d.options, t.name
FROM domain d LEFT JOIN domain_tag t ON t.domain_id = d.id`

// CreateDomain stores a new domain with its tags.
func (s *Store) CreateDomain(ctx context.Context, d identity.Domain) error {
	if d.ID == globalRoleDomain {
		return fmt.Errorf("create domain %s: reserved id: %w", d.ID, identity.ErrValidation)
	}
	opts, err := encodeMap(d.Options)
	if err != nil {
		return fmt.Errorf("create domain %s: %w", d.ID, err)
	}
	err = s.d.InTx(ctx, func(tx *db.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO domain (id, name, description, enabled, options)
			VALUES (?, ?, ?, ?, ?)`, d.ID, d.Name, d.Description, d.Enabled, opts)
		if err != nil {
			return writeErr(err)
		}
		return domainTags.insert(ctx, tx, d.ID, d.Tags)
	})
	if err != nil {
		return fmt.Errorf("create domain %s: %w", d.ID, err)
	}
	return nil
}

// GetDomain returns the domain with id.
func (s *Store) GetDomain(ctx context.Context, id string) (identity.Domain, error) {
	var w db.Where
	w.Add("d.id = ?", id)
	return s.getDomain(ctx, &w, "get domain "+id)
}

// GetDomainByName returns the domain named name.
func (s *Store) GetDomainByName(ctx context.Context, name string) (identity.Domain, error) {
	var w db.Where
	w.Add("d.name = ?", name)
	return s.getDomain(ctx, &w, "get domain by name "+name)
}

func (s *Store) getDomain(ctx context.Context, w *db.Where, what string) (identity.Domain, error) {
	ds, err := s.queryDomains(ctx, w)
	if err != nil {
		return identity.Domain{}, fmt.Errorf("%s: %w", what, err)
	}
	if len(ds) == 0 {
		return identity.Domain{}, fmt.Errorf("%s: %w", what, identity.ErrNotFound)
	}
	return ds[0], nil
}

// ListDomains returns the domains matching f, ordered by id.
func (s *Store) ListDomains(ctx context.Context, f identity.DomainFilter) ([]identity.Domain, error) {
	var w db.Where
	w.Eq("d.name", f.Name)
	w.Flag("d.enabled", f.Enabled)
	ds, err := s.queryDomains(ctx, &w)
	if err != nil {
		return nil, fmt.Errorf("list domains: %w", err)
	}
	return ds, nil
}

func (s *Store) queryDomains(ctx context.Context, w *db.Where) ([]identity.Domain, error) {
	if w.None {
		return nil, nil
	}
	rows, err := s.d.QueryContext(ctx, domainSelect+w.String()+db.OrderBy(s.d.Engine(), "d.id", "t.name"), w.Args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []identity.Domain
	for rows.Next() {
		var (
			d         identity.Domain
			opts, tag sql.NullString
		)
		if err := rows.Scan(&d.ID, &d.Name, &d.Description, &d.Enabled, &opts, &tag); err != nil {
			return nil, err
		}
		if n := len(out); n > 0 && out[n-1].ID == d.ID {
			out[n-1].Tags = appendJoined(out[n-1].Tags, tag)
			continue
		}
		if d.Options, err = decodeMap(opts); err != nil {
			return nil, fmt.Errorf("domain %s options: %w", d.ID, err)
		}
		d.Tags = appendJoined(nil, tag)
		out = append(out, d)
	}
	return out, rows.Err()
}

// UpdateDomain replaces the stored fields and tags of the domain d.ID.
func (s *Store) UpdateDomain(ctx context.Context, d identity.Domain) error {
	opts, err := encodeMap(d.Options)
	if err != nil {
		return fmt.Errorf("update domain %s: %w", d.ID, err)
	}
	err = s.d.InTx(ctx, func(tx *db.Tx) error {
		err := updateOne(ctx, tx, "domain", d.ID,
			`UPDATE domain SET name = ?, description = ?, enabled = ?, options = ? WHERE id = ?`,
			d.Name, d.Description, d.Enabled, opts, d.ID)
		if err != nil {
			return err
		}
		return domainTags.replace(ctx, tx, d.ID, d.Tags)
	})
	if err != nil {
		return fmt.Errorf("update domain %s: %w", d.ID, err)
	}
	return nil
}

// Subqueries naming the rows that belong to the domain given as their argument.
const (
	domainUsers    = "SELECT id FROM identity_user WHERE domain_id = ?"
	domainGroups   = "SELECT id FROM identity_group WHERE domain_id = ?"
	domainProjects = "SELECT id FROM project WHERE domain_id = ?"
	domainRoles    = "SELECT id FROM role WHERE domain_id = ?"
)

// DeleteDomain removes the domain and everything in it: its projects, users,
// groups and domain-specific roles, their memberships, tags, implications,
// application credentials and assignments, and the assignments on the domain.
func (s *Store) DeleteDomain(ctx context.Context, id string) error {
	if id == globalRoleDomain {
		return fmt.Errorf("delete domain %s: %w", id, identity.ErrNotFound)
	}
	err := s.d.InTx(ctx, func(tx *db.Tx) error {
		ok, err := lockDomain(ctx, tx, id)
		if err != nil {
			return err
		}
		if !ok {
			return identity.ErrNotFound
		}
		_, err = deleteTrustsWhere(ctx, tx, "trustor_user_id IN ("+domainUsers+") OR trustee_user_id IN ("+
			domainUsers+") OR project_id IN ("+domainProjects+")", id, id, id)
		if err != nil {
			return err
		}
		err = exec(ctx, tx,
			st("DELETE FROM user_group_membership WHERE user_id IN ("+domainUsers+") OR group_id IN ("+domainGroups+")", id, id),
			st("DELETE FROM assignment WHERE type IN (?, ?, ?) AND actor_id IN ("+domainUsers+")", append(userActors(), id)...),
			st("DELETE FROM assignment WHERE type IN (?, ?, ?) AND actor_id IN ("+domainGroups+")", append(groupActors(), id)...),
			st("DELETE FROM assignment WHERE type IN (?, ?) AND target_id IN ("+domainProjects+")", append(projectTargets(), id)...),
			st("DELETE FROM assignment WHERE type IN (?, ?) AND target_id = ?", append(domainTargets(), id)...),
			st("DELETE FROM assignment WHERE role_id IN ("+domainRoles+")", id),
			st("DELETE FROM implied_role WHERE prior_role_id IN ("+domainRoles+") OR implied_role_id IN ("+domainRoles+")", id, id),
			st(`DELETE FROM application_credential_role WHERE application_credential_id IN (
				SELECT ac.id FROM application_credential ac JOIN identity_user u ON u.id = ac.user_id
				WHERE u.domain_id = ?)`, id),
			st(`DELETE FROM application_credential_access_rule WHERE application_credential_id IN (
				SELECT ac.id FROM application_credential ac JOIN identity_user u ON u.id = ac.user_id
				WHERE u.domain_id = ?)`, id),
			st("DELETE FROM application_credential WHERE user_id IN ("+domainUsers+")", id),
			st("DELETE FROM access_rule WHERE user_id IN ("+domainUsers+")", id),
			st("DELETE FROM password_history WHERE user_id IN ("+domainUsers+")", id),
			st("DELETE FROM password_state WHERE user_id IN ("+domainUsers+")", id),
			st("DELETE FROM credential WHERE user_id IN ("+domainUsers+") OR project_id IN ("+domainProjects+")", id, id),
			st("DELETE FROM project_tag WHERE project_id IN ("+domainProjects+")", id),
			st("DELETE FROM project_endpoint_group WHERE project_id IN ("+domainProjects+")", id),
			st("DELETE FROM project_endpoint WHERE project_id IN ("+domainProjects+")", id),
			// Unlink the hierarchy first: MySQL checks foreign keys row by row.
			st("UPDATE project SET parent_id = NULL WHERE domain_id = ?", id),
			st("DELETE FROM project WHERE domain_id = ?", id),
			st("DELETE FROM identity_user WHERE domain_id = ?", id),
			st("DELETE FROM identity_group WHERE domain_id = ?", id),
			st("DELETE FROM role WHERE domain_id = ?", id),
			st("DELETE FROM domain_tag WHERE domain_id = ?", id),
			st("DELETE FROM domain_config WHERE domain_id = ?", id),
		)
		if err != nil {
			return deleteErr(err)
		}
		return deleteOne(ctx, tx, "DELETE FROM domain WHERE id = ?", id)
	})
	if err != nil {
		return fmt.Errorf("delete domain %s: %w", id, err)
	}
	return nil
}
