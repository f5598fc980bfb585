package app

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"

	"github.com/gophercloud/gophercloud/v2"

	"github.com/nimbus-cloud/nimbus/internal/compute"
)

var _ compute.PlacementProviders = (*placementMirror)(nil)

// DeleteComputeProvider removes a deleted compute host's resource provider
// tree from placement, as nova's report client does with cascade: what
// any consumer holds in the tree is taken out of its allocations (keeping
// what it holds elsewhere), then the providers go, children first.
func (a *placementMirror) DeleteComputeProvider(ctx context.Context, uuid string) error {
	pc := a.client.Load()
	if pc == nil {
		return errors.New("placement is not reachable yet: the compute plane has not started")
	}
	tree, err := pc.providerTree(ctx, uuid)
	if err != nil || len(tree) == 0 {
		return err
	}
	consumers := map[string]bool{}
	for _, rp := range tree {
		held, err := pc.providerConsumers(ctx, rp)
		if err != nil {
			return err
		}
		for _, c := range held {
			consumers[c] = true
		}
	}
	for _, c := range slices.Sorted(maps.Keys(consumers)) {
		if err := pc.dropProviders(ctx, c, tree); err != nil {
			return err
		}
	}
	for _, rp := range tree {
		_, err := pc.sc.Delete(ctx, pc.sc.ServiceURL("resource_providers", rp), nil)
		if err != nil && status(err) != http.StatusNotFound {
			return fmt.Errorf("DELETE /resource_providers/%s: %w", rp, err)
		}
	}
	return nil
}

// providerTree lists the providers of the tree under uuid (GET
// /resource_providers?in_tree, 1.14+), deepest first; none when uuid is
// not known.
func (p placementClient) providerTree(ctx context.Context, uuid string) ([]string, error) {
	var body struct {
		Providers []struct {
			UUID   string  `json:"uuid"`
			Parent *string `json:"parent_provider_uuid"`
		} `json:"resource_providers"`
	}
	url := p.sc.ServiceURL("resource_providers") + "?in_tree=" + uuid
	if _, err := p.sc.Get(ctx, url, &body, nil); err != nil {
		if status(err) == http.StatusNotFound {
			return nil, nil
		}
		return nil, fmt.Errorf("GET the provider tree of %s: %w", uuid, err)
	}
	parent := map[string]string{}
	for _, rp := range body.Providers {
		if rp.Parent != nil {
			parent[rp.UUID] = *rp.Parent
		}
	}
	depth := func(rp string) int {
		d := 0
		for seen := map[string]bool{}; parent[rp] != "" && !seen[rp]; rp = parent[rp] {
			seen[rp] = true
			d++
		}
		return d
	}
	// Only the subtree below uuid goes, should uuid not be the root.
	var out []string
	for _, rp := range body.Providers {
		for at := rp.UUID; at != ""; at = parent[at] {
			if at == uuid {
				out = append(out, rp.UUID)
				break
			}
		}
	}
	slices.SortStableFunc(out, func(x, y string) int { return depth(y) - depth(x) })
	return out, nil
}

// providerConsumers lists the consumers holding resources of a provider
// (GET /resource_providers/{uuid}/allocations).
func (p placementClient) providerConsumers(ctx context.Context, uuid string) ([]string, error) {
	var body struct {
		Allocations map[string]any `json:"allocations"`
	}
	if _, err := p.sc.Get(ctx, p.sc.ServiceURL("resource_providers", uuid, "allocations"), &body, nil); err != nil {
		if status(err) == http.StatusNotFound {
			return nil, nil
		}
		return nil, fmt.Errorf("GET allocations of provider %s: %w", uuid, err)
	}
	return slices.Collect(maps.Keys(body.Allocations)), nil
}

// dropProviders takes the providers out of a consumer's allocations,
// guarded by its generation (tried again when it moved meanwhile); a
// consumer left with nothing has its allocations deleted.
func (p placementClient) dropProviders(ctx context.Context, consumer string, providers []string) error {
	for range 3 {
		c, err := p.consumer(ctx, consumer)
		if err != nil {
			return err
		}
		keep := make(map[string]any, len(c.Allocations))
		for rp, a := range c.Allocations {
			if !slices.Contains(providers, rp) {
				keep[rp] = map[string]any{"resources": a.Resources}
			}
		}
		if len(keep) == len(c.Allocations) {
			return nil
		}
		if len(keep) == 0 {
			return p.DeleteAllocations(ctx, consumer)
		}
		body := map[string]any{"allocations": keep, "project_id": c.ProjectID, "user_id": c.UserID,
			"consumer_generation": c.Generation}
		_, err = p.sc.Put(ctx, p.sc.ServiceURL("allocations", consumer), body, nil,
			&gophercloud.RequestOpts{OkCodes: []int{http.StatusNoContent}})
		if status(err) == http.StatusConflict {
			continue
		}
		if err != nil {
			return fmt.Errorf("PUT /allocations/%s: %w", consumer, err)
		}
		return nil
	}
	return fmt.Errorf("take deleted providers out of the allocations of %s: the consumer kept changing", consumer)
}
