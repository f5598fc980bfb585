package computehttp

import (
	"net/http"

	"github.com/nimbus-cloud/nimbus/internal/api"
)

// Flavor access schemas (schemas/flavor_access.py).
var (
	tenantParam = &schema{types: []string{"object"},
		props:    []prop{{"tenant", &schema{types: []string{"string"}, minLength: intp(1), maxLength: intp(255)}}},
		required: []string{"tenant"}, additional: no()}
	addTenantAccess = (&schema{types: []string{"object"}, props: []prop{{"addTenantAccess", tenantParam}},
		required: []string{"addTenantAccess"}, additional: no()}).compile()
	removeTenantAccess = (&schema{types: []string{"object"}, props: []prop{{"removeTenantAccess", tenantParam}},
		required: []string{"removeTenantAccess"}, additional: no()}).compile()
)

func (h *Handler) flavorAccessRoutes(srv *api.Server) {
	h.route(srv, "GET /v2.1/flavors/{flavor_id}/os-flavor-access", h.listFlavorAccess)
	h.route(srv, "POST /v2.1/flavors/{flavor_id}/action", h.flavorAction)
}

// accessView is one entry of a flavor's access list.
type accessView struct {
	FlavorID string `json:"flavor_id"`
	TenantID string `json:"tenant_id"`
}

func writeAccess(w http.ResponseWriter, flavorID string, projects []string) {
	list := make([]accessView, len(projects))
	for i, p := range projects {
		list[i] = accessView{FlavorID: flavorID, TenantID: p}
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"flavor_access": list})
}

func (h *Handler) listFlavorAccess(w http.ResponseWriter, r *http.Request, _ api.Version) error {
	id := r.PathValue("flavor_id")
	ps, err := h.svc.FlavorAccess(r.Context(), id)
	if err != nil {
		return err
	}
	writeAccess(w, id, ps)
	return nil
}

// actionName is nova's action_peek: a server or flavor action body names
// exactly one action.
func actionName(body any) (string, error) {
	m, ok := body.(map[string]any)
	if !ok || len(m) != 1 {
		return "", api.BadRequest("Malformed request body: too many body keys")
	}
	for k := range m {
		return k, nil
	}
	return "", nil
}

// flavorAction dispatches POST /flavors/{id}/action: addTenantAccess and
// removeTenantAccess.
func (h *Handler) flavorAction(w http.ResponseWriter, r *http.Request, v api.Version) error {
	body, err := h.readBody(w, r)
	if err != nil {
		return err
	}
	action, err := actionName(body)
	if err != nil {
		return err
	}
	id := r.PathValue("flavor_id")
	var ps []string
	switch action {
	case "addTenantAccess":
		if err := validateBody(addTenantAccess, body); err != nil {
			return err
		}
		tenant := body.(map[string]any)[action].(map[string]any)["tenant"].(string)
		ps, err = h.svc.AddFlavorAccess(r.Context(), id, tenant, at(v, 7))
	case "removeTenantAccess":
		if err := validateBody(removeTenantAccess, body); err != nil {
			return err
		}
		tenant := body.(map[string]any)[action].(map[string]any)["tenant"].(string)
		ps, err = h.svc.RemoveFlavorAccess(r.Context(), id, tenant)
	default:
		return api.BadRequest("There is no such action: %s", action)
	}
	if err != nil {
		return err
	}
	writeAccess(w, id, ps)
	return nil
}
