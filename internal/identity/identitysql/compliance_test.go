package identitysql_test

import (
	"context"
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/db"
	"github.com/nimbus-cloud/nimbus/internal/db/dbtest"
	"github.com/nimbus-cloud/nimbus/internal/identity"
	"github.com/nimbus-cloud/nimbus/internal/identity/identitysql"
)

func hashesOf(rs []identity.PasswordRecord) []string {
	return idsOf(rs, func(r identity.PasswordRecord) string { return r.Hash })
}

func TestPasswordState(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *identitysql.Store, d *db.DB) {
		ctx := context.Background()
		mkDomain(t, s, "d")
		mkUser(t, s, "u", "d")

		st, err := s.GetPasswordState(ctx, "u")
		dbtest.Must(t, err)
		dbtest.Same(t, st, identity.PasswordState{})
		dbtest.Must(t, s.RecordFailedAuth(ctx, "u", t1))
		dbtest.Must(t, s.RecordFailedAuth(ctx, "u", t2))
		st, err = s.GetPasswordState(ctx, "u")
		dbtest.Must(t, err)
		dbtest.Same(t, st, identity.PasswordState{FailedAuthCount: 2, FailedAuthAt: t2})
		dbtest.Must(t, s.ResetFailedAuth(ctx, "u"))
		st, err = s.GetPasswordState(ctx, "u")
		dbtest.Must(t, err)
		dbtest.Same(t, st, identity.PasswordState{})
		dbtest.Must(t, s.ResetFailedAuth(ctx, "nobody"))
		dbtest.WantErr(t, s.RecordFailedAuth(ctx, "nobody", t1), identity.ErrNotFound)
	})
}

func TestSetPassword(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *identitysql.Store, d *db.DB) {
		ctx := context.Background()
		mkDomain(t, s, "d")
		u := identity.User{ID: "u", Name: "u", DomainID: "d", Enabled: true, PasswordHash: "h0", PasswordCreatedAt: t1}
		dbtest.Must(t, s.CreateUser(ctx, u))
		set := func(hash string, keep int, self bool) {
			t.Helper()
			dbtest.Must(t, s.SetPassword(ctx, identity.PasswordChange{UserID: "u", Hash: hash, CreatedAt: t2,
				ExpiresAt: t2.Add(time.Hour), Keep: keep, SelfService: self}))
		}

		set("h1", 2, true)
		got, err := s.GetUser(ctx, "u")
		dbtest.Must(t, err)
		if got.PasswordHash != "h1" || !got.PasswordCreatedAt.Equal(t2) || !got.PasswordExpiresAt.Equal(t2.Add(time.Hour)) {
			t.Fatalf("user after SetPassword = %+v", got)
		}
		hist, err := s.ListPasswordHistory(ctx, "u", 10)
		dbtest.Must(t, err)
		dbtest.Same(t, hist, []identity.PasswordRecord{{Hash: "h0", CreatedAt: t1}})
		st, err := s.GetPasswordState(ctx, "u")
		dbtest.Must(t, err)
		dbtest.Same(t, st.SelfService, true)

		set("h2", 2, false)
		set("h3", 2, false)
		hist, err = s.ListPasswordHistory(ctx, "u", 10)
		dbtest.Must(t, err)
		dbtest.Same(t, hashesOf(hist), []string{"h2", "h1"})
		hist, err = s.ListPasswordHistory(ctx, "u", 1)
		dbtest.Must(t, err)
		dbtest.Same(t, hashesOf(hist), []string{"h2"})
		st, err = s.GetPasswordState(ctx, "u")
		dbtest.Must(t, err)
		dbtest.Same(t, st.SelfService, false)

		// A reset can forget failed checks; Keep 0 empties the history; an
		// empty hash removes the password.
		dbtest.Must(t, s.RecordFailedAuth(ctx, "u", t1))
		dbtest.Must(t, s.SetPassword(ctx, identity.PasswordChange{UserID: "u", Keep: 0, ResetFailedAuth: true}))
		got, err = s.GetUser(ctx, "u")
		dbtest.Must(t, err)
		if got.PasswordHash != "" || !got.PasswordCreatedAt.IsZero() || !got.PasswordExpiresAt.IsZero() {
			t.Fatalf("user after clearing the password = %+v", got)
		}
		dbtest.Same(t, count(t, d, "SELECT COUNT(*) FROM password_history WHERE user_id = ?", "u"), 0)
		st, err = s.GetPasswordState(ctx, "u")
		dbtest.Must(t, err)
		dbtest.Same(t, st, identity.PasswordState{})
		// Without a current password nothing enters the history.
		set("h4", 2, true)
		dbtest.Same(t, count(t, d, "SELECT COUNT(*) FROM password_history WHERE user_id = ?", "u"), 0)

		dbtest.WantErr(t, s.SetPassword(ctx, identity.PasswordChange{UserID: "nobody", Hash: "x"}), identity.ErrNotFound)
		hist, err = s.ListPasswordHistory(ctx, "u", 0)
		dbtest.Must(t, err)
		dbtest.Same(t, hist, nil)
	})
}

func TestAccessRules(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *identitysql.Store, d *db.DB) {
		ctx := context.Background()
		mkDomain(t, s, "d")
		mkUser(t, s, "u1", "d")
		mkUser(t, s, "u2", "d")
		ips := identity.AccessRule{ID: "r-ips", UserID: "u1", Service: "compute", Path: "/v2.1/servers/*/ips", Method: "GET"}
		img := identity.AccessRule{ID: "r-img", UserID: "u1", Service: "image", Path: "/v2/images", Method: "POST"}
		ac1 := identity.ApplicationCredential{ID: "ac1", Name: "one", UserID: "u1", SecretHash: "h", RoleIDs: []string{"member"}}
		got, err := s.CreateApplicationCredentialWithAccessRules(ctx, ac1, []identity.AccessRule{ips, img, ips})
		dbtest.Must(t, err)
		dbtest.Same(t, got, []identity.AccessRule{ips, img, ips})
		stored, err := s.GetApplicationCredential(ctx, "ac1")
		dbtest.Must(t, err)
		dbtest.Same(t, stored, ac1)

		// An equal rule under a new id, and a rule named by id, are the stored one.
		dup := ips
		dup.ID = "r-new"
		byID := identity.AccessRule{ID: "r-img", UserID: "u1"}
		got, err = s.CreateApplicationCredentialWithAccessRules(ctx,
			identity.ApplicationCredential{ID: "ac2", Name: "two", UserID: "u1", SecretHash: "h"}, []identity.AccessRule{dup, byID})
		dbtest.Must(t, err)
		dbtest.Same(t, got, []identity.AccessRule{ips, img})

		byCred, err := s.ListAppCredAccessRules(ctx, []string{"ac1", "ac2", "missing"})
		dbtest.Must(t, err)
		dbtest.Same(t, byCred, map[string][]identity.AccessRule{"ac1": {img, ips}, "ac2": {img, ips}})
		byCred, err = s.ListAppCredAccessRules(ctx, nil)
		dbtest.Must(t, err)
		dbtest.Same(t, len(byCred), 0)

		for _, c := range []struct {
			name string
			f    identity.AccessRuleFilter
			want []string
		}{
			{"user", identity.AccessRuleFilter{UserID: "u1"}, []string{"r-img", "r-ips"}},
			{"service", identity.AccessRuleFilter{UserID: "u1", Service: "compute"}, []string{"r-ips"}},
			{"path and method", identity.AccessRuleFilter{Path: "/v2/images", Method: "POST"}, []string{"r-img"}},
			{"other user", identity.AccessRuleFilter{UserID: "u2"}, nil},
		} {
			t.Run(c.name, func(t *testing.T) {
				rules, err := s.ListAccessRules(ctx, c.f)
				dbtest.Must(t, err)
				dbtest.Same(t, idsOf(rules, func(r identity.AccessRule) string { return r.ID }), c.want)
			})
		}

		t.Run("errors roll back", func(t *testing.T) {
			// u2 may not take u1's rule id, nor name it alone.
			taken := ips
			taken.UserID = "u2"
			_, err := s.CreateApplicationCredentialWithAccessRules(ctx,
				identity.ApplicationCredential{ID: "ac3", Name: "three", UserID: "u2", SecretHash: "h"}, []identity.AccessRule{taken})
			dbtest.WantErr(t, err, identity.ErrConflict)
			_, err = s.CreateApplicationCredentialWithAccessRules(ctx,
				identity.ApplicationCredential{ID: "ac3", Name: "three", UserID: "u2", SecretHash: "h"},
				[]identity.AccessRule{{ID: "r-img", UserID: "u2"}})
			dbtest.WantErr(t, err, identity.ErrNotFound)
			_, err = s.CreateApplicationCredentialWithAccessRules(ctx,
				identity.ApplicationCredential{ID: "ac3", Name: "one", UserID: "u1", SecretHash: "h"},
				[]identity.AccessRule{{ID: "r-new2", UserID: "u1", Service: "dns", Path: "/", Method: "GET"}})
			dbtest.WantErr(t, err, identity.ErrConflict) // the name is taken
			dbtest.Same(t, count(t, d, "SELECT COUNT(*) FROM application_credential WHERE id = ?", "ac3"), 0)
			dbtest.Same(t, count(t, d, "SELECT COUNT(*) FROM access_rule WHERE id = ?", "r-new2"), 0)
		})

		t.Run("delete", func(t *testing.T) {
			dbtest.WantErr(t, s.DeleteAccessRule(ctx, "r-img"), identity.ErrConflict)
			dbtest.Must(t, s.DeleteApplicationCredential(ctx, "ac1"))
			dbtest.WantErr(t, s.DeleteAccessRule(ctx, "r-img"), identity.ErrConflict)
			dbtest.Must(t, s.DeleteApplicationCredential(ctx, "ac2"))
			dbtest.Same(t, count(t, d, "SELECT COUNT(*) FROM application_credential_access_rule"), 0)
			dbtest.Must(t, s.DeleteAccessRule(ctx, "r-img"))
			dbtest.WantErr(t, s.DeleteAccessRule(ctx, "r-img"), identity.ErrNotFound)
			_, err := s.GetAccessRule(ctx, "r-img")
			dbtest.WantErr(t, err, identity.ErrNotFound)
			r, err := s.GetAccessRule(ctx, "r-ips")
			dbtest.Must(t, err)
			dbtest.Same(t, r, ips)
		})
	})
}

// TestComplianceRowsGoWithTheirUser checks that deleting a user, or the domain
// of users, deletes their history, lockout state, access rules and links.
func TestComplianceRowsGoWithTheirUser(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *identitysql.Store, d *db.DB) {
		ctx := context.Background()
		fill := func(user string) {
			t.Helper()
			dbtest.Must(t, s.SetPassword(ctx, identity.PasswordChange{UserID: user, Hash: "h1", Keep: 2}))
			dbtest.Must(t, s.SetPassword(ctx, identity.PasswordChange{UserID: user, Hash: "h2", Keep: 2}))
			dbtest.Must(t, s.RecordFailedAuth(ctx, user, t1))
			_, err := s.CreateApplicationCredentialWithAccessRules(ctx,
				identity.ApplicationCredential{ID: "ac-" + user, Name: "ac", UserID: user, SecretHash: "h"},
				[]identity.AccessRule{{ID: "r-" + user, UserID: user, Service: "compute", Path: "/", Method: "GET"}})
			dbtest.Must(t, err)
		}
		rows := func(user string) int {
			t.Helper()
			return count(t, d, "SELECT COUNT(*) FROM password_history WHERE user_id = ?", user) +
				count(t, d, "SELECT COUNT(*) FROM password_state WHERE user_id = ?", user) +
				count(t, d, "SELECT COUNT(*) FROM access_rule WHERE user_id = ?", user) +
				count(t, d, "SELECT COUNT(*) FROM application_credential_access_rule WHERE access_rule_id = ?", "r-"+user)
		}
		mkDomain(t, s, "d1")
		mkUser(t, s, "u1", "d1")
		fill("u1")
		dbtest.Same(t, rows("u1"), 4)
		dbtest.Must(t, s.DeleteUser(ctx, "u1"))
		dbtest.Same(t, rows("u1"), 0)

		mkUser(t, s, "u2", "d1")
		fill("u2")
		dbtest.Must(t, s.DeleteDomain(ctx, "d1"))
		dbtest.Same(t, rows("u2"), 0)
	})
}
