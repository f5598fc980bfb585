package identitysql_test

import (
	"context"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/db"
	"github.com/nimbus-cloud/nimbus/internal/db/dbtest"
	"github.com/nimbus-cloud/nimbus/internal/identity"
	"github.com/nimbus-cloud/nimbus/internal/identity/identitysql"
)

func credentialID(c identity.CredentialRecord) string { return c.ID }

// mkCredential stores a credential whose sealed blob is its id's bytes.
func mkCredential(t *testing.T, s *identitysql.Store, id, userID, projectID, typ string) identity.CredentialRecord {
	t.Helper()
	c := identity.CredentialRecord{ID: id, UserID: userID, ProjectID: projectID, Type: typ,
		EncryptedBlob: []byte("sealed-" + id), KeyHash: "hash-" + id}
	dbtest.Must(t, s.CreateCredential(context.Background(), c))
	return c
}

func TestCredentials(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *identitysql.Store, d *db.DB) {
		ctx := context.Background()
		// Binary blobs round-trip byte for byte, NUL and high bytes included.
		full := identity.CredentialRecord{ID: "c1", UserID: "u1", ProjectID: "p1", Type: "ec2",
			EncryptedBlob: []byte{0, 1, 2, 0xff, 'x'}, KeyHash: "0123456789abcdef0123456789abcdef01234567",
			Extra: map[string]any{"note": "for CI", "n": float64(3)}}
		dbtest.Must(t, s.CreateCredential(ctx, full))
		mkCredential(t, s, "c2", "u1", "", "totp")
		mkCredential(t, s, "c3", "u2", "p1", "ec2")
		mkCredential(t, s, "c4", "u2", "p2", "cert")

		t.Run("get", func(t *testing.T) {
			got, err := s.GetCredential(ctx, "c1")
			dbtest.Must(t, err)
			dbtest.Same(t, got, full)
			got, err = s.GetCredential(ctx, "c2")
			dbtest.Must(t, err)
			dbtest.Same(t, got.ProjectID, "")
			dbtest.Same(t, got.Extra, map[string]any(nil))
			_, err = s.GetCredential(ctx, "missing")
			dbtest.WantErr(t, err, identity.ErrNotFound)
		})
		t.Run("duplicate id", func(t *testing.T) {
			dbtest.WantErr(t, s.CreateCredential(ctx, identity.CredentialRecord{ID: "c1", UserID: "u9", Type: "x",
				EncryptedBlob: []byte("b"), KeyHash: "h"}), identity.ErrConflict)
		})
		t.Run("list", func(t *testing.T) {
			for _, c := range []struct {
				name string
				f    identity.CredentialFilter
				want []string
			}{
				{"all", identity.CredentialFilter{}, []string{"c1", "c2", "c3", "c4"}},
				{"user", identity.CredentialFilter{UserID: "u1"}, []string{"c1", "c2"}},
				{"type", identity.CredentialFilter{Type: "ec2"}, []string{"c1", "c3"}},
				{"user and type", identity.CredentialFilter{UserID: "u2", Type: "ec2"}, []string{"c3"}},
				{"project", identity.CredentialFilter{ProjectID: "p1"}, []string{"c1", "c3"}},
				{"type is exact", identity.CredentialFilter{Type: "EC2"}, nil},
				{"none", identity.CredentialFilter{UserID: "nobody"}, nil},
			} {
				t.Run(c.name, func(t *testing.T) {
					got, err := s.ListCredentials(ctx, c.f)
					dbtest.Must(t, err)
					dbtest.Same(t, idsOf(got, credentialID), c.want)
				})
			}
		})
		t.Run("update", func(t *testing.T) {
			up := identity.CredentialRecord{ID: "c2", UserID: "u2", ProjectID: "p2", Type: "ec2",
				EncryptedBlob: []byte("resealed"), KeyHash: "new-hash", Extra: map[string]any{"k": "v"}}
			dbtest.Must(t, s.UpdateCredential(ctx, up))
			got, err := s.GetCredential(ctx, "c2")
			dbtest.Must(t, err)
			dbtest.Same(t, got, up)
			// Writing the same values again is no error on MySQL either.
			dbtest.Must(t, s.UpdateCredential(ctx, up))
			up.ProjectID, up.Extra = "", nil
			dbtest.Must(t, s.UpdateCredential(ctx, up))
			got, err = s.GetCredential(ctx, "c2")
			dbtest.Must(t, err)
			dbtest.Same(t, got, up)
			dbtest.WantErr(t, s.UpdateCredential(ctx, identity.CredentialRecord{ID: "missing", UserID: "u", Type: "t",
				EncryptedBlob: []byte("b"), KeyHash: "h"}), identity.ErrNotFound)
		})
		t.Run("delete", func(t *testing.T) {
			dbtest.Must(t, s.DeleteCredential(ctx, "c4"))
			_, err := s.GetCredential(ctx, "c4")
			dbtest.WantErr(t, err, identity.ErrNotFound)
			dbtest.WantErr(t, s.DeleteCredential(ctx, "c4"), identity.ErrNotFound)
		})
	})
}

// TestCredentialsGoWithUserAndProject checks that deleting a user or a project
// deletes their credentials, and nobody else's.
func TestCredentialsGoWithUserAndProject(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *identitysql.Store, d *db.DB) {
		ctx := context.Background()
		mkDomain(t, s, "d")
		mkProject(t, s, "p1", "d", "")
		mkProject(t, s, "p2", "d", "")
		mkUser(t, s, "u1", "d")
		mkUser(t, s, "u2", "d")
		mkCredential(t, s, "a", "u1", "p1", "ec2")
		mkCredential(t, s, "b", "u1", "", "totp")
		mkCredential(t, s, "c", "u2", "p1", "ec2")
		mkCredential(t, s, "e", "u2", "p2", "ec2")

		dbtest.Must(t, s.DeleteUser(ctx, "u1"))
		got, err := s.ListCredentials(ctx, identity.CredentialFilter{})
		dbtest.Must(t, err)
		dbtest.Same(t, idsOf(got, credentialID), []string{"c", "e"})

		dbtest.Must(t, s.DeleteProject(ctx, "p1"))
		got, err = s.ListCredentials(ctx, identity.CredentialFilter{})
		dbtest.Must(t, err)
		dbtest.Same(t, idsOf(got, credentialID), []string{"e"})
		dbtest.Same(t, count(t, d, "SELECT COUNT(*) FROM credential WHERE user_id = ?", "u2"), 1)
	})
}
