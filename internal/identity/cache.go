package identity

import (
	"sync"
	"time"
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
	tok     *Token
	expires time.Time
}

func newTokenCache(max int) *tokenCache {
	return &tokenCache{max: max, entries: make(map[string]cacheEntry, max)}
}

func (c *tokenCache) get(id string, now time.Time) *Token {
	c.mu.RLock()
	e, ok := c.entries[id]
	c.mu.RUnlock()
	if !ok || now.After(e.expires) {
		return nil
	}
	return e.tok
}

func (c *tokenCache) put(id string, t *Token, now time.Time) {
	exp := now.Add(tokenCacheTTL)
	if t.ExpiresAt.Before(exp) {
		exp = t.ExpiresAt
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
	c.entries[id] = cacheEntry{tok: t, expires: exp}
}

func (c *tokenCache) clear() {
	c.mu.Lock()
	clear(c.entries)
	c.mu.Unlock()
}
