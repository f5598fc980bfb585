package identitysql_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/db"
	"github.com/nimbus-cloud/nimbus/internal/db/dbtest"
	"github.com/nimbus-cloud/nimbus/internal/identity"
	"github.com/nimbus-cloud/nimbus/internal/identity/identitysql"
)

func TestRevocationEvents(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *identitysql.Store, _ *db.DB) {
		ctx := context.Background()
		base := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
		_, err := s.AddRevocationEvent(ctx, identity.RevocationEvent{UserID: "u", IssuedBefore: base})
		dbtest.WantErr(t, err, identity.ErrValidation)
		_, err = s.AddRevocationEvent(ctx, identity.RevocationEvent{UserID: "u", RevokedAt: base})
		dbtest.WantErr(t, err, identity.ErrValidation)

		in := []identity.RevocationEvent{
			{UserID: "u1", ProjectID: "p1", DomainID: "d1", RoleID: "r1", AuditID: "a1", AuditChainID: "c1",
				AppCredID: "ac1", IssuedBefore: base.Add(-2 * time.Hour), RevokedAt: base.Add(-2 * time.Hour)},
			{AuditID: "a2", IssuedBefore: base.Add(-time.Hour), RevokedAt: base.Add(-time.Hour).Add(time.Microsecond)},
			{UserID: "u3", IssuedBefore: base.Add(-time.Minute), RevokedAt: base},
			{ProjectID: "p4", IssuedBefore: base.Add(time.Hour), RevokedAt: base.Add(time.Hour).In(time.FixedZone("x", 3600))},
		}
		var stored []identity.RevocationEvent
		for i, ev := range in {
			got, err := s.AddRevocationEvent(ctx, ev)
			dbtest.Must(t, err)
			if i > 0 && got.Seq <= stored[i-1].Seq {
				t.Fatalf("seq %d after %d: not increasing", got.Seq, stored[i-1].Seq)
			}
			ev.Seq, ev.RevokedAt = got.Seq, ev.RevokedAt.UTC()
			dbtest.Same(t, got, ev)
			stored = append(stored, got)
		}

		t.Run("list", func(t *testing.T) {
			got, err := s.ListRevocationEvents(ctx, 0)
			dbtest.Must(t, err)
			dbtest.Same(t, got, stored)
			got, err = s.ListRevocationEvents(ctx, stored[1].Seq)
			dbtest.Must(t, err)
			dbtest.Same(t, got, stored[2:])
			got, err = s.ListRevocationEvents(ctx, stored[3].Seq)
			dbtest.Must(t, err)
			dbtest.Same(t, got, nil)
		})
		t.Run("prune", func(t *testing.T) {
			n, err := s.PruneRevocationEvents(ctx, base) // strictly before: the event revoked at base stays
			dbtest.Must(t, err)
			dbtest.Same(t, n, int64(2))
			got, err := s.ListRevocationEvents(ctx, 0)
			dbtest.Must(t, err)
			dbtest.Same(t, got, stored[2:])
			n, err = s.PruneRevocationEvents(ctx, base)
			dbtest.Must(t, err)
			dbtest.Same(t, n, int64(0))
			next, err := s.AddRevocationEvent(ctx, identity.RevocationEvent{UserID: "u", IssuedBefore: base, RevokedAt: base})
			dbtest.Must(t, err)
			if next.Seq <= stored[3].Seq {
				t.Errorf("seq after prune = %d, want > %d", next.Seq, stored[3].Seq)
			}
		})
	})
}

// TestRevocationEventsConcurrent polls while several writers add events: a
// reader that always asks for events after the last seq it saw misses none.
func TestRevocationEventsConcurrent(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *identitysql.Store, _ *db.DB) {
		ctx := context.Background()
		const writers, each = 4, 15
		at := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
		var wg sync.WaitGroup
		errs := make(chan error, writers*each)
		for w := 0; w < writers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < each; i++ {
					_, err := s.AddRevocationEvent(ctx, identity.RevocationEvent{UserID: "u", IssuedBefore: at, RevokedAt: at})
					errs <- err
				}
			}()
		}
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()

		var seen []int64
		poll := func() {
			last := int64(0)
			if len(seen) > 0 {
				last = seen[len(seen)-1]
			}
			evs, err := s.ListRevocationEvents(ctx, last)
			dbtest.Must(t, err)
			for _, ev := range evs {
				seen = append(seen, ev.Seq)
			}
		}
		for finished := false; !finished; {
			select {
			case <-done:
				finished = true
			default:
			}
			poll()
		}
		close(errs)
		for err := range errs {
			dbtest.Must(t, err)
		}
		all, err := s.ListRevocationEvents(ctx, 0)
		dbtest.Must(t, err)
		if len(all) != writers*each {
			t.Fatalf("stored %d events, want %d", len(all), writers*each)
		}
		if len(seen) != len(all) {
			t.Fatalf("poller saw %d of %d events: a later seq became visible before an earlier one", len(seen), len(all))
		}
		for i := 1; i < len(seen); i++ {
			if seen[i] <= seen[i-1] {
				t.Fatalf("seqs out of order: %d after %d", seen[i], seen[i-1])
			}
		}
	})
}
