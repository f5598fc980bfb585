package compute

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// ServiceRecord is one running nova service (nova-compute on a host, the
// scheduler, the conductor) as the availability zone list sees it.
type ServiceRecord struct {
	Host   string
	Binary string
	// Zone is the service's availability zone: for compute services the zone
	// of their host's aggregate, else the default zone; for the others the
	// internal zone.
	Zone     string
	Disabled bool
	// ForcedDown is set by an operator who knows the host is down.
	ForcedDown bool
	// Up is the service group's liveness verdict.
	Up        bool
	UpdatedAt time.Time
}

// ServiceDirectory lists the services of the cloud with their zones. The
// services API of a later release provides it.
type ServiceDirectory interface {
	Services(ctx context.Context) ([]ServiceRecord, error)
}

// ZoneService is the state of one service of a host in a detailed zone list.
type ZoneService struct {
	Available bool
	Active    bool
	UpdatedAt time.Time
}

// Zone is one availability zone.
type Zone struct {
	Name      string
	Available bool
	// Hosts maps host to binary to state, in detailed lists of available
	// zones; nil otherwise.
	Hosts map[string]map[string]ZoneService
}

// apiBinaries are the services a detailed zone list leaves out, as nova does.
var apiBinaries = []string{"nova-osapi_compute", "nova-metadata"}

// AvailabilityZones lists the zones, available ones first, each sorted by
// name. The summary (detail false, os-availability-zone:list) hides the
// internal zone; the detailed list (os-availability-zone:detail) shows
// every zone with the hosts and services in it.
//
// Nova derives zones from the registered services alone. Until services
// register (with no ServiceDirectory), the default zone is listed as
// available, since every Nimbus compute host starts in it.
func (s *Service) AvailabilityZones(ctx context.Context, detail bool) ([]Zone, error) {
	rule := RuleZonesList
	if detail {
		rule = RuleZonesDetail
	}
	if err := s.authorize(ctx, rule, map[string]any{}); err != nil {
		return nil, err
	}
	if s.services == nil {
		z := Zone{Name: s.cfg.DefaultAvailabilityZone, Available: true}
		if detail {
			z.Hosts = map[string]map[string]ZoneService{}
		}
		return []Zone{z}, nil
	}
	recs, err := s.services.Services(ctx)
	if err != nil {
		return nil, fmt.Errorf("list services: %w", err)
	}
	available, unavailable := map[string]bool{}, map[string]bool{}
	for _, r := range recs {
		if !r.Disabled {
			available[r.Zone] = true
		}
	}
	for _, r := range recs {
		if r.Disabled && !available[r.Zone] {
			unavailable[r.Zone] = true
		}
	}
	var out []Zone
	for _, name := range sortedKeys(available) {
		if !detail && name == s.cfg.InternalAvailabilityZone {
			continue
		}
		z := Zone{Name: name, Available: true}
		if detail {
			z.Hosts = zoneHosts(recs, name)
		}
		out = append(out, z)
	}
	for _, name := range sortedKeys(unavailable) {
		if !detail && name == s.cfg.InternalAvailabilityZone {
			continue
		}
		out = append(out, Zone{Name: name})
	}
	return out, nil
}

// zoneHosts maps the enabled non-API services of a zone by host and binary.
func zoneHosts(recs []ServiceRecord, zone string) map[string]map[string]ZoneService {
	hosts := map[string]map[string]ZoneService{}
	for _, r := range recs {
		if r.Zone != zone || r.Disabled || slices.Contains(apiBinaries, r.Binary) {
			continue
		}
		if hosts[r.Host] == nil {
			hosts[r.Host] = map[string]ZoneService{}
		}
		hosts[r.Host][r.Binary] = ZoneService{Available: r.Up, Active: true, UpdatedAt: r.UpdatedAt}
	}
	return hosts
}
