package identitysql

import (
	"context"
	"fmt"

	"github.com/nimbus-cloud/nimbus/internal/db"
	"github.com/nimbus-cloud/nimbus/internal/identity"
)

// CreateGroup stores a new group. A missing domain is ErrNotFound.
func (s *Store) CreateGroup(ctx context.Context, g identity.Group) error {
	_, err := s.d.ExecContext(ctx, `INSERT INTO identity_group (id, name, domain_id, description)
		VALUES (?, ?, ?, ?)`, g.ID, g.Name, g.DomainID, g.Description)
	if err != nil {
		return fmt.Errorf("create group %s: %w", g.ID, writeErr(err))
	}
	return nil
}

// GetGroup returns the group with id.
func (s *Store) GetGroup(ctx context.Context, id string) (identity.Group, error) {
	var w db.Where
	w.Add("g.id = ?", id)
	gs, err := s.queryGroups(ctx, &w)
	if err != nil {
		return identity.Group{}, fmt.Errorf("get group %s: %w", id, err)
	}
	if len(gs) == 0 {
		return identity.Group{}, fmt.Errorf("get group %s: %w", id, identity.ErrNotFound)
	}
	return gs[0], nil
}

// ListGroups returns the groups matching f, ordered by id.
func (s *Store) ListGroups(ctx context.Context, f identity.GroupFilter) ([]identity.Group, error) {
	var w db.Where
	w.Eq("g.domain_id", f.DomainID)
	w.Eq("g.name", f.Name)
	if f.UserID != "" {
		w.Add("EXISTS (SELECT 1 FROM user_group_membership m WHERE m.group_id = g.id AND m.user_id = ?)", f.UserID)
	}
	w.In("g.id", f.IDs)
	gs, err := s.queryGroups(ctx, &w)
	if err != nil {
		return nil, fmt.Errorf("list groups: %w", err)
	}
	return gs, nil
}

func (s *Store) queryGroups(ctx context.Context, w *db.Where) ([]identity.Group, error) {
	if w.None {
		return nil, nil
	}
	q := "SELECT g.id, g.name, g.domain_id, g.description FROM identity_group g" +
		w.String() + db.OrderBy(s.d.Engine(), "g.id")
	rows, err := s.d.QueryContext(ctx, q, w.Args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []identity.Group
	for rows.Next() {
		var g identity.Group
		if err := rows.Scan(&g.ID, &g.Name, &g.DomainID, &g.Description); err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

// UpdateGroup replaces the stored fields of the group g.ID.
func (s *Store) UpdateGroup(ctx context.Context, g identity.Group) error {
	err := s.d.InTx(ctx, func(tx *db.Tx) error {
		return updateOne(ctx, tx, "identity_group", g.ID,
			`UPDATE identity_group SET name = ?, domain_id = ?, description = ? WHERE id = ?`,
			g.Name, g.DomainID, g.Description, g.ID)
	})
	if err != nil {
		return fmt.Errorf("update group %s: %w", g.ID, err)
	}
	return nil
}

// DeleteGroup removes the group with its memberships and role assignments.
func (s *Store) DeleteGroup(ctx context.Context, id string) error {
	err := s.d.InTx(ctx, func(tx *db.Tx) error {
		err := exec(ctx, tx,
			st("DELETE FROM user_group_membership WHERE group_id = ?", id),
			st("DELETE FROM assignment WHERE type IN (?, ?, ?) AND actor_id = ?", append(groupActors(), id)...),
		)
		if err != nil {
			return err
		}
		return deleteOne(ctx, tx, "DELETE FROM identity_group WHERE id = ?", id)
	})
	if err != nil {
		return fmt.Errorf("delete group %s: %w", id, err)
	}
	return nil
}

// AddUserToGroup makes the user a member of the group; it is idempotent. A
// missing user or group is ErrNotFound.
func (s *Store) AddUserToGroup(ctx context.Context, userID, groupID string) error {
	q := db.InsertIgnore(s.d.Engine(), "user_group_membership", "user_id", "group_id")
	if _, err := s.d.ExecContext(ctx, q, userID, groupID); err != nil {
		return fmt.Errorf("add user %s to group %s: %w", userID, groupID, writeErr(err))
	}
	return nil
}

// RemoveUserFromGroup ends a membership; ErrNotFound when there is none.
func (s *Store) RemoveUserFromGroup(ctx context.Context, userID, groupID string) error {
	err := deleteOne(ctx, s.d, "DELETE FROM user_group_membership WHERE user_id = ? AND group_id = ?", userID, groupID)
	if err != nil {
		return fmt.Errorf("remove user %s from group %s: %w", userID, groupID, err)
	}
	return nil
}

// IsUserInGroup reports whether the user is a member of the group.
func (s *Store) IsUserInGroup(ctx context.Context, userID, groupID string) (bool, error) {
	ok, err := db.Exists(ctx, s.d, "SELECT 1 FROM user_group_membership WHERE user_id = ? AND group_id = ?", userID, groupID)
	if err != nil {
		return false, fmt.Errorf("check user %s in group %s: %w", userID, groupID, err)
	}
	return ok, nil
}
