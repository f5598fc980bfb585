package computehttp

import (
	"net/http"
	"slices"

	"github.com/nimbus-cloud/nimbus/internal/api"
	"github.com/nimbus-cloud/nimbus/internal/compute"
)

// Resources microversions took out of quota responses: the nova-network ones
// at 2.36 (quota sets) and 2.50 (quota classes), the personality ones at 2.57.
var (
	networkQuotas     = []string{compute.ResourceFixedIPs, compute.ResourceFloatingIPs, compute.ResourceSecurityGroupRules, compute.ResourceSecurityGroups}
	personalityQuotas = []string{compute.ResourceInjectedFiles, compute.ResourceInjectedFileContentBytes, compute.ResourceInjectedFilePathBytes}
	serverGroupQuotas = []string{compute.ResourceServerGroups, compute.ResourceServerGroupMembers}
)

// quotaValue is nova's _common_quota: an integer, or a string of one, from
// -1 (unlimited) to MAX_INT.
var quotaValue = &schema{types: []string{"integer", "string"}, pattern: `^-?[0-9]+$`,
	minimum: floatp(-1), maximum: floatp(compute.MaxInt)}

// quotaBody is the schema of a quota update: {"<wrapper>": {resource: value}}
// without the resources in hidden, with "force" when force is set.
func quotaBody(wrapper string, hidden []string, force bool) *schema {
	var ps []prop
	for _, r := range quotaOrder {
		if !slices.Contains(hidden, r) {
			ps = append(ps, prop{r, quotaValue})
		}
	}
	if force {
		ps = append(ps, prop{"force", booleanParam})
	}
	return (&schema{types: []string{"object"}, props: []prop{{wrapper, &schema{types: []string{"object"}, props: ps,
		additional: no()}}}, required: []string{wrapper}, additional: no()}).compile()
}

// quotaOrder is the order of nova's _quota_resources, which decides which
// bad value a message names first.
var quotaOrder = []string{
	"instances", "cores", "ram", "floating_ips", "fixed_ips", "metadata_items", "key_pairs", "security_groups",
	"security_group_rules", "injected_files", "injected_file_content_bytes", "injected_file_path_bytes",
	"server_groups", "server_group_members",
}

var (
	quotaUpdateV21  = quotaBody("quota_set", nil, true)
	quotaUpdateV236 = quotaBody("quota_set", networkQuotas, true)
	quotaUpdateV257 = quotaBody("quota_set", slices.Concat(networkQuotas, personalityQuotas), true)
	classUpdateV21  = quotaBody("quota_class_set", nil, false)
	classUpdateV250 = quotaBody("quota_class_set", networkQuotas, false)
	classUpdateV257 = quotaBody("quota_class_set", slices.Concat(networkQuotas, personalityQuotas), false)

	quotaQuery = (&schema{types: []string{"object"}, props: []prop{{"user_id", anyString}}}).compile()
)

func (h *Handler) quotaRoutes(srv *api.Server) {
	const sets = "/v2.1/os-quota-sets/{tenant_id}"
	h.route(srv, "GET "+sets, h.showQuotas)
	h.route(srv, "GET "+sets+"/detail", h.quotaDetail)
	h.route(srv, "GET "+sets+"/defaults", h.quotaDefaults)
	h.route(srv, "PUT "+sets, h.updateQuotas)
	h.route(srv, "DELETE "+sets, h.deleteQuotas)
	h.route(srv, "GET /v2.1/os-quota-class-sets/{id}", h.showQuotaClass)
	h.route(srv, "PUT /v2.1/os-quota-class-sets/{id}", h.updateQuotaClass)
}

// hiddenQuotas are the resources a quota set of microversion v leaves out.
func hiddenQuotas(v api.Version) []string {
	switch {
	case at(v, 57):
		return slices.Concat(networkQuotas, personalityQuotas)
	case at(v, 36):
		return networkQuotas
	}
	return nil
}

// hiddenClassQuotas are the resources a quota class set of microversion v
// leaves out: before 2.50 the server group ones, which it did not have yet.
func hiddenClassQuotas(v api.Version) []string {
	switch {
	case at(v, 57):
		return slices.Concat(networkQuotas, personalityQuotas)
	case at(v, 50):
		return networkQuotas
	}
	return serverGroupQuotas
}

// quotaSetView renders limits (or usages) without the hidden resources, with
// "id" when id is set.
func quotaSetView[V any](id string, values map[string]V, hidden []string) map[string]any {
	out := map[string]any{}
	if id != "" {
		out["id"] = id
	}
	for r, v := range values {
		if !slices.Contains(hidden, r) {
			out[r] = v
		}
	}
	return out
}

// quotaUser validates the query of a quota set route and returns its
// user_id: the first one, as nova reads it.
func quotaUser(r *http.Request, v api.Version) (string, error) {
	s := quotaQuery
	if at(v, 75) {
		s = strict(s)
	}
	q := r.URL.Query()
	if err := validateQuery(s, q); err != nil {
		return "", err
	}
	if vs := q["user_id"]; len(vs) > 0 {
		return vs[0], nil
	}
	return "", nil
}

func (h *Handler) showQuotas(w http.ResponseWriter, r *http.Request, v api.Version) error {
	user, err := quotaUser(r, v)
	if err != nil {
		return err
	}
	id := r.PathValue("tenant_id")
	limits, err := h.svc.Quotas(r.Context(), id, user)
	if err != nil {
		return err
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"quota_set": quotaSetView(id, limits, hiddenQuotas(v))})
	return nil
}

// usageView is one resource of GET os-quota-sets/{id}/detail.
type usageView struct {
	InUse    int `json:"in_use"`
	Limit    int `json:"limit"`
	Reserved int `json:"reserved"`
}

func (h *Handler) quotaDetail(w http.ResponseWriter, r *http.Request, v api.Version) error {
	user, err := quotaUser(r, v)
	if err != nil {
		return err
	}
	id := r.PathValue("tenant_id")
	usage, err := h.svc.QuotaUsage(r.Context(), id, user)
	if err != nil {
		return err
	}
	views := make(map[string]usageView, len(usage))
	for res, u := range usage {
		views[res] = usageView{InUse: u.InUse, Limit: u.Limit, Reserved: u.Reserved}
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"quota_set": quotaSetView(id, views, hiddenQuotas(v))})
	return nil
}

func (h *Handler) quotaDefaults(w http.ResponseWriter, r *http.Request, v api.Version) error {
	id := r.PathValue("tenant_id")
	limits, err := h.svc.QuotaDefaults(r.Context(), id)
	if err != nil {
		return err
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"quota_set": quotaSetView(id, limits, hiddenQuotas(v))})
	return nil
}

// quotaValues reads the validated values of a quota body.
func quotaValues(in map[string]any) (map[string]int, error) {
	out := map[string]int{}
	for k, raw := range in {
		if k == "force" {
			continue
		}
		n, err := integer(raw, k)
		if err != nil {
			return nil, err
		}
		out[k] = n
	}
	return out, nil
}

func (h *Handler) updateQuotas(w http.ResponseWriter, r *http.Request, v api.Version) error {
	body, err := h.readBody(w, r)
	if err != nil {
		return err
	}
	s := quotaUpdateV21
	switch {
	case at(v, 57):
		s = quotaUpdateV257
	case at(v, 36):
		s = quotaUpdateV236
	}
	if err := validateBody(s, body); err != nil {
		return err
	}
	user, err := quotaUser(r, v)
	if err != nil {
		return err
	}
	in := body.(map[string]any)["quota_set"].(map[string]any)
	values, err := quotaValues(in)
	if err != nil {
		return err
	}
	force := false
	if f, ok := in["force"]; ok {
		force = boolValue(f)
	}
	limits, err := h.svc.UpdateQuotas(r.Context(), r.PathValue("tenant_id"), user, values, force)
	if err != nil {
		return err
	}
	// nova's update answer has no id.
	api.WriteJSON(w, http.StatusOK, map[string]any{"quota_set": quotaSetView("", limits, hiddenQuotas(v))})
	return nil
}

func (h *Handler) deleteQuotas(w http.ResponseWriter, r *http.Request, v api.Version) error {
	user, err := quotaUser(r, v)
	if err != nil {
		return err
	}
	if err := h.svc.DeleteQuotas(r.Context(), r.PathValue("tenant_id"), user); err != nil {
		return err
	}
	noContent(w, http.StatusAccepted)
	return nil
}

func (h *Handler) showQuotaClass(w http.ResponseWriter, r *http.Request, v api.Version) error {
	id := r.PathValue("id")
	limits, err := h.svc.ClassQuotas(r.Context(), id)
	if err != nil {
		return err
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"quota_class_set": quotaSetView(id, limits, hiddenClassQuotas(v))})
	return nil
}

func (h *Handler) updateQuotaClass(w http.ResponseWriter, r *http.Request, v api.Version) error {
	body, err := h.readBody(w, r)
	if err != nil {
		return err
	}
	s := classUpdateV21
	switch {
	case at(v, 57):
		s = classUpdateV257
	case at(v, 50):
		s = classUpdateV250
	}
	if err := validateBody(s, body); err != nil {
		return err
	}
	values, err := quotaValues(body.(map[string]any)["quota_class_set"].(map[string]any))
	if err != nil {
		return err
	}
	limits, err := h.svc.UpdateClassQuotas(r.Context(), r.PathValue("id"), values)
	if err != nil {
		return err
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"quota_class_set": quotaSetView("", limits, hiddenClassQuotas(v))})
	return nil
}
