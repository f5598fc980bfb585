package placementhttp

import (
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/nimbus-cloud/nimbus/internal/api"
	"github.com/nimbus-cloud/nimbus/internal/placement"
)

// queryParams describes the query keys a route accepts: exact names and
// patterns (granular request keys); anything else is refused, as placement's
// query schemas refuse additional properties.
type queryParams struct {
	names    map[string]schema
	patterns []pattern
}

// validate checks the query string, using the last value of repeated keys
// as placement's schema check sees them.
func (qp queryParams) validate(q url.Values) error {
	var extra []string
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		val := q[k][len(q[k])-1]
		s, ok := qp.names[k]
		if !ok {
			for _, p := range qp.patterns {
				if p.re.MatchString(k) {
					s, ok = p.s, true
					break
				}
			}
		}
		if !ok {
			extra = append(extra, "'"+k+"'")
			continue
		}
		if s == nil {
			continue
		}
		if e := s.check(val); e != nil {
			return api.BadRequest("Invalid query string parameters: %s", e)
		}
	}
	if len(extra) == 0 {
		return nil
	}
	if len(qp.patterns) > 0 {
		verb := "does"
		if len(extra) > 1 {
			verb = "do"
		}
		res := make([]string, len(qp.patterns))
		for i, p := range qp.patterns {
			res[i] = quoted(p.re.String())
		}
		sort.Strings(res)
		return api.BadRequest("Invalid query string parameters: %s %s not match any of the regexes: %s",
			strings.Join(extra, ", "), verb, strings.Join(res, ", "))
	}
	if len(extra) == 1 {
		return api.BadRequest("Invalid query string parameters: Additional properties are not allowed (%s was unexpected)", extra[0])
	}
	return api.BadRequest("Invalid query string parameters: Additional properties are not allowed (%s were unexpected)",
		strings.Join(extra, ", "))
}

var anyString = str{}

// parseResources reads "VCPU:2,MEMORY_MB:1024" (placement's
// normalize_resources_qs_param).
func parseResources(val string) (map[string]int64, error) {
	const form = "Badly formed resources parameter. Expected resources query string parameter in form: " +
		"?resources=VCPU:2,MEMORY_MB:1024. Got: "
	if strings.TrimSpace(val) == "" {
		return nil, api.BadRequest("%sempty string.", form)
	}
	out := map[string]int64{}
	for _, part := range strings.Split(val, ",") {
		name, amount, ok := strings.Cut(part, ":")
		if !ok || strings.Contains(amount, ":") {
			return nil, api.BadRequest("%s%s.", form, part)
		}
		n, err := strconv.ParseInt(strings.TrimSpace(amount), 10, 64)
		if err != nil {
			return nil, api.BadRequest("Requested resource %s expected positive integer amount. Got: %s.", name, amount)
		}
		if n < 1 {
			return nil, api.BadRequest("Requested resource %s requires amount >= 1. Got: %d.", name, n)
		}
		out[name] = n
	}
	return out, nil
}

// traitQuery is a parsed required parameter: any-of lists and forbidden traits.
type traitQuery struct {
	required  [][]string
	forbidden []string
}

// parseTraits reads the values of one required key (placement's
// normalize_traits_qs_params): "T1,!T2" and, from 1.39, "in:T3,T4" and
// repeated keys; before 1.39 only the last value counts.
func parseTraits(values []string, v api.Version) (traitQuery, error) {
	allowForbidden, allowAny := v.AtLeast(mv(22)), v.AtLeast(mv(39))
	if !allowAny && len(values) > 1 {
		values = values[len(values)-1:]
	}
	var tq traitQuery
	for _, val := range values {
		if rest, ok := strings.CutPrefix(val, "in:"); ok {
			if !allowAny {
				return tq, api.BadRequest("Invalid query string parameters: The format 'in:HW_CPU_X86_VMX,CUSTOM_MAGIC' "+
					"only supported since microversion 1.39. Got: %s", val)
			}
			anyOf := trimAll(strings.Split(rest, ","))
			for _, t := range anyOf {
				if t == "" {
					return tq, api.BadRequest("Invalid query string parameters: Expected 'required' parameter value of the "+
						"form: in:HW_CPU_X86_VMX,CUSTOM_MAGIC. Got an empty trait in: %s", val)
				}
				if strings.HasPrefix(t, "!") {
					return tq, api.BadRequest("Invalid query string parameters: The format 'in:HW_CPU_X86_VMX,CUSTOM_MAGIC' "+
						"does not support forbidden traits. Got: %s", val)
				}
			}
			tq.required = append(tq.required, uniqueStrings(anyOf))
			continue
		}
		expected := "HW_CPU_X86_VMX,CUSTOM_MAGIC"
		if allowForbidden {
			expected = "HW_CPU_X86_VMX,!CUSTOM_MAGIC"
		}
		for _, t := range trimAll(strings.Split(val, ",")) {
			name := strings.TrimLeft(t, "!")
			if name == "" {
				return tq, api.BadRequest("Invalid query string parameters: Expected 'required' parameter value of the "+
					"form: %s. Got an empty trait in: %s", expected, val)
			}
			if name != t {
				if !allowForbidden {
					return tq, api.BadRequest("Invalid query string parameters: Expected 'required' parameter value of "+
						"the form: HW_CPU_X86_VMX,CUSTOM_MAGIC. Got: %s", val)
				}
				tq.forbidden = append(tq.forbidden, name)
				continue
			}
			tq.required = append(tq.required, []string{t})
		}
	}
	tq.forbidden = uniqueStrings(tq.forbidden)
	return tq, nil
}

func trimAll(in []string) []string {
	for i := range in {
		in[i] = strings.TrimSpace(in[i])
	}
	return in
}

func uniqueStrings(in []string) []string {
	seen := map[string]bool{}
	out := in[:0:0]
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

// aggQuery is parsed member_of parameters.
type aggQuery struct {
	memberOf  [][]string
	forbidden []string
}

// parseMemberOf reads the values of one member_of key (placement's
// normalize_member_of_qs_params): "agg", "in:a,b", "!agg" (1.32), "!in:a,b"
// (1.32), repeated keys from 1.24.
func parseMemberOf(key string, values []string, v api.Version) (aggQuery, error) {
	var aq aggQuery
	if !v.AtLeast(mv(24)) && len(values) > 1 {
		return aq, api.BadRequest("Multiple %s parameters are not supported", key)
	}
	for _, val := range values {
		if strings.Contains(val, ",") && !strings.HasPrefix(val, "in:") && !strings.HasPrefix(val, "!in:") {
			return aq, api.BadRequest("Multiple values for 'member_of' must be prefixed with the 'in:' or '!in:' keyword "+
				"using the valid microversion. Got: %s", val)
		}
		var list []string
		forbid := false
		switch {
		case strings.HasPrefix(val, "!in:"):
			list, forbid = strings.Split(val[4:], ","), true
		case strings.HasPrefix(val, "!"):
			list, forbid = []string{val[1:]}, true
		case strings.HasPrefix(val, "in:"):
			list = strings.Split(val[3:], ",")
		default:
			list = []string{val}
		}
		for _, u := range list {
			if !isUUIDLike(u) {
				return aq, api.BadRequest("Invalid query string parameters: Expected 'member_of' parameter to contain valid "+
					"UUID(s). Got: %s", u)
			}
		}
		if forbid {
			if !v.AtLeast(mv(32)) {
				return aq, api.BadRequest("Forbidden %s parameters are not supported in the specified microversion", key)
			}
			aq.forbidden = append(aq.forbidden, list...)
			continue
		}
		aq.memberOf = append(aq.memberOf, uniqueStrings(list))
	}
	aq.forbidden = uniqueStrings(aq.forbidden)
	return aq, nil
}

// parseInTree reads an in_tree value: a provider uuid.
func parseInTree(val string) (string, error) {
	s := strings.TrimSpace(val)
	if !isUUIDLike(s) {
		return "", api.BadRequest("Invalid query string parameters: Expected 'in_tree' parameter to be a format of uuid. Got: %s", val)
	}
	return s, nil
}

// badQuery returns a coded 400 for a query parameter.
func badQuery(code, format string, args ...any) error {
	return placement.BadQuery(code, format, args...)
}

// groupKey matches granular keys: resources, required, member_of and
// in_tree with an optional suffix (digits before 1.33).
var (
	groupKey125 = regexp.MustCompile(`^(resources|required|member_of|in_tree)([1-9][0-9]*)?$`)
	groupKey133 = regexp.MustCompile(`^(resources|required|member_of|in_tree)([a-zA-Z0-9_-]{1,64})?$`)
)

// values returns every value of a key, in order.
func values(r *http.Request, key string) []string { return r.URL.Query()[key] }
