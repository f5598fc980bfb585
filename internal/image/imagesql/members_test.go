package imagesql_test

import (
	"context"
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/db"
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
		must(t, s.CreateMember(ctx, m2))
		must(t, s.CreateMember(ctx, m1))

		got, err := s.GetMember(ctx, img.ID, "p2")
		must(t, err)
		same(t, got, m2)
		ms, err := s.ListMembers(ctx, img.ID)
		must(t, err)
		same(t, ms, []image.Member{m1, m2})
		ms, err = s.ListMembers(ctx, "missing")
		must(t, err)
		same(t, ms, []image.Member(nil))

		wantErr(t, s.CreateMember(ctx, m1), image.ErrConflict)
		wantErr(t, s.CreateMember(ctx, image.Member{ImageID: "missing", MemberID: "p1", Status: image.MemberPending,
			CreatedAt: base, UpdatedAt: base}), image.ErrNotFound)
		_, err = s.GetMember(ctx, img.ID, "p9")
		wantErr(t, err, image.ErrNotFound)

		upd := m2
		upd.Status, upd.UpdatedAt = image.MemberRejected, base.Add(time.Hour)
		upd.CreatedAt = base.Add(time.Hour) // ignored: created_at is kept
		must(t, s.UpdateMember(ctx, upd))
		must(t, s.UpdateMember(ctx, upd)) // unchanged
		got, err = s.GetMember(ctx, img.ID, "p2")
		must(t, err)
		upd.CreatedAt = base
		same(t, got, upd)
		wantErr(t, s.UpdateMember(ctx, image.Member{ImageID: img.ID, MemberID: "p9", Status: image.MemberAccepted,
			UpdatedAt: base}), image.ErrNotFound)

		must(t, s.DeleteMember(ctx, img.ID, "p1"))
		wantErr(t, s.DeleteMember(ctx, img.ID, "p1"), image.ErrNotFound)
		ms, err = s.ListMembers(ctx, img.ID)
		must(t, err)
		same(t, ms, []image.Member{upd})
	})
}
