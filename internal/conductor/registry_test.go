package conductor

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/nimbus-cloud/nimbus/internal/rpc"
)

func TestRegistryOperatorState(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	r := NewRegistry(RegistryOptions{ServiceDownTime: time.Minute, Now: func() time.Time { return now }})
	r.Report(rpc.ServiceReport{Host: "c1", Binary: rpc.BinaryCompute, Node: &rpc.ComputeNode{Node: "c1", ProviderUUID: "rp"}})
	r.Report(rpc.ServiceReport{Host: "ctl", Binary: rpc.BinaryScheduler})

	s, ok := r.Compute("c1")
	if !ok || !s.Up || s.Disabled || s.Zone != "nova" || s.ID != 1 {
		t.Fatalf("compute %+v", s)
	}
	if uuid.Validate(s.UUID) != nil || s.UUID != ServiceUUID("c1", rpc.BinaryCompute) {
		t.Errorf("uuid %q, want the stable one of host and binary", s.UUID)
	}
	if ServiceUUID("c1", rpc.BinaryCompute) == ServiceUUID("c1", rpc.BinaryScheduler) {
		t.Error("two services of a host share a uuid")
	}

	ctx := context.Background()
	if err := r.SetDisabled(ctx, "c1", rpc.BinaryCompute, true, "maintenance"); err != nil {
		t.Fatalf("SetDisabled of a known service: %v", err)
	}
	if s, _ := r.Compute("c1"); !s.Disabled || s.DisabledReason != "maintenance" {
		t.Errorf("disabled %+v", s)
	}
	_ = r.SetDisabled(ctx, "c1", rpc.BinaryCompute, false, "ignored")
	if s, _ := r.Compute("c1"); s.Disabled || s.DisabledReason != "" {
		t.Errorf("enabled %+v", s)
	}

	_ = r.SetForcedDown(ctx, "c1", rpc.BinaryCompute, true)
	if r.HostUp("c1") {
		t.Error("a forced down host is up")
	}
	r.Report(rpc.ServiceReport{Host: "c1", Binary: rpc.BinaryCompute})
	if r.HostUp("c1") {
		t.Error("a heartbeat brought a forced down host up")
	}
	_ = r.SetForcedDown(ctx, "c1", rpc.BinaryCompute, false)
	if !r.HostUp("c1") {
		t.Error("a host is down after forced_down was cleared")
	}
	now = now.Add(2 * time.Minute)
	if r.HostUp("c1") {
		t.Error("a silent host is up")
	}

	for _, f := range []func() error{
		func() error { return r.SetDisabled(ctx, "c9", rpc.BinaryCompute, true, "") },
		func() error { return r.SetForcedDown(ctx, "c9", rpc.BinaryCompute, true) },
		func() error { return r.Remove(ctx, "c9", rpc.BinaryCompute) },
	} {
		if err := f(); !errors.Is(err, ErrServiceNotFound) {
			t.Errorf("change of an unknown service: %v, want ErrServiceNotFound", err)
		}
	}
	if err := r.Remove(ctx, "ctl", rpc.BinaryScheduler); err != nil || len(r.Services()) != 1 {
		t.Errorf("remove: %+v", r.Services())
	}
	r.Report(rpc.ServiceReport{Host: "ctl", Binary: rpc.BinaryScheduler})
	if ss := r.Services(); len(ss) != 2 || ss[1].ID != 3 || ss[1].UUID != ServiceUUID("ctl", rpc.BinaryScheduler) {
		t.Errorf("re-registered %+v", ss)
	}
}

// memStore is a ServiceStore in memory, shared by the registries of
// several controllers; fail makes every call fail.
type memStore struct {
	mu     sync.Mutex
	rows   map[serviceKey]StoredService
	nextID int
	fail   error
	// writes counts heartbeat batches; beats the heartbeats in them, nodes
	// the nodes.
	writes, beats, nodes int
}

func newMemStore() *memStore { return &memStore{rows: map[serviceKey]StoredService{}} }

func (m *memStore) ListServices(context.Context) ([]StoredService, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return nil, m.fail
	}
	var out []StoredService
	for _, r := range m.rows {
		out = append(out, r)
	}
	return out, nil
}

func (m *memStore) CreateService(_ context.Context, s StoredService) (StoredService, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return StoredService{}, false, m.fail
	}
	k := serviceKey{s.Host, s.Binary}
	if r, ok := m.rows[k]; ok {
		return r, false, nil
	}
	m.nextID++
	s.ID = m.nextID
	m.rows[k] = s
	return s, true, nil
}

func (m *memStore) update(host, binary string, f func(*StoredService)) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	r, ok := m.rows[serviceKey{host, binary}]
	if !ok {
		return ErrServiceNotFound
	}
	f(&r)
	m.rows[serviceKey{host, binary}] = r
	return nil
}

func (m *memStore) SetServiceDisabled(_ context.Context, host, binary string, disabled bool, reason string, _ time.Time) error {
	return m.update(host, binary, func(r *StoredService) { r.Disabled, r.DisabledReason = disabled, reason })
}

func (m *memStore) SetServiceForcedDown(_ context.Context, host, binary string, down bool, _ time.Time) error {
	return m.update(host, binary, func(r *StoredService) { r.ForcedDown = down })
}

func (m *memStore) RecordHeartbeats(_ context.Context, hbs []Heartbeat) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	m.writes++
	m.beats += len(hbs)
	for _, h := range hbs {
		for k, r := range m.rows {
			if r.ID == h.ID && h.LastSeenUp.After(r.LastSeenUp) {
				r.LastSeenUp, r.ReportCount, r.Version = h.LastSeenUp, h.ReportCount, h.Version
				if h.Node.UUID != "" {
					m.nodes++
					r.Node = h.Node
				}
				m.rows[k] = r
			}
		}
	}
	return nil
}

func (m *memStore) DeleteService(_ context.Context, host, binary string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	if _, ok := m.rows[serviceKey{host, binary}]; !ok {
		return ErrServiceNotFound
	}
	delete(m.rows, serviceKey{host, binary})
	return nil
}

func (m *memStore) row(host, binary string) (StoredService, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.rows[serviceKey{host, binary}]
	return r, ok
}

// clock is a settable time source.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func storedRegistry(st ServiceStore, c *clock) *Registry {
	return NewRegistry(RegistryOptions{ServiceDownTime: time.Minute, Now: c.Now, Store: st})
}

func TestRegistryWritesThrough(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := newMemStore()
	c := &clock{now: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)}
	r := storedRegistry(st, c)

	r.Report(rpc.ServiceReport{Host: "c1", Binary: rpc.BinaryCompute, Version: rpc.V(6, 1), ReportCount: 1,
		Node: &rpc.ComputeNode{Node: "c1", ProviderUUID: "rp"}})
	row, ok := st.row("c1", rpc.BinaryCompute)
	if !ok || row.ID == 0 || row.UUID != ServiceUUID("c1", rpc.BinaryCompute) || row.Topic != rpc.TopicCompute ||
		row.Version != "6.1" || !row.LastSeenUp.Equal(c.Now()) {
		t.Fatalf("first heartbeat stored %+v (%v)", row, ok)
	}
	if s, _ := r.Compute("c1"); s.ID != row.ID {
		t.Errorf("registry id %d, stored id %d", s.ID, row.ID)
	}

	// Heartbeats stay in memory until the sync writes them in one batch.
	c.Add(10 * time.Second)
	r.Report(rpc.ServiceReport{Host: "c1", Binary: rpc.BinaryCompute, Version: rpc.V(6, 1), ReportCount: 2})
	r.Report(rpc.ServiceReport{Host: "ctl", Binary: rpc.BinaryScheduler, Version: rpc.V(1, 0), ReportCount: 1})
	c.Add(10 * time.Second)
	r.Report(rpc.ServiceReport{Host: "c1", Binary: rpc.BinaryCompute, Version: rpc.V(6, 1), ReportCount: 3})
	if row, _ := st.row("c1", rpc.BinaryCompute); row.ReportCount != 1 || st.writes != 0 {
		t.Errorf("heartbeats written before the sync: %+v, %d writes", row, st.writes)
	}
	if err := r.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if row, _ := st.row("c1", rpc.BinaryCompute); row.ReportCount != 3 || !row.LastSeenUp.Equal(c.Now()) || st.writes != 1 ||
		row.Node.UUID != "rp" || row.Node.Hostname != "c1" {
		t.Errorf("after sync %+v, %d writes", row, st.writes)
	}
	// A node is written again only when it changes.
	c.Add(time.Second)
	r.Report(rpc.ServiceReport{Host: "c1", Binary: rpc.BinaryCompute, Version: rpc.V(6, 1), ReportCount: 3,
		Node: &rpc.ComputeNode{Node: "c1", ProviderUUID: "rp"}})
	if err := r.Sync(ctx); err != nil || st.nodes != 1 {
		t.Errorf("an unchanged node was written again: %v, %d node writes", err, st.nodes)
	}
	c.Add(time.Second)
	r.Report(rpc.ServiceReport{Host: "c1", Binary: rpc.BinaryCompute, Version: rpc.V(6, 1), ReportCount: 3,
		Node: &rpc.ComputeNode{Node: "c1", ProviderUUID: "rp", VCPUs: 8}})
	if err := r.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	// The scheduler's first heartbeat was its insert: nothing new to write.
	if st.beats != 3 || st.nodes != 2 {
		t.Errorf("%d heartbeats and %d nodes written, want c1's 3 and 2", st.beats, st.nodes)
	}
	if err := r.Sync(ctx); err != nil || st.beats != 3 {
		t.Errorf("a sync without heartbeats wrote some: %v, %d", err, st.beats)
	}

	// Operators' changes are written at once.
	if err := r.SetDisabled(ctx, "c1", rpc.BinaryCompute, true, "maintenance"); err != nil {
		t.Fatal(err)
	}
	if err := r.SetForcedDown(ctx, "c1", rpc.BinaryCompute, true); err != nil {
		t.Fatal(err)
	}
	if row, _ := st.row("c1", rpc.BinaryCompute); !row.Disabled || row.DisabledReason != "maintenance" || !row.ForcedDown {
		t.Errorf("operator changes not stored: %+v", row)
	}

	// A restarted controller has the same ids and settings, and judges
	// liveness from the stored heartbeats before any arrives.
	r2 := storedRegistry(st, c)
	if err := r2.Load(ctx); err != nil {
		t.Fatal(err)
	}
	s, ok := r2.Compute("c1")
	if !ok || s.ID != row.ID || !s.Disabled || s.DisabledReason != "maintenance" || !s.ForcedDown || s.Up ||
		s.ReportCount != 3 || s.Version != rpc.V(6, 1) || s.Zone != "nova" || s.Node == nil || s.Node.VCPUs != 8 ||
		s.Node.ProviderUUID != "rp" {
		t.Errorf("after restart %+v", s)
	}
	if host, _, ok := r2.ProviderHost("rp"); !ok || host != "c1" {
		t.Errorf("provider rp is of %q after restart; want c1", host)
	}
	if err := r2.SetForcedDown(ctx, "c1", rpc.BinaryCompute, false); err != nil {
		t.Fatal(err)
	}
	if !r2.HostUp("c1") {
		t.Error("a host heard from 0s ago is down after restart")
	}
	c.Add(2 * time.Minute)
	if r2.HostUp("c1") {
		t.Error("a host silent for 2m is up after restart")
	}

	// Deletes leave the store.
	if err := r2.Remove(ctx, "ctl", rpc.BinaryScheduler); err != nil {
		t.Fatal(err)
	}
	if _, ok := st.row("ctl", rpc.BinaryScheduler); ok {
		t.Error("a removed service is still stored")
	}
}

func TestRegistryControllersAgree(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := newMemStore()
	c := &clock{now: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)}
	a, b := storedRegistry(st, c), storedRegistry(st, c)

	// c1's heartbeats reach controller a, c2's controller b.
	a.Report(rpc.ServiceReport{Host: "c1", Binary: rpc.BinaryCompute})
	b.Report(rpc.ServiceReport{Host: "c2", Binary: rpc.BinaryCompute})
	// A host that moves to b registers once.
	b.Report(rpc.ServiceReport{Host: "c1", Binary: rpc.BinaryCompute})
	for _, r := range []*Registry{a, b} {
		if err := r.Sync(ctx); err != nil {
			t.Fatal(err)
		}
	}
	ida, _ := a.Compute("c1")
	idb, _ := b.Compute("c1")
	if len(a.Computes()) != 2 || len(b.Computes()) != 2 || ida.ID != idb.ID {
		t.Fatalf("a %+v, b %+v", a.Computes(), b.Computes())
	}

	// b hears c2 on; a hears nothing but sees c2 up from the store.
	c.Add(50 * time.Second)
	b.Report(rpc.ServiceReport{Host: "c2", Binary: rpc.BinaryCompute})
	if err := b.SetDisabled(ctx, "c1", rpc.BinaryCompute, true, "disk"); err != nil {
		t.Fatal(err)
	}
	if err := b.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	c.Add(20 * time.Second)
	for name, r := range map[string]*Registry{"a": a, "b": b} {
		if !r.HostUp("c2") || r.HostUp("c1") {
			t.Errorf("%s: c2 up %v, c1 up %v; want c2 up, c1 down", name, r.HostUp("c2"), r.HostUp("c1"))
		}
		if s, _ := r.Compute("c1"); !s.Disabled || s.DisabledReason != "disk" {
			t.Errorf("%s: c1 %+v, want disabled for disk", name, s)
		}
	}

	// A delete on a reaches b with its next sync.
	if err := a.Remove(ctx, "c1", rpc.BinaryCompute); err != nil {
		t.Fatal(err)
	}
	if err := b.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := b.Compute("c1"); ok {
		t.Error("b still has c1 after a deleted it")
	}
	// A change to a service another controller deleted is not found.
	a.Report(rpc.ServiceReport{Host: "c3", Binary: rpc.BinaryCompute})
	if err := b.Remove(ctx, "c2", rpc.BinaryCompute); err != nil {
		t.Fatal(err)
	}
	if err := a.SetDisabled(ctx, "c2", rpc.BinaryCompute, true, ""); !errors.Is(err, ErrServiceNotFound) {
		t.Errorf("disable of a service deleted elsewhere: %v", err)
	}
}

func TestRegistryStoreOutage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := newMemStore()
	c := &clock{now: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)}
	r := storedRegistry(st, c)
	st.fail = errors.New("database is down")

	// A service heard from while the store is down is served from memory
	// and stored once the store is back.
	r.Report(rpc.ServiceReport{Host: "c1", Binary: rpc.BinaryCompute, ReportCount: 4})
	if !r.HostUp("c1") {
		t.Error("c1 is not up while the store is down")
	}
	if err := r.SetDisabled(ctx, "c1", rpc.BinaryCompute, true, ""); err == nil {
		t.Error("an operator's change succeeded without the store")
	}
	if s, _ := r.Compute("c1"); s.Disabled {
		t.Error("an unstored change shows")
	}
	if err := r.Sync(ctx); err == nil {
		t.Error("sync succeeded without the store")
	}
	st.fail = nil
	if err := r.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	row, ok := st.row("c1", rpc.BinaryCompute)
	if s, _ := r.Compute("c1"); !ok || s.ID == 0 || s.ID != row.ID || row.ReportCount != 4 {
		t.Errorf("after the outage: registry %+v, store %+v", s, row)
	}
}
