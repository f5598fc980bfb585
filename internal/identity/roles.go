package identity

import (
	"context"
	"fmt"
	"slices"
	"sort"
)

// effectiveRoles returns the global roles a user holds on one scope: direct and
// group assignments, assignments inherited from the project's ancestors and
// domain, and every role those imply. Domain-specific roles only contribute what
// they imply, as keystone does.
func (s *Service) effectiveRoles(ctx context.Context, userID string, project *Project, domain *Domain, system bool) ([]Role, error) {
	groups, err := s.store.ListGroups(ctx, GroupFilter{UserID: userID})
	if err != nil {
		return nil, fmt.Errorf("list groups of user %s: %w", userID, err)
	}
	actors := []string{userID}
	for _, g := range groups {
		actors = append(actors, g.ID)
	}
	f := false
	t := true
	var roleIDs []string
	collect := func(filter AssignmentFilter) error {
		as, err := s.store.ListAssignments(ctx, filter)
		if err != nil {
			return fmt.Errorf("list assignments of user %s: %w", userID, err)
		}
		for _, a := range as {
			roleIDs = append(roleIDs, a.RoleID)
		}
		return nil
	}
	switch {
	case project != nil:
		if err := collect(AssignmentFilter{ActorIDs: actors, TargetIDs: []string{project.ID},
			Types: []AssignmentType{UserProject, GroupProject}, Inherited: &f}); err != nil {
			return nil, err
		}
		ancestors, err := s.ancestors(ctx, project)
		if err != nil {
			return nil, err
		}
		if err := collect(AssignmentFilter{ActorIDs: actors, TargetIDs: append(ancestors, project.DomainID), Inherited: &t}); err != nil {
			return nil, err
		}
	case domain != nil:
		if err := collect(AssignmentFilter{ActorIDs: actors, TargetIDs: []string{domain.ID},
			Types: []AssignmentType{UserDomain, GroupDomain}, Inherited: &f}); err != nil {
			return nil, err
		}
	case system:
		if err := collect(AssignmentFilter{ActorIDs: actors, TargetIDs: []string{SystemTarget},
			Types: []AssignmentType{UserSystem, GroupSystem}}); err != nil {
			return nil, err
		}
	default:
		return nil, nil
	}
	if len(roleIDs) == 0 {
		return nil, nil
	}
	expanded, err := s.expandImplied(ctx, roleIDs)
	if err != nil {
		return nil, err
	}
	roles, err := s.store.ListRoles(ctx, RoleFilter{IDs: expanded, AnyDomain: true})
	if err != nil {
		return nil, fmt.Errorf("list roles: %w", err)
	}
	roles = slices.DeleteFunc(roles, func(r Role) bool { return r.DomainID != "" })
	sort.Slice(roles, func(i, j int) bool { return roles[i].Name < roles[j].Name })
	return roles, nil
}

// ancestors lists the ids of a project's parents, nearest first.
func (s *Service) ancestors(ctx context.Context, p *Project) ([]string, error) {
	var out []string
	seen := map[string]bool{p.ID: true}
	for parent := p.ParentID; parent != "" && !seen[parent]; {
		seen[parent] = true
		out = append(out, parent)
		pp, err := s.store.GetProject(ctx, parent)
		if err != nil {
			return nil, fmt.Errorf("get parent project %s: %w", parent, err)
		}
		parent = pp.ParentID
	}
	return out, nil
}

// expandImplied adds every role the given roles imply, transitively.
func (s *Service) expandImplied(ctx context.Context, roleIDs []string) ([]string, error) {
	rules, err := s.store.ListImpliedRoles(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("list implied roles: %w", err)
	}
	implies := map[string][]string{}
	for _, r := range rules {
		implies[r.PriorID] = append(implies[r.PriorID], r.ImpliedID)
	}
	seen := map[string]bool{}
	var out []string
	queue := slices.Clone(roleIDs)
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		if seen[id] {
			continue
		}
		seen[id] = true
		out = append(out, id)
		queue = append(queue, implies[id]...)
	}
	return out, nil
}
