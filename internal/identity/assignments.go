package identity

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// AssignmentQuery holds the filters of GET /v3/role_assignments.
type AssignmentQuery struct {
	UserID, GroupID, RoleID string
	ProjectID, DomainID     string
	// System is scope.system as given; only "all" selects system assignments,
	// as in keystone, but any value clashes with a project or domain filter.
	System string
	// Inherited is scope.OS-INHERIT:inherited_to: nil lists both kinds, true only
	// inherited assignments, false only direct ones.
	Inherited *bool
	// Effective expands group assignments into their members, inherited ones
	// onto the projects below their target, and roles into the roles they imply,
	// leaving out domain-specific roles: the assignments tokens are made of.
	Effective      bool
	IncludeNames   bool
	IncludeSubtree bool
}

// RoleAssignment is one entry of GET /v3/role_assignments.
type RoleAssignment struct {
	RoleID string
	// Exactly one of UserID and GroupID is set.
	UserID, GroupID string
	// Exactly one of ProjectID, DomainID and System is set.
	ProjectID, DomainID string
	System              bool
	// Inherited marks an OS-INHERIT assignment, or an effective entry derived
	// from one.
	Inherited bool
	// Where an effective entry comes from: the group the user belongs to, the
	// project or domain the role is inherited from, the prior role that implies
	// RoleID, and the role the underlying assignment grants.
	FromGroupID   string
	FromProjectID string
	FromDomainID  string
	FromRoleID    string
	GrantedRoleID string
	// Names is set when the query asks for names.
	Names *AssignmentNames
}

// AssignmentNames are the names include_names adds to an entry; the fields of
// entities the entry does not name stay empty.
type AssignmentNames struct {
	Role, RoleDomainID, RoleDomain          string
	User, UserDomainID, UserDomain          string
	Group, GroupDomainID, GroupDomain       string
	Project, ProjectDomainID, ProjectDomain string
	Domain                                  string
}

// validate applies keystone's rules on filter combinations.
func (q AssignmentQuery) validate() error {
	switch {
	case q.DomainID != "" && q.ProjectID != "":
		return invalid("Specify a domain or project, not both")
	case q.System != "" && q.DomainID != "":
		return invalid("Specify system or domain, not both")
	case q.System != "" && q.ProjectID != "":
		return invalid("Specify system or project, not both")
	case q.UserID != "" && q.GroupID != "":
		return invalid("Specify a user or group, not both")
	case q.Effective && q.GroupID != "":
		return invalid("Combining effective and group filter will always result in an empty list.")
	case q.Effective && q.Inherited != nil && *q.Inherited && q.DomainID != "":
		return invalid("Combining effective, domain and inherited filters will always result in an empty list.")
	case q.IncludeSubtree && q.ProjectID == "":
		return invalid("scope.project.id must be specified if include_subtree is also specified")
	}
	return nil
}

// ListRoleAssignments lists role assignments (GET /v3/role_assignments). A
// domain-scoped caller sees only the assignments on its domain and its projects,
// as keystone filters them.
func (s *Service) ListRoleAssignments(ctx context.Context, q AssignmentQuery) ([]RoleAssignment, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if q.IncludeSubtree {
		var target map[string]any
		if q.ProjectID != "" {
			p, err := s.store.GetProject(ctx, q.ProjectID)
			if err != nil {
				return nil, lookup(err, "project", q.ProjectID)
			}
			t := grantRefs{project: &p}.target()["target"].(map[string]any)
			t["domain_id"] = p.DomainID
			target = map[string]any{"target": t}
		}
		if err := s.authorize(ctx, "identity:list_role_assignments_for_tree", target); err != nil {
			return nil, err
		}
	} else {
		var target map[string]any
		if c.DomainID != "" {
			target = map[string]any{"target": map[string]any{"domain_id": c.DomainID}}
		}
		if err := s.authorize(ctx, "identity:list_role_assignments", target); err != nil {
			return nil, err
		}
	}
	if err := q.validate(); err != nil {
		return nil, err
	}
	var out []RoleAssignment
	if q.Effective {
		out, err = s.effectiveAssignments(ctx, q)
	} else {
		out, err = s.directAssignments(ctx, q)
	}
	if err != nil {
		return nil, err
	}
	names := &assignmentNamer{s: s}
	if !q.IncludeSubtree && c.DomainID != "" {
		out = slices.DeleteFunc(out, func(e RoleAssignment) bool {
			if e.DomainID != "" {
				return e.DomainID != c.DomainID
			}
			p, ok := names.project(ctx, e.ProjectID)
			return !ok || p.DomainID != c.DomainID
		})
	}
	if q.IncludeNames {
		if err := names.fill(ctx, out); err != nil {
			return nil, err
		}
	}
	if out == nil {
		out = []RoleAssignment{}
	}
	return out, nil
}

// Assignment type groups, fresh on each call.
func projectAssignmentTypes() []AssignmentType { return []AssignmentType{UserProject, GroupProject} }
func domainAssignmentTypes() []AssignmentType  { return []AssignmentType{UserDomain, GroupDomain} }
func systemAssignmentTypes() []AssignmentType  { return []AssignmentType{UserSystem, GroupSystem} }

// isUserAssignment reports whether t assigns to a user rather than a group.
func isUserAssignment(t AssignmentType) bool {
	return t == UserProject || t == UserDomain || t == UserSystem
}

// directEntry renders a stored assignment as an unexpanded entry.
func directEntry(a Assignment) RoleAssignment {
	e := RoleAssignment{RoleID: a.RoleID, GrantedRoleID: a.RoleID, Inherited: a.Inherited}
	if isUserAssignment(a.Type) {
		e.UserID = a.ActorID
	} else {
		e.GroupID = a.ActorID
	}
	switch a.Type {
	case UserProject, GroupProject:
		e.ProjectID = a.TargetID
	case UserDomain, GroupDomain:
		e.DomainID = a.TargetID
	default:
		e.System = true
	}
	return e
}

// inheritedEntry is the entry an inherited assignment gives on one project.
func inheritedEntry(a Assignment, projectID string) RoleAssignment {
	e := directEntry(a)
	e.DomainID = ""
	e.ProjectID = projectID
	e.Inherited = true
	if a.Type == UserDomain || a.Type == GroupDomain {
		e.FromDomainID = a.TargetID
	} else {
		e.FromProjectID = a.TargetID
	}
	return e
}

// listEntries runs f against the store and renders the result as direct entries.
func (s *Service) listEntries(ctx context.Context, f AssignmentFilter) ([]RoleAssignment, error) {
	as, err := s.store.ListAssignments(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("list role assignments: %w", err)
	}
	out := make([]RoleAssignment, len(as))
	for i, a := range as {
		out[i] = directEntry(a)
	}
	return out, nil
}

// directAssignments lists the stored assignments matching q, unexpanded.
func (s *Service) directAssignments(ctx context.Context, q AssignmentQuery) ([]RoleAssignment, error) {
	f := AssignmentFilter{Inherited: q.Inherited}
	types := []AssignmentType{UserProject, GroupProject, UserDomain, GroupDomain, UserSystem, GroupSystem}
	keep := func(allowed []AssignmentType) {
		types = slices.DeleteFunc(types, func(t AssignmentType) bool { return !slices.Contains(allowed, t) })
	}
	switch {
	case q.UserID != "":
		f.ActorIDs = []string{q.UserID}
		keep([]AssignmentType{UserProject, UserDomain, UserSystem})
	case q.GroupID != "":
		f.ActorIDs = []string{q.GroupID}
		keep([]AssignmentType{GroupProject, GroupDomain, GroupSystem})
	}
	switch {
	case q.ProjectID != "":
		f.TargetIDs = []string{q.ProjectID}
		if q.IncludeSubtree {
			below, err := s.projectsBelow(ctx, q.ProjectID)
			if err != nil {
				return nil, err
			}
			for _, p := range below {
				f.TargetIDs = append(f.TargetIDs, p.ID)
			}
		}
		keep(projectAssignmentTypes())
	case q.DomainID != "":
		f.TargetIDs = []string{q.DomainID}
		keep(domainAssignmentTypes())
	case q.System == "all":
		f.TargetIDs = []string{SystemTarget}
		keep(systemAssignmentTypes())
	}
	if q.RoleID != "" {
		f.RoleIDs = []string{q.RoleID}
	}
	f.Types = types
	return s.listEntries(ctx, f)
}

// effectiveAssignments lists the assignments matching q in effective mode.
// Like keystone, without a scope filter it covers projects and domains only;
// with scope.system=all it lists the effective system assignments.
func (s *Service) effectiveAssignments(ctx context.Context, q AssignmentQuery) ([]RoleAssignment, error) {
	x := &assignmentExpander{s: s, userID: q.UserID, members: map[string][]string{}, below: map[string][]string{}}
	if q.UserID != "" {
		groups, err := s.store.ListGroups(ctx, GroupFilter{UserID: q.UserID})
		if err != nil {
			return nil, fmt.Errorf("list groups of user %s: %w", q.UserID, err)
		}
		x.actors = []string{q.UserID}
		for _, g := range groups {
			x.actors = append(x.actors, g.ID)
		}
	}
	f := false
	var (
		entries []RoleAssignment
		err     error
	)
	switch {
	case q.ProjectID != "":
		entries, err = x.onProject(ctx, q)
	case q.DomainID != "":
		entries, err = s.listEntries(ctx, AssignmentFilter{Types: domainAssignmentTypes(), ActorIDs: x.actors,
			TargetIDs: []string{q.DomainID}, Inherited: &f})
	case q.System == "all":
		entries, err = s.listEntries(ctx, AssignmentFilter{Types: systemAssignmentTypes(), ActorIDs: x.actors,
			TargetIDs: []string{SystemTarget}})
	default:
		entries, err = x.everywhere(ctx, q.Inherited)
	}
	if err != nil {
		return nil, err
	}
	if entries, err = x.expandGroups(ctx, entries); err != nil {
		return nil, err
	}
	if entries, err = s.withImpliedRoles(ctx, entries); err != nil {
		return nil, err
	}
	ids := make([]string, len(entries))
	for i, e := range entries {
		ids[i] = e.RoleID
	}
	roles, err := s.rolesByID(ctx, ids)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(entries, func(e RoleAssignment) bool {
		r, ok := roles[e.RoleID]
		return !ok || r.DomainID != "" || (q.RoleID != "" && e.RoleID != q.RoleID)
	}), nil
}

// assignmentExpander expands assignments in effective mode, caching what it
// looks up for one listing.
type assignmentExpander struct {
	s *Service
	// userID restricts group expansion to this user; actors are the user and
	// their groups (nil: every actor).
	userID  string
	actors  []string
	members map[string][]string // group id -> member ids
	below   map[string][]string // project or domain id -> ids of projects below
}

// onProject lists the effective entries on q.ProjectID (and its subtree with
// IncludeSubtree): direct assignments there, plus inherited ones from the
// project's domain, its ancestors and, for a subtree, projects within it.
func (x *assignmentExpander) onProject(ctx context.Context, q AssignmentQuery) ([]RoleAssignment, error) {
	s := x.s
	p, err := s.store.GetProject(ctx, q.ProjectID)
	if err != nil {
		return nil, lookup(err, "project", q.ProjectID)
	}
	parent := map[string]string{p.ID: p.ParentID}
	ids := []string{p.ID}
	if q.IncludeSubtree {
		below, err := s.projectsBelow(ctx, p.ID)
		if err != nil {
			return nil, err
		}
		for _, b := range below {
			parent[b.ID] = b.ParentID
			ids = append(ids, b.ID)
		}
	}
	anc, err := s.ancestors(ctx, &p)
	if err != nil {
		return nil, err
	}
	var out []RoleAssignment
	f, t := false, true
	if q.Inherited == nil || !*q.Inherited {
		direct, err := s.listEntries(ctx, AssignmentFilter{Types: projectAssignmentTypes(), ActorIDs: x.actors,
			TargetIDs: ids, Inherited: &f})
		if err != nil {
			return nil, err
		}
		out = append(out, direct...)
	}
	if q.Inherited != nil && !*q.Inherited {
		return out, nil
	}
	sources := append([]string{p.DomainID}, anc...)
	if q.IncludeSubtree {
		sources = append(sources, ids...)
	}
	as, err := s.store.ListAssignments(ctx, AssignmentFilter{Types: append(projectAssignmentTypes(), domainAssignmentTypes()...),
		ActorIDs: x.actors, TargetIDs: sources, Inherited: &t})
	if err != nil {
		return nil, fmt.Errorf("list inherited role assignments: %w", err)
	}
	// above lists a project's strict ancestors: inside the subtree, then p's.
	above := func(id string) []string {
		var chain []string
		for up := parent[id]; id != p.ID && up != ""; up = parent[up] {
			chain = append(chain, up)
			if up == p.ID {
				break
			}
		}
		return append(chain, anc...)
	}
	for _, a := range as {
		for _, id := range ids {
			domainWide := a.Type == UserDomain || a.Type == GroupDomain
			if domainWide || slices.Contains(above(id), a.TargetID) {
				out = append(out, inheritedEntry(a, id))
			}
		}
	}
	return out, nil
}

// everywhere lists the effective entries on every project and domain: direct
// assignments, and inherited ones applied to each project below their target.
func (x *assignmentExpander) everywhere(ctx context.Context, inherited *bool) ([]RoleAssignment, error) {
	s := x.s
	types := append(projectAssignmentTypes(), domainAssignmentTypes()...)
	var out []RoleAssignment
	f, t := false, true
	if inherited == nil || !*inherited {
		direct, err := s.listEntries(ctx, AssignmentFilter{Types: types, ActorIDs: x.actors, Inherited: &f})
		if err != nil {
			return nil, err
		}
		out = append(out, direct...)
	}
	if inherited != nil && !*inherited {
		return out, nil
	}
	as, err := s.store.ListAssignments(ctx, AssignmentFilter{Types: types, ActorIDs: x.actors, Inherited: &t})
	if err != nil {
		return nil, fmt.Errorf("list inherited role assignments: %w", err)
	}
	for _, a := range as {
		projects, err := x.projectsUnder(ctx, a)
		if err != nil {
			return nil, err
		}
		for _, id := range projects {
			out = append(out, inheritedEntry(a, id))
		}
	}
	return out, nil
}

// projectsUnder lists the projects an inherited assignment applies to: every
// project of its domain, or every project below its project.
func (x *assignmentExpander) projectsUnder(ctx context.Context, a Assignment) ([]string, error) {
	if ids, ok := x.below[a.TargetID]; ok {
		return ids, nil
	}
	var projects []Project
	var err error
	if a.Type == UserDomain || a.Type == GroupDomain {
		projects, err = x.s.store.ListProjects(ctx, ProjectFilter{DomainID: a.TargetID})
	} else {
		projects, err = x.s.projectsBelow(ctx, a.TargetID)
	}
	if err != nil {
		return nil, fmt.Errorf("list projects under %s: %w", a.TargetID, err)
	}
	ids := make([]string, len(projects))
	for i, p := range projects {
		ids[i] = p.ID
	}
	x.below[a.TargetID] = ids
	return ids, nil
}

// expandGroups replaces each group entry with one entry per member (only the
// queried user's when the listing is for one user).
func (x *assignmentExpander) expandGroups(ctx context.Context, entries []RoleAssignment) ([]RoleAssignment, error) {
	out := make([]RoleAssignment, 0, len(entries))
	for _, e := range entries {
		if e.GroupID == "" {
			out = append(out, e)
			continue
		}
		members, ok := x.members[e.GroupID]
		switch {
		case ok:
		case x.userID != "":
			members = []string{x.userID}
		default:
			users, err := x.s.store.ListUsers(ctx, UserFilter{GroupID: e.GroupID})
			if err != nil {
				return nil, fmt.Errorf("list members of group %s: %w", e.GroupID, err)
			}
			for _, u := range users {
				members = append(members, u.ID)
			}
			x.members[e.GroupID] = members
		}
		for _, m := range members {
			ue := e
			ue.UserID, ue.GroupID, ue.FromGroupID = m, "", e.GroupID
			out = append(out, ue)
		}
	}
	return out, nil
}

// withImpliedRoles adds, after each entry, an entry for every role its role
// implies, transitively, each naming the prior role that implies it.
func (s *Service) withImpliedRoles(ctx context.Context, entries []RoleAssignment) ([]RoleAssignment, error) {
	rules, err := s.store.ListImpliedRoles(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("list implied roles: %w", err)
	}
	if len(rules) == 0 {
		return entries, nil
	}
	implies := map[string][]string{}
	for _, r := range rules {
		implies[r.PriorID] = append(implies[r.PriorID], r.ImpliedID)
	}
	out := make([]RoleAssignment, 0, len(entries))
	for _, e := range entries {
		out = append(out, e)
		seen := map[string]bool{e.RoleID: true}
		queue := []string{e.RoleID}
		for len(queue) > 0 {
			prior := queue[0]
			queue = queue[1:]
			for _, implied := range implies[prior] {
				if seen[implied] {
					continue
				}
				seen[implied] = true
				ie := e
				ie.RoleID, ie.FromRoleID = implied, prior
				out = append(out, ie)
				queue = append(queue, implied)
			}
		}
	}
	return out, nil
}

// assignmentNamer looks up the names include_names adds, each entity once.
type assignmentNamer struct {
	s        *Service
	users    map[string]*User
	groups   map[string]*Group
	projects map[string]*Project
	domains  map[string]*Domain
}

// cachedLookup returns m[id], loading it with get on first use; a missing entity is
// remembered as nil.
func cachedLookup[T any](ctx context.Context, m *map[string]*T, id string, get func(context.Context, string) (T, error)) (*T, error) {
	if *m == nil {
		*m = map[string]*T{}
	}
	if v, ok := (*m)[id]; ok {
		return v, nil
	}
	v, err := get(ctx, id)
	if errors.Is(err, ErrNotFound) {
		(*m)[id] = nil
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	(*m)[id] = &v
	return &v, nil
}

func (n *assignmentNamer) project(ctx context.Context, id string) (*Project, bool) {
	p, err := cachedLookup(ctx, &n.projects, id, n.s.store.GetProject)
	return p, err == nil && p != nil
}

func (n *assignmentNamer) domainName(ctx context.Context, id string) (string, error) {
	d, err := cachedLookup(ctx, &n.domains, id, n.s.store.GetDomain)
	if err != nil || d == nil {
		return "", err
	}
	return d.Name, nil
}

// fill sets Names on every entry.
func (n *assignmentNamer) fill(ctx context.Context, entries []RoleAssignment) error {
	ids := make([]string, len(entries))
	for i, e := range entries {
		ids[i] = e.RoleID
	}
	roles, err := n.s.rolesByID(ctx, ids)
	if err != nil {
		return err
	}
	for i := range entries {
		if err := n.fillOne(ctx, &entries[i], roles); err != nil {
			return err
		}
	}
	return nil
}

func (n *assignmentNamer) fillOne(ctx context.Context, e *RoleAssignment, roles map[string]Role) error {
	names := &AssignmentNames{}
	var err error
	if r, ok := roles[e.RoleID]; ok {
		names.Role = r.Name
		if r.DomainID != "" {
			names.RoleDomainID = r.DomainID
			if names.RoleDomain, err = n.domainName(ctx, r.DomainID); err != nil {
				return err
			}
		}
	}
	if e.UserID != "" {
		u, err := cachedLookup(ctx, &n.users, e.UserID, n.s.store.GetUser)
		if err != nil {
			return err
		}
		if u != nil {
			names.User, names.UserDomainID = u.Name, u.DomainID
			if names.UserDomain, err = n.domainName(ctx, u.DomainID); err != nil {
				return err
			}
		}
	}
	if e.GroupID != "" {
		g, err := cachedLookup(ctx, &n.groups, e.GroupID, n.s.store.GetGroup)
		if err != nil {
			return err
		}
		if g != nil {
			names.Group, names.GroupDomainID = g.Name, g.DomainID
			if names.GroupDomain, err = n.domainName(ctx, g.DomainID); err != nil {
				return err
			}
		}
	}
	if e.ProjectID != "" {
		if p, ok := n.project(ctx, e.ProjectID); ok {
			names.Project, names.ProjectDomainID = p.Name, p.DomainID
			if names.ProjectDomain, err = n.domainName(ctx, p.DomainID); err != nil {
				return err
			}
		}
	}
	if e.DomainID != "" {
		if names.Domain, err = n.domainName(ctx, e.DomainID); err != nil {
			return err
		}
	}
	e.Names = names
	return nil
}
