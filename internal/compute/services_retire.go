package compute

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// PlacementProviders removes what placement knows of a compute host that
// is deleted, as nova's compute API does through its report client.
type PlacementProviders interface {
	// DeleteComputeProvider removes the resource provider uuid and the
	// providers below it. What consumers still hold there (an instance
	// evacuated away leaves its allocation on the old host) is taken out
	// of their allocations first; a provider already gone is no error.
	DeleteComputeProvider(ctx context.Context, uuid string) error
}

// movesOver are the statuses of a migration that no longer involves its
// hosts (nova's list of finished statuses for a host's in-progress
// migrations).
var movesOver = []string{MigrationConfirmed, MigrationReverted, MigrationError, MigrationFailed,
	MigrationCompleted, MigrationCancelled, MigrationDone}

// retireComputeHost readies the deletion of a compute service, in nova's
// order: refused while the host has instances or moves under way; then
// the host leaves its aggregates and its resource provider is removed
// from placement. Failures to tell placement are logged, not returned,
// as nova does: the service goes anyway.
func (s *Service) retireComputeHost(ctx context.Context, st ServiceState) error {
	n, err := s.instancesOnHost(ctx, st.Host, 1)
	if err != nil {
		return err
	}
	if len(n) > 0 {
		return errorf(ErrConflict,
			"Unable to delete compute service that is hosting instances. Migrate or delete the instances first.")
	}
	if err := s.checkNoMovesInProgress(ctx, st.Host); err != nil {
		return err
	}
	if err := s.leaveAggregates(ctx, st.Host); err != nil {
		return err
	}
	if s.placementProviders != nil && st.Node != nil && st.Node.UUID != "" {
		if err := s.placementProviders.DeleteComputeProvider(ctx, st.Node.UUID); err != nil {
			s.log.ErrorContext(ctx, "failed to delete the resource provider of a deleted compute service",
				"host", st.Host, "provider", st.Node.UUID, "error", err)
		}
	}
	return nil
}

// checkNoMovesInProgress refuses when a migration from or to host is not
// over: deleting the host would orphan its resource provider and leave a
// resize that cannot be confirmed or reverted.
func (s *Service) checkNoMovesInProgress(ctx context.Context, host string) error {
	ms, ok := s.store.(MigrationStore)
	if !ok {
		return nil
	}
	all, err := ms.ListMigrations(ctx, MigrationFilter{Host: host})
	if err != nil {
		return fmt.Errorf("list migrations of %s: %w", host, err)
	}
	var busy []string
	for _, m := range all {
		if !slices.Contains(movesOver, m.Status) {
			busy = append(busy, m.UUID+":"+m.Status)
		}
	}
	if len(busy) == 0 {
		return nil
	}
	s.log.InfoContext(ctx, "compute service not deleted: migrations in progress involve its host",
		"host", host, "migrations", strings.Join(busy, ","))
	return errorf(ErrConflict,
		"Unable to delete compute service that has in-progress migrations. Complete the migrations or delete the instances first.")
}

// leaveAggregates takes host out of every aggregate that has it.
func (s *Service) leaveAggregates(ctx context.Context, host string) error {
	as, ok := s.store.(AggregateStore)
	if !ok {
		return nil
	}
	byHost, err := AggregatesByHost(ctx, s.store)
	if err != nil {
		return err
	}
	for _, a := range byHost[host] {
		if err := s.dropAggregateHost(ctx, as, a, host); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
	}
	if len(byHost[host]) > 0 {
		s.zonesChanged(ctx)
	}
	return nil
}
