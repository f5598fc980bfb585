package fernet

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	fernetgo "github.com/fernet/fernet-go"
)

// ErrInvalidToken means a token is malformed, signed by no known key, or
// carries a payload we cannot read.
var ErrInvalidToken = errors.New("invalid token")

// ErrTokenExpired means a token verified but its expiry has passed.
var ErrTokenExpired = errors.New("token expired")

// DefaultReloadInterval is how often a Provider looks for key changes on disk.
const DefaultReloadInterval = time.Second

const (
	// maxTokenChars bounds tokens we issue and accept (unpadded base64).
	maxTokenChars = 4096
	// minTokenChars is the shortest unpadded Fernet token: version,
	// timestamp, IV, one cipher block and the HMAC are 73 bytes. Checking it
	// up front also keeps shorter inputs away from fernet-go's slicing.
	minTokenChars = 98
	// headerChars encode the Fernet version byte and timestamp (9 bytes).
	headerChars = 12
)

// ProviderConfig holds a Provider's optional settings; the zero value works.
type ProviderConfig struct {
	// Now is the clock for expiry and for pacing key reloads; nil means time.Now.
	Now func() time.Time
	// ReloadInterval is how often to check the key repository for changes;
	// 0 means DefaultReloadInterval. After a token no key verifies, the
	// repository is checked again at most ten times per interval.
	ReloadInterval time.Duration
	// Logger receives key reload notices and errors; nil discards them.
	Logger *slog.Logger
}

// Provider issues and validates Fernet tokens with a KeyRepository's keys.
// It is safe for concurrent use; the hot path takes no lock.
type Provider struct {
	repo     *KeyRepository
	now      func() time.Time
	log      *slog.Logger
	interval time.Duration
	start    time.Time

	keys atomic.Pointer[keySet]
	// nextCheck and nextForced are offsets from start, in nanoseconds, before
	// which a periodic or failure-driven repository check is skipped.
	nextCheck  atomic.Int64
	nextForced atomic.Int64

	reloadMu sync.Mutex // held by the one goroutine checking the repository
	lastWarn string     // guarded by reloadMu; repeats are not logged
}

// keySet is an immutable snapshot of the repository's keys.
type keySet struct {
	keys    []*fernetgo.Key // primary first
	primary int             // file index of keys[0]
	stamp   string          // stampOf the listing the keys were read from
	gen     uint64          // KeyGeneration of this set
}

// NewProvider returns a Provider over repo, loading its keys now; the
// repository must already hold at least one key.
func NewProvider(repo *KeyRepository, cfg ProviderConfig) (*Provider, error) {
	p := &Provider{
		repo:     repo,
		now:      cfg.Now,
		log:      cfg.Logger,
		interval: cfg.ReloadInterval,
	}
	if p.now == nil {
		p.now = time.Now
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	if p.interval <= 0 {
		p.interval = DefaultReloadInterval
	}
	keys, stamp, err := repo.load()
	if err != nil {
		return nil, fmt.Errorf("new token provider: %w", err)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("new token provider: %s: %w", repo.Dir(), ErrNoKeys)
	}
	p.keys.Store(newKeySet(keys, stamp))
	p.start = p.now()
	p.nextCheck.Store(int64(p.interval))
	return p, nil
}

func newKeySet(keys []Key, stamp string) *keySet {
	ks := &keySet{keys: make([]*fernetgo.Key, len(keys)), primary: keys[0].Index, stamp: stamp}
	for i, k := range keys {
		ks.keys[i] = k.Fernet
	}
	return ks
}

// Issue signs pl with the primary key and returns the token without base64
// padding, as keystone does. A zero IssuedAt is set from the clock.
func (p *Provider) Issue(pl Payload) (string, error) {
	now := p.now()
	if pl.IssuedAt.IsZero() {
		pl.IssuedAt = now
	}
	if err := pl.check(); err != nil {
		return "", fmt.Errorf("issue token: %w", err)
	}
	msg, err := encodePayload(make([]byte, 0, 128), pl)
	if err != nil {
		return "", fmt.Errorf("issue token: %w", err)
	}
	ks := p.current(now)
	tok, err := fernetgo.EncryptAndSignAtTime(msg, ks.keys[0], time.Unix(pl.IssuedAt.Unix(), 0))
	if err != nil {
		return "", fmt.Errorf("issue token: %w", err)
	}
	tok = bytes.TrimRight(tok, "=")
	if len(tok) > maxTokenChars {
		return "", fmt.Errorf("issue token: %d characters, limit is %d", len(tok), maxTokenChars)
	}
	return string(tok), nil
}

// Validate verifies token against each key, primary first, and returns its
// payload. Errors wrap ErrInvalidToken or ErrTokenExpired; the token itself
// never appears in them. With ErrTokenExpired the authentic payload is returned
// as well, for callers that accept recently expired tokens.
func (p *Provider) Validate(token string) (Payload, error) {
	now := p.now()
	raw, err := padToken(token)
	if err != nil {
		return Payload{}, err
	}
	ks := p.current(now)
	msg := fernetgo.VerifyAndDecrypt(raw, 0, ks.keys)
	if msg == nil {
		// Another node or process may have rotated: retry with new keys, if
		// this or a concurrent check loaded any.
		p.refresh(now, true)
		if fresh := p.keys.Load(); fresh != ks {
			msg = fernetgo.VerifyAndDecrypt(raw, 0, fresh.keys)
		}
	}
	if msg == nil {
		return Payload{}, fmt.Errorf("%w: no key verifies it", ErrInvalidToken)
	}
	var hdr [9]byte
	if _, err := base64.URLEncoding.Decode(hdr[:], raw[:headerChars]); err != nil {
		return Payload{}, fmt.Errorf("%w: bad header", ErrInvalidToken)
	}
	pl, err := decodePayload(msg, int64(binary.BigEndian.Uint64(hdr[1:])))
	if err != nil {
		return Payload{}, err
	}
	if !now.Before(pl.ExpiresAt) {
		// The payload comes back too, so a caller may honour allow_expired.
		return pl, fmt.Errorf("%w at %s", ErrTokenExpired, pl.ExpiresAt.Format(time.RFC3339))
	}
	return pl, nil
}

// padToken checks a token's shape and restores its base64 padding. It accepts
// padded tokens too, and rejects non-canonical last characters, so that no two
// strings verify as the same token.
func padToken(token string) ([]byte, error) {
	t := strings.TrimRight(token, "=")
	if len(token)-len(t) > 2 || len(t) < minTokenChars || len(t) > maxTokenChars || len(t)%4 == 1 {
		return nil, fmt.Errorf("%w: malformed", ErrInvalidToken)
	}
	// With 2 or 3 characters in the last quantum, the last one carries 4 or
	// 2 unused bits that must be zero.
	if rem := len(t) % 4; rem != 0 {
		v := strings.IndexByte(base64URLAlphabet, t[len(t)-1])
		unused := 4
		if rem == 3 {
			unused = 2
		}
		if v < 0 || v&(1<<unused-1) != 0 {
			return nil, fmt.Errorf("%w: malformed", ErrInvalidToken)
		}
	}
	raw := make([]byte, (len(t)+3)/4*4)
	n := copy(raw, t)
	for i := n; i < len(raw); i++ {
		raw[i] = '='
	}
	return raw, nil
}

const base64URLAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// KeyGeneration numbers the key set in use; it changes whenever the keys are
// reloaded after a rotation. Callers that cache validated tokens drop entries
// from an older generation, so a token whose key was pruned is refused at once.
// It checks the repository at most once per reload interval.
func (p *Provider) KeyGeneration() uint64 { return p.current(p.now()).gen }

// current returns the key set, first checking the repository if the reload
// interval has passed.
func (p *Provider) current(now time.Time) *keySet {
	if int64(now.Sub(p.start)) >= p.nextCheck.Load() {
		p.refresh(now, false)
	}
	return p.keys.Load()
}

// refresh reloads the keys if the repository changed and reports whether it
// did. A periodic check is skipped while another goroutine checks. A forced
// check follows a failed validation, has its own shorter pace, and waits for a
// check in progress so that its caller can retry with what that one loaded.
func (p *Provider) refresh(now time.Time, forced bool) bool {
	t := int64(now.Sub(p.start))
	if forced {
		if t < p.nextForced.Load() {
			return false
		}
		p.reloadMu.Lock()
	} else if !p.reloadMu.TryLock() {
		return false
	}
	defer p.reloadMu.Unlock()
	if forced {
		if t < p.nextForced.Load() {
			return false
		}
		p.nextForced.Store(t + int64(p.interval/10))
	} else if t < p.nextCheck.Load() {
		return false
	}
	p.nextCheck.Store(t + int64(p.interval))

	files, err := p.repo.scan()
	if err != nil {
		p.warn("check fernet key repository", err)
		return false
	}
	if stampOf(files) == p.keys.Load().stamp {
		return false
	}
	keys, stamp, err := p.repo.load()
	if err == nil && len(keys) == 0 {
		err = fmt.Errorf("%s: %w", p.repo.Dir(), ErrNoKeys)
	}
	if err != nil {
		p.warn("reload fernet keys, keeping the current ones", err)
		return false
	}
	ks := newKeySet(keys, stamp)
	ks.gen = p.keys.Load().gen + 1
	p.keys.Store(ks)
	p.lastWarn = ""
	p.log.Info("fernet keys reloaded", "repository", p.repo.Dir(), "primary", ks.primary, "keys", len(keys))
	return true
}

// warn logs a reload problem once until it changes or a reload succeeds.
func (p *Provider) warn(msg string, err error) {
	if s := msg + ": " + err.Error(); s != p.lastWarn {
		p.lastWarn = s
		p.log.Warn(msg, "repository", p.repo.Dir(), "error", err)
	}
}
