package placementsql_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/auth"
	"github.com/nimbus-cloud/nimbus/internal/db"
	"github.com/nimbus-cloud/nimbus/internal/db/dbtest"
	"github.com/nimbus-cloud/nimbus/internal/placement"
	"github.com/nimbus-cloud/nimbus/internal/placement/placementsql"
)

// env is a placement service on a fresh database of one engine.
type env struct {
	t   *testing.T
	ctx context.Context
	svc *placement.Service
	d   *db.DB
}

// forEachEngine runs fn on a migrated, synced placement database of every
// engine the machine has.
func forEachEngine(t *testing.T, fn func(t *testing.T, e *env)) {
	t.Helper()
	ms, err := placementsql.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	dbtest.ForEachEngine(t, placementsql.ServiceName, ms, func(t *testing.T, d *db.DB) {
		var ticks atomic.Int64
		start := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
		svc := placement.New(placement.Config{}, placement.Deps{Store: placementsql.New(d), Now: func() time.Time {
			return start.Add(time.Duration(ticks.Add(1)) * time.Millisecond)
		}})
		ctx := auth.WithCaller(context.Background(), &auth.Caller{UserID: "u1", ProjectID: "p1",
			Roles: []auth.Role{{Name: "admin"}}})
		dbtest.Must(t, svc.Sync(ctx))
		fn(t, &env{t: t, ctx: ctx, svc: svc, d: d})
	})
}

// uuid makes a readable, valid uuid from a number.
func uuid(n int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", n) }

// provider creates a provider, under parent when not "", with inventory of
// each class (ratio 1), and returns it at its latest generation.
func (e *env) provider(name, parent string, inv map[string]int64) placement.Provider {
	e.t.Helper()
	p, err := e.svc.CreateProvider(e.ctx, placement.NewProvider{Name: name, ParentUUID: parent})
	dbtest.Must(e.t, err)
	if len(inv) == 0 {
		return p
	}
	var invs []placement.Inventory
	for class, total := range inv {
		invs = append(invs, placement.DefaultInventory(class, total))
	}
	p, _, err = e.svc.SetInventories(e.ctx, p.UUID, p.Generation, invs, placement.InventoryOptions{})
	dbtest.Must(e.t, err)
	return p
}

// claim writes one consumer's allocations at 1.28 semantics.
func (e *env) claim(consumer string, gen *int64, allocs map[string]map[string]int64) error {
	return e.svc.SetConsumerAllocations(e.ctx, placement.ConsumerWrite{ConsumerUUID: consumer, ProjectID: "proj",
		UserID: "user", Generation: gen, Allocations: allocs}, placement.AllocationOptions{CheckGeneration: true})
}

// usage returns a provider's usage of a class.
func (e *env) usage(uuid, class string) int64 {
	e.t.Helper()
	_, us, err := e.svc.ProviderUsages(e.ctx, uuid)
	dbtest.Must(e.t, err)
	for _, u := range us {
		if u.ResourceClass == class {
			return u.Used
		}
	}
	return 0
}

// checkUsedColumn fails unless every inventory's used equals the sum of its
// allocations: the invariant the store keeps in every allocation write.
func (e *env) checkUsedColumn() {
	e.t.Helper()
	rows, err := e.d.QueryContext(e.ctx, `SELECT i.resource_provider_id, i.resource_class_id, i.used,
		COALESCE((SELECT SUM(a.used) FROM allocations a WHERE a.resource_provider_id = i.resource_provider_id
		AND a.resource_class_id = i.resource_class_id), 0) FROM inventories i`)
	dbtest.Must(e.t, err)
	defer rows.Close()
	for rows.Next() {
		var rp, rc, used, sum int64
		dbtest.Must(e.t, rows.Scan(&rp, &rc, &used, &sum))
		if used != sum {
			e.t.Errorf("inventory %d/%d: used %d, allocations sum to %d", rp, rc, used, sum)
		}
	}
	dbtest.Must(e.t, rows.Err())
}

// wantErr checks err's kind and, when code is not "", its placement code;
// msg, when not "", must appear in the message.
func wantErr(t *testing.T, err error, kind error, code, msg string) {
	t.Helper()
	var pe *placement.Error
	switch {
	case !errors.Is(err, kind):
		t.Errorf("error %v, want kind %v", err, kind)
	case !errors.As(err, &pe):
		t.Errorf("error %v is not a *placement.Error", err)
	case code != "" && pe.Code != code:
		t.Errorf("error %q has code %q, want %q", pe.Message, pe.Code, code)
	case msg != "" && !strings.Contains(pe.Message, msg):
		t.Errorf("error %q does not mention %q", pe.Message, msg)
	}
}

func gen(n int64) *int64 { return &n }
