package computehttp

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/nimbus-cloud/nimbus/internal/api"
	"github.com/nimbus-cloud/nimbus/internal/compute"
)

// os-hypervisors query schemas (nova/api/openstack/compute/schemas/
// hypervisors.py): anything goes before 2.53, nothing unknown after.
var (
	hypervisorPageQuery = (&schema{types: []string{"object"}, props: []prop{{"limit", nonNegative},
		{"marker", anyString}}}).compile()
	hypervisorListV253 = (&schema{types: []string{"object"}, props: []prop{{"limit", nonNegative},
		{"marker", anyString}, {"hypervisor_hostname_pattern", fqdnParam}, {"with_servers", booleanParam}},
		additional: no()}).compile()
	hypervisorShowV253 = (&schema{types: []string{"object"}, props: []prop{{"with_servers", booleanParam}},
		additional: no()}).compile()
)

// hypervisorRoutes serves os-hypervisors where the cloud manages its
// services.
func (h *Handler) hypervisorRoutes(srv *api.Server) {
	if !h.svc.ManagesServices() {
		return
	}
	h.route(srv, "GET /v2.1/os-hypervisors", h.listHypervisors(false))
	h.route(srv, "GET /v2.1/os-hypervisors/detail", h.listHypervisors(true))
	h.route(srv, "GET /v2.1/os-hypervisors/statistics", h.hypervisorStatistics)
	h.route(srv, "GET /v2.1/os-hypervisors/{id}", h.showHypervisor)
	h.route(srv, "GET /v2.1/os-hypervisors/{id}/search", h.searchHypervisors(false))
	h.route(srv, "GET /v2.1/os-hypervisors/{id}/servers", h.searchHypervisors(true))
	h.route(srv, "GET /v2.1/os-hypervisors/{id}/uptime", h.hypervisorUptime)
}

// hypervisorServerView is a server on a hypervisor.
type hypervisorServerView struct {
	Name string `json:"name"`
	UUID string `json:"uuid"`
}

// hypervisorView renders a hypervisor (api-ref "Hypervisors") for
// microversion v: ids are integers before 2.53; details carry the resource
// figures and cpu_info before 2.88 (cpu_info an object from 2.28, a JSON
// string before) and uptime from 2.88; servers are listed when asked for,
// as an empty list when there are none from 2.75.
func hypervisorView(v api.Version, hv compute.Hypervisor, detail, withServers bool, uptime *string) map[string]any {
	byUUID := at(v, 53)
	out := map[string]any{"id": hv.Service.ID, "hypervisor_hostname": hv.Node.Hostname,
		"state": serviceLiveness(hv.Service), "status": serviceStatus(hv.Service)}
	if byUUID {
		out["id"] = hv.Node.UUID
	}
	if detail {
		var reason *string
		if hv.Service.DisabledReason != "" {
			reason = &hv.Service.DisabledReason
		}
		svcID := any(hv.Service.ID)
		if byUUID {
			svcID = hv.Service.UUID
		}
		out["hypervisor_type"] = hv.Node.Type
		out["hypervisor_version"] = hv.Node.Version
		out["host_ip"] = hv.Node.HostIP
		out["service"] = map[string]any{"host": hv.Service.Host, "id": svcID, "disabled_reason": reason}
		if at(v, 88) {
			// Nova asks the host for its uptime and shows null when it
			// cannot (the host is down or does not say).
			out["uptime"] = ptrOrNull(uptime)
		} else {
			n := hv.Node
			free := n.LocalGB - n.DiskUsed
			for k, val := range map[string]any{"vcpus": n.VCPUs, "memory_mb": n.MemoryMB, "local_gb": n.LocalGB,
				"vcpus_used": n.VCPUsUsed, "memory_mb_used": n.MemUsed, "local_gb_used": n.DiskUsed,
				"free_ram_mb": n.MemoryMB - n.MemUsed, "free_disk_gb": free, "current_workload": hv.CurrentWorkload,
				"running_vms": hv.RunningVMs, "disk_available_least": free} {
				out[k] = val
			}
			cpu := n.CPUInfo
			if cpu == nil {
				cpu = map[string]any{}
			}
			if at(v, 28) {
				out["cpu_info"] = cpu
			} else {
				b, _ := json.Marshal(cpu)
				out["cpu_info"] = string(b)
			}
		}
	}
	if len(hv.Servers) > 0 || (withServers && at(v, 75)) {
		servers := make([]hypervisorServerView, len(hv.Servers))
		for i, in := range hv.Servers {
			servers[i] = hypervisorServerView{Name: in.DisplayName, UUID: in.UUID}
		}
		out["servers"] = servers
	}
	return out
}

// withServersParam reads with_servers (2.53 and later).
func withServersParam(r *http.Request, v api.Version) bool {
	if !at(v, 53) {
		return false
	}
	raw, ok := last(r.URL.Query(), "with_servers")
	return ok && boolValue(raw)
}

func (h *Handler) listHypervisors(detail bool) versioned {
	return func(w http.ResponseWriter, r *http.Request, v api.Version) error {
		qs := r.URL.Query()
		paged := at(v, 33)
		q := compute.HypervisorQuery{Detail: detail, ByUUID: at(v, 53), WithServers: withServersParam(r, v),
			Unpaged: !paged}
		switch {
		case at(v, 53):
			if err := validateQuery(hypervisorListV253, qs); err != nil {
				return err
			}
			if p, ok := last(qs, "hypervisor_hostname_pattern"); ok {
				q.Pattern = &p
				paged = false
			}
		case paged:
			if err := validateQuery(hypervisorPageQuery, qs); err != nil {
				return err
			}
		}
		if at(v, 33) {
			var err error
			if q.Limit, q.Marker, err = page(qs); err != nil {
				return err
			}
		}
		hs, err := h.svc.ListHypervisors(r.Context(), q)
		if err != nil {
			return err
		}
		views := make([]map[string]any, len(hs))
		for i, hv := range hs {
			views[i] = hypervisorView(v, hv, detail, q.WithServers, h.svc.HostUptime(hv))
		}
		body := map[string]any{"hypervisors": views}
		if paged && len(hs) > 0 {
			collection := "os-hypervisors"
			if detail {
				collection += "/detail"
			}
			lastID := strconv.Itoa(hs[len(hs)-1].Service.ID)
			if q.ByUUID {
				lastID = hs[len(hs)-1].Node.UUID
			}
			if next := h.nextLink(r, collection, len(hs), lastID); next != nil {
				body["hypervisors_links"] = next
			}
		}
		api.WriteJSON(w, http.StatusOK, body)
		return nil
	}
}

func (h *Handler) showHypervisor(w http.ResponseWriter, r *http.Request, v api.Version) error {
	if at(v, 53) {
		if err := validateQuery(hypervisorShowV253, r.URL.Query()); err != nil {
			return err
		}
	}
	ws := withServersParam(r, v)
	hv, err := h.svc.GetHypervisor(r.Context(), r.PathValue("id"), at(v, 53), ws)
	if err != nil {
		return err
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"hypervisor": hypervisorView(v, hv, true, ws, h.svc.HostUptime(hv))})
	return nil
}

// searchHypervisors serves the search and servers routes microversion 2.53
// replaced with query parameters.
func (h *Handler) searchHypervisors(servers bool) versioned {
	return func(w http.ResponseWriter, r *http.Request, v api.Version) error {
		if at(v, 53) {
			return notFound()
		}
		hs, err := h.svc.SearchHypervisors(r.Context(), r.PathValue("id"), servers)
		if err != nil {
			return err
		}
		views := make([]map[string]any, len(hs))
		for i, hv := range hs {
			views[i] = hypervisorView(v, hv, false, false, nil)
		}
		api.WriteJSON(w, http.StatusOK, map[string]any{"hypervisors": views})
		return nil
	}
}

func (h *Handler) hypervisorStatistics(w http.ResponseWriter, r *http.Request, v api.Version) error {
	if at(v, 88) {
		return notFound()
	}
	st, err := h.svc.HypervisorStatistics(r.Context())
	if err != nil {
		return err
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"hypervisor_statistics": map[string]any{
		"count": st.Count, "vcpus": st.VCPUs, "memory_mb": st.MemoryMB, "local_gb": st.LocalGB,
		"vcpus_used": st.VCPUsUsed, "memory_mb_used": st.MemoryMBUsed, "local_gb_used": st.LocalGBUsed,
		"free_ram_mb": st.FreeRAMMB, "free_disk_gb": st.FreeDiskGB, "current_workload": st.CurrentWorkload,
		"running_vms": st.RunningVMs, "disk_available_least": st.DiskAvailableLeast}})
	return nil
}

// hypervisorUptime serves the uptime of a hypervisor's host, which 2.88
// folded into the hypervisor's details.
func (h *Handler) hypervisorUptime(w http.ResponseWriter, r *http.Request, v api.Version) error {
	if at(v, 88) {
		return notFound()
	}
	hv, up, err := h.svc.HypervisorUptime(r.Context(), r.PathValue("id"), at(v, 53))
	if errors.Is(err, compute.ErrUptimeUnknown) {
		return api.Errorf(http.StatusNotImplemented, "The requested functionality is not supported.")
	}
	if err != nil {
		return err
	}
	view := hypervisorView(v, hv, false, false, nil)
	view["uptime"] = up
	api.WriteJSON(w, http.StatusOK, map[string]any{"hypervisor": view})
	return nil
}
