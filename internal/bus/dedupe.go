package bus

import (
	"container/list"
	"context"
	"errors"
	"sync"
)

// Dedupe makes handlers see each message once per process, although the bus
// delivers at least once: a message is sent again when its publisher could not
// learn whether the broker took it, and delivered again when its server (or
// the broker) went away before the acknowledgement. A duplicate that arrives
// while the first copy runs waits for it; one that arrives later gets the
// first copy's result (so a repeated call is answered the same way) without
// running the handler. A handler that ends because the server stops is
// forgotten, so its redelivery runs again.
//
// It remembers the last capacity message ids. It cannot see duplicates that
// another process handled: handlers whose effects must happen once also check
// their own state (an instance already built, an allocation already made).
type Dedupe struct {
	capacity int

	mu      sync.Mutex
	entries map[string]*dedupeEntry
	done    *list.List // of ids whose handler finished, oldest first
	dups    int64
}

type dedupeEntry struct {
	finished chan struct{}
	result   any
	err      error
	// abandoned: the handler ended because its server stopped; a copy that
	// waited for it runs instead.
	abandoned bool
}

// NewDedupe remembers up to capacity finished message ids (at least 1).
func NewDedupe(capacity int) *Dedupe {
	return &Dedupe{capacity: max(capacity, 1), entries: map[string]*dedupeEntry{}, done: list.New()}
}

// Do runs fn for a message id unless it ran (or runs) already, and returns its
// result; dup reports that fn was not run for this copy.
func (d *Dedupe) Do(ctx context.Context, id string, fn func() (any, error)) (result any, err error, dup bool) {
	for {
		d.mu.Lock()
		e, seen := d.entries[id]
		if !seen {
			e = &dedupeEntry{finished: make(chan struct{})}
			d.entries[id] = e
			d.mu.Unlock()
			break
		}
		d.dups++
		d.mu.Unlock()
		select {
		case <-e.finished:
		case <-ctx.Done():
			return nil, ctx.Err(), true
		}
		if !e.abandoned {
			return e.result, e.err, true
		}
	}
	result, err = fn()
	d.mu.Lock()
	e := d.entries[id]
	e.result, e.err = result, err
	if ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		e.abandoned = true
		delete(d.entries, id)
	} else {
		d.done.PushBack(id)
		for d.done.Len() > d.capacity {
			oldest := d.done.Front()
			d.done.Remove(oldest)
			delete(d.entries, oldest.Value.(string))
		}
	}
	d.mu.Unlock()
	close(e.finished)
	return result, err, false
}

// Duplicates is how many copies Do did not run.
func (d *Dedupe) Duplicates() int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.dups
}

// Middleware dedupes every method of an endpoint by message id.
func (d *Dedupe) Middleware(next HandlerFunc) HandlerFunc {
	return func(ctx context.Context, r *Request) (any, error) {
		result, err, _ := d.Do(ctx, r.MessageID, func() (any, error) { return next(ctx, r) })
		return result, err
	}
}
