package placementhttp

import (
	"net/http"
	"sort"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/api"
	"github.com/nimbus-cloud/nimbus/internal/placement"
)

func (h *Handler) allocationRoutes(srv *api.Server) {
	h.handle(srv, "POST /allocations", mv(13), api.Version{}, 404, h.postAllocations)
	h.handle(srv, "GET /allocations/{consumer_uuid}", mv(0), api.Version{}, 404, h.getAllocations)
	h.handle(srv, "PUT /allocations/{consumer_uuid}", mv(0), api.Version{}, 404, h.putAllocations)
	h.handle(srv, "DELETE /allocations/{consumer_uuid}", mv(0), api.Version{}, 404, h.deleteAllocations)
	h.handle(srv, "GET /resource_providers/{uuid}/allocations", mv(0), api.Version{}, 404, h.providerAllocations)
}

var (
	idString     = str{minLen: 1, maxLen: 255}
	amounts      = object{minProps: 1, patterns: []pattern{{rcPattern, intRange(1, 1<<62)}}}
	mappingsType = object{minProps: 1, additional: true,
		patterns: []pattern{{suffix133, array{items: uuidString, minItems: 1}}}}
	consumerType = str{re: rcPattern, minLen: 1, maxLen: 255}
)

// allocationsV1 is ALLOCATION_SCHEMA (before 1.12): a list of
// {resource_provider: {uuid}, resources}, with project and user from 1.8.
func allocationsV1(v api.Version) schema {
	item := object{props: map[string]schema{
		"resource_provider": object{props: map[string]schema{"uuid": uuidString}, required: []string{"uuid"}},
		"resources":         amounts,
	}, required: []string{"resource_provider", "resources"}}
	o := object{props: map[string]schema{"allocations": array{items: item, minItems: 1}}, required: []string{"allocations"}}
	if v.AtLeast(mv(8)) {
		o.props["project_id"], o.props["user_id"] = idString, idString
		o.required = append(o.required, "project_id", "user_id")
	}
	return o
}

// consumerSchema is one consumer's allocations from 1.12 (ALLOCATION_SCHEMA_V1_12
// and its successors): keyed by provider uuid, empty allowed from 1.28 or
// in POST /allocations, with consumer_generation (1.28), mappings (1.34) and
// consumer_type (1.38).
func consumerSchema(v api.Version, post bool) object {
	perRP := object{props: map[string]schema{"generation": integer{}, "resources": amounts}, required: []string{"resources"}}
	allocs := object{patterns: []pattern{{uuidKey, perRP}}, minProps: 1}
	if post || v.AtLeast(mv(28)) {
		allocs.minProps = 0
	}
	o := object{props: map[string]schema{"allocations": allocs, "project_id": idString, "user_id": idString},
		required: []string{"allocations", "project_id", "user_id"}}
	if v.AtLeast(mv(28)) {
		o.props["consumer_generation"] = integer{nullable: true}
		o.required = append(o.required, "consumer_generation")
	}
	if v.AtLeast(mv(34)) {
		o.props["mappings"] = mappingsType
	}
	if v.AtLeast(mv(38)) {
		o.props["consumer_type"] = consumerType
		o.required = append(o.required, "consumer_type")
	}
	return o
}

// postAllocationsSchema is POST_ALLOCATIONS_V1_13 and successors: consumers
// keyed by uuid.
func postAllocationsSchema(v api.Version, minProps int) schema {
	return object{patterns: []pattern{{uuidKey, consumerSchema(v, true)}}, minProps: minProps}
}

// consumerIn is one consumer's allocations in a request from 1.12.
type consumerIn struct {
	Allocations map[string]struct {
		Resources map[string]int64 `json:"resources"`
	} `json:"allocations"`
	ProjectID    string `json:"project_id"`
	UserID       string `json:"user_id"`
	Generation   *int64 `json:"consumer_generation"`
	ConsumerType string `json:"consumer_type"`
}

func (in consumerIn) write(consumer string) placement.ConsumerWrite {
	w := placement.ConsumerWrite{ConsumerUUID: consumer, ProjectID: in.ProjectID, UserID: in.UserID,
		ConsumerType: in.ConsumerType, Generation: in.Generation, Allocations: map[string]map[string]int64{}}
	for rp, a := range in.Allocations {
		w.Allocations[rp] = a.Resources
	}
	return w
}

func allocationOptions(v api.Version) placement.AllocationOptions {
	return placement.AllocationOptions{CheckGeneration: v.AtLeast(mv(28))}
}

// putAllocations answers PUT /allocations/{consumer_uuid}.
func (h *Handler) putAllocations(w http.ResponseWriter, r *http.Request, v api.Version) error {
	if err := requireJSON(r); err != nil {
		return err
	}
	if err := h.svc.Check(r.Context(), placement.RuleAllocationUpdate); err != nil {
		return err
	}
	consumer := r.PathValue("consumer_uuid")
	if !isUUIDLike(consumer) {
		return api.BadRequest("Malformed consumer_uuid: %s", consumer)
	}
	consumer = canonicalUUID(consumer)
	var cw placement.ConsumerWrite
	if v.Less(mv(12)) {
		var in struct {
			Allocations []struct {
				ResourceProvider struct {
					UUID string `json:"uuid"`
				} `json:"resource_provider"`
				Resources map[string]int64 `json:"resources"`
			} `json:"allocations"`
			ProjectID string `json:"project_id"`
			UserID    string `json:"user_id"`
		}
		if err := h.readBody(w, r, allocationsV1(v), &in); err != nil {
			return err
		}
		cw = placement.ConsumerWrite{ConsumerUUID: consumer, ProjectID: in.ProjectID, UserID: in.UserID,
			Allocations: map[string]map[string]int64{}}
		for _, a := range in.Allocations {
			cw.Allocations[a.ResourceProvider.UUID] = a.Resources
		}
	} else {
		var in consumerIn
		if err := h.readBody(w, r, consumerSchema(v, false), &in); err != nil {
			return err
		}
		cw = in.write(consumer)
	}
	if err := h.svc.SetConsumerAllocations(r.Context(), cw, allocationOptions(v)); err != nil {
		return err
	}
	noContent(w)
	return nil
}

// postAllocations answers POST /allocations (1.13): several consumers at once.
func (h *Handler) postAllocations(w http.ResponseWriter, r *http.Request, v api.Version) error {
	if err := requireJSON(r); err != nil {
		return err
	}
	if err := h.svc.Check(r.Context(), placement.RuleAllocationManage); err != nil {
		return err
	}
	var in map[string]consumerIn
	if err := h.readBody(w, r, postAllocationsSchema(v, 1), &in); err != nil {
		return err
	}
	ws := consumerWrites(in)
	if err := h.svc.SetAllocations(r.Context(), ws, allocationOptions(v)); err != nil {
		return err
	}
	noContent(w)
	return nil
}

// consumerWrites lists consumers by uuid, so that errors name the same one
// every time.
func consumerWrites(in map[string]consumerIn) []placement.ConsumerWrite {
	ws := make([]placement.ConsumerWrite, 0, len(in))
	for _, c := range sortedKeysOf(in) {
		ws = append(ws, in[c].write(canonicalUUID(c)))
	}
	return ws
}

func sortedKeysOf[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// getAllocations answers GET /allocations/{consumer_uuid}.
func (h *Handler) getAllocations(w http.ResponseWriter, r *http.Request, v api.Version) error {
	if err := checkAccept(r); err != nil {
		return err
	}
	allocs, err := h.svc.ConsumerAllocations(r.Context(), r.PathValue("consumer_uuid"))
	if err != nil {
		return err
	}
	byRP := map[string]map[string]any{}
	for _, a := range allocs {
		e := byRP[a.ProviderUUID]
		if e == nil {
			e = map[string]any{"generation": a.ProviderGeneration, "resources": map[string]int64{}}
			byRP[a.ProviderUUID] = e
		}
		e["resources"].(map[string]int64)[a.ResourceClass] = a.Used
	}
	body := map[string]any{"allocations": byRP}
	if len(allocs) > 0 && v.AtLeast(mv(12)) {
		c := allocs[0].Consumer
		body["project_id"], body["user_id"] = c.ProjectID, c.UserID
		if v.AtLeast(mv(28)) {
			body["consumer_generation"] = c.Generation
		}
		if v.AtLeast(mv(38)) {
			t := c.Type
			if t == "" {
				t = "unknown"
			}
			body["consumer_type"] = t
		}
	}
	writeJSON(w, v, http.StatusOK, latestOf(allocs, allocationModified), body)
	return nil
}

func allocationModified(a placement.Allocation) time.Time {
	if a.UpdatedAt.After(a.CreatedAt) {
		return a.UpdatedAt
	}
	return a.CreatedAt
}

// providerAllocations answers GET /resource_providers/{uuid}/allocations.
func (h *Handler) providerAllocations(w http.ResponseWriter, r *http.Request, v api.Version) error {
	if err := checkAccept(r); err != nil {
		return err
	}
	p, allocs, err := h.svc.ProviderAllocations(r.Context(), r.PathValue("uuid"))
	if err != nil {
		return err
	}
	byConsumer := map[string]map[string]any{}
	for _, a := range allocs {
		e := byConsumer[a.Consumer.UUID]
		if e == nil {
			e = map[string]any{"resources": map[string]int64{}}
			if v.AtLeast(mv(28)) {
				e["consumer_generation"] = a.Consumer.Generation
			}
			byConsumer[a.Consumer.UUID] = e
		}
		e["resources"].(map[string]int64)[a.ResourceClass] = a.Used
	}
	writeJSON(w, v, http.StatusOK, latestOf(allocs, allocationModified),
		map[string]any{"allocations": byConsumer, "resource_provider_generation": p.Generation})
	return nil
}

func (h *Handler) deleteAllocations(w http.ResponseWriter, r *http.Request, v api.Version) error {
	if err := h.svc.DeleteConsumerAllocations(r.Context(), r.PathValue("consumer_uuid")); err != nil {
		return err
	}
	noContent(w)
	return nil
}
