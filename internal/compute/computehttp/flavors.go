package computehttp

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/nimbus-cloud/nimbus/internal/api"
	"github.com/nimbus-cloud/nimbus/internal/compute"
	"github.com/nimbus-cloud/nimbus/internal/compute/extraspecs"
)

// Parameter types of nova's schemas (nova/api/validation/parameter_types.py).
var (
	// flavorPositive and flavorNonNegative are flavor_param_positive and
	// flavor_param_non_negative: integers, or strings of digits, up to
	// MAX_INT.
	flavorPositive = &schema{types: []string{"integer", "string"}, pattern: `^[0-9]+$`,
		minimum: floatp(1), maximum: floatp(compute.MaxInt)}
	flavorNonNegative = &schema{types: []string{"integer", "string"}, pattern: `^[0-9]+$`,
		minimum: floatp(0), maximum: floatp(compute.MaxInt)}
	// booleanParam is parameter_types.boolean.
	booleanParam = &schema{types: []string{"boolean", "string"}, enum: []any{
		true, "True", "TRUE", "true", "1", "ON", "On", "on", "YES", "Yes", "yes",
		false, "False", "FALSE", "false", "0", "OFF", "Off", "off", "NO", "No", "no"}}
	nameParam   = &schema{types: []string{"string"}, format: "name", minLength: intp(1), maxLength: intp(255)}
	nonNegative = &schema{types: []string{"integer", "string"}, pattern: `^[0-9]*$`, minimum: floatp(0), minLength: intp(1)}
	anyString   = &schema{types: []string{"string"}}
)

// Flavor schemas (nova/api/openstack/compute/schemas/flavors.py).
var (
	flavorDescription = &schema{types: []string{"string", "null"}, minLength: intp(0), maxLength: intp(65535),
		format: "description"}

	flavorCreateV21 = (&schema{types: []string{"object"}, props: []prop{{"flavor", &schema{
		types: []string{"object"},
		props: []prop{
			{"name", nameParam},
			{"id", &schema{types: []string{"string", "number", "null"}, minLength: intp(1), maxLength: intp(255),
				pattern: `^(?! )[a-zA-Z0-9. _-]+(?<! )$`, matches: validFlavorID}},
			{"ram", flavorPositive},
			{"vcpus", flavorPositive},
			{"disk", flavorNonNegative},
			{"OS-FLV-EXT-DATA:ephemeral", flavorNonNegative},
			{"swap", flavorNonNegative},
			{"rxtx_factor", &schema{types: []string{"number", "string"}, pattern: `^[0-9]+(\.[0-9]+)?$`,
				exclMin: floatp(0), maximum: floatp(compute.MaxRxTxFactor)}},
			{"os-flavor-access:is_public", booleanParam},
		},
		required:   []string{"name", "ram", "vcpus", "disk"},
		additional: no(),
	}}}, required: []string{"flavor"}, additional: no()}).compile()

	flavorCreateV255 = withFlavorProps(flavorCreateV21, prop{"description", flavorDescription})

	flavorUpdate = (&schema{types: []string{"object"}, props: []prop{{"flavor", &schema{
		types: []string{"object"}, props: []prop{{"description", flavorDescription}},
		required: []string{"description"}, additional: no(),
	}}}, required: []string{"flavor"}, additional: no()}).compile()

	flavorQuery = (&schema{types: []string{"object"}, props: []prop{
		{"limit", nonNegative},
		{"marker", anyString},
		{"is_public", anyString},
		{"minRam", anyString},
		{"minDisk", anyString},
		{"sort_key", &schema{types: []string{"string"}, enum: anyList(compute.FlavorSortKeys)}},
		{"sort_dir", &schema{types: []string{"string"}, enum: []any{"asc", "desc"}}},
	}}).compile()
	flavorQueryV275 = strict(flavorQuery)
)

// flavorIDChars are the characters of a flavor id given by the client.
var flavorIDChars = regexp.MustCompile(`^[a-zA-Z0-9. _-]+$`)

// validFlavorID is nova's id pattern: those characters, not starting or
// ending with a space.
func validFlavorID(s string) bool {
	return flavorIDChars.MatchString(s) && !strings.HasPrefix(s, " ") && !strings.HasSuffix(s, " ")
}

// withFlavorProps adds properties to the "flavor" object of a flavor body
// schema.
func withFlavorProps(s *schema, ps ...prop) *schema {
	return s.with([]prop{{"flavor", s.field("flavor").with(ps)}}).compile()
}

// strict is s refusing properties it does not name (additionalProperties
// false), as nova's query schemas are from microversion 2.75.
func strict(s *schema) *schema {
	c := *s
	c.additional = no()
	return &c
}

func anyList(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func (h *Handler) flavorRoutes(srv *api.Server) {
	h.route(srv, "GET /v2.1/flavors", h.listFlavors(false))
	h.route(srv, "GET /v2.1/flavors/detail", h.listFlavors(true))
	h.route(srv, "GET /v2.1/flavors/{flavor_id}", h.showFlavor)
	h.route(srv, "POST /v2.1/flavors", h.createFlavor)
	h.route(srv, "PUT /v2.1/flavors/{flavor_id}", h.updateFlavor)
	h.route(srv, "DELETE /v2.1/flavors/{flavor_id}", h.deleteFlavor)
}

// pyFloat is a float that marshals as Python's json does: 1.0, not 1.
type pyFloat float64

func (f pyFloat) MarshalJSON() ([]byte, error) { return []byte(pyFloatString(float64(f))), nil }

// flavorView is a flavor as nova renders it (api-ref "Show Flavor Details"),
// for the microversion asked: description from 2.55, extra_specs from 2.61
// (when policy allows), swap as 0 rather than "" from 2.75.
type flavorView struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	RAM        int        `json:"ram"`
	Disk       int        `json:"disk"`
	Swap       any        `json:"swap"`
	Ephemeral  int        `json:"OS-FLV-EXT-DATA:ephemeral"`
	Disabled   bool       `json:"OS-FLV-DISABLED:disabled"`
	VCPUs      int        `json:"vcpus"`
	IsPublic   bool       `json:"os-flavor-access:is_public"`
	RxTxFactor pyFloat    `json:"rxtx_factor"`
	Links      []linkView `json:"links"`
	// Description and ExtraSpecs are nil when the microversion has them
	// not; set, a nil *string shows as null and an empty map as {}.
	Description any `json:"description,omitempty"`
	ExtraSpecs  any `json:"extra_specs,omitempty"`
}

// flavorBrief is a flavor in GET /flavors: id, name, links, and description
// from 2.55.
type flavorBrief struct {
	ID          string     `json:"id"`
	Name        string     `json:"name"`
	Links       []linkView `json:"links"`
	Description any        `json:"description,omitempty"`
}

// links returns nova's self and bookmark links of a resource: the versioned
// and unversioned URLs.
func links(r *http.Request, collection, id string) []linkView {
	base := api.BaseURL(r)
	esc := url.PathEscape(id)
	return []linkView{
		{Rel: "self", Href: base + "/v2.1/" + collection + "/" + esc},
		{Rel: "bookmark", Href: base + "/" + collection + "/" + esc},
	}
}

func newFlavorView(r *http.Request, v api.Version, f compute.Flavor, withSpecs bool) flavorView {
	out := flavorView{ID: f.FlavorID, Name: f.Name, RAM: f.MemoryMB, Disk: f.RootGB, Swap: f.Swap,
		Ephemeral: f.EphemeralGB, Disabled: f.Disabled, VCPUs: f.VCPUs, IsPublic: f.IsPublic,
		RxTxFactor: pyFloat(f.RxTxFactor), Links: links(r, "flavors", f.FlavorID)}
	if !at(v, 75) && f.Swap == 0 {
		out.Swap = ""
	}
	if at(v, 55) {
		out.Description = f.Description
	}
	if withSpecs {
		specs := f.ExtraSpecs
		if specs == nil {
			specs = map[string]string{}
		}
		out.ExtraSpecs = specs
	}
	return out
}

// showsSpecs reports whether flavor bodies carry extra_specs: from 2.61, for
// callers os-flavor-extra-specs:index allows.
func (h *Handler) showsSpecs(r *http.Request, v api.Version) bool {
	return at(v, 61) && h.svc.CanSeeExtraSpecs(r.Context())
}

func (h *Handler) writeFlavor(w http.ResponseWriter, r *http.Request, v api.Version, f compute.Flavor) {
	api.WriteJSON(w, http.StatusOK, map[string]any{"flavor": newFlavorView(r, v, f, h.showsSpecs(r, v))})
}

func (h *Handler) showFlavor(w http.ResponseWriter, r *http.Request, v api.Version) error {
	f, err := h.svc.Flavor(r.Context(), r.PathValue("flavor_id"))
	if err != nil {
		return err
	}
	h.writeFlavor(w, r, v, f)
	return nil
}

// last is the last value of a query parameter, as webob's GET.get returns.
func last(q url.Values, name string) (string, bool) {
	vs := q[name]
	if len(vs) == 0 {
		return "", false
	}
	return vs[len(vs)-1], true
}

func (h *Handler) listFlavors(detail bool) versioned {
	return func(w http.ResponseWriter, r *http.Request, v api.Version) error {
		q := r.URL.Query()
		s := flavorQuery
		if at(v, 75) {
			s = flavorQueryV275
		}
		if err := validateQuery(s, q); err != nil {
			return err
		}
		var o compute.FlavorListOptions
		o.SortKey, _ = last(q, "sort_key")
		o.SortDir, _ = last(q, "sort_dir")
		if p, ok := last(q, "is_public"); ok {
			o.IsPublic = &p
		}
		for _, m := range []struct {
			param string
			dst   **int
		}{{"minRam", &o.MinMemoryMB}, {"minDisk", &o.MinRootGB}} {
			if p, ok := last(q, m.param); ok {
				n, err := strconv.Atoi(strings.TrimSpace(p))
				if err != nil {
					return api.BadRequest("Invalid %s filter [%s]", m.param, p)
				}
				*m.dst = &n
			}
		}
		var err error
		if o.Limit, o.Marker, err = page(q); err != nil {
			return err
		}
		fs, err := h.svc.Flavors(r.Context(), o)
		if err != nil {
			return err
		}
		collection := "flavors"
		if detail {
			collection = "flavors/detail"
		}
		body := map[string]any{}
		if detail {
			specs := h.showsSpecs(r, v)
			views := make([]flavorView, len(fs))
			for i, f := range fs {
				views[i] = newFlavorView(r, v, f, specs)
			}
			body["flavors"] = views
		} else {
			views := make([]flavorBrief, len(fs))
			for i, f := range fs {
				views[i] = flavorBrief{ID: f.FlavorID, Name: f.Name, Links: links(r, "flavors", f.FlavorID)}
				if at(v, 55) {
					views[i].Description = f.Description
				}
			}
			body["flavors"] = views
		}
		if len(fs) > 0 {
			if next := h.nextLink(r, collection, len(fs), fs[len(fs)-1].FlavorID); next != nil {
				body["flavors_links"] = next
			}
		}
		api.WriteJSON(w, http.StatusOK, body)
		return nil
	}
}

// page reads limit and marker (nova's get_limit_and_marker); the query
// schema has checked that limit is a non-negative integer.
func page(q url.Values) (limit *int, marker *string, err error) {
	if p, ok := last(q, "limit"); ok {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return nil, nil, api.BadRequest("limit must be an integer")
		}
		limit = &n
	}
	if m, ok := last(q, "marker"); ok {
		marker = &m
	}
	return limit, marker, nil
}

// nextLink is nova's collection "next" link: present when the page is as
// long as the page size asked for (or the maximum), pointing after the last
// item with the request's other parameters.
func (h *Handler) nextLink(r *http.Request, collection string, n int, lastID string) []linkView {
	size := h.svc.MaxLimit()
	if p, ok := last(r.URL.Query(), "limit"); ok {
		if l, err := strconv.Atoi(p); err == nil && l < size {
			size = l
		}
	}
	if size == 0 || n != size {
		return nil
	}
	q := url.Values{}
	for k, vs := range r.URL.Query() {
		q.Set(k, vs[len(vs)-1])
	}
	q.Set("marker", lastID)
	return []linkView{{Rel: "next", Href: api.BaseURL(r) + "/v2.1/" + collection + "?" + q.Encode()}}
}

func (h *Handler) createFlavor(w http.ResponseWriter, r *http.Request, v api.Version) error {
	body, err := h.readBody(w, r)
	if err != nil {
		return err
	}
	s := flavorCreateV21
	if at(v, 55) {
		s = flavorCreateV255
	}
	if err := validateBody(s, body); err != nil {
		return err
	}
	in := body.(map[string]any)["flavor"].(map[string]any)
	fc := compute.FlavorCreate{Name: in["name"].(string), RxTxFactor: 1, IsPublic: true}
	switch id := in["id"].(type) {
	case string:
		fc.ID = id
	case json.Number:
		// nova stores str() of a numeric id: 10 is "10", 1e2 is "100.0".
		fc.ID = pyNumberString(id)
	}
	for _, f := range []struct {
		key, name string
		dst       *int
	}{
		{"ram", "ram", &fc.MemoryMB}, {"vcpus", "vcpus", &fc.VCPUs}, {"disk", "disk", &fc.RootGB},
		{"OS-FLV-EXT-DATA:ephemeral", "ephemeral", &fc.EphemeralGB}, {"swap", "swap", &fc.Swap},
	} {
		raw, ok := in[f.key]
		if !ok {
			continue
		}
		n, err := integer(raw, f.name)
		if err != nil {
			return err
		}
		*f.dst = n
	}
	if raw, ok := in["rxtx_factor"]; ok {
		f, err := strconv.ParseFloat(pyStr(raw), 64)
		if err != nil {
			return api.BadRequest("Invalid input received: 'rxtx_factor' argument must be a float between 0 and %g",
				compute.MaxRxTxFactor)
		}
		fc.RxTxFactor = f
	}
	if raw, ok := in["os-flavor-access:is_public"]; ok {
		fc.IsPublic = boolValue(raw)
	}
	if at(v, 55) {
		if d, ok := in["description"].(string); ok {
			fc.Description = &d
		}
	}
	f, err := h.svc.CreateFlavor(r.Context(), fc)
	if err != nil {
		return err
	}
	h.writeFlavor(w, r, v, f)
	return nil
}

// integer reads an integer given as a JSON number or a string of digits, as
// nova's validate_integer does; anything else is nova's 400.
func integer(raw any, name string) (int, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(pyStr(raw)), 10, 64)
	if err != nil {
		return 0, api.BadRequest("Invalid input received: %s must be an integer", name)
	}
	if n > compute.MaxInt {
		return 0, api.BadRequest("Invalid input received: %s must be <= %d", name, compute.MaxInt)
	}
	return int(n), nil
}

// boolValue reads a value the boolean schema accepted.
func boolValue(raw any) bool {
	if b, ok := raw.(bool); ok {
		return b
	}
	b, _ := extraspecs.ParseBool(raw.(string))
	return b
}

func (h *Handler) updateFlavor(w http.ResponseWriter, r *http.Request, v api.Version) error {
	if !at(v, 55) {
		return notFound()
	}
	body, err := h.readBody(w, r)
	if err != nil {
		return err
	}
	if err := validateBody(flavorUpdate, body); err != nil {
		return err
	}
	var desc *string
	if d, ok := body.(map[string]any)["flavor"].(map[string]any)["description"].(string); ok {
		desc = &d
	}
	f, err := h.svc.UpdateFlavor(r.Context(), r.PathValue("flavor_id"), desc)
	if err != nil {
		return err
	}
	h.writeFlavor(w, r, v, f)
	return nil
}

func (h *Handler) deleteFlavor(w http.ResponseWriter, r *http.Request, _ api.Version) error {
	if err := h.svc.DeleteFlavor(r.Context(), r.PathValue("flavor_id")); err != nil {
		return err
	}
	noContent(w, http.StatusAccepted)
	return nil
}
