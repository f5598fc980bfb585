package placementhttp

import (
	"net/http"
	"strings"

	"github.com/nimbus-cloud/nimbus/internal/api"
	"github.com/nimbus-cloud/nimbus/internal/placement"
)

func (h *Handler) traitRoutes(srv *api.Server) {
	h.handle(srv, "GET /traits", mv(6), api.Version{}, 404, h.listTraits)
	h.handle(srv, "GET /traits/{name}", mv(6), api.Version{}, 404, h.getTrait)
	h.handle(srv, "PUT /traits/{name}", mv(6), api.Version{}, 404, h.putTrait)
	h.handle(srv, "DELETE /traits/{name}", mv(6), api.Version{}, 404, h.deleteTrait)
	base := "/resource_providers/{uuid}/traits"
	h.handle(srv, "GET "+base, mv(6), api.Version{}, 404, h.providerTraits)
	h.handle(srv, "PUT "+base, mv(6), api.Version{}, 404, h.setProviderTraits)
	h.handle(srv, "DELETE "+base, mv(6), api.Version{}, 404, h.deleteProviderTraits)
}

var (
	traitQuerySchema = queryParams{names: map[string]schema{"name": anyString, "associated": anyString}}
	traitName        = str{minLen: 1, maxLen: 255}
	// setTraitsSchema is SET_TRAITS_FOR_RP_SCHEMA.
	setTraitsSchema = object{props: map[string]schema{
		"traits":                       array{items: traitName},
		"resource_provider_generation": integer{},
	}, required: []string{"traits", "resource_provider_generation"}}
)

func traitNames(ts []placement.Trait) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Name
	}
	return out
}

// listTraits answers GET /traits?name=in:A,B|startswith:P&associated=true|false.
func (h *Handler) listTraits(w http.ResponseWriter, r *http.Request, v api.Version) error {
	if err := checkAccept(r); err != nil {
		return err
	}
	q := r.URL.Query()
	if err := traitQuerySchema.validate(q); err != nil {
		return err
	}
	var f placement.TraitFilter
	if _, ok := q["name"]; ok {
		op, val, ok := strings.Cut(q.Get("name"), ":")
		if !ok {
			return api.BadRequest("Badly formatted name parameter. Expected name query string parameter in form: "+
				"?name=[in|startswith]:[name1,name2|prefix]. Got: \"%s\"", q.Get("name"))
		}
		switch op {
		case "in":
			f.NameIn = strings.Split(val, ",")
		case "startswith":
			f.Prefix = val
		}
	}
	if _, ok := q["associated"]; ok {
		switch strings.ToLower(q.Get("associated")) {
		case "true":
			t := true
			f.Associated = &t
		case "false":
			t := false
			f.Associated = &t
		default:
			return api.BadRequest("The query parameter \"associated\" only accepts \"true\" or \"false\"")
		}
	}
	ts, err := h.svc.ListTraits(r.Context(), f)
	if err != nil {
		return err
	}
	writeJSON(w, v, http.StatusOK, latestOf(ts, placement.Trait.Modified), map[string]any{"traits": traitNames(ts)})
	return nil
}

func (h *Handler) getTrait(w http.ResponseWriter, r *http.Request, v api.Version) error {
	t, err := h.svc.GetTrait(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	cacheHeaders(w, v, t.CreatedAt)
	noContent(w)
	return nil
}

// putTrait creates a custom trait unless it exists: 201 or 204.
func (h *Handler) putTrait(w http.ResponseWriter, r *http.Request, v api.Version) error {
	name := r.PathValue("name")
	if len(name) > 255 || !placement.ValidCustomName(name) {
		return api.BadRequest("The trait is invalid. A valid trait must be no longer than 255 characters, start with the " +
			"prefix \"CUSTOM_\" and use following characters: \"A\"-\"Z\", \"0\"-\"9\" and \"_\"")
	}
	t, created, err := h.svc.EnsureTrait(r.Context(), name)
	if err != nil {
		return err
	}
	w.Header().Set("Location", api.BaseURL(r)+"/traits/"+t.Name)
	cacheHeaders(w, v, t.CreatedAt)
	if created {
		w.WriteHeader(http.StatusCreated)
	} else {
		noContent(w)
	}
	return nil
}

func (h *Handler) deleteTrait(w http.ResponseWriter, r *http.Request, v api.Version) error {
	if err := h.svc.DeleteTrait(r.Context(), r.PathValue("name")); err != nil {
		return err
	}
	noContent(w)
	return nil
}

func providerTraitsBody(p placement.Provider, ts []placement.Trait) map[string]any {
	return map[string]any{"traits": traitNames(ts), "resource_provider_generation": p.Generation}
}

func (h *Handler) providerTraits(w http.ResponseWriter, r *http.Request, v api.Version) error {
	if err := checkAccept(r); err != nil {
		return err
	}
	p, ts, err := h.svc.ProviderTraits(r.Context(), r.PathValue("uuid"))
	if err != nil {
		return err
	}
	writeJSON(w, v, http.StatusOK, latestOf(ts, placement.Trait.Modified), providerTraitsBody(p, ts))
	return nil
}

func (h *Handler) setProviderTraits(w http.ResponseWriter, r *http.Request, v api.Version) error {
	if err := requireJSON(r); err != nil {
		return err
	}
	if err := h.svc.Check(r.Context(), placement.RuleProviderTraitUpdate); err != nil {
		return err
	}
	var in struct {
		Traits     []string `json:"traits"`
		Generation int64    `json:"resource_provider_generation"`
	}
	if err := h.readBody(w, r, setTraitsSchema, &in); err != nil {
		return err
	}
	p, ts, err := h.svc.SetProviderTraits(r.Context(), r.PathValue("uuid"), in.Generation, in.Traits)
	if err != nil {
		return err
	}
	writeJSON(w, v, http.StatusOK, latestOf(ts, placement.Trait.Modified), providerTraitsBody(p, ts))
	return nil
}

func (h *Handler) deleteProviderTraits(w http.ResponseWriter, r *http.Request, v api.Version) error {
	if err := h.svc.DeleteProviderTraits(r.Context(), r.PathValue("uuid")); err != nil {
		return err
	}
	noContent(w)
	return nil
}
