package console_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/console"
)

// memStore is console.Store in memory.
type memStore struct {
	mu   sync.Mutex
	recs map[string]console.Record
}

func newMemStore() *memStore { return &memStore{recs: map[string]console.Record{}} }

func (m *memStore) CreateConsoleToken(_ context.Context, r console.Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.recs[r.TokenHash]; ok {
		return errors.New("duplicate")
	}
	m.recs[r.TokenHash] = r
	return nil
}

func (m *memStore) ConsoleToken(_ context.Context, hash string, now time.Time) (console.Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.recs[hash]
	if !ok || !r.Expires.After(now) {
		return console.Record{}, console.ErrNotFound
	}
	return r, nil
}

func (m *memStore) DeleteExpiredConsoleTokens(_ context.Context, now time.Time) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var n int64
	for h, r := range m.recs {
		if !r.Expires.After(now) {
			delete(m.recs, h)
			n++
		}
	}
	return n, nil
}

func (m *memStore) DeleteInstanceConsoleTokens(_ context.Context, uuid string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for h, r := range m.recs {
		if r.InstanceUUID == uuid {
			delete(m.recs, h)
		}
	}
	return nil
}

// clock is a settable time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newTokens(t *testing.T, ttl time.Duration) (*console.Tokens, *memStore, *clock) {
	t.Helper()
	s, c := newMemStore(), &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	n := 0
	return console.NewTokens(s, console.Options{TTL: ttl, Now: c.Now, NewToken: func() string {
		n++
		return "token-" + strings.Repeat("x", n)
	}}), s, c
}

var conn = console.Connection{InstanceUUID: "8b1d2b1e-67f4-4a0e-9c3c-3a1a0b7f9d11", ConsoleType: console.TypeNoVNC,
	Host: "127.0.0.1", Port: 5901, AccessURLBase: "http://192.0.2.1:6080/vnc_auto.html"}

func TestAuthorizeStoresOnlyTheHash(t *testing.T) {
	t.Parallel()
	tokens, store, clk := newTokens(t, time.Minute)
	token, c, err := tokens.Authorize(t.Context(), conn)
	if err != nil {
		t.Fatal(err)
	}
	if want := clk.Now().Add(time.Minute); !c.Expires.Equal(want) {
		t.Errorf("expires %v, want %v", c.Expires, want)
	}
	if len(store.recs) != 1 {
		t.Fatalf("%d records, want 1", len(store.recs))
	}
	for h, r := range store.recs {
		if h == token || strings.Contains(h, token) {
			t.Errorf("the store holds the token itself: %q", h)
		}
		if h != console.Hash(token) || len(h) != 64 {
			t.Errorf("stored hash %q, want sha256 hex of the token %q", h, console.Hash(token))
		}
		if r.Host != conn.Host || r.Port != conn.Port || r.InstanceUUID != conn.InstanceUUID {
			t.Errorf("stored %+v", r)
		}
	}
}

func TestValidateUntilExpiry(t *testing.T) {
	t.Parallel()
	tokens, _, clk := newTokens(t, 10*time.Second)
	token, _, err := tokens.Authorize(t.Context(), conn)
	if err != nil {
		t.Fatal(err)
	}
	clk.Add(9 * time.Second)
	got, err := tokens.Validate(t.Context(), token)
	if err != nil {
		t.Fatalf("a token inside its TTL: %v", err)
	}
	if got.Host != "127.0.0.1" || got.Port != 5901 || got.ConsoleType != console.TypeNoVNC {
		t.Errorf("connection %+v", got)
	}
	clk.Add(time.Second)
	if _, err := tokens.Validate(t.Context(), token); !errors.Is(err, console.ErrNotFound) {
		t.Errorf("a token at its expiry: %v, want ErrNotFound", err)
	}
}

func TestValidateRefusesUnknownTokens(t *testing.T) {
	t.Parallel()
	tokens, _, _ := newTokens(t, time.Minute)
	token, _, err := tokens.Authorize(t.Context(), conn)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"", "nope", console.Hash(token), token + "x"} {
		if _, err := tokens.Validate(t.Context(), bad); !errors.Is(err, console.ErrNotFound) {
			t.Errorf("Validate(%q) = %v, want ErrNotFound", bad, err)
		}
	}
}

func TestExpiredTokensAreCleaned(t *testing.T) {
	t.Parallel()
	tokens, store, clk := newTokens(t, 10*time.Second)
	if _, _, err := tokens.Authorize(t.Context(), conn); err != nil {
		t.Fatal(err)
	}
	clk.Add(5 * time.Second)
	live, _, err := tokens.Authorize(t.Context(), conn)
	if err != nil {
		t.Fatal(err)
	}
	clk.Add(5 * time.Second)
	n, err := tokens.Cleanup(t.Context())
	if err != nil || n != 1 {
		t.Fatalf("Cleanup = %d, %v; want the first token removed", n, err)
	}
	if _, err := tokens.Validate(t.Context(), live); err != nil {
		t.Errorf("the live token: %v", err)
	}
	clk.Add(5 * time.Second)
	// Issuing a token removes the expired ones on the way.
	if _, _, err := tokens.Authorize(t.Context(), conn); err != nil {
		t.Fatal(err)
	}
	if len(store.recs) != 1 {
		t.Errorf("%d records after authorize, want only the new one", len(store.recs))
	}
}

func TestDefaultTokensAreRandomUUIDs(t *testing.T) {
	t.Parallel()
	tokens := console.NewTokens(newMemStore(), console.Options{})
	a, c, err := tokens.Authorize(t.Context(), conn)
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := tokens.Authorize(t.Context(), conn)
	if err != nil {
		t.Fatal(err)
	}
	if a == b || len(a) != 36 {
		t.Errorf("tokens %q and %q", a, b)
	}
	if d := time.Until(c.Expires); d <= 0 || d > console.DefaultTTL {
		t.Errorf("expires in %v, want within the default TTL", d)
	}
}

func TestAccessURL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, base, kind, want string }{
		{"novnc", "http://192.0.2.1:6080/vnc_auto.html", "novnc",
			"http://192.0.2.1:6080/vnc_auto.html?path=%3Ftoken%3Dabc-1"},
		{"novnc with a query", "https://c.example/vnc_lite.html?scale=1", "novnc",
			"https://c.example/vnc_lite.html?scale=1&path=%3Ftoken%3Dabc-1"},
		{"other", "http://192.0.2.1:6082/spice_auto.html", "spice-html5",
			"http://192.0.2.1:6082/spice_auto.html?token=abc-1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := console.AccessURL(tc.base, tc.kind, "abc-1"); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}
