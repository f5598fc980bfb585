package identitysql

import (
	"context"
	"fmt"

	"github.com/nimbus-cloud/nimbus/internal/db"
	"github.com/nimbus-cloud/nimbus/internal/identity"
)

// The assignment types by kind of actor and of target, as query arguments. Each
// call returns a fresh slice, so callers may append to it.
func userActors() []any {
	return []any{string(identity.UserProject), string(identity.UserDomain), string(identity.UserSystem)}
}

func groupActors() []any {
	return []any{string(identity.GroupProject), string(identity.GroupDomain), string(identity.GroupSystem)}
}

func projectTargets() []any {
	return []any{string(identity.UserProject), string(identity.GroupProject)}
}

func domainTargets() []any {
	return []any{string(identity.UserDomain), string(identity.GroupDomain)}
}

// knownTypes are the assignment types the store accepts.
var knownTypes = map[identity.AssignmentType]bool{
	identity.UserProject: true, identity.GroupProject: true,
	identity.UserDomain: true, identity.GroupDomain: true,
	identity.UserSystem: true, identity.GroupSystem: true,
}

// CreateAssignment grants the role; it is idempotent. A missing role is
// ErrNotFound and an unknown type ErrValidation.
func (s *Store) CreateAssignment(ctx context.Context, a identity.Assignment) error {
	if !knownTypes[a.Type] {
		return fmt.Errorf("create assignment: type %q: %w", a.Type, identity.ErrValidation)
	}
	q := db.InsertIgnore(s.d.Engine(), "assignment", "type", "actor_id", "target_id", "role_id", "inherited")
	if _, err := s.d.ExecContext(ctx, q, string(a.Type), a.ActorID, a.TargetID, a.RoleID, a.Inherited); err != nil {
		return fmt.Errorf("create assignment %s: %w", describe(a), writeErr(err))
	}
	return nil
}

// DeleteAssignment revokes the role; ErrNotFound when there is no such assignment.
func (s *Store) DeleteAssignment(ctx context.Context, a identity.Assignment) error {
	err := deleteOne(ctx, s.d, `DELETE FROM assignment
		WHERE type = ? AND actor_id = ? AND target_id = ? AND role_id = ? AND inherited = ?`,
		string(a.Type), a.ActorID, a.TargetID, a.RoleID, a.Inherited)
	if err != nil {
		return fmt.Errorf("delete assignment %s: %w", describe(a), err)
	}
	return nil
}

func describe(a identity.Assignment) string {
	return fmt.Sprintf("%s %s on %s role %s inherited=%t", a.Type, a.ActorID, a.TargetID, a.RoleID, a.Inherited)
}

// ListAssignments returns the assignments matching f, ordered by type, actor,
// target, role and inheritance.
func (s *Store) ListAssignments(ctx context.Context, f identity.AssignmentFilter) ([]identity.Assignment, error) {
	var w db.Where
	if f.Types != nil {
		types := make([]string, len(f.Types))
		for i, t := range f.Types {
			types[i] = string(t)
		}
		w.In("type", types)
	}
	w.In("actor_id", f.ActorIDs)
	w.In("target_id", f.TargetIDs)
	w.In("role_id", f.RoleIDs)
	w.Flag("inherited", f.Inherited)
	if w.None {
		return nil, nil
	}
	q := "SELECT type, actor_id, target_id, role_id, inherited FROM assignment" + w.String() +
		db.OrderBy(s.d.Engine(), "type", "actor_id", "target_id", "role_id") + ", inherited"
	rows, err := s.d.QueryContext(ctx, q, w.Args...)
	if err != nil {
		return nil, fmt.Errorf("list assignments: %w", err)
	}
	defer rows.Close()
	var out []identity.Assignment
	for rows.Next() {
		var (
			a   identity.Assignment
			typ string
		)
		if err := rows.Scan(&typ, &a.ActorID, &a.TargetID, &a.RoleID, &a.Inherited); err != nil {
			return nil, fmt.Errorf("list assignments: %w", err)
		}
		a.Type = identity.AssignmentType(typ)
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list assignments: %w", err)
	}
	return out, nil
}
