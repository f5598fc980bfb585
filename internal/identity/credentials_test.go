package identity_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/auth"
	"github.com/nimbus-cloud/nimbus/internal/auth/policy"
	"github.com/nimbus-cloud/nimbus/internal/identity"
	"github.com/nimbus-cloud/nimbus/internal/identity/fernet"
)

// credEnv is a crudEnv plus a service over the same store that enforces the
// real identity policy and seals credentials with a real Fernet key repository.
type credEnv struct {
	*crudEnv
	// svc shadows the crudEnv's: it enforces the real policy and has a cipher.
	svc  *identity.Service
	repo *fernet.KeyRepository
	// alice and bob are members of project; their contexts are scoped to it.
	alice, bob     identity.User
	project, other identity.Project
	aliceCx, bobCx context.Context
}

func newCredEnv(t *testing.T) *credEnv {
	t.Helper()
	e := &credEnv{crudEnv: newCrudEnv(t)}
	repo, err := fernet.NewKeyRepository(filepath.Join(t.TempDir(), "credential-keys"), 0)
	mustOK(t, err)
	mustOK(t, repo.Setup())
	enforcer, err := policy.New(policy.IdentityDefaults(), policy.Options{})
	mustOK(t, err)
	e.repo = repo
	e.svc = identity.New(identity.Config{}, identity.Deps{Store: e.store, Tokens: &crudTokens{m: map[string]fernet.Payload{}},
		Hasher: crudHasher{}, Authz: auth.NewAuthorizer(enforcer), Credentials: identity.NewFernetCipher(repo)})
	e.project = e.mkProject(t, "web", "")
	e.other = e.mkProject(t, "db", "")
	e.alice, e.bob = e.mkUser(t, "alice"), e.mkUser(t, "bob")
	e.aliceCx = memberCtx(e.alice.ID, e.project.ID, "")
	e.bobCx = memberCtx(e.bob.ID, e.project.ID, "")
	return e
}

// memberCtx is a member's project-scoped caller, delegated through the
// application credential appCredID when it is set.
func memberCtx(userID, projectID, appCredID string) context.Context {
	c := &auth.Caller{UserID: userID, UserDomainID: "default", ProjectID: projectID, ProjectDomainID: "default",
		Roles: []auth.Role{{Name: "member"}, {Name: "reader"}}, Methods: []string{"password"}}
	if appCredID != "" {
		c.AppCredID, c.Methods = appCredID, []string{"application_credential"}
	}
	return auth.WithCaller(context.Background(), c)
}

// appCredCtx stores an application credential of the user on the project and
// returns a caller authenticated with it.
func (e *credEnv) appCredCtx(t *testing.T, user identity.User, projectID string, unrestricted bool) context.Context {
	t.Helper()
	ac := identity.ApplicationCredential{ID: identity.NewID(), Name: identity.NewID(), UserID: user.ID,
		ProjectID: projectID, SecretHash: "hashed:s", Unrestricted: unrestricted}
	mustOK(t, e.store.CreateApplicationCredential(context.Background(), ac))
	return memberCtx(user.ID, projectID, ac.ID)
}

// ec2BlobOf returns an ec2 blob with the given access key.
func ec2BlobOf(access string) string {
	return fmt.Sprintf(`{"access": %q, "secret": "secret-of-%s"}`, access, access)
}

func TestCredentialLifecycle(t *testing.T) {
	t.Parallel()
	e := newCredEnv(t)
	blob := ec2BlobOf("AK1")
	c, err := e.svc.CreateCredential(e.admin, identity.CredentialCreate{UserID: e.alice.ID, ProjectID: e.project.ID,
		Type: "ec2", Blob: blob, Extra: map[string]any{"label": "ci"}})
	mustOK(t, err)
	sum := sha256.Sum256([]byte("AK1"))
	if c.ID != hex.EncodeToString(sum[:]) || c.ID != identity.EC2CredentialID("AK1") ||
		c.Blob != blob || c.UserID != e.alice.ID || c.ProjectID != e.project.ID || c.Extra["label"] != "ci" {
		t.Fatalf("created %#v blob %q extra %v", c, c.Blob, c.Extra)
	}

	// At rest the blob is sealed, and the key hash names the primary key.
	rec, err := e.store.GetCredential(context.Background(), c.ID)
	mustOK(t, err)
	if bytes.Contains(rec.EncryptedBlob, []byte("secret-of-AK1")) || bytes.Contains(rec.EncryptedBlob, []byte("AK1")) {
		t.Fatalf("stored blob is not sealed: %q", rec.EncryptedBlob)
	}
	if !regexp.MustCompile(`^[0-9a-f]{40}$`).MatchString(rec.KeyHash) {
		t.Fatalf("key hash = %q", rec.KeyHash)
	}

	got, err := e.svc.GetCredential(e.admin, c.ID)
	mustOK(t, err)
	if got.Blob != blob || got.Type != "ec2" || got.Extra["label"] != "ci" {
		t.Fatalf("get = %#v %q", got, got.Blob)
	}

	// A new access key keeps the id, as keystone does; a project may change.
	newBlob := ec2BlobOf("AK2")
	up, err := e.svc.UpdateCredential(e.admin, c.ID, identity.CredentialUpdate{Blob: &newBlob,
		ProjectID: ptr(e.other.ID), Extra: map[string]any{"rotated": true}})
	mustOK(t, err)
	if up.ID != c.ID || up.Blob != newBlob || up.ProjectID != e.other.ID || up.Extra["label"] != "ci" || up.Extra["rotated"] != true {
		t.Fatalf("updated = %#v %q %v", up, up.Blob, up.Extra)
	}
	got, err = e.svc.GetCredential(e.admin, c.ID)
	mustOK(t, err)
	if got.Blob != newBlob || got.ProjectID != e.other.ID {
		t.Fatalf("after update = %#v %q", got, got.Blob)
	}
	// An update without a blob keeps the sealed blob as it is.
	before, err := e.store.GetCredential(context.Background(), c.ID)
	mustOK(t, err)
	_, err = e.svc.UpdateCredential(e.admin, c.ID, identity.CredentialUpdate{Extra: map[string]any{"k": "v"}})
	mustOK(t, err)
	after, err := e.store.GetCredential(context.Background(), c.ID)
	mustOK(t, err)
	if !bytes.Equal(before.EncryptedBlob, after.EncryptedBlob) {
		t.Fatal("an update without a blob resealed it")
	}

	totp, err := e.svc.CreateCredential(e.admin, identity.CredentialCreate{UserID: e.bob.ID, Type: "totp", Blob: "GEZDGNBVGY3TQOJQ"})
	mustOK(t, err)
	if len(totp.ID) != 32 || totp.ProjectID != "" {
		t.Fatalf("totp = %#v", totp)
	}
	for _, c := range []struct {
		name string
		f    identity.CredentialFilter
		want []string
	}{
		{"all", identity.CredentialFilter{}, []string{c.ID, totp.ID}},
		{"by user", identity.CredentialFilter{UserID: e.bob.ID}, []string{totp.ID}},
		{"by type", identity.CredentialFilter{Type: "ec2"}, []string{c.ID}},
		{"nothing", identity.CredentialFilter{Type: "cert"}, nil},
	} {
		list, err := e.svc.ListCredentials(e.admin, c.f)
		mustOK(t, err)
		if got := credIDs(list); !slices.Equal(got, sortedIDs(c.want...)) {
			t.Errorf("%s: list = %v, want %v", c.name, got, c.want)
		}
	}

	mustOK(t, e.svc.DeleteCredential(e.admin, c.ID))
	_, err = e.svc.GetCredential(e.admin, c.ID)
	wantErr(t, err, identity.ErrNotFound, "Could not find credential: "+c.ID+".")
	wantErr(t, e.svc.DeleteCredential(e.admin, c.ID), identity.ErrNotFound, "Could not find credential")
}

func credIDs(cs []identity.Credential) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.ID)
	}
	slices.Sort(out)
	return out
}

func TestCredentialOwnership(t *testing.T) {
	t.Parallel()
	e := newCredEnv(t)
	mine, err := e.svc.CreateCredential(e.aliceCx, identity.CredentialCreate{UserID: e.alice.ID, ProjectID: e.project.ID,
		Type: "ec2", Blob: ec2BlobOf("alice-key")})
	mustOK(t, err)
	theirs, err := e.svc.CreateCredential(e.bobCx, identity.CredentialCreate{UserID: e.bob.ID, Type: "totp", Blob: "seed"})
	mustOK(t, err)

	_, err = e.svc.CreateCredential(e.aliceCx, identity.CredentialCreate{UserID: e.bob.ID, Type: "totp", Blob: "x"})
	wantErr(t, err, identity.ErrForbidden, "identity:create_credential")
	list, err := e.svc.ListCredentials(e.aliceCx, identity.CredentialFilter{})
	mustOK(t, err)
	if got := credIDs(list); !slices.Equal(got, []string{mine.ID}) {
		t.Fatalf("alice lists %v, want only her own", got)
	}
	list, err = e.svc.ListCredentials(e.aliceCx, identity.CredentialFilter{UserID: e.bob.ID})
	mustOK(t, err)
	if len(list) != 0 {
		t.Fatalf("alice lists bob's: %v", credIDs(list))
	}
	_, err = e.svc.GetCredential(e.aliceCx, theirs.ID)
	wantErr(t, err, identity.ErrForbidden, "identity:get_credential")
	wantErr(t, e.svc.DeleteCredential(e.aliceCx, theirs.ID), identity.ErrForbidden, "identity:delete_credential")
	// A missing credential is a 403 for a user: it has no owner to match.
	_, err = e.svc.GetCredential(e.aliceCx, "missing")
	wantErr(t, err, identity.ErrForbidden, "identity:get_credential")
	// The owner may not hand a credential to someone else.
	_, err = e.svc.UpdateCredential(e.aliceCx, mine.ID, identity.CredentialUpdate{UserID: &e.bob.ID})
	wantErr(t, err, identity.ErrForbidden, "identity:update_credential")
	got, err := e.svc.GetCredential(e.aliceCx, mine.ID)
	mustOK(t, err)
	if got.UserID != e.alice.ID {
		t.Fatalf("credential moved to %s", got.UserID)
	}
	mustOK(t, e.svc.DeleteCredential(e.aliceCx, mine.ID))

	// An administrator sees and manages everyone's.
	list, err = e.svc.ListCredentials(e.admin, identity.CredentialFilter{})
	mustOK(t, err)
	if got := credIDs(list); !slices.Equal(got, []string{theirs.ID}) {
		t.Fatalf("admin lists %v", got)
	}
	_, err = e.svc.UpdateCredential(e.admin, theirs.ID, identity.CredentialUpdate{UserID: &e.alice.ID})
	mustOK(t, err)
}

func TestCredentialBadInput(t *testing.T) {
	t.Parallel()
	e := newCredEnv(t)
	ec2 := func(blob string) identity.CredentialCreate {
		return identity.CredentialCreate{UserID: e.alice.ID, ProjectID: e.project.ID, Type: "ec2", Blob: blob}
	}
	_, err := e.svc.CreateCredential(e.admin, ec2(ec2BlobOf("taken")))
	mustOK(t, err)
	create := []struct {
		name string
		in   identity.CredentialCreate
		kind error
		msg  string
	}{
		{"ec2 without project", identity.CredentialCreate{UserID: e.alice.ID, Type: "ec2", Blob: ec2BlobOf("a")},
			identity.ErrValidation, "Expecting to find project_id in credential."},
		{"ec2 blob not JSON", ec2("access=a"), identity.ErrValidation, "Invalid blob in credential"},
		{"ec2 blob not an object", ec2(`["a"]`), identity.ErrValidation, "Expecting to find blob in credential."},
		{"ec2 blob empty object", ec2(`{}`), identity.ErrValidation, "Expecting to find blob in credential."},
		{"ec2 blob without access", ec2(`{"secret": "s"}`), identity.ErrValidation, "Expecting to find access in credential."},
		{"ec2 access not a string", ec2(`{"access": 7}`), identity.ErrValidation, "Expecting to find access in credential."},
		{"EC2 in capitals is ec2", identity.CredentialCreate{UserID: e.alice.ID, Type: "EC2", Blob: "{}"},
			identity.ErrValidation, "Expecting to find project_id"},
		{"type too long", identity.CredentialCreate{UserID: e.alice.ID, Type: strings.Repeat("t", 256), Blob: "x"},
			identity.ErrValidation, "is too long"},
		{"missing user", identity.CredentialCreate{UserID: "nobody", Type: "totp", Blob: "x"},
			identity.ErrNotFound, "Could not find user: nobody."},
		{"missing project", identity.CredentialCreate{UserID: e.alice.ID, ProjectID: "nowhere", Type: "totp", Blob: "x"},
			identity.ErrNotFound, "Could not find project: nowhere."},
		{"duplicate access key", ec2(ec2BlobOf("taken")), identity.ErrConflict,
			"Conflict occurred attempting to store credential - Duplicate ID, " + identity.EC2CredentialID("taken")},
	}
	for _, c := range create {
		t.Run(c.name, func(t *testing.T) {
			_, err := e.svc.CreateCredential(e.admin, c.in)
			wantErr(t, err, c.kind, c.msg)
		})
	}

	scoped, err := e.svc.CreateCredential(e.admin, ec2(`{"access": "scoped", "trust_id": "t1"}`))
	mustOK(t, err)
	plain, err := e.svc.CreateCredential(e.admin, identity.CredentialCreate{UserID: e.alice.ID, Type: "cert", Blob: "PEM"})
	mustOK(t, err)
	update := []struct {
		name string
		id   string
		up   identity.CredentialUpdate
		kind error
		msg  string
	}{
		{"change id", scoped.ID, identity.CredentialUpdate{ID: ptr("other")}, identity.ErrValidation, "Cannot change ID"},
		{"drop trust", scoped.ID, identity.CredentialUpdate{Blob: ptr(`{"access": "scoped"}`)}, identity.ErrValidation,
			"trust_id can not be updated for credential"},
		{"bad ec2 blob", scoped.ID, identity.CredentialUpdate{Blob: ptr(`nope`)}, identity.ErrValidation, "Invalid blob in credential"},
		{"clear ec2 project", scoped.ID, identity.CredentialUpdate{ProjectID: ptr("")}, identity.ErrValidation,
			"Expecting to find project_id in credential."},
		{"become ec2 without project", plain.ID, identity.CredentialUpdate{Type: ptr("ec2")}, identity.ErrValidation,
			"Expecting to find project_id in credential."},
		{"become ec2 with a bad blob", plain.ID, identity.CredentialUpdate{Type: ptr("ec2"), ProjectID: &e.project.ID},
			identity.ErrValidation, "Invalid blob in credential"},
		{"missing user", plain.ID, identity.CredentialUpdate{UserID: ptr("nobody")}, identity.ErrNotFound, "Could not find user: nobody."},
		{"missing credential", "missing", identity.CredentialUpdate{Blob: ptr("x")}, identity.ErrNotFound,
			"Could not find credential: missing."},
	}
	for _, c := range update {
		t.Run(c.name, func(t *testing.T) {
			_, err := e.svc.UpdateCredential(e.admin, c.id, c.up)
			wantErr(t, err, c.kind, c.msg)
		})
	}
	// Keeping the delegation members is fine.
	_, err = e.svc.UpdateCredential(e.admin, scoped.ID, identity.CredentialUpdate{
		Blob: ptr(`{"access": "scoped2", "secret": "s", "trust_id": "t1"}`)})
	mustOK(t, err)
}

func TestCredentialKeyRotation(t *testing.T) {
	t.Parallel()
	e := newCredEnv(t)
	first, err := e.svc.CreateCredential(e.admin, identity.CredentialCreate{UserID: e.alice.ID, Type: "totp", Blob: "first"})
	mustOK(t, err)
	_, err = e.repo.Rotate()
	mustOK(t, err)
	second, err := e.svc.CreateCredential(e.admin, identity.CredentialCreate{UserID: e.alice.ID, Type: "totp", Blob: "second"})
	mustOK(t, err)
	r1, err := e.store.GetCredential(context.Background(), first.ID)
	mustOK(t, err)
	r2, err := e.store.GetCredential(context.Background(), second.ID)
	mustOK(t, err)
	if r1.KeyHash == r2.KeyHash {
		t.Fatal("a rotation did not change the key hash")
	}
	// Both open after the rotation, each with its own key.
	for _, c := range []identity.Credential{first, second} {
		got, err := e.svc.GetCredential(e.admin, c.ID)
		mustOK(t, err)
		if got.Blob != c.Blob {
			t.Fatalf("%s opens to %q, want %q", c.ID, got.Blob, c.Blob)
		}
	}
	// Rotating the first key out of the repository makes its blob unreadable:
	// a server error that names neither blob nor key.
	for range 2 {
		_, err = e.repo.Rotate()
		mustOK(t, err)
	}
	_, err = e.svc.GetCredential(e.admin, first.ID)
	if err == nil || strings.Contains(err.Error(), "first") || strings.Contains(err.Error(), string(r1.EncryptedBlob)) {
		t.Fatalf("opening a blob of a pruned key: %v", err)
	}
	var ie *identity.Error
	if errors.As(err, &ie) {
		t.Fatalf("a pruned key is a client error: %v", err)
	}
}

// TestCredentialsNeverLogged checks that printing or logging a credential or
// an EC2 key pair shows neither blob nor secret.
func TestCredentialsNeverLogged(t *testing.T) {
	t.Parallel()
	c := identity.Credential{ID: "c1", UserID: "u1", Type: "ec2", Blob: `{"access": "a", "secret": "TOPSECRET"}`}
	k := identity.EC2Credential{UserID: "u1", TenantID: "p1", Access: "a", Secret: "TOPSECRET"}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("stored", "credential", c, "ec2", k)
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("stored", "credential", c, "ec2", k)
	out := buf.String() + fmt.Sprintf("%v %+v %#v %s %v %+v %#v", c, c, c, c, k, k, k)
	if strings.Contains(out, "TOPSECRET") {
		t.Fatalf("secret leaked: %s", out)
	}
	if !strings.Contains(out, "c1") || !strings.Contains(out, "u1") {
		t.Fatalf("ids missing: %s", out)
	}
}

func TestCredentialsWithoutCipher(t *testing.T) {
	t.Parallel()
	e := newCrudEnv(t)
	u := e.mkUser(t, "alice")
	_, err := e.svc.CreateCredential(e.admin, identity.CredentialCreate{UserID: u.ID, Type: "totp", Blob: "seed"})
	if err == nil || !strings.Contains(err.Error(), "not configured") {
		t.Fatalf("create without a cipher: %v", err)
	}
}

func TestCredentialsGoWithTheirUser(t *testing.T) {
	t.Parallel()
	e := newCredEnv(t)
	a, err := e.svc.CreateCredential(e.admin, identity.CredentialCreate{UserID: e.alice.ID, Type: "totp", Blob: "x"})
	mustOK(t, err)
	b, err := e.svc.CreateCredential(e.admin, identity.CredentialCreate{UserID: e.bob.ID, ProjectID: e.other.ID,
		Type: "totp", Blob: "y"})
	mustOK(t, err)
	mustOK(t, e.svc.DeleteUser(e.admin, e.alice.ID))
	_, err = e.svc.GetCredential(e.admin, a.ID)
	wantErr(t, err, identity.ErrNotFound, "Could not find credential")
	mustOK(t, e.svc.DeleteProject(e.admin, e.other.ID))
	_, err = e.svc.GetCredential(e.admin, b.ID)
	wantErr(t, err, identity.ErrNotFound, "Could not find credential")
}

func TestEC2Credentials(t *testing.T) {
	t.Parallel()
	e := newCredEnv(t)
	k, err := e.svc.CreateEC2Credential(e.aliceCx, e.alice.ID, e.project.ID)
	mustOK(t, err)
	hex32 := regexp.MustCompile(`^[0-9a-f]{32}$`)
	if !hex32.MatchString(k.Access) || !hex32.MatchString(k.Secret) || k.Access == k.Secret ||
		k.UserID != e.alice.ID || k.TenantID != e.project.ID || k.TrustID != "" {
		t.Fatalf("created %+v", k)
	}
	// It is an ordinary credential too, found by the hash of its access key.
	c, err := e.svc.GetCredential(e.aliceCx, identity.EC2CredentialID(k.Access))
	mustOK(t, err)
	var blob map[string]any
	mustOK(t, json.Unmarshal([]byte(c.Blob), &blob))
	if c.Type != "ec2" || blob["access"] != k.Access || blob["secret"] != k.Secret || blob["trust_id"] != nil {
		t.Fatalf("as a credential: %#v %s", c, c.Blob)
	}
	k2, err := e.svc.CreateEC2Credential(e.aliceCx, e.alice.ID, e.project.ID)
	mustOK(t, err)
	_, err = e.svc.CreateCredential(e.aliceCx, identity.CredentialCreate{UserID: e.alice.ID, Type: "totp", Blob: "seed"})
	mustOK(t, err)

	list, err := e.svc.ListEC2Credentials(e.aliceCx, e.alice.ID)
	mustOK(t, err)
	var access []string
	for _, x := range list {
		access = append(access, x.Access)
	}
	slices.Sort(access)
	if !slices.Equal(access, sortedIDs(k.Access, k2.Access)) {
		t.Fatalf("list = %v, want the two key pairs and not the totp", access)
	}
	got, err := e.svc.GetEC2Credential(e.aliceCx, e.alice.ID, k.Access)
	mustOK(t, err)
	if got != k {
		t.Fatalf("get = %+v, want %+v", got, k)
	}
	mustOK(t, e.svc.DeleteEC2Credential(e.aliceCx, e.alice.ID, k.Access))
	_, err = e.svc.GetEC2Credential(e.aliceCx, e.alice.ID, k.Access)
	wantErr(t, err, identity.ErrNotFound, "Could not find credential: "+identity.EC2CredentialID(k.Access))
	wantErr(t, e.svc.DeleteEC2Credential(e.aliceCx, e.alice.ID, k.Access), identity.ErrNotFound, "Could not find credential")
}

func TestEC2CredentialRules(t *testing.T) {
	t.Parallel()
	e := newCredEnv(t)
	bobs, err := e.svc.CreateEC2Credential(e.bobCx, e.bob.ID, e.project.ID)
	mustOK(t, err)
	// A credential of another type whose id is the hash of an access key.
	mustOK(t, e.store.CreateCredential(context.Background(), identity.CredentialRecord{ID: identity.EC2CredentialID("not-ec2"),
		UserID: e.alice.ID, Type: "totp", EncryptedBlob: []byte("x"), KeyHash: "h"}))
	readerOnly := auth.WithCaller(context.Background(), &auth.Caller{UserID: e.alice.ID, UserDomainID: "default",
		ProjectID: e.project.ID, ProjectDomainID: "default", Roles: []auth.Role{{Name: "reader"}}})

	cases := []struct {
		name string
		call func() error
		kind error
		msg  string
	}{
		{"create for another user", func() error { _, err := e.svc.CreateEC2Credential(e.aliceCx, e.bob.ID, e.project.ID); return err },
			identity.ErrForbidden, "identity:ec2_create_credential"},
		{"create needs member", func() error { _, err := e.svc.CreateEC2Credential(readerOnly, e.alice.ID, e.project.ID); return err },
			identity.ErrForbidden, "identity:ec2_create_credential"},
		{"create without tenant", func() error { _, err := e.svc.CreateEC2Credential(e.aliceCx, e.alice.ID, ""); return err },
			identity.ErrNotFound, "Could not find project: None."},
		{"create on a missing project", func() error { _, err := e.svc.CreateEC2Credential(e.aliceCx, e.alice.ID, "nowhere"); return err },
			identity.ErrNotFound, "Could not find project: nowhere."},
		{"create for a missing user", func() error { _, err := e.svc.CreateEC2Credential(e.admin, "nobody", e.project.ID); return err },
			identity.ErrNotFound, "Could not find user: nobody."},
		{"list another user's", func() error { _, err := e.svc.ListEC2Credentials(e.aliceCx, e.bob.ID); return err },
			identity.ErrForbidden, "identity:ec2_list_credentials"},
		{"list a missing user's", func() error { _, err := e.svc.ListEC2Credentials(e.admin, "nobody"); return err },
			identity.ErrNotFound, "Could not find user: nobody."},
		{"get another user's", func() error { _, err := e.svc.GetEC2Credential(e.aliceCx, e.alice.ID, bobs.Access); return err },
			identity.ErrForbidden, "identity:ec2_get_credential"},
		{"admin gets it under the wrong user", func() error { _, err := e.svc.GetEC2Credential(e.admin, e.alice.ID, bobs.Access); return err },
			identity.ErrNotFound, "Could not find credential"},
		{"delete another user's", func() error { return e.svc.DeleteEC2Credential(e.aliceCx, e.bob.ID, bobs.Access) },
			identity.ErrForbidden, "identity:ec2_delete_credential"},
		{"not an ec2 credential", func() error { _, err := e.svc.GetEC2Credential(e.admin, e.alice.ID, "not-ec2"); return err },
			identity.ErrUnauthorized, "EC2 access key not found."},
		{"missing access key", func() error { _, err := e.svc.GetEC2Credential(e.aliceCx, e.alice.ID, "nope"); return err },
			identity.ErrNotFound, "Could not find credential: " + identity.EC2CredentialID("nope")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantErr(t, c.call(), c.kind, c.msg)
		})
	}
	// The key pair survived every refused call.
	_, err = e.svc.GetEC2Credential(e.bobCx, e.bob.ID, bobs.Access)
	mustOK(t, err)
}

// TestCredentialsDelegated checks tokens from application credentials: a
// restricted one may not make ec2 credentials, and any one reaches only
// credentials of its own project.
func TestCredentialsDelegated(t *testing.T) {
	t.Parallel()
	e := newCredEnv(t)
	inOther, err := e.svc.CreateEC2Credential(e.admin, e.alice.ID, e.other.ID)
	mustOK(t, err)
	restricted := e.appCredCtx(t, e.alice, e.project.ID, false)
	_, err = e.svc.CreateEC2Credential(restricted, e.alice.ID, e.project.ID)
	wantErr(t, err, identity.ErrForbidden, "not allowed for managing additional application credentials")
	_, err = e.svc.CreateCredential(restricted, identity.CredentialCreate{UserID: e.alice.ID, ProjectID: e.project.ID,
		Type: "ec2", Blob: ec2BlobOf("r")})
	wantErr(t, err, identity.ErrForbidden, "not allowed for managing additional credentials")

	open := e.appCredCtx(t, e.alice, e.project.ID, true)
	k, err := e.svc.CreateEC2Credential(open, e.alice.ID, e.project.ID)
	mustOK(t, err)
	_, err = e.svc.CreateEC2Credential(open, e.alice.ID, e.other.ID)
	wantErr(t, err, identity.ErrForbidden, "EC2 credential project does not match the project scope of the delegated token")
	_, err = e.svc.GetEC2Credential(open, e.alice.ID, inOther.Access)
	wantErr(t, err, identity.ErrForbidden, "does not match the project scope")
	list, err := e.svc.ListEC2Credentials(open, e.alice.ID)
	mustOK(t, err)
	if len(list) != 1 || list[0].Access != k.Access {
		t.Fatalf("delegated list = %+v, want only the key pair of its project", list)
	}
	creds, err := e.svc.ListCredentials(open, identity.CredentialFilter{})
	mustOK(t, err)
	if got := credIDs(creds); !slices.Equal(got, []string{identity.EC2CredentialID(k.Access)}) {
		t.Fatalf("delegated credential list = %v", got)
	}
	// An ec2 credential made through /v3/credentials records the delegation.
	c, err := e.svc.CreateCredential(open, identity.CredentialCreate{UserID: e.alice.ID, ProjectID: e.project.ID,
		Type: "ec2", Blob: ec2BlobOf("via-app-cred")})
	mustOK(t, err)
	var blob map[string]any
	mustOK(t, json.Unmarshal([]byte(c.Blob), &blob))
	if blob["app_cred_id"] == nil || blob["access"] != "via-app-cred" {
		t.Fatalf("blob = %s", c.Blob)
	}
}
