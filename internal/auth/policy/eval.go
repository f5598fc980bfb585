package policy

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// eval reports whether the check tree rooted at n accepts the request.
// It allocates nothing for string, bool and nil target values.
func (n *node) eval(t Target, c *Credentials) bool {
	switch n.op {
	case opTrue:
		return true
	case opAnd:
		for _, k := range n.kids {
			if !k.eval(t, c) {
				return false
			}
		}
		return true
	case opOr:
		for _, k := range n.kids {
			if k.eval(t, c) {
				return true
			}
		}
		return false
	case opNot:
		return !n.kids[0].eval(t, c)
	case opRule:
		// An unlinked reference fails closed, as oslo.policy does.
		return n.ref != nil && n.ref.eval(t, c)
	case opRole:
		want, ok := n.match.render(t)
		if !ok {
			return false
		}
		for _, r := range c.Roles {
			if strings.EqualFold(r, want) {
				return true
			}
		}
		return false
	case opAttr:
		return n.evalAttr(t, c)
	case opLiteral:
		v, ok := n.match.render(t)
		return ok && v == n.lit
	default: // opFalse
		return false
	}
}

func (n *node) evalAttr(t Target, c *Credentials) bool {
	if n.attr.isList() {
		want, ok := n.match.render(t)
		if !ok {
			return false
		}
		for _, r := range c.Roles {
			if r == want {
				return true
			}
		}
		return false
	}
	have, pr := c.value(n.attr)
	switch pr {
	case absent:
		return false
	case null:
		// Python's None prints as "None"; only a literal may name it, so
		// that an empty credential never equals a null target field.
		return n.match.parts == nil && n.match.lit == "None"
	}
	want, ok := n.match.render(t)
	return ok && want == have
}

// template is the right side of a check: a literal, or text with
// %(dotted.path)s substitutions taken from the target.
type template struct {
	raw   string // as written, for String
	lit   string // the value when parts is nil
	parts []part
}

// part is a literal piece of a template, or a substitution when path is set.
type part struct {
	lit  string
	path *path
}

// render substitutes the target into the template. It reports false when a
// substituted key is missing or holds a value with no scalar form, which
// makes the check fail as a KeyError does in oslo.policy.
func (m *template) render(t Target) (string, bool) {
	if m.parts == nil {
		return m.lit, true
	}
	if len(m.parts) == 1 && m.parts[0].path != nil {
		v, ok := m.parts[0].path.lookup(t)
		if !ok {
			return "", false
		}
		return pyString(v)
	}
	var b strings.Builder
	for _, p := range m.parts {
		if p.path == nil {
			b.WriteString(p.lit)
			continue
		}
		v, ok := p.path.lookup(t)
		if !ok {
			return "", false
		}
		s, ok := pyString(v)
		if !ok {
			return "", false
		}
		b.WriteString(s)
	}
	return b.String(), true
}

// parseTemplate parses the value of a check. Surrounding quotes are dropped,
// "%%" stands for "%", and "%(name)s" is substituted from the target.
func parseTemplate(v string) (template, error) {
	raw := v
	if isQuoted(v) {
		v = v[1 : len(v)-1]
	}
	if !strings.Contains(v, "%") {
		return template{raw: raw, lit: v}, nil
	}
	var parts []part
	var lit strings.Builder
	for i := 0; i < len(v); {
		switch {
		case v[i] != '%':
			lit.WriteByte(v[i])
			i++
			continue
		case strings.HasPrefix(v[i:], "%%"):
			lit.WriteByte('%')
			i += 2
			continue
		case !strings.HasPrefix(v[i:], "%("):
			return template{}, fmt.Errorf("bad substitution in %q: want %%(name)s", v)
		}
		end := strings.IndexByte(v[i:], ')')
		if end < 0 || i+end+1 >= len(v) || v[i+end+1] != 's' {
			return template{}, fmt.Errorf("bad substitution in %q: want %%(name)s", v)
		}
		name := v[i+2 : i+end]
		if name == "" {
			return template{}, fmt.Errorf("empty substitution in %q", v)
		}
		if lit.Len() > 0 {
			parts = append(parts, part{lit: lit.String()})
			lit.Reset()
		}
		parts = append(parts, part{path: newPath(name)})
		i += end + 2
	}
	if parts == nil {
		// Only "%%" escapes: still a literal.
		return template{raw: raw, lit: lit.String()}, nil
	}
	if lit.Len() > 0 {
		parts = append(parts, part{lit: lit.String()})
	}
	return template{raw: raw, parts: parts}, nil
}

// path is a dotted key into the target, split once at parse time.
type path struct {
	segs  []string
	tails []string // tails[i] joins segs[i:] with dots, for flattened keys
}

func newPath(name string) *path {
	segs := strings.Split(name, ".")
	tails := make([]string, len(segs))
	for i := range segs {
		tails[i] = strings.Join(segs[i:], ".")
	}
	return &path{segs: segs, tails: tails}
}

// lookup walks nested maps segment by segment; where a segment is missing it
// tries the rest of the path as one flattened key.
func (p *path) lookup(t Target) (any, bool) {
	var cur any = map[string]any(t)
	for i, seg := range p.segs {
		v, ok := child(cur, seg)
		if !ok {
			if i+1 < len(p.segs) {
				return child(cur, p.tails[i])
			}
			return nil, false
		}
		cur = v
	}
	return cur, true
}

func child(m any, key string) (any, bool) {
	switch m := m.(type) {
	case map[string]any:
		v, ok := m[key]
		return v, ok
	case Target:
		v, ok := m[key]
		return v, ok
	case map[string]string:
		v, ok := m[key]
		return v, ok
	}
	return nil, false
}

// pyString renders a scalar as Python's str() would; maps, slices and other
// composite values have no form a check can compare.
func pyString(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case bool:
		if v {
			return "True", true
		}
		return "False", true
	case nil:
		return "None", true
	case int:
		return strconv.Itoa(v), true
	case int64:
		return strconv.FormatInt(v, 10), true
	case int32:
		return strconv.FormatInt(int64(v), 10), true
	case uint:
		return strconv.FormatUint(uint64(v), 10), true
	case uint64:
		return strconv.FormatUint(v, 10), true
	case uint32:
		return strconv.FormatUint(uint64(v), 10), true
	case float64:
		return pythonFloat(v), true
	case float32:
		return pythonFloat(float64(v)), true
	case json.Number:
		return v.String(), true
	case fmt.Stringer:
		return v.String(), true
	}
	return "", false
}

// pythonFloat prints a float as Python does, except that an integral value
// prints as an integer, matching the int a JSON decoder yields in Python.
func pythonFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case f == math.Trunc(f) && math.Abs(f) < 1e16:
		return strconv.FormatInt(int64(f), 10)
	case math.Abs(f) >= 1e-4 && math.Abs(f) < 1e16:
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return strconv.FormatFloat(f, 'e', -1, 64)
}
