package conductor

import (
	"cmp"
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
// It lives in the memory of the controller process that runs the conductor:
// agents report every report_interval, so a restarted controller knows every
// live host again within one interval. What operators set on a service
// (disabled, forced down) is kept for as long as the process runs.
type Registry struct {
	downAfter    time.Duration
	computeZone  string
	internalZone string
	now          func() time.Time

	mu       sync.RWMutex
	services map[serviceKey]*ServiceStatus
	// order holds the records by host then binary. It changes only when a
	// service registers or is removed, so that listing thousands of hosts
	// sorts nothing.
	order []*ServiceStatus
	// zoneOf, when set, names the zone a compute host's aggregates put it
	// in ("" for none).
	zoneOf func(host string) string
	nextID int
}

type serviceKey struct{ host, binary string }

// ServiceStatus is one service as the registry knows it.
type ServiceStatus struct {
	// ID is nova's service id: small, stable while the process runs.
	ID int
	// UUID is the service's id from compute microversion 2.53. It derives
	// from host and binary, so it stays the same across controller restarts
	// although the registry is rebuilt from heartbeats.
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
	// LastSeen is when the last heartbeat arrived.
	LastSeen time.Time
	// Up is the liveness verdict at the time of reading.
	Up bool
	// Node and Instances are a compute host's, as last reported.
	Node      *rpc.ComputeNode
	Instances []string
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
}

// NewRegistry returns an empty service group.
func NewRegistry(o RegistryOptions) *Registry {
	if o.ServiceDownTime <= 0 {
		o.ServiceDownTime = 60 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Registry{downAfter: o.ServiceDownTime, computeZone: cmp.Or(o.ComputeZone, "nova"),
		internalZone: cmp.Or(o.InternalZone, "internal"), now: o.Now, services: map[serviceKey]*ServiceStatus{}}
}

// Report records a heartbeat; the first one registers the service, enabled.
func (r *Registry) Report(rep rpc.ServiceReport) {
	now := r.now().UTC()
	r.mu.Lock()
	defer r.mu.Unlock()
	k := serviceKey{rep.Host, rep.Binary}
	s, ok := r.services[k]
	if !ok {
		r.nextID++
		zone := r.internalZone
		if rep.Binary == rpc.BinaryCompute {
			zone = r.computeZone
		}
		s = &ServiceStatus{ID: r.nextID, UUID: ServiceUUID(rep.Host, rep.Binary), Host: rep.Host,
			Binary: rep.Binary, Zone: zone, CreatedAt: now}
		r.services[k] = s
		i, _ := slices.BinarySearchFunc(r.order, k, byKey)
		r.order = slices.Insert(r.order, i, s)
	}
	s.LastSeen = now
	s.Version = rep.Version
	s.ReportCount = rep.ReportCount
	if rep.Node != nil {
		n := *rep.Node
		s.Node = &n
	}
	if rep.Binary == rpc.BinaryCompute {
		s.Instances = slices.Clone(rep.Instances)
	}
}

// serviceNamespace is the name space of service UUIDs.
var serviceNamespace = uuid.MustParse("2f5a3c0e-8d1b-4c7e-9a64-6b0d3e5f7a21")

// ServiceUUID is the UUID of the service binary on host.
func ServiceUUID(host, binary string) string {
	return uuid.NewSHA1(serviceNamespace, []byte(host+"\x00"+binary)).String()
}

// up is the verdict on s now; the caller holds r.mu.
func (r *Registry) up(s *ServiceStatus, now time.Time) bool {
	return !s.ForcedDown && now.Sub(s.LastSeen) <= r.downAfter
}

func (r *Registry) view(s *ServiceStatus, now time.Time) ServiceStatus {
	v := *s
	v.Up = r.up(s, now)
	if s.Node != nil {
		n := *s.Node
		v.Node = &n
	}
	v.Instances = slices.Clone(s.Instances)
	return v
}

// byKey orders records by host, then binary.
func byKey(s *ServiceStatus, k serviceKey) int {
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
			fn(s, r.up(s, now))
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

// SetDisabled enables or disables a service (os-services); it reports
// whether the service exists.
func (r *Registry) SetDisabled(host, binary string, disabled bool, reason string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.services[serviceKey{host, binary}]
	if !ok {
		return false
	}
	s.Disabled = disabled
	s.DisabledReason = ""
	if disabled {
		s.DisabledReason = reason
	}
	return true
}

// SetForcedDown marks a service down whatever its heartbeats say, as an
// operator who knows the host is dead does; it reports whether the service
// exists.
func (r *Registry) SetForcedDown(host, binary string, down bool) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.services[serviceKey{host, binary}]
	if !ok {
		return false
	}
	s.ForcedDown = down
	return true
}

// Remove forgets a service (os-services delete); a live one registers
// again with its next heartbeat.
func (r *Registry) Remove(host, binary string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := serviceKey{host, binary}
	_, ok := r.services[k]
	delete(r.services, k)
	if i, found := slices.BinarySearchFunc(r.order, k, byKey); found {
		r.order = slices.Delete(r.order, i, i+1)
	}
	return ok
}
