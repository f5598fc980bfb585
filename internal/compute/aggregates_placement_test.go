package compute_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/compute"
)

// placementAggregates records the membership changes mirrored to it and
// fails them while err is set.
type placementAggregates struct {
	mu    sync.Mutex
	calls []string
	err   error
}

func (p *placementAggregates) record(op, agg, host string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, op+" "+agg+" "+host)
	return p.err
}

func (p *placementAggregates) AggregateAddHost(ctx context.Context, agg, host string) error {
	return p.record("add", agg, host)
}

func (p *placementAggregates) AggregateRemoveHost(ctx context.Context, agg, host string) error {
	return p.record("remove", agg, host)
}

func (p *placementAggregates) took() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.calls
	p.calls = nil
	return out
}

// Adding a host to an aggregate and removing it are mirrored into
// placement under the aggregate's uuid; refused changes are not, and a
// placement failure is logged without failing the call, as in nova.
func TestAggregateMembershipMirroredToPlacement(t *testing.T) {
	t.Parallel()
	pa := &placementAggregates{}
	var logs bytes.Buffer
	svc := newService(t, func(_ *compute.Config, d *compute.Deps) {
		d.Services = directory{{Host: "h1", Binary: "nova-compute"}, {Host: "h2", Binary: "nova-compute"}}
		d.PlacementAggregates = pa
		d.Log = slog.New(slog.NewTextHandler(&logs, nil))
	})
	zone := "az1"
	a := must(svc.CreateAggregate(admin, "rack1", &zone))(t)
	id := strconv.FormatInt(a.ID, 10)

	must(svc.AddAggregateHost(admin, id, "h1"))(t)
	if got, want := pa.took(), []string{"add " + a.UUID + " h1"}; !slices.Equal(got, want) {
		t.Fatalf("add h1 mirrored %q; want %q", got, want)
	}
	_, err := svc.AddAggregateHost(admin, id, "h1")
	wantErr(t, err, compute.ErrConflict, "already has host h1")
	_, err = svc.AddAggregateHost(admin, id, "nowhere")
	wantErr(t, err, compute.ErrNotFound, "nowhere")
	_, err = svc.RemoveAggregateHost(admin, id, "h2")
	wantErr(t, err, compute.ErrNotFound, "has no host h2")
	_, err = svc.AddAggregateHost(alice, id, "h2")
	if !errors.Is(err, compute.ErrForbidden) {
		t.Fatalf("member adds a host: %v; want forbidden", err)
	}
	if got := pa.took(); len(got) != 0 {
		t.Fatalf("refused changes mirrored: %q", got)
	}

	pa.err = errors.New("placement unreachable")
	got := must(svc.AddAggregateHost(admin, id, "h2"))(t)
	if !slices.Equal(got.Hosts, []string{"h1", "h2"}) {
		t.Errorf("hosts %v after a placement failure; want h1 and h2", got.Hosts)
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "placement unreachable") ||
		!strings.Contains(logs.String(), "aggregate_uuid="+a.UUID) || !strings.Contains(logs.String(), "host=h2") {
		t.Errorf("placement failure logged as %q", logs.String())
	}
	pa.took()
	pa.err = nil

	got = must(svc.RemoveAggregateHost(admin, id, "h1"))(t)
	if !slices.Equal(got.Hosts, []string{"h2"}) {
		t.Errorf("hosts %v; want h2", got.Hosts)
	}
	if got, want := pa.took(), []string{"remove " + a.UUID + " h1"}; !slices.Equal(got, want) {
		t.Fatalf("remove h1 mirrored %q; want %q", got, want)
	}
}

// The aggregates' version moves with every change of an aggregate's hosts
// or metadata, and with nothing else, so that the scheduler may keep the
// aggregates while it stands.
func TestAggregatesVersionMovesWithChanges(t *testing.T) {
	t.Parallel()
	svc := newService(t, func(_ *compute.Config, d *compute.Deps) {
		d.Services = directory{{Host: "h1", Binary: "nova-compute"}}
	})
	v := svc.AggregatesVersion()
	moved := func(what string, want bool) {
		t.Helper()
		now := svc.AggregatesVersion()
		if (now != v) != want {
			t.Errorf("%s: version %d after %d; moved %v, want %v", what, now, v, now != v, want)
		}
		v = now
	}
	a := must(svc.CreateAggregate(admin, "rack1", nil))(t)
	id := strconv.FormatInt(a.ID, 10)
	moved("create an empty aggregate", false)
	must(svc.AddAggregateHost(admin, id, "h1"))(t)
	moved("add a host", true)
	if _, err := svc.AddAggregateHost(admin, id, "h1"); err == nil {
		t.Fatal("added h1 twice")
	}
	moved("a refused change", false)
	ssd := "true"
	must(svc.SetAggregateMetadata(admin, id, map[string]*string{"ssd": &ssd}))(t)
	moved("set metadata", true)
	zone := "az1"
	must(svc.UpdateAggregate(admin, id, compute.AggregateUpdate{Zone: &zone}))(t)
	moved("set the zone", true)
	must(svc.Aggregates(admin))(t)
	moved("list aggregates", false)
	must(svc.RemoveAggregateHost(admin, id, "h1"))(t)
	moved("remove a host", true)
}
