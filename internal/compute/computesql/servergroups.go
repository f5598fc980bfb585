package computesql

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/compute"
	"github.com/nimbus-cloud/nimbus/internal/db"
)

var _ compute.ServerGroupStore = (*Store)(nil)

const serverGroupColumns = `g.id, g.uuid, g.name, g.project_id, g.user_id, g.policy, g.rules, g.created_at`

// liveMembers joins a group's member rows to instances not deleted: a
// deleted server leaves its group, as nova's instance_destroy makes it.
const liveMembers = ` FROM instance_group_member m JOIN instances i ON i.uuid = m.instance_uuid AND i.deleted = ? `

// CreateServerGroup stores a group unless its project would have more than
// limit groups.
func (s *Store) CreateServerGroup(ctx context.Context, g compute.ServerGroup, limit int) (compute.ServerGroup, error) {
	if g.CreatedAt.IsZero() || g.UUID == "" {
		return compute.ServerGroup{}, fmt.Errorf("create server group %s: %w: uuid and created_at are required",
			g.Name, compute.ErrInvalid)
	}
	rules, err := json.Marshal(nonNilRules(g.Rules))
	if err != nil {
		return compute.ServerGroup{}, fmt.Errorf("encode rules of server group %s: %w", g.Name, err)
	}
	var out compute.ServerGroup
	err = s.d.InTx(ctx, func(tx *db.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO instance_groups (uuid, name, project_id, user_id, policy, rules, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, g.UUID, g.Name, g.ProjectID, g.UserID, g.Policy, string(rules),
			db.At(g.CreatedAt)); err != nil {
			return writeErr(err)
		}
		// Counting after the insert, in the same transaction, is nova's
		// recheck: of two creations racing for the last unit one fails.
		if limit >= 0 {
			n, err := countServerGroups(ctx, tx, g.ProjectID, "")
			if err != nil {
				return err
			}
			if n > limit {
				return compute.ErrOverQuota
			}
		}
		var err error
		out, err = getServerGroup(ctx, tx, g.UUID)
		return err
	})
	if err != nil {
		return compute.ServerGroup{}, fmt.Errorf("create server group %s: %w", g.Name, err)
	}
	return out, nil
}

func nonNilRules(r map[string]int) map[string]int {
	if r == nil {
		return map[string]int{}
	}
	return r
}

func getServerGroup(ctx context.Context, q db.Querier, uuid string) (compute.ServerGroup, error) {
	g, err := scanServerGroup(q.QueryRowContext(ctx, `SELECT `+serverGroupColumns+` FROM instance_groups g WHERE g.uuid = ?`, uuid))
	if errors.Is(err, sql.ErrNoRows) {
		return compute.ServerGroup{}, compute.ErrNotFound
	}
	if err != nil {
		return compute.ServerGroup{}, err
	}
	if err := fillMembers(ctx, q, []*compute.ServerGroup{&g}); err != nil {
		return compute.ServerGroup{}, err
	}
	return g, nil
}

func scanServerGroup(r scanner) (compute.ServerGroup, error) {
	var (
		g       compute.ServerGroup
		rules   string
		created db.Time
	)
	if err := r.Scan(&g.ID, &g.UUID, &g.Name, &g.ProjectID, &g.UserID, &g.Policy, &rules, &created); err != nil {
		return compute.ServerGroup{}, err
	}
	g.CreatedAt = created.Time
	if err := json.Unmarshal([]byte(rules), &g.Rules); err != nil {
		return compute.ServerGroup{}, fmt.Errorf("decode rules of server group %s: %w", g.UUID, err)
	}
	g.Members = []string{}
	return g, nil
}

// fillMembers reads the live members of groups, oldest first, in one query.
func fillMembers(ctx context.Context, q db.Querier, gs []*compute.ServerGroup) error {
	if len(gs) == 0 {
		return nil
	}
	byID := make(map[int64]*compute.ServerGroup, len(gs))
	ids := make([]int64, len(gs))
	for i, g := range gs {
		byID[g.ID], ids[i] = g, g.ID
	}
	rows, err := q.QueryContext(ctx, `SELECT m.group_id, m.instance_uuid`+liveMembers+`WHERE m.group_id IN (`+
		db.Placeholders(len(ids))+`) ORDER BY m.id`, append([]any{false}, db.Args(ids)...)...)
	if err != nil {
		return fmt.Errorf("list server group members: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id   int64
			uuid string
		)
		if err := rows.Scan(&id, &uuid); err != nil {
			return fmt.Errorf("scan server group member: %w", err)
		}
		byID[id].Members = append(byID[id].Members, uuid)
	}
	return rows.Err()
}

// GetServerGroup returns a group with its members.
func (s *Store) GetServerGroup(ctx context.Context, uuid string) (compute.ServerGroup, error) {
	var g compute.ServerGroup
	err := s.d.InTx(ctx, func(tx *db.Tx) error {
		var err error
		g, err = getServerGroup(ctx, tx, uuid)
		return err
	})
	if err != nil {
		return compute.ServerGroup{}, fmt.Errorf("get server group %s: %w", uuid, err)
	}
	return g, nil
}

// ListServerGroups lists a project's groups (every project's for "") by id.
func (s *Store) ListServerGroups(ctx context.Context, projectID string, offset, limit int) ([]compute.ServerGroup, error) {
	query := `SELECT ` + serverGroupColumns + ` FROM instance_groups g`
	var args []any
	if projectID != "" {
		query += ` WHERE g.project_id = ?`
		args = append(args, projectID)
	}
	query += ` ORDER BY g.id LIMIT ? OFFSET ?`
	args = append(args, limit, max(offset, 0))
	out := []compute.ServerGroup{}
	err := s.d.InTx(ctx, func(tx *db.Tx) error {
		out = out[:0]
		rows, err := tx.QueryContext(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			g, err := scanServerGroup(rows)
			if err != nil {
				return err
			}
			out = append(out, g)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		ptrs := make([]*compute.ServerGroup, len(out))
		for i := range out {
			ptrs[i] = &out[i]
		}
		return fillMembers(ctx, tx, ptrs)
	})
	if err != nil {
		return nil, fmt.Errorf("list server groups: %w", err)
	}
	return out, nil
}

// DeleteServerGroup removes a group and its member rows.
func (s *Store) DeleteServerGroup(ctx context.Context, uuid string) error {
	err := s.d.InTx(ctx, func(tx *db.Tx) error {
		id, err := serverGroupID(ctx, tx, uuid, false)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM instance_group_member WHERE group_id = ?`, id); err != nil {
			return err
		}
		return deleteSome(ctx, tx, `DELETE FROM instance_groups WHERE id = ?`, id)
	})
	if err != nil {
		return fmt.Errorf("delete server group %s: %w", uuid, err)
	}
	return nil
}

// serverGroupID is a group's internal id, the row locked when lock is set.
func serverGroupID(ctx context.Context, tx *db.Tx, uuid string, lock bool) (int64, error) {
	query := `SELECT id FROM instance_groups WHERE uuid = ?`
	if lock {
		query += db.ForUpdate(tx.Engine())
	}
	var id int64
	err := tx.QueryRowContext(ctx, query, uuid).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, compute.ErrNotFound
	}
	return id, err
}

// AddServerGroupMembers adds instances to a group within limit members.
func (s *Store) AddServerGroupMembers(ctx context.Context, uuid string, instanceUUIDs []string, limit int) error {
	now := db.At(time.Now().UTC())
	err := s.d.InTx(ctx, func(tx *db.Tx) error {
		// The lock serialises creations joining the same group, so the
		// count below sees every earlier member.
		id, err := serverGroupID(ctx, tx, uuid, true)
		if err != nil {
			return err
		}
		for _, u := range instanceUUIDs {
			if _, err := tx.ExecContext(ctx, `INSERT INTO instance_group_member (group_id, instance_uuid, created_at)
				VALUES (?, ?, ?)`, id, u, now); err != nil {
				return writeErr(err)
			}
		}
		if limit < 0 {
			return nil
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*)`+liveMembers+`WHERE m.group_id = ?`, false, id).Scan(&n); err != nil {
			return fmt.Errorf("count members: %w", err)
		}
		if n > limit {
			return compute.ErrOverQuota
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("add members to server group %s: %w", uuid, err)
	}
	return nil
}

// ServerGroupMembers lists a group's live members with their hosts.
func (s *Store) ServerGroupMembers(ctx context.Context, uuid string) ([]compute.ServerGroupMember, error) {
	var out []compute.ServerGroupMember
	err := s.d.InTx(ctx, func(tx *db.Tx) error {
		out = nil
		id, err := serverGroupID(ctx, tx, uuid, false)
		if err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT m.instance_uuid, i.host`+liveMembers+`WHERE m.group_id = ? ORDER BY m.id`,
			false, id)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var m compute.ServerGroupMember
			if err := rows.Scan(&m.InstanceUUID, &m.Host); err != nil {
				return err
			}
			out = append(out, m)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("list members of server group %s: %w", uuid, err)
	}
	return out, nil
}

// InstanceServerGroup returns the group an instance is a member of.
func (s *Store) InstanceServerGroup(ctx context.Context, instanceUUID string) (compute.ServerGroup, error) {
	var g compute.ServerGroup
	err := s.d.InTx(ctx, func(tx *db.Tx) error {
		var uuid string
		err := tx.QueryRowContext(ctx, `SELECT g.uuid FROM instance_groups g JOIN instance_group_member m ON m.group_id = g.id
			WHERE m.instance_uuid = ? ORDER BY m.id LIMIT 1`, instanceUUID).Scan(&uuid)
		if errors.Is(err, sql.ErrNoRows) {
			return compute.ErrNotFound
		}
		if err != nil {
			return err
		}
		g, err = getServerGroup(ctx, tx, uuid)
		return err
	})
	if err != nil {
		return compute.ServerGroup{}, fmt.Errorf("get server group of instance %s: %w", instanceUUID, err)
	}
	return g, nil
}

// CountServerGroups counts a project's groups, or one user's in it.
func (s *Store) CountServerGroups(ctx context.Context, projectID, userID string) (int, error) {
	return countServerGroups(ctx, s.d, projectID, userID)
}

func countServerGroups(ctx context.Context, q db.Querier, projectID, userID string) (int, error) {
	query, args := `SELECT COUNT(*) FROM instance_groups WHERE project_id = ?`, []any{projectID}
	if userID != "" {
		query += ` AND user_id = ?`
		args = append(args, userID)
	}
	var n int
	if err := q.QueryRowContext(ctx, query, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count server groups: %w", err)
	}
	return n, nil
}
