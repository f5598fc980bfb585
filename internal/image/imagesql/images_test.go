package imagesql_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/db"
	"github.com/nimbus-cloud/nimbus/internal/db/dbtest"
	"github.com/nimbus-cloud/nimbus/internal/image"
	"github.com/nimbus-cloud/nimbus/internal/image/imagesql"
)

func TestImages(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *imagesql.Store, d *db.DB) {
		ctx := context.Background()
		full := image.Image{ID: uuid(1), Name: "cirros", Status: image.Active, Visibility: image.Public,
			Protected: true, Hidden: true, Owner: "p1", DiskFormat: "qcow2", ContainerFormat: "bare",
			MinDisk: 1, MinRAM: 64, Size: ptr(int64(1 << 40)), VirtualSize: ptr(int64(0)),
			Checksum: "d41d8cd98f00b204e9800998ecf8427e", HashAlgo: "sha512", HashValue: "cf83e1",
			Tags: []string{"a", "b"}, Properties: map[string]string{"hw_disk_bus": "virtio", "os_distro": "cirros"},
			Location: "file:///var/lib/nimbus/images/x", Stores: []string{"file", "ceph"},
			CreatedAt: base, UpdatedAt: base.Add(time.Second)}
		mkImage(t, s, full)
		bare := mkImage(t, s, newImage(uuid(2), "p1", 1))

		t.Run("get", func(t *testing.T) {
			got, err := s.GetImage(ctx, full.ID)
			dbtest.Must(t, err)
			dbtest.Same(t, got, full)
			got, err = s.GetImage(ctx, bare.ID)
			dbtest.Must(t, err)
			dbtest.Same(t, got, bare)
		})
		t.Run("create normalizes tags", func(t *testing.T) {
			img := newImage(uuid(3), "p1", 2)
			img.Tags = []string{"z", "a", "z"}
			img.Properties = map[string]string{}
			mkImage(t, s, img)
			got, err := s.GetImage(ctx, img.ID)
			dbtest.Must(t, err)
			dbtest.Same(t, got.Tags, []string{"a", "z"})
			dbtest.Same(t, got.Properties, map[string]string(nil))
		})
		t.Run("not found", func(t *testing.T) {
			_, err := s.GetImage(ctx, "missing")
			dbtest.WantErr(t, err, image.ErrNotFound)
			dbtest.WantErr(t, s.UpdateImage(ctx, newImage("missing", "p1", 0)), image.ErrNotFound)
			dbtest.WantErr(t, s.UpdateImage(ctx, newImage("missing", "p1", 0), image.Queued), image.ErrNotFound)
			dbtest.WantErr(t, s.DeleteImage(ctx, "missing"), image.ErrNotFound)
		})
		t.Run("conflict and validation", func(t *testing.T) {
			dbtest.WantErr(t, s.CreateImage(ctx, newImage(full.ID, "p2", 0)), image.ErrConflict)
			dbtest.WantErr(t, s.CreateImage(ctx, image.Image{ID: uuid(9)}), image.ErrValidation)
		})
		t.Run("update", func(t *testing.T) {
			upd := full
			upd.Name, upd.Size, upd.VirtualSize, upd.Stores = "renamed", nil, nil, nil
			upd.Tags = []string{"c"}
			upd.Properties = map[string]string{"os_distro": "ubuntu", "new": "v"}
			upd.UpdatedAt = base.Add(time.Hour)
			dbtest.Must(t, s.UpdateImage(ctx, upd))
			dbtest.Must(t, s.UpdateImage(ctx, upd, image.Active)) // unchanged row still succeeds
			got, err := s.GetImage(ctx, full.ID)
			dbtest.Must(t, err)
			dbtest.Same(t, got, upd)
			if n := count(t, d, "SELECT COUNT(*) FROM image_properties WHERE image_id = ?", full.ID); n != 2 {
				t.Errorf("properties rows = %d, want 2", n)
			}
		})
		t.Run("compare and set", func(t *testing.T) {
			img := mkImage(t, s, newImage(uuid(4), "p1", 3))
			img.Status = image.Saving
			img.Tags = []string{"lost"}
			dbtest.WantErr(t, s.UpdateImage(ctx, img, image.Active, image.Killed), image.ErrConflict)
			got, err := s.GetImage(ctx, img.ID)
			dbtest.Must(t, err)
			dbtest.Same(t, got.Status, image.Queued)
			dbtest.Same(t, got.Tags, []string(nil))
			dbtest.Must(t, s.UpdateImage(ctx, img, image.Queued, image.Killed))
			got, err = s.GetImage(ctx, img.ID)
			dbtest.Must(t, err)
			dbtest.Same(t, got, img)
		})
		t.Run("racing uploads", func(t *testing.T) { testRace(t, s) })
		t.Run("usage", func(t *testing.T) {
			c, b, err := s.Usage(ctx, "nobody")
			dbtest.Must(t, err)
			if c != 0 || b != 0 {
				t.Errorf("Usage(nobody) = %d, %d; want 0, 0", c, b)
			}
			u := newImage(uuid(5), "u", 0)
			u.Size = ptr(int64(3 << 30))
			mkImage(t, s, u)
			u = newImage(uuid(6), "u", 0)
			u.Size = ptr(int64(5))
			mkImage(t, s, u)
			mkImage(t, s, newImage(uuid(7), "u", 0)) // no size yet
			u = newImage(uuid(8), "u", 0)
			u.Size, u.Status = ptr(int64(1000)), image.Deleted
			mkImage(t, s, u)
			c, b, err = s.Usage(ctx, "u")
			dbtest.Must(t, err)
			if c != 3 || b != 3<<30+5 {
				t.Errorf("Usage(u) = %d, %d; want 3, %d", c, b, int64(3<<30+5))
			}
		})
		t.Run("delete cascades", func(t *testing.T) {
			dbtest.Must(t, s.CreateMember(ctx, image.Member{ImageID: full.ID, MemberID: "p2", Status: image.MemberPending,
				CreatedAt: base, UpdatedAt: base}))
			dbtest.Must(t, s.DeleteImage(ctx, full.ID))
			_, err := s.GetImage(ctx, full.ID)
			dbtest.WantErr(t, err, image.ErrNotFound)
			for _, table := range []string{"image_tags", "image_properties", "image_members"} {
				if n := count(t, d, "SELECT COUNT(*) FROM "+table+" WHERE image_id = ?", full.ID); n != 0 {
					t.Errorf("%s rows left = %d", table, n)
				}
			}
		})
	})
}

// testRace has goroutines race to move one queued image to saving: exactly one
// wins and every other gets ErrConflict.
func testRace(t *testing.T, s *imagesql.Store) {
	ctx := context.Background()
	for round := range 5 {
		img := mkImage(t, s, newImage(uuid(100+round), "p1", round))
		const racers = 4
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			wins int
			errs []error
		)
		for r := range racers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				upd := img
				upd.Status = image.Saving
				upd.Tags = []string{"racer", string(rune('a' + r))}
				err := s.UpdateImage(ctx, upd, image.Queued)
				mu.Lock()
				defer mu.Unlock()
				if err == nil {
					wins++
				} else if !errors.Is(err, image.ErrConflict) {
					errs = append(errs, err)
				}
			}()
		}
		wg.Wait()
		if wins != 1 || len(errs) > 0 {
			t.Fatalf("round %d: %d winners, unexpected errors %v; want exactly one winner", round, wins, errs)
		}
		got, err := s.GetImage(ctx, img.ID)
		dbtest.Must(t, err)
		if got.Status != image.Saving || len(got.Tags) != 2 {
			t.Errorf("round %d: after race status %s tags %v", round, got.Status, got.Tags)
		}
	}
}
