package identity

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Endpoint interfaces keystone accepts.
var endpointInterfaces = []string{"admin", "internal", "public"}

// endpointURLPattern is keystone's schema pattern for endpoint URLs.
var endpointURLPattern = regexp.MustCompile(`^[a-zA-Z0-9+.-]+:.+`)

// endpointURLSubstitutions are the $(name)s keys keystone substitutes in
// endpoint URLs (keystone.common.utils.WHITELISTED_PROPERTIES).
var endpointURLSubstitutions = []string{"tenant_id", "project_id", "user_id", "compute_host", "public_endpoint"}

// RegionUpdate is a PATCH /v3/regions/{region_id}: nil fields stay as they are.
type RegionUpdate struct {
	Description *string
	// ParentRegionID points to the new parent; to "" to make the region top-level.
	ParentRegionID *string
}

// ServiceUpdate is a PATCH /v3/services/{service_id}: nil fields stay as they are.
type ServiceUpdate struct {
	Type, Name, Description *string
	Enabled                 *bool
}

// EndpointUpdate is a PATCH /v3/endpoints/{endpoint_id}: nil fields stay as
// they are.
type EndpointUpdate struct {
	ServiceID, Interface, URL *string
	// RegionID points to the new region; to "" to clear it.
	RegionID *string
	// LegacyRegion is the deprecated "region" field, used when RegionID is not
	// given; an unknown region named this way is created, as keystone does.
	LegacyRegion *string
	Enabled      *bool
}

// checkRegionID applies keystone's region id schema: 1 to 255 characters.
func checkRegionID(field, id string) error {
	if id == "" {
		return invalid("Invalid input for field/attribute %s. Value: %s. '%s' is too short", field, id, id)
	}
	return lengthSchemaError(field, id, 255)
}

// CreateRegion creates a region (POST /v3/regions, or PUT /v3/regions/{region_id}
// with a chosen id); an empty r.ID gets a generated one. The parent must exist
// (404) and the id must be free (409).
func (s *Service) CreateRegion(ctx context.Context, r Region) (Region, error) {
	if _, err := caller(ctx); err != nil {
		return Region{}, err
	}
	if err := s.authorize(ctx, "identity:create_region", nil); err != nil {
		return Region{}, err
	}
	if r.ID == "" {
		r.ID = s.newID()
	}
	if err := lengthSchemaError("id", r.ID, 255); err != nil {
		return Region{}, err
	}
	if err := lengthSchemaError("description", r.Description, 255); err != nil {
		return Region{}, err
	}
	if r.ParentRegionID != "" {
		if err := checkRegionID("parent_region_id", r.ParentRegionID); err != nil {
			return Region{}, err
		}
	}
	if _, err := s.store.GetRegion(ctx, r.ID); err == nil {
		return Region{}, conflict("Conflict occurred attempting to store region - Duplicate ID, %s.", r.ID)
	} else if !errors.Is(err, ErrNotFound) {
		return Region{}, fmt.Errorf("get region %s: %w", r.ID, err)
	}
	if r.ParentRegionID != "" {
		if _, err := s.store.GetRegion(ctx, r.ParentRegionID); err != nil {
			return Region{}, lookup(err, "region", r.ParentRegionID)
		}
	}
	if err := s.store.CreateRegion(ctx, r); err != nil {
		err = duplicate(err, "region - Duplicate ID, %s.", r.ID)
		return Region{}, lookup(err, "region", r.ParentRegionID)
	}
	s.changed()
	return r, nil
}

// GetRegion returns one region (GET /v3/regions/{region_id}).
func (s *Service) GetRegion(ctx context.Context, id string) (Region, error) {
	if _, err := caller(ctx); err != nil {
		return Region{}, err
	}
	if err := s.authorize(ctx, "identity:get_region", nil); err != nil {
		return Region{}, err
	}
	r, err := s.store.GetRegion(ctx, id)
	if err != nil {
		return Region{}, lookup(err, "region", id)
	}
	return r, nil
}

// ListRegions lists regions, only the children of parentID when it is set
// (GET /v3/regions).
func (s *Service) ListRegions(ctx context.Context, parentID string) ([]Region, error) {
	if _, err := caller(ctx); err != nil {
		return nil, err
	}
	var target map[string]any
	if parentID != "" {
		target = map[string]any{"parent_region_id": parentID}
	}
	if err := s.authorize(ctx, "identity:list_regions", target); err != nil {
		return nil, err
	}
	rs, err := s.store.ListRegions(ctx, RegionFilter{ParentRegionID: parentID})
	if err != nil {
		return nil, fmt.Errorf("list regions: %w", err)
	}
	return rs, nil
}

// UpdateRegion changes a region's description or parent
// (PATCH /v3/regions/{region_id}). The new parent must exist (404) and must not
// be the region or one of its descendants (400).
func (s *Service) UpdateRegion(ctx context.Context, id string, u RegionUpdate) (Region, error) {
	if _, err := caller(ctx); err != nil {
		return Region{}, err
	}
	if err := s.authorize(ctx, "identity:update_region", nil); err != nil {
		return Region{}, err
	}
	r, err := s.store.GetRegion(ctx, id)
	if err != nil {
		return Region{}, lookup(err, "region", id)
	}
	if u.Description != nil {
		if err := lengthSchemaError("description", *u.Description, 255); err != nil {
			return Region{}, err
		}
		r.Description = *u.Description
	}
	if u.ParentRegionID != nil && *u.ParentRegionID != "" {
		parent := *u.ParentRegionID
		if err := checkRegionID("parent_region_id", parent); err != nil {
			return Region{}, err
		}
		if _, err := s.store.GetRegion(ctx, parent); err != nil {
			return Region{}, lookup(err, "region", parent)
		}
		if err := s.checkRegionLoop(ctx, id, parent); err != nil {
			return Region{}, err
		}
	}
	if u.ParentRegionID != nil {
		r.ParentRegionID = *u.ParentRegionID
	}
	if err := s.store.UpdateRegion(ctx, r); err != nil {
		return Region{}, lookup(err, "region", id)
	}
	s.changed()
	return r, nil
}

// checkRegionLoop refuses making parent the parent of id when id is parent or
// one of its ancestors (keystone's CircularRegionHierarchyError).
func (s *Service) checkRegionLoop(ctx context.Context, id, parent string) error {
	seen := map[string]bool{}
	for cur := parent; cur != "" && !seen[cur]; {
		if cur == id {
			return invalid("The specified parent region %s would create a circular region hierarchy.", parent)
		}
		seen[cur] = true
		r, err := s.store.GetRegion(ctx, cur)
		if err != nil {
			return lookup(err, "region", cur)
		}
		cur = r.ParentRegionID
	}
	return nil
}

// DeleteRegion deletes a region and, as keystone does, the regions below it
// (DELETE /v3/regions/{region_id}). It refuses with 403 while any of them has
// endpoints.
func (s *Service) DeleteRegion(ctx context.Context, id string) error {
	if _, err := caller(ctx); err != nil {
		return err
	}
	if err := s.authorize(ctx, "identity:delete_region", nil); err != nil {
		return err
	}
	if _, err := s.store.GetRegion(ctx, id); err != nil {
		return lookup(err, "region", id)
	}
	tree := []string{id}
	for i := 0; i < len(tree); i++ {
		children, err := s.store.ListRegions(ctx, RegionFilter{ParentRegionID: tree[i]})
		if err != nil {
			return fmt.Errorf("list regions below %s: %w", tree[i], err)
		}
		for _, c := range children {
			if !slices.Contains(tree, c.ID) {
				tree = append(tree, c.ID)
			}
		}
	}
	for _, rid := range tree {
		eps, err := s.store.ListEndpoints(ctx, EndpointFilter{RegionID: rid})
		if err != nil {
			return fmt.Errorf("list endpoints of region %s: %w", rid, err)
		}
		if len(eps) > 0 {
			return forbidden("Unable to delete region %s because it or its child regions have associated endpoints.", id)
		}
	}
	for i := len(tree) - 1; i >= 0; i-- {
		err := s.store.DeleteRegion(ctx, tree[i])
		if errors.Is(err, ErrConflict) {
			return conflict("Region %s changed while it was being deleted; try again.", id)
		}
		if err != nil && !(i > 0 && errors.Is(err, ErrNotFound)) {
			return lookup(err, "region", tree[i])
		}
	}
	s.changed()
	return nil
}

// checkService validates a catalog service's fields.
func checkService(svc CatalogService) error {
	if err := nameSchemaError("type", svc.Type, 255); err != nil {
		return err
	}
	if svc.Name != "" {
		return nameSchemaError("name", svc.Name, 255)
	}
	return nil
}

// CreateService creates a catalog service (POST /v3/services); type is required.
func (s *Service) CreateService(ctx context.Context, svc CatalogService) (CatalogService, error) {
	if _, err := caller(ctx); err != nil {
		return CatalogService{}, err
	}
	if err := s.authorize(ctx, "identity:create_service", nil); err != nil {
		return CatalogService{}, err
	}
	if err := checkService(svc); err != nil {
		return CatalogService{}, err
	}
	svc.ID = s.newID()
	if err := s.store.CreateService(ctx, svc); err != nil {
		return CatalogService{}, duplicate(err, "service - Duplicate entry found with ID %s.", svc.ID)
	}
	s.changed()
	return svc, nil
}

// GetService returns one catalog service (GET /v3/services/{service_id}).
func (s *Service) GetService(ctx context.Context, id string) (CatalogService, error) {
	if _, err := caller(ctx); err != nil {
		return CatalogService{}, err
	}
	if err := s.authorize(ctx, "identity:get_service", nil); err != nil {
		return CatalogService{}, err
	}
	svc, err := s.store.GetService(ctx, id)
	if err != nil {
		return CatalogService{}, lookup(err, "service", id)
	}
	return svc, nil
}

// ListServices lists catalog services, filtered by type and name when set
// (GET /v3/services).
func (s *Service) ListServices(ctx context.Context, f ServiceFilter) ([]CatalogService, error) {
	if _, err := caller(ctx); err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "identity:list_services", nil); err != nil {
		return nil, err
	}
	svcs, err := s.store.ListServices(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("list services: %w", err)
	}
	return svcs, nil
}

// UpdateService changes a catalog service (PATCH /v3/services/{service_id}).
func (s *Service) UpdateService(ctx context.Context, id string, u ServiceUpdate) (CatalogService, error) {
	if _, err := caller(ctx); err != nil {
		return CatalogService{}, err
	}
	if err := s.authorize(ctx, "identity:update_service", nil); err != nil {
		return CatalogService{}, err
	}
	svc, err := s.store.GetService(ctx, id)
	if err != nil {
		return CatalogService{}, lookup(err, "service", id)
	}
	if u.Type != nil {
		svc.Type = *u.Type
	}
	if u.Name != nil {
		if *u.Name == "" {
			return CatalogService{}, nameSchemaError("name", "", 255)
		}
		svc.Name = *u.Name
	}
	if u.Description != nil {
		svc.Description = *u.Description
	}
	if u.Enabled != nil {
		svc.Enabled = *u.Enabled
	}
	if err := checkService(svc); err != nil {
		return CatalogService{}, err
	}
	if err := s.store.UpdateService(ctx, svc); err != nil {
		return CatalogService{}, lookup(err, "service", id)
	}
	s.changed()
	return svc, nil
}

// DeleteService deletes a catalog service with its endpoints
// (DELETE /v3/services/{service_id}).
func (s *Service) DeleteService(ctx context.Context, id string) error {
	if _, err := caller(ctx); err != nil {
		return err
	}
	if err := s.authorize(ctx, "identity:delete_service", nil); err != nil {
		return err
	}
	if err := s.store.DeleteService(ctx, id); err != nil {
		return lookup(err, "service", id)
	}
	s.changed()
	return nil
}

// checkEndpointURL applies keystone's URL schema and its check that every
// $(name)s substitution is one keystone fills in.
func checkEndpointURL(url string) error {
	if len([]rune(url)) > 225 {
		return invalid("Invalid input for field/attribute url. Value: %s. '%s' is too long", url, url)
	}
	if !endpointURLPattern.MatchString(url) {
		return invalid("Invalid input for field/attribute url. Value: %s. '%s' does not match '^[a-zA-Z0-9+.-]+:.+'", url, url)
	}
	bad := invalid("Cannot create an endpoint with an invalid URL: %s.", url)
	// keystone formats the URL with Python's % operator after turning "$(" into
	// "%(": every % must then start "%%" or "%(key)" plus a string conversion.
	rest := strings.ReplaceAll(url, "$(", "%(")
	for {
		i := strings.IndexByte(rest, '%')
		if i < 0 {
			return nil
		}
		rest = rest[i+1:]
		if strings.HasPrefix(rest, "%") {
			rest = rest[1:]
			continue
		}
		if !strings.HasPrefix(rest, "(") {
			return bad
		}
		end := strings.IndexByte(rest, ')')
		if end < 0 || !slices.Contains(endpointURLSubstitutions, rest[1:end]) {
			return bad
		}
		rest = strings.TrimLeft(rest[end+1:], "#0- +0123456789.")
		if rest == "" || !strings.ContainsRune("sra", rune(rest[0])) {
			return bad
		}
		rest = rest[1:]
	}
}

// checkEndpoint validates an endpoint's fields and that its service and region
// exist, answering 400 as keystone does when they do not.
func (s *Service) checkEndpoint(ctx context.Context, e Endpoint) error {
	if !slices.Contains(endpointInterfaces, e.Interface) {
		return invalid("Invalid input for field/attribute interface. Value: %s. '%s' is not one of ['admin', 'internal', 'public']", e.Interface, e.Interface)
	}
	if err := checkEndpointURL(e.URL); err != nil {
		return err
	}
	tail := " The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error."
	if _, err := s.store.GetService(ctx, e.ServiceID); errors.Is(err, ErrNotFound) {
		return invalid("Expecting to find endpoint service_id in service table.%s", tail)
	} else if err != nil {
		return fmt.Errorf("get service %s: %w", e.ServiceID, err)
	}
	if e.RegionID == "" {
		return nil
	}
	if _, err := s.store.GetRegion(ctx, e.RegionID); errors.Is(err, ErrNotFound) {
		return invalid("Expecting to find endpoint region_id in region table.%s", tail)
	} else if err != nil {
		return fmt.Errorf("get region %s: %w", e.RegionID, err)
	}
	return nil
}

// ensureLegacyRegion creates the region the deprecated "region" field names when
// it does not exist, as keystone does for backward compatibility. Callers
// validate everything else first, so a refused request creates nothing.
func (s *Service) ensureLegacyRegion(ctx context.Context, id string) error {
	if err := checkRegionID("region", id); err != nil {
		return err
	}
	_, err := s.store.GetRegion(ctx, id)
	if !errors.Is(err, ErrNotFound) {
		return err
	}
	if err := s.store.CreateRegion(ctx, Region{ID: id}); err != nil && !errors.Is(err, ErrConflict) {
		return fmt.Errorf("create region %s: %w", id, err)
	}
	return nil
}

// CreateEndpoint creates an endpoint (POST /v3/endpoints). legacyRegion is the
// deprecated "region" field, used when e.RegionID is empty.
func (s *Service) CreateEndpoint(ctx context.Context, e Endpoint, legacyRegion string) (Endpoint, error) {
	if _, err := caller(ctx); err != nil {
		return Endpoint{}, err
	}
	if err := s.authorize(ctx, "identity:create_endpoint", nil); err != nil {
		return Endpoint{}, err
	}
	if err := s.checkEndpoint(ctx, e); err != nil {
		return Endpoint{}, err
	}
	if e.RegionID == "" && legacyRegion != "" {
		if err := s.ensureLegacyRegion(ctx, legacyRegion); err != nil {
			return Endpoint{}, err
		}
		e.RegionID = legacyRegion
	}
	e.ID = s.newID()
	if err := s.store.CreateEndpoint(ctx, e); err != nil {
		return Endpoint{}, lookup(err, "service", e.ServiceID)
	}
	s.changed()
	return e, nil
}

// GetEndpoint returns one endpoint (GET /v3/endpoints/{endpoint_id}).
func (s *Service) GetEndpoint(ctx context.Context, id string) (Endpoint, error) {
	if _, err := caller(ctx); err != nil {
		return Endpoint{}, err
	}
	if err := s.authorize(ctx, "identity:get_endpoint", nil); err != nil {
		return Endpoint{}, err
	}
	e, err := s.store.GetEndpoint(ctx, id)
	if err != nil {
		return Endpoint{}, lookup(err, "endpoint", id)
	}
	return e, nil
}

// ListEndpoints lists endpoints, filtered by service, interface and region when
// set (GET /v3/endpoints). An unknown interface is a 400.
func (s *Service) ListEndpoints(ctx context.Context, f EndpointFilter) ([]Endpoint, error) {
	if _, err := caller(ctx); err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "identity:list_endpoints", nil); err != nil {
		return nil, err
	}
	if f.Interface != "" && !slices.Contains(endpointInterfaces, f.Interface) {
		return nil, invalid("Invalid input for query parameters interface. Value: %s. '%s' is not one of ['admin', 'internal', 'public']", f.Interface, f.Interface)
	}
	eps, err := s.store.ListEndpoints(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("list endpoints: %w", err)
	}
	return eps, nil
}

// UpdateEndpoint changes an endpoint (PATCH /v3/endpoints/{endpoint_id}).
func (s *Service) UpdateEndpoint(ctx context.Context, id string, u EndpointUpdate) (Endpoint, error) {
	if _, err := caller(ctx); err != nil {
		return Endpoint{}, err
	}
	if err := s.authorize(ctx, "identity:update_endpoint", nil); err != nil {
		return Endpoint{}, err
	}
	e, err := s.store.GetEndpoint(ctx, id)
	if err != nil {
		return Endpoint{}, lookup(err, "endpoint", id)
	}
	if u.ServiceID != nil {
		e.ServiceID = *u.ServiceID
	}
	if u.Interface != nil {
		e.Interface = *u.Interface
	}
	if u.URL != nil {
		e.URL = *u.URL
	}
	if u.RegionID != nil {
		e.RegionID = *u.RegionID
	}
	if u.Enabled != nil {
		e.Enabled = *u.Enabled
	}
	legacy := u.RegionID == nil && u.LegacyRegion != nil && *u.LegacyRegion != ""
	if err := s.checkEndpoint(ctx, e); err != nil {
		return Endpoint{}, err
	}
	if legacy {
		if err := s.ensureLegacyRegion(ctx, *u.LegacyRegion); err != nil {
			return Endpoint{}, err
		}
		e.RegionID = *u.LegacyRegion
	}
	if err := s.store.UpdateEndpoint(ctx, e); err != nil {
		return Endpoint{}, lookup(err, "endpoint", id)
	}
	s.changed()
	return e, nil
}

// DeleteEndpoint deletes an endpoint (DELETE /v3/endpoints/{endpoint_id}).
func (s *Service) DeleteEndpoint(ctx context.Context, id string) error {
	if _, err := caller(ctx); err != nil {
		return err
	}
	if err := s.authorize(ctx, "identity:delete_endpoint", nil); err != nil {
		return err
	}
	if err := s.store.DeleteEndpoint(ctx, id); err != nil {
		return lookup(err, "endpoint", id)
	}
	s.changed()
	return nil
}
