package placementhttp

import (
	"encoding/json"
	"net/http"

	"github.com/nimbus-cloud/nimbus/internal/api"
	"github.com/nimbus-cloud/nimbus/internal/placement"
)

// inventoryView is one inventory (api-ref "Resource Provider Inventories").
type inventoryView struct {
	Total           int64   `json:"total"`
	Reserved        int64   `json:"reserved"`
	MinUnit         int64   `json:"min_unit"`
	MaxUnit         int64   `json:"max_unit"`
	StepSize        int64   `json:"step_size"`
	AllocationRatio float64 `json:"allocation_ratio"`
	// Generation is set only on single-inventory answers.
	Generation *int64 `json:"resource_provider_generation,omitempty"`
}

func inventoryBody(inv placement.Inventory) inventoryView {
	return inventoryView{Total: inv.Total, Reserved: inv.Reserved, MinUnit: inv.MinUnit, MaxUnit: inv.MaxUnit,
		StepSize: inv.StepSize, AllocationRatio: inv.AllocationRatio}
}

func inventoriesBody(p placement.Provider, invs []placement.Inventory) map[string]any {
	m := make(map[string]inventoryView, len(invs))
	for _, inv := range invs {
		m[inv.ResourceClass] = inventoryBody(inv)
	}
	return map[string]any{"resource_provider_generation": p.Generation, "inventories": m}
}

func (h *Handler) inventoryRoutes(srv *api.Server) {
	base := "/resource_providers/{uuid}/inventories"
	h.handle(srv, "GET "+base, mv(0), api.Version{}, 404, h.getInventories)
	h.handle(srv, "POST "+base, mv(0), api.Version{}, 404, h.createInventory)
	h.handle(srv, "PUT "+base, mv(0), api.Version{}, 404, h.setInventories)
	h.handle(srv, "DELETE "+base, mv(5), api.Version{}, http.StatusMethodNotAllowed, h.deleteInventories)
	h.handle(srv, "GET "+base+"/{resource_class}", mv(0), api.Version{}, 404, h.getInventory)
	h.handle(srv, "PUT "+base+"/{resource_class}", mv(0), api.Version{}, 404, h.updateInventory)
	h.handle(srv, "DELETE "+base+"/{resource_class}", mv(0), api.Version{}, 404, h.deleteInventory)
}

// inventoryFields are BASE_INVENTORY_SCHEMA's properties.
func inventoryFields() map[string]schema {
	return map[string]schema{
		"resource_provider_generation": integer{},
		"total":                        intRange(1, placement.MaxInt),
		"reserved":                     intRange(0, placement.MaxInt),
		"min_unit":                     intRange(1, placement.MaxInt),
		"max_unit":                     intRange(1, placement.MaxInt),
		"step_size":                    intRange(1, placement.MaxInt),
		"allocation_ratio":             number{max: placement.MaxFloat},
	}
}

var (
	// inventorySchema is BASE_INVENTORY_SCHEMA: one inventory with the
	// provider generation.
	inventorySchema = object{props: inventoryFields(), required: []string{"total", "resource_provider_generation"}}
	// inventoryRecord is PUT_INVENTORY_RECORD_SCHEMA: an entry of PUT inventories.
	inventoryRecord = object{props: inventoryFields(), required: []string{"total"}}
	// postInventorySchema is POST_INVENTORY_SCHEMA.
	postInventorySchema = func() schema {
		f := inventoryFields()
		f["resource_class"] = str{re: rcPattern}
		return object{props: f, required: []string{"total", "resource_class"}}
	}()
	// putInventoriesSchema is PUT_INVENTORY_SCHEMA.
	putInventoriesSchema = object{props: map[string]schema{
		"resource_provider_generation": integer{},
		"inventories":                  object{patterns: []pattern{{rcPattern, inventoryRecord}}, additional: true},
	}, required: []string{"resource_provider_generation", "inventories"}}
)

// inventoryIn is an inventory in a request; absent fields take placement's
// defaults.
type inventoryIn struct {
	ResourceClass   string       `json:"resource_class"`
	Generation      *int64       `json:"resource_provider_generation"`
	Total           int64        `json:"total"`
	Reserved        *int64       `json:"reserved"`
	MinUnit         *int64       `json:"min_unit"`
	MaxUnit         *int64       `json:"max_unit"`
	StepSize        *int64       `json:"step_size"`
	AllocationRatio *json.Number `json:"allocation_ratio"`
}

func (in inventoryIn) inventory(class string) placement.Inventory {
	inv := placement.DefaultInventory(class, in.Total)
	set := func(dst *int64, src *int64) {
		if src != nil {
			*dst = *src
		}
	}
	set(&inv.Reserved, in.Reserved)
	set(&inv.MinUnit, in.MinUnit)
	set(&inv.MaxUnit, in.MaxUnit)
	set(&inv.StepSize, in.StepSize)
	if in.AllocationRatio != nil {
		inv.AllocationRatio, _ = in.AllocationRatio.Float64()
	}
	return inv
}

func inventoryOptions(v api.Version) placement.InventoryOptions {
	return placement.InventoryOptions{ReservedMayEqualTotal: v.AtLeast(mv(26))}
}

func (h *Handler) getInventories(w http.ResponseWriter, r *http.Request, v api.Version) error {
	if err := checkAccept(r); err != nil {
		return err
	}
	p, invs, err := h.svc.Inventories(r.Context(), r.PathValue("uuid"))
	if err != nil {
		return err
	}
	writeJSON(w, v, http.StatusOK, latestOf(invs, placement.Inventory.Modified), inventoriesBody(p, invs))
	return nil
}

func (h *Handler) getInventory(w http.ResponseWriter, r *http.Request, v api.Version) error {
	if err := checkAccept(r); err != nil {
		return err
	}
	p, inv, err := h.svc.Inventory(r.Context(), r.PathValue("uuid"), r.PathValue("resource_class"))
	if err != nil {
		return err
	}
	writeSingleInventory(w, v, http.StatusOK, p, inv)
	return nil
}

func writeSingleInventory(w http.ResponseWriter, v api.Version, status int, p placement.Provider, inv placement.Inventory) {
	body := inventoryBody(inv)
	body.Generation = &p.Generation
	writeJSON(w, v, status, inv.Modified(), body)
}

func (h *Handler) createInventory(w http.ResponseWriter, r *http.Request, v api.Version) error {
	if err := requireJSON(r); err != nil {
		return err
	}
	uuid := r.PathValue("uuid")
	if err := h.svc.CheckProvider(r.Context(), placement.RuleInventoryCreate, uuid); err != nil {
		return err
	}
	var in inventoryIn
	if err := h.readBody(w, r, postInventorySchema, &in); err != nil {
		return err
	}
	p, inv, err := h.svc.CreateInventory(r.Context(), uuid, in.inventory(in.ResourceClass), inventoryOptions(v))
	if err != nil {
		return err
	}
	w.Header().Set("Location", api.BaseURL(r)+"/resource_providers/"+uuid+"/inventories/"+inv.ResourceClass)
	writeSingleInventory(w, v, http.StatusCreated, p, inv)
	return nil
}

func (h *Handler) setInventories(w http.ResponseWriter, r *http.Request, v api.Version) error {
	if err := requireJSON(r); err != nil {
		return err
	}
	uuid := r.PathValue("uuid")
	if err := h.svc.CheckProvider(r.Context(), placement.RuleInventoryUpdate, uuid); err != nil {
		return err
	}
	var in struct {
		Generation  int64                  `json:"resource_provider_generation"`
		Inventories map[string]inventoryIn `json:"inventories"`
	}
	if err := h.readBody(w, r, putInventoriesSchema, &in); err != nil {
		return err
	}
	invs := make([]placement.Inventory, 0, len(in.Inventories))
	for class, inv := range in.Inventories {
		invs = append(invs, inv.inventory(class))
	}
	p, out, err := h.svc.SetInventories(r.Context(), uuid, in.Generation, invs, inventoryOptions(v))
	if err != nil {
		return err
	}
	writeJSON(w, v, http.StatusOK, latestOf(out, placement.Inventory.Modified), inventoriesBody(p, out))
	return nil
}

func (h *Handler) updateInventory(w http.ResponseWriter, r *http.Request, v api.Version) error {
	if err := requireJSON(r); err != nil {
		return err
	}
	uuid := r.PathValue("uuid")
	if err := h.svc.CheckProvider(r.Context(), placement.RuleInventoryUpdate, uuid); err != nil {
		return err
	}
	var in inventoryIn
	if err := h.readBody(w, r, inventorySchema, &in); err != nil {
		return err
	}
	p, inv, err := h.svc.UpdateInventory(r.Context(), uuid, *in.Generation, in.inventory(r.PathValue("resource_class")),
		inventoryOptions(v))
	if err != nil {
		return err
	}
	writeSingleInventory(w, v, http.StatusOK, p, inv)
	return nil
}

func (h *Handler) deleteInventory(w http.ResponseWriter, r *http.Request, v api.Version) error {
	if err := h.svc.DeleteInventory(r.Context(), r.PathValue("uuid"), r.PathValue("resource_class")); err != nil {
		return err
	}
	noContent(w)
	return nil
}

func (h *Handler) deleteInventories(w http.ResponseWriter, r *http.Request, v api.Version) error {
	if err := h.svc.DeleteInventories(r.Context(), r.PathValue("uuid")); err != nil {
		return err
	}
	noContent(w)
	return nil
}
