package identity

import (
	"context"
	"errors"
	"slices"
	"strings"
)

// Keystone stores a domain as a project with is_domain true, so its projects
// API creates, shows, lists, changes and deletes domains too. Here a domain is
// its own row: these methods serve the /v3/projects calls that are about a
// domain, and answer with the Domain, which the API renders as a project with
// is_domain true, domain_id and parent_id null.

// policyDomainProject is a domain as the project rules see it
// (target.project.*): a root project without a domain.
func policyDomainProject(d Domain) map[string]any {
	return map[string]any{"id": d.ID, "name": d.Name, "domain_id": nil, "parent_id": nil,
		"enabled": d.Enabled, "is_domain": true}
}

// ActsAsDomain reports whether id names a domain and no project, so that a
// /v3/projects/{project_id} call is about a project acting as a domain.
func (s *Service) ActsAsDomain(ctx context.Context, id string) bool {
	if _, err := s.store.GetProject(ctx, id); !errors.Is(err, ErrNotFound) {
		return false
	}
	_, err := s.store.GetDomain(ctx, id)
	return err == nil
}

// CreateDomainProject creates a project acting as a domain (POST /v3/projects
// with is_domain true): a domain whose id is the new project's. It must be a
// root project: neither domain_id nor parent_id may be given.
func (s *Service) CreateDomainProject(ctx context.Context, in ProjectCreate) (Domain, error) {
	if _, err := caller(ctx); err != nil {
		return Domain{}, err
	}
	asked := map[string]any{"name": in.Name, "is_domain": true, "domain_id": nil}
	if in.DomainID != "" {
		asked["domain_id"] = in.DomainID
	}
	if in.ParentID != "" {
		asked["parent_id"] = in.ParentID
	}
	if err := s.authorize(ctx, "identity:create_project", map[string]any{"target": map[string]any{"project": asked}}); err != nil {
		return Domain{}, err
	}
	for _, check := range []error{validateEntityName(in.Name, resourceNameMax),
		validateIDString("domain_id", in.DomainID), validateIDString("parent_id", in.ParentID),
		validateTagList(in.Tags)} {
		if check != nil {
			return Domain{}, check
		}
	}
	opts, err := applyOptions(nil, in.Options, resourceOptionChecks)
	if err != nil {
		return Domain{}, err
	}
	if in.DomainID != "" || in.ParentID != "" {
		// keystone makes the domain the parent of a project given only a domain.
		return Domain{}, invalid("only root projects are allowed to act as domains.")
	}
	d := Domain{ID: s.newID(), Name: strings.TrimSpace(in.Name), Description: in.Description,
		Enabled: in.Enabled == nil || *in.Enabled, Tags: in.Tags, Options: opts}
	if err := s.store.CreateDomain(ctx, d); err != nil {
		return Domain{}, domainConflict(err, d.Name)
	}
	s.changed()
	return s.reloadDomain(ctx, d.ID)
}

// authorizeDomainProject checks a project rule against the domain id acting
// as a project, then reports whether it exists.
func (s *Service) authorizeDomainProject(ctx context.Context, rule, id string) (Domain, error) {
	if _, err := caller(ctx); err != nil {
		return Domain{}, err
	}
	d, err := s.store.GetDomain(ctx, id)
	target := map[string]any{}
	if err == nil {
		target["project"] = policyDomainProject(d)
	} else if !errors.Is(err, ErrNotFound) {
		return Domain{}, err
	}
	if aerr := s.authorize(ctx, rule, map[string]any{"target": target, "project_id": id}); aerr != nil {
		return Domain{}, aerr
	}
	if err != nil {
		return Domain{}, notFound("project", id)
	}
	return d, nil
}

// GetDomainProject shows a domain as a project (GET /v3/projects/{project_id}).
func (s *Service) GetDomainProject(ctx context.Context, id string) (Domain, error) {
	return s.authorizeDomainProject(ctx, "identity:get_project", id)
}

// ListDomainProjects lists the projects acting as domains, that is the domains
// (GET /v3/projects?is_domain=true), narrowed by q's name, enabled and tag
// filters. They have no domain and no parent, so a domain_id or parent_id
// filter, or a domain-scoped caller, sees none.
func (s *Service) ListDomainProjects(ctx context.Context, q ProjectQuery) ([]Domain, error) {
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
	if c.DomainID != "" || q.DomainID != "" || q.ParentID != "" {
		return nil, nil
	}
	ds, err := s.store.ListDomains(ctx, DomainFilter{Name: q.Name, Enabled: q.Enabled})
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(ds, func(d Domain) bool {
		return (q.IDs != nil && !slices.Contains(q.IDs, d.ID)) || !tagsMatch(d.Tags, q.ProjectFilter)
	}), nil
}

// tagsMatch applies keystone's tags, tags-any, not-tags and not-tags-any filters.
func tagsMatch(tags []string, f ProjectFilter) bool {
	has := func(t string) bool { return slices.Contains(tags, t) }
	all := func(ts []string) bool { return !slices.ContainsFunc(ts, func(t string) bool { return !has(t) }) }
	anyOf := func(ts []string) bool { return slices.ContainsFunc(ts, has) }
	switch {
	case len(f.Tags) > 0 && !all(f.Tags):
		return false
	case len(f.TagsAny) > 0 && !anyOf(f.TagsAny):
		return false
	case len(f.NotTags) > 0 && all(f.NotTags):
		return false
	case len(f.NotTagsAny) > 0 && anyOf(f.NotTagsAny):
		return false
	}
	return true
}

// UpdateDomainProject changes a domain through the projects API
// (PATCH /v3/projects/{project_id}): the domain's name, description, enabled,
// tags and options, by the domain's rules. As for any project, id, domain_id,
// parent_id and is_domain may only repeat their values (null for the last
// two). Unlike a project's, a domain's subtree need not be disabled first.
func (s *Service) UpdateDomainProject(ctx context.Context, id string, u ProjectUpdate) (Domain, error) {
	if _, err := s.authorizeDomainProject(ctx, "identity:update_project", id); err != nil {
		return Domain{}, err
	}
	switch {
	case u.ID != nil && *u.ID != id:
		return Domain{}, invalid("Cannot change ID")
	case u.DomainID != nil && *u.DomainID != "":
		return Domain{}, invalid("Cannot change Domain ID")
	case u.ParentID != nil && *u.ParentID != "":
		return Domain{}, forbidden("Update of `parent_id` is not allowed.")
	case u.IsDomain != nil && !*u.IsDomain:
		return Domain{}, invalid("Update of `is_domain` is not allowed.")
	}
	return s.UpdateDomain(ctx, id, DomainUpdate{Name: u.Name, Description: u.Description, Enabled: u.Enabled,
		Tags: u.Tags, Options: u.Options})
}

// DeleteDomainProject deletes a domain through the projects API
// (DELETE /v3/projects/{project_id}), by the domain's rules: it must be
// disabled first, and the default domain stays.
func (s *Service) DeleteDomainProject(ctx context.Context, id string) error {
	if _, err := s.authorizeDomainProject(ctx, "identity:delete_project", id); err != nil {
		return err
	}
	return s.DeleteDomain(ctx, id)
}
