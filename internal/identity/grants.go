package identity

import (
	"context"
	"errors"
	"fmt"
)

// Grant names one role assignment the way the grant APIs address it: exactly one
// actor (UserID or GroupID) and one target (ProjectID, DomainID or System).
type Grant struct {
	UserID, GroupID     string
	ProjectID, DomainID string
	System              bool
	RoleID              string
	// Inherited is OS-INHERIT's inherited_to_projects: the role applies to the
	// projects below the target rather than to the target itself.
	Inherited bool
}

// grantRefs are the entities a grant names, loaded for checks and policy.
type grantRefs struct {
	role    *Role
	user    *User
	group   *Group
	project *Project
	domain  *Domain
}

// validate checks the shape of g; the HTTP routes always build valid grants.
func (g Grant) validate() error {
	if (g.UserID == "") == (g.GroupID == "") {
		return invalid("Specify a user or group, not both.")
	}
	targets := 0
	for _, set := range []bool{g.ProjectID != "", g.DomainID != "", g.System} {
		if set {
			targets++
		}
	}
	if targets != 1 {
		return invalid("Specify one of a project, a domain or the system.")
	}
	if g.System && g.Inherited {
		return invalid("System role assignments cannot be inherited.")
	}
	return nil
}

// rule names the policy rule of verb (check, create, revoke, list) on g.
func (g Grant) rule(verb string) string {
	if !g.System {
		if verb == "list" {
			return "identity:list_grants"
		}
		return "identity:" + verb + "_grant"
	}
	actor := "user"
	if g.GroupID != "" {
		actor = "group"
	}
	if verb == "list" {
		return "identity:list_system_grants_for_" + actor
	}
	return "identity:" + verb + "_system_grant_for_" + actor
}

// assignment is the stored form of g.
func (g Grant) assignment() Assignment {
	a := Assignment{RoleID: g.RoleID, Inherited: g.Inherited, ActorID: g.UserID}
	user := g.UserID != ""
	if !user {
		a.ActorID = g.GroupID
	}
	switch {
	case g.ProjectID != "":
		a.TargetID, a.Type = g.ProjectID, assignmentTypeFor(user, UserProject, GroupProject)
	case g.DomainID != "":
		a.TargetID, a.Type = g.DomainID, assignmentTypeFor(user, UserDomain, GroupDomain)
	default:
		a.TargetID, a.Type = SystemTarget, assignmentTypeFor(user, UserSystem, GroupSystem)
	}
	return a
}

// assignmentTypeFor picks the user or group variant of an assignment type.
func assignmentTypeFor(user bool, u, g AssignmentType) AssignmentType {
	if user {
		return u
	}
	return g
}

// grantOf is the grant that addresses a stored assignment.
func grantOf(a Assignment) Grant {
	g := Grant{RoleID: a.RoleID, Inherited: a.Inherited}
	switch a.Type {
	case UserProject, UserDomain, UserSystem:
		g.UserID = a.ActorID
	default:
		g.GroupID = a.ActorID
	}
	switch a.Type {
	case UserProject, GroupProject:
		g.ProjectID = a.TargetID
	case UserDomain, GroupDomain:
		g.DomainID = a.TargetID
	default:
		g.System = true
	}
	return g
}

// missing is keystone's RoleAssignmentNotFound for g.
func (g Grant) missing() error {
	actor, target := g.UserID+g.GroupID, g.ProjectID+g.DomainID
	if g.System {
		target = SystemTarget
	}
	return &Error{Kind: ErrNotFound, Message: fmt.Sprintf(
		"Could not find role assignment with role: %s, user or group: %s, project, domain, or system: %s.",
		g.RoleID, actor, target)}
}

// resolveGrant loads what g names, as keystone builds its policy target: the
// role (when withRole), the actor (tolerating a deleted one when allowGone) and
// the project or domain; each missing entity is a 404.
func (s *Service) resolveGrant(ctx context.Context, g Grant, withRole, allowGone bool) (grantRefs, error) {
	var refs grantRefs
	if err := g.validate(); err != nil {
		return refs, err
	}
	if withRole {
		r, err := s.store.GetRole(ctx, g.RoleID)
		if err != nil {
			return refs, lookup(err, "role", g.RoleID)
		}
		refs.role = &r
	}
	if g.UserID != "" {
		u, err := s.store.GetUser(ctx, g.UserID)
		switch {
		case err == nil:
			refs.user = &u
		case !allowGone || !errors.Is(err, ErrNotFound):
			return refs, lookup(err, "user", g.UserID)
		}
	} else {
		gr, err := s.store.GetGroup(ctx, g.GroupID)
		switch {
		case err == nil:
			refs.group = &gr
		case !allowGone || !errors.Is(err, ErrNotFound):
			return refs, lookup(err, "group", g.GroupID)
		}
	}
	if g.ProjectID != "" {
		p, err := s.store.GetProject(ctx, g.ProjectID)
		if err != nil {
			return refs, lookup(err, "project", g.ProjectID)
		}
		refs.project = &p
	}
	if g.DomainID != "" {
		d, err := s.store.GetDomain(ctx, g.DomainID)
		if err != nil {
			return refs, lookup(err, "domain", g.DomainID)
		}
		refs.domain = &d
	}
	return refs, nil
}

// target is keystone's grant policy target: {"target": {"role", "user" or
// "group", "project" or "domain"}}.
func (refs grantRefs) target() map[string]any {
	t := map[string]any{}
	if refs.role != nil {
		t["role"] = roleTargetRef(*refs.role)
	}
	if u := refs.user; u != nil {
		t["user"] = map[string]any{"id": u.ID, "name": u.Name, "domain_id": u.DomainID, "enabled": u.Enabled}
	}
	if g := refs.group; g != nil {
		t["group"] = map[string]any{"id": g.ID, "name": g.Name, "domain_id": g.DomainID}
	}
	if p := refs.project; p != nil {
		t["project"] = map[string]any{"id": p.ID, "name": p.Name, "domain_id": p.DomainID,
			"parent_id": p.ParentID, "enabled": p.Enabled}
	}
	if d := refs.domain; d != nil {
		t["domain"] = map[string]any{"id": d.ID, "name": d.Name, "enabled": d.Enabled}
	}
	return map[string]any{"target": t}
}

// prepareGrant authenticates the caller, loads what g names and enforces the
// policy rule of verb.
func (s *Service) prepareGrant(ctx context.Context, g Grant, verb string) (grantRefs, error) {
	if _, err := caller(ctx); err != nil {
		return grantRefs{}, err
	}
	refs, err := s.resolveGrant(ctx, g, verb != "list", verb == "revoke")
	if err != nil {
		return refs, err
	}
	if err := s.authorize(ctx, g.rule(verb), refs.target()); err != nil {
		return refs, err
	}
	return refs, nil
}

// CreateGrant assigns a role (PUT .../roles/{role_id} on projects, domains, the
// system and OS-INHERIT); it succeeds when the assignment exists already. A
// domain-specific role may be granted only on its own domain or a project of
// it (403), and never on the system (400).
func (s *Service) CreateGrant(ctx context.Context, g Grant) error {
	refs, err := s.prepareGrant(ctx, g, "create")
	if err != nil {
		return err
	}
	if rd := refs.role.DomainID; rd != "" {
		switch {
		case g.System:
			return invalid("Role %s is a domain-specific role. Unable to use a domain-specific role in a system assignment.", g.RoleID)
		case refs.project != nil && refs.project.DomainID != rd:
			return forbidden("Project %s must be in the same domain as the role %s being assigned.", g.ProjectID, g.RoleID)
		case refs.domain != nil && refs.domain.ID != rd:
			return forbidden("Domain %s must be the domain of the role %s being assigned.", g.DomainID, g.RoleID)
		}
	}
	if err := s.store.CreateAssignment(ctx, g.assignment()); err != nil {
		return lookup(err, "role", g.RoleID)
	}
	s.changed()
	return nil
}

// CheckGrant succeeds when the role is assigned directly as g says
// (HEAD/GET .../roles/{role_id}) and is a 404 otherwise.
func (s *Service) CheckGrant(ctx context.Context, g Grant) error {
	if _, err := s.prepareGrant(ctx, g, "check"); err != nil {
		return err
	}
	a := g.assignment()
	as, err := s.store.ListAssignments(ctx, AssignmentFilter{Types: []AssignmentType{a.Type},
		ActorIDs: []string{a.ActorID}, TargetIDs: []string{a.TargetID}, RoleIDs: []string{a.RoleID},
		Inherited: &a.Inherited})
	if err != nil {
		return fmt.Errorf("check grant: %w", err)
	}
	if len(as) == 0 {
		return g.missing()
	}
	return nil
}

// ListGrants lists the roles assigned directly to g's actor on g's target with
// g's inheritance; g.RoleID is ignored (GET .../roles).
func (s *Service) ListGrants(ctx context.Context, g Grant) ([]Role, error) {
	g.RoleID = ""
	if _, err := s.prepareGrant(ctx, g, "list"); err != nil {
		return nil, err
	}
	a := g.assignment()
	as, err := s.store.ListAssignments(ctx, AssignmentFilter{Types: []AssignmentType{a.Type},
		ActorIDs: []string{a.ActorID}, TargetIDs: []string{a.TargetID}, Inherited: &a.Inherited})
	if err != nil {
		return nil, fmt.Errorf("list grants: %w", err)
	}
	if len(as) == 0 {
		return []Role{}, nil
	}
	ids := make([]string, len(as))
	for i, x := range as {
		ids[i] = x.RoleID
	}
	roles, err := s.store.ListRoles(ctx, RoleFilter{IDs: ids, AnyDomain: true})
	if err != nil {
		return nil, fmt.Errorf("list roles: %w", err)
	}
	return roles, nil
}

// RevokeGrant removes an assignment (DELETE .../roles/{role_id}) and revokes the
// tokens it may have contributed to: those of the user, or of every member of
// the group, on the target (every project below it for an inherited project
// assignment). The actor may be gone already; the role, the target and the
// assignment must exist.
func (s *Service) RevokeGrant(ctx context.Context, g Grant) error {
	if _, err := s.prepareGrant(ctx, g, "revoke"); err != nil {
		return err
	}
	err := s.store.DeleteAssignment(ctx, g.assignment())
	if errors.Is(err, ErrNotFound) {
		return g.missing()
	}
	if err != nil {
		return fmt.Errorf("revoke grant: %w", err)
	}
	if err := s.revokeGrantTokens(ctx, g); err != nil {
		return err
	}
	s.changed()
	return nil
}

// revokeGrantTokens records the revocation events for a removed grant.
func (s *Service) revokeGrantTokens(ctx context.Context, g Grant) error {
	users := []string{g.UserID}
	if g.GroupID != "" {
		members, err := s.store.ListUsers(ctx, UserFilter{GroupID: g.GroupID})
		if err != nil {
			return fmt.Errorf("list members of group %s: %w", g.GroupID, err)
		}
		users = users[:0]
		for _, m := range members {
			users = append(users, m.ID)
		}
	}
	var events []RevocationEvent
	switch {
	case g.System:
		for _, u := range users {
			events = append(events, RevocationEvent{UserID: u})
		}
	case g.DomainID != "":
		for _, u := range users {
			events = append(events, RevocationEvent{UserID: u, DomainID: g.DomainID})
		}
	default:
		projects := []string{g.ProjectID}
		if g.Inherited {
			below, err := s.projectsBelow(ctx, g.ProjectID)
			if err != nil {
				return err
			}
			projects = projects[:0]
			for _, p := range below {
				projects = append(projects, p.ID)
			}
		}
		for _, u := range users {
			for _, p := range projects {
				events = append(events, RevocationEvent{UserID: u, ProjectID: p})
			}
		}
	}
	for _, ev := range events {
		if err := s.revoke(ctx, ev); err != nil {
			return err
		}
	}
	return nil
}

// projectsBelow lists every project below projectID, breadth first, so each
// project comes after its parent.
func (s *Service) projectsBelow(ctx context.Context, projectID string) ([]Project, error) {
	var out []Project
	seen := map[string]bool{projectID: true}
	queue := []string{projectID}
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		children, err := s.store.ListProjects(ctx, ProjectFilter{ParentID: id})
		if err != nil {
			return nil, fmt.Errorf("list projects below %s: %w", id, err)
		}
		for _, c := range children {
			if !seen[c.ID] {
				seen[c.ID] = true
				out = append(out, c)
				queue = append(queue, c.ID)
			}
		}
	}
	return out, nil
}
