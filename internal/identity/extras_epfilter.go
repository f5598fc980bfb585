package identity

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// EndpointGroupUpdate is a PATCH /v3/OS-EP-FILTER/endpoint_groups/{endpoint_group_id}:
// nil fields stay as they are; Filters replaces every filter.
type EndpointGroupUpdate struct {
	Name, Description *string
	Filters           *EndpointGroupFilters
}

// endpointGroupMissing is keystone's EndpointGroupNotFound.
func endpointGroupMissing(id string) error {
	return notFound("Endpoint Group", id)
}

// checkEndpointGroup validates a group's name and filters.
func checkEndpointGroup(g EndpointGroup) error {
	if err := validateEntityName(g.Name, 255); err != nil {
		return err
	}
	if i := g.Filters.Interface; i != nil && !slices.Contains(endpointInterfaces, *i) {
		return fieldInvalid("filters/interface", "%s is not one of ['admin', 'internal', 'public']", quoted(*i))
	}
	return nil
}

// CreateEndpointGroup creates an endpoint group (POST
// /v3/OS-EP-FILTER/endpoint_groups); at least one filter is required.
func (s *Service) CreateEndpointGroup(ctx context.Context, g EndpointGroup) (EndpointGroup, error) {
	if err := s.authorizeRule(ctx, "identity:create_endpoint_group"); err != nil {
		return EndpointGroup{}, err
	}
	if g.Filters.IsZero() {
		return EndpointGroup{}, invalid("filters field is required and cannot be empty")
	}
	if err := checkEndpointGroup(g); err != nil {
		return EndpointGroup{}, err
	}
	g.ID = s.newID()
	if err := s.store.CreateEndpointGroup(ctx, g); err != nil {
		return EndpointGroup{}, duplicate(err, "endpoint_group - Duplicate entry.")
	}
	s.changed()
	return g, nil
}

// GetEndpointGroup returns one endpoint group (GET and HEAD
// /v3/OS-EP-FILTER/endpoint_groups/{endpoint_group_id}).
func (s *Service) GetEndpointGroup(ctx context.Context, id string) (EndpointGroup, error) {
	if err := s.authorizeRule(ctx, "identity:get_endpoint_group"); err != nil {
		return EndpointGroup{}, err
	}
	return s.endpointGroup(ctx, id)
}

func (s *Service) endpointGroup(ctx context.Context, id string) (EndpointGroup, error) {
	g, err := s.store.GetEndpointGroup(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return EndpointGroup{}, endpointGroupMissing(id)
	}
	return g, err
}

// ListEndpointGroups lists endpoint groups, only those named name when it is
// set (GET /v3/OS-EP-FILTER/endpoint_groups).
func (s *Service) ListEndpointGroups(ctx context.Context, name string) ([]EndpointGroup, error) {
	if err := s.authorizeRule(ctx, "identity:list_endpoint_groups"); err != nil {
		return nil, err
	}
	gs, err := s.store.ListEndpointGroups(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("list endpoint groups: %w", err)
	}
	return gs, nil
}

// UpdateEndpointGroup changes an endpoint group (PATCH
// /v3/OS-EP-FILTER/endpoint_groups/{endpoint_group_id}).
func (s *Service) UpdateEndpointGroup(ctx context.Context, id string, u EndpointGroupUpdate) (EndpointGroup, error) {
	if err := s.authorizeRule(ctx, "identity:update_endpoint_group"); err != nil {
		return EndpointGroup{}, err
	}
	g, err := s.endpointGroup(ctx, id)
	if err != nil {
		return EndpointGroup{}, err
	}
	if u.Name != nil {
		g.Name = *u.Name
	}
	if u.Description != nil {
		g.Description = *u.Description
	}
	if u.Filters != nil {
		g.Filters = *u.Filters
	}
	if err := checkEndpointGroup(g); err != nil {
		return EndpointGroup{}, err
	}
	if err := s.store.UpdateEndpointGroup(ctx, g); err != nil {
		if errors.Is(err, ErrNotFound) {
			return EndpointGroup{}, endpointGroupMissing(id)
		}
		return EndpointGroup{}, err
	}
	s.changed()
	return g, nil
}

// DeleteEndpointGroup deletes an endpoint group and its project associations
// (DELETE /v3/OS-EP-FILTER/endpoint_groups/{endpoint_group_id}).
func (s *Service) DeleteEndpointGroup(ctx context.Context, id string) error {
	if err := s.authorizeRule(ctx, "identity:delete_endpoint_group"); err != nil {
		return err
	}
	if err := s.store.DeleteEndpointGroup(ctx, id); err != nil {
		if errors.Is(err, ErrNotFound) {
			return endpointGroupMissing(id)
		}
		return err
	}
	s.changed()
	return nil
}

// ListEndpointGroupEndpoints lists the endpoints an endpoint group selects
// (GET /v3/OS-EP-FILTER/endpoint_groups/{endpoint_group_id}/endpoints).
func (s *Service) ListEndpointGroupEndpoints(ctx context.Context, id string) ([]Endpoint, error) {
	if err := s.authorizeRule(ctx, "identity:list_endpoints_associated_with_endpoint_group"); err != nil {
		return nil, err
	}
	g, err := s.endpointGroup(ctx, id)
	if err != nil {
		return nil, err
	}
	return s.groupEndpoints(ctx, g)
}

// groupEndpoints returns the endpoints g's filters select.
func (s *Service) groupEndpoints(ctx context.Context, g EndpointGroup) ([]Endpoint, error) {
	eps, err := s.store.ListEndpoints(ctx, EndpointFilter{})
	if err != nil {
		return nil, fmt.Errorf("list endpoints: %w", err)
	}
	return slices.DeleteFunc(eps, func(e Endpoint) bool { return !g.Filters.Matches(e) }), nil
}

// ListEndpointGroupProjects lists the projects an endpoint group is associated
// with (GET /v3/OS-EP-FILTER/endpoint_groups/{endpoint_group_id}/projects).
func (s *Service) ListEndpointGroupProjects(ctx context.Context, id string) ([]Project, error) {
	if err := s.authorizeRule(ctx, "identity:list_projects_associated_with_endpoint_group"); err != nil {
		return nil, err
	}
	if _, err := s.endpointGroup(ctx, id); err != nil {
		return nil, err
	}
	as, err := s.store.ListEndpointGroupProjects(ctx, ProjectAssociationFilter{EndpointGroupID: id})
	if err != nil {
		return nil, fmt.Errorf("list projects of endpoint group %s: %w", id, err)
	}
	ids := make([]string, len(as))
	for i, a := range as {
		ids[i] = a.ProjectID
	}
	return s.projectsByID(ctx, ids)
}

// projectsByID returns the projects with ids that still exist: associations
// outlive the projects they name.
func (s *Service) projectsByID(ctx context.Context, ids []string) ([]Project, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	ps, err := s.store.ListProjects(ctx, ProjectFilter{IDs: ids})
	if err != nil {
		return nil, fmt.Errorf("list projects: %w", err)
	}
	return ps, nil
}

// endpointGroupAndProject loads both ends of an association, the project
// first, as keystone does: a missing one is a 404 naming it.
func (s *Service) endpointGroupAndProject(ctx context.Context, groupID, projectID string) error {
	if _, err := s.store.GetProject(ctx, projectID); err != nil {
		return lookup(err, "project", projectID)
	}
	_, err := s.endpointGroup(ctx, groupID)
	return err
}

// GetEndpointGroupInProject checks that an endpoint group is associated with a
// project (GET and HEAD
// /v3/OS-EP-FILTER/endpoint_groups/{endpoint_group_id}/projects/{project_id}).
func (s *Service) GetEndpointGroupInProject(ctx context.Context, groupID, projectID string) error {
	if err := s.authorizeRule(ctx, "identity:get_endpoint_group_in_project"); err != nil {
		return err
	}
	if err := s.endpointGroupAndProject(ctx, groupID, projectID); err != nil {
		return err
	}
	as, err := s.store.ListEndpointGroupProjects(ctx, ProjectAssociationFilter{EndpointGroupID: groupID, ProjectID: projectID})
	if err != nil {
		return fmt.Errorf("get endpoint group %s in project %s: %w", groupID, projectID, err)
	}
	if len(as) == 0 {
		return &Error{Kind: ErrNotFound, Message: "Endpoint Group Project Association not found"}
	}
	return nil
}

// AddEndpointGroupToProject associates an endpoint group with a project (PUT
// /v3/OS-EP-FILTER/endpoint_groups/{endpoint_group_id}/projects/{project_id}).
func (s *Service) AddEndpointGroupToProject(ctx context.Context, groupID, projectID string) error {
	if err := s.authorizeRule(ctx, "identity:add_endpoint_group_to_project"); err != nil {
		return err
	}
	if err := s.endpointGroupAndProject(ctx, groupID, projectID); err != nil {
		return err
	}
	if err := s.store.AddEndpointGroupToProject(ctx, groupID, projectID); err != nil {
		if errors.Is(err, ErrNotFound) {
			return endpointGroupMissing(groupID)
		}
		return duplicate(err, "project_endpoint_group - Duplicate entry.")
	}
	s.changed()
	return nil
}

// RemoveEndpointGroupFromProject ends an association (DELETE
// /v3/OS-EP-FILTER/endpoint_groups/{endpoint_group_id}/projects/{project_id}).
func (s *Service) RemoveEndpointGroupFromProject(ctx context.Context, groupID, projectID string) error {
	if err := s.authorizeRule(ctx, "identity:remove_endpoint_group_from_project"); err != nil {
		return err
	}
	if err := s.endpointGroupAndProject(ctx, groupID, projectID); err != nil {
		return err
	}
	if err := s.store.RemoveEndpointGroupFromProject(ctx, groupID, projectID); err != nil {
		if errors.Is(err, ErrNotFound) {
			return &Error{Kind: ErrNotFound, Message: "Endpoint Group Project Association not found"}
		}
		return err
	}
	s.changed()
	return nil
}

// ListProjectEndpointGroups lists the endpoint groups associated with a project
// (GET /v3/OS-EP-FILTER/projects/{project_id}/endpoint_groups).
func (s *Service) ListProjectEndpointGroups(ctx context.Context, projectID string) ([]EndpointGroup, error) {
	if err := s.authorizeRule(ctx, "identity:list_endpoint_groups_for_project"); err != nil {
		return nil, err
	}
	if _, err := s.store.GetProject(ctx, projectID); err != nil {
		return nil, lookup(err, "project", projectID)
	}
	return s.projectEndpointGroups(ctx, projectID)
}

// projectEndpointGroups returns the endpoint groups associated with a project.
func (s *Service) projectEndpointGroups(ctx context.Context, projectID string) ([]EndpointGroup, error) {
	as, err := s.store.ListEndpointGroupProjects(ctx, ProjectAssociationFilter{ProjectID: projectID})
	if err != nil {
		return nil, fmt.Errorf("list endpoint groups of project %s: %w", projectID, err)
	}
	var out []EndpointGroup
	for _, a := range as {
		g, err := s.store.GetEndpointGroup(ctx, a.EndpointGroupID)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, nil
}

// endpointAndProject loads both ends of a direct association: a missing one is
// a 404 naming it.
func (s *Service) endpointAndProject(ctx context.Context, endpointID, projectID string) error {
	if _, err := s.store.GetEndpoint(ctx, endpointID); err != nil {
		return lookup(err, "endpoint", endpointID)
	}
	if _, err := s.store.GetProject(ctx, projectID); err != nil {
		return lookup(err, "project", projectID)
	}
	return nil
}

// endpointNotInProject is keystone's 404 for a missing direct association.
func endpointNotInProject(endpointID, projectID string) error {
	return &Error{Kind: ErrNotFound, Message: fmt.Sprintf("Endpoint %s not found in project %s", endpointID, projectID)}
}

// AddEndpointToProject associates one endpoint with a project (PUT
// /v3/OS-EP-FILTER/projects/{project_id}/endpoints/{endpoint_id}).
func (s *Service) AddEndpointToProject(ctx context.Context, projectID, endpointID string) error {
	if err := s.authorizeRule(ctx, "identity:add_endpoint_to_project"); err != nil {
		return err
	}
	if err := s.endpointAndProject(ctx, endpointID, projectID); err != nil {
		return err
	}
	if err := s.store.AddEndpointToProject(ctx, endpointID, projectID); err != nil {
		return duplicate(err, "project_endpoint - Duplicate entry.")
	}
	s.changed()
	return nil
}

// CheckEndpointInProject checks a direct association (GET and HEAD
// /v3/OS-EP-FILTER/projects/{project_id}/endpoints/{endpoint_id}).
func (s *Service) CheckEndpointInProject(ctx context.Context, projectID, endpointID string) error {
	if err := s.authorizeRule(ctx, "identity:check_endpoint_in_project"); err != nil {
		return err
	}
	if err := s.endpointAndProject(ctx, endpointID, projectID); err != nil {
		return err
	}
	as, err := s.store.ListProjectEndpoints(ctx, ProjectAssociationFilter{EndpointID: endpointID, ProjectID: projectID})
	if err != nil {
		return fmt.Errorf("check endpoint %s in project %s: %w", endpointID, projectID, err)
	}
	if len(as) == 0 {
		return endpointNotInProject(endpointID, projectID)
	}
	return nil
}

// RemoveEndpointFromProject ends a direct association (DELETE
// /v3/OS-EP-FILTER/projects/{project_id}/endpoints/{endpoint_id}).
func (s *Service) RemoveEndpointFromProject(ctx context.Context, projectID, endpointID string) error {
	if err := s.authorizeRule(ctx, "identity:remove_endpoint_from_project"); err != nil {
		return err
	}
	if err := s.store.RemoveEndpointFromProject(ctx, endpointID, projectID); err != nil {
		if errors.Is(err, ErrNotFound) {
			return endpointNotInProject(endpointID, projectID)
		}
		return err
	}
	s.changed()
	return nil
}

// ListProjectEndpoints lists the endpoints associated with a project, directly
// or through its endpoint groups (GET /v3/OS-EP-FILTER/projects/{project_id}/endpoints).
func (s *Service) ListProjectEndpoints(ctx context.Context, projectID string) ([]Endpoint, error) {
	if err := s.authorizeRule(ctx, "identity:list_endpoints_for_project"); err != nil {
		return nil, err
	}
	if _, err := s.store.GetProject(ctx, projectID); err != nil {
		return nil, lookup(err, "project", projectID)
	}
	return s.FilteredEndpoints(ctx, projectID)
}

// FilteredEndpoints returns the endpoints associated with a project, directly
// or through endpoint groups, ordered by id; nil when the project has no
// association. Keystone limits a project-scoped token's catalog to these when
// there are any.
func (s *Service) FilteredEndpoints(ctx context.Context, projectID string) ([]Endpoint, error) {
	direct, err := s.store.ListProjectEndpoints(ctx, ProjectAssociationFilter{ProjectID: projectID})
	if err != nil {
		return nil, fmt.Errorf("list endpoints of project %s: %w", projectID, err)
	}
	groups, err := s.projectEndpointGroups(ctx, projectID)
	if err != nil || (len(direct) == 0 && len(groups) == 0) {
		return nil, err
	}
	eps, err := s.store.ListEndpoints(ctx, EndpointFilter{})
	if err != nil {
		return nil, fmt.Errorf("list endpoints: %w", err)
	}
	return slices.DeleteFunc(eps, func(e Endpoint) bool {
		if slices.ContainsFunc(direct, func(a ProjectEndpoint) bool { return a.EndpointID == e.ID }) {
			return false
		}
		return !slices.ContainsFunc(groups, func(g EndpointGroup) bool { return g.Filters.Matches(e) })
	}), nil
}

// ListEndpointProjects lists the projects an endpoint is directly associated
// with (GET /v3/OS-EP-FILTER/endpoints/{endpoint_id}/projects).
func (s *Service) ListEndpointProjects(ctx context.Context, endpointID string) ([]Project, error) {
	if err := s.authorizeRule(ctx, "identity:list_projects_for_endpoint"); err != nil {
		return nil, err
	}
	if _, err := s.store.GetEndpoint(ctx, endpointID); err != nil {
		return nil, lookup(err, "endpoint", endpointID)
	}
	as, err := s.store.ListProjectEndpoints(ctx, ProjectAssociationFilter{EndpointID: endpointID})
	if err != nil {
		return nil, fmt.Errorf("list projects of endpoint %s: %w", endpointID, err)
	}
	ids := make([]string, len(as))
	for i, a := range as {
		ids[i] = a.ProjectID
	}
	return s.projectsByID(ctx, ids)
}
