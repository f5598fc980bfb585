package computehttp

import (
	"net/http"
	"net/url"

	"github.com/nimbus-cloud/nimbus/internal/api"
	"github.com/nimbus-cloud/nimbus/internal/compute"
)

// Query schemas of os-simple-tenant-usage: start, end (and detailed for
// the list); paging from 2.40; nothing else from 2.75.
var (
	usageListQuery     = (&schema{types: []string{"object"}, props: []prop{{"start", anyString}, {"end", anyString}, {"detailed", anyString}}}).compile()
	usageListQueryV240 = usageListQuery.with([]prop{{"limit", nonNegative}, {"marker", anyString}}).compile()
	usageListQueryV275 = strict(usageListQueryV240)
	usageShowQuery     = (&schema{types: []string{"object"}, props: []prop{{"start", anyString}, {"end", anyString}}}).compile()
	usageShowQueryV240 = usageShowQuery.with([]prop{{"limit", nonNegative}, {"marker", anyString}}).compile()
	usageShowQueryV275 = strict(usageShowQueryV240)
)

func (h *Handler) usageRoutes(srv *api.Server) {
	h.route(srv, "GET /v2.1/os-simple-tenant-usage", h.listUsage)
	h.route(srv, "GET /v2.1/os-simple-tenant-usage/{tenant_id}", h.showUsage)
}

// usageOptions validates and reads the query for microversion v.
func usageOptions(q url.Values, v api.Version, s, s240, s275 *schema) (compute.UsageOptions, error) {
	switch {
	case at(v, 75):
		s = s275
	case at(v, 40):
		s = s240
	}
	if err := validateQuery(s, q); err != nil {
		return compute.UsageOptions{}, err
	}
	var o compute.UsageOptions
	// nova reads the first of repeated start, end and detailed.
	first := func(name string) (string, bool) {
		vs := q[name]
		if len(vs) == 0 {
			return "", false
		}
		return vs[0], true
	}
	if p, ok := first("start"); ok {
		o.Start = &p
	}
	if p, ok := first("end"); ok {
		o.End = &p
	}
	d, _ := first("detailed")
	o.Detailed = d == "1"
	if at(v, 40) {
		var err error
		if o.Limit, o.Marker, err = page(q); err != nil {
			return compute.UsageOptions{}, err
		}
	}
	return o, nil
}

func (h *Handler) listUsage(w http.ResponseWriter, r *http.Request, v api.Version) error {
	o, err := usageOptions(r.URL.Query(), v, usageListQuery, usageListQueryV240, usageListQueryV275)
	if err != nil {
		return err
	}
	rep, err := h.svc.TenantUsages(r.Context(), o)
	if err != nil {
		return err
	}
	views := make([]map[string]any, len(rep.Tenants))
	for i, t := range rep.Tenants {
		views[i] = tenantUsageView(t)
	}
	body := map[string]any{"tenant_usages": views}
	h.usageLinks(r, v, body, "tenant_usages_links", "os-simple-tenant-usage", rep)
	api.WriteJSON(w, http.StatusOK, body)
	return nil
}

func (h *Handler) showUsage(w http.ResponseWriter, r *http.Request, v api.Version) error {
	o, err := usageOptions(r.URL.Query(), v, usageShowQuery, usageShowQueryV240, usageShowQueryV275)
	if err != nil {
		return err
	}
	project := r.PathValue("tenant_id")
	rep, err := h.svc.TenantUsage(r.Context(), project, o)
	if err != nil {
		return err
	}
	view := map[string]any{}
	if len(rep.Tenants) > 0 {
		view = tenantUsageView(rep.Tenants[0])
	}
	body := map[string]any{"tenant_usage": view}
	h.usageLinks(r, v, body, "tenant_usage_links", "os-simple-tenant-usage/"+url.PathEscape(project), rep)
	api.WriteJSON(w, http.StatusOK, body)
	return nil
}

// usageLinks adds the next link of a full page (2.40), after its last
// server usage.
func (h *Handler) usageLinks(r *http.Request, v api.Version, body map[string]any, key, collection string, rep compute.UsageReport) {
	if !at(v, 40) || len(rep.Servers) == 0 {
		return
	}
	if next := h.nextLink(r, collection, len(rep.Servers), rep.Servers[len(rep.Servers)-1].InstanceID); next != nil {
		body[key] = next
	}
}

// tenantUsageView is a tenant usage as nova renders it; server_usages only
// in detailed reports.
func tenantUsageView(t compute.TenantUsage) map[string]any {
	out := map[string]any{"tenant_id": t.TenantID, "total_local_gb_usage": t.TotalLocalGBUsage,
		"total_vcpus_usage": t.TotalVCPUsUsage, "total_memory_mb_usage": t.TotalMemoryMBUsage,
		"total_hours": t.TotalHours, "start": perfectTime(t.Start), "stop": perfectTime(t.Stop)}
	if t.Detailed {
		servers := make([]map[string]any, len(t.ServerUsages))
		for i, u := range t.ServerUsages {
			servers[i] = map[string]any{"instance_id": u.InstanceID, "name": u.Name, "tenant_id": u.TenantID,
				"flavor": u.Flavor, "hours": u.Hours, "memory_mb": u.MemoryMB, "local_gb": u.LocalGB, "vcpus": u.VCPUs,
				"state": u.State, "started_at": perfectTime(u.StartedAt), "ended_at": perfectTime(u.EndedAt),
				"uptime": u.Uptime}
		}
		out["server_usages"] = servers
	}
	return out
}
