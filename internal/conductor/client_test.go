package conductor

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/auth"
	"github.com/nimbus-cloud/nimbus/internal/bus"
	"github.com/nimbus-cloud/nimbus/internal/bus/inproc"
	"github.com/nimbus-cloud/nimbus/internal/compute"
	"github.com/nimbus-cloud/nimbus/internal/rpc"
)

// received is a message a recording server took.
type received struct {
	topic, method string
	ctx           rpc.Context
	payload       string
}

// recorder serves every method of the control plane's namespaces on a
// topic and records what arrives.
type recorder struct {
	mu   sync.Mutex
	msgs []received
	got  chan struct{}
}

func (r *recorder) endpoint(topic, namespace string, v rpc.Version, methods []string, reply func(method string) (any, error)) *bus.Endpoint {
	ep := bus.NewEndpoint(namespace, v)
	for _, m := range methods {
		ep.Register(m, rpc.V(1, 0), func(ctx context.Context, req *bus.Request) (any, error) {
			r.mu.Lock()
			r.msgs = append(r.msgs, received{topic: topic, method: req.Method, ctx: rpc.FromContext(ctx),
				payload: string(req.Payload)})
			r.mu.Unlock()
			r.got <- struct{}{}
			if reply != nil {
				return reply(req.Method)
			}
			return nil, nil
		})
	}
	return ep
}

func (r *recorder) next(t *testing.T) received {
	t.Helper()
	select {
	case <-r.got:
	case <-time.After(5 * time.Second):
		t.Fatal("no message arrived")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.msgs[len(r.msgs)-1]
}

type hostsUp map[string]bool

func (h hostsUp) HostUp(host string) bool { return h[host] }

func TestClient(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := bus.New(inproc.New(inproc.Options{}), bus.Options{Timeout: 5 * time.Second})
	t.Cleanup(func() { b.Close(context.Background()) })
	rec := &recorder{got: make(chan struct{}, 16)}
	condMethods := []string{"build_instances", "cleanup_deleted_instance", "instance_destroyed", "migrate_server",
		"rebuild_instance", "confirm_resize", "revert_resize", "live_migrate_instance", "evacuate_instance",
		"unshelve_instance"}
	if _, err := b.Serve(ctx, rpc.TopicConductor, "ctl", rec.endpoint("conductor", rpc.NamespaceConductor, rpc.ConductorVersion, condMethods, nil)); err != nil {
		t.Fatal(err)
	}
	hostMethods := []string{"terminate_instance", "stop_instance", "reboot_instance", "get_console_output",
		"shelve_instance", "shelve_offload_instance", "rescue_instance", "unrescue_instance", "backup_instance",
		"live_migration_force_complete", "live_migration_abort"}
	if _, err := b.Serve(ctx, rpc.TopicCompute, "a", rec.endpoint("compute.a", rpc.NamespaceCompute, rpc.ComputeVersion, hostMethods,
		func(m string) (any, error) {
			if m == "get_console_output" {
				return rpc.ConsoleOutputReply{Output: "login:"}, nil
			}
			return nil, nil
		})); err != nil {
		t.Fatal(err)
	}
	up := hostsUp{"a": true, "gone": true}
	c := NewClient(b, up, nil)
	caller := &auth.Caller{UserID: "u1", ProjectID: "p1", Token: "secret-token", Roles: []auth.Role{{Name: "member"}}}
	apiCtx := compute.WithRequestID(auth.WithCaller(ctx, caller), "req-42")
	inst := compute.Instance{UUID: "i1", Host: "a"}

	if err := c.BuildInstances(apiCtx, compute.BuildRequest{Instances: []compute.Instance{{UUID: "i1"}, {UUID: "i2"}},
		Image: compute.Image{ID: "img"}, AdminPass: "pw"}); err != nil {
		t.Fatal(err)
	}
	m := rec.next(t)
	if m.topic != "conductor" || m.method != "build_instances" || m.ctx.RequestID != "req-42" || m.ctx.UserID != "u1" ||
		!m.ctx.HasRole("member") || m.payload == "" {
		t.Errorf("build cast %+v", m)
	}
	for _, tc := range []struct {
		name          string
		do            func() error
		topic, method string
	}{
		{"delete on a live host", func() error { return c.DeleteInstance(apiCtx, inst, false) }, "compute.a", "terminate_instance"},
		{"local delete", func() error { return c.DeleteInstance(apiCtx, inst, true) }, "conductor", "cleanup_deleted_instance"},
		{"delete on a down host", func() error {
			return c.DeleteInstance(apiCtx, compute.Instance{UUID: "i1", Host: "down"}, false)
		}, "conductor", "instance_destroyed"},
		{"delete on a host that never served", func() error {
			return c.DeleteInstance(apiCtx, compute.Instance{UUID: "i1", Host: "gone"}, false)
		}, "conductor", "instance_destroyed"},
		{"stop", func() error { return c.StopInstance(apiCtx, inst) }, "compute.a", "stop_instance"},
		{"reboot", func() error { return c.RebootInstance(apiCtx, inst, true) }, "compute.a", "reboot_instance"},
		{"resize", func() error {
			return c.ResizeInstance(apiCtx, compute.ResizeRequest{Instance: inst, Flavor: compute.Flavor{FlavorID: "2"}})
		}, "conductor", "migrate_server"},
		{"rebuild", func() error { return c.RebuildInstance(apiCtx, compute.RebuildRequest{Instance: inst}) }, "conductor", "rebuild_instance"},
		{"confirm", func() error { return c.ConfirmResize(apiCtx, inst) }, "conductor", "confirm_resize"},
		{"revert", func() error { return c.RevertResize(apiCtx, inst) }, "conductor", "revert_resize"},
		{"live migrate", func() error {
			return c.LiveMigrateInstance(apiCtx, compute.LiveMigrateRequest{Instance: inst, Host: "b"})
		}, "conductor", "live_migrate_instance"},
		{"evacuate", func() error {
			return c.EvacuateInstance(apiCtx, compute.EvacuateRequest{Instance: inst, TargetStopped: true})
		}, "conductor", "evacuate_instance"},
		{"shelve", func() error { return c.ShelveInstance(apiCtx, inst, "img") }, "compute.a", "shelve_instance"},
		{"offload", func() error { return c.ShelveOffloadInstance(apiCtx, inst) }, "compute.a", "shelve_offload_instance"},
		{"unshelve", func() error {
			return c.UnshelveInstance(apiCtx, compute.UnshelveRequest{Instance: inst})
		}, "conductor", "unshelve_instance"},
		{"rescue", func() error { return c.RescueInstance(apiCtx, inst, compute.Image{ID: "img"}, "pw") }, "compute.a",
			"rescue_instance"},
		{"unrescue", func() error { return c.UnrescueInstance(apiCtx, inst) }, "compute.a", "unrescue_instance"},
		{"backup", func() error { return c.BackupInstance(apiCtx, inst, "img", "daily", 2) }, "compute.a",
			"backup_instance"},
		// Steering goes to the migration's source host.
		{"force complete", func() error {
			return c.ForceCompleteLiveMigration(apiCtx, compute.Instance{UUID: "i1", Host: "b"}, compute.Migration{SourceCompute: "a"})
		}, "compute.a", "live_migration_force_complete"},
		{"abort", func() error { return c.AbortLiveMigration(apiCtx, inst, compute.Migration{}) }, "compute.a", "live_migration_abort"},
	} {
		if err := tc.do(); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if m := rec.next(t); m.topic != tc.topic || m.method != tc.method || m.ctx.RequestID != "req-42" {
			t.Errorf("%s: %+v, want %s.%s", tc.name, m, tc.topic, tc.method)
		}
	}
	out, err := c.ConsoleOutput(apiCtx, inst, 10)
	if err != nil || out != "login:" {
		t.Errorf("console output %q, %v", out, err)
	}
	rec.next(t)

	var ce *compute.Error
	up["nowhere"] = true // up, but no agent ever served it
	for _, host := range []string{"nowhere", "down"} {
		err = c.StartInstance(apiCtx, compute.Instance{UUID: "i1", Host: host})
		if !errors.As(err, &ce) || !errors.Is(ce.Kind, compute.ErrConflict) ||
			ce.Message != "Compute service of "+host+" is unavailable at this time." {
			t.Errorf("cast to host %s: %v", host, err)
		}
	}
	if _, err := c.ConsoleOutput(apiCtx, compute.Instance{UUID: "i1", Host: "down"}, 1); !errors.As(err, &ce) ||
		!errors.Is(ce.Kind, compute.ErrConflict) {
		t.Errorf("console of a down host: %v", err)
	}
	down := compute.Instance{UUID: "i1", Host: "down"}
	for name, err := range map[string]error{
		"shelve":  c.ShelveInstance(apiCtx, down, "img"),
		"backup":  c.BackupInstance(apiCtx, down, "img", "daily", 1),
		"rescue":  c.RescueInstance(apiCtx, down, compute.Image{ID: "img"}, "pw"),
		"offload": c.ShelveOffloadInstance(apiCtx, down),
	} {
		if !errors.As(err, &ce) || !errors.Is(ce.Kind, compute.ErrConflict) {
			t.Errorf("%s on a down host: %v, want a conflict", name, err)
		}
	}
	if _, err := c.RemoteConsole(apiCtx, inst, "vnc", "novnc"); !errors.As(err, &ce) || !errors.Is(ce.Kind, compute.ErrInvalid) {
		t.Errorf("remote console: %v", err)
	}
}
