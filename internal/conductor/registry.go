package conductor

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/nimbus-cloud/nimbus/internal/rpc"
)

// Registry is the service group: every service's last heartbeat, with each
// compute host's node and instances, and its liveness verdict (up when
// heard from within service_down_time, as nova's database servicegroup
// driver decides). The conductor writes it from service_update; the
// scheduler and the compute API read it.
//
// It answers from memory, and with a ServiceStore it writes through, so
// that service ids and what operators set (disabled and why, forced down)
// outlive the controller and every controller gives the same verdict: a
// service is inserted at its first heartbeat, an operator's change and a
// delete are written at once, heartbeats are written in one batch each
// sync interval. Each sync also reads the store back, taking what other
// controllers wrote: their services, operators' changes, newer heartbeats
// and deletes. Nodes and instances come only from heartbeats.
type Registry struct {
	downAfter    time.Duration
	computeZone  string
	internalZone string
	now          func() time.Time
	store        ServiceStore
	log          *slog.Logger

	mu       sync.RWMutex
	services map[serviceKey]*entry
	// order holds the records by host then binary. It changes only when a
	// service registers or is removed, so that listing thousands of hosts
	// sorts nothing.
	order []*entry
	// zoneOf, when set, names the zone a compute host's aggregates put it
	// in ("" for none).
	zoneOf func(host string) string
	nextID int
	// changes counts what this registry changed in the store beside
	// heartbeats (inserts, operators' changes, deletes): a read of the
	// store that overlapped one is not merged, as it may predate it.
	changes uint64
}

type serviceKey struct{ host, binary string }

// entry is a service as the registry holds it.
type entry struct {
	ServiceStatus
	// pending: not in the store yet (its insert failed; the next sync
	// tries again). dirty: a heartbeat arrived since the last write.
	pending, dirty bool
	// nodeStored is the node as the store has it, as JSON.
	nodeStored string
}

// ServiceStatus is one service as the registry knows it.
type ServiceStatus struct {
	// ID is nova's service id: small, stable, kept by the store (0 while
	// the service's first write is under way).
	ID int
	// UUID is the service's id from compute microversion 2.53. It derives
	// from host and binary, so it is the same on every controller.
	UUID           string
	Host           string
	Binary         string
	Zone           string
	Disabled       bool
	DisabledReason string
	ForcedDown     bool
	Version        rpc.Version
	ReportCount    int64
	CreatedAt      time.Time
	// LastSeen is when the last heartbeat arrived (nova's last_seen_up).
	LastSeen time.Time
	// Up is the liveness verdict at the time of reading.
	Up bool
	// Node and Instances are a compute host's, as last reported.
	Node      *rpc.ComputeNode
	Instances []string
}

// ErrServiceNotFound is the error of a change to a service the group does
// not have.
var ErrServiceNotFound = errors.New("service not found")

// StoredService is a service as a ServiceStore keeps it.
type StoredService struct {
	ID             int
	UUID           string
	Host           string
	Binary         string
	Topic          string
	ReportCount    int64
	Disabled       bool
	DisabledReason string
	ForcedDown     bool
	Version        string
	LastSeenUp     time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time
	// Node is a compute service's node, as last stored (zero for none).
	Node StoredNode
}

// StoredNode is a compute service's node as a ServiceStore keeps it: its
// resource provider's uuid, its name, and the reported rpc.ComputeNode as
// JSON.
type StoredNode struct {
	UUID, Hostname, Resources string
}

// Heartbeat is what a heartbeat changes in a stored service, with its node
// when that changed (Node.UUID set).
type Heartbeat struct {
	ID          int
	ReportCount int64
	Version     string
	LastSeenUp  time.Time
	Node        StoredNode
}

// ServiceStore keeps the service group where every controller reads it
// (nova's services table). A change to a missing service is
// ErrServiceNotFound.
type ServiceStore interface {
	// ListServices lists every service.
	ListServices(ctx context.Context) ([]StoredService, error)
	// CreateService inserts a service and returns it with its id; when
	// its host and binary are there already it returns that one, with
	// created false.
	CreateService(ctx context.Context, s StoredService) (_ StoredService, created bool, err error)
	SetServiceDisabled(ctx context.Context, host, binary string, disabled bool, reason string, at time.Time) error
	SetServiceForcedDown(ctx context.Context, host, binary string, down bool, at time.Time) error
	// RecordHeartbeats writes heartbeats; one older than the stored one
	// changes nothing.
	RecordHeartbeats(ctx context.Context, hbs []Heartbeat) error
	DeleteService(ctx context.Context, host, binary string) error
}

// RegistryOptions configure a Registry.
type RegistryOptions struct {
	// ServiceDownTime is how long a service may stay silent and still be
	// up (service_down_time).
	ServiceDownTime time.Duration
	// ComputeZone is the zone of compute hosts (default_availability_zone);
	// InternalZone that of the other services.
	ComputeZone, InternalZone string
	Now                       func() time.Time
	// Store keeps the group; nil keeps it in memory only.
	Store ServiceStore
	// Log receives the store's failures; nil discards them.
	Log *slog.Logger
}

// storeTimeout bounds one write of the registry to its store.
const storeTimeout = 10 * time.Second

// NewRegistry returns an empty service group; Load fills it from its store.
func NewRegistry(o RegistryOptions) *Registry {
	if o.ServiceDownTime <= 0 {
		o.ServiceDownTime = 60 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return &Registry{downAfter: o.ServiceDownTime, computeZone: cmp.Or(o.ComputeZone, "nova"),
		internalZone: cmp.Or(o.InternalZone, "internal"), now: o.Now, store: o.Store,
		log: o.Log.With("component", "servicegroup"), services: map[serviceKey]*entry{}}
}

// zoneOfBinary is the default zone of a service.
func (r *Registry) zoneOfBinary(binary string) string {
	if binary == rpc.BinaryCompute {
		return r.computeZone
	}
	return r.internalZone
}

// Load reads the group from the store, as a controller does when it starts.
func (r *Registry) Load(ctx context.Context) error {
	if r.store == nil {
		return nil
	}
	rows, err := r.store.ListServices(ctx)
	if err != nil {
		return fmt.Errorf("load the service group: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.merge(rows)
	return nil
}

// Report records a heartbeat; the first one registers the service,
// enabled, and inserts it in the store.
func (r *Registry) Report(rep rpc.ServiceReport) {
	now := r.now().UTC()
	r.mu.Lock()
	k := serviceKey{rep.Host, rep.Binary}
	s, ok := r.services[k]
	if !ok {
		s = &entry{ServiceStatus: ServiceStatus{UUID: ServiceUUID(rep.Host, rep.Binary), Host: rep.Host,
			Binary: rep.Binary, Zone: r.zoneOfBinary(rep.Binary), CreatedAt: now}}
		if r.store == nil {
			r.nextID++
			s.ID = r.nextID
		} else {
			s.pending = true
		}
		r.add(k, s)
	}
	s.LastSeen = now
	s.Version = rep.Version
	s.ReportCount = rep.ReportCount
	// A new service's first heartbeat is written with its insert, its
	// node with the next sync.
	s.dirty = r.store != nil && (ok || rep.Node != nil)
	if rep.Node != nil {
		n := *rep.Node
		s.Node = &n
	}
	if rep.Binary == rpc.BinaryCompute {
		s.Instances = slices.Clone(rep.Instances)
	}
	r.mu.Unlock()
	if !ok && r.store != nil {
		ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
		defer cancel()
		if err := r.insert(ctx, k); err != nil {
			r.log.Warn("register service", "host", k.host, "binary", k.binary, "error", err)
		}
	}
}

// insert writes a pending service to the store and takes its id (and,
// when another controller registered it first, what is stored of it).
func (r *Registry) insert(ctx context.Context, k serviceKey) error {
	r.mu.Lock()
	s, ok := r.services[k]
	if !ok || !s.pending {
		r.mu.Unlock()
		return nil
	}
	row := StoredService{UUID: s.UUID, Host: s.Host, Binary: s.Binary, Topic: topicOf(s.Binary),
		ReportCount: s.ReportCount, Version: s.Version.String(), LastSeenUp: s.LastSeen, CreatedAt: s.CreatedAt}
	r.changes++
	r.mu.Unlock()
	got, created, err := r.store.CreateService(ctx, row)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.changes++
	if s, ok = r.services[k]; !ok {
		return nil
	}
	s.pending = false
	s.ID, s.UUID, s.CreatedAt = got.ID, got.UUID, got.CreatedAt
	if !created {
		s.Disabled, s.DisabledReason, s.ForcedDown = got.Disabled, got.DisabledReason, got.ForcedDown
	}
	return nil
}

// topicOf is the bus topic of a service binary, as nova records it.
func topicOf(binary string) string {
	switch binary {
	case rpc.BinaryCompute:
		return rpc.TopicCompute
	case rpc.BinaryConductor:
		return rpc.TopicConductor
	case rpc.BinaryScheduler:
		return rpc.TopicScheduler
	}
	return ""
}

// Run syncs the group with its store every interval until ctx ends, then
// writes the last heartbeats.
func (r *Registry) Run(ctx context.Context, interval time.Duration) {
	if r.store == nil || interval <= 0 {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
			if err := r.flush(fctx); err != nil {
				r.log.Warn("write heartbeats", "error", err)
			}
			cancel()
			return
		case <-t.C:
			if err := r.Sync(ctx); err != nil {
				r.log.Warn("sync the service group", "error", err)
			}
		}
	}
}

// Sync writes the heartbeats that arrived since the last sync (and the
// services whose insert failed), then reads the store back.
func (r *Registry) Sync(ctx context.Context) error {
	if r.store == nil {
		return nil
	}
	if err := r.flush(ctx); err != nil {
		return err
	}
	r.mu.RLock()
	before := r.changes
	r.mu.RUnlock()
	rows, err := r.store.ListServices(ctx)
	if err != nil {
		return fmt.Errorf("read the service group: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.changes == before {
		r.merge(rows)
	}
	return nil
}

// flush writes pending services and the heartbeats not written yet.
func (r *Registry) flush(ctx context.Context) error {
	r.mu.Lock()
	var pending []serviceKey
	var hbs []Heartbeat
	for k, s := range r.services {
		switch {
		case s.pending:
			pending = append(pending, k)
		case s.dirty:
			hb := Heartbeat{ID: s.ID, ReportCount: s.ReportCount, Version: s.Version.String(), LastSeenUp: s.LastSeen}
			if s.Node != nil && s.Node.ProviderUUID != "" {
				if b, err := json.Marshal(s.Node); err == nil && string(b) != s.nodeStored {
					hb.Node = StoredNode{UUID: s.Node.ProviderUUID, Hostname: s.Node.Node, Resources: string(b)}
					s.nodeStored = hb.Node.Resources
				}
			}
			hbs = append(hbs, hb)
			s.dirty = false
		}
	}
	r.mu.Unlock()
	var errs []error
	for _, k := range pending {
		if err := r.insert(ctx, k); err != nil {
			errs = append(errs, fmt.Errorf("register %s on %s: %w", k.binary, k.host, err))
		}
	}
	if err := r.store.RecordHeartbeats(ctx, hbs); err != nil {
		// Written again with the next sync.
		unwritten := make(map[int]bool, len(hbs))
		for _, h := range hbs {
			unwritten[h.ID] = true
		}
		r.mu.Lock()
		for _, s := range r.services {
			if unwritten[s.ID] {
				s.dirty, s.nodeStored = true, ""
			}
		}
		r.mu.Unlock()
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// merge takes the stored group into memory; the caller holds r.mu. The
// store decides ids and operators' settings and which services exist;
// the newer of the two heartbeats wins.
func (r *Registry) merge(rows []StoredService) {
	stored := make(map[serviceKey]bool, len(rows))
	for _, row := range rows {
		k := serviceKey{row.Host, row.Binary}
		stored[k] = true
		s, ok := r.services[k]
		if !ok {
			s = &entry{ServiceStatus: ServiceStatus{Host: row.Host, Binary: row.Binary, Zone: r.zoneOfBinary(row.Binary)}}
			r.add(k, s)
		}
		s.pending = false
		s.ID, s.UUID, s.CreatedAt = row.ID, row.UUID, row.CreatedAt
		s.Disabled, s.DisabledReason, s.ForcedDown = row.Disabled, row.DisabledReason, row.ForcedDown
		newer := row.LastSeenUp.After(s.LastSeen)
		if newer {
			s.LastSeen, s.ReportCount = row.LastSeenUp, row.ReportCount
			if v, err := rpc.ParseVersion(row.Version); err == nil {
				s.Version = v
			}
		}
		if res := row.Node.Resources; res != "" && (s.Node == nil || newer && res != s.nodeStored) {
			var n rpc.ComputeNode
			if err := json.Unmarshal([]byte(res), &n); err == nil {
				s.Node, s.nodeStored = &n, res
			} else {
				r.log.Warn("stored node is unreadable", "host", row.Host, "error", err)
			}
		}
	}
	for k, s := range r.services {
		if !stored[k] && !s.pending {
			r.drop(k)
		}
	}
}

// serviceNamespace is the name space of service UUIDs.
var serviceNamespace = uuid.MustParse("2f5a3c0e-8d1b-4c7e-9a64-6b0d3e5f7a21")

// ServiceUUID is the UUID of the service binary on host.
func ServiceUUID(host, binary string) string {
	return uuid.NewSHA1(serviceNamespace, []byte(host+"\x00"+binary)).String()
}

// up is the verdict on s now; the caller holds r.mu.
func (r *Registry) up(s *entry, now time.Time) bool {
	return !s.ForcedDown && now.Sub(s.LastSeen) <= r.downAfter
}

func (r *Registry) view(s *entry, now time.Time) ServiceStatus {
	v := s.ServiceStatus
	v.Up = r.up(s, now)
	if s.Node != nil {
		n := *s.Node
		v.Node = &n
	}
	v.Instances = slices.Clone(s.Instances)
	return v
}

// add records a new service under k; the caller holds r.mu.
func (r *Registry) add(k serviceKey, s *entry) {
	r.services[k] = s
	i, _ := slices.BinarySearchFunc(r.order, k, byKey)
	r.order = slices.Insert(r.order, i, s)
}

// drop forgets the service under k; the caller holds r.mu.
func (r *Registry) drop(k serviceKey) {
	delete(r.services, k)
	if i, found := slices.BinarySearchFunc(r.order, k, byKey); found {
		r.order = slices.Delete(r.order, i, i+1)
	}
}

// byKey orders records by host, then binary.
func byKey(s *entry, k serviceKey) int {
	return cmp.Or(cmp.Compare(s.Host, k.host), cmp.Compare(s.Binary, k.binary))
}

// Services lists every service, by host then binary.
func (r *Registry) Services() []ServiceStatus {
	now := r.now().UTC()
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]ServiceStatus, len(r.order))
	for i, s := range r.order {
		out[i] = r.view(s, now)
	}
	return out
}

// EachCompute calls fn with each compute service, by host, and its
// liveness now, under the registry's read lock, copying nothing: fn must
// neither change s nor keep it nor call the registry. It may keep s.Node
// and s.Instances, which the registry replaces on a heartbeat and never
// changes in place.
func (r *Registry) EachCompute(fn func(s *ServiceStatus, up bool)) {
	now := r.now().UTC()
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, s := range r.order {
		if s.Binary == rpc.BinaryCompute {
			fn(&s.ServiceStatus, r.up(s, now))
		}
	}
}

// Computes lists the compute services, by host.
func (r *Registry) Computes() []ServiceStatus {
	all := r.Services()
	return slices.DeleteFunc(all, func(s ServiceStatus) bool { return s.Binary != rpc.BinaryCompute })
}

// Compute returns the compute service of a host.
func (r *Registry) Compute(host string) (ServiceStatus, bool) {
	now := r.now().UTC()
	r.mu.RLock()
	defer r.mu.RUnlock()
	s, ok := r.services[serviceKey{host, rpc.BinaryCompute}]
	if !ok {
		return ServiceStatus{}, false
	}
	return r.view(s, now), true
}

// HostUp tells whether a host's compute service is known and up.
func (r *Registry) HostUp(host string) bool {
	s, ok := r.Compute(host)
	return ok && s.Up
}

// SetZoneOf makes zoneOf decide compute hosts' zones: the zone of the
// host's aggregates, or "" to keep the default compute zone.
func (r *Registry) SetZoneOf(zoneOf func(host string) string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.zoneOf = zoneOf
}

// ComputeZone is the zone of a compute host ("" when unknown): its
// aggregates' zone when it has one, else the default compute zone.
func (r *Registry) ComputeZone(host string) string {
	s, ok := r.Compute(host)
	if !ok {
		return ""
	}
	r.mu.RLock()
	zoneOf := r.zoneOf
	r.mu.RUnlock()
	if zoneOf != nil {
		if z := zoneOf(host); z != "" {
			return z
		}
	}
	return s.Zone
}

// ProviderHost finds the compute host (and node) whose resource provider
// is uuid.
func (r *Registry) ProviderHost(uuid string) (host, node string, ok bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, s := range r.services {
		if s.Node != nil && s.Node.ProviderUUID == uuid {
			return s.Host, s.Node.Node, true
		}
	}
	return "", "", false
}

// SetDisabled enables or disables a service (os-services), in the store
// first; an unknown service is ErrServiceNotFound.
func (r *Registry) SetDisabled(ctx context.Context, host, binary string, disabled bool, reason string) error {
	if !disabled {
		reason = ""
	}
	return r.change(ctx, host, binary, func(st ServiceStore, at time.Time) error {
		return st.SetServiceDisabled(ctx, host, binary, disabled, reason, at)
	}, func(s *entry) {
		s.Disabled, s.DisabledReason = disabled, reason
	})
}

// SetForcedDown marks a service down whatever its heartbeats say, as an
// operator who knows the host is dead does; an unknown service is
// ErrServiceNotFound.
func (r *Registry) SetForcedDown(ctx context.Context, host, binary string, down bool) error {
	return r.change(ctx, host, binary, func(st ServiceStore, at time.Time) error {
		return st.SetServiceForcedDown(ctx, host, binary, down, at)
	}, func(s *entry) { s.ForcedDown = down })
}

// Remove forgets a service (os-services delete), in the store first; a
// live one registers again with its next heartbeat.
func (r *Registry) Remove(ctx context.Context, host, binary string) error {
	k := serviceKey{host, binary}
	return r.change(ctx, host, binary, func(st ServiceStore, _ time.Time) error {
		return st.DeleteService(ctx, host, binary)
	}, func(*entry) { r.drop(k) })
}

// change applies an operator's change to a known service: write to the
// store, then apply to memory.
func (r *Registry) change(ctx context.Context, host, binary string, write func(ServiceStore, time.Time) error, apply func(*entry)) error {
	k := serviceKey{host, binary}
	r.mu.Lock()
	_, ok := r.services[k]
	r.changes++
	r.mu.Unlock()
	if !ok {
		return fmt.Errorf("%s on %s: %w", binary, host, ErrServiceNotFound)
	}
	if r.store != nil {
		if err := write(r.store, r.now().UTC()); err != nil {
			return err
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.changes++
	if s, ok := r.services[k]; ok {
		apply(s)
	}
	return nil
}
