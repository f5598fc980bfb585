package placementhttp

import (
	"net/http"
	"regexp"

	"github.com/nimbus-cloud/nimbus/internal/api"
	"github.com/nimbus-cloud/nimbus/internal/placement"
)

func (h *Handler) usageRoutes(srv *api.Server) {
	h.handle(srv, "GET /resource_providers/{uuid}/usages", mv(0), api.Version{}, 404, h.providerUsages)
	h.handle(srv, "GET /usages", mv(9), api.Version{}, 404, h.totalUsages)
}

// usageTypePattern is CONSUMER_TYPE_GET_PATTERN.
var usageTypePattern = regexp.MustCompile(`^[A-Z0-9_]+$|^all|^unknown$`)

func usageQuery(v api.Version) queryParams {
	qp := queryParams{names: map[string]schema{"project_id": idString, "user_id": idString}}
	if v.AtLeast(mv(38)) {
		qp.names["consumer_type"] = str{re: usageTypePattern, minLen: 1, maxLen: 255}
	}
	return qp
}

func usagesMap(us []placement.ClassUsage) map[string]int64 {
	m := make(map[string]int64, len(us))
	for _, u := range us {
		m[u.ResourceClass] = u.Used
	}
	return m
}

func (h *Handler) providerUsages(w http.ResponseWriter, r *http.Request, v api.Version) error {
	if err := checkAccept(r); err != nil {
		return err
	}
	p, us, err := h.svc.ProviderUsages(r.Context(), r.PathValue("uuid"))
	if err != nil {
		return err
	}
	writeJSON(w, v, http.StatusOK, h.now(), map[string]any{"resource_provider_generation": p.Generation, "usages": usagesMap(us)})
	return nil
}

// totalUsages answers GET /usages: by class, or from 1.38 by consumer type
// with a consumer_count.
func (h *Handler) totalUsages(w http.ResponseWriter, r *http.Request, v api.Version) error {
	if err := checkAccept(r); err != nil {
		return err
	}
	q := r.URL.Query()
	if err := usageQuery(v).validate(q); err != nil {
		return err
	}
	if _, ok := q["project_id"]; !ok {
		return api.BadRequest("Invalid query string parameters: 'project_id' is a required property")
	}
	f := placement.UsageFilter{ProjectID: q.Get("project_id"), UserID: q.Get("user_id"),
		ByType: v.AtLeast(mv(38)), ConsumerType: q.Get("consumer_type")}
	tus, err := h.svc.TotalUsages(r.Context(), f)
	if err != nil {
		return err
	}
	body := map[string]any{}
	for _, tu := range tus {
		if !f.ByType {
			body = map[string]any{}
			for k, n := range usagesMap(tu.Usages) {
				body[k] = n
			}
			continue
		}
		m := map[string]any{"consumer_count": tu.ConsumerCount}
		for k, n := range usagesMap(tu.Usages) {
			m[k] = n
		}
		body[tu.ConsumerType] = m
	}
	writeJSON(w, v, http.StatusOK, h.now(), map[string]any{"usages": body})
	return nil
}
