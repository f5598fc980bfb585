package imagesql_test

import (
	"context"
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/db"
	"github.com/nimbus-cloud/nimbus/internal/db/dbtest"
	"github.com/nimbus-cloud/nimbus/internal/image"
	"github.com/nimbus-cloud/nimbus/internal/image/imagesql"
)

func TestMembers(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *imagesql.Store, _ *db.DB) {
		ctx := context.Background()
		img := newImage(uuid(1), "owner", 0)
		img.Visibility = image.Shared
		mkImage(t, s, img)
		m2 := image.Member{ImageID: img.ID, MemberID: "p2", Status: image.MemberPending, CreatedAt: base, UpdatedAt: base}
		m1 := image.Member{ImageID: img.ID, MemberID: "p1", Status: image.MemberAccepted, CreatedAt: base, UpdatedAt: base}
		dbtest.Must(t, s.CreateMember(ctx, m2))
		dbtest.Must(t, s.CreateMember(ctx, m1))

		got, err := s.GetMember(ctx, img.ID, "p2")
		dbtest.Must(t, err)
		dbtest.Same(t, got, m2)
		ms, err := s.ListMembers(ctx, img.ID)
		dbtest.Must(t, err)
		dbtest.Same(t, ms, []image.Member{m1, m2})
		ms, err = s.ListMembers(ctx, "missing")
		dbtest.Must(t, err)
		dbtest.Same(t, ms, []image.Member(nil))

		dbtest.WantErr(t, s.CreateMember(ctx, m1), image.ErrConflict)
		dbtest.WantErr(t, s.CreateMember(ctx, image.Member{ImageID: "missing", MemberID: "p1", Status: image.MemberPending,
			CreatedAt: base, UpdatedAt: base}), image.ErrNotFound)
		_, err = s.GetMember(ctx, img.ID, "p9")
		dbtest.WantErr(t, err, image.ErrNotFound)

		upd := m2
		upd.Status, upd.UpdatedAt = image.MemberRejected, base.Add(time.Hour)
		upd.CreatedAt = base.Add(time.Hour) // ignored: created_at is kept
		dbtest.Must(t, s.UpdateMember(ctx, upd))
		dbtest.Must(t, s.UpdateMember(ctx, upd)) // unchanged
		got, err = s.GetMember(ctx, img.ID, "p2")
		dbtest.Must(t, err)
		upd.CreatedAt = base
		dbtest.Same(t, got, upd)
		dbtest.WantErr(t, s.UpdateMember(ctx, image.Member{ImageID: img.ID, MemberID: "p9", Status: image.MemberAccepted,
			UpdatedAt: base}), image.ErrNotFound)

		dbtest.Must(t, s.DeleteMember(ctx, img.ID, "p1"))
		dbtest.WantErr(t, s.DeleteMember(ctx, img.ID, "p1"), image.ErrNotFound)
		ms, err = s.ListMembers(ctx, img.ID)
		dbtest.Must(t, err)
		dbtest.Same(t, ms, []image.Member{upd})
	})
}
