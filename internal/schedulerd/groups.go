package schedulerd

import (
	"context"
	"fmt"
	"slices"

	"github.com/nimbus-cloud/nimbus/internal/rpc"
	"github.com/nimbus-cloud/nimbus/internal/scheduler"
)

// maxPlaced bounds the placements remembered; beyond it the memory starts
// afresh, which only matters for members whose hosts are still unrecorded.
const maxPlaced = 4096

// addGroup gives req the server group of its instances (they share one:
// the create request's hint), with its members' hosts. Members whose host
// is not recorded yet take the host this process chose for them.
// Called with mu held.
func (s *Service) addGroup(ctx context.Context, req *scheduler.Request) error {
	if s.groups == nil || len(req.InstanceUUIDs) == 0 {
		return nil
	}
	g, err := s.groups.InstanceGroup(ctx, req.InstanceUUIDs[0])
	if err != nil {
		return fmt.Errorf("get the server group of instance %s: %w", req.InstanceUUIDs[0], err)
	}
	if g == nil {
		return nil
	}
	for i, m := range g.Members {
		if m.Host == "" && !slices.Contains(req.InstanceUUIDs, m.UUID) {
			g.Members[i].Host = s.placed[m.UUID]
		}
	}
	req.Group = g
	return nil
}

// remember records where each instance of a request went. Called with mu
// held.
func (s *Service) remember(sels []rpc.Selection) {
	if len(s.placed)+len(sels) > maxPlaced {
		s.placed = map[string]string{}
	}
	for _, sel := range sels {
		s.placed[sel.InstanceUUID] = sel.Host.Host
	}
}
