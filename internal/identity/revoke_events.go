package identity

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// ListRevokeEvents returns the recorded revocation events revoked after since,
// or all of them when since is zero, oldest first (GET /v3/OS-REVOKE/events).
// Remote token validators poll it to drop revoked tokens from their caches.
func (s *Service) ListRevokeEvents(ctx context.Context, since time.Time) ([]RevocationEvent, error) {
	if _, err := caller(ctx); err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "identity:list_revoke_events", nil); err != nil {
		return nil, err
	}
	evs, err := s.store.ListRevocationEvents(ctx, 0)
	if err != nil {
		return nil, fmt.Errorf("list revocation events: %w", err)
	}
	if !since.IsZero() {
		evs = slices.DeleteFunc(evs, func(ev RevocationEvent) bool { return !ev.RevokedAt.After(since) })
	}
	if evs == nil {
		evs = []RevocationEvent{}
	}
	return evs, nil
}
