package computehttp

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/nimbus-cloud/nimbus/internal/api"
)

// schema is the subset of JSON Schema nova's request schemas use, checked as
// nova's validator checks it: keywords in nova's order, the first failure
// reported in nova's words ("Invalid input for field/attribute ram. Value:
// 0. 0 is less than the minimum of 1"). Numbers given as strings are
// compared as numbers by minimum and maximum, as nova's validator does.
type schema struct {
	types []string // "object", "string", "integer", "number", "boolean", "null", "array"
	// format names a nova format checker: "name", "name_ws" (leading and
	// trailing whitespace allowed), "description" (nova's pattern of
	// printable characters) or "uuid".
	format string
	// pattern is a regular expression strings must match, shown in
	// messages as nova's; matches, when set, decides instead of it (for
	// nova's patterns that need look-arounds).
	pattern    string
	matches    func(string) bool
	minLength  *int
	maxLength  *int
	minimum    *float64
	maximum    *float64
	exclMin    *float64
	enum       []any
	allOf      []*schema
	oneOf      []*schema
	props      []prop // properties, in nova's order
	required   []string
	additional *bool // nil: allowed
	// patternProps applies to keys matching patternKey, with additional
	// false refusing the others.
	patternKey   string
	patternProps *schema
	minProps     *int
	maxProps     *int
	items        *schema
	minItems     *int
	maxItems     *int

	patternRE, patternKeyRE *regexp.Regexp
}

// prop is one named property of an object schema.
type prop struct {
	name string
	s    *schema
}

func intp(n int) *int           { return &n }
func floatp(f float64) *float64 { return &f }
func no() *bool                 { b := false; return &b }

// compile prepares the regular expressions of s and its children; it panics
// on a bad pattern, a programming error in the schema tables.
func (s *schema) compile() *schema {
	if s.pattern != "" && s.matches == nil {
		s.patternRE = regexp.MustCompile(s.pattern)
	}
	if s.patternKey != "" {
		s.patternKeyRE = regexp.MustCompile(s.patternKey)
	}
	for _, p := range s.props {
		p.s.compile()
	}
	for _, a := range slices.Concat(s.allOf, s.oneOf) {
		a.compile()
	}
	for _, c := range []*schema{s.patternProps, s.items} {
		if c != nil {
			c.compile()
		}
	}
	return s
}

// with returns a copy of an object schema with its properties changed:
// set replaces or appends a property, drop removes one.
func (s *schema) with(set []prop, drop ...string) *schema {
	c := *s
	c.props = nil
	for _, p := range s.props {
		if !slices.Contains(drop, p.name) {
			c.props = append(c.props, p)
		}
	}
	for _, p := range set {
		i := slices.IndexFunc(c.props, func(q prop) bool { return q.name == p.name })
		if i >= 0 {
			c.props[i] = p
		} else {
			c.props = append(c.props, p)
		}
	}
	return &c
}

// field returns the schema of a named property.
func (s *schema) field(name string) *schema {
	for _, p := range s.props {
		if p.name == name {
			return p.s
		}
	}
	return nil
}

// verror is one validation failure: where (the path from the root) and why.
type verror struct {
	path     []string
	instance any
	message  string
	// detail, when set, is the whole message (nova's format checkers).
	detail string
}

// bodyError renders a failure of a request body in nova's words.
func (e *verror) bodyError() *api.Error {
	switch {
	case e.detail != "":
		return api.BadRequest("%s", e.detail)
	case len(e.path) > 0:
		return api.BadRequest("Invalid input for field/attribute %s. Value: %s. %s",
			e.path[len(e.path)-1], pyStr(e.instance), e.message)
	}
	return api.BadRequest("%s", e.message)
}

// validateBody checks a decoded JSON body against s.
func validateBody(s *schema, body any) *api.Error {
	if e := s.check(nil, body); e != nil {
		return e.bodyError()
	}
	return nil
}

// validateQuery checks query parameters against an object schema whose
// properties are the parameters, each value checked on its own (nova's
// multi_params). A schema with additional false refuses unknown parameters
// (microversion 2.75 and later).
func validateQuery(s *schema, q url.Values) *api.Error {
	for _, p := range s.props {
		for _, v := range q[p.name] {
			if e := p.s.check([]string{p.name}, v); e != nil {
				if e.detail != "" {
					return api.BadRequest("%s", e.detail)
				}
				return api.BadRequest("Invalid input for query parameters %s. Value: %s. %s", p.name, pyStr(v), e.message)
			}
		}
	}
	if s.additional != nil && !*s.additional {
		var extra []string
		for k := range q {
			if s.field(k) == nil {
				extra = append(extra, k)
			}
		}
		if len(extra) > 0 {
			slices.Sort(extra)
			return api.BadRequest("%s", unexpected(extra))
		}
	}
	return nil
}

func unexpected(extra []string) string {
	quoted := make([]string, len(extra))
	for i, k := range extra {
		quoted[i] = pyRepr(k)
	}
	verb := "was"
	if len(extra) > 1 {
		verb = "were"
	}
	return fmt.Sprintf("Additional properties are not allowed (%s %s unexpected)", strings.Join(quoted, ", "), verb)
}

func (s *schema) fail(path []string, v any, format string, args ...any) *verror {
	return &verror{path: slices.Clone(path), instance: v, message: fmt.Sprintf(format, args...)}
}

// check validates v at path, returning the first failure.
func (s *schema) check(path []string, v any) *verror {
	if len(s.types) > 0 && !slices.ContainsFunc(s.types, func(t string) bool { return isType(v, t) }) {
		names := make([]string, len(s.types))
		for i, t := range s.types {
			names[i] = pyRepr(t)
		}
		return s.fail(path, v, "%s is not of type %s", pyRepr(v), strings.Join(names, ", "))
	}
	for _, check := range []func([]string, any) *verror{s.checkFormat, s.checkString, s.checkNumber, s.checkEnum} {
		if e := check(path, v); e != nil {
			return e
		}
	}
	for _, a := range s.allOf {
		if e := a.check(path, v); e != nil {
			return e
		}
	}
	if s.oneOf != nil {
		valid := 0
		for _, o := range s.oneOf {
			if o.check(path, v) == nil {
				valid++
			}
		}
		switch {
		case valid == 0:
			return s.fail(path, v, "%s is not valid under any of the given schemas", pyRepr(v))
		case valid > 1:
			return s.fail(path, v, "%s is valid under each of the given schemas", pyRepr(v))
		}
	}
	if m, ok := v.(map[string]any); ok {
		return s.checkObject(path, m)
	}
	if a, ok := v.([]any); ok {
		return s.checkArray(path, a)
	}
	return nil
}

func (s *schema) checkArray(path []string, a []any) *verror {
	if s.items != nil {
		for i, item := range a {
			if e := s.items.check(append(slices.Clone(path), strconv.Itoa(i)), item); e != nil {
				return e
			}
		}
	}
	switch {
	case s.minItems != nil && len(a) < *s.minItems:
		return s.fail(path, a, "%s is too short", pyRepr(a))
	case s.maxItems != nil && len(a) > *s.maxItems:
		return s.fail(path, a, "%s is too long", pyRepr(a))
	}
	return nil
}

// Reasons of nova's name format checkers.
const (
	nameReason   = "printable characters. Can not start or end with whitespace."
	nameWSReason = "printable characters with at least one non space character"
)

func (s *schema) checkFormat(path []string, v any) *verror {
	str, isStr := v.(string)
	switch s.format {
	case "name":
		if !isStr || !validName(str) {
			return &verror{detail: "An invalid 'name' value was provided. The name must be: " + nameReason}
		}
	case "name_ws":
		if !isStr || !validNameWithSpaces(str) {
			return &verror{detail: "An invalid 'name' value was provided. The name must be: " + nameWSReason}
		}
	case "description":
		if isStr && !validDescription(str) {
			return s.fail(path, v, "%s does not match '^[<printable characters>]*$'", pyRepr(v))
		}
	case "uuid":
		if isStr && !isUUID(str) {
			return s.fail(path, v, "%s is not a 'uuid'", pyRepr(v))
		}
	case "base64", "ipv4", "ipv6", "date-time", "regex":
		if isStr && !formatCheckers[s.format](str) {
			return s.fail(path, v, "%s is not a '%s'", pyRepr(v), s.format)
		}
	}
	return nil
}

func (s *schema) checkString(path []string, v any) *verror {
	str, ok := v.(string)
	if !ok {
		return nil
	}
	n := len([]rune(str))
	switch {
	case s.minLength != nil && n < *s.minLength:
		return s.fail(path, v, "%s is too short", pyRepr(str))
	case s.maxLength != nil && n > *s.maxLength:
		return s.fail(path, v, "%s is too long", pyRepr(str))
	case s.matches != nil && !s.matches(str), s.patternRE != nil && !s.patternRE.MatchString(str):
		return s.fail(path, v, "%s does not match %s", pyRepr(str), pyRepr(s.pattern))
	}
	return nil
}

func (s *schema) checkNumber(path []string, v any) *verror {
	if s.minimum == nil && s.maximum == nil && s.exclMin == nil {
		return nil
	}
	// nova compares numbers given as strings too, for minimum and maximum.
	n, shown, ok := numberOf(v, s.minimum != nil || s.maximum != nil)
	if !ok {
		return nil
	}
	switch {
	case s.minimum != nil && n < *s.minimum:
		return s.fail(path, v, "%s is less than the minimum of %s", shown, pyNum(*s.minimum))
	case s.maximum != nil && n > *s.maximum:
		return s.fail(path, v, "%s is greater than the maximum of %s", shown, pyNum(*s.maximum))
	}
	if _, isNum := v.(json.Number); isNum && s.exclMin != nil && n <= *s.exclMin {
		return s.fail(path, v, "%s is less than or equal to the minimum of %s", shown, pyNum(*s.exclMin))
	}
	return nil
}

func (s *schema) checkEnum(path []string, v any) *verror {
	if s.enum == nil {
		return nil
	}
	for _, e := range s.enum {
		if sameValue(e, v) {
			return nil
		}
	}
	items := make([]string, len(s.enum))
	for i, e := range s.enum {
		items[i] = pyRepr(e)
	}
	return s.fail(path, v, "%s is not one of [%s]", pyRepr(v), strings.Join(items, ", "))
}

func (s *schema) checkObject(path []string, m map[string]any) *verror {
	for _, p := range s.props {
		if v, ok := m[p.name]; ok {
			if e := p.s.check(append(slices.Clone(path), p.name), v); e != nil {
				return e
			}
		}
	}
	if s.patternProps != nil {
		for _, k := range sortedKeys(m) {
			if s.patternKeyRE.MatchString(k) {
				if e := s.patternProps.check(append(slices.Clone(path), k), m[k]); e != nil {
					return e
				}
			}
		}
	}
	for _, r := range s.required {
		if _, ok := m[r]; !ok {
			return s.fail(path, m, "%s is a required property", pyRepr(r))
		}
	}
	if s.additional != nil && !*s.additional {
		var extra []string
		for _, k := range sortedKeys(m) {
			if s.field(k) == nil && (s.patternKeyRE == nil || !s.patternKeyRE.MatchString(k)) {
				extra = append(extra, k)
			}
		}
		if len(extra) > 0 {
			return s.fail(path, m, "%s", unexpected(extra))
		}
	}
	switch {
	case s.minProps != nil && len(m) < *s.minProps:
		return s.fail(path, m, "%s does not have enough properties", pyRepr(m))
	case s.maxProps != nil && len(m) > *s.maxProps:
		return s.fail(path, m, "%s has too many properties", pyRepr(m))
	}
	return nil
}

// isType is JSON Schema's type test; integral numbers ("2.0") are integers.
func isType(v any, t string) bool {
	switch t {
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "null":
		return v == nil
	case "number":
		_, ok := v.(json.Number)
		return ok
	case "integer":
		n, ok := v.(json.Number)
		if !ok {
			return false
		}
		f, err := n.Float64()
		return err == nil && f == math.Trunc(f) && !math.IsInf(f, 0)
	}
	return false
}

// numberOf reads a number, or (fromString) a string holding one as Python's
// int() or float() would, and how nova's message shows it.
func numberOf(v any, fromString bool) (float64, string, bool) {
	switch x := v.(type) {
	case json.Number:
		f, err := x.Float64()
		return f, x.String(), err == nil
	case string:
		if !fromString {
			return 0, "", false
		}
		t := strings.TrimSpace(x)
		if i, err := strconv.ParseInt(t, 10, 64); err == nil {
			return float64(i), strconv.FormatInt(i, 10), true
		}
		if f, err := strconv.ParseFloat(t, 64); err == nil {
			return f, pyNum(f), true
		}
	}
	return 0, "", false
}

func sameValue(a, b any) bool {
	switch x := a.(type) {
	case string:
		y, ok := b.(string)
		return ok && x == y
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	}
	return false
}

// pyNum formats a number as Python prints it: integral values without a
// fraction, large ones in exponent form.
func pyNum(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e16 {
		return strconv.FormatInt(int64(f), 10)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// pyStr is Python's str() of a decoded JSON value: strings bare.
func pyStr(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return pyRepr(v)
}

// pyRepr is Python's repr() of a decoded JSON value.
func pyRepr(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		if x {
			return "True"
		}
		return "False"
	case json.Number:
		return x.String()
	case string:
		q := "'"
		if strings.Contains(x, "'") && !strings.Contains(x, `"`) {
			q = `"`
		}
		r := strings.NewReplacer(`\`, `\\`, "\n", `\n`, "\r", `\r`, "\t", `\t`)
		s := r.Replace(x)
		if q == "'" {
			s = strings.ReplaceAll(s, "'", `\'`)
		}
		return q + s + q
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = pyRepr(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		parts := make([]string, 0, len(x))
		for _, k := range sortedKeys(x) {
			parts = append(parts, pyRepr(k)+": "+pyRepr(x[k]))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return fmt.Sprint(v)
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// readBody decodes a JSON request body of at most maxBody bytes, keeping
// numbers exact, for validation against a schema.
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request) (any, error) {
	var body any
	if err := api.DecodeJSON(w, r, h.maxBody, &body); err != nil {
		return nil, err
	}
	return body, nil
}
