package identity

import (
	"context"
	"errors"
	"slices"
	"strings"
)

// maxProjectDepth is keystone's default max_project_tree_depth: how many levels
// of projects a domain may hold, the top-level projects being the first.
const maxProjectDepth = 5

// ProjectCreate holds the fields of POST /v3/projects.
type ProjectCreate struct {
	Name        string
	Description string
	// DomainID defaults to the caller's domain scope, else the default domain.
	DomainID string
	// ParentID names the parent project; "" or the domain's id makes a top-level project.
	ParentID string
	Enabled  *bool // nil: enabled
	// IsDomain asks for a project acting as a domain. Such a project is a
	// Domain here: CreateDomainProject makes it, and CreateProject refuses it
	// with a 400.
	IsDomain bool
	Tags     []string
	Options  map[string]any
}

// ProjectUpdate holds the fields of PATCH /v3/projects/{project_id}; nil fields
// stay as they are. ID, DomainID, ParentID and IsDomain may only repeat the
// current values.
type ProjectUpdate struct {
	ID, Name, Description *string
	DomainID, ParentID    *string
	Enabled, IsDomain     *bool
	Tags                  *[]string
	// Options sets each named option; a nil value clears it.
	Options map[string]any
}

func (u ProjectUpdate) fieldsSet() int {
	n := 0
	for _, set := range []bool{u.ID != nil, u.Name != nil, u.Description != nil, u.DomainID != nil,
		u.ParentID != nil, u.Enabled != nil, u.IsDomain != nil, u.Tags != nil, u.Options != nil} {
		if set {
			n++
		}
	}
	return n
}

// ProjectQuery narrows GET /v3/projects. ParentID may name a domain, which
// selects its top-level projects, as keystone stores them.
type ProjectQuery struct {
	ProjectFilter
	// IsDomain is keystone's is_domain filter. Projects acting as domains are
	// Domains here, so ListProjects matches nothing with true: ListDomainProjects
	// lists them.
	IsDomain *bool
}

// ProjectExpand asks GET /v3/projects/{project_id} for the project's hierarchy.
type ProjectExpand struct {
	ParentsAsList, ParentsAsIDs, SubtreeAsList, SubtreeAsIDs bool
}

// ProjectDetail is a project with the hierarchy a ProjectExpand asked for.
type ProjectDetail struct {
	Project
	// Parents (parents_as_list) are the ancestors the caller holds a role on,
	// nearest first.
	Parents []Project
	// ParentIDs (parents_as_ids) nests the ancestors' ids up to the domain's:
	// {parent: {grandparent: {domain: nil}}}.
	ParentIDs map[string]any
	// Subtree (subtree_as_list) are the descendants the caller holds a role on,
	// level by level.
	Subtree []Project
	// SubtreeIDs (subtree_as_ids) nests the descendants' ids; nil without any.
	SubtreeIDs map[string]any
}

// policyProject is a project as policy rules see it (target.project.*).
func policyProject(p Project) map[string]any {
	return map[string]any{"id": p.ID, "name": p.Name, "domain_id": p.DomainID,
		"parent_id": p.parentOrDomain(), "enabled": p.Enabled, "is_domain": false}
}

// parentOrDomain is the parent_id keystone shows: the domain for a top-level project.
func (p Project) parentOrDomain() string {
	if p.ParentID == "" {
		return p.DomainID
	}
	return p.ParentID
}

// projectConflict is keystone's message for a project name taken in its domain.
func projectConflict(err error, p Project) error {
	return duplicate(err, "project - it is not permitted to have two projects with either the same name "+
		"or same id in the same domain: name is %s, project id %s.", p.Name, p.ID)
}

// authorizeProject checks rule against the project id, then reports whether it
// exists: policy is decided before existence is revealed, as keystone does.
func (s *Service) authorizeProject(ctx context.Context, rule, id string, extra map[string]any) (Project, error) {
	p, err := s.store.GetProject(ctx, id)
	target := map[string]any{}
	if err == nil {
		target["project"] = policyProject(p)
	} else if !errors.Is(err, ErrNotFound) {
		return Project{}, err
	}
	full := map[string]any{"target": target, "project_id": id}
	for k, v := range extra {
		full[k] = v
	}
	if aerr := s.authorize(ctx, rule, full); aerr != nil {
		return Project{}, aerr
	}
	if err != nil {
		return Project{}, notFound("project", id)
	}
	return p, nil
}

// CreateProject creates a project (POST /v3/projects).
func (s *Service) CreateProject(ctx context.Context, in ProjectCreate) (Project, error) {
	c, err := caller(ctx)
	if err != nil {
		return Project{}, err
	}
	asked := map[string]any{"name": in.Name, "is_domain": in.IsDomain}
	if in.DomainID != "" {
		asked["domain_id"] = in.DomainID
	}
	if in.ParentID != "" {
		asked["parent_id"] = in.ParentID
	}
	if err := s.authorize(ctx, "identity:create_project", map[string]any{"target": map[string]any{"project": asked}}); err != nil {
		return Project{}, err
	}
	p := Project{ID: s.newID(), Name: in.Name, DomainID: in.DomainID, ParentID: in.ParentID,
		Description: in.Description, Enabled: in.Enabled == nil || *in.Enabled, Tags: in.Tags}
	if err := s.validateNewProject(in); err != nil {
		return Project{}, err
	}
	if p.Options, err = applyOptions(nil, in.Options, resourceOptionChecks); err != nil {
		return Project{}, err
	}
	if p.DomainID == "" {
		p.DomainID = c.DomainID
	}
	if p.DomainID == "" {
		p.DomainID = s.cfg.DefaultDomainID
	}
	if err := s.placeProject(ctx, &p); err != nil {
		return Project{}, err
	}
	p.Name = strings.TrimSpace(p.Name)
	if err := s.store.CreateProject(ctx, p); err != nil {
		if errors.Is(err, ErrNotFound) {
			return Project{}, invalid("Could not find domain or parent project of %s.", p.ID)
		}
		return Project{}, projectConflict(err, p)
	}
	s.changed()
	return s.reloadProject(ctx, p.ID)
}

func (s *Service) validateNewProject(in ProjectCreate) error {
	if in.IsDomain {
		return invalid("Projects acting as domains are not supported; create a domain with POST /v3/domains.")
	}
	if err := validateEntityName(in.Name, resourceNameMax); err != nil {
		return err
	}
	if err := validateIDString("domain_id", in.DomainID); err != nil {
		return err
	}
	if err := validateIDString("parent_id", in.ParentID); err != nil {
		return err
	}
	return validateTagList(in.Tags)
}

// placeProject checks where a new project goes: its domain exists, its parent
// is in that domain, nothing above it is disabled, and the tree is not too deep.
// A parent_id naming the domain itself makes a top-level project.
func (s *Service) placeProject(ctx context.Context, p *Project) error {
	d, err := s.store.GetDomain(ctx, p.DomainID)
	if errors.Is(err, ErrNotFound) {
		return invalid("Could not find domain: %s.", p.DomainID)
	}
	if err != nil {
		return err
	}
	if p.ParentID == d.ID {
		p.ParentID = ""
	}
	// Keystone lists the parent's ancestors nearest first, then the domain, then
	// the parent itself, and names the first disabled one.
	var branch []Project
	if p.ParentID != "" {
		parent, err := s.store.GetProject(ctx, p.ParentID)
		if errors.Is(err, ErrNotFound) {
			if _, derr := s.store.GetDomain(ctx, p.ParentID); derr == nil {
				return invalid("Cannot create project, the parent (%s) is acting as a domain, but this project's domain id (%s) does not match the parent's id.", p.ParentID, d.ID)
			}
			return invalid("Could not find project: %s.", p.ParentID)
		}
		if err != nil {
			return err
		}
		if parent.DomainID != d.ID {
			return invalid("Cannot create project, since it specifies its domain_id %s, but specifies a parent in a different domain (%s).", d.ID, parent.DomainID)
		}
		if branch, err = s.parentProjects(ctx, parent); err != nil {
			return err
		}
		if len(branch)+2 > maxProjectDepth {
			return forbidden("Max hierarchy depth reached for %s branch.", parent.ID)
		}
		branch = append(branch, parent)
	}
	if !d.Enabled {
		return invalid("cannot create a project in a branch containing a disabled project: %s", d.ID)
	}
	for _, b := range branch {
		if !b.Enabled {
			return invalid("cannot create a project in a branch containing a disabled project: %s", b.ID)
		}
	}
	return nil
}

// parentProjects returns a project's ancestors, nearest first.
func (s *Service) parentProjects(ctx context.Context, p Project) ([]Project, error) {
	var out []Project
	seen := map[string]bool{p.ID: true}
	for id := p.ParentID; id != "" && !seen[id]; {
		seen[id] = true
		pp, err := s.store.GetProject(ctx, id)
		if err != nil {
			return nil, lookup(err, "project", id)
		}
		out = append(out, pp)
		id = pp.ParentID
	}
	return out, nil
}

// subtree returns a project's descendants level by level.
func (s *Service) subtree(ctx context.Context, p Project) ([]Project, error) {
	all, err := s.store.ListProjects(ctx, ProjectFilter{DomainID: p.DomainID})
	if err != nil {
		return nil, err
	}
	children := map[string][]Project{}
	for _, c := range all {
		children[c.ParentID] = append(children[c.ParentID], c)
	}
	var out []Project
	seen := map[string]bool{p.ID: true}
	for level := children[p.ID]; len(level) > 0; {
		var next []Project
		for _, c := range level {
			if seen[c.ID] {
				continue
			}
			seen[c.ID] = true
			out = append(out, c)
			next = append(next, children[c.ID]...)
		}
		level = next
	}
	return out, nil
}

// reloadProject reads a project back after a write, as the store normalized it.
func (s *Service) reloadProject(ctx context.Context, id string) (Project, error) {
	p, err := s.store.GetProject(ctx, id)
	if err != nil {
		return Project{}, lookup(err, "project", id)
	}
	return p, nil
}

// GetProject returns a project with the hierarchy x asks for
// (GET /v3/projects/{project_id}).
func (s *Service) GetProject(ctx context.Context, id string, x ProjectExpand) (ProjectDetail, error) {
	p, err := s.authorizeProject(ctx, "identity:get_project", id, nil)
	if err != nil {
		return ProjectDetail{}, err
	}
	if x.ParentsAsList && x.ParentsAsIDs {
		return ProjectDetail{}, invalid("Cannot use parents_as_list and parents_as_ids query params at the same time.")
	}
	if x.SubtreeAsList && x.SubtreeAsIDs {
		return ProjectDetail{}, invalid("Cannot use subtree_as_list and subtree_as_ids query params at the same time.")
	}
	out := ProjectDetail{Project: p}
	if x.ParentsAsList || x.ParentsAsIDs {
		parents, err := s.parentProjects(ctx, p)
		if err != nil {
			return ProjectDetail{}, err
		}
		if x.ParentsAsIDs {
			out.ParentIDs = nestParents(parents, p.DomainID)
		} else if out.Parents, err = s.onlyReachable(ctx, parents); err != nil {
			return ProjectDetail{}, err
		}
	}
	if x.SubtreeAsList || x.SubtreeAsIDs {
		sub, err := s.subtree(ctx, p)
		if err != nil {
			return ProjectDetail{}, err
		}
		if x.SubtreeAsIDs {
			out.SubtreeIDs = nestSubtree(p.ID, sub)
		} else if out.Subtree, err = s.onlyReachable(ctx, sub); err != nil {
			return ProjectDetail{}, err
		}
	}
	return out, nil
}

// nestParents builds keystone's parents_as_ids: the nearest parent outermost,
// the domain innermost.
func nestParents(parents []Project, domainID string) map[string]any {
	var inner any
	key := domainID
	for i := len(parents) - 1; i >= 0; i-- {
		inner = map[string]any{key: inner}
		key = parents[i].ID
	}
	return map[string]any{key: inner}
}

// nestSubtree builds keystone's subtree_as_ids below root; nil without descendants.
func nestSubtree(root string, sub []Project) map[string]any {
	children := map[string][]string{}
	for _, p := range sub {
		children[p.ParentID] = append(children[p.ParentID], p.ID)
	}
	var build func(id string) map[string]any
	build = func(id string) map[string]any {
		kids := children[id]
		if len(kids) == 0 {
			return nil
		}
		m := make(map[string]any, len(kids))
		for _, k := range kids {
			if below := build(k); below != nil {
				m[k] = below
			} else {
				m[k] = nil // an untyped nil: JSON null
			}
		}
		return m
	}
	return build(root)
}

// onlyReachable keeps the projects the caller's user holds a role on, as
// keystone filters parents_as_list and subtree_as_list.
func (s *Service) onlyReachable(ctx context.Context, ps []Project) ([]Project, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	reach, err := s.userReach(ctx, c.UserID)
	if err != nil {
		return nil, err
	}
	out := []Project{}
	for _, p := range ps {
		if reach.projects[p.ID] {
			out = append(out, p)
		}
	}
	return out, nil
}

// ListProjects lists projects (GET /v3/projects). A domain-scoped caller sees
// only its domain's projects.
func (s *Service) ListProjects(ctx context.Context, q ProjectQuery) ([]Project, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	target := map[string]any{"target": map[string]any{}}
	if c.DomainID != "" {
		target["target"] = map[string]any{"domain_id": c.DomainID}
	}
	addFilterValues(target, map[string]string{"domain_id": q.DomainID, "name": q.Name, "parent_id": q.ParentID},
		map[string]*bool{"enabled": q.Enabled, "is_domain": q.IsDomain})
	if err := s.authorize(ctx, "identity:list_projects", target); err != nil {
		return nil, err
	}
	if q.IsDomain != nil && *q.IsDomain {
		return nil, nil
	}
	f := q.ProjectFilter
	if f.ParentID != "" {
		if _, err := s.store.GetDomain(ctx, f.ParentID); err == nil {
			if f.DomainID != "" && f.DomainID != f.ParentID {
				return nil, nil
			}
			f.DomainID, f.ParentID, f.TopLevel = f.ParentID, "", true
		} else if !errors.Is(err, ErrNotFound) {
			return nil, err
		}
	}
	ps, err := s.store.ListProjects(ctx, f)
	if err != nil {
		return nil, err
	}
	if c.DomainID != "" {
		ps = slices.DeleteFunc(ps, func(p Project) bool { return p.DomainID != c.DomainID })
	}
	return ps, nil
}

// UpdateProject changes a project (PATCH /v3/projects/{project_id}). Disabling
// it revokes its tokens.
func (s *Service) UpdateProject(ctx context.Context, id string, u ProjectUpdate) (Project, error) {
	p, err := s.authorizeProject(ctx, "identity:update_project", id, nil)
	if err != nil {
		return Project{}, err
	}
	if err := s.checkProjectUpdate(p, u); err != nil {
		return Project{}, err
	}
	wasEnabled := p.Enabled
	if u.Enabled != nil && *u.Enabled != p.Enabled {
		if err := s.checkEnabledChange(ctx, p, *u.Enabled); err != nil {
			return Project{}, err
		}
		p.Enabled = *u.Enabled
	}
	if u.Name != nil {
		p.Name = strings.TrimSpace(*u.Name)
	}
	if u.Description != nil {
		p.Description = *u.Description
	}
	if u.Tags != nil {
		p.Tags = *u.Tags
	}
	if p.Options, err = applyOptions(p.Options, u.Options, resourceOptionChecks); err != nil {
		return Project{}, err
	}
	if err := s.store.UpdateProject(ctx, p); err != nil {
		return Project{}, lookup(projectConflict(err, p), "project", id)
	}
	s.changed()
	if wasEnabled && !p.Enabled {
		if err := s.revoke(ctx, RevocationEvent{ProjectID: id}); err != nil {
			return Project{}, err
		}
	}
	return s.reloadProject(ctx, id)
}

// checkProjectUpdate applies keystone's rules on what an update may say, in
// keystone's order.
func (s *Service) checkProjectUpdate(p Project, u ProjectUpdate) error {
	if u.Name != nil {
		if err := validateEntityName(*u.Name, resourceNameMax); err != nil {
			return err
		}
	}
	if u.Tags != nil {
		if err := validateTagList(*u.Tags); err != nil {
			return err
		}
	}
	switch {
	case u.ID != nil && *u.ID != p.ID:
		return invalid("Cannot change ID")
	case u.DomainID != nil && *u.DomainID != p.DomainID:
		return invalid("Cannot change Domain ID")
	case isImmutable(p.Options) && !immutableChangeAllowed(u.fieldsSet(), u.Options):
		return forbidden("Unable to update immutable project resource: `%s. Set resource option \"immutable\" to false first.", p.ID)
	case u.ParentID != nil && *u.ParentID != p.parentOrDomain():
		return forbidden("Update of `parent_id` is not allowed.")
	case u.IsDomain != nil && *u.IsDomain:
		return invalid("Update of `is_domain` is not allowed.")
	}
	return nil
}

// checkEnabledChange refuses to enable a project below a disabled one (or in a
// disabled domain) and to disable a project while anything below it is enabled.
func (s *Service) checkEnabledChange(ctx context.Context, p Project, enable bool) error {
	if enable {
		parents, err := s.parentProjects(ctx, p)
		if err != nil {
			return err
		}
		d, err := s.store.GetDomain(ctx, p.DomainID)
		if err != nil {
			return lookup(err, "domain", p.DomainID)
		}
		if !d.Enabled || slices.ContainsFunc(parents, func(pp Project) bool { return !pp.Enabled }) {
			return forbidden("Cannot enable project %s since it has disabled parents", p.ID)
		}
		return nil
	}
	sub, err := s.subtree(ctx, p)
	if err != nil {
		return err
	}
	if slices.ContainsFunc(sub, func(c Project) bool { return c.Enabled }) {
		return forbidden("Cannot disable project %s since its subtree contains enabled projects.", p.ID)
	}
	return nil
}

// DeleteProject deletes a project without children (DELETE
// /v3/projects/{project_id}), revokes its tokens, and clears it as any user's
// default project.
func (s *Service) DeleteProject(ctx context.Context, id string) error {
	p, err := s.authorizeProject(ctx, "identity:delete_project", id, nil)
	if err != nil {
		return err
	}
	if isImmutable(p.Options) {
		return forbidden("Unable to delete immutable project resource: `%s. Set resource option \"immutable\" to false first.", id)
	}
	notLeaf := forbidden("Cannot delete the project %s since it is not a leaf in the hierarchy. Use the cascade option if you want to delete a whole subtree.", id)
	children, err := s.store.ListProjects(ctx, ProjectFilter{ParentID: id})
	if err != nil {
		return err
	}
	if len(children) > 0 {
		return notLeaf
	}
	if err := s.store.DeleteProject(ctx, id); err != nil {
		if errors.Is(err, ErrConflict) {
			return notLeaf
		}
		return lookup(err, "project", id)
	}
	s.changed()
	if err := s.revoke(ctx, RevocationEvent{ProjectID: id}); err != nil {
		return err
	}
	return s.unsetDefaultProject(ctx, id)
}

// unsetDefaultProject clears a deleted project from the users that had it as
// their default project, as keystone does on project deletion.
func (s *Service) unsetDefaultProject(ctx context.Context, projectID string) error {
	users, err := s.store.ListUsers(ctx, UserFilter{})
	if err != nil {
		return err
	}
	for _, u := range users {
		if u.DefaultProjectID != projectID {
			continue
		}
		u.DefaultProjectID = ""
		if err := s.store.UpdateUser(ctx, u); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
	}
	return nil
}

// AuthProjects lists the enabled projects, in enabled domains, that the caller's
// user holds a role on, directly, through a group or by inheritance
// (GET /v3/auth/projects).
func (s *Service) AuthProjects(ctx context.Context) ([]Project, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "identity:get_auth_projects", map[string]any{"target": map[string]any{}}); err != nil {
		return nil, err
	}
	t := true
	ps, err := s.reachableProjects(ctx, c.UserID, ProjectFilter{Enabled: &t})
	if err != nil || len(ps) == 0 {
		return ps, err
	}
	f := false
	disabled, err := s.store.ListDomains(ctx, DomainFilter{Enabled: &f})
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(ps, func(p Project) bool {
		return slices.ContainsFunc(disabled, func(d Domain) bool { return d.ID == p.DomainID })
	}), nil
}

// ListUserProjects lists the projects a user holds a role on
// (GET /v3/users/{user_id}/projects), narrowed by f's domain, name and enabled.
func (s *Service) ListUserProjects(ctx context.Context, userID string, f ProjectFilter) ([]Project, error) {
	extra := map[string]any{}
	addFilterValues(extra, map[string]string{"domain_id": f.DomainID, "name": f.Name}, map[string]*bool{"enabled": f.Enabled})
	if _, err := s.authorizeUser(ctx, "identity:list_user_projects", userID, extra); err != nil {
		return nil, err
	}
	return s.reachableProjects(ctx, userID, ProjectFilter{DomainID: f.DomainID, Name: f.Name, Enabled: f.Enabled})
}

// reachableProjects lists the projects matching f that a user holds a role on.
func (s *Service) reachableProjects(ctx context.Context, userID string, f ProjectFilter) ([]Project, error) {
	reach, err := s.userReach(ctx, userID)
	if err != nil {
		return nil, err
	}
	if len(reach.projects) == 0 {
		return nil, nil
	}
	f.IDs = make([]string, 0, len(reach.projects))
	for id := range reach.projects {
		f.IDs = append(f.IDs, id)
	}
	slices.Sort(f.IDs)
	return s.store.ListProjects(ctx, f)
}

// ListProjectTags lists a project's tags (GET /v3/projects/{project_id}/tags).
func (s *Service) ListProjectTags(ctx context.Context, id string) ([]string, error) {
	p, err := s.authorizeProject(ctx, "identity:list_project_tags", id, nil)
	if err != nil {
		return nil, err
	}
	return p.Tags, nil
}

// CheckProjectTag reports whether a project has a tag
// (GET /v3/projects/{project_id}/tags/{value}): nil, or 404.
func (s *Service) CheckProjectTag(ctx context.Context, id, tag string) error {
	p, err := s.authorizeProject(ctx, "identity:get_project_tag", id, map[string]any{"value": tag})
	if err != nil {
		return err
	}
	if !slices.Contains(p.Tags, tag) {
		return notFound("project tag", tag)
	}
	return nil
}

// SetProjectTags replaces a project's tags (PUT /v3/projects/{project_id}/tags)
// and returns them; nil removes them all (DELETE /v3/projects/{project_id}/tags).
func (s *Service) SetProjectTags(ctx context.Context, id string, tags []string) ([]string, error) {
	rule := "identity:update_project_tags"
	if tags == nil {
		rule = "identity:delete_project_tags"
	}
	p, err := s.authorizeProject(ctx, rule, id, nil)
	if err != nil {
		return nil, err
	}
	if err := validateTagList(tags); err != nil {
		return nil, err
	}
	if isImmutable(p.Options) {
		return nil, forbidden("Cannot update project tags for %s, project is immutable. Set \"immutable\" option to false before creating project tags.", id)
	}
	p.Tags = make([]string, len(tags))
	for i, t := range tags {
		p.Tags[i] = strings.TrimSpace(t)
	}
	if err := s.store.UpdateProject(ctx, p); err != nil {
		return nil, lookup(err, "project", id)
	}
	s.changed()
	return p.Tags, nil
}

// AddProjectTag adds one tag (PUT /v3/projects/{project_id}/tags/{value}). As in
// keystone, a tag the project already has is a 400, like any duplicate in a list.
func (s *Service) AddProjectTag(ctx context.Context, id, tag string) error {
	p, err := s.authorizeProject(ctx, "identity:create_project_tag", id, map[string]any{"value": tag})
	if err != nil {
		return err
	}
	if err := validateTag("tags", tag); err != nil {
		return err
	}
	tags := append(slices.Clone(p.Tags), tag)
	if err := validateTagList(tags); err != nil {
		return err
	}
	if isImmutable(p.Options) {
		return forbidden("Cannot create project tags for %s, project is immutable. Set \"immutable\" option to false before creating project tags.", id)
	}
	p.Tags = append(p.Tags, strings.TrimSpace(tag))
	if err := s.store.UpdateProject(ctx, p); err != nil {
		return lookup(err, "project", id)
	}
	s.changed()
	return nil
}

// DeleteProjectTag removes one tag (DELETE /v3/projects/{project_id}/tags/{value}).
func (s *Service) DeleteProjectTag(ctx context.Context, id, tag string) error {
	p, err := s.authorizeProject(ctx, "identity:delete_project_tag", id, map[string]any{"value": tag})
	if err != nil {
		return err
	}
	if isImmutable(p.Options) {
		return forbidden("Cannot delete project tags for %s, project is immutable. Set \"immutable\" option to false before creating project tags.", id)
	}
	i := slices.Index(p.Tags, tag)
	if i < 0 {
		return notFound("project tag", tag)
	}
	p.Tags = slices.Delete(p.Tags, i, i+1)
	if err := s.store.UpdateProject(ctx, p); err != nil {
		return lookup(err, "project", id)
	}
	s.changed()
	return nil
}
