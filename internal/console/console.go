// Package console holds nova's console auth tokens: the short-lived secrets a
// remote-console URL carries, which the console proxy (novncproxy) trades
// for the address of the guest's console. A token is random; only its
// SHA-256 is stored, in the database every proxy process reads, so any proxy
// of the cloud accepts a token any API process issued.
package console

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/google/uuid"
)

// TypeNoVNC is the console type of the noVNC web client on a VNC server.
const TypeNoVNC = "novnc"

// ErrNotFound is a token that is unknown or has expired.
var ErrNotFound = errors.New("console token not found")

// ErrUnreachable is a console that cannot be checked or reached now (its
// host is down, say); the token may work later.
var ErrUnreachable = errors.New("console unreachable")

// Connection is where a console leads (nova's ConsoleAuthToken without the
// token): the guest's console server and how to reach it.
type Connection struct {
	InstanceUUID string
	// ConsoleType is "novnc".
	ConsoleType string
	// Host and Port are the console server's address, as the proxy reaches it.
	Host string
	Port int
	// InternalAccessPath is a path to ask for on the console server after
	// connecting ("" for none).
	InternalAccessPath string
	// AccessURLBase is the URL of the web client the token was issued for
	// ([vnc] novncproxy_base_url).
	AccessURLBase string
	// Expires is when the token stops being accepted.
	Expires time.Time
}

// Record is a stored token: its hash and connection.
type Record struct {
	TokenHash string
	Connection
	// Created is when the token was issued.
	Created time.Time
}

// Store keeps console auth tokens (nova's console_auth_tokens table).
type Store interface {
	// CreateConsoleToken stores a token record.
	CreateConsoleToken(ctx context.Context, r Record) error
	// ConsoleToken returns the record of a token hash that expires after
	// now; none is ErrNotFound.
	ConsoleToken(ctx context.Context, tokenHash string, now time.Time) (Record, error)
	// DeleteExpiredConsoleTokens removes the tokens that expired at or
	// before now and returns how many.
	DeleteExpiredConsoleTokens(ctx context.Context, now time.Time) (int64, error)
	// DeleteInstanceConsoleTokens removes every token of an instance.
	DeleteInstanceConsoleTokens(ctx context.Context, instanceUUID string) error
}

// Tokens issues and validates console auth tokens.
type Tokens struct {
	store Store
	ttl   time.Duration
	now   func() time.Time
	newID func() string
}

// Options tune Tokens; zero values take the defaults.
type Options struct {
	// TTL is [consoleauth] token_ttl (600 s).
	TTL time.Duration
	// Now is the clock; nil: time.Now.
	Now func() time.Time
	// NewToken makes a token; nil: a random (version 4) UUID, as nova.
	NewToken func() string
}

// DefaultTTL is nova's [consoleauth] token_ttl.
const DefaultTTL = 600 * time.Second

// NewTokens returns Tokens kept in s.
func NewTokens(s Store, o Options) *Tokens {
	if o.TTL <= 0 {
		o.TTL = DefaultTTL
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.NewToken == nil {
		o.NewToken = uuid.NewString
	}
	return &Tokens{store: s, ttl: o.TTL, now: o.Now, newID: o.NewToken}
}

// Hash is the stored form of a token: its SHA-256 in hex, as nova keeps it.
func Hash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// Authorize issues a token for c (whose Expires it sets from the TTL) and
// returns the token. Tokens that have expired are removed on the way, so the
// table holds little more than the live ones.
func (t *Tokens) Authorize(ctx context.Context, c Connection) (string, Connection, error) {
	now := t.now()
	if _, err := t.store.DeleteExpiredConsoleTokens(ctx, now); err != nil {
		return "", Connection{}, fmt.Errorf("delete expired console tokens: %w", err)
	}
	token := t.newID()
	c.Expires = now.Add(t.ttl).Truncate(time.Second)
	if err := t.store.CreateConsoleToken(ctx, Record{TokenHash: Hash(token), Connection: c, Created: now}); err != nil {
		return "", Connection{}, fmt.Errorf("store console token of instance %s: %w", c.InstanceUUID, err)
	}
	return token, c, nil
}

// Validate returns the connection of a live token; an unknown, empty or
// expired token is ErrNotFound.
func (t *Tokens) Validate(ctx context.Context, token string) (Connection, error) {
	if token == "" {
		return Connection{}, ErrNotFound
	}
	r, err := t.store.ConsoleToken(ctx, Hash(token), t.now())
	if err != nil {
		return Connection{}, err
	}
	return r.Connection, nil
}

// Cleanup removes expired tokens and returns how many (nova's
// clean_expired_console_auths).
func (t *Tokens) Cleanup(ctx context.Context) (int64, error) {
	return t.store.DeleteExpiredConsoleTokens(ctx, t.now())
}

// AccessURL is the URL a user opens for a token: for noVNC the token rides
// in the path the web client connects its websocket to
// (base?path=%3Ftoken%3D<token>), since noVNC 1.1 reads no top-level token;
// other types take ?token=<token>.
func AccessURL(base, consoleType, token string) string {
	sep := "?"
	if u, err := url.Parse(base); err == nil && u.RawQuery != "" {
		sep = "&"
	}
	if consoleType == TypeNoVNC {
		return base + sep + url.Values{"path": {"?token=" + token}}.Encode()
	}
	return base + sep + url.Values{"token": {token}}.Encode()
}
