package identitysql_test

import (
	"context"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/db"
	"github.com/nimbus-cloud/nimbus/internal/db/dbtest"
	"github.com/nimbus-cloud/nimbus/internal/identity"
	"github.com/nimbus-cloud/nimbus/internal/identity/identitysql"
)

func appCredID(ac identity.ApplicationCredential) string { return ac.ID }

func TestApplicationCredentials(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *identitysql.Store, d *db.DB) {
		ctx := context.Background()
		mkDomain(t, s, "d")
		mkProject(t, s, "p", "d", "")
		mkUser(t, s, "u1", "d")
		mkUser(t, s, "u2", "d")
		full := identity.ApplicationCredential{ID: "ac1", Name: "ci", Description: "for CI", UserID: "u1",
			ProjectID: "p", SecretHash: "$2a$10$secret", ExpiresAt: t1, Unrestricted: true,
			RoleIDs: []string{"reader", "member", "reader"}}
		dbtest.Must(t, s.CreateApplicationCredential(ctx, full))
		bare := identity.ApplicationCredential{ID: "ac2", Name: "deploy", UserID: "u1", SecretHash: "h"}
		dbtest.Must(t, s.CreateApplicationCredential(ctx, bare))
		dbtest.Must(t, s.CreateApplicationCredential(ctx, identity.ApplicationCredential{ID: "ac3", Name: "ci", UserID: "u2",
			SecretHash: "h", RoleIDs: []string{"member"}}))

		t.Run("get", func(t *testing.T) {
			want := full
			want.RoleIDs = []string{"member", "reader"}
			got, err := s.GetApplicationCredential(ctx, "ac1")
			dbtest.Must(t, err)
			dbtest.Same(t, got, want)
			got, err = s.GetApplicationCredential(ctx, "ac2")
			dbtest.Must(t, err)
			dbtest.Same(t, got, bare) // no roles: nil; no expiry: zero
		})
		t.Run("errors", func(t *testing.T) {
			_, err := s.GetApplicationCredential(ctx, "missing")
			dbtest.WantErr(t, err, identity.ErrNotFound)
			dbtest.WantErr(t, s.CreateApplicationCredential(ctx, identity.ApplicationCredential{ID: "ac1", Name: "new",
				UserID: "u1"}), identity.ErrConflict)
			dbtest.WantErr(t, s.CreateApplicationCredential(ctx, identity.ApplicationCredential{ID: "ac9", Name: "ci",
				UserID: "u1", RoleIDs: []string{"member"}}), identity.ErrConflict)
			dbtest.WantErr(t, s.CreateApplicationCredential(ctx, identity.ApplicationCredential{ID: "ac9", Name: "x",
				UserID: "nouser"}), identity.ErrNotFound)
			dbtest.WantErr(t, s.DeleteApplicationCredential(ctx, "missing"), identity.ErrNotFound)
			dbtest.Same(t, count(t, d, "SELECT COUNT(*) FROM application_credential_role WHERE application_credential_id = ?", "ac9"), 0)
		})
		t.Run("list", func(t *testing.T) {
			for _, c := range []struct {
				name, user, credName string
				want                 []string
			}{
				{"user", "u1", "", []string{"ac1", "ac2"}},
				{"user and name", "u1", "ci", []string{"ac1"}},
				{"other user", "u2", "ci", []string{"ac3"}},
				{"every user", "", "", []string{"ac1", "ac2", "ac3"}},
				{"none", "u2", "deploy", nil},
			} {
				t.Run(c.name, func(t *testing.T) {
					got, err := s.ListApplicationCredentials(ctx, c.user, c.credName)
					dbtest.Must(t, err)
					dbtest.Same(t, idsOf(got, appCredID), c.want)
				})
			}
			got, err := s.ListApplicationCredentials(ctx, "u1", "")
			dbtest.Must(t, err)
			dbtest.Same(t, got[0].RoleIDs, []string{"member", "reader"})
			dbtest.Same(t, got[1].RoleIDs, nil)
		})
		t.Run("delete", func(t *testing.T) {
			dbtest.Must(t, s.DeleteApplicationCredential(ctx, "ac1"))
			_, err := s.GetApplicationCredential(ctx, "ac1")
			dbtest.WantErr(t, err, identity.ErrNotFound)
			dbtest.Same(t, count(t, d, "SELECT COUNT(*) FROM application_credential_role"), 1)
			dbtest.WantErr(t, s.DeleteApplicationCredential(ctx, "ac1"), identity.ErrNotFound)
		})
	})
}
