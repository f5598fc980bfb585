package image_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/auth"
	"github.com/nimbus-cloud/nimbus/internal/auth/policy"
	"github.com/nimbus-cloud/nimbus/internal/db"
	"github.com/nimbus-cloud/nimbus/internal/db/dbtest"
	"github.com/nimbus-cloud/nimbus/internal/image"
	"github.com/nimbus-cloud/nimbus/internal/image/imagesql"
)

// newService returns a Service on a fresh SQLite store with glance's default
// policy.
func newService(t *testing.T, cfg image.Config) *image.Service {
	t.Helper()
	ms, err := imagesql.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	d := dbtest.Open(t, db.SQLite)
	if _, err := db.Migrate(context.Background(), d, imagesql.ServiceName, ms); err != nil {
		t.Fatal(err)
	}
	enf, err := policy.New(policy.ImageDefaults(), policy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DiskFormats == nil {
		cfg.DiskFormats = []string{"raw", "qcow2", "iso"}
		cfg.ContainerFormats = []string{"bare", "ovf"}
	}
	if cfg.ListLimit == 0 {
		cfg.ListLimit, cfg.ListMax = 25, 1000
	}
	// A clock a second further at each reading; parallel subtests share it.
	var ticks atomic.Int64
	start := time.Date(2026, 11, 27, 10, 10, 44, 0, time.UTC)
	return image.New(cfg, image.Deps{Store: imagesql.New(d), Authz: auth.NewAuthorizer(enf),
		Now: func() time.Time { return start.Add(time.Duration(ticks.Add(1)) * time.Second) }})
}

// as returns a context of a caller on project with roles.
func as(project string, roles ...string) context.Context {
	c := &auth.Caller{UserID: "u-" + project, ProjectID: project}
	for _, r := range roles {
		c.Roles = append(c.Roles, auth.Role{Name: r})
	}
	return auth.WithCaller(context.Background(), c)
}

var (
	alice = as("p-alice", "member", "reader")
	bob   = as("p-bob", "member", "reader")
	admin = as("p-admin", "admin", "member", "reader")
)

func attrs(t *testing.T, js string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(js), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func mustCreate(t *testing.T, s *image.Service, ctx context.Context, js string) image.Image {
	t.Helper()
	img, err := s.CreateImage(ctx, attrs(t, js))
	if err != nil {
		t.Fatalf("create %s: %v", js, err)
	}
	return img
}

func TestCreateImageDefaults(t *testing.T) {
	t.Parallel()
	s := newService(t, image.Config{})
	img := mustCreate(t, s, alice, `{"name":"cirros","disk_format":"raw","container_format":"bare","min_ram":64,"tags":["a","a","b"],"hw_disk_bus":"virtio"}`)
	if img.Status != image.Queued || img.Visibility != image.Shared || img.Owner != "p-alice" {
		t.Errorf("got status %s visibility %s owner %s", img.Status, img.Visibility, img.Owner)
	}
	if img.MinRAM != 64 || len(img.Tags) != 2 || img.Properties["hw_disk_bus"] != "virtio" {
		t.Errorf("got %+v", img)
	}
	got, err := s.GetImage(alice, img.ID)
	if err != nil || got.Name != "cirros" {
		t.Fatalf("get: %v %+v", err, got)
	}
}

func TestCreateImageRefusals(t *testing.T) {
	t.Parallel()
	s := newService(t, image.Config{})
	quota := newService(t, image.Config{ImageCountQuota: 1})
	mustCreate(t, quota, bob, `{"name":"first"}`)
	cases := []struct {
		name string
		ctx  context.Context
		body string
		kind error
	}{
		{"read-only status", alice, `{"status":"active"}`, image.ErrForbidden},
		{"read-only size", alice, `{"size":1}`, image.ErrForbidden},
		{"read-only self", alice, `{"self":"x"}`, image.ErrForbidden},
		{"reserved os_glance", alice, `{"os_glance_foo":"bar"}`, image.ErrForbidden},
		{"reserved locations", alice, `{"locations":[]}`, image.ErrForbidden},
		{"bad disk format", alice, `{"disk_format":"wrong"}`, image.ErrValidation},
		{"bad container format", alice, `{"container_format":"x"}`, image.ErrValidation},
		{"negative min_disk", alice, `{"min_disk":-1}`, image.ErrValidation},
		{"fractional min_ram", alice, `{"min_ram":1.5}`, image.ErrValidation},
		{"bad visibility", alice, `{"visibility":"everyone"}`, image.ErrValidation},
		{"protected not bool", alice, `{"protected":"yes"}`, image.ErrValidation},
		{"property not string", alice, `{"foo":1}`, image.ErrValidation},
		{"bad id", alice, `{"id":"nope"}`, image.ErrValidation},
		{"kernel_id not uuid", alice, `{"kernel_id":"x"}`, image.ErrValidation},
		{"tags not array", alice, `{"tags":"a"}`, image.ErrValidation},
		{"publicize as member", alice, `{"visibility":"public"}`, image.ErrForbidden},
		{"other owner", alice, `{"owner":"p-bob"}`, image.ErrForbidden},
	}
	if _, err := quota.CreateImage(bob, attrs(t, `{"name":"second"}`)); !errors.Is(err, image.ErrTooLarge) {
		t.Fatalf("count quota: %v", err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := s.CreateImage(tc.ctx, attrs(t, tc.body))
			if !errors.Is(err, tc.kind) {
				t.Fatalf("err = %v, want %v", err, tc.kind)
			}
		})
	}
	if _, err := s.CreateImage(admin, attrs(t, `{"visibility":"public","owner":"p-carol"}`)); err != nil {
		t.Fatalf("admin publicize for another project: %v", err)
	}
	id := "11111111-2222-4333-8444-555555555555"
	mustCreate(t, s, alice, `{"id":"`+id+`"}`)
	if _, err := s.CreateImage(alice, attrs(t, `{"id":"`+id+`"}`)); !errors.Is(err, image.ErrConflict) {
		t.Fatalf("duplicate id: %v", err)
	}
}

func TestVisibility(t *testing.T) {
	t.Parallel()
	s := newService(t, image.Config{})
	priv := mustCreate(t, s, alice, `{"name":"priv","visibility":"private"}`)
	shared := mustCreate(t, s, alice, `{"name":"shared"}`)
	comm := mustCreate(t, s, alice, `{"name":"comm","visibility":"community"}`)
	if _, err := s.GetImage(bob, priv.ID); !errors.Is(err, image.ErrNotFound) {
		t.Errorf("bob sees private: %v", err)
	}
	if _, err := s.GetImage(bob, shared.ID); !errors.Is(err, image.ErrNotFound) {
		t.Errorf("bob sees shared without membership: %v", err)
	}
	if _, err := s.GetImage(bob, comm.ID); err != nil {
		t.Errorf("bob cannot see community: %v", err)
	}
	if _, err := s.GetImage(admin, priv.ID); err != nil {
		t.Errorf("admin cannot see private: %v", err)
	}
	list := func(ctx context.Context, f image.ImageFilter) []string {
		imgs, _, err := s.ListImages(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, i := range imgs {
			names = append(names, i.Name)
		}
		return names
	}
	asc := []image.SortKey{{Key: "name"}}
	if got := list(bob, image.ImageFilter{Sort: asc}); len(got) != 0 {
		t.Errorf("bob's default list = %v, want none (community only with visibility)", got)
	}
	if got := list(bob, image.ImageFilter{Visibility: image.Community, Sort: asc}); len(got) != 1 {
		t.Errorf("bob's community list = %v", got)
	}
	if _, err := s.CreateMember(alice, shared.ID, "p-bob"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetImage(bob, shared.ID); err != nil {
		t.Errorf("pending member cannot see shared image: %v", err)
	}
	if got := list(bob, image.ImageFilter{Sort: asc}); len(got) != 0 {
		t.Errorf("pending image listed by default: %v", got)
	}
	if got := list(bob, image.ImageFilter{MemberStatus: image.MemberPending, Sort: asc}); len(got) != 1 {
		t.Errorf("member_status=pending list = %v", got)
	}
	if _, err := s.UpdateMember(bob, shared.ID, "p-bob", image.MemberAccepted); err != nil {
		t.Fatal(err)
	}
	if got := list(bob, image.ImageFilter{Sort: asc}); len(got) != 1 || got[0] != "shared" {
		t.Errorf("accepted list = %v", got)
	}
	if got := list(alice, image.ImageFilter{Sort: asc}); len(got) != 3 {
		t.Errorf("owner list = %v", got)
	}
}

func TestListPagination(t *testing.T) {
	t.Parallel()
	s := newService(t, image.Config{})
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		mustCreate(t, s, alice, `{"name":"`+n+`"}`)
	}
	var names []string
	f := image.ImageFilter{Limit: 2, Sort: []image.SortKey{{Key: "name"}}}
	for pages := 0; ; pages++ {
		imgs, more, err := s.ListImages(alice, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, i := range imgs {
			names = append(names, i.Name)
		}
		if !more {
			break
		}
		f.Marker = imgs[len(imgs)-1].ID
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
	}
	if len(names) != 5 || names[0] != "a" || names[4] != "e" {
		t.Errorf("pages = %v", names)
	}
	if _, _, err := s.ListImages(alice, image.ImageFilter{Marker: "nope"}); !errors.Is(err, image.ErrValidation) {
		t.Errorf("bad marker: %v", err)
	}
}

func TestUpdateImage(t *testing.T) {
	t.Parallel()
	s := newService(t, image.Config{})
	img := mustCreate(t, s, alice, `{"name":"x","disk_format":"raw","foo":"1"}`)
	got, err := s.UpdateImage(alice, img.ID, []image.PatchOp{
		{Op: "replace", Path: "/name", Value: "y"},
		{Op: "add", Path: "/bar", Value: "2"},
		{Op: "remove", Path: "/foo"},
		{Op: "replace", Path: "/tags", Value: []any{"t1"}},
		{Op: "add", Path: "/min_disk", Value: json.Number("3")},
		{Op: "replace", Path: "/visibility", Value: "community"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "y" || got.Properties["bar"] != "2" || got.Properties["foo"] != "" || got.MinDisk != 3 ||
		len(got.Tags) != 1 || got.Visibility != image.Community {
		t.Errorf("got %+v", got)
	}
	cases := []struct {
		name string
		ctx  context.Context
		op   image.PatchOp
		kind error
	}{
		{"read-only status", alice, image.PatchOp{Op: "replace", Path: "/status", Value: "active"}, image.ErrForbidden},
		{"read-only id", alice, image.PatchOp{Op: "replace", Path: "/id", Value: "x"}, image.ErrForbidden},
		{"reserved", alice, image.PatchOp{Op: "add", Path: "/os_glance_x", Value: "1"}, image.ErrForbidden},
		{"deep path", alice, image.PatchOp{Op: "add", Path: "/a/b", Value: "1"}, image.ErrValidation},
		{"no slash", alice, image.PatchOp{Op: "add", Path: "name", Value: "1"}, image.ErrValidation},
		{"replace missing property", alice, image.PatchOp{Op: "replace", Path: "/nope", Value: "1"}, image.ErrConflict},
		{"add existing property", alice, image.PatchOp{Op: "add", Path: "/bar", Value: "1"}, image.ErrConflict},
		{"remove missing property", alice, image.PatchOp{Op: "remove", Path: "/nope"}, image.ErrConflict},
		{"remove base", alice, image.PatchOp{Op: "remove", Path: "/name"}, image.ErrForbidden},
		{"publicize", alice, image.PatchOp{Op: "replace", Path: "/visibility", Value: "public"}, image.ErrForbidden},
		{"owner by member", alice, image.PatchOp{Op: "replace", Path: "/owner", Value: "p-bob"}, image.ErrForbidden},
		{"bad format", alice, image.PatchOp{Op: "replace", Path: "/disk_format", Value: "zip"}, image.ErrValidation},
		{"bad op", alice, image.PatchOp{Op: "move", Path: "/name", Value: "1"}, image.ErrValidation},
		{"other project", bob, image.PatchOp{Op: "replace", Path: "/name", Value: "z"}, image.ErrForbidden},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := s.UpdateImage(tc.ctx, img.ID, []image.PatchOp{tc.op})
			if !errors.Is(err, tc.kind) {
				t.Fatalf("err = %v, want %v", err, tc.kind)
			}
		})
	}
}

func TestDeleteAndActivation(t *testing.T) {
	t.Parallel()
	s := newService(t, image.Config{})
	img := mustCreate(t, s, alice, `{"protected":true}`)
	if err := s.DeleteImage(alice, img.ID); !errors.Is(err, image.ErrForbidden) {
		t.Fatalf("delete protected: %v", err)
	}
	if err := s.DeactivateImage(alice, img.ID); !errors.Is(err, image.ErrForbidden) {
		t.Fatalf("deactivate queued: %v", err)
	}
	if _, err := s.UpdateImage(alice, img.ID, []image.PatchOp{{Op: "replace", Path: "/protected", Value: false}}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteImage(bob, img.ID); !errors.Is(err, image.ErrNotFound) {
		t.Fatalf("delete by stranger: %v", err)
	}
	if err := s.DeleteImage(alice, img.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetImage(alice, img.ID); !errors.Is(err, image.ErrNotFound) {
		t.Fatalf("get deleted: %v", err)
	}
}

func TestMembersAndTags(t *testing.T) {
	t.Parallel()
	s := newService(t, image.Config{})
	priv := mustCreate(t, s, alice, `{"visibility":"private"}`)
	if _, err := s.CreateMember(alice, priv.ID, "p-bob"); !errors.Is(err, image.ErrConflict) {
		t.Fatalf("member of private image: %v", err)
	}
	img := mustCreate(t, s, alice, `{}`)
	if _, err := s.CreateMember(alice, img.ID, "p-bob"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateMember(alice, img.ID, "p-bob"); !errors.Is(err, image.ErrConflict) {
		t.Fatalf("duplicate member: %v", err)
	}
	if _, err := s.UpdateMember(alice, img.ID, "p-bob", image.MemberAccepted); !errors.Is(err, image.ErrForbidden) {
		t.Fatalf("owner accepts: %v", err)
	}
	if _, err := s.UpdateMember(bob, img.ID, "p-bob", "maybe"); !errors.Is(err, image.ErrValidation) {
		t.Fatalf("bad status: %v", err)
	}
	if ms, err := s.ListMembers(bob, img.ID); err != nil || len(ms) != 1 {
		t.Fatalf("member lists: %v %v", ms, err)
	}
	if err := s.DeleteMember(bob, img.ID, "p-bob"); !errors.Is(err, image.ErrForbidden) {
		t.Fatalf("member deletes: %v", err)
	}
	if err := s.AddTag(alice, img.ID, "x"); err != nil {
		t.Fatal(err)
	}
	if err := s.AddTag(alice, img.ID, "x"); err != nil {
		t.Fatalf("repeated tag: %v", err)
	}
	if err := s.DeleteTag(alice, img.ID, "y"); !errors.Is(err, image.ErrNotFound) {
		t.Fatalf("delete missing tag: %v", err)
	}
	if err := s.DeleteTag(alice, img.ID, "x"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteMember(alice, img.ID, "p-bob"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetImage(bob, img.ID); !errors.Is(err, image.ErrNotFound) {
		t.Fatalf("removed member still sees image: %v", err)
	}
}
