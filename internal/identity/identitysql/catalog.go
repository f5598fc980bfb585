package identitysql

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/nimbus-cloud/nimbus/internal/db"
	"github.com/nimbus-cloud/nimbus/internal/identity"
)

// CreateRegion stores a new region. A missing parent region is ErrNotFound.
func (s *Store) CreateRegion(ctx context.Context, r identity.Region) error {
	_, err := s.d.ExecContext(ctx, `INSERT INTO region (id, description, parent_region_id) VALUES (?, ?, ?)`,
		r.ID, r.Description, nullable(r.ParentRegionID))
	if err != nil {
		return fmt.Errorf("create region %s: %w", r.ID, writeErr(err))
	}
	return nil
}

// GetRegion returns the region with id.
func (s *Store) GetRegion(ctx context.Context, id string) (identity.Region, error) {
	var w db.Where
	w.Add("id = ?", id)
	rs, err := s.queryRegions(ctx, &w)
	if err != nil {
		return identity.Region{}, fmt.Errorf("get region %s: %w", id, err)
	}
	if len(rs) == 0 {
		return identity.Region{}, fmt.Errorf("get region %s: %w", id, identity.ErrNotFound)
	}
	return rs[0], nil
}

// ListRegions returns the regions matching f, ordered by id.
func (s *Store) ListRegions(ctx context.Context, f identity.RegionFilter) ([]identity.Region, error) {
	var w db.Where
	w.Eq("parent_region_id", f.ParentRegionID)
	rs, err := s.queryRegions(ctx, &w)
	if err != nil {
		return nil, fmt.Errorf("list regions: %w", err)
	}
	return rs, nil
}

func (s *Store) queryRegions(ctx context.Context, w *db.Where) ([]identity.Region, error) {
	q := "SELECT id, description, parent_region_id FROM region" + w.String() + db.OrderBy(s.d.Engine(), "id")
	rows, err := s.d.QueryContext(ctx, q, w.Args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []identity.Region
	for rows.Next() {
		var (
			r      identity.Region
			parent sql.NullString
		)
		if err := rows.Scan(&r.ID, &r.Description, &parent); err != nil {
			return nil, err
		}
		r.ParentRegionID = parent.String
		out = append(out, r)
	}
	return out, rows.Err()
}

// UpdateRegion replaces the stored fields of the region r.ID.
func (s *Store) UpdateRegion(ctx context.Context, r identity.Region) error {
	err := s.d.InTx(ctx, func(tx *db.Tx) error {
		return updateOne(ctx, tx, "region", r.ID, `UPDATE region SET description = ?, parent_region_id = ? WHERE id = ?`,
			r.Description, nullable(r.ParentRegionID), r.ID)
	})
	if err != nil {
		return fmt.Errorf("update region %s: %w", r.ID, err)
	}
	return nil
}

// DeleteRegion removes the region; it fails with ErrConflict while child regions
// or endpoints use it.
func (s *Store) DeleteRegion(ctx context.Context, id string) error {
	err := s.d.InTx(ctx, func(tx *db.Tx) error {
		for _, use := range []struct{ what, q string }{
			{"child regions", "SELECT 1 FROM region WHERE parent_region_id = ? LIMIT 1"},
			{"endpoints", "SELECT 1 FROM endpoint WHERE region_id = ? LIMIT 1"},
		} {
			used, err := db.Exists(ctx, tx, use.q, id)
			if err != nil {
				return err
			}
			if used {
				return fmt.Errorf("region has %s: %w", use.what, identity.ErrConflict)
			}
		}
		return deleteOne(ctx, tx, "DELETE FROM region WHERE id = ?", id)
	})
	if err != nil {
		return fmt.Errorf("delete region %s: %w", id, err)
	}
	return nil
}

// CreateService stores a new catalog service.
func (s *Store) CreateService(ctx context.Context, svc identity.CatalogService) error {
	_, err := s.d.ExecContext(ctx, `INSERT INTO service (id, type, name, description, enabled) VALUES (?, ?, ?, ?, ?)`,
		svc.ID, svc.Type, svc.Name, svc.Description, svc.Enabled)
	if err != nil {
		return fmt.Errorf("create service %s: %w", svc.ID, writeErr(err))
	}
	return nil
}

// GetService returns the catalog service with id.
func (s *Store) GetService(ctx context.Context, id string) (identity.CatalogService, error) {
	var w db.Where
	w.Add("id = ?", id)
	ss, err := s.queryServices(ctx, &w)
	if err != nil {
		return identity.CatalogService{}, fmt.Errorf("get service %s: %w", id, err)
	}
	if len(ss) == 0 {
		return identity.CatalogService{}, fmt.Errorf("get service %s: %w", id, identity.ErrNotFound)
	}
	return ss[0], nil
}

// ListServices returns the catalog services matching f, ordered by id.
func (s *Store) ListServices(ctx context.Context, f identity.ServiceFilter) ([]identity.CatalogService, error) {
	var w db.Where
	w.Eq("type", f.Type)
	w.Eq("name", f.Name)
	ss, err := s.queryServices(ctx, &w)
	if err != nil {
		return nil, fmt.Errorf("list services: %w", err)
	}
	return ss, nil
}

func (s *Store) queryServices(ctx context.Context, w *db.Where) ([]identity.CatalogService, error) {
	q := "SELECT id, type, name, description, enabled FROM service" + w.String() + db.OrderBy(s.d.Engine(), "id")
	rows, err := s.d.QueryContext(ctx, q, w.Args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []identity.CatalogService
	for rows.Next() {
		var svc identity.CatalogService
		if err := rows.Scan(&svc.ID, &svc.Type, &svc.Name, &svc.Description, &svc.Enabled); err != nil {
			return nil, err
		}
		out = append(out, svc)
	}
	return out, rows.Err()
}

// UpdateService replaces the stored fields of the catalog service svc.ID.
func (s *Store) UpdateService(ctx context.Context, svc identity.CatalogService) error {
	err := s.d.InTx(ctx, func(tx *db.Tx) error {
		return updateOne(ctx, tx, "service", svc.ID,
			`UPDATE service SET type = ?, name = ?, description = ?, enabled = ? WHERE id = ?`,
			svc.Type, svc.Name, svc.Description, svc.Enabled, svc.ID)
	})
	if err != nil {
		return fmt.Errorf("update service %s: %w", svc.ID, err)
	}
	return nil
}

// DeleteService removes the catalog service and its endpoints.
func (s *Store) DeleteService(ctx context.Context, id string) error {
	err := s.d.InTx(ctx, func(tx *db.Tx) error {
		err := exec(ctx, tx,
			st("DELETE FROM project_endpoint WHERE endpoint_id IN (SELECT id FROM endpoint WHERE service_id = ?)", id),
			st("DELETE FROM endpoint WHERE service_id = ?", id))
		if err != nil {
			return err
		}
		return deleteOne(ctx, tx, "DELETE FROM service WHERE id = ?", id)
	})
	if err != nil {
		return fmt.Errorf("delete service %s: %w", id, err)
	}
	return nil
}

// CreateEndpoint stores a new endpoint. A missing service or region is ErrNotFound.
func (s *Store) CreateEndpoint(ctx context.Context, e identity.Endpoint) error {
	_, err := s.d.ExecContext(ctx, `INSERT INTO endpoint (id, service_id, interface, url, region_id, enabled)
		VALUES (?, ?, ?, ?, ?, ?)`, e.ID, e.ServiceID, e.Interface, e.URL, nullable(e.RegionID), e.Enabled)
	if err != nil {
		return fmt.Errorf("create endpoint %s: %w", e.ID, writeErr(err))
	}
	return nil
}

// GetEndpoint returns the endpoint with id.
func (s *Store) GetEndpoint(ctx context.Context, id string) (identity.Endpoint, error) {
	var w db.Where
	w.Add("id = ?", id)
	es, err := s.queryEndpoints(ctx, &w)
	if err != nil {
		return identity.Endpoint{}, fmt.Errorf("get endpoint %s: %w", id, err)
	}
	if len(es) == 0 {
		return identity.Endpoint{}, fmt.Errorf("get endpoint %s: %w", id, identity.ErrNotFound)
	}
	return es[0], nil
}

// ListEndpoints returns the endpoints matching f, ordered by id.
func (s *Store) ListEndpoints(ctx context.Context, f identity.EndpointFilter) ([]identity.Endpoint, error) {
	var w db.Where
	w.Eq("service_id", f.ServiceID)
	w.Eq("interface", f.Interface)
	w.Eq("region_id", f.RegionID)
	es, err := s.queryEndpoints(ctx, &w)
	if err != nil {
		return nil, fmt.Errorf("list endpoints: %w", err)
	}
	return es, nil
}

func (s *Store) queryEndpoints(ctx context.Context, w *db.Where) ([]identity.Endpoint, error) {
	q := "SELECT id, service_id, interface, url, region_id, enabled FROM endpoint" + w.String() +
		db.OrderBy(s.d.Engine(), "id")
	rows, err := s.d.QueryContext(ctx, q, w.Args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []identity.Endpoint
	for rows.Next() {
		var (
			e      identity.Endpoint
			region sql.NullString
		)
		if err := rows.Scan(&e.ID, &e.ServiceID, &e.Interface, &e.URL, &region, &e.Enabled); err != nil {
			return nil, err
		}
		e.RegionID = region.String
		out = append(out, e)
	}
	return out, rows.Err()
}

// UpdateEndpoint replaces the stored fields of the endpoint e.ID.
func (s *Store) UpdateEndpoint(ctx context.Context, e identity.Endpoint) error {
	err := s.d.InTx(ctx, func(tx *db.Tx) error {
		return updateOne(ctx, tx, "endpoint", e.ID, `UPDATE endpoint SET service_id = ?, interface = ?, url = ?,
			region_id = ?, enabled = ? WHERE id = ?`,
			e.ServiceID, e.Interface, e.URL, nullable(e.RegionID), e.Enabled, e.ID)
	})
	if err != nil {
		return fmt.Errorf("update endpoint %s: %w", e.ID, err)
	}
	return nil
}

// DeleteEndpoint removes the endpoint.
func (s *Store) DeleteEndpoint(ctx context.Context, id string) error {
	err := s.d.InTx(ctx, func(tx *db.Tx) error {
		if err := exec(ctx, tx, st("DELETE FROM project_endpoint WHERE endpoint_id = ?", id)); err != nil {
			return err
		}
		return deleteOne(ctx, tx, "DELETE FROM endpoint WHERE id = ?", id)
	})
	if err != nil {
		return fmt.Errorf("delete endpoint %s: %w", id, err)
	}
	return nil
}
