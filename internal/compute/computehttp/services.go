package computehttp

import (
	"net/http"

	"github.com/nimbus-cloud/nimbus/internal/api"
	"github.com/nimbus-cloud/nimbus/internal/compute"
)

// os-services schemas (nova/api/openstack/compute/schemas/services.py).
var (
	serviceText = &schema{types: []string{"string"}, minLength: intp(1), maxLength: intp(255)}

	serviceUpdateV21 = (&schema{types: []string{"object"}, props: []prop{{"host", fqdnParam},
		{"binary", serviceText}, {"disabled_reason", serviceText}},
		required: []string{"host", "binary"}, additional: no()}).compile()
	serviceUpdateV211 = serviceUpdateV21.with([]prop{{"forced_down", booleanParam}}).compile()
	serviceUpdateV253 = (&schema{types: []string{"object"}, props: []prop{
		{"status", &schema{types: []string{"string"}, enum: []any{"enabled", "disabled"}}},
		{"disabled_reason", serviceText}, {"forced_down", booleanParam}}, additional: no()}).compile()

	serviceQuery = (&schema{types: []string{"object"}, props: []prop{{"host", anyString},
		{"binary", anyString}}}).compile()
)

// serviceRoutes serves os-services where the cloud manages its services.
func (h *Handler) serviceRoutes(srv *api.Server) {
	if !h.svc.ManagesServices() {
		return
	}
	h.route(srv, "GET /v2.1/os-services", h.listServices)
	h.route(srv, "PUT /v2.1/os-services/{id}", h.updateService)
	h.route(srv, "DELETE /v2.1/os-services/{id}", h.deleteService)
}

// serviceView is one service (api-ref "Compute services"): id is an
// integer before 2.53 and a UUID after; forced_down appears at 2.11.
type serviceView struct {
	ID             any     `json:"id"`
	Binary         string  `json:"binary"`
	Host           string  `json:"host"`
	Zone           string  `json:"zone"`
	Status         string  `json:"status"`
	State          string  `json:"state"`
	UpdatedAt      *string `json:"updated_at"`
	DisabledReason *string `json:"disabled_reason"`
	ForcedDown     *bool   `json:"forced_down,omitempty"`
}

func newServiceView(v api.Version, st compute.ServiceState) serviceView {
	sv := serviceView{ID: st.ID, Binary: st.Binary, Host: st.Host, Zone: st.Zone, Status: serviceStatus(st),
		State: serviceLiveness(st)}
	if at(v, 53) {
		sv.ID = st.UUID
	}
	if !st.UpdatedAt.IsZero() {
		t := pyTime(st.UpdatedAt)
		sv.UpdatedAt = &t
	}
	if st.DisabledReason != "" {
		r := st.DisabledReason
		sv.DisabledReason = &r
	}
	if at(v, 11) {
		fd := st.ForcedDown
		sv.ForcedDown = &fd
	}
	return sv
}

func serviceStatus(st compute.ServiceState) string {
	if st.Disabled {
		return "disabled"
	}
	return "enabled"
}

func serviceLiveness(st compute.ServiceState) string {
	if st.Up {
		return "up"
	}
	return "down"
}

func (h *Handler) listServices(w http.ResponseWriter, r *http.Request, v api.Version) error {
	s := serviceQuery
	if at(v, 75) {
		s = strict(s)
	}
	q := r.URL.Query()
	if err := validateQuery(s, q); err != nil {
		return err
	}
	all, err := h.svc.ListServices(r.Context(), q.Get("host"), q.Get("binary"))
	if err != nil {
		return err
	}
	views := make([]serviceView, len(all))
	for i, st := range all {
		views[i] = newServiceView(v, st)
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"services": views})
	return nil
}

func (h *Handler) updateService(w http.ResponseWriter, r *http.Request, v api.Version) error {
	if at(v, 53) {
		return h.updateServiceV253(w, r, v)
	}
	action := r.PathValue("id")
	switch action {
	case "enable", "disable", "disable-log-reason":
	case "force-down":
		if !at(v, 11) {
			return api.Errorf(http.StatusNotFound, "Unknown action")
		}
	default:
		return api.Errorf(http.StatusNotFound, "Unknown action")
	}
	body, err := h.readBody(w, r)
	if err != nil {
		return err
	}
	s := serviceUpdateV21
	if at(v, 11) {
		s = serviceUpdateV211
	}
	if aerr := validateBody(s, body); aerr != nil {
		return aerr
	}
	m := body.(map[string]any)
	host, binary := m["host"].(string), m["binary"].(string)
	out := map[string]any{"host": host, "binary": binary}
	var u compute.ServiceUpdate
	switch action {
	case "enable":
		st := "enabled"
		u.Status, out["status"] = &st, st
	case "disable":
		st := "disabled"
		u.Status, out["status"] = &st, st
	case "disable-log-reason":
		reason, ok := m["disabled_reason"].(string)
		if !ok {
			return api.BadRequest("Missing disabled reason field")
		}
		st := "disabled"
		u.Status, u.DisabledReason, out["status"], out["disabled_reason"] = &st, &reason, st, reason
	case "force-down":
		raw, ok := m["forced_down"]
		if !ok {
			return api.BadRequest("Missing forced_down field")
		}
		fd := boolValue(raw)
		u.ForcedDown, out["forced_down"] = &fd, fd
	}
	if err := h.svc.UpdateServiceByHost(r.Context(), host, binary, u); err != nil {
		return err
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"service": out})
	return nil
}

func (h *Handler) updateServiceV253(w http.ResponseWriter, r *http.Request, v api.Version) error {
	body, err := h.readBody(w, r)
	if err != nil {
		return err
	}
	if aerr := validateBody(serviceUpdateV253, body); aerr != nil {
		return aerr
	}
	m := body.(map[string]any)
	var u compute.ServiceUpdate
	if s, ok := m["status"].(string); ok {
		u.Status = &s
	}
	if s, ok := m["disabled_reason"].(string); ok {
		u.DisabledReason = &s
	}
	if raw, ok := m["forced_down"]; ok {
		fd := boolValue(raw)
		u.ForcedDown = &fd
	}
	st, err := h.svc.UpdateService(r.Context(), r.PathValue("id"), u)
	if err != nil {
		return err
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"service": newServiceView(v, st)})
	return nil
}

func (h *Handler) deleteService(w http.ResponseWriter, r *http.Request, v api.Version) error {
	if err := h.svc.DeleteService(r.Context(), r.PathValue("id"), at(v, 53)); err != nil {
		return err
	}
	noContent(w, http.StatusNoContent)
	return nil
}
