package identity

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"unicode/utf8"

	fernetgo "github.com/fernet/fernet-go"

	"github.com/nimbus-cloud/nimbus/internal/auth"
	"github.com/nimbus-cloud/nimbus/internal/identity/fernet"
)

// CredentialTypeEC2 is the type of EC2 credentials: the blob is a JSON object
// with an access key and a secret, and the id is derived from the access key.
const CredentialTypeEC2 = "ec2"

// credentialTypeMax is the longest credential type keystone stores.
const credentialTypeMax = 255

// Credential is a secret a user keeps with identity (keystone's credential): an
// EC2 key pair, a TOTP seed, a certificate. Blob is the plaintext, sealed at
// rest by the service's CredentialCipher; String, GoString and LogValue leave
// it out so it never reaches a log.
type Credential struct {
	ID        string
	UserID    string
	ProjectID string // "" when the credential belongs to no project
	Type      string
	Blob      string
	// Extra holds the attributes clients set beyond keystone's columns.
	Extra map[string]any
}

// String names the credential without its blob.
func (c Credential) String() string {
	return fmt.Sprintf("credential %s (type %s, user %s)", c.ID, c.Type, c.UserID)
}

// GoString names the credential without its blob, for %#v.
func (c Credential) GoString() string { return "identity.Credential{" + c.String() + "}" }

// LogValue logs the credential's ids and type, never its blob.
func (c Credential) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", c.ID), slog.String("type", c.Type),
		slog.String("user_id", c.UserID), slog.String("project_id", c.ProjectID))
}

// CredentialRecord is a credential as the store keeps it: the blob sealed by a
// CredentialCipher, with KeyHash naming the key that sealed it (keystone's
// key_hash, which tells a key rotation whether every blob uses the primary key).
type CredentialRecord struct {
	ID            string
	UserID        string
	ProjectID     string
	Type          string
	EncryptedBlob []byte
	KeyHash       string
	Extra         map[string]any
}

// CredentialFilter narrows ListCredentials; zero fields match everything.
type CredentialFilter struct {
	UserID    string
	ProjectID string
	Type      string
}

// CredentialStore keeps the rows of credentials (/v3/credentials) and EC2
// credentials. Only sealed blobs reach it. DeleteUser and DeleteProject remove
// the credentials of the user or project.
type CredentialStore interface {
	// CreateCredential stores a new credential; a taken id is ErrConflict.
	CreateCredential(ctx context.Context, c CredentialRecord) error
	// GetCredential returns the credential with id.
	GetCredential(ctx context.Context, id string) (CredentialRecord, error)
	// ListCredentials returns the credentials matching f, ordered by id.
	ListCredentials(ctx context.Context, f CredentialFilter) ([]CredentialRecord, error)
	// UpdateCredential replaces every stored field of the credential c.ID.
	UpdateCredential(ctx context.Context, c CredentialRecord) error
	// DeleteCredential removes the credential with id.
	DeleteCredential(ctx context.Context, id string) error
}

// CredentialCipher seals credential blobs for storage (keystone's credential
// provider). Its errors never carry the plaintext or the sealed blob.
type CredentialCipher interface {
	// Encrypt seals plain with the primary key and returns the hash naming it.
	Encrypt(plain string) (sealed []byte, keyHash string, err error)
	// Decrypt opens a blob sealed by any key the cipher still holds.
	Decrypt(sealed []byte) (string, error)
}

// FernetCipher is keystone's fernet credential provider: blobs are Fernet
// tokens under the primary key of a key repository ([credential]
// key_repository), any key of the repository opens them, and the key hash is
// the SHA-1 of the primary key's text. Keys are read from the repository on
// every call, so rotations by other processes take effect at once.
type FernetCipher struct {
	repo *fernet.KeyRepository
}

var _ CredentialCipher = (*FernetCipher)(nil)

// NewFernetCipher returns a cipher over repo, which must be set up.
func NewFernetCipher(repo *fernet.KeyRepository) *FernetCipher { return &FernetCipher{repo: repo} }

// keys loads the repository's keys, primary first.
func (c *FernetCipher) keys() ([]fernet.Key, error) {
	keys, err := c.repo.Keys()
	if err != nil {
		return nil, fmt.Errorf("load credential keys: %w", err)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("load credential keys from %s: %w", c.repo.Dir(), fernet.ErrNoKeys)
	}
	return keys, nil
}

// Encrypt seals plain with the repository's primary key.
func (c *FernetCipher) Encrypt(plain string) ([]byte, string, error) {
	keys, err := c.keys()
	if err != nil {
		return nil, "", err
	}
	sealed, err := fernetgo.EncryptAndSign([]byte(plain), keys[0].Fernet)
	if err != nil {
		return nil, "", fmt.Errorf("encrypt credential with %s: %w", keys[0], err)
	}
	sum := sha1.Sum([]byte(keys[0].Fernet.Encode()))
	return sealed, hex.EncodeToString(sum[:]), nil
}

// Decrypt opens sealed with whichever key of the repository sealed it.
func (c *FernetCipher) Decrypt(sealed []byte) (string, error) {
	keys, err := c.keys()
	if err != nil {
		return "", err
	}
	fks := make([]*fernetgo.Key, len(keys))
	for i, k := range keys {
		fks[i] = k.Fernet
	}
	plain := fernetgo.VerifyAndDecrypt(sealed, 0, fks)
	if plain == nil {
		return "", errors.New("decrypt credential: no key of the credential key repository opens it")
	}
	return string(plain), nil
}

// CredentialCreate holds the fields of POST /v3/credentials.
type CredentialCreate struct {
	UserID    string
	ProjectID string // required for ec2 credentials
	Type      string
	Blob      string
	Extra     map[string]any
}

// CredentialUpdate holds the fields of PATCH /v3/credentials/{credential_id};
// nil fields stay as they are.
type CredentialUpdate struct {
	// ID may only repeat the credential's id.
	ID                 *string
	UserID, Type, Blob *string
	// ProjectID "" clears the project (not allowed for ec2 credentials).
	ProjectID *string
	// Extra is merged into the credential's extra attributes.
	Extra map[string]any
}

// errNoCipher reports a service built without a CredentialCipher.
var errNoCipher = errors.New("credential encryption is not configured")

// isEC2 reports whether typ names EC2 credentials; keystone compares without case.
func isEC2(typ string) bool { return strings.EqualFold(typ, CredentialTypeEC2) }

// EC2CredentialID is the id keystone gives an EC2 credential: the hex SHA-256
// of its access key, so the OS-EC2 API finds a credential by its access key.
func EC2CredentialID(access string) string {
	sum := sha256.Sum256([]byte(access))
	return hex.EncodeToString(sum[:])
}

// credentialExpecting is keystone's ValidationError for a missing credential attribute.
func credentialExpecting(attr string) error {
	return invalid("Expecting to find %s in credential. The server could not comply with the request "+
		"since it is either malformed or otherwise incorrect. The client is assumed to be in error.", attr)
}

// credentialMissing is keystone's 404 for a credential.
func credentialMissing(id string) error { return notFound("credential", id) }

// ec2Blob reads the blob of an ec2 credential: a JSON object with a string
// access key. Keystone refuses anything else with a 400.
func ec2Blob(blob string) (map[string]any, error) {
	var v any
	if err := json.Unmarshal([]byte(blob), &v); err != nil {
		return nil, invalid("Invalid blob in credential")
	}
	m, ok := v.(map[string]any)
	if !ok || len(m) == 0 {
		return nil, credentialExpecting("blob")
	}
	if access, ok := m["access"].(string); !ok || access == "" {
		return nil, credentialExpecting("access")
	}
	return m, nil
}

// ec2ScopeKeys are the members of an ec2 blob that bind it to a delegation;
// keystone refuses updates that change or drop them.
var ec2ScopeKeys = []string{"trust_id", "app_cred_id", "access_token_id", "access_id"}

// policyCredential is a credential as policy rules see it (target.credential.*);
// the blob stays out of policy targets.
func policyCredential(id, userID, projectID, typ string) map[string]any {
	m := map[string]any{"user_id": userID, "type": typ}
	if id != "" {
		m["id"] = id
	}
	if projectID != "" {
		m["project_id"] = projectID
	}
	return m
}

// credentialTarget is the policy target of a call on one credential.
func credentialTarget(r CredentialRecord) map[string]any {
	return map[string]any{"target": map[string]any{"credential": policyCredential(r.ID, r.UserID, r.ProjectID, r.Type)}}
}

// checkDelegatedScope keeps a token delegated through an application credential
// to the credentials of the project it is scoped to, as keystone does for
// delegated tokens: a stolen delegation must not reach the user's other secrets.
func checkDelegatedScope(c *auth.Caller, projectID, what string) error {
	if c.AppCredID == "" || projectID == c.ProjectID {
		return nil
	}
	return forbidden("You are not authorized to perform the requested action: %s project does not match "+
		"the project scope of the delegated token.", what)
}

// checkCredentialAppCred refuses callers whose token comes from a restricted
// application credential: those may not create ec2 credentials.
func (s *Service) checkCredentialAppCred(ctx context.Context, c *auth.Caller) error {
	err := s.checkAppCredToken(ctx, c)
	if errors.Is(err, ErrForbidden) {
		return forbidden("You are not authorized to perform the requested action: Using method " +
			"'application_credential' is not allowed for managing additional credentials.")
	}
	return err
}

// seal encrypts a credential's blob for the store.
func (s *Service) seal(c Credential) (CredentialRecord, error) {
	if s.creds == nil {
		return CredentialRecord{}, errNoCipher
	}
	sealed, hash, err := s.creds.Encrypt(c.Blob)
	if err != nil {
		return CredentialRecord{}, fmt.Errorf("seal credential %s: %w", c.ID, err)
	}
	return CredentialRecord{ID: c.ID, UserID: c.UserID, ProjectID: c.ProjectID, Type: c.Type,
		EncryptedBlob: sealed, KeyHash: hash, Extra: c.Extra}, nil
}

// open decrypts a stored credential.
func (s *Service) open(r CredentialRecord) (Credential, error) {
	if s.creds == nil {
		return Credential{}, errNoCipher
	}
	blob, err := s.creds.Decrypt(r.EncryptedBlob)
	if err != nil {
		return Credential{}, fmt.Errorf("open credential %s: %w", r.ID, err)
	}
	return Credential{ID: r.ID, UserID: r.UserID, ProjectID: r.ProjectID, Type: r.Type, Blob: blob,
		Extra: r.Extra}, nil
}

// checkCredentialFields checks a credential's type; an ec2 credential needs a
// project.
func checkCredentialFields(c Credential) error {
	if utf8.RuneCountInString(c.Type) > credentialTypeMax {
		return fieldInvalid("type", "%s is too long", quoted(c.Type))
	}
	if isEC2(c.Type) && c.ProjectID == "" {
		return credentialExpecting("project_id")
	}
	return nil
}

// checkCredentialRefs checks that a credential's user and project exist.
func (s *Service) checkCredentialRefs(ctx context.Context, c Credential) error {
	if _, err := s.store.GetUser(ctx, c.UserID); err != nil {
		return lookup(err, "user", c.UserID)
	}
	if c.ProjectID != "" {
		if _, err := s.store.GetProject(ctx, c.ProjectID); err != nil {
			return lookup(err, "project", c.ProjectID)
		}
	}
	return nil
}

// CreateCredential stores a credential (POST /v3/credentials). An ec2
// credential's blob must hold an access key, and its id is EC2CredentialID of
// that key; a token from an application credential is recorded in the blob,
// as keystone does, so EC2 authentication yields the same delegation.
func (s *Service) CreateCredential(ctx context.Context, in CredentialCreate) (Credential, error) {
	c, err := caller(ctx)
	if err != nil {
		return Credential{}, err
	}
	target := map[string]any{"target": map[string]any{"credential": policyCredential("", in.UserID, in.ProjectID, in.Type)}}
	if err := s.authorize(ctx, "identity:create_credential", target); err != nil {
		return Credential{}, err
	}
	if isEC2(in.Type) {
		if err := s.checkCredentialAppCred(ctx, c); err != nil {
			return Credential{}, err
		}
	}
	if err := checkDelegatedScope(c, in.ProjectID, "Credential"); err != nil {
		return Credential{}, err
	}
	cred := Credential{ID: s.newID(), UserID: in.UserID, ProjectID: in.ProjectID, Type: in.Type,
		Blob: in.Blob, Extra: in.Extra}
	if err := checkCredentialFields(cred); err != nil {
		return Credential{}, err
	}
	if isEC2(cred.Type) {
		blob, err := ec2Blob(cred.Blob)
		if err != nil {
			return Credential{}, err
		}
		cred.ID = EC2CredentialID(blob["access"].(string))
		if c.AppCredID != "" {
			blob["app_cred_id"] = c.AppCredID
			raw, err := json.Marshal(blob)
			if err != nil {
				return Credential{}, fmt.Errorf("encode ec2 blob: %w", err)
			}
			cred.Blob = string(raw)
		}
	}
	if err := s.checkCredentialRefs(ctx, cred); err != nil {
		return Credential{}, err
	}
	rec, err := s.seal(cred)
	if err != nil {
		return Credential{}, err
	}
	if err := s.store.CreateCredential(ctx, rec); err != nil {
		return Credential{}, duplicate(err, "credential - Duplicate ID, %s.", cred.ID)
	}
	s.changed()
	return cred, nil
}

// credentialForPolicy loads a credential and checks rule against it. As in
// keystone, policy comes first, with an empty target when the credential is
// missing, so only those allowed to see any credential learn that it is.
func (s *Service) credentialForPolicy(ctx context.Context, rule, id string) (*auth.Caller, CredentialRecord, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, CredentialRecord{}, err
	}
	rec, err := s.store.GetCredential(ctx, id)
	target := map[string]any{"target": map[string]any{}}
	switch {
	case err == nil:
		target = credentialTarget(rec)
	case !errors.Is(err, ErrNotFound):
		return nil, CredentialRecord{}, err
	}
	if aerr := s.authorize(ctx, rule, target); aerr != nil {
		return nil, CredentialRecord{}, aerr
	}
	if err != nil {
		return nil, CredentialRecord{}, credentialMissing(id)
	}
	if err := checkDelegatedScope(c, rec.ProjectID, "Credential"); err != nil {
		return nil, CredentialRecord{}, err
	}
	return c, rec, nil
}

// GetCredential returns one credential with its blob
// (GET /v3/credentials/{credential_id}).
func (s *Service) GetCredential(ctx context.Context, id string) (Credential, error) {
	_, rec, err := s.credentialForPolicy(ctx, "identity:get_credential", id)
	if err != nil {
		return Credential{}, err
	}
	return s.open(rec)
}

// ListCredentials lists the credentials matching f that the caller may see
// (GET /v3/credentials): every one for an administrator, a user's own
// otherwise.
func (s *Service) ListCredentials(ctx context.Context, f CredentialFilter) ([]Credential, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	target := map[string]any{"target": map[string]any{}}
	if c.System == "" {
		target["target"] = map[string]any{"credential": map[string]any{"user_id": c.UserID}}
	}
	addFilterValues(target, map[string]string{"user_id": f.UserID, "type": f.Type}, nil)
	if err := s.authorize(ctx, "identity:list_credentials", target); err != nil {
		return nil, err
	}
	recs, err := s.store.ListCredentials(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("list credentials: %w", err)
	}
	var out []Credential
	for _, rec := range recs {
		// Each credential is checked as a GET of it would be, before its blob
		// is opened.
		err := s.authorize(ctx, "identity:get_credential", credentialTarget(rec))
		if err == nil {
			err = checkDelegatedScope(c, rec.ProjectID, "Credential")
		}
		if errors.Is(err, ErrForbidden) {
			continue
		}
		if err != nil {
			return nil, err
		}
		cred, err := s.open(rec)
		if err != nil {
			return nil, err
		}
		out = append(out, cred)
	}
	return out, nil
}

// UpdateCredential changes a credential (PATCH /v3/credentials/{credential_id}).
// The id stays, even when an ec2 blob gets a new access key, as in keystone; an
// ec2 blob keeps its delegation members. The changed credential is checked
// against policy again, so an owner cannot hand it to another user.
func (s *Service) UpdateCredential(ctx context.Context, id string, up CredentialUpdate) (Credential, error) {
	c, rec, err := s.credentialForPolicy(ctx, "identity:update_credential", id)
	if err != nil {
		return Credential{}, err
	}
	if up.ID != nil && *up.ID != id {
		return Credential{}, invalid("Cannot change ID")
	}
	cur, err := s.open(rec)
	if err != nil {
		return Credential{}, err
	}
	next := applyCredentialUpdate(cur, up)
	if err := checkCredentialFields(next); err != nil {
		return Credential{}, err
	}
	if err := checkCredentialChange(cur, next, up); err != nil {
		return Credential{}, err
	}
	if err := s.authorize(ctx, "identity:update_credential", credentialTarget(CredentialRecord{ID: id,
		UserID: next.UserID, ProjectID: next.ProjectID, Type: next.Type})); err != nil {
		return Credential{}, err
	}
	if err := checkDelegatedScope(c, next.ProjectID, "Credential"); err != nil {
		return Credential{}, err
	}
	if err := s.checkCredentialRefs(ctx, next); err != nil {
		return Credential{}, err
	}
	out := CredentialRecord{ID: id, UserID: next.UserID, ProjectID: next.ProjectID, Type: next.Type,
		EncryptedBlob: rec.EncryptedBlob, KeyHash: rec.KeyHash, Extra: next.Extra}
	if up.Blob != nil {
		sealed, err := s.seal(next)
		if err != nil {
			return Credential{}, err
		}
		out.EncryptedBlob, out.KeyHash = sealed.EncryptedBlob, sealed.KeyHash
	}
	if err := s.store.UpdateCredential(ctx, out); err != nil {
		return Credential{}, lookup(err, "credential", id)
	}
	s.changed()
	return next, nil
}

// applyCredentialUpdate returns cur with the fields up sets.
func applyCredentialUpdate(cur Credential, up CredentialUpdate) Credential {
	next := cur
	if up.UserID != nil {
		next.UserID = *up.UserID
	}
	if up.ProjectID != nil {
		next.ProjectID = *up.ProjectID
	}
	if up.Type != nil {
		next.Type = *up.Type
	}
	if up.Blob != nil {
		next.Blob = *up.Blob
	}
	if len(up.Extra) > 0 {
		next.Extra = maps.Clone(cur.Extra)
		if next.Extra == nil {
			next.Extra = map[string]any{}
		}
		maps.Copy(next.Extra, up.Extra)
	}
	return next
}

// checkCredentialChange applies keystone's rules on ec2 blobs to an update: a
// new blob of an ec2 credential must be a valid ec2 blob that keeps the
// delegation members of the old one, and a credential that becomes ec2 must
// have a valid blob.
func checkCredentialChange(cur, next Credential, up CredentialUpdate) error {
	if !isEC2(next.Type) || (up.Blob == nil && isEC2(cur.Type)) {
		return nil
	}
	blob, err := ec2Blob(next.Blob)
	if err != nil || !isEC2(cur.Type) {
		return err
	}
	old, err := ec2Blob(cur.Blob)
	if err != nil {
		// A blob keystone stored before it checked them: nothing to keep.
		return nil
	}
	for _, k := range ec2ScopeKeys {
		if fmt.Sprint(old[k]) != fmt.Sprint(blob[k]) {
			return invalid("%s can not be updated for credential", k)
		}
	}
	return nil
}

// DeleteCredential deletes a credential (DELETE /v3/credentials/{credential_id}).
func (s *Service) DeleteCredential(ctx context.Context, id string) error {
	if _, _, err := s.credentialForPolicy(ctx, "identity:delete_credential", id); err != nil {
		return err
	}
	if err := s.store.DeleteCredential(ctx, id); err != nil {
		return lookup(err, "credential", id)
	}
	s.changed()
	return nil
}

// EC2Credential is an EC2 key pair as the OS-EC2 extension shows it
// (/v3/users/{user_id}/credentials/OS-EC2). String, GoString and LogValue
// leave the secret out.
type EC2Credential struct {
	UserID   string
	TenantID string
	Access   string
	Secret   string
	TrustID  string // "" unless a trust-scoped token created it
}

// String names the key pair by its access key only.
func (e EC2Credential) String() string {
	return fmt.Sprintf("ec2 credential %s (user %s, project %s)", e.Access, e.UserID, e.TenantID)
}

// GoString names the key pair without its secret, for %#v.
func (e EC2Credential) GoString() string { return "identity.EC2Credential{" + e.String() + "}" }

// LogValue logs the key pair's access key and owners, never its secret.
func (e EC2Credential) LogValue() slog.Value {
	return slog.GroupValue(slog.String("access", e.Access), slog.String("user_id", e.UserID),
		slog.String("tenant_id", e.TenantID))
}

// ec2View converts a credential of type ec2 to its OS-EC2 form. A blob that
// does not parse shows empty keys rather than hiding the credential.
func ec2View(c Credential) EC2Credential {
	var blob map[string]any
	_ = json.Unmarshal([]byte(c.Blob), &blob)
	str := func(k string) string { v, _ := blob[k].(string); return v }
	return EC2Credential{UserID: c.UserID, TenantID: c.ProjectID, Access: str("access"), Secret: str("secret"),
		TrustID: str("trust_id")}
}

// CreateEC2Credential makes a new EC2 key pair for a user on a project
// (POST /v3/users/{user_id}/credentials/OS-EC2); the answer carries the secret.
func (s *Service) CreateEC2Credential(ctx context.Context, userID, tenantID string) (EC2Credential, error) {
	c, err := caller(ctx)
	if err != nil {
		return EC2Credential{}, err
	}
	target := map[string]any{"target": map[string]any{"credential": map[string]any{"user_id": userID}}}
	if err := s.authorize(ctx, "identity:ec2_create_credential", target); err != nil {
		return EC2Credential{}, err
	}
	if err := s.checkAppCredToken(ctx, c); err != nil {
		return EC2Credential{}, err
	}
	if _, err := s.store.GetUser(ctx, userID); err != nil {
		return EC2Credential{}, lookup(err, "user", userID)
	}
	if tenantID == "" {
		return EC2Credential{}, notFound("project", "None")
	}
	if _, err := s.store.GetProject(ctx, tenantID); err != nil {
		return EC2Credential{}, lookup(err, "project", tenantID)
	}
	if err := checkDelegatedScope(c, tenantID, "EC2 credential"); err != nil {
		return EC2Credential{}, err
	}
	// Keystone's key pair: two random UUIDs in hex, and the trust of a
	// trust-scoped token (none here).
	access, secret := NewID(), NewID()
	raw, err := json.Marshal(map[string]any{"access": access, "secret": secret, "trust_id": nil})
	if err != nil {
		return EC2Credential{}, fmt.Errorf("encode ec2 blob: %w", err)
	}
	cred := Credential{ID: EC2CredentialID(access), UserID: userID, ProjectID: tenantID,
		Type: CredentialTypeEC2, Blob: string(raw)}
	rec, err := s.seal(cred)
	if err != nil {
		return EC2Credential{}, err
	}
	if err := s.store.CreateCredential(ctx, rec); err != nil {
		return EC2Credential{}, duplicate(err, "credential - Duplicate ID, %s.", cred.ID)
	}
	s.changed()
	return ec2View(cred), nil
}

// ListEC2Credentials lists a user's EC2 key pairs
// (GET /v3/users/{user_id}/credentials/OS-EC2). A token delegated through an
// application credential sees only those of its project.
func (s *Service) ListEC2Credentials(ctx context.Context, userID string) ([]EC2Credential, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	target := map[string]any{"target": map[string]any{}, "user_id": userID}
	if err := s.authorize(ctx, "identity:ec2_list_credentials", target); err != nil {
		return nil, err
	}
	if _, err := s.store.GetUser(ctx, userID); err != nil {
		return nil, lookup(err, "user", userID)
	}
	recs, err := s.store.ListCredentials(ctx, CredentialFilter{UserID: userID, Type: CredentialTypeEC2})
	if err != nil {
		return nil, fmt.Errorf("list ec2 credentials of user %s: %w", userID, err)
	}
	var out []EC2Credential
	for _, rec := range recs {
		if checkDelegatedScope(c, rec.ProjectID, "EC2 credential") != nil {
			continue
		}
		cred, err := s.open(rec)
		if err != nil {
			return nil, err
		}
		out = append(out, ec2View(cred))
	}
	return out, nil
}

// ec2ForPolicy finds a user's EC2 key pair by access key and checks rule
// against it. As in keystone, a missing key pair is a 404 for anyone and a
// credential of another type a 401; one of another user than the path names is
// a 404 too.
func (s *Service) ec2ForPolicy(ctx context.Context, rule, userID, access string) (CredentialRecord, error) {
	c, err := caller(ctx)
	if err != nil {
		return CredentialRecord{}, err
	}
	id := EC2CredentialID(access)
	rec, err := s.store.GetCredential(ctx, id)
	if err != nil {
		return CredentialRecord{}, lookup(err, "credential", id)
	}
	target := credentialTarget(rec)
	target["user_id"] = userID
	if err := s.authorize(ctx, rule, target); err != nil {
		return CredentialRecord{}, err
	}
	if _, err := s.store.GetUser(ctx, userID); err != nil {
		return CredentialRecord{}, lookup(err, "user", userID)
	}
	if rec.Type != CredentialTypeEC2 {
		return CredentialRecord{}, unauthorized("EC2 access key not found.")
	}
	if rec.UserID != userID {
		return CredentialRecord{}, credentialMissing(id)
	}
	if err := checkDelegatedScope(c, rec.ProjectID, "EC2 credential"); err != nil {
		return CredentialRecord{}, err
	}
	return rec, nil
}

// GetEC2Credential returns one of a user's EC2 key pairs by its access key
// (GET /v3/users/{user_id}/credentials/OS-EC2/{credential_id}).
func (s *Service) GetEC2Credential(ctx context.Context, userID, access string) (EC2Credential, error) {
	rec, err := s.ec2ForPolicy(ctx, "identity:ec2_get_credential", userID, access)
	if err != nil {
		return EC2Credential{}, err
	}
	cred, err := s.open(rec)
	if err != nil {
		return EC2Credential{}, err
	}
	return ec2View(cred), nil
}

// DeleteEC2Credential deletes one of a user's EC2 key pairs by its access key
// (DELETE /v3/users/{user_id}/credentials/OS-EC2/{credential_id}).
func (s *Service) DeleteEC2Credential(ctx context.Context, userID, access string) error {
	rec, err := s.ec2ForPolicy(ctx, "identity:ec2_delete_credential", userID, access)
	if err != nil {
		return err
	}
	if err := s.store.DeleteCredential(ctx, rec.ID); err != nil {
		return lookup(err, "credential", rec.ID)
	}
	s.changed()
	return nil
}
