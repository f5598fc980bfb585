package identity

import (
	"context"
	"fmt"
	"sort"
)

// CatalogEntry is one service of the token catalog with its enabled endpoints.
type CatalogEntry struct {
	Service   CatalogService
	Endpoints []Endpoint
}

// Catalog is a snapshot of the service catalog. A snapshot never changes: an
// identity write makes a new one, so callers may cache what they derive from it
// for as long as Catalog keeps returning the same pointer.
type Catalog struct {
	Entries []CatalogEntry
}

// Catalog returns the service catalog tokens carry: enabled services with their
// enabled endpoints. It is cached until the next identity write.
func (s *Service) Catalog(ctx context.Context) (*Catalog, error) {
	if c := s.catalog.Load(); c != nil {
		return c, nil
	}
	services, err := s.store.ListServices(ctx, ServiceFilter{})
	if err != nil {
		return nil, fmt.Errorf("list services: %w", err)
	}
	endpoints, err := s.store.ListEndpoints(ctx, EndpointFilter{})
	if err != nil {
		return nil, fmt.Errorf("list endpoints: %w", err)
	}
	byService := map[string][]Endpoint{}
	for _, e := range endpoints {
		if e.Enabled {
			byService[e.ServiceID] = append(byService[e.ServiceID], e)
		}
	}
	out := make([]CatalogEntry, 0, len(services))
	for _, svc := range services {
		if !svc.Enabled {
			continue
		}
		eps := byService[svc.ID]
		sort.Slice(eps, func(i, j int) bool { return eps[i].ID < eps[j].ID })
		out = append(out, CatalogEntry{Service: svc, Endpoints: eps})
	}
	c := &Catalog{Entries: out}
	s.catalog.Store(c)
	return c, nil
}
