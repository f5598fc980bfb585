package compute_test

import (
	"context"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/compute"
)

// TestRescueResetBackup walks a server through rescue, unrescue, a state
// reset and backups with the fake conductor.
func TestRescueResetBackup(t *testing.T) {
	t.Parallel()
	c := newCloud(t, nil)
	id := c.boot(t, alice, "vm").UUID
	status := func(want string) {
		t.Helper()
		if got := c.get(t, admin, id); got.Status() != want || got.TaskState != compute.TaskNone {
			t.Fatalf("status %s task %q, want %s", got.Status(), got.TaskState, want)
		}
	}
	wantErr(t, c.svc.UnrescueServer(alice, id), compute.ErrConflict,
		"Cannot 'unrescue' instance "+id+" while it is in vm_state active")
	_, err := c.svc.RescueServer(alice, id, nil, "77777777-7777-4777-8777-777777777777")
	wantErr(t, err, compute.ErrInvalid, "Requested rescue image '77777777-7777-4777-8777-777777777777' is not supported")
	_, err = c.svc.RescueServer(reader, id, nil, "")
	wantErr(t, err, compute.ErrForbidden, "os-rescue")
	pass := must(c.svc.RescueServer(alice, id, nil, ""))(t)
	if pass == nil || len(*pass) != 12 {
		t.Errorf("generated rescue password %v", pass)
	}
	status("RESCUE")
	_, err = c.svc.RescueServer(alice, id, ptr("pw"), "")
	wantErr(t, err, compute.ErrConflict, "Cannot 'rescue' instance "+id+" while it is in vm_state rescued")
	_, _, err = c.svc.CreateBackup(alice, id, "b", "daily", 1, nil, false)
	wantErr(t, err, compute.ErrConflict, "Cannot 'createBackup' instance "+id+" while it is in vm_state rescued")
	must(0, c.svc.UnrescueServer(alice, id))(t)
	status("ACTIVE")
	if p := must(c.svc.RescueServer(alice, id, ptr(""), cirros))(t); p == nil || *p != "" {
		t.Errorf("rescue password %v, want the empty one given", p)
	}
	status("RESCUE")

	wantErr(t, c.svc.ResetState(alice, id, compute.VMError), compute.ErrForbidden, "os-admin-actions:reset_state")
	must(0, c.svc.ResetState(admin, id, compute.VMError))(t)
	status("ERROR")
	must(0, c.svc.ResetState(admin, id, compute.VMActive))(t)
	status("ACTIVE")
	wantErr(t, c.svc.InjectNetworkInfo(alice, id), compute.ErrForbidden, "inject_network_info")
	must(0, c.svc.InjectNetworkInfo(admin, id))(t)

	imageID, url := must2(c.svc.CreateBackup(alice, id, " nightly ", "daily", 2, map[string]string{"k": "v"}, true))(t)
	status("ACTIVE")
	img, err := c.images.Image(context.Background(), imageID)
	if err != nil || img.Name != "nightly" || img.Properties["image_type"] != "backup" ||
		img.Properties["backup_type"] != "daily" || img.Properties["instance_uuid"] != id || img.Properties["k"] != "v" {
		t.Errorf("backup image %+v: %v", img, err)
	}
	if url != "http://image.test:9292/images/"+imageID {
		t.Errorf("backup url %s", url)
	}
	many := map[string]string{}
	for i := range 200 {
		many[string(rune('a'+i%26))+string(rune('a'+i/26))] = "v"
	}
	_, _, err = c.svc.CreateBackup(alice, id, "b", "daily", 1, many, true)
	wantErr(t, err, compute.ErrForbidden, "Image metadata limit exceeded")

	actions := must(c.svc.ServerActions(alice, id, compute.ActionListOptions{}))(t)
	var names []string
	for _, a := range actions {
		names = append(names, a.Action)
	}
	want := []string{"createBackup", "resetState", "resetState", "rescue", "unrescue", "rescue", "create"}
	if len(names) != len(want) {
		t.Fatalf("actions %v", names)
	}
	for i := range want {
		if names[i] != want[i] {
			t.Fatalf("actions %v, want %v", names, want)
		}
	}
}

func TestDiagnosticsAndPassword(t *testing.T) {
	t.Parallel()
	c := newCloud(t, nil)
	id := c.boot(t, alice, "vm").UUID
	_, err := c.svc.ServerDiagnostics(alice, id)
	wantErr(t, err, compute.ErrForbidden, "os-server-diagnostics")
	d := must(c.svc.ServerDiagnostics(admin, id))(t)
	if d.State != "running" || len(d.CPUs) != 1 {
		t.Errorf("diagnostics %+v", d)
	}

	if p := must(c.svc.ServerPassword(alice, id))(t); p != "" {
		t.Errorf("password of a new server %q", p)
	}
	long := make([]byte, 600)
	for i := range long {
		long[i] = 'a' + byte(i%26)
	}
	_, err = c.svc.SaveInstance(context.Background(), id, func(i *compute.Instance) error {
		compute.SetPassword(i, string(long))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got := c.get(t, admin, id)
	if len(got.SystemMetadata["password_0"]) != 255 || len(got.SystemMetadata["password_2"]) != 90 ||
		got.SystemMetadata["password_3"] != "" {
		t.Errorf("password chunks %v", got.SystemMetadata)
	}
	if p := must(c.svc.ServerPassword(reader, id))(t); p != string(long) {
		t.Errorf("password read back: %d characters", len(p))
	}
	wantErr(t, c.svc.ClearServerPassword(reader, id), compute.ErrForbidden, "os-server-password:clear")
	must(0, c.svc.ClearServerPassword(alice, id))(t)
	if p := must(c.svc.ServerPassword(alice, id))(t); p != "" {
		t.Errorf("cleared password %q", p)
	}
	_, err = c.svc.ServerPassword(bob, id)
	wantErr(t, err, compute.ErrNotFound, "could not be found")
}

func must2[A, B any](a A, b B, err error) func(testing.TB) (A, B) {
	return func(t testing.TB) (A, B) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return a, b
	}
}

// TestDeleteShelvedServer deletes the shelved image with the server.
func TestDeleteShelvedServer(t *testing.T) {
	t.Parallel()
	c := newCloud(t, nil)
	id := c.boot(t, alice, "vm").UUID
	must(0, c.svc.ShelveServer(alice, id))(t)
	imageID := c.get(t, admin, id).SystemMetadata[compute.SysShelvedImageID]
	if img, err := c.images.Image(context.Background(), imageID); err != nil || img.Name != "vm-shelved" {
		t.Fatalf("shelved image %+v, %v", img, err)
	}
	must(0, c.svc.ShelveOffloadServer(admin, id))(t)
	must(0, c.svc.DeleteServer(alice, id, false))(t)
	if _, err := c.images.Image(context.Background(), imageID); err == nil {
		t.Error("the shelved image outlived its server")
	}
}
