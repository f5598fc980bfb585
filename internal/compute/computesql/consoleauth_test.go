package computesql_test

import (
	"errors"
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/compute"
	"github.com/nimbus-cloud/nimbus/internal/compute/computesql"
	"github.com/nimbus-cloud/nimbus/internal/console"
	"github.com/nimbus-cloud/nimbus/internal/db"
	"github.com/nimbus-cloud/nimbus/internal/db/dbtest"
)

func TestConsoleTokens(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *computesql.Store) {
		ctx := t.Context()
		now := base
		tokens := console.NewTokens(s, console.Options{TTL: 10 * time.Second, Now: func() time.Time { return now }})
		c := console.Connection{InstanceUUID: "00000000-0000-4000-8000-000000000001", ConsoleType: console.TypeNoVNC,
			Host: "192.0.2.7", Port: 5900, AccessURLBase: "http://192.0.2.1:6080/vnc_auto.html"}
		token, issued, err := tokens.Authorize(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		got, err := tokens.Validate(ctx, token)
		if err != nil {
			t.Fatalf("Validate: %v", err)
		}
		if got.InstanceUUID != c.InstanceUUID || got.Host != c.Host || got.Port != c.Port ||
			got.ConsoleType != c.ConsoleType || got.AccessURLBase != c.AccessURLBase || got.InternalAccessPath != "" ||
			!got.Expires.Equal(issued.Expires) {
			t.Errorf("Validate = %+v, want %+v", got, issued)
		}
		if _, err := s.ConsoleToken(ctx, token, now); !errors.Is(err, console.ErrNotFound) {
			t.Errorf("the token itself is a key: %v", err)
		}

		now = now.Add(10 * time.Second)
		if _, err := tokens.Validate(ctx, token); !errors.Is(err, console.ErrNotFound) {
			t.Errorf("an expired token: %v, want ErrNotFound", err)
		}
		live, _, err := tokens.Authorize(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.ConsoleToken(ctx, console.Hash(token), now.Add(-time.Second)); !errors.Is(err, console.ErrNotFound) {
			t.Errorf("the expired token survived the next authorize: %v", err)
		}
		if n, err := tokens.Cleanup(ctx); err != nil || n != 0 {
			t.Errorf("Cleanup = %d, %v; want nothing left to remove", n, err)
		}
		if err := s.DeleteInstanceConsoleTokens(ctx, c.InstanceUUID); err != nil {
			t.Fatal(err)
		}
		if _, err := tokens.Validate(ctx, live); !errors.Is(err, console.ErrNotFound) {
			t.Errorf("a token of an instance whose tokens were removed: %v", err)
		}
	})
}

// An instance that is deleted or changes host takes its console tokens
// with it, as nova's compute manager cleans them.
func TestConsoleTokensDieWithTheInstance(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *computesql.Store) {
		ctx := t.Context()
		in := create(t, s, instance(1, "a"))[0]
		tokens := console.NewTokens(s, console.Options{})
		issue := func() string {
			tok, _, err := tokens.Authorize(ctx, console.Connection{InstanceUUID: in.UUID, ConsoleType: console.TypeNoVNC,
				Host: "127.0.0.1", Port: 5900})
			if err != nil {
				t.Fatal(err)
			}
			return tok
		}
		update := func(f func(*compute.Instance)) {
			if _, err := s.UpdateInstance(ctx, in.UUID, func(i *compute.Instance) error { f(i); return nil }, nil); err != nil {
				t.Fatal(err)
			}
		}
		tok := issue()
		update(func(i *compute.Instance) { i.VMState = compute.VMActive })
		if _, err := tokens.Validate(ctx, tok); err != nil {
			t.Errorf("a token after an update on the same host: %v", err)
		}
		update(func(i *compute.Instance) { i.Host = "other" })
		if _, err := tokens.Validate(ctx, tok); !errors.Is(err, console.ErrNotFound) {
			t.Errorf("a token after the instance moved: %v", err)
		}
		tok = issue()
		update(func(i *compute.Instance) { i.Deleted = true })
		if _, err := tokens.Validate(ctx, tok); !errors.Is(err, console.ErrNotFound) {
			t.Errorf("a token after the instance was deleted: %v", err)
		}
	})
}

// BenchmarkConsoleTokens is issuing a console token and validating it,
// as a console URL and its proxy connection do.
func BenchmarkConsoleTokens(b *testing.B) {
	ms, err := computesql.Migrations()
	if err != nil {
		b.Fatal(err)
	}
	d := dbtest.Open(b, db.SQLite)
	if _, err := db.Migrate(b.Context(), d, computesql.ServiceName, ms); err != nil {
		b.Fatal(err)
	}
	tokens := console.NewTokens(computesql.New(d), console.Options{})
	c := console.Connection{InstanceUUID: "00000000-0000-4000-8000-000000000001", ConsoleType: console.TypeNoVNC,
		Host: "127.0.0.1", Port: 5900, AccessURLBase: "http://127.0.0.1:6080/vnc_auto.html"}
	for b.Loop() {
		tok, _, err := tokens.Authorize(b.Context(), c)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := tokens.Validate(b.Context(), tok); err != nil {
			b.Fatal(err)
		}
	}
}
