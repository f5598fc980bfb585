package computehttp

import (
	"net/http"
	"slices"

	"github.com/nimbus-cloud/nimbus/internal/api"
	"github.com/nimbus-cloud/nimbus/internal/compute"
)

// absoluteNames are the names GET /limits gives each resource's limit
// (nova's limits view).
var absoluteNames = map[string][]string{
	compute.ResourceRAM:                      {"maxTotalRAMSize"},
	compute.ResourceInstances:                {"maxTotalInstances"},
	compute.ResourceCores:                    {"maxTotalCores"},
	compute.ResourceKeyPairs:                 {"maxTotalKeypairs"},
	compute.ResourceFloatingIPs:              {"maxTotalFloatingIps"},
	compute.ResourceMetadataItems:            {"maxServerMeta", "maxImageMeta"},
	compute.ResourceInjectedFiles:            {"maxPersonality"},
	compute.ResourceInjectedFileContentBytes: {"maxPersonalitySize"},
	compute.ResourceSecurityGroups:           {"maxSecurityGroups"},
	compute.ResourceSecurityGroupRules:       {"maxSecurityGroupRules"},
	compute.ResourceServerGroups:             {"maxServerGroups"},
	compute.ResourceServerGroupMembers:       {"maxServerGroupMembers"},
}

// usedNames are the names GET /limits gives usages.
var usedNames = map[string]string{
	"totalRAMUsed":            compute.ResourceRAM,
	"totalCoresUsed":          compute.ResourceCores,
	"totalInstancesUsed":      compute.ResourceInstances,
	"totalFloatingIpsUsed":    compute.ResourceFloatingIPs,
	"totalSecurityGroupsUsed": compute.ResourceSecurityGroups,
	"totalServerGroupsUsed":   compute.ResourceServerGroups,
}

var limitsQuery = (&schema{types: []string{"object"}, props: []prop{{"tenant_id", anyString}}}).compile()

func (h *Handler) limitRoutes(srv *api.Server) {
	h.route(srv, "GET /v2.1/limits", h.showLimits)
}

// hiddenLimits are the resources GET /limits of microversion v leaves out.
func hiddenLimits(v api.Version) []string {
	base := []string{compute.ResourceFloatingIPs, compute.ResourceSecurityGroups, compute.ResourceSecurityGroupRules}
	switch {
	case at(v, 57):
		return append(base, compute.ResourceInjectedFiles, compute.ResourceInjectedFileContentBytes)
	case at(v, 36):
		return base
	}
	return nil
}

// showLimits answers GET /limits (api-ref "Show Rate And Absolute Limits"):
// the project's limits under their absolute names with its usage, and an
// empty list of rate limits, which nova no longer has.
func (h *Handler) showLimits(w http.ResponseWriter, r *http.Request, v api.Version) error {
	s := limitsQuery
	if at(v, 75) {
		s = strict(s)
	}
	q := r.URL.Query()
	if err := validateQuery(s, q); err != nil {
		return err
	}
	var tenant *string
	if t, ok := last(q, "tenant_id"); ok {
		tenant = &t
	}
	usage, err := h.svc.Limits(r.Context(), tenant)
	if err != nil {
		return err
	}
	hidden := hiddenLimits(v)
	absolute := map[string]int{}
	for res, u := range usage {
		if slices.Contains(hidden, res) {
			continue
		}
		for _, name := range absoluteNames[res] {
			// maxImageMeta went with the image proxy API at 2.39.
			if name == "maxImageMeta" && at(v, 39) {
				continue
			}
			absolute[name] = u.Limit
		}
	}
	for name, res := range usedNames {
		if u, ok := usage[res]; ok && !slices.Contains(hidden, res) {
			absolute[name] = u.InUse
		}
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"limits": map[string]any{"rate": []any{}, "absolute": absolute}})
	return nil
}
