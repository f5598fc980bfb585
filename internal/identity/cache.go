package identity

import (
	"sync"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/auth"
)

// tokenCache keeps recently validated tokens with their resolved user, scope and
// roles, so a validation costs a decryption and a revocation check instead of
// several queries. Entries live at most tokenCacheTTL; any identity write that
// could change a token's meaning clears the cache.
type tokenCache struct {
	mu      sync.RWMutex
	max     int
	entries map[string]cacheEntry
}

// tokenCacheTTL bounds how stale a cached token's roles and names can be when the
// change happened in another process (local writes clear the cache at once;
// revocations are checked on every validation regardless).
const tokenCacheTTL = 30 * time.Second

type cacheEntry struct {
	v       *validated
	expires time.Time
	keyGen  uint64 // the token keys' generation when the token was checked
}

// validated is a token with what each validation of it needs, computed once.
// Everything in it is shared by concurrent requests and must not be modified.
type validated struct {
	tok     *Token
	subject *revocationSubject
	caller  *auth.Caller
}

func newTokenCache(max int) *tokenCache {
	return &tokenCache{max: max, entries: make(map[string]cacheEntry, max)}
}

func (c *tokenCache) get(id string, now time.Time, keyGen uint64) *validated {
	c.mu.RLock()
	e, ok := c.entries[id]
	c.mu.RUnlock()
	if !ok || now.After(e.expires) || e.keyGen != keyGen {
		return nil
	}
	return e.v
}

func (c *tokenCache) put(id string, v *validated, now time.Time, keyGen uint64) {
	exp := now.Add(tokenCacheTTL)
	if v.tok.ExpiresAt.Before(exp) {
		exp = v.tok.ExpiresAt
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		// Evict expired entries first, then arbitrary ones (map order is random).
		for k, e := range c.entries {
			if now.After(e.expires) || len(c.entries) >= c.max {
				delete(c.entries, k)
			}
			if len(c.entries) < c.max*3/4 {
				break
			}
		}
	}
	c.entries[id] = cacheEntry{v: v, expires: exp, keyGen: keyGen}
}

func (c *tokenCache) clear() {
	c.mu.Lock()
	clear(c.entries)
	c.mu.Unlock()
}
