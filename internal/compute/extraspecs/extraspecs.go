// Package extraspecs knows the flavor extra specs nova knows and checks their
// values, as nova's API does from microversion 2.86: a known key must have a
// valid value, a key in a known namespace ("hw:", "trait:", ...) must be one
// of that namespace's keys, and keys of other namespaces, or none, pass
// unchecked so that operators' own scheduler filters keep working.
package extraspecs

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// kind is the type of an extra spec's value.
type kind uint8

const (
	kindString kind = iota
	kindInt
	kindBool
)

// param is a placeholder in a spec's name, "{num}" in "hw:numa_cpus.{num}",
// with the pattern it stands for.
type param struct{ name, pattern string }

// spec describes one extra spec (nova's ExtraSpecValidator).
type spec struct {
	// name is the key, with {param} placeholders.
	name   string
	kind   kind
	enum   []string
	format string // a regular expression the whole value must match
	min    *int
	max    *int
	params []param

	nameRE  *regexp.Regexp
	valueRE *regexp.Regexp
}

// Registry is the set of known extra specs.
type Registry struct {
	exact      map[string]*spec
	all        []*spec
	namespaces []*regexp.Regexp
}

// Default is the registry of every extra spec nova validates.
var Default = New(knownSpecs())

// New compiles specs into a Registry; it panics on a bad pattern, which is a
// programming error in the table.
func New(specs []spec) *Registry {
	r := &Registry{exact: map[string]*spec{}}
	seen := map[string]bool{}
	for i := range specs {
		s := &specs[i]
		nameRE := s.name
		for _, p := range s.params {
			nameRE = strings.ReplaceAll(nameRE, "{"+p.name+"}", "(?P<"+p.name+">"+p.pattern+")")
		}
		// Nova matches the name with its placeholders replaced and nothing
		// else escaped: the "." of "hw:numa_cpus.{num}" matches any character.
		s.nameRE = regexp.MustCompile("^(?:" + nameRE + ")$")
		if s.format != "" {
			s.valueRE = regexp.MustCompile("^(?:" + s.format + ")$")
		}
		r.exact[s.name] = s
		r.all = append(r.all, s)
		if ns, _, ok := strings.Cut(nameRE, ":"); ok && !seen[ns] {
			seen[ns] = true
			r.namespaces = append(r.namespaces, regexp.MustCompile("^(?:"+ns+")$"))
		}
	}
	return r
}

// ValidationError says why an extra spec is refused, in nova's words.
type ValidationError struct{ Message string }

func (e *ValidationError) Error() string { return e.Message }

func invalid(format string, args ...any) error {
	return &ValidationError{Message: fmt.Sprintf(format, args...)}
}

// Validate checks one extra spec. It returns a *ValidationError for a known
// key with a bad value and for an unknown key in a known namespace, and nil
// for everything else.
func (r *Registry) Validate(name, value string) error {
	if s, ok := r.exact[name]; ok {
		return s.validate(value)
	}
	for _, s := range r.all {
		if s.nameRE.MatchString(name) {
			return s.validate(value)
		}
	}
	ns, _, ok := strings.Cut(name, ":")
	if !ok {
		return nil
	}
	for _, re := range r.namespaces {
		if re.MatchString(ns) {
			return invalid("Validation failed; extra spec '%s' does not appear to be a valid extra spec.", name)
		}
	}
	return nil
}

func (s *spec) validate(value string) error {
	switch s.kind {
	case kindInt:
		return s.validateInt(value)
	case kindBool:
		if _, ok := ParseBool(value); !ok {
			return invalid("Validation failed; '%s' is not a valid boolean-like value.", value)
		}
		return nil
	}
	switch {
	case s.valueRE != nil:
		if !s.valueRE.MatchString(value) {
			return invalid("Validation failed; '%s' is not of the format '%s'.", value, s.format)
		}
	case s.enum != nil:
		for _, e := range s.enum {
			if e == value {
				return nil
			}
		}
		return invalid("Validation failed; '%s' is not one of: %s.", value, strings.Join(s.enum, ", "))
	}
	return nil
}

func (s *spec) validateInt(value string) error {
	n, err := strconv.Atoi(strings.TrimSpace(value))
	if err != nil {
		return invalid("Validation failed; '%s' is not a valid integer value.", value)
	}
	if s.max != nil && n > *s.max {
		return invalid("Validation failed; '%d' is greater than the max value of '%d'.", n, *s.max)
	}
	if s.min != nil && n < *s.min {
		return invalid("Validation failed; '%d' is less than the min value of '%d'.", n, *s.min)
	}
	return nil
}

// ParseBool reads a boolean the way oslo's strict bool_from_string does:
// 1/t/true/on/y/yes and 0/f/false/off/n/no, in any case.
func ParseBool(s string) (value, ok bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "t", "true", "on", "y", "yes":
		return true, true
	case "0", "f", "false", "off", "n", "no":
		return false, true
	}
	return false, false
}
