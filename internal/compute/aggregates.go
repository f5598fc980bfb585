package compute

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Host aggregate policy rule names, as nova's policies name them.
const (
	RuleAggregatesIndex       = "os_compute_api:os-aggregates:index"
	RuleAggregatesCreate      = "os_compute_api:os-aggregates:create"
	RuleAggregatesShow        = "os_compute_api:os-aggregates:show"
	RuleAggregatesUpdate      = "os_compute_api:os-aggregates:update"
	RuleAggregatesDelete      = "os_compute_api:os-aggregates:delete"
	RuleAggregatesAddHost     = "os_compute_api:os-aggregates:add_host"
	RuleAggregatesRemoveHost  = "os_compute_api:os-aggregates:remove_host"
	RuleAggregatesSetMetadata = "os_compute_api:os-aggregates:set_metadata"
)

// AggregateZoneKey is the metadata key that holds an aggregate's
// availability zone, as in nova.
const AggregateZoneKey = "availability_zone"

// Aggregate is a host aggregate: hosts grouped under metadata, one key of
// which (AggregateZoneKey) makes them an availability zone.
type Aggregate struct {
	ID        int64
	UUID      string
	Name      string
	Hosts     []string
	Metadata  map[string]string
	CreatedAt time.Time
	UpdatedAt *time.Time
}

// Zone is the aggregate's availability zone, nil when it sets none.
func (a Aggregate) Zone() *string {
	if z, ok := a.Metadata[AggregateZoneKey]; ok {
		return &z
	}
	return nil
}

// AggregateStore keeps host aggregates. Name clashes are ErrConflict.
type AggregateStore interface {
	// CreateAggregate stores a (ID assigned) with its metadata.
	CreateAggregate(ctx context.Context, a Aggregate) (Aggregate, error)
	GetAggregate(ctx context.Context, id int64) (Aggregate, error)
	// ListAggregates lists every aggregate by id with hosts and metadata.
	ListAggregates(ctx context.Context) ([]Aggregate, error)
	// UpdateAggregate sets the name, replaces the metadata and sets
	// updated_at to at.
	UpdateAggregate(ctx context.Context, id int64, name string, metadata map[string]string, at time.Time) (Aggregate, error)
	// DeleteAggregate removes an aggregate without hosts; one with hosts
	// is ErrInUse.
	DeleteAggregate(ctx context.Context, id int64) error
	// AddAggregateHost adds a host; a host already in it is ErrConflict.
	AddAggregateHost(ctx context.Context, id int64, host string) error
	// RemoveAggregateHost removes a host; one not in it is ErrNotFound.
	RemoveAggregateHost(ctx context.Context, id int64, host string) error
}

// ErrInUse is a record other records still need.
var ErrInUse = errors.New("in use")

// AggregateUpdate changes an aggregate's name and zone (nil: unchanged;
// an empty zone removes it).
type AggregateUpdate struct {
	Name *string
	Zone *string
}

func (s *Service) aggregates() (AggregateStore, error) {
	as, ok := s.store.(AggregateStore)
	if !ok {
		return nil, errorf(ErrNotFound, "The resource could not be found.")
	}
	return as, nil
}

func aggregateNotFound(id string) error {
	return errorf(ErrNotFound, "Aggregate %s could not be found.", id)
}

// aggregate authorizes rule and returns the aggregate with the API id.
func (s *Service) aggregate(ctx context.Context, rule, id string) (AggregateStore, Aggregate, error) {
	if err := s.authorize(ctx, rule, map[string]any{}); err != nil {
		return nil, Aggregate{}, err
	}
	as, err := s.aggregates()
	if err != nil {
		return nil, Aggregate{}, err
	}
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return nil, Aggregate{}, aggregateNotFound(id)
	}
	a, err := as.GetAggregate(ctx, n)
	if errors.Is(err, ErrNotFound) {
		return nil, Aggregate{}, aggregateNotFound(id)
	}
	if err != nil {
		return nil, Aggregate{}, fmt.Errorf("get aggregate %s: %w", id, err)
	}
	return as, a, nil
}

// checkZone refuses the internal zone as an aggregate's zone, as nova does.
func (s *Service) checkZone(zone *string) error {
	if zone != nil && *zone == s.cfg.InternalAvailabilityZone {
		return errorf(ErrInvalid, "Aggregates cannot have the internal availability zone %s.", *zone)
	}
	return nil
}

// CreateAggregate creates an aggregate, in a zone when zone is not nil.
func (s *Service) CreateAggregate(ctx context.Context, name string, zone *string) (Aggregate, error) {
	if err := s.authorize(ctx, RuleAggregatesCreate, map[string]any{}); err != nil {
		return Aggregate{}, err
	}
	as, err := s.aggregates()
	if err != nil {
		return Aggregate{}, err
	}
	if err := s.checkZone(zone); err != nil {
		return Aggregate{}, err
	}
	a := Aggregate{UUID: s.newID(), Name: name, Metadata: map[string]string{}, CreatedAt: s.now().UTC()}
	if zone != nil {
		a.Metadata[AggregateZoneKey] = *zone
	}
	a, err = as.CreateAggregate(ctx, a)
	if errors.Is(err, ErrConflict) {
		return Aggregate{}, errorf(ErrConflict, "Aggregate %s already exists.", name)
	}
	if err != nil {
		return Aggregate{}, fmt.Errorf("create aggregate %s: %w", name, err)
	}
	s.log.InfoContext(ctx, "aggregate created", "aggregate_id", a.ID, "name", name)
	return a, nil
}

// Aggregates lists every aggregate.
func (s *Service) Aggregates(ctx context.Context) ([]Aggregate, error) {
	if err := s.authorize(ctx, RuleAggregatesIndex, map[string]any{}); err != nil {
		return nil, err
	}
	as, err := s.aggregates()
	if err != nil {
		return nil, err
	}
	out, err := as.ListAggregates(ctx)
	if err != nil {
		return nil, fmt.Errorf("list aggregates: %w", err)
	}
	return out, nil
}

// Aggregate shows one aggregate by its API id.
func (s *Service) Aggregate(ctx context.Context, id string) (Aggregate, error) {
	_, a, err := s.aggregate(ctx, RuleAggregatesShow, id)
	return a, err
}

// UpdateAggregate renames an aggregate or changes its zone.
func (s *Service) UpdateAggregate(ctx context.Context, id string, u AggregateUpdate) (Aggregate, error) {
	as, a, err := s.aggregate(ctx, RuleAggregatesUpdate, id)
	if err != nil {
		return Aggregate{}, err
	}
	md := maps.Clone(a.Metadata)
	if u.Zone != nil {
		md[AggregateZoneKey] = *u.Zone
	}
	name := a.Name
	if u.Name != nil {
		name = *u.Name
	}
	return s.saveAggregate(ctx, as, a, name, md)
}

// SetAggregateMetadata adds, changes and (nil values) removes metadata.
func (s *Service) SetAggregateMetadata(ctx context.Context, id string, set map[string]*string) (Aggregate, error) {
	as, a, err := s.aggregate(ctx, RuleAggregatesSetMetadata, id)
	if err != nil {
		return Aggregate{}, err
	}
	md := maps.Clone(a.Metadata)
	for k, v := range set {
		if v == nil {
			delete(md, k)
			continue
		}
		md[k] = *v
	}
	return s.saveAggregate(ctx, as, a, a.Name, md)
}

// saveAggregate writes a new name and metadata after checking that a zone
// change leaves no host in two zones.
func (s *Service) saveAggregate(ctx context.Context, as AggregateStore, a Aggregate, name string, md map[string]string) (Aggregate, error) {
	if z, ok := md[AggregateZoneKey]; ok {
		if err := s.checkZone(&z); err != nil {
			return Aggregate{}, err
		}
		if z != a.Metadata[AggregateZoneKey] {
			for _, h := range a.Hosts {
				if err := s.checkHostZone(ctx, as, a.ID, h, z); err != nil {
					return Aggregate{}, err
				}
			}
		}
	}
	out, err := as.UpdateAggregate(ctx, a.ID, name, md, s.now().UTC())
	if errors.Is(err, ErrConflict) {
		return Aggregate{}, errorf(ErrConflict, "Aggregate %s already exists.", name)
	}
	if errors.Is(err, ErrNotFound) {
		return Aggregate{}, aggregateNotFound(strconv.FormatInt(a.ID, 10))
	}
	if err != nil {
		return Aggregate{}, fmt.Errorf("update aggregate %d: %w", a.ID, err)
	}
	s.zonesChanged(ctx)
	return out, nil
}

// checkHostZone refuses to put host in zone when another aggregate of the
// host puts it in a different zone: a host is in one zone only.
func (s *Service) checkHostZone(ctx context.Context, as AggregateStore, self int64, host, zone string) error {
	all, err := as.ListAggregates(ctx)
	if err != nil {
		return fmt.Errorf("list aggregates: %w", err)
	}
	for _, o := range all {
		oz := o.Zone()
		if o.ID == self || oz == nil || *oz == zone || !slices.Contains(o.Hosts, host) {
			continue
		}
		return errorf(ErrConflict, "Cannot add host to aggregate %d. Reason: One or more hosts already in "+
			"availability zone(s) ['%s'].", self, *oz)
	}
	return nil
}

// DeleteAggregate deletes an aggregate that has no hosts.
func (s *Service) DeleteAggregate(ctx context.Context, id string) error {
	as, a, err := s.aggregate(ctx, RuleAggregatesDelete, id)
	if err != nil {
		return err
	}
	err = as.DeleteAggregate(ctx, a.ID)
	switch {
	case errors.Is(err, ErrInUse):
		return errorf(ErrInvalid, "Cannot perform action 'delete' on aggregate %s. Reason: Host aggregate is not empty.", id)
	case errors.Is(err, ErrNotFound):
		return aggregateNotFound(id)
	case err != nil:
		return fmt.Errorf("delete aggregate %s: %w", id, err)
	}
	s.log.InfoContext(ctx, "aggregate deleted", "aggregate_id", a.ID)
	return nil
}

// AddAggregateHost adds a compute host the cloud knows to an aggregate.
func (s *Service) AddAggregateHost(ctx context.Context, id, host string) (Aggregate, error) {
	as, a, err := s.aggregate(ctx, RuleAggregatesAddHost, id)
	if err != nil {
		return Aggregate{}, err
	}
	_, ok, err := s.computeHost(ctx, host)
	if err != nil {
		return Aggregate{}, err
	}
	if !ok {
		return Aggregate{}, errorf(ErrNotFound, "Compute host %s could not be found.", host)
	}
	if z := a.Zone(); z != nil {
		if err := s.checkHostZone(ctx, as, a.ID, host, *z); err != nil {
			return Aggregate{}, err
		}
	}
	err = as.AddAggregateHost(ctx, a.ID, host)
	if errors.Is(err, ErrConflict) {
		return Aggregate{}, errorf(ErrConflict, "Aggregate %s already has host %s.", id, host)
	}
	if err != nil {
		return Aggregate{}, fmt.Errorf("add host %s to aggregate %s: %w", host, id, err)
	}
	s.log.InfoContext(ctx, "host added to aggregate", "aggregate_id", a.ID, "host", host)
	s.zonesChanged(ctx)
	s.mirrorAggregateHost(ctx, a, host, true)
	return s.reread(ctx, as, id, a.ID)
}

// RemoveAggregateHost takes a host out of an aggregate.
func (s *Service) RemoveAggregateHost(ctx context.Context, id, host string) (Aggregate, error) {
	as, a, err := s.aggregate(ctx, RuleAggregatesRemoveHost, id)
	if err != nil {
		return Aggregate{}, err
	}
	err = s.dropAggregateHost(ctx, as, a, host)
	if errors.Is(err, ErrNotFound) {
		return Aggregate{}, errorf(ErrNotFound, "Aggregate %s has no host %s.", id, host)
	}
	if err != nil {
		return Aggregate{}, err
	}
	s.zonesChanged(ctx)
	return s.reread(ctx, as, id, a.ID)
}

// dropAggregateHost takes host out of aggregate a and mirrors that into
// placement; a host not in it is ErrNotFound. The caller tells the zones.
func (s *Service) dropAggregateHost(ctx context.Context, as AggregateStore, a Aggregate, host string) error {
	err := as.RemoveAggregateHost(ctx, a.ID, host)
	if errors.Is(err, ErrNotFound) {
		return err
	}
	if err != nil {
		return fmt.Errorf("remove host %s from aggregate %d: %w", host, a.ID, err)
	}
	s.log.InfoContext(ctx, "host removed from aggregate", "aggregate_id", a.ID, "host", host)
	s.mirrorAggregateHost(ctx, a, host, false)
	return nil
}

func (s *Service) reread(ctx context.Context, as AggregateStore, id string, n int64) (Aggregate, error) {
	a, err := as.GetAggregate(ctx, n)
	if errors.Is(err, ErrNotFound) {
		return Aggregate{}, aggregateNotFound(id)
	}
	if err != nil {
		return Aggregate{}, fmt.Errorf("get aggregate %s: %w", id, err)
	}
	return a, nil
}

// HostAggregates maps each host in an aggregate to its aggregates, for the
// scheduler and the zone of services; no policy applies.
func (s *Service) HostAggregates(ctx context.Context) (map[string][]Aggregate, error) {
	return AggregatesByHost(ctx, s.store)
}

// AggregatesByHost maps each host of a store's aggregates to them (nil when
// the store keeps no aggregates).
func AggregatesByHost(ctx context.Context, store Store) (map[string][]Aggregate, error) {
	as, ok := store.(AggregateStore)
	if !ok {
		return nil, nil
	}
	all, err := as.ListAggregates(ctx)
	if err != nil {
		return nil, fmt.Errorf("list aggregates: %w", err)
	}
	out := map[string][]Aggregate{}
	for _, a := range all {
		for _, h := range a.Hosts {
			out[h] = append(out[h], a)
		}
	}
	return out, nil
}

// HostZone is the zone of a host in aggregates: the first aggregate of the
// host that sets one, else def.
func HostZone(aggs []Aggregate, def string) string {
	for _, a := range aggs {
		if z := a.Zone(); z != nil && *z != "" {
			return *z
		}
	}
	return def
}

// ZonedServices is a ServiceDirectory whose compute services are in the
// zones their hosts' aggregates set (nova's availability_zones module). It
// answers from a snapshot of the aggregates, never from the database:
// services are listed inside store transactions (a host's liveness is
// checked while an instance row is held), where another read could wait
// on the transaction itself. The snapshot is reloaded after this process
// changes an aggregate and, in the background, once it is older than TTL,
// so other processes' changes show within TTL (nova caches zones too).
type ZonedServices struct {
	dir  ServiceDirectory
	load func(ctx context.Context) (map[string][]Aggregate, error)
	ttl  time.Duration
	log  *slog.Logger

	mu         sync.Mutex
	zones      map[string]string // host -> zone set by its aggregates
	loadedAt   time.Time
	refreshing bool
}

// NewZonedServices returns dir with zones from the aggregates load reads,
// loading them once now.
func NewZonedServices(ctx context.Context, dir ServiceDirectory, load func(ctx context.Context) (map[string][]Aggregate, error),
	ttl time.Duration, log *slog.Logger) *ZonedServices {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	z := &ZonedServices{dir: dir, load: load, ttl: ttl, log: log, zones: map[string]string{}}
	if err := z.Refresh(ctx); err != nil {
		log.WarnContext(ctx, "load the zones of aggregates; hosts stay in the default zone until the next try",
			"error", err)
	}
	return z
}

// Refresh reloads the snapshot now.
func (z *ZonedServices) Refresh(ctx context.Context) error {
	aggs, err := z.load(ctx)
	if err != nil {
		return err
	}
	zones := make(map[string]string, len(aggs))
	for h, as := range aggs {
		if zone := HostZone(as, ""); zone != "" {
			zones[h] = zone
		}
	}
	z.mu.Lock()
	z.zones, z.loadedAt = zones, time.Now()
	z.mu.Unlock()
	return nil
}

// Services lists the services with aggregate zones applied.
func (z *ZonedServices) Services(ctx context.Context) ([]ServiceRecord, error) {
	recs, err := z.dir.Services(ctx)
	if err != nil {
		return nil, err
	}
	z.mu.Lock()
	zones := z.zones
	if time.Since(z.loadedAt) > z.ttl && !z.refreshing {
		z.refreshing = true
		go z.refreshLater()
	}
	z.mu.Unlock()
	recs = slices.Clone(recs)
	for i, r := range recs {
		if zone, ok := zones[r.Host]; ok && r.Binary == "nova-compute" {
			recs[i].Zone = zone
		}
	}
	return recs, nil
}

func (z *ZonedServices) refreshLater() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := z.Refresh(ctx); err != nil {
		z.log.WarnContext(ctx, "reload the zones of aggregates", "error", err)
	}
	z.mu.Lock()
	z.refreshing = false
	z.mu.Unlock()
}

// AggregatesVersion moves whenever an aggregate's hosts or metadata change
// in this process, so that readers of HostAggregates may keep its answer
// while it stands.
func (s *Service) AggregatesVersion() uint64 { return s.aggregatesVersion.Load() }

// zonesChanged moves the aggregates' version and reloads the zones a
// ZonedServices directory shows, after an aggregate's hosts or metadata
// changed in this process.
func (s *Service) zonesChanged(ctx context.Context) {
	s.aggregatesVersion.Add(1)
	z, ok := s.services.(*ZonedServices)
	if !ok {
		return
	}
	if err := z.Refresh(ctx); err != nil {
		s.log.WarnContext(ctx, "reload the zones of aggregates", "error", err)
	}
}
