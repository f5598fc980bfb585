package computehttp

import (
	"maps"
	"net/http"
	"slices"

	"github.com/nimbus-cloud/nimbus/internal/api"
	"github.com/nimbus-cloud/nimbus/internal/compute"
)

// Host aggregate schemas (schemas/aggregates.py; api-ref "Host
// aggregates (os-aggregates)").
var (
	aggregateZone = &schema{types: []string{"string", "null"}, minLength: intp(1), maxLength: intp(255)}
	aggregateHost = &schema{types: []string{"string"}, minLength: intp(1), maxLength: intp(255)}

	aggregateCreate = (&schema{types: []string{"object"}, props: []prop{{"aggregate", &schema{
		types: []string{"object"}, props: []prop{{"name", nameParam}, {"availability_zone", aggregateZone}},
		required: []string{"name"}, additional: no()}}}, required: []string{"aggregate"}, additional: no()}).compile()
	aggregateUpdate = (&schema{types: []string{"object"}, props: []prop{{"aggregate", &schema{
		types: []string{"object"}, props: []prop{{"name", nameParam}, {"availability_zone", aggregateZone}},
		minProps: intp(1), additional: no()}}}, required: []string{"aggregate"}, additional: no()}).compile()
	aggregateHostAction = func(action string) *schema {
		return (&schema{types: []string{"object"}, props: []prop{{action, &schema{types: []string{"object"},
			props: []prop{{"host", aggregateHost}}, required: []string{"host"}, additional: no()}}},
			required: []string{action}, additional: no()}).compile()
	}
	aggregateAddHost    = aggregateHostAction("add_host")
	aggregateRemoveHost = aggregateHostAction("remove_host")
	aggregateSetMeta    = (&schema{types: []string{"object"}, props: []prop{{"set_metadata", &schema{
		types: []string{"object"}, props: []prop{{"metadata", &schema{types: []string{"object"},
			patternKey:   `^[a-zA-Z0-9-_:. ]{1,255}$`,
			patternProps: &schema{types: []string{"string", "null"}, maxLength: intp(255)}, additional: no()}}},
		required: []string{"metadata"}, additional: no()}}}, required: []string{"set_metadata"},
		additional: no()}).compile()
)

func (h *Handler) aggregateRoutes(srv *api.Server) {
	h.route(srv, "GET /v2.1/os-aggregates", h.listAggregates)
	h.route(srv, "POST /v2.1/os-aggregates", h.createAggregate)
	h.route(srv, "GET /v2.1/os-aggregates/{id}", h.showAggregate)
	h.route(srv, "PUT /v2.1/os-aggregates/{id}", h.updateAggregate)
	h.route(srv, "DELETE /v2.1/os-aggregates/{id}", h.deleteAggregate)
	h.route(srv, "POST /v2.1/os-aggregates/{id}/action", h.aggregateAction)
}

// aggregateView is nova's aggregate: the soft-delete columns always, the
// uuid from 2.41, hosts and metadata unless brief (create's answer).
func aggregateView(a compute.Aggregate, v api.Version, brief bool) map[string]any {
	out := map[string]any{"id": a.ID, "name": a.Name, "availability_zone": ptrOrNull(a.Zone()),
		"created_at": pyTime(a.CreatedAt), "updated_at": nil, "deleted": false, "deleted_at": nil}
	if a.UpdatedAt != nil {
		out["updated_at"] = pyTime(*a.UpdatedAt)
	}
	if !brief {
		hosts := a.Hosts
		if hosts == nil {
			hosts = []string{}
		}
		md := a.Metadata
		if md == nil {
			md = map[string]string{}
		}
		out["hosts"], out["metadata"] = hosts, md
	}
	if at(v, 41) {
		out["uuid"] = a.UUID
	}
	return out
}

func (h *Handler) createAggregate(w http.ResponseWriter, r *http.Request, v api.Version) error {
	body, err := h.readBody(w, r)
	if err != nil {
		return err
	}
	if err := validateBody(aggregateCreate, body); err != nil {
		return err
	}
	in := body.(map[string]any)["aggregate"].(map[string]any)
	var zone *string
	if z, ok := in["availability_zone"].(string); ok {
		zone = &z
	}
	a, err := h.svc.CreateAggregate(r.Context(), in["name"].(string), zone)
	if err != nil {
		return err
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"aggregate": aggregateView(a, v, true)})
	return nil
}

func (h *Handler) listAggregates(w http.ResponseWriter, r *http.Request, v api.Version) error {
	as, err := h.svc.Aggregates(r.Context())
	if err != nil {
		return err
	}
	list := make([]map[string]any, len(as))
	for i, a := range as {
		list[i] = aggregateView(a, v, false)
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"aggregates": list})
	return nil
}

func (h *Handler) showAggregate(w http.ResponseWriter, r *http.Request, v api.Version) error {
	a, err := h.svc.Aggregate(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"aggregate": aggregateView(a, v, false)})
	return nil
}

func (h *Handler) updateAggregate(w http.ResponseWriter, r *http.Request, v api.Version) error {
	body, err := h.readBody(w, r)
	if err != nil {
		return err
	}
	if err := validateBody(aggregateUpdate, body); err != nil {
		return err
	}
	in := body.(map[string]any)["aggregate"].(map[string]any)
	var u compute.AggregateUpdate
	if n, ok := in["name"].(string); ok {
		u.Name = &n
	}
	if z, ok := in["availability_zone"].(string); ok {
		u.Zone = &z
	}
	a, err := h.svc.UpdateAggregate(r.Context(), r.PathValue("id"), u)
	if err != nil {
		return err
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"aggregate": aggregateView(a, v, false)})
	return nil
}

func (h *Handler) deleteAggregate(w http.ResponseWriter, r *http.Request, _ api.Version) error {
	if err := h.svc.DeleteAggregate(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	noContent(w, http.StatusOK)
	return nil
}

// aggregateAction runs add_host, remove_host or set_metadata.
func (h *Handler) aggregateAction(w http.ResponseWriter, r *http.Request, v api.Version) error {
	body, err := h.readBody(w, r)
	if err != nil {
		return err
	}
	m, ok := body.(map[string]any)
	if !ok || len(m) != 1 {
		return api.BadRequest("Invalid request body: give exactly one of add_host, remove_host, set_metadata.")
	}
	id := r.PathValue("id")
	var a compute.Aggregate
	switch {
	case m["add_host"] != nil:
		if err := validateBody(aggregateAddHost, body); err != nil {
			return err
		}
		a, err = h.svc.AddAggregateHost(r.Context(), id, m["add_host"].(map[string]any)["host"].(string))
	case m["remove_host"] != nil:
		if err := validateBody(aggregateRemoveHost, body); err != nil {
			return err
		}
		a, err = h.svc.RemoveAggregateHost(r.Context(), id, m["remove_host"].(map[string]any)["host"].(string))
	case m["set_metadata"] != nil:
		if err := validateBody(aggregateSetMeta, body); err != nil {
			return err
		}
		md := m["set_metadata"].(map[string]any)["metadata"].(map[string]any)
		set := make(map[string]*string, len(md))
		for _, k := range slices.Sorted(maps.Keys(md)) {
			if s, ok := md[k].(string); ok {
				set[k] = &s
			} else {
				set[k] = nil
			}
		}
		a, err = h.svc.SetAggregateMetadata(r.Context(), id, set)
	default:
		for k := range m {
			return api.BadRequest("Invalid request body: unknown aggregate action %s.", k)
		}
	}
	if err != nil {
		return err
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"aggregate": aggregateView(a, v, false)})
	return nil
}
