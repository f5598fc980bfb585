package identitysql

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/nimbus-cloud/nimbus/internal/db"
	"github.com/nimbus-cloud/nimbus/internal/identity"
)

// filtersJSON is the stored form of an endpoint group's filters; a region_id
// of "" is stored as null (endpoints without a region).
type filtersJSON struct {
	ServiceID *string          `json:"service_id,omitempty"`
	Interface *string          `json:"interface,omitempty"`
	RegionID  *json.RawMessage `json:"region_id,omitempty"`
}

func encodeFilters(f identity.EndpointGroupFilters) (string, error) {
	out := filtersJSON{ServiceID: f.ServiceID, Interface: f.Interface}
	if f.RegionID != nil {
		raw := json.RawMessage("null")
		if *f.RegionID != "" {
			b, err := json.Marshal(*f.RegionID)
			if err != nil {
				return "", err
			}
			raw = b
		}
		out.RegionID = &raw
	}
	b, err := json.Marshal(out)
	return string(b), err
}

func decodeFilters(s string) (identity.EndpointGroupFilters, error) {
	// A map, not filtersJSON: unmarshalling null into a pointer drops it.
	var in map[string]*string
	if err := json.Unmarshal([]byte(s), &in); err != nil {
		return identity.EndpointGroupFilters{}, fmt.Errorf("decode stored filters: %w", err)
	}
	f := identity.EndpointGroupFilters{ServiceID: in["service_id"], Interface: in["interface"]}
	if region, ok := in["region_id"]; ok {
		f.RegionID = new(string)
		if region != nil {
			*f.RegionID = *region
		}
	}
	return f, nil
}

// CreateEndpointGroup stores a new endpoint group.
func (s *Store) CreateEndpointGroup(ctx context.Context, g identity.EndpointGroup) error {
	filters, err := encodeFilters(g.Filters)
	if err == nil {
		_, err = s.d.ExecContext(ctx, `INSERT INTO endpoint_group (id, name, description, filters) VALUES (?, ?, ?, ?)`,
			g.ID, g.Name, g.Description, filters)
		err = writeErr(err)
	}
	if err != nil {
		return fmt.Errorf("create endpoint group %s: %w", g.ID, err)
	}
	return nil
}

// GetEndpointGroup returns the endpoint group with id.
func (s *Store) GetEndpointGroup(ctx context.Context, id string) (identity.EndpointGroup, error) {
	var w db.Where
	w.Add("id = ?", id)
	gs, err := s.queryEndpointGroups(ctx, &w)
	if err != nil {
		return identity.EndpointGroup{}, fmt.Errorf("get endpoint group %s: %w", id, err)
	}
	if len(gs) == 0 {
		return identity.EndpointGroup{}, fmt.Errorf("get endpoint group %s: %w", id, identity.ErrNotFound)
	}
	return gs[0], nil
}

// ListEndpointGroups returns the endpoint groups named name (all when ""),
// ordered by id.
func (s *Store) ListEndpointGroups(ctx context.Context, name string) ([]identity.EndpointGroup, error) {
	var w db.Where
	w.Eq("name", name)
	gs, err := s.queryEndpointGroups(ctx, &w)
	if err != nil {
		return nil, fmt.Errorf("list endpoint groups: %w", err)
	}
	return gs, nil
}

func (s *Store) queryEndpointGroups(ctx context.Context, w *db.Where) ([]identity.EndpointGroup, error) {
	rows, err := s.d.QueryContext(ctx, "SELECT id, name, description, filters FROM endpoint_group"+w.String()+
		db.OrderBy(s.d.Engine(), "id"), w.Args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []identity.EndpointGroup
	for rows.Next() {
		var (
			g       identity.EndpointGroup
			filters string
		)
		if err := rows.Scan(&g.ID, &g.Name, &g.Description, &filters); err != nil {
			return nil, err
		}
		if g.Filters, err = decodeFilters(filters); err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

// UpdateEndpointGroup replaces the stored fields of the endpoint group g.ID.
func (s *Store) UpdateEndpointGroup(ctx context.Context, g identity.EndpointGroup) error {
	filters, err := encodeFilters(g.Filters)
	if err == nil {
		err = s.d.InTx(ctx, func(tx *db.Tx) error {
			return updateOne(ctx, tx, "endpoint_group", g.ID,
				`UPDATE endpoint_group SET name = ?, description = ?, filters = ? WHERE id = ?`,
				g.Name, g.Description, filters, g.ID)
		})
	}
	if err != nil {
		return fmt.Errorf("update endpoint group %s: %w", g.ID, err)
	}
	return nil
}

// DeleteEndpointGroup removes the endpoint group and its project associations.
func (s *Store) DeleteEndpointGroup(ctx context.Context, id string) error {
	err := s.d.InTx(ctx, func(tx *db.Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM project_endpoint_group WHERE endpoint_group_id = ?", id); err != nil {
			return err
		}
		return deleteOne(ctx, tx, "DELETE FROM endpoint_group WHERE id = ?", id)
	})
	if err != nil {
		return fmt.Errorf("delete endpoint group %s: %w", id, err)
	}
	return nil
}

// AddEndpointGroupToProject associates the group with the project: an existing
// association is ErrConflict and a missing group ErrNotFound.
func (s *Store) AddEndpointGroupToProject(ctx context.Context, groupID, projectID string) error {
	_, err := s.d.ExecContext(ctx, `INSERT INTO project_endpoint_group (endpoint_group_id, project_id) VALUES (?, ?)`,
		groupID, projectID)
	if err != nil {
		return fmt.Errorf("add endpoint group %s to project %s: %w", groupID, projectID, writeErr(err))
	}
	return nil
}

// RemoveEndpointGroupFromProject ends the association; none is ErrNotFound.
func (s *Store) RemoveEndpointGroupFromProject(ctx context.Context, groupID, projectID string) error {
	err := deleteOne(ctx, s.d, "DELETE FROM project_endpoint_group WHERE endpoint_group_id = ? AND project_id = ?",
		groupID, projectID)
	if err != nil {
		return fmt.Errorf("remove endpoint group %s from project %s: %w", groupID, projectID, err)
	}
	return nil
}

// ListEndpointGroupProjects returns the group-project associations matching f,
// ordered by group and project.
func (s *Store) ListEndpointGroupProjects(ctx context.Context, f identity.ProjectAssociationFilter) ([]identity.EndpointGroupProject, error) {
	var w db.Where
	w.Eq("endpoint_group_id", f.EndpointGroupID)
	w.Eq("project_id", f.ProjectID)
	out, err := queryPairs(ctx, s.d, "SELECT endpoint_group_id, project_id FROM project_endpoint_group"+w.String()+
		db.OrderBy(s.d.Engine(), "endpoint_group_id", "project_id"), w.Args,
		func(a, b string) identity.EndpointGroupProject {
			return identity.EndpointGroupProject{EndpointGroupID: a, ProjectID: b}
		})
	if err != nil {
		return nil, fmt.Errorf("list endpoint group projects: %w", err)
	}
	return out, nil
}

// AddEndpointToProject associates the endpoint with the project; an existing
// association is ErrConflict.
func (s *Store) AddEndpointToProject(ctx context.Context, endpointID, projectID string) error {
	_, err := s.d.ExecContext(ctx, `INSERT INTO project_endpoint (endpoint_id, project_id) VALUES (?, ?)`,
		endpointID, projectID)
	if err != nil {
		return fmt.Errorf("add endpoint %s to project %s: %w", endpointID, projectID, writeErr(err))
	}
	return nil
}

// RemoveEndpointFromProject ends the association; none is ErrNotFound.
func (s *Store) RemoveEndpointFromProject(ctx context.Context, endpointID, projectID string) error {
	err := deleteOne(ctx, s.d, "DELETE FROM project_endpoint WHERE endpoint_id = ? AND project_id = ?",
		endpointID, projectID)
	if err != nil {
		return fmt.Errorf("remove endpoint %s from project %s: %w", endpointID, projectID, err)
	}
	return nil
}

// ListProjectEndpoints returns the endpoint-project associations matching f,
// ordered by endpoint and project.
func (s *Store) ListProjectEndpoints(ctx context.Context, f identity.ProjectAssociationFilter) ([]identity.ProjectEndpoint, error) {
	var w db.Where
	w.Eq("endpoint_id", f.EndpointID)
	w.Eq("project_id", f.ProjectID)
	out, err := queryPairs(ctx, s.d, "SELECT endpoint_id, project_id FROM project_endpoint"+w.String()+
		db.OrderBy(s.d.Engine(), "endpoint_id", "project_id"), w.Args,
		func(a, b string) identity.ProjectEndpoint {
			return identity.ProjectEndpoint{EndpointID: a, ProjectID: b}
		})
	if err != nil {
		return nil, fmt.Errorf("list project endpoints: %w", err)
	}
	return out, nil
}

// queryPairs runs a query of two text columns and builds one T per row.
func queryPairs[T any](ctx context.Context, q db.Querier, query string, args []any, mk func(a, b string) T) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		var a, b string
		if err := rows.Scan(&a, &b); err != nil {
			return nil, err
		}
		out = append(out, mk(a, b))
	}
	return out, rows.Err()
}
