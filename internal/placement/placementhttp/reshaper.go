package placementhttp

import (
	"net/http"

	"github.com/nimbus-cloud/nimbus/internal/api"
	"github.com/nimbus-cloud/nimbus/internal/placement"
)

func (h *Handler) reshaperRoutes(srv *api.Server) {
	h.handle(srv, "POST /reshaper", mv(30), api.Version{}, 404, h.reshape)
}

// reshaperSchema is POST_RESHAPER_SCHEMA and its 1.34 and 1.38 forms.
func reshaperSchema(v api.Version) schema {
	return object{props: map[string]schema{
		"inventories": object{patterns: []pattern{{uuidKey, putInventoriesSchema}}, minProps: 1},
		"allocations": postAllocationsSchema(v, 0),
	}, required: []string{"inventories", "allocations"}}
}

// reshape answers POST /reshaper (1.30).
func (h *Handler) reshape(w http.ResponseWriter, r *http.Request, v api.Version) error {
	if err := requireJSON(r); err != nil {
		return err
	}
	if err := h.svc.Check(r.Context(), placement.RuleReshape); err != nil {
		return err
	}
	var in struct {
		Inventories map[string]struct {
			Generation  int64                  `json:"resource_provider_generation"`
			Inventories map[string]inventoryIn `json:"inventories"`
		} `json:"inventories"`
		Allocations map[string]consumerIn `json:"allocations"`
	}
	if err := h.readBody(w, r, reshaperSchema(v), &in); err != nil {
		return err
	}
	var invs []placement.ReshapeInventory
	for _, rp := range sortedKeysOf(in.Inventories) {
		ri := placement.ReshapeInventory{ProviderUUID: rp, Generation: in.Inventories[rp].Generation}
		for class, inv := range in.Inventories[rp].Inventories {
			ri.Inventories = append(ri.Inventories, inv.inventory(class))
		}
		invs = append(invs, ri)
	}
	if err := h.svc.Reshape(r.Context(), invs, consumerWrites(in.Allocations), allocationOptions(v)); err != nil {
		return err
	}
	noContent(w)
	return nil
}
