package compute_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/compute"
	"github.com/nimbus-cloud/nimbus/internal/compute/computetest"
)

// TestServerLifecycle walks a server through every action with the fake
// conductor, checking the status each leaves and the action recorded.
func TestServerLifecycle(t *testing.T) {
	t.Parallel()
	c := newCloud(t, nil)
	inst := c.boot(t, alice, "vm")
	id := inst.UUID
	do := func(ctx context.Context, name string, f func(context.Context) error, status string) {
		t.Helper()
		if err := f(compute.WithRequestID(ctx, "req-"+name)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := c.get(t, admin, id); got.Status() != status || got.TaskState != compute.TaskNone {
			t.Fatalf("after %s: status %s task %q, want %s", name, got.Status(), got.TaskState, status)
		}
	}
	do(alice, "stop", func(ctx context.Context) error { return c.svc.StopServer(ctx, id) }, "SHUTOFF")
	do(alice, "start", func(ctx context.Context) error { return c.svc.StartServer(ctx, id) }, "ACTIVE")
	do(alice, "reboot", func(ctx context.Context) error { return c.svc.RebootServer(ctx, id, false) }, "ACTIVE")
	do(alice, "pause", func(ctx context.Context) error { return c.svc.PauseServer(ctx, id) }, "PAUSED")
	do(alice, "hard", func(ctx context.Context) error { return c.svc.RebootServer(ctx, id, true) }, "ACTIVE")
	do(alice, "pause2", func(ctx context.Context) error { return c.svc.PauseServer(ctx, id) }, "PAUSED")
	do(alice, "unpause", func(ctx context.Context) error { return c.svc.UnpauseServer(ctx, id) }, "ACTIVE")
	do(alice, "suspend", func(ctx context.Context) error { return c.svc.SuspendServer(ctx, id) }, "SUSPENDED")
	do(alice, "resume", func(ctx context.Context) error { return c.svc.ResumeServer(ctx, id) }, "ACTIVE")
	do(alice, "resize", func(ctx context.Context) error { return c.svc.ResizeServer(ctx, id, "large", nil) }, "VERIFY_RESIZE")
	if got := c.get(t, alice, id); got.Flavor.FlavorID != "large" || got.OldFlavor.FlavorID != "small" || got.Host != "compute2" {
		t.Fatalf("resized to %s from %v on %s", got.Flavor.FlavorID, got.OldFlavor, got.Host)
	}
	do(alice, "revert", func(ctx context.Context) error { return c.svc.RevertResize(ctx, id) }, "ACTIVE")
	if got := c.get(t, alice, id); got.Flavor.FlavorID != "small" || got.OldFlavor != nil || got.Host != "compute1" {
		t.Fatalf("reverted to %s on %s", got.Flavor.FlavorID, got.Host)
	}
	do(alice, "resize2", func(ctx context.Context) error { return c.svc.ResizeServer(ctx, id, "large", nil) }, "VERIFY_RESIZE")
	do(alice, "confirm", func(ctx context.Context) error { return c.svc.ConfirmResize(ctx, id) }, "ACTIVE")
	do(alice, "rebuild", func(ctx context.Context) error {
		_, pass, err := c.svc.RebuildServer(ctx, id, compute.ServerRebuild{ImageRef: other, Name: ptr("vm2"),
			Metadata: map[string]string{"k": "v"}})
		if err == nil && len(pass) != 12 {
			t.Errorf("rebuild password %q", pass)
		}
		return err
	}, "ACTIVE")
	if got := c.get(t, alice, id); got.ImageRef != other || got.DisplayName != "vm2" || got.Metadata["k"] != "v" {
		t.Fatalf("rebuilt %+v", got)
	}
	var imageID string
	do(alice, "snapshot", func(ctx context.Context) error {
		var err error
		imageID, _, err = c.svc.CreateImage(ctx, id, "snap", map[string]string{"purpose": "backup"}, false)
		return err
	}, "ACTIVE")
	img, err := c.images.Image(context.Background(), imageID)
	if err != nil || img.Name != "snap" || img.Properties["instance_uuid"] != id || img.Properties["purpose"] != "backup" ||
		img.Properties["image_type"] != "snapshot" {
		t.Fatalf("snapshot image %+v: %v", img, err)
	}
	do(admin, "migrate", func(ctx context.Context) error { return c.svc.MigrateServer(ctx, id, "") }, "VERIFY_RESIZE")
	do(admin, "confirm2", func(ctx context.Context) error { return c.svc.ConfirmResize(ctx, id) }, "ACTIVE")
	do(admin, "live", func(ctx context.Context) error {
		return c.svc.LiveMigrateServer(ctx, id, "compute2", nil, false)
	}, "ACTIVE")
	do(alice, "shelve", func(ctx context.Context) error { return c.svc.ShelveServer(ctx, id) }, "SHELVED")
	do(admin, "offload", func(ctx context.Context) error { return c.svc.ShelveOffloadServer(ctx, id) }, "SHELVED_OFFLOADED")
	do(alice, "unshelve", func(ctx context.Context) error {
		return c.svc.UnshelveServer(ctx, id, compute.UnshelveOptions{ZoneSet: true, Zone: ptr("nova")})
	}, "ACTIVE")
	if got := c.get(t, alice, id); got.PinnedAvailabilityZone == nil || *got.PinnedAvailabilityZone != "nova" {
		t.Errorf("pinned zone %v", got.PinnedAvailabilityZone)
	}
	out := must(c.svc.ConsoleOutput(alice, id, ptr(1)))(t)
	if out != "login:" {
		t.Errorf("console output %q", out)
	}
	url := must(c.svc.RemoteConsole(alice, id, "vnc", "novnc", false))(t)
	if !strings.Contains(url, id) {
		t.Errorf("console url %s", url)
	}
	_, err = c.svc.RemoteConsole(alice, id, "rdp", "rdp-html5", false)
	wantErr(t, err, compute.ErrInvalid, "Unavailable console type rdp.")

	// Every action was recorded, newest first, each with its event.
	actions := must(c.svc.ServerActions(alice, id, compute.ActionListOptions{}))(t)
	var names []string
	for _, a := range actions {
		names = append(names, a.Action)
	}
	want := []string{"unshelve", "shelveOffload", "shelve", "live-migration", "confirmResize", "migrate", "createImage",
		"rebuild", "confirmResize", "resize", "revertResize", "resize", "resume", "suspend", "unpause", "pause", "reboot",
		"pause", "reboot", "start", "stop", "create"}
	if !slices.Equal(names, want) {
		t.Fatalf("actions %v", names)
	}
	a, _, view, err := c.svc.ServerAction(alice, id, "req-stop", false, true, true, true)
	if err != nil || len(a.Events) != 1 || a.Events[0].Event != "compute_stop_instance" || !view.Events || view.Traceback {
		t.Fatalf("stop action %+v %+v: %v", a, view, err)
	}
	_, _, view, _ = c.svc.ServerAction(alice, id, "req-stop", false, false, true, true)
	if view.Events {
		t.Error("a member sees events before 2.51")
	}
	_, _, view, _ = c.svc.ServerAction(admin, id, "req-stop", false, false, true, true)
	if !view.Events || !view.Traceback || !view.Host || !view.Details {
		t.Errorf("admin's view %+v", view)
	}
	_, _, _, err = c.svc.ServerAction(alice, id, "req-none", false, true, true, true)
	wantErr(t, err, compute.ErrNotFound, "Action req-none not found")
	page := must(c.svc.ServerActions(alice, id, compute.ActionListOptions{Paged: true, Limit: ptr(2), Marker: ptr("req-shelve")}))(t)
	if len(page) != 2 || page[0].Action != "live-migration" {
		t.Errorf("page after req-shelve: %+v", page)
	}
	_, err = c.svc.ServerActions(alice, id, compute.ActionListOptions{Paged: true, Marker: ptr("req-x")})
	wantErr(t, err, compute.ErrInvalid, "Marker req-x could not be found.")
}

func TestStateRefusals(t *testing.T) {
	t.Parallel()
	c := newCloud(t, nil)
	id := c.boot(t, alice, "vm").UUID
	cases := []struct {
		name string
		do   func() error
		kind error
		msg  string
	}{
		{"start active", func() error { return c.svc.StartServer(alice, id) }, compute.ErrConflict,
			"Cannot 'start' instance " + id + " while it is in vm_state active"},
		{"unpause active", func() error { return c.svc.UnpauseServer(alice, id) }, compute.ErrConflict,
			"Cannot 'unpause' instance " + id + " while it is in vm_state active"},
		{"confirm", func() error { return c.svc.ConfirmResize(alice, id) }, compute.ErrConflict, "vm_state active"},
		{"restore", func() error { return c.svc.RestoreServer(alice, id) }, compute.ErrConflict,
			"Cannot 'restore' instance " + id + " while it is in vm_state active"},
		{"unshelve", func() error { return c.svc.UnshelveServer(alice, id, compute.UnshelveOptions{}) }, compute.ErrConflict,
			"Cannot 'unshelve' instance"},
		{"resize same", func() error { return c.svc.ResizeServer(alice, id, "small", nil) }, compute.ErrInvalid,
			"When resizing, instances must change flavor!"},
		{"resize unknown", func() error { return c.svc.ResizeServer(alice, id, "nope", nil) }, compute.ErrInvalid,
			"Flavor nope could not be found."},
		{"resize zero", func() error { return c.svc.ResizeServer(alice, id, "zero", nil) }, compute.ErrInvalid,
			"Resize to zero disk flavor is not allowed."},
		{"migrate member", func() error { return c.svc.MigrateServer(alice, id, "") }, compute.ErrForbidden,
			"os-migrate-server:migrate"},
		{"migrate same host", func() error { return c.svc.MigrateServer(admin, id, "compute1") }, compute.ErrInvalid,
			"Cannot migrate to the host where the server exists."},
		{"migrate unknown host", func() error { return c.svc.MigrateServer(admin, id, "nowhere") }, compute.ErrInvalid,
			"Compute host nowhere could not be found."},
		{"live unknown host", func() error { return c.svc.LiveMigrateServer(admin, id, "nowhere", nil, false) },
			compute.ErrInvalid, "Compute host nowhere could not be found."},
		{"evacuate host up", func() error {
			_, err := c.svc.EvacuateServer(admin, id, compute.EvacuateOptions{})
			return err
		}, compute.ErrInvalid, "Compute service of compute1 is still in use."},
		{"evacuate same host", func() error {
			_, err := c.svc.EvacuateServer(admin, id, compute.EvacuateOptions{Host: "compute1"})
			return err
		}, compute.ErrInvalid, "The target host can't be the same one."},
		{"evacuate unknown host", func() error {
			_, err := c.svc.EvacuateServer(admin, id, compute.EvacuateOptions{Host: "nowhere"})
			return err
		}, compute.ErrNotFound, "Compute host nowhere not found."},
		{"evacuate member", func() error {
			_, err := c.svc.EvacuateServer(alice, id, compute.EvacuateOptions{})
			return err
		}, compute.ErrForbidden, "os-evacuate"},
		{"reader stops", func() error { return c.svc.StopServer(reader, id) }, compute.ErrForbidden, "servers:stop"},
		{"other project", func() error { return c.svc.StopServer(bob, id) }, compute.ErrNotFound, "could not be found"},
		{"rebuild image", func() error {
			_, _, err := c.svc.RebuildServer(alice, id, compute.ServerRebuild{ImageRef: "77777777-7777-4777-8777-777777777777"})
			return err
		}, compute.ErrInvalid, "Cannot find image for rebuild"},
		{"rebuild key", func() error {
			k := ptr("missing")
			_, _, err := c.svc.RebuildServer(alice, id, compute.ServerRebuild{ImageRef: cirros, KeyName: &k})
			return err
		}, compute.ErrInvalid, "Invalid key_name provided."},
		{"unshelve zone active", func() error {
			return c.svc.UnshelveServer(alice, id, compute.UnshelveOptions{ZoneSet: true})
		}, compute.ErrConflict, "Cannot 'unshelve' instance"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { wantErr(t, tc.do(), tc.kind, tc.msg) })
	}

	// Locks: the owner's lock stops members, not admins; an admin's lock
	// takes an admin to lift.
	must(0, c.svc.LockServer(alice, id, ptr("maintenance")))(t)
	locked := c.get(t, alice, id)
	if !locked.Locked || locked.LockedBy != "owner" || *locked.LockedReason != "maintenance" {
		t.Fatalf("locked %+v", locked)
	}
	wantErr(t, c.svc.StopServer(alice, id), compute.ErrConflict, "Instance "+id+" is locked")
	wantErr(t, c.svc.DeleteServer(alice, id, false), compute.ErrConflict, "is locked")
	_, err := c.svc.UpdateServerMetadata(alice, id, map[string]string{"a": "b"}, compute.MetadataMerge)
	wantErr(t, err, compute.ErrConflict, "is locked")
	must(0, c.svc.StopServer(admin, id))(t)
	must(0, c.svc.UnlockServer(alice, id))(t)
	must(0, c.svc.LockServer(admin, id, nil))(t)
	wantErr(t, c.svc.UnlockServer(alice, id), compute.ErrForbidden, "unlock_override")
	must(0, c.svc.UnlockServer(admin, id))(t)
	if got := c.get(t, alice, id); got.Locked || got.LockedReason != nil {
		t.Fatalf("unlocked %+v", got)
	}
	// The soft reboot of a stopped server is refused, the hard one not.
	wantErr(t, c.svc.RebootServer(alice, id, false), compute.ErrConflict,
		"Cannot 'reboot' instance "+id+" while it is in vm_state stopped")
	must(0, c.svc.RebootServer(alice, id, true))(t)
	// A server on a dead host can be evacuated, left stopped if asked.
	dead := must(c.svc.CreateServers(admin, compute.ServerCreate{Name: "d", ImageRef: cirros, FlavorRef: "small",
		AvailabilityZone: "az2:compute3"}))(t).Instances[0].UUID
	pass := must(c.svc.EvacuateServer(admin, dead, compute.EvacuateOptions{TargetStopped: true}))(t)
	if got := c.get(t, admin, dead); got.Host != "compute2" || got.Status() != "SHUTOFF" || len(pass) != 12 {
		t.Fatalf("evacuated to %s, %s", got.Host, got.Status())
	}
	// A task in progress refuses the next action by its task state.
	c.cond.Hold("StopInstance", true)
	must(0, c.svc.StopServer(alice, id))(t)
	wantErr(t, c.svc.PauseServer(alice, id), compute.ErrConflict, "while it is in task_state powering-off")
}

func TestCastFailureRevertsTaskState(t *testing.T) {
	t.Parallel()
	c := newCloud(t, nil)
	id := c.boot(t, alice, "vm").UUID
	c.cond.FailCast("StopInstance", errors.New("bus down"))
	if err := c.svc.StopServer(alice, id); err == nil || !strings.Contains(err.Error(), "bus down") {
		t.Fatalf("stop with the conductor away: %v", err)
	}
	if got := c.get(t, alice, id); got.TaskState != compute.TaskNone || got.Status() != "ACTIVE" {
		t.Fatalf("after a failed cast: %s, task %q", got.Status(), got.TaskState)
	}
	c.cond.FailCast("StopInstance", nil)
	must(0, c.svc.StopServer(alice, id))(t)
}

func TestDeleteServer(t *testing.T) {
	t.Parallel()
	c := newCloud(t, nil)
	// A server that never reached a host goes at once.
	c.cond.Hold("BuildInstances", true)
	pending := must(c.svc.CreateServers(alice, compute.ServerCreate{Name: "p", ImageRef: cirros, FlavorRef: "small"}))(t).Instances[0]
	if got := c.get(t, alice, pending.UUID); got.Status() != "BUILD" || got.TaskState != compute.TaskScheduling {
		t.Fatalf("held build: %s %s", got.Status(), got.TaskState)
	}
	must(0, c.svc.DeleteServer(alice, pending.UUID, false))(t)
	_, err := c.svc.Server(alice, pending.UUID)
	wantErr(t, err, compute.ErrNotFound, "could not be found")
	if calls := c.cond.Calls(); !slices.Contains(calls, "DeleteInstance "+pending.UUID) {
		t.Errorf("the conductor was not told of the local delete: %v", calls)
	}
	c.cond.Hold("BuildInstances", false)

	// A built server is torn down by its host; forceDelete likewise.
	for _, force := range []bool{false, true} {
		id := c.boot(t, alice, "vm").UUID
		c.cond.Hold("DeleteInstance", true)
		must(0, c.svc.DeleteServer(alice, id, force))(t)
		if got := c.get(t, alice, id); got.TaskState != compute.TaskDeleting {
			t.Fatalf("deleting: task %q", got.TaskState)
		}
		// Deleting again is allowed: nova checks no state for delete.
		c.cond.Hold("DeleteInstance", false)
		must(0, c.svc.DeleteServer(alice, id, force))(t)
		_, err := c.svc.Server(alice, id)
		wantErr(t, err, compute.ErrNotFound, "could not be found")
		deleted := must(c.svc.Instance(context.Background(), id))(t)
		if deleted.Status() != "DELETED" || deleted.TerminatedAt.IsZero() || deleted.DeletedAt.IsZero() {
			t.Errorf("deleted instance %+v", deleted)
		}
		// Its actions stay readable from 2.21.
		acts := must(c.svc.ServerActions(alice, id, compute.ActionListOptions{ReadDeleted: true}))(t)
		if acts[0].Action != "delete" {
			t.Errorf("last action %s", acts[0].Action)
		}
		_, err = c.svc.ServerActions(alice, id, compute.ActionListOptions{})
		wantErr(t, err, compute.ErrNotFound, "could not be found")
	}
}

func TestMetadataTagsAndAddresses(t *testing.T) {
	t.Parallel()
	c := newCloud(t, func(cfg *compute.Config, _ *compute.Deps) {
		cfg.Quota = map[string]int{"metadata_items": 3, "instances": 10, "cores": 20, "ram": 51200}
	})
	id := c.boot(t, alice, "vm").UUID
	md := must(c.svc.UpdateServerMetadata(alice, id, map[string]string{"a": "1", "b": "2"}, compute.MetadataMerge))(t)
	if len(md) != 2 {
		t.Fatalf("metadata %v", md)
	}
	md = must(c.svc.UpdateServerMetadata(alice, id, map[string]string{"c": "3"}, compute.MetadataItem))(t)
	if len(md) != 3 {
		t.Fatalf("metadata %v", md)
	}
	_, err := c.svc.UpdateServerMetadata(alice, id, map[string]string{"d": "4"}, compute.MetadataMerge)
	wantErr(t, err, compute.ErrForbidden, "Maximum number of metadata items exceeds 3")
	md = must(c.svc.UpdateServerMetadata(alice, id, map[string]string{"z": "9"}, compute.MetadataReplace))(t)
	if len(md) != 1 || md["z"] != "9" {
		t.Fatalf("replaced metadata %v", md)
	}
	if v := must(c.svc.ServerMetadataItem(reader, id, "z"))(t); v != "9" {
		t.Errorf("item %q", v)
	}
	_, err = c.svc.ServerMetadataItem(alice, id, "nope")
	wantErr(t, err, compute.ErrNotFound, "Metadata item was not found")
	wantErr(t, c.svc.DeleteServerMetadataItem(alice, id, "nope"), compute.ErrNotFound, "Metadata item was not found")
	must(0, c.svc.DeleteServerMetadataItem(alice, id, "z"))(t)
	_, err = c.svc.UpdateServerMetadata(reader, id, map[string]string{"a": "1"}, compute.MetadataMerge)
	wantErr(t, err, compute.ErrForbidden, "server-metadata:create")

	if !must(c.svc.AddServerTag(alice, id, "web"))(t) || must(c.svc.AddServerTag(alice, id, "web"))(t) {
		t.Error("adding a tag twice")
	}
	must(0, c.svc.CheckServerTag(reader, id, "web"))(t)
	wantErr(t, c.svc.CheckServerTag(alice, id, "db"), compute.ErrNotFound, "Server "+id+" has no tag 'db'")
	tags := must(c.svc.SetServerTags(alice, id, []string{"b", "a", "b"}))(t)
	if !slices.Equal(tags, []string{"a", "b"}) {
		t.Errorf("tags %v", tags)
	}
	wantErr(t, c.svc.DeleteServerTag(alice, id, "zz"), compute.ErrNotFound, "Instance "+id+" has no tag 'zz'")
	must(0, c.svc.DeleteServerTags(alice, id))(t)
	many := make([]string, compute.MaxTagCount)
	for i := range many {
		many[i] = string(rune('A'+i/26)) + string(rune('a'+i%26))
	}
	must(c.svc.SetServerTags(alice, id, many))(t)
	_, err = c.svc.AddServerTag(alice, id, "one-more")
	wantErr(t, err, compute.ErrInvalid, "The number of tags exceeded the per-server limit 50")

	// Tags and metadata follow the server's state.
	c.cond.Hold("BuildInstances", true)
	building := must(c.svc.CreateServers(alice, compute.ServerCreate{Name: "b", ImageRef: cirros, FlavorRef: "small"}))(t).Instances[0]
	_, err = c.svc.AddServerTag(alice, building.UUID, "x")
	wantErr(t, err, compute.ErrConflict, "Cannot 'update tag' instance "+building.UUID+" while it is in vm_state building")
	_, err = c.svc.UpdateServerMetadata(alice, building.UUID, map[string]string{"a": "1"}, compute.MetadataMerge)
	wantErr(t, err, compute.ErrConflict, "Cannot 'update metadata' instance")

	addrs := must(c.svc.ServerAddresses(reader, id))(t)
	if len(addrs) != 0 {
		t.Errorf("addresses %v before networking exists", addrs)
	}
	_, err = c.svc.ServerNetworkAddresses(alice, id, "private")
	wantErr(t, err, compute.ErrNotFound, "Instance is not a member of specified network")
}

func TestHostStatus(t *testing.T) {
	t.Parallel()
	services := computetest.Services{
		{Host: "compute1", Binary: "nova-compute", Up: true},
		{Host: "compute2", Binary: "nova-compute", Up: true, Disabled: true},
		{Host: "compute3", Binary: "nova-compute", ForcedDown: true},
		{Host: "compute4", Binary: "nova-compute"},
	}
	c := newCloud(t, func(_ *compute.Config, d *compute.Deps) { d.Services = services })
	for host, want := range map[string]string{"compute1": compute.HostUp, "compute2": compute.HostMaintenance,
		"compute3": compute.HostDown, "compute4": compute.HostUnknown, "": compute.HostNone, "gone": compute.HostNone} {
		if got := c.svc.HostStatus(admin, compute.Instance{Host: host}); got != want {
			t.Errorf("host %q: %q, want %q", host, got, want)
		}
	}
	if p := c.svc.ServerViewPolicy(alice, "p1"); p.ExtendedAttrs || p.HostStatus || !p.FlavorExtraSpecs || p.Admin {
		t.Errorf("member's view %+v", p)
	}
	if p := c.svc.ServerViewPolicy(admin, "p1"); !p.ExtendedAttrs || !p.HostStatus || !p.Admin {
		t.Errorf("admin's view %+v", p)
	}
}
