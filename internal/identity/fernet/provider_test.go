package fernet

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	fernetgo "github.com/fernet/fernet-go"
)

// fakeClock is a settable clock for Provider.Now.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 11, 27, 9, 10, 44, 123456789, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

func newTestProvider(t testing.TB, repo *KeyRepository, clock *fakeClock) *Provider {
	t.Helper()
	p, err := NewProvider(repo, ProviderConfig{Now: clock.Now})
	if err != nil {
		t.Fatalf("NewProvider: %v", err)
	}
	return p
}

// projectPayload is a project-scoped password token's payload, expiring an
// hour after clock's time at one-second precision, as keystone sets it.
func projectPayload(clock *fakeClock) Payload {
	return Payload{
		UserID:    userUUID,
		Methods:   []string{"password"},
		ProjectID: projectUUID,
		ExpiresAt: clock.Now().Add(time.Hour).Truncate(time.Second),
		AuditIDs:  []string{NewAuditID()},
	}
}

func mustIssue(t testing.TB, p *Provider, pl Payload) string {
	t.Helper()
	tok, err := p.Issue(pl)
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	return tok
}

func TestIssueValidateRoundTrip(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	p := newTestProvider(t, newTestRepo(t, 0), clock)
	base := projectPayload(clock)
	base.ProjectID = ""
	with := func(f func(*Payload)) Payload {
		pl := base
		f(&pl)
		return pl
	}
	tests := []struct {
		name string
		in   Payload
	}{
		{name: "unscoped", in: base},
		{name: "project", in: with(func(pl *Payload) { pl.ProjectID = projectUUID })},
		{name: "domain", in: with(func(pl *Payload) { pl.DomainID = "default" })},
		{name: "system", in: with(func(pl *Payload) { pl.System = true })},
		{name: "application credential", in: with(func(pl *Payload) {
			pl.Methods, pl.ProjectID, pl.AppCredID = []string{"application_credential"}, projectUUID, appCredUUID
		})},
		{name: "rescoped", in: with(func(pl *Payload) {
			pl.Methods, pl.ProjectID, pl.AuditIDs = []string{"password", "token"}, projectUUID, []string{auditB, auditA}
		})},
		{name: "non-uuid ids", in: with(func(pl *Payload) {
			pl.UserID, pl.ProjectID, pl.AuditIDs = "admin", "Project-ÄÖ", []string{"legacy-audit"}
		})},
		{name: "explicit issued at", in: with(func(pl *Payload) { pl.IssuedAt = clock.Now().Add(-time.Minute) })},
		{name: "microsecond expiry", in: with(func(pl *Payload) { pl.ExpiresAt = clock.Now().Add(time.Minute) })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tok := mustIssue(t, p, tt.in)
			if strings.ContainsAny(tok, "=+/") {
				t.Errorf("token %q is not unpadded urlsafe base64", tok)
			}
			got, err := p.Validate(tok)
			if err != nil {
				t.Fatalf("Validate: %v", err)
			}
			want := tt.in
			if want.IssuedAt.IsZero() {
				want.IssuedAt = clock.Now()
			}
			want.IssuedAt = want.IssuedAt.Truncate(time.Microsecond)
			want.ExpiresAt = want.ExpiresAt.Truncate(time.Microsecond)
			if !samePayload(got, want) {
				t.Errorf("round trip:\n got %+v\nwant %+v", got, want)
			}
			if got.Unscoped() != (want.ProjectID == "" && want.DomainID == "" && !want.System) {
				t.Errorf("Unscoped = %v", got.Unscoped())
			}
		})
	}
}

func TestIssueRejects(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	p := newTestProvider(t, newTestRepo(t, 0), clock)
	tests := []struct {
		name    string
		edit    func(*Payload)
		wantErr string
	}{
		{name: "no user", edit: func(pl *Payload) { pl.UserID = "" }, wantErr: "no user id"},
		{name: "two scopes", edit: func(pl *Payload) { pl.DomainID = "default" }, wantErr: "more than one"},
		{name: "unknown method", edit: func(pl *Payload) { pl.Methods = []string{"password", "magic"} }, wantErr: `"magic"`},
		{name: "too long", edit: func(pl *Payload) { pl.UserID = strings.Repeat("u", 4000) }, wantErr: "limit is"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pl := projectPayload(clock)
			tt.edit(&pl)
			if _, err := p.Issue(pl); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestTokenLength(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	p := newTestProvider(t, newTestRepo(t, 0), clock)
	project := projectPayload(clock)
	rescoped := project
	rescoped.Methods = []string{"password", "token"}
	rescoped.AuditIDs = []string{NewAuditID(), NewAuditID()}
	for name, pl := range map[string]Payload{"project password": project, "rescoped": rescoped} {
		tok := mustIssue(t, p, pl)
		t.Logf("%s token: %d chars", name, len(tok))
		if len(tok) >= 255 {
			t.Errorf("%s token is %d chars, want under 255", name, len(tok))
		}
	}
}

func TestValidateTampered(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	repo := newTestRepo(t, 0)
	p := newTestProvider(t, repo, clock)
	tok := mustIssue(t, p, projectPayload(clock))
	other := newTestProvider(t, newTestRepo(t, 0), clock)
	random := make([]byte, 121)
	_, _ = rand.Read(random)
	tests := []struct {
		name  string
		token string
	}{
		{name: "empty", token: ""},
		{name: "short garbage", token: "abc"},
		{name: "not base64", token: strings.Repeat("!", len(tok))},
		{name: "truncated by one", token: tok[:len(tok)-1]},
		{name: "truncated by a block", token: tok[:len(tok)-22]},
		{name: "extended", token: tok + "AAAA"},
		{name: "too much padding", token: tok + "==="},
		{name: "random bytes", token: base64.RawURLEncoding.EncodeToString(random)},
		{name: "other key", token: mustIssue(t, other, projectPayload(clock))},
		{name: "huge", token: strings.Repeat("A", 10000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := p.Validate(tt.token); !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("err = %v, want ErrInvalidToken", err)
			}
		})
	}
	t.Run("every character", func(t *testing.T) {
		t.Parallel()
		for i := range len(tok) {
			b := []byte(tok)
			b[i] = base64URLAlphabet[(strings.IndexByte(base64URLAlphabet, b[i])+1)%64]
			if _, err := p.Validate(string(b)); !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("token changed at %d: err = %v, want ErrInvalidToken", i, err)
			}
		}
	})
	t.Run("padded form is accepted", func(t *testing.T) {
		t.Parallel()
		padded := tok + strings.Repeat("=", (4-len(tok)%4)%4)
		if _, err := p.Validate(padded); err != nil {
			t.Fatalf("padded token: %v", err)
		}
	})
}

// TestValidatePayloadErrors signs bad payloads with the real key, so only the
// payload decoder can reject them.
func TestValidatePayloadErrors(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	repo := newTestRepo(t, 0)
	p := newTestProvider(t, repo, clock)
	keys, err := repo.Keys()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		msg     []byte
		wantErr string
	}{
		{name: "future version", msg: []byte{7, 0, 1, 3, 1, 'u'}, wantErr: "unknown payload version 7"},
		{name: "garbage", msg: []byte{payloadV1, 0xff}, wantErr: "bad payload"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			raw, err := fernetgo.EncryptAndSignAtTime(tt.msg, keys[0].Fernet, clock.Now())
			if err != nil {
				t.Fatal(err)
			}
			_, err = p.Validate(strings.TrimRight(string(raw), "="))
			if !errors.Is(err, ErrInvalidToken) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want ErrInvalidToken saying %q", err, tt.wantErr)
			}
		})
	}
}

func TestValidateExpiry(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		at      time.Duration // after the expiry
		wantErr error
	}{
		{name: "just issued", at: -time.Hour},
		{name: "a microsecond before", at: -time.Microsecond},
		{name: "at expiry", at: 0, wantErr: ErrTokenExpired},
		{name: "a day after", at: 24 * time.Hour, wantErr: ErrTokenExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := newFakeClock()
			p := newTestProvider(t, newTestRepo(t, 0), clock)
			pl := projectPayload(clock)
			tok := mustIssue(t, p, pl)
			clock.Set(pl.ExpiresAt.Add(tt.at))
			got, err := p.Validate(tok)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err == nil && !got.ExpiresAt.Equal(pl.ExpiresAt) {
				t.Errorf("ExpiresAt = %s, want %s", got.ExpiresAt, pl.ExpiresAt)
			}
		})
	}
}

func TestRotationKeepsTokensUntilPruned(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	repo := newTestRepo(t, 3)
	p := newTestProvider(t, repo, clock)
	tok1 := mustIssue(t, p, projectPayload(clock)) // signed by key 1

	rotate := func() {
		t.Helper()
		if _, err := repo.Rotate(); err != nil {
			t.Fatal(err)
		}
		clock.Advance(2 * time.Second) // past the reload interval
	}
	rotate() // keys 2 (old staged), 1, 0
	tok2 := mustIssue(t, p, projectPayload(clock))
	assertSignedBy(t, repo, tok2, 2)
	for name, tok := range map[string]string{"tok1": tok1, "tok2": tok2} {
		if _, err := p.Validate(tok); err != nil {
			t.Errorf("after one rotation, %s: %v", name, err)
		}
	}

	rotate() // keys 3, 2, 0: key 1 pruned
	if _, err := p.Validate(tok1); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("token of pruned key: err = %v, want ErrInvalidToken", err)
	}
	if _, err := p.Validate(tok2); err != nil {
		t.Errorf("token of secondary key: %v", err)
	}
	assertSignedBy(t, repo, mustIssue(t, p, projectPayload(clock)), 3)
}

func TestStagedKeyValidatesPromotedTokens(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	nodeA := newTestRepo(t, 3)
	nodeB := copyRepo(t, nodeA)
	if _, err := nodeA.Rotate(); err != nil { // A promotes staged 0 to 2
		t.Fatal(err)
	}
	tok := mustIssue(t, newTestProvider(t, nodeA, clock), projectPayload(clock))
	if _, err := newTestProvider(t, nodeB, clock).Validate(tok); err != nil {
		t.Fatalf("node B, not yet rotated, rejects node A's token: %v", err)
	}
}

func TestProviderSeesRotationByAnotherProcess(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	server := newTestRepo(t, 3)
	admin, err := NewKeyRepository(server.Dir(), 3)
	if err != nil {
		t.Fatal(err)
	}
	p := newTestProvider(t, server, clock)
	// Two rotations promote a key p has never seen (file 3).
	for range 2 {
		if _, err := admin.Rotate(); err != nil {
			t.Fatal(err)
		}
	}
	other := newTestProvider(t, admin, clock)
	tok3 := mustIssue(t, other, projectPayload(clock))
	if _, err := p.Validate(tok3); err != nil {
		t.Fatalf("token of a key rotated in by another process: %v", err)
	}

	// The failure-driven reload is rate limited: right after it, another
	// rotation's key stays unknown until a tenth of the interval passes.
	if _, err := admin.Rotate(); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Rotate(); err != nil {
		t.Fatal(err)
	}
	other = newTestProvider(t, admin, clock)
	tok5 := mustIssue(t, other, projectPayload(clock))
	if _, err := p.Validate(tok5); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("within the rate limit: err = %v, want ErrInvalidToken", err)
	}
	clock.Advance(DefaultReloadInterval / 10)
	if _, err := p.Validate(tok5); err != nil {
		t.Fatalf("after the rate limit: %v", err)
	}

	// Issue picks up a new primary once the reload interval passes.
	if _, err := admin.Rotate(); err != nil {
		t.Fatal(err)
	}
	assertSignedBy(t, server, mustIssue(t, p, projectPayload(clock)), 5)
	clock.Advance(DefaultReloadInterval)
	assertSignedBy(t, server, mustIssue(t, p, projectPayload(clock)), 6)
}

func TestProviderKeepsKeysWhenRepositoryBreaks(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	repo := newTestRepo(t, 3)
	p := newTestProvider(t, repo, clock)
	tok := mustIssue(t, p, projectPayload(clock))
	if err := os.WriteFile(filepath.Join(repo.Dir(), "9"), []byte("broken"), 0o600); err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * DefaultReloadInterval)
	if _, err := p.Validate(tok); err != nil {
		t.Fatalf("a bad key file dropped the loaded keys: %v", err)
	}
}

func TestNewProviderWithoutKeys(t *testing.T) {
	t.Parallel()
	repo, err := NewKeyRepository(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewProvider(repo, ProviderConfig{}); !errors.Is(err, ErrNoKeys) {
		t.Fatalf("err = %v, want ErrNoKeys", err)
	}
}

// TestConcurrentUseDuringRotation issues and validates from many goroutines
// while another repository on the same directory rotates. No key is pruned
// during the test, so every token must validate.
func TestConcurrentUseDuringRotation(t *testing.T) {
	t.Parallel()
	repo := newTestRepo(t, 100)
	admin, err := NewKeyRepository(repo.Dir(), 100)
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewProvider(repo, ProviderConfig{ReloadInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Go(func() {
		defer stop.Store(true)
		for range 30 {
			if _, err := admin.Rotate(); err != nil {
				t.Errorf("Rotate: %v", err)
				return
			}
			time.Sleep(200 * time.Microsecond)
		}
	})
	for range 8 {
		wg.Go(func() {
			for !stop.Load() {
				pl := Payload{UserID: userUUID, Methods: []string{"password"}, ProjectID: projectUUID,
					ExpiresAt: time.Now().Add(time.Hour), AuditIDs: []string{NewAuditID()}}
				tok, err := p.Issue(pl)
				if err != nil {
					t.Errorf("Issue: %v", err)
					return
				}
				if _, err := p.Validate(tok); err != nil {
					t.Errorf("Validate: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// assertSignedBy checks that tok verifies with key file index alone.
func assertSignedBy(t *testing.T, repo *KeyRepository, tok string, index int) {
	t.Helper()
	keys, err := repo.Keys()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if k.Index != index {
			continue
		}
		raw, err := padToken(tok)
		if err != nil {
			t.Fatal(err)
		}
		if fernetgo.VerifyAndDecrypt(raw, 0, []*fernetgo.Key{k.Fernet}) == nil {
			t.Errorf("token not signed by key %d", index)
		}
		return
	}
	t.Errorf("no key %d in repository", index)
}

// copyRepo copies repo's key files to a new directory, as operators
// distribute keys to other nodes.
func copyRepo(t *testing.T, repo *KeyRepository) *KeyRepository {
	t.Helper()
	dst, err := NewKeyRepository(t.TempDir(), repo.MaxActiveKeys())
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"0", "1"} {
		b, err := os.ReadFile(filepath.Join(repo.Dir(), name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst.Dir(), name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func BenchmarkValidate(b *testing.B) {
	clock := newFakeClock()
	repo, err := NewKeyRepository(b.TempDir(), 3)
	if err != nil {
		b.Fatal(err)
	}
	if err := repo.Setup(); err != nil {
		b.Fatal(err)
	}
	p := newTestProvider(b, repo, clock)
	tok := mustIssue(b, p, projectPayload(clock))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Validate(tok); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkValidateParallel(b *testing.B) {
	repo, err := NewKeyRepository(b.TempDir(), 3)
	if err != nil {
		b.Fatal(err)
	}
	if err := repo.Setup(); err != nil {
		b.Fatal(err)
	}
	p, err := NewProvider(repo, ProviderConfig{})
	if err != nil {
		b.Fatal(err)
	}
	tok := mustIssue(b, p, Payload{UserID: userUUID, Methods: []string{"password"}, ProjectID: projectUUID,
		ExpiresAt: time.Now().Add(time.Hour), AuditIDs: []string{NewAuditID()}})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := p.Validate(tok); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkIssue(b *testing.B) {
	clock := newFakeClock()
	repo, err := NewKeyRepository(b.TempDir(), 3)
	if err != nil {
		b.Fatal(err)
	}
	if err := repo.Setup(); err != nil {
		b.Fatal(err)
	}
	p := newTestProvider(b, repo, clock)
	pl := projectPayload(clock)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Issue(pl); err != nil {
			b.Fatal(err)
		}
	}
}
