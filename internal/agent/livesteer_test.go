package agent

import (
	"context"
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/rpc"
	"github.com/nimbus-cloud/nimbus/internal/virt"
)

// gatedHosts holds pre_live_migration at the gate, so that a steer can
// come before the driver moves the guest.
type gatedHosts struct {
	*fakeHosts
	entered, gate chan struct{}
}

func (g *gatedHosts) PreLiveMigration(ctx context.Context, host string, spec rpc.InstanceSpec) (virt.MigrateData, error) {
	close(g.entered)
	<-g.gate
	return g.fakeHosts.PreLiveMigration(ctx, host, spec)
}

// TestLiveMigrationSteered aborts and forces live migrations, both while
// the driver moves the guest (held by the fake driver) and before it
// begins: an abort leaves the guest here with the migration reported
// cancelled and the destination rolled back; a force complete moves it.
func TestLiveMigrationSteered(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name        string
		abort       bool
		beforeMoved bool
	}{
		{"abort while moving", true, false},
		{"force complete while moving", false, false},
		{"abort before moving", true, true},
		{"force complete before moving", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			src, dst := newHarness(t), newHarness(t)
			dst.a.cfg.Host = "h2"
			if err := dst.drv.Init(context.Background(), "h2"); err != nil {
				t.Fatal(err)
			}
			hosts := &gatedHosts{fakeHosts: &fakeHosts{to: map[string]*Agent{"h2": dst.a}},
				entered: make(chan struct{}), gate: make(chan struct{})}
			src.a.hosts = hosts
			src.cond.add("i1", "h1", "building", "scheduling", 0)
			if err := src.a.BuildAndRun(ctxReq(), buildReq("i1")); err != nil {
				t.Fatal(err)
			}
			src.drv.HoldLiveMigrations(true)
			req := rpc.LiveMigrationRequest{Instance: buildReq("i1").Instance, Dest: rpc.HostChoice{Host: "h2", Node: "h2"}}
			done := make(chan error, 1)
			go func() { done <- src.a.LiveMigration(ctxReq(), req) }()
			<-hosts.entered
			if !tc.beforeMoved {
				close(hosts.gate)
				waitFor(t, func() bool { return src.drv.LiveMigrationUnderWay("i1") }, "the driver moves the guest")
			}
			steer := rpc.InstanceRequest{InstanceUUID: "i1"}
			if tc.abort {
				if err := src.a.LiveMigrationAbort(ctxReq(), steer); err != nil {
					t.Fatal(err)
				}
			} else if err := src.a.LiveMigrationForceComplete(ctxReq(), steer); err != nil {
				t.Fatal(err)
			}
			if tc.beforeMoved {
				close(hosts.gate)
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			res := src.cond.lives[0]
			src.a.mu.Lock()
			left := len(src.a.live)
			src.a.mu.Unlock()
			if left != 0 {
				t.Errorf("%d live migrations still tracked", left)
			}
			if tc.abort {
				if !res.Cancelled || res.Error == "" {
					t.Errorf("result %+v, want cancelled", res)
				}
				if info, err := src.drv.GetInfo(context.Background(), "i1"); err != nil || info.State != virt.Running {
					t.Errorf("source guest after the abort: %+v %v", info, err)
				}
				if r, _ := dst.drv.HostResources(context.Background()); r.VCPUsUsed != 0 {
					t.Errorf("the destination kept room for a cancelled move: %+v", r)
				}
				return
			}
			if res.Cancelled || res.Error != "" {
				t.Errorf("result %+v, want success", res)
			}
			if info, err := dst.drv.GetInfo(context.Background(), "i1"); err != nil || info.State != virt.Running {
				t.Errorf("destination guest %+v %v", info, err)
			}
		})
	}
	// With no live migration under way, a steer is no error.
	h := newHarness(t)
	if err := h.a.LiveMigrationAbort(ctxReq(), rpc.InstanceRequest{InstanceUUID: "nope"}); err != nil {
		t.Error(err)
	}
	if err := h.a.LiveMigrationForceComplete(ctxReq(), rpc.InstanceRequest{InstanceUUID: "nope"}); err != nil {
		t.Error(err)
	}
}

// waitFor polls cond; it gives up after 30 s, a guard against hangs that
// measures nothing.
func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within 30s: %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
