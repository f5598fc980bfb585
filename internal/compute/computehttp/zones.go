package computehttp

import (
	"net/http"

	"github.com/nimbus-cloud/nimbus/internal/api"
)

func (h *Handler) zoneRoutes(srv *api.Server) {
	h.route(srv, "GET /v2.1/os-availability-zone", h.listZones(false))
	h.route(srv, "GET /v2.1/os-availability-zone/detail", h.listZones(true))
}

// zoneView is one availability zone (api-ref "Get Availability Zone
// Information"): hosts is null in the summary list and for unavailable zones.
type zoneView struct {
	ZoneName  string                                `json:"zoneName"`
	ZoneState map[string]bool                       `json:"zoneState"`
	Hosts     map[string]map[string]zoneServiceView `json:"hosts"`
}

// zoneServiceView is the state of a service of a host in a zone.
type zoneServiceView struct {
	Available bool    `json:"available"`
	Active    bool    `json:"active"`
	UpdatedAt *string `json:"updated_at"`
}

func (h *Handler) listZones(detail bool) versioned {
	return func(w http.ResponseWriter, r *http.Request, _ api.Version) error {
		zones, err := h.svc.AvailabilityZones(r.Context(), detail)
		if err != nil {
			return err
		}
		views := make([]zoneView, len(zones))
		for i, z := range zones {
			views[i] = zoneView{ZoneName: z.Name, ZoneState: map[string]bool{"available": z.Available}}
			if z.Hosts == nil {
				continue
			}
			views[i].Hosts = map[string]map[string]zoneServiceView{}
			for host, services := range z.Hosts {
				views[i].Hosts[host] = map[string]zoneServiceView{}
				for binary, s := range services {
					sv := zoneServiceView{Available: s.Available, Active: s.Active}
					if !s.UpdatedAt.IsZero() {
						t := pyTime(s.UpdatedAt)
						sv.UpdatedAt = &t
					}
					views[i].Hosts[host][binary] = sv
				}
			}
		}
		api.WriteJSON(w, http.StatusOK, map[string]any{"availabilityZoneInfo": views})
		return nil
	}
}
