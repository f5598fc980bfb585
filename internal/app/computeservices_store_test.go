package app

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/compute/computesql"
	"github.com/nimbus-cloud/nimbus/internal/conductor"
	"github.com/nimbus-cloud/nimbus/internal/db"
	"github.com/nimbus-cloud/nimbus/internal/db/dbtest"
	"github.com/nimbus-cloud/nimbus/internal/rpc"
)

// Two controllers' service groups on one compute database agree on ids,
// operators' settings, liveness, nodes and deletes.
func TestServiceGroupOnSQL(t *testing.T) {
	t.Parallel()
	ms, err := computesql.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	dbtest.ForEachEngine(t, computesql.ServiceName, ms, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
		clock := func() time.Time { return now }
		group := func() *conductor.Registry {
			return conductor.NewRegistry(conductor.RegistryOptions{ServiceDownTime: time.Minute, Now: clock,
				Store: serviceStore{computesql.New(d)}})
		}
		a, b := group(), group()
		sync := func() {
			t.Helper()
			for _, r := range []*conductor.Registry{a, b} {
				if err := r.Sync(ctx); err != nil {
					t.Fatal(err)
				}
			}
		}

		a.Report(rpc.ServiceReport{Host: "c1", Binary: rpc.BinaryCompute, Version: rpc.V(6, 1),
			Node: &rpc.ComputeNode{Node: "c1", ProviderUUID: "rp-c1", VCPUs: 4}})
		b.Report(rpc.ServiceReport{Host: "c2", Binary: rpc.BinaryCompute, Version: rpc.V(6, 1)})
		if err := a.SetDisabled(ctx, "c1", rpc.BinaryCompute, true, "maintenance"); err != nil {
			t.Fatal(err)
		}
		sync()
		sync()
		sa, _ := a.Compute("c1")
		sb, ok := b.Compute("c1")
		if !ok || sb.ID != sa.ID || !sb.Disabled || sb.DisabledReason != "maintenance" || sb.Node == nil ||
			sb.Node.VCPUs != 4 || !sb.Up {
			t.Errorf("c1 on b %+v; a has %+v", sb, sa)
		}

		// c2 keeps reporting to b only; a sees it up from the table once b
		// wrote it (a's sync runs first: it learns with the next one).
		now = now.Add(50 * time.Second)
		b.Report(rpc.ServiceReport{Host: "c2", Binary: rpc.BinaryCompute, Version: rpc.V(6, 1)})
		sync()
		sync()
		now = now.Add(20 * time.Second)
		if !a.HostUp("c2") || a.HostUp("c1") || !b.HostUp("c2") || b.HostUp("c1") {
			t.Errorf("liveness: a c1 %v c2 %v, b c1 %v c2 %v; want c2 up, c1 down on both",
				a.HostUp("c1"), a.HostUp("c2"), b.HostUp("c1"), b.HostUp("c2"))
		}

		// A delete on b reaches a; a change to it then is not found.
		if err := b.Remove(ctx, "c1", rpc.BinaryCompute); err != nil {
			t.Fatal(err)
		}
		if err := a.SetForcedDown(ctx, "c1", rpc.BinaryCompute, true); !errors.Is(err, conductor.ErrServiceNotFound) {
			t.Errorf("forced down of a service b deleted: %v", err)
		}
		sync()
		if _, ok := a.Compute("c1"); ok {
			t.Error("a still has c1 after b deleted it")
		}

		// A controller that starts now knows c2 and its id.
		c := group()
		if err := c.Load(ctx); err != nil {
			t.Fatal(err)
		}
		s2, _ := b.Compute("c2")
		if got, ok := c.Compute("c2"); !ok || got.ID != s2.ID || !got.Up || len(c.Computes()) != 1 {
			t.Errorf("a new controller has %+v", c.Computes())
		}
	})
}
