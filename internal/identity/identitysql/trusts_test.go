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

func trustID(t identity.Trust) string { return t.ID }

func TestTrusts(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *identitysql.Store, d *db.DB) {
		ctx := context.Background()
		full := identity.Trust{ID: "t1", TrustorUserID: "alice", TrusteeUserID: "bob", ProjectID: "p",
			Impersonation: true, ExpiresAt: t1, RemainingUses: ptr(3), RedelegationCount: 0,
			RoleIDs: []string{"reader", "member", "reader"}}
		dbtest.Must(t, s.CreateTrust(ctx, full))
		root := identity.Trust{ID: "t2", TrustorUserID: "alice", TrusteeUserID: "carol", ProjectID: "p",
			RedelegationCount: 3, RoleIDs: []string{"member"}}
		dbtest.Must(t, s.CreateTrust(ctx, root))
		child := identity.Trust{ID: "t3", TrustorUserID: "carol", TrusteeUserID: "bob", ProjectID: "p",
			RedelegatedTrustID: "t2", RedelegationCount: 2, RoleIDs: []string{"member"}}
		dbtest.Must(t, s.CreateTrust(ctx, child))
		grandchild := identity.Trust{ID: "t4", TrustorUserID: "bob", TrusteeUserID: "dave", ProjectID: "p",
			RedelegatedTrustID: "t3", RedelegationCount: 1, RoleIDs: []string{"member"}}
		dbtest.Must(t, s.CreateTrust(ctx, grandchild))
		bare := identity.Trust{ID: "t5", TrustorUserID: "erin", TrusteeUserID: "bob"}
		dbtest.Must(t, s.CreateTrust(ctx, bare))

		t.Run("get", func(t *testing.T) {
			want := full
			want.RoleIDs = []string{"member", "reader"}
			got, err := s.GetTrust(ctx, "t1")
			dbtest.Must(t, err)
			dbtest.Same(t, got, want)
			got, err = s.GetTrust(ctx, "t5")
			dbtest.Must(t, err)
			dbtest.Same(t, got, bare) // no project, expiry, limit or roles: zero values
			_, err = s.GetTrust(ctx, "missing")
			dbtest.WantErr(t, err, identity.ErrNotFound)
		})
		t.Run("create errors", func(t *testing.T) {
			dup := full
			dup.ID = "t9"
			dbtest.WantErr(t, s.CreateTrust(ctx, dup), identity.ErrConflict)
			dbtest.WantErr(t, s.CreateTrust(ctx, identity.Trust{ID: "t1", TrustorUserID: "x", TrusteeUserID: "y"}), identity.ErrConflict)
			dbtest.WantErr(t, s.CreateTrust(ctx, identity.Trust{ID: "t9", TrustorUserID: "x", TrusteeUserID: "y",
				RedelegatedTrustID: "missing"}), identity.ErrNotFound)
			dbtest.Same(t, count(t, d, "SELECT COUNT(*) FROM trust_role WHERE trust_id = ?", "t9"), 0)
		})
		t.Run("list", func(t *testing.T) { testListTrusts(t, s) })
		t.Run("consume", func(t *testing.T) {
			dbtest.Must(t, s.ConsumeTrustUse(ctx, "t1"))
			got, err := s.GetTrust(ctx, "t1")
			dbtest.Must(t, err)
			dbtest.Same(t, *got.RemainingUses, 2)
			dbtest.Must(t, s.ConsumeTrustUse(ctx, "t2")) // no limit: untouched
			got, err = s.GetTrust(ctx, "t2")
			dbtest.Must(t, err)
			dbtest.Same(t, got.RemainingUses, (*int)(nil))
			dbtest.WantErr(t, s.ConsumeTrustUse(ctx, "missing"), identity.ErrNotFound)
		})
		t.Run("delete", func(t *testing.T) {
			ids, err := s.DeleteTrust(ctx, "t2")
			dbtest.Must(t, err)
			dbtest.Same(t, ids, []string{"t2", "t3", "t4"})
			for _, id := range ids {
				_, err := s.GetTrust(ctx, id)
				dbtest.WantErr(t, err, identity.ErrNotFound)
			}
			dbtest.Same(t, count(t, d, "SELECT COUNT(*) FROM trust_role WHERE trust_id IN (?, ?, ?)", "t2", "t3", "t4"), 0)
			ids, err = s.DeleteTrust(ctx, "t5")
			dbtest.Must(t, err)
			dbtest.Same(t, ids, []string{"t5"})
			_, err = s.DeleteTrust(ctx, "t5")
			dbtest.WantErr(t, err, identity.ErrNotFound)
			got, err := s.ListTrusts(ctx, identity.TrustFilter{})
			dbtest.Must(t, err)
			dbtest.Same(t, idsOf(got, trustID), []string{"t1"})
		})
	})
}

// testListTrusts checks the filters of ListTrusts on TestTrusts' fixtures.
func testListTrusts(t *testing.T, s *identitysql.Store) {
	ctx := context.Background()
	for _, c := range []struct {
		name string
		f    identity.TrustFilter
		want []string
	}{
		{"all", identity.TrustFilter{}, []string{"t1", "t2", "t3", "t4", "t5"}},
		{"trustor", identity.TrustFilter{TrustorUserID: "alice"}, []string{"t1", "t2"}},
		{"trustee", identity.TrustFilter{TrusteeUserID: "bob"}, []string{"t1", "t3", "t5"}},
		{"both", identity.TrustFilter{TrustorUserID: "alice", TrusteeUserID: "bob"}, []string{"t1"}},
		{"redelegated from", identity.TrustFilter{RedelegatedTrustID: "t2"}, []string{"t3"}},
		{"none", identity.TrustFilter{TrustorUserID: "nobody"}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := s.ListTrusts(ctx, c.f)
			dbtest.Must(t, err)
			dbtest.Same(t, idsOf(got, trustID), c.want)
		})
	}
	got, err := s.ListTrusts(ctx, identity.TrustFilter{TrustorUserID: "alice"})
	dbtest.Must(t, err)
	dbtest.Same(t, got[0].RoleIDs, []string{"member", "reader"})
	dbtest.Same(t, *got[0].RemainingUses, 3)
	dbtest.Same(t, got[1].RemainingUses, (*int)(nil))
}

// TestTrustConsumeRace takes the uses of a trust from many goroutines at once:
// exactly as many succeed as the trust had uses.
func TestTrustConsumeRace(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *identitysql.Store, _ *db.DB) {
		ctx := context.Background()
		dbtest.Must(t, s.CreateTrust(ctx, identity.Trust{ID: "t", TrustorUserID: "a", TrusteeUserID: "b", RemainingUses: ptr(5)}))
		var (
			wg sync.WaitGroup
			mu sync.Mutex
			ok int
		)
		for range 12 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if s.ConsumeTrustUse(ctx, "t") == nil {
					mu.Lock()
					ok++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		dbtest.Same(t, ok, 5)
		got, err := s.GetTrust(ctx, "t")
		dbtest.Must(t, err)
		dbtest.Same(t, *got.RemainingUses, 0)
		dbtest.WantErr(t, s.ConsumeTrustUse(ctx, "t"), identity.ErrNotFound)
	})
}

func TestRevocationEventTrustID(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *identitysql.Store, _ *db.DB) {
		ctx := context.Background()
		at := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
		ev, err := s.AddRevocationEvent(ctx, identity.RevocationEvent{TrustID: "trust-1", IssuedBefore: at, RevokedAt: at})
		dbtest.Must(t, err)
		got, err := s.ListRevocationEvents(ctx, 0)
		dbtest.Must(t, err)
		dbtest.Same(t, got, []identity.RevocationEvent{ev})
		dbtest.Same(t, got[0].TrustID, "trust-1")
	})
}
