package placementhttp

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strings"

	"github.com/google/uuid"
)

// schema validates a decoded JSON value (numbers as json.Number), the subset
// of JSON Schema placement's request schemas use. Messages follow the
// jsonschema library's wording, which placement's error details carry.
type schema interface {
	check(v any) *verr
}

// verr is a validation failure: the message, the keyword that failed, and
// where in the schema and the instance, as jsonschema reports them.
type verr struct {
	msg, keyword string
	schemaPath   []string
	instPath     []string
	value        any
}

func fail(v any, keyword, msg string) *verr { return &verr{msg: msg, keyword: keyword, value: v} }

// under prefixes the failure's paths with a step into a container.
func (e *verr) under(schemaStep []string, inst string) *verr {
	if e == nil {
		return nil
	}
	e.schemaPath = append(append([]string{}, schemaStep...), e.schemaPath...)
	if inst != "" {
		e.instPath = append([]string{inst}, e.instPath...)
	}
	return e
}

// String renders the failure as jsonschema's ValidationError does.
func (e *verr) String() string {
	sp, ip := "", ""
	for _, s := range e.schemaPath {
		sp += "[" + s + "]"
	}
	for _, s := range e.instPath {
		ip += "[" + s + "]"
	}
	return e.msg + "\n\nFailed validating '" + e.keyword + "' in schema" + sp + "\n\nOn instance" + ip + ":\n    " + repr(e.value)
}

func quoted(s string) string { return "'" + s + "'" }

// object is a JSON object schema.
type object struct {
	props    map[string]schema
	required []string
	// patterns apply to keys matching them; keys matching neither props nor
	// a pattern are refused unless additional is set.
	patterns   []pattern
	additional bool
	minProps   int
}

type pattern struct {
	re *regexp.Regexp
	s  schema
}

func (o object) check(v any) *verr {
	m, ok := v.(map[string]any)
	if !ok {
		return typeErr(v, "object")
	}
	if len(m) < o.minProps {
		return fail(v, "minProperties", repr(v)+" does not have enough properties")
	}
	for _, k := range o.required {
		if _, ok := m[k]; !ok {
			return fail(v, "required", quoted(k)+" is a required property")
		}
	}
	var extra []string
	for _, k := range sortedMapKeys(m) {
		matched := false
		if s, ok := o.props[k]; ok {
			matched = true
			if e := s.check(m[k]); e != nil {
				return e.under([]string{"'properties'", quoted(k)}, quoted(k))
			}
		}
		for _, p := range o.patterns {
			if p.re.MatchString(k) {
				matched = true
				if e := p.s.check(m[k]); e != nil {
					return e.under([]string{"'patternProperties'", quoted(p.re.String())}, quoted(k))
				}
			}
		}
		if !matched && !o.additional {
			extra = append(extra, quoted(k))
		}
	}
	if len(extra) == 0 {
		return nil
	}
	if len(o.patterns) > 0 {
		verb := " does"
		if len(extra) > 1 {
			verb = " do"
		}
		res := make([]string, len(o.patterns))
		for i, p := range o.patterns {
			res[i] = quoted(p.re.String())
		}
		sort.Strings(res)
		return fail(v, "additionalProperties", strings.Join(extra, ", ")+verb+" not match any of the regexes: "+strings.Join(res, ", "))
	}
	if len(extra) == 1 {
		return fail(v, "additionalProperties", "Additional properties are not allowed ("+extra[0]+" was unexpected)")
	}
	return fail(v, "additionalProperties", "Additional properties are not allowed ("+strings.Join(extra, ", ")+" were unexpected)")
}

// str is a JSON string schema.
type str struct {
	minLen, maxLen int // maxLen 0: no bound
	re             *regexp.Regexp
	uuid           bool
	enum           []string
}

func (s str) check(v any) *verr {
	x, ok := v.(string)
	if !ok {
		return typeErr(v, "string")
	}
	n := len([]rune(x))
	switch {
	case n < s.minLen:
		return fail(v, "minLength", repr(v)+" is too short")
	case s.maxLen > 0 && n > s.maxLen:
		return fail(v, "maxLength", repr(v)+" is too long")
	case s.re != nil && !s.re.MatchString(x):
		return fail(v, "pattern", repr(v)+" does not match "+quoted(s.re.String()))
	case s.uuid && !isUUIDLike(x):
		return fail(v, "format", repr(v)+" is not a 'uuid'")
	}
	if s.enum != nil && !contains(s.enum, x) {
		q := make([]string, len(s.enum))
		for i, e := range s.enum {
			q[i] = quoted(e)
		}
		return fail(v, "enum", repr(v)+" is not one of ["+strings.Join(q, ", ")+"]")
	}
	return nil
}

// integer is a JSON integer schema; nullable also accepts null.
type integer struct {
	nullable       bool
	hasMin, hasMax bool
	minV, maxV     int64
}

func intRange(min, max int64) integer {
	return integer{hasMin: true, minV: min, hasMax: true, maxV: max}
}

func (s integer) check(v any) *verr {
	if v == nil && s.nullable {
		return nil
	}
	n, ok := v.(json.Number)
	if !ok || strings.ContainsAny(n.String(), ".eE") {
		if s.nullable {
			return fail(v, "type", repr(v)+" is not of type 'integer', 'null'")
		}
		return typeErr(v, "integer")
	}
	i, err := n.Int64()
	if err != nil {
		if s.hasMax {
			return fail(v, "maximum", n.String()+" is greater than the maximum of "+fmt.Sprint(s.maxV))
		}
		return typeErr(v, "integer")
	}
	switch {
	case s.hasMin && i < s.minV:
		return fail(v, "minimum", n.String()+" is less than the minimum of "+fmt.Sprint(s.minV))
	case s.hasMax && i > s.maxV:
		return fail(v, "maximum", n.String()+" is greater than the maximum of "+fmt.Sprint(s.maxV))
	}
	return nil
}

// number is a JSON number schema.
type number struct{ max float64 }

func (s number) check(v any) *verr {
	n, ok := v.(json.Number)
	if !ok {
		return typeErr(v, "number")
	}
	f, err := n.Float64()
	if err != nil || math.IsInf(f, 0) || f > s.max {
		return fail(v, "maximum", n.String()+" is greater than the maximum of "+fmt.Sprint(s.max))
	}
	return nil
}

// array is a JSON array schema.
type array struct {
	items    schema
	minItems int
	unique   bool
}

func (s array) check(v any) *verr {
	a, ok := v.([]any)
	if !ok {
		return typeErr(v, "array")
	}
	if len(a) < s.minItems {
		return fail(v, "minItems", repr(v)+" is too short")
	}
	seen := map[string]bool{}
	for i, e := range a {
		if err := s.items.check(e); err != nil {
			return err.under([]string{"'items'"}, fmt.Sprint(i))
		}
		if s.unique {
			k := repr(e)
			if seen[k] {
				return fail(v, "uniqueItems", repr(v)+" has non-unique elements")
			}
			seen[k] = true
		}
	}
	return nil
}

// nullable accepts null or what s accepts.
type nullable struct{ s schema }

func (n nullable) check(v any) *verr {
	if v == nil {
		return nil
	}
	if n.s.check(v) != nil {
		return fail(v, "anyOf", repr(v)+" is not valid under any of the given schemas")
	}
	return nil
}

func typeErr(v any, want string) *verr {
	return fail(v, "type", repr(v)+" is not of type "+quoted(want))
}

// repr prints a JSON value as Python would in jsonschema's messages.
func repr(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		if x {
			return "True"
		}
		return "False"
	case string:
		return "'" + x + "'"
	case json.Number:
		return x.String()
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = repr(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		parts := make([]string, 0, len(x))
		for _, k := range sortedMapKeys(x) {
			parts = append(parts, "'"+k+"': "+repr(x[k]))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return fmt.Sprint(v)
}

func sortedMapKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// isUUIDLike is oslo's is_uuid_like: any spelling Python's uuid.UUID reads
// (dashes optional, any case, braces or urn prefix).
func isUUIDLike(s string) bool {
	_, err := uuid.Parse(s)
	if err == nil {
		return true
	}
	if len(s) == 32 {
		_, err = uuid.Parse(s[:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:])
		return err == nil
	}
	return false
}

// canonicalUUID returns the dashed lowercase form of a uuid-like string.
func canonicalUUID(s string) string {
	if u, err := uuid.Parse(s); err == nil {
		return u.String()
	}
	if len(s) == 32 {
		if u, err := uuid.Parse(s[:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:]); err == nil {
			return u.String()
		}
	}
	return s
}

// Patterns of placement's schemas/common.py.
var (
	uuidKey    = regexp.MustCompile(`^[0-9a-fA-F-]{36}$`)
	rcPattern  = regexp.MustCompile(`^[A-Z0-9_]+$`)
	customName = regexp.MustCompile(`^CUSTOM_[A-Z0-9_]+$`)
	suffix133  = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)
)
