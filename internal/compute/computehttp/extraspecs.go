package computehttp

import (
	"encoding/json"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/nimbus-cloud/nimbus/internal/api"
)

// specKeyRE is nova's extra spec key pattern '^[a-zA-Z0-9-_:. ]{1,255}$',
// spelt for RE2, which reads "9-_" as a range.
var specKeyRE = regexp.MustCompile(`^[a-zA-Z0-9_:. -]{1,255}$`)

// Extra spec schemas (schemas/flavors_extraspecs.py): keys of letters,
// digits and "-_:. ", values strings or numbers of at most 255 characters.
var (
	specValue = &schema{types: []string{"string", "number"}, maxLength: intp(255)}
	specsMap  = &schema{types: []string{"object"}, patternKey: specKeyRE.String(), patternProps: specValue,
		additional: no()}
	specsCreate = (&schema{types: []string{"object"}, props: []prop{{"extra_specs", specsMap}},
		required: []string{"extra_specs"}, additional: no()}).compile()
	specsUpdate = func() *schema {
		c := *specsMap
		c.minProps, c.maxProps = intp(1), intp(1)
		return c.compile()
	}()
)

func (h *Handler) extraSpecRoutes(srv *api.Server) {
	const base = "/v2.1/flavors/{flavor_id}/os-extra_specs"
	h.route(srv, "GET "+base, h.listExtraSpecs)
	h.route(srv, "POST "+base, h.createExtraSpecs)
	h.route(srv, "GET "+base+"/{key}", h.showExtraSpec)
	h.route(srv, "PUT "+base+"/{key}", h.updateExtraSpec)
	h.route(srv, "DELETE "+base+"/{key}", h.deleteExtraSpec)
}

func (h *Handler) listExtraSpecs(w http.ResponseWriter, r *http.Request, _ api.Version) error {
	specs, err := h.svc.ExtraSpecs(r.Context(), r.PathValue("flavor_id"))
	if err != nil {
		return err
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"extra_specs": specs})
	return nil
}

func (h *Handler) showExtraSpec(w http.ResponseWriter, r *http.Request, _ api.Version) error {
	key := r.PathValue("key")
	v, err := h.svc.ExtraSpec(r.Context(), r.PathValue("flavor_id"), key)
	if err != nil {
		return err
	}
	api.WriteJSON(w, http.StatusOK, map[string]string{key: v})
	return nil
}

// specStrings turns validated extra spec values into the strings stored:
// numbers as Python's str() writes them.
func specStrings(m map[string]any) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		switch x := v.(type) {
		case string:
			out[k] = x
		case json.Number:
			out[k] = pyNumberString(x)
		}
	}
	return out
}

// pyNumberString is Python's str() of a JSON number: integers as they are,
// others as floats ("1e3" is "1000.0").
func pyNumberString(n json.Number) string {
	if i, err := strconv.ParseInt(n.String(), 10, 64); err == nil {
		return strconv.FormatInt(i, 10)
	}
	f, err := n.Float64()
	if err != nil {
		return n.String()
	}
	return pyFloatString(f)
}

// pyFloatString is Python's repr() of a float: the shortest form, with ".0"
// on integral values and an exponent outside [1e-4, 1e16).
func pyFloatString(f float64) string {
	if a := math.Abs(f); a != 0 && (a >= 1e16 || a < 1e-4) {
		// Go and Python agree here: "1e+20", "1.5e-05".
		return strconv.FormatFloat(f, 'e', -1, 64)
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

func (h *Handler) createExtraSpecs(w http.ResponseWriter, r *http.Request, v api.Version) error {
	body, err := h.readBody(w, r)
	if err != nil {
		return err
	}
	if err := validateBody(specsCreate, body); err != nil {
		return err
	}
	given := body.(map[string]any)["extra_specs"].(map[string]any)
	if _, err := h.svc.CreateExtraSpecs(r.Context(), r.PathValue("flavor_id"), specStrings(given), at(v, 86)); err != nil {
		return err
	}
	// nova answers with the body as sent, numbers as numbers.
	api.WriteJSON(w, http.StatusOK, map[string]any{"extra_specs": given})
	return nil
}

func (h *Handler) updateExtraSpec(w http.ResponseWriter, r *http.Request, v api.Version) error {
	body, err := h.readBody(w, r)
	if err != nil {
		return err
	}
	if err := validateBody(specsUpdate, body); err != nil {
		return err
	}
	given := body.(map[string]any)
	if _, err := h.svc.UpdateExtraSpec(r.Context(), r.PathValue("flavor_id"), r.PathValue("key"), specStrings(given),
		at(v, 86)); err != nil {
		return err
	}
	api.WriteJSON(w, http.StatusOK, given)
	return nil
}

func (h *Handler) deleteExtraSpec(w http.ResponseWriter, r *http.Request, _ api.Version) error {
	if err := h.svc.DeleteExtraSpec(r.Context(), r.PathValue("flavor_id"), r.PathValue("key")); err != nil {
		return err
	}
	noContent(w, http.StatusOK)
	return nil
}
