package placementhttp

import (
	"net/http"

	"github.com/nimbus-cloud/nimbus/internal/api"
	"github.com/nimbus-cloud/nimbus/internal/placement"
)

// providerJSON is a resource provider (api-ref "Resource Providers"):
// parent_provider_uuid (null for a root) and root_provider_uuid from 1.14.
type providerJSON struct {
	UUID       string     `json:"uuid"`
	Name       string     `json:"name"`
	Generation int64      `json:"generation"`
	Links      []linkView `json:"links"`
	ParentUUID *string    `json:"parent_provider_uuid"`
	RootUUID   *string    `json:"root_provider_uuid"`
}

// providerJSONOld is a resource provider before 1.14.
type providerJSONOld struct {
	UUID       string     `json:"uuid"`
	Name       string     `json:"name"`
	Generation int64      `json:"generation"`
	Links      []linkView `json:"links"`
}

func providerBody(p placement.Provider, v api.Version) any {
	url := "/resource_providers/" + p.UUID
	links := []linkView{{"self", url}, {"inventories", url + "/inventories"}, {"usages", url + "/usages"}}
	if v.AtLeast(mv(1)) {
		links = append(links, linkView{"aggregates", url + "/aggregates"})
	}
	if v.AtLeast(mv(6)) {
		links = append(links, linkView{"traits", url + "/traits"})
	}
	if v.AtLeast(mv(11)) {
		links = append(links, linkView{"allocations", url + "/allocations"})
	}
	if v.Less(mv(14)) {
		return providerJSONOld{UUID: p.UUID, Name: p.Name, Generation: p.Generation, Links: links}
	}
	out := providerJSON{UUID: p.UUID, Name: p.Name, Generation: p.Generation, Links: links, RootUUID: &p.RootUUID}
	if p.ParentUUID != "" {
		out.ParentUUID = &p.ParentUUID
	}
	return out
}

func (h *Handler) providerRoutes(srv *api.Server) {
	h.handle(srv, "GET /resource_providers", mv(0), api.Version{}, 404, h.listProviders)
	h.handle(srv, "POST /resource_providers", mv(0), api.Version{}, 404, h.createProvider)
	h.handle(srv, "GET /resource_providers/{uuid}", mv(0), api.Version{}, 404, h.getProvider)
	h.handle(srv, "PUT /resource_providers/{uuid}", mv(0), api.Version{}, 404, h.updateProvider)
	h.handle(srv, "DELETE /resource_providers/{uuid}", mv(0), api.Version{}, 404, h.deleteProvider)
}

var (
	providerName = str{maxLen: 200}
	uuidString   = str{uuid: true}
)

// createProviderSchema is POST_RESOURCE_PROVIDER_SCHEMA (and 1.14's).
func createProviderSchema(v api.Version) schema {
	o := object{props: map[string]schema{"name": providerName, "uuid": uuidString}, required: []string{"name"}}
	if v.AtLeast(mv(14)) {
		o.props["parent_provider_uuid"] = nullable{uuidString}
	}
	return o
}

type providerBodyIn struct {
	Name       string  `json:"name"`
	UUID       string  `json:"uuid"`
	ParentUUID *string `json:"parent_provider_uuid"`
}

// createProvider answers POST /resource_providers: 201 and a Location
// before 1.20, 200 with the provider from 1.20.
func (h *Handler) createProvider(w http.ResponseWriter, r *http.Request, v api.Version) error {
	if err := requireJSON(r); err != nil {
		return err
	}
	if err := h.svc.Check(r.Context(), placement.RuleProviderCreate); err != nil {
		return err
	}
	var in providerBodyIn
	if err := h.readBody(w, r, createProviderSchema(v), &in); err != nil {
		return err
	}
	np := placement.NewProvider{Name: in.Name}
	if in.UUID != "" {
		np.UUID = canonicalUUID(in.UUID)
	}
	if in.ParentUUID != nil {
		np.ParentUUID = *in.ParentUUID
	}
	p, err := h.svc.CreateProvider(r.Context(), np)
	if err != nil {
		return err
	}
	w.Header().Set("Location", api.BaseURL(r)+"/resource_providers/"+p.UUID)
	if v.Less(mv(20)) {
		w.WriteHeader(http.StatusCreated)
		return nil
	}
	writeJSON(w, v, http.StatusOK, p.Modified(), providerBody(p, v))
	return nil
}

func (h *Handler) getProvider(w http.ResponseWriter, r *http.Request, v api.Version) error {
	if err := checkAccept(r); err != nil {
		return err
	}
	p, err := h.svc.GetProvider(r.Context(), r.PathValue("uuid"))
	if err != nil {
		return err
	}
	writeJSON(w, v, http.StatusOK, p.Modified(), providerBody(p, v))
	return nil
}

// listQuery is GET /resource_providers' query schema at v.
func listQuery(v api.Version) queryParams {
	qp := queryParams{names: map[string]schema{"name": anyString, "uuid": uuidString}}
	if v.AtLeast(mv(3)) {
		qp.names["member_of"] = anyString
	}
	if v.AtLeast(mv(4)) {
		qp.names["resources"] = anyString
	}
	if v.AtLeast(mv(14)) {
		qp.names["in_tree"] = uuidString
	}
	if v.AtLeast(mv(18)) {
		qp.names["required"] = anyString
	}
	return qp
}

func (h *Handler) listProviders(w http.ResponseWriter, r *http.Request, v api.Version) error {
	if err := checkAccept(r); err != nil {
		return err
	}
	q := r.URL.Query()
	if err := listQuery(v).validate(q); err != nil {
		return err
	}
	pq := placement.ProviderQuery{Name: q.Get("name"), UUID: q.Get("uuid"), InTree: q.Get("in_tree")}
	if _, ok := q["member_of"]; ok {
		aq, err := parseMemberOf("member_of", q["member_of"], v)
		if err != nil {
			return err
		}
		pq.MemberOf, pq.ForbiddenAggs = aq.memberOf, aq.forbidden
	}
	if _, ok := q["required"]; ok {
		tq, err := parseTraits(q["required"], v)
		if err != nil {
			return err
		}
		pq.RequiredTraits, pq.ForbiddenTraits = tq.required, tq.forbidden
	}
	if _, ok := q["resources"]; ok {
		res, err := parseResources(q.Get("resources"))
		if err != nil {
			return err
		}
		pq.Resources = res
	}
	ps, err := h.svc.ListProviders(r.Context(), pq)
	if err != nil {
		return err
	}
	list := make([]any, len(ps))
	for i, p := range ps {
		list[i] = providerBody(p, v)
	}
	writeJSON(w, v, http.StatusOK, latestOf(ps, placement.Provider.Modified), map[string]any{"resource_providers": list})
	return nil
}

// updateProviderSchema is PUT_RESOURCE_PROVIDER_SCHEMA (and 1.14's).
func updateProviderSchema(v api.Version) schema {
	o := object{props: map[string]schema{"name": providerName}, required: []string{"name"}}
	if v.AtLeast(mv(14)) {
		o.props["parent_provider_uuid"] = nullable{uuidString}
	}
	return o
}

func (h *Handler) updateProvider(w http.ResponseWriter, r *http.Request, v api.Version) error {
	if err := requireJSON(r); err != nil {
		return err
	}
	uuid := r.PathValue("uuid")
	if err := h.svc.CheckProvider(r.Context(), placement.RuleProviderUpdate, uuid); err != nil {
		return err
	}
	var raw map[string]any
	if err := h.readBody(w, r, updateProviderSchema(v), &raw); err != nil {
		return err
	}
	u := placement.ProviderUpdate{Name: raw["name"].(string), AllowReparent: v.AtLeast(mv(37))}
	if parent, ok := raw["parent_provider_uuid"]; ok {
		u.SetParent = true
		if s, ok := parent.(string); ok {
			u.ParentUUID = canonicalUUID(s)
		}
	}
	p, err := h.svc.UpdateProvider(r.Context(), uuid, u)
	if err != nil {
		return err
	}
	writeJSON(w, v, http.StatusOK, p.UpdatedAt, providerBody(p, v))
	return nil
}

func (h *Handler) deleteProvider(w http.ResponseWriter, r *http.Request, v api.Version) error {
	if err := h.svc.DeleteProvider(r.Context(), r.PathValue("uuid")); err != nil {
		return err
	}
	noContent(w)
	return nil
}
