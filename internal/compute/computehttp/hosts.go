package computehttp

import (
	"errors"
	"net/http"
	"strings"

	"github.com/nimbus-cloud/nimbus/internal/api"
	"github.com/nimbus-cloud/nimbus/internal/compute"
)

// hostsMaxMinor is the last microversion of the deprecated os-hosts.
const hostsMaxMinor = 42

// hostUpdateBody is nova's os-hosts update schema: status or
// maintenance_mode, each enable or disable.
var hostUpdateBody = func() *schema {
	mode := &schema{types: []string{"string"}, enum: anyList([]string{"enable", "disable", "Enable", "Disable",
		"ENABLE", "DISABLE"})}
	return (&schema{types: []string{"object"}, props: []prop{{"status", mode}, {"maintenance_mode", mode}},
		additional: no()}).compile()
}()

// hostRoutes serve os-hosts where the cloud manages its services.
func (h *Handler) hostRoutes(srv *api.Server) {
	if !h.svc.ManagesServices() {
		return
	}
	h.route(srv, "GET /v2.1/os-hosts", h.listHosts)
	h.route(srv, "GET /v2.1/os-hosts/{host}", h.showHost)
	h.route(srv, "PUT /v2.1/os-hosts/{host}", h.updateHost)
	for _, action := range []string{"startup", "shutdown", "reboot"} {
		h.route(srv, "GET /v2.1/os-hosts/{host}/"+action, h.hostPowerAction(action))
	}
}

// hostErr renders a host operation the driver cannot carry out as nova's
// 501.
func hostErr(err error) error {
	if errors.Is(err, compute.ErrHostActionUnsupported) {
		return api.Errorf(http.StatusNotImplemented, "The requested functionality is not supported.")
	}
	return err
}

func (h *Handler) listHosts(w http.ResponseWriter, r *http.Request, v api.Version) error {
	if at(v, hostsMaxMinor+1) {
		return notFound()
	}
	zone, _ := last(r.URL.Query(), "zone")
	hosts, err := h.svc.Hosts(r.Context(), zone)
	if err != nil {
		return err
	}
	views := make([]map[string]any, len(hosts))
	for i, e := range hosts {
		views[i] = map[string]any{"host_name": e.HostName, "service": e.Service, "zone": e.Zone}
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"hosts": views})
	return nil
}

func (h *Handler) showHost(w http.ResponseWriter, r *http.Request, v api.Version) error {
	if at(v, hostsMaxMinor+1) {
		return notFound()
	}
	res, err := h.svc.HostResources(r.Context(), r.PathValue("host"))
	if err != nil {
		return err
	}
	views := make([]map[string]any, len(res))
	for i, x := range res {
		views[i] = map[string]any{"resource": map[string]any{"host": x.Host, "project": x.Project, "cpu": x.CPU,
			"memory_mb": x.MemoryMB, "disk_gb": x.DiskGB}}
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"host": views})
	return nil
}

func (h *Handler) updateHost(w http.ResponseWriter, r *http.Request, v api.Version) error {
	if at(v, hostsMaxMinor+1) {
		return notFound()
	}
	body, err := h.readBody(w, r)
	if err != nil {
		return err
	}
	if err := validateBody(hostUpdateBody, body); err != nil {
		return err
	}
	m := body.(map[string]any)
	status, hasStatus := m["status"].(string)
	mode, hasMode := m["maintenance_mode"].(string)
	if !hasStatus && !hasMode {
		return api.BadRequest("%s is not valid under any of the given schemas", pyRepr(body))
	}
	host := r.PathValue("host")
	out := map[string]any{"host": host}
	if hasStatus {
		res, err := h.svc.SetHostEnabled(r.Context(), host, strings.EqualFold(strings.TrimSpace(status), "enable"))
		if err != nil {
			return hostErr(err)
		}
		out["status"] = res
	}
	if hasMode {
		res, err := h.svc.SetHostMaintenance(r.Context(), host, strings.EqualFold(strings.TrimSpace(mode), "enable"))
		if err != nil {
			return hostErr(err)
		}
		out["maintenance_mode"] = res
	}
	api.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (h *Handler) hostPowerAction(action string) versioned {
	return func(w http.ResponseWriter, r *http.Request, v api.Version) error {
		if at(v, hostsMaxMinor+1) {
			return notFound()
		}
		host := r.PathValue("host")
		res, err := h.svc.HostPowerAction(r.Context(), host, action)
		if err != nil {
			return hostErr(err)
		}
		api.WriteJSON(w, http.StatusOK, map[string]any{"host": host, "power_action": res})
		return nil
	}
}
