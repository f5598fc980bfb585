package db

import (
	"context"
	"database/sql"
	"sync"
	"time"
)

// maxCachedStatements bounds the statement cache: queries built with a
// varying number of placeholders would otherwise grow it without end.
const maxCachedStatements = 1024

// stmtCache keeps SQLite statements prepared, keyed by their text, so a
// query is parsed once per connection instead of once per call; parsing
// SQL text was a quarter of the CPU of a burst of server creates. (The
// client/server engines parse on their servers and are left as they are.)
// database/sql prepares a cached statement again on each connection that
// runs it, and transactions borrow it with Tx.StmtContext.
type stmtCache struct {
	pool *sql.DB
	mu   sync.RWMutex
	byQ  map[string]*sql.Stmt
	// preparing are the statements being prepared in the background, and
	// background their goroutines, which close waits for; closed stops new
	// ones.
	preparing  map[string]bool
	background sync.WaitGroup
	closed     bool
}

func newStmtCache(pool *sql.DB) *stmtCache {
	return &stmtCache{pool: pool, byQ: map[string]*sql.Stmt{}, preparing: map[string]bool{}}
}

// lookup returns the prepared statement of q if it is cached, and
// otherwise has it prepared in the background and returns nil. A
// transaction uses it: preparing needs a connection of the pool, which
// the transaction may be holding the last of.
func (c *stmtCache) lookup(q string) *sql.Stmt {
	c.mu.RLock()
	s := c.byQ[q]
	n := len(c.byQ)
	c.mu.RUnlock()
	if s != nil || n >= maxCachedStatements {
		return s
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.preparing[q] {
		return nil
	}
	c.preparing[q] = true
	c.background.Add(1)
	go func() {
		defer c.background.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c.get(ctx, q)
		c.mu.Lock()
		delete(c.preparing, q)
		c.mu.Unlock()
	}()
	return nil
}

// get returns the prepared statement of q, or nil when it cannot be had
// (the cache is full, or preparing failed: the caller then runs q as text
// and meets the same error there).
func (c *stmtCache) get(ctx context.Context, q string) *sql.Stmt {
	c.mu.RLock()
	s := c.byQ[q]
	n, closed := len(c.byQ), c.closed
	c.mu.RUnlock()
	if s != nil || closed || n >= maxCachedStatements {
		return s
	}
	s, err := c.pool.PrepareContext(ctx, q)
	if err != nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.byQ[q]; old != nil {
		s.Close()
		return old
	}
	if c.closed || len(c.byQ) >= maxCachedStatements {
		s.Close()
		return nil
	}
	c.byQ[q] = s
	return s
}

// close waits for the statements being prepared and closes every cached
// statement; none is prepared after.
func (c *stmtCache) close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.background.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	for q, s := range c.byQ {
		s.Close()
		delete(c.byQ, q)
	}
}
