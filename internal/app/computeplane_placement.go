package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/imagedata"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"

	"github.com/nimbus-cloud/nimbus/internal/agent"
	"github.com/nimbus-cloud/nimbus/internal/compute"
	"github.com/nimbus-cloud/nimbus/internal/conductor"
	"github.com/nimbus-cloud/nimbus/internal/rpc"
	"github.com/nimbus-cloud/nimbus/internal/scheduler"
	"github.com/nimbus-cloud/nimbus/internal/schedulerd"
)

// placementMicroversion is what the control plane speaks to placement:
// 1.28 brought consumer generations, 1.29 root providers in summaries, 1.31
// in_tree, 1.36 is nova's as of 2024.1.
const placementMicroversion = "1.36"

// placementClient is placement's REST API as the scheduler, the conductor
// and the compute agents use it, with the compute service's credentials.
type placementClient struct {
	sc *gophercloud.ServiceClient
}

var (
	_ schedulerd.Placement = placementClient{}
	_ agent.Placement      = placementClient{}
)

func newPlacementClient(sc *gophercloud.ServiceClient) placementClient {
	c := *sc
	c.Microversion = placementMicroversion
	return placementClient{sc: &c}
}

// status is the HTTP status of a gophercloud error, 0 when it has none.
func status(err error) int {
	var e gophercloud.ErrUnexpectedResponseCode
	if errors.As(err, &e) {
		return e.Actual
	}
	return 0
}

type wireAllocationRequest struct {
	Allocations map[string]struct {
		Resources map[string]int64 `json:"resources"`
	} `json:"allocations"`
}

type wireProviderSummary struct {
	Resources map[string]struct {
		Capacity int64 `json:"capacity"`
		Used     int64 `json:"used"`
	} `json:"resources"`
	RootProviderUUID string `json:"root_provider_uuid"`
}

// AllocationCandidates asks GET /allocation_candidates and keeps the first
// allocation request of each provider tree, keyed by its root, with the
// root's summary.
func (p placementClient) AllocationCandidates(ctx context.Context, q schedulerd.CandidateQuery) (schedulerd.Candidates, error) {
	classes := make([]string, 0, len(q.Resources))
	for class, n := range q.Resources {
		if n > 0 {
			classes = append(classes, class+":"+strconv.FormatInt(n, 10))
		}
	}
	sort.Strings(classes)
	v := url.Values{"resources": {strings.Join(classes, ",")}}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	if q.InTree != "" {
		v.Set("in_tree", q.InTree)
	}
	var body struct {
		AllocationRequests []wireAllocationRequest        `json:"allocation_requests"`
		ProviderSummaries  map[string]wireProviderSummary `json:"provider_summaries"`
	}
	_, err := p.sc.Get(ctx, p.sc.ServiceURL("allocation_candidates")+"?"+v.Encode(), &body, nil)
	if err != nil {
		return schedulerd.Candidates{}, fmt.Errorf("GET /allocation_candidates: %w", err)
	}
	out := schedulerd.Candidates{Roots: make(map[string]schedulerd.Candidate, len(body.ProviderSummaries))}
	for _, ar := range body.AllocationRequests {
		alloc := rpc.Allocation{}
		root := ""
		for rp, a := range ar.Allocations {
			alloc[rp] = a.Resources
			// The compute node's tree is the one its VCPU come from; a
			// sharing provider (a storage pool) is a root of its own.
			if _, cpu := a.Resources["VCPU"]; cpu || root == "" {
				root = cmp.Or(body.ProviderSummaries[rp].RootProviderUUID, rp)
			}
		}
		if root == "" {
			continue
		}
		if _, seen := out.Roots[root]; seen {
			continue
		}
		c := schedulerd.Candidate{Allocation: alloc}
		if s, ok := body.ProviderSummaries[root]; ok {
			c.VCPU = schedulerd.Capacity(s.Resources["VCPU"])
			c.MemoryMB = schedulerd.Capacity(s.Resources["MEMORY_MB"])
			c.DiskGB = schedulerd.Capacity(s.Resources["DISK_GB"])
		}
		out.Roots[root] = c
	}
	return out, nil
}

// Claim writes a new consumer's allocations (PUT /allocations/{consumer}
// with consumer_generation null); placement's 409 is a refusal.
func (p placementClient) Claim(ctx context.Context, consumer, projectID, userID string, alloc rpc.Allocation) (bool, error) {
	allocs := make(map[string]any, len(alloc))
	for rp, res := range alloc {
		allocs[rp] = map[string]any{"resources": res}
	}
	body := map[string]any{"allocations": allocs, "project_id": projectID, "user_id": userID,
		"consumer_generation": nil}
	_, err := p.sc.Put(ctx, p.sc.ServiceURL("allocations", consumer), body, nil,
		&gophercloud.RequestOpts{OkCodes: []int{http.StatusNoContent}})
	if status(err) == http.StatusConflict {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("PUT /allocations/%s: %w", consumer, err)
	}
	return true, nil
}

// DeleteAllocations is DELETE /allocations/{consumer}; none is no error.
func (p placementClient) DeleteAllocations(ctx context.Context, consumer string) error {
	_, err := p.sc.Delete(ctx, p.sc.ServiceURL("allocations", consumer), nil)
	if err != nil && status(err) != http.StatusNotFound {
		return fmt.Errorf("DELETE /allocations/%s: %w", consumer, err)
	}
	return nil
}

// consumerAllocations is GET /allocations/{consumer} (1.28+).
type consumerAllocations struct {
	Allocations map[string]struct {
		Resources map[string]int64 `json:"resources"`
	} `json:"allocations"`
	Generation *int64 `json:"consumer_generation"`
	ProjectID  string `json:"project_id"`
	UserID     string `json:"user_id"`
}

func (p placementClient) consumer(ctx context.Context, id string) (consumerAllocations, error) {
	var c consumerAllocations
	if _, err := p.sc.Get(ctx, p.sc.ServiceURL("allocations", id), &c, nil); err != nil {
		return c, fmt.Errorf("GET /allocations/%s: %w", id, err)
	}
	return c, nil
}

// Allocations returns what a consumer holds, by provider.
func (p placementClient) Allocations(ctx context.Context, consumer string) (rpc.Allocation, error) {
	c, err := p.consumer(ctx, consumer)
	if err != nil {
		return nil, err
	}
	out := make(rpc.Allocation, len(c.Allocations))
	for rp, a := range c.Allocations {
		out[rp] = a.Resources
	}
	return out, nil
}

// MoveAllocations gives to the allocations from holds, in place of its
// own, and empties from, in one POST /allocations guarded by both
// consumers' generations (tried again when one moved meanwhile).
func (p placementClient) MoveAllocations(ctx context.Context, from, to, projectID, userID string) error {
	for range 3 {
		src, err := p.consumer(ctx, from)
		if err != nil {
			return err
		}
		if len(src.Allocations) == 0 {
			return nil
		}
		dst, err := p.consumer(ctx, to)
		if err != nil {
			return err
		}
		allocs := make(map[string]any, len(src.Allocations))
		for rp, a := range src.Allocations {
			allocs[rp] = map[string]any{"resources": a.Resources}
		}
		body := map[string]any{
			from: map[string]any{"allocations": map[string]any{}, "project_id": src.ProjectID, "user_id": src.UserID,
				"consumer_generation": src.Generation},
			to: map[string]any{"allocations": allocs, "project_id": projectID, "user_id": userID,
				"consumer_generation": dst.Generation},
		}
		_, err = p.sc.Post(ctx, p.sc.ServiceURL("allocations"), body, nil,
			&gophercloud.RequestOpts{OkCodes: []int{http.StatusNoContent}})
		if status(err) == http.StatusConflict {
			continue
		}
		if err != nil {
			return fmt.Errorf("move allocations of %s to %s: %w", from, to, err)
		}
		return nil
	}
	return fmt.Errorf("move allocations of %s to %s: the consumers kept changing", from, to)
}

type wireInventory struct {
	Total           int64   `json:"total"`
	Reserved        int64   `json:"reserved"`
	MinUnit         int64   `json:"min_unit"`
	MaxUnit         int64   `json:"max_unit"`
	StepSize        int64   `json:"step_size"`
	AllocationRatio float64 `json:"allocation_ratio"`
}

// Inventories is GET /resource_providers/{uuid}/inventories.
func (p placementClient) Inventories(ctx context.Context, uuid string) (int64, map[string]agent.Inventory, error) {
	var body struct {
		Generation  int64                    `json:"resource_provider_generation"`
		Inventories map[string]wireInventory `json:"inventories"`
	}
	if _, err := p.sc.Get(ctx, p.sc.ServiceURL("resource_providers", uuid, "inventories"), &body, nil); err != nil {
		if status(err) == http.StatusNotFound {
			return 0, nil, fmt.Errorf("GET inventories of %s: %w: %v", uuid, agent.ErrProviderNotFound, err)
		}
		return 0, nil, fmt.Errorf("GET inventories of %s: %w", uuid, err)
	}
	out := make(map[string]agent.Inventory, len(body.Inventories))
	for class, i := range body.Inventories {
		out[class] = agent.Inventory(i)
	}
	return body.Generation, out, nil
}

// SetInventories is PUT /resource_providers/{uuid}/inventories; a 409 is a
// generation conflict.
func (p placementClient) SetInventories(ctx context.Context, uuid string, generation int64, inv map[string]agent.Inventory) (bool, error) {
	wire := make(map[string]wireInventory, len(inv))
	for class, i := range inv {
		wire[class] = wireInventory(i)
	}
	body := map[string]any{"resource_provider_generation": generation, "inventories": wire}
	_, err := p.sc.Put(ctx, p.sc.ServiceURL("resource_providers", uuid, "inventories"), body, nil,
		&gophercloud.RequestOpts{OkCodes: []int{http.StatusOK}})
	if status(err) == http.StatusConflict {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("PUT inventories of %s: %w", uuid, err)
	}
	return true, nil
}

// EnsureProvider finds the provider named name or creates it.
func (p placementClient) EnsureProvider(ctx context.Context, name string) (string, error) {
	for range 2 {
		var list struct {
			Providers []struct {
				UUID string `json:"uuid"`
			} `json:"resource_providers"`
		}
		u := p.sc.ServiceURL("resource_providers") + "?" + url.Values{"name": {name}}.Encode()
		if _, err := p.sc.Get(ctx, u, &list, nil); err != nil {
			return "", fmt.Errorf("find resource provider %s: %w", name, err)
		}
		if len(list.Providers) > 0 {
			return list.Providers[0].UUID, nil
		}
		var created struct {
			UUID string `json:"uuid"`
		}
		_, err := p.sc.Post(ctx, p.sc.ServiceURL("resource_providers"), map[string]any{"name": name}, &created,
			&gophercloud.RequestOpts{OkCodes: []int{http.StatusOK}})
		if status(err) == http.StatusConflict {
			continue // created by another agent of the same name meanwhile
		}
		if err != nil {
			return "", fmt.Errorf("create resource provider %s: %w", name, err)
		}
		return created.UUID, nil
	}
	return "", fmt.Errorf("resource provider %s: created and not found", name)
}

// ProviderInventory reads a provider's inventories and usages, for the
// scheduler to explain a NoValidHost.
func (p placementClient) ProviderInventory(ctx context.Context, uuid string) (map[string]scheduler.Inventory, error) {
	_, inv, err := p.Inventories(ctx, uuid)
	if err != nil {
		return nil, err
	}
	var usages struct {
		Usages map[string]int64 `json:"usages"`
	}
	if _, err := p.sc.Get(ctx, p.sc.ServiceURL("resource_providers", uuid, "usages"), &usages, nil); err != nil {
		return nil, fmt.Errorf("GET usages of %s: %w", uuid, err)
	}
	out := make(map[string]scheduler.Inventory, len(inv))
	for class, i := range inv {
		out[class] = scheduler.Inventory{Total: i.Total, Reserved: i.Reserved, AllocationRatio: i.AllocationRatio,
			Used: usages.Usages[class], MaxUnit: i.MaxUnit}
	}
	return out, nil
}

// imageFetcher downloads images for the compute agents, with the compute
// service's credentials.
type imageFetcher struct {
	sc *gophercloud.ServiceClient
}

// Download streams GET /v2/images/{id}/file.
func (f imageFetcher) Download(ctx context.Context, id string) (io.ReadCloser, error) {
	r := imagedata.Download(ctx, f.sc, id)
	rc, err := r.Extract()
	if err != nil {
		if s := status(err); s == http.StatusNotFound || s == http.StatusNoContent {
			return nil, fmt.Errorf("%w: %s: %v", agent.ErrImageNotFound, id, err)
		}
		return nil, err
	}
	return rc, nil
}

// Upload sets a snapshot image's formats and uploads its data, with the
// compute service's credentials (glance lets admins write any image).
func (f imageFetcher) Upload(ctx context.Context, id, diskFormat, containerFormat string, data io.Reader) error {
	patch := images.UpdateOpts{
		images.UpdateImageProperty{Op: images.ReplaceOp, Name: "disk_format", Value: diskFormat},
		images.UpdateImageProperty{Op: images.ReplaceOp, Name: "container_format", Value: containerFormat},
	}
	if _, err := images.Update(ctx, f.sc, id, patch).Extract(); err != nil {
		return fmt.Errorf("set formats of image %s: %w", id, err)
	}
	if err := imagedata.Upload(ctx, f.sc, id, data).ExtractErr(); err != nil {
		return fmt.Errorf("upload image %s: %w", id, err)
	}
	return nil
}

// Delete removes an image; a missing one is no error.
func (f imageFetcher) Delete(ctx context.Context, id string) error {
	err := images.Delete(ctx, f.sc, id).ExtractErr()
	if err != nil && status(err) != http.StatusNotFound {
		return fmt.Errorf("delete image %s: %w", id, err)
	}
	return nil
}

// providerAggregates is GET /resource_providers/{uuid}/aggregates: the
// provider's aggregates and generation (1.19+).
func (p placementClient) providerAggregates(ctx context.Context, uuid string) ([]string, int64, error) {
	var body struct {
		Aggregates []string `json:"aggregates"`
		Generation int64    `json:"resource_provider_generation"`
	}
	if _, err := p.sc.Get(ctx, p.sc.ServiceURL("resource_providers", uuid, "aggregates"), &body, nil); err != nil {
		return nil, 0, fmt.Errorf("GET aggregates of %s: %w", uuid, err)
	}
	return body.Aggregates, body.Generation, nil
}

// setProviderAggregates is PUT /resource_providers/{uuid}/aggregates
// guarded by the provider's generation; false is placement's 409.
func (p placementClient) setProviderAggregates(ctx context.Context, uuid string, generation int64, aggs []string) (bool, error) {
	body := map[string]any{"aggregates": aggs, "resource_provider_generation": generation}
	_, err := p.sc.Put(ctx, p.sc.ServiceURL("resource_providers", uuid, "aggregates"), body, nil,
		&gophercloud.RequestOpts{OkCodes: []int{http.StatusOK}})
	if status(err) == http.StatusConflict {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("PUT aggregates of %s: %w", uuid, err)
	}
	return true, nil
}

// aggregateAttempts bounds the reads and writes of a provider's aggregates
// when other writers keep moving its generation, as nova's report client
// tries four times.
const aggregateAttempts = 4

// placementMirror tells placement what the compute API changes of hosts:
// aggregate membership (mirrored), and deleted compute services (their
// providers removed, see DeleteComputeProvider). For membership the host's
// compute node is found in the service group,
// its provider's aggregates read and written back with the aggregate added
// or removed. The placement client is set once the compute plane has the
// service's credentials; until then a change is refused with an error (the
// compute API logs it).
type placementMirror struct {
	reg    *conductor.Registry
	client atomic.Pointer[placementClient]
}

var _ compute.PlacementAggregates = (*placementMirror)(nil)

func (a *placementMirror) AggregateAddHost(ctx context.Context, aggregateUUID, host string) error {
	return a.update(ctx, aggregateUUID, host, true)
}

func (a *placementMirror) AggregateRemoveHost(ctx context.Context, aggregateUUID, host string) error {
	return a.update(ctx, aggregateUUID, host, false)
}

func (a *placementMirror) update(ctx context.Context, aggregateUUID, host string, add bool) error {
	pc := a.client.Load()
	if pc == nil {
		return errors.New("placement is not reachable yet: the compute plane has not started")
	}
	st, ok := a.reg.Compute(host)
	if !ok || st.Node == nil || st.Node.ProviderUUID == "" {
		return fmt.Errorf("compute host %s has reported no resource provider", host)
	}
	rp := st.Node.ProviderUUID
	for range aggregateAttempts {
		aggs, gen, err := pc.providerAggregates(ctx, rp)
		if err != nil {
			return err
		}
		if slices.Contains(aggs, aggregateUUID) == add {
			return nil
		}
		if add {
			aggs = append(aggs, aggregateUUID)
		} else {
			aggs = slices.DeleteFunc(aggs, func(u string) bool { return u == aggregateUUID })
		}
		done, err := pc.setProviderAggregates(ctx, rp, gen, aggs)
		if err != nil || done {
			return err
		}
	}
	return fmt.Errorf("set the aggregates of resource provider %s: its generation kept changing", rp)
}
