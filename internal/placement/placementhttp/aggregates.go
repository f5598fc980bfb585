package placementhttp

import (
	"net/http"

	"github.com/nimbus-cloud/nimbus/internal/api"
	"github.com/nimbus-cloud/nimbus/internal/placement"
)

func (h *Handler) aggregateRoutes(srv *api.Server) {
	base := "/resource_providers/{uuid}/aggregates"
	h.handle(srv, "GET "+base, mv(1), api.Version{}, 404, h.getAggregates)
	h.handle(srv, "PUT "+base, mv(1), api.Version{}, 404, h.setAggregates)
}

var (
	aggregateList = array{items: uuidString, unique: true}
	// aggregatesSchema19 is PUT_AGGREGATES_SCHEMA_V1_19; before 1.19 the body
	// is the bare list.
	aggregatesSchema19 = object{props: map[string]schema{
		"aggregates":                   aggregateList,
		"resource_provider_generation": integer{},
	}, required: []string{"aggregates", "resource_provider_generation"}}
)

// aggregatesBody is the list, with the provider generation from 1.19.
func aggregatesBody(v api.Version, gen int64, aggs []string) map[string]any {
	body := map[string]any{"aggregates": aggs}
	if v.AtLeast(mv(19)) {
		body["resource_provider_generation"] = gen
	}
	return body
}

func (h *Handler) getAggregates(w http.ResponseWriter, r *http.Request, v api.Version) error {
	if err := checkAccept(r); err != nil {
		return err
	}
	p, aggs, err := h.svc.ProviderAggregates(r.Context(), r.PathValue("uuid"))
	if err != nil {
		return err
	}
	writeJSON(w, v, http.StatusOK, h.now(), aggregatesBody(v, p.Generation, aggs))
	return nil
}

func (h *Handler) setAggregates(w http.ResponseWriter, r *http.Request, v api.Version) error {
	if err := requireJSON(r); err != nil {
		return err
	}
	uuid := r.PathValue("uuid")
	if err := h.svc.CheckProvider(r.Context(), placement.RuleAggregateUpdate, uuid); err != nil {
		return err
	}
	var aggs []string
	var gen *int64
	if v.AtLeast(mv(19)) {
		var in struct {
			Aggregates []string `json:"aggregates"`
			Generation int64    `json:"resource_provider_generation"`
		}
		if err := h.readBody(w, r, aggregatesSchema19, &in); err != nil {
			return err
		}
		aggs, gen = in.Aggregates, &in.Generation
	} else if err := h.readBody(w, r, aggregateList, &aggs); err != nil {
		return err
	}
	if aggs == nil {
		aggs = []string{}
	}
	p, err := h.svc.SetProviderAggregates(r.Context(), uuid, gen, aggs)
	if err != nil {
		return err
	}
	writeJSON(w, v, http.StatusOK, h.now(), aggregatesBody(v, p.Generation, aggs))
	return nil
}
