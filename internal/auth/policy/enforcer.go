package policy

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Options configure an Enforcer.
type Options struct {
	// PolicyFile names an oslo-format YAML or JSON file whose rules replace
	// the defaults of the same name; empty means the defaults alone.
	PolicyFile string
	// EnforceScope refuses a token whose scope is not among the rule's ScopeTypes.
	EnforceScope bool
}

// Enforcer decides requests against parsed rules; it is immutable after New
// and safe for concurrent use.
type Enforcer struct {
	rules        map[string]*rule
	enforceScope bool
}

// rule is a registered rule with its effective check.
type rule struct {
	def    Default // Check holds the effective check string
	expr   *Expr
	origin string // the policy file that set the check, empty for a default
}

// New builds an Enforcer from registered defaults and the overrides of
// opts.PolicyFile. It fails on a duplicate default, a check that does not
// parse, a reference to an undefined rule or a reference cycle, naming the
// rule and, for an override, the file.
func New(defaults []Default, opts Options) (*Enforcer, error) {
	e := &Enforcer{rules: make(map[string]*rule, len(defaults)), enforceScope: opts.EnforceScope}
	for _, d := range defaults {
		if err := e.register(d); err != nil {
			return nil, err
		}
	}
	if opts.PolicyFile != "" {
		overrides, err := readPolicyFile(opts.PolicyFile)
		if err != nil {
			return nil, err
		}
		if err := e.override(opts.PolicyFile, overrides); err != nil {
			return nil, err
		}
	}
	if err := e.link(); err != nil {
		return nil, err
	}
	return e, nil
}

func (e *Enforcer) register(d Default) error {
	if d.Name == "" {
		return fmt.Errorf("%w: default with check %q has no name", ErrInvalidRule, d.Check)
	}
	if _, dup := e.rules[d.Name]; dup {
		return fmt.Errorf("%w: default %q registered twice", ErrInvalidRule, d.Name)
	}
	for _, s := range d.ScopeTypes {
		if s != ScopeSystem && s != ScopeDomain && s != ScopeProject {
			return fmt.Errorf("%w: default %q: unknown scope type %q", ErrInvalidRule, d.Name, s)
		}
	}
	expr, err := Parse(d.Check)
	if err != nil {
		return fmt.Errorf("default %q: %w", d.Name, err)
	}
	d.ScopeTypes = slices.Clone(d.ScopeTypes)
	e.rules[d.Name] = &rule{def: d, expr: expr}
	return nil
}

// override applies file rules; a rule absent from the defaults is added
// without scope types, as oslo.policy does.
func (e *Enforcer) override(file string, checks map[string]string) error {
	for _, name := range slices.Sorted(maps.Keys(checks)) {
		check := checks[name]
		expr, err := Parse(check)
		if err != nil {
			return fmt.Errorf("policy file %s: rule %q: %w", file, name, err)
		}
		r, ok := e.rules[name]
		if !ok {
			r = &rule{def: Default{Name: name}}
			e.rules[name] = r
		}
		r.def.Check = check
		r.expr = expr
		r.origin = file
	}
	return nil
}

// link points every rule: reference at the referenced rule's tree and
// refuses undefined references and cycles.
func (e *Enforcer) link() error {
	names := slices.Sorted(maps.Keys(e.rules))
	deps := make(map[string][]string, len(names))
	for _, name := range names {
		r := e.rules[name]
		var err error
		walk(r.expr.root, func(n *node) {
			if n.op != opRule || err != nil {
				return
			}
			to, ok := e.rules[n.name]
			if !ok {
				err = fmt.Errorf("%w: rule %q references undefined rule %q", ErrInvalidRule, name, n.name)
				return
			}
			n.ref = to.expr.root
			deps[name] = append(deps[name], n.name)
		})
		if err != nil {
			if r.origin != "" {
				return fmt.Errorf("policy file %s: %w", r.origin, err)
			}
			return err
		}
	}
	return findCycle(names, deps)
}

func walk(n *node, visit func(*node)) {
	visit(n)
	for _, k := range n.kids {
		walk(k, visit)
	}
}

// findCycle reports the first reference cycle among rules, by depth-first search.
func findCycle(names []string, deps map[string][]string) error {
	const (
		unseen = iota
		open
		done
	)
	state := make(map[string]int, len(names))
	var stack []string
	var visit func(string) error
	visit = func(name string) error {
		switch state[name] {
		case open:
			i := slices.Index(stack, name)
			chain := strings.Join(slices.Concat(stack[i:], []string{name}), " -> ")
			return fmt.Errorf("%w: rule %q: reference cycle %s", ErrInvalidRule, name, chain)
		case done:
			return nil
		}
		state[name] = open
		stack = append(stack, name)
		for _, d := range deps[name] {
			if err := visit(d); err != nil {
				return err
			}
		}
		stack = stack[:len(stack)-1]
		state[name] = done
		return nil
	}
	for _, name := range names {
		if err := visit(name); err != nil {
			return err
		}
	}
	return nil
}

// verdict is the outcome of a decision before it is dressed as an error.
type verdict uint8

const (
	allow verdict = iota
	deny
	wrongScope
	unknownRule
)

func (e *Enforcer) decide(name string, target Target, creds *Credentials) (verdict, *rule) {
	r, ok := e.rules[name]
	if !ok {
		return unknownRule, nil
	}
	if e.enforceScope && len(r.def.ScopeTypes) > 0 && !slices.Contains(r.def.ScopeTypes, creds.scope()) {
		return wrongScope, r
	}
	if !r.expr.root.eval(target, creds) {
		return deny, r
	}
	return allow, r
}

// Enforce returns nil when rule name allows creds to act on target. A denial
// wraps ErrForbidden (and ErrInvalidScope for a token of the wrong scope)
// and names the rule; a name nobody registered wraps ErrUnknownRule.
func (e *Enforcer) Enforce(name string, target Target, creds Credentials) error {
	v, r := e.decide(name, target, &creds)
	switch v {
	case unknownRule:
		return fmt.Errorf("%w %q", ErrUnknownRule, name)
	case wrongScope:
		return fmt.Errorf("rule %s requires a %s scope, token is %s-scoped: %w: %w",
			name, strings.Join(r.def.ScopeTypes, " or "), creds.scope(), ErrInvalidScope, ErrForbidden)
	case deny:
		return fmt.Errorf("rule %s: %w", name, ErrForbidden)
	}
	return nil
}

// Allowed reports whether Enforce would return nil, without building an error.
func (e *Enforcer) Allowed(name string, target Target, creds Credentials) bool {
	v, _ := e.decide(name, target, &creds)
	return v == allow
}

// Rules returns the effective rules, sorted by name, with overridden checks.
func (e *Enforcer) Rules() []Default {
	out := make([]Default, 0, len(e.rules))
	for _, name := range slices.Sorted(maps.Keys(e.rules)) {
		d := e.rules[name].def
		d.ScopeTypes = slices.Clone(d.ScopeTypes)
		out = append(out, d)
	}
	return out
}
