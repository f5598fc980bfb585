package policy

import (
	"fmt"
	"strconv"
	"strings"
)

// maxDepth bounds the nesting of parentheses and "not" so that a hostile
// policy file cannot exhaust the stack.
const maxDepth = 64

// op is the kind of a node in a parsed rule.
type op uint8

const (
	opTrue    op = iota // "@" or the empty rule
	opFalse             // "!"
	opAnd               // all kids
	opOr                // any kid
	opNot               // not kids[0]
	opRule              // rule:NAME
	opRole              // role:NAME, case-insensitive
	opAttr              // credential attribute compared with match
	opLiteral           // Python literal compared with match
)

// node is one check of a parsed rule. Rule references are linked to the
// referenced rule's root by the Enforcer.
type node struct {
	op    op
	kids  []*node
	kind  string   // text left of the colon, kept for String
	name  string   // opRule: referenced rule name
	ref   *node    // opRule: root of the referenced rule, nil until linked
	attr  attrID   // opAttr
	lit   string   // opLiteral: the literal as Python prints it
	match template // opRole, opAttr, opLiteral
}

// Expr is a parsed rule. The Enforcer parses each rule once and evaluates
// the tree on every call; Parse on its own validates and normalises a rule.
type Expr struct {
	root *node
}

// Parse parses a rule written in the oslo.policy language.
func Parse(rule string) (*Expr, error) {
	if rule == "" {
		return &Expr{root: &node{op: opTrue}}, nil
	}
	toks, err := tokenize(rule)
	if err != nil {
		return nil, fmt.Errorf("%w %q: %w", ErrInvalidRule, rule, err)
	}
	p := parser{toks: toks}
	root, err := p.parseOr(0)
	if err == nil && p.pos < len(p.toks) {
		err = p.unexpected()
	}
	if err != nil {
		return nil, fmt.Errorf("%w %q: %w", ErrInvalidRule, rule, err)
	}
	return &Expr{root: root}, nil
}

// String renders the rule in canonical form: operators in lower case and each
// and/or group in parentheses, as oslo.policy prints a check tree.
func (e *Expr) String() string {
	var b strings.Builder
	e.root.write(&b)
	return b.String()
}

func (n *node) write(b *strings.Builder) {
	switch n.op {
	case opTrue:
		b.WriteString("@")
	case opFalse:
		b.WriteString("!")
	case opNot:
		b.WriteString("not ")
		n.kids[0].write(b)
	case opAnd, opOr:
		sep := " and "
		if n.op == opOr {
			sep = " or "
		}
		b.WriteByte('(')
		for i, k := range n.kids {
			if i > 0 {
				b.WriteString(sep)
			}
			k.write(b)
		}
		b.WriteByte(')')
	default:
		b.WriteString(n.kind)
		b.WriteByte(':')
		b.WriteString(n.match.raw)
	}
}

type tokKind uint8

const (
	tokLParen tokKind = iota
	tokRParen
	tokAnd
	tokOr
	tokNot
	tokCheck
)

type token struct {
	kind tokKind
	text string
	node *node // tokCheck
}

// tokenize splits a rule on white space and peels parentheses off the ends of
// each word, as oslo.policy does: parentheses inside a word, as in
// "%(target.id)s", belong to the check.
func tokenize(rule string) ([]token, error) {
	var toks []token
	for _, word := range strings.Fields(rule) {
		clean := strings.TrimLeft(word, "(")
		for range len(word) - len(clean) {
			toks = append(toks, token{kind: tokLParen, text: "("})
		}
		if clean == "" {
			continue
		}
		body := strings.TrimRight(clean, ")")
		if body != "" {
			tok, err := wordToken(body)
			if err != nil {
				return nil, err
			}
			toks = append(toks, tok)
		}
		for range len(clean) - len(body) {
			toks = append(toks, token{kind: tokRParen, text: ")"})
		}
	}
	return toks, nil
}

func wordToken(w string) (token, error) {
	switch strings.ToLower(w) {
	case "and":
		return token{kind: tokAnd, text: w}, nil
	case "or":
		return token{kind: tokOr, text: w}, nil
	case "not":
		return token{kind: tokNot, text: w}, nil
	}
	if isQuoted(w) {
		return token{}, fmt.Errorf("quoted string %s is not a check", w)
	}
	n, err := parseCheck(w)
	if err != nil {
		return token{}, err
	}
	return token{kind: tokCheck, text: w, node: n}, nil
}

// parser is a recursive descent parser with the precedence of oslo.policy's
// reducer: "not" binds tighter than "and", "and" tighter than "or".
type parser struct {
	toks []token
	pos  int
}

func (p *parser) peek() (token, bool) {
	if p.pos >= len(p.toks) {
		return token{}, false
	}
	return p.toks[p.pos], true
}

func (p *parser) unexpected() error {
	t, ok := p.peek()
	switch {
	case !ok:
		return fmt.Errorf("unexpected end of rule")
	case t.kind == tokRParen:
		return fmt.Errorf("unbalanced parentheses: unexpected %q", ")")
	default:
		return fmt.Errorf("unexpected %q", t.text)
	}
}

func (p *parser) parseOr(depth int) (*node, error) {
	return p.parseChain(depth, tokOr, opOr, p.parseAnd)
}

func (p *parser) parseAnd(depth int) (*node, error) {
	return p.parseChain(depth, tokAnd, opAnd, p.parseNot)
}

// parseChain parses operands joined by one operator into a flat n-ary node.
func (p *parser) parseChain(depth int, sep tokKind, o op, operand func(int) (*node, error)) (*node, error) {
	first, err := operand(depth)
	if err != nil {
		return nil, err
	}
	kids := []*node{first}
	for {
		t, ok := p.peek()
		if !ok || t.kind != sep {
			break
		}
		p.pos++
		next, err := operand(depth)
		if err != nil {
			return nil, err
		}
		kids = append(kids, next)
	}
	if len(kids) == 1 {
		return first, nil
	}
	return &node{op: o, kids: kids}, nil
}

func (p *parser) parseNot(depth int) (*node, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("nested deeper than %d", maxDepth)
	}
	t, ok := p.peek()
	if !ok {
		return nil, p.unexpected()
	}
	switch t.kind {
	case tokNot:
		p.pos++
		kid, err := p.parseNot(depth + 1)
		if err != nil {
			return nil, err
		}
		return &node{op: opNot, kids: []*node{kid}}, nil
	case tokLParen:
		p.pos++
		inner, err := p.parseOr(depth + 1)
		if err != nil {
			return nil, err
		}
		if t, ok := p.peek(); !ok || t.kind != tokRParen {
			if !ok {
				return nil, fmt.Errorf("unbalanced parentheses: missing %q", ")")
			}
			return nil, p.unexpected()
		}
		p.pos++
		return inner, nil
	case tokCheck:
		p.pos++
		return t.node, nil
	default:
		return nil, p.unexpected()
	}
}

// parseCheck parses one KIND:VALUE word (or "@", "!").
func parseCheck(w string) (*node, error) {
	switch w {
	case "@":
		return &node{op: opTrue}, nil
	case "!":
		return &node{op: opFalse}, nil
	}
	kind, value, ok := strings.Cut(w, ":")
	if !ok || kind == "" {
		return nil, fmt.Errorf("malformed check %q: want KIND:VALUE", w)
	}
	switch kind {
	case "http", "https":
		// oslo.policy's remote HTTP check: a policy decision must not wait on
		// another server, so such rules are refused when loaded.
		return nil, fmt.Errorf("check kind %q is not supported: remote checks are not allowed", kind)
	case "rule":
		if value == "" {
			return nil, fmt.Errorf("check %q names no rule", w)
		}
		return &node{op: opRule, kind: kind, name: value, match: template{raw: value}}, nil
	}
	match, err := parseTemplate(value)
	if err != nil {
		return nil, fmt.Errorf("check %q: %w", w, err)
	}
	if kind == "role" {
		return &node{op: opRole, kind: kind, match: match}, nil
	}
	if lit, ok := pythonLiteral(kind); ok {
		return &node{op: opLiteral, kind: kind, lit: lit, match: match}, nil
	}
	id, ok := attrByName[kind]
	if !ok {
		return nil, fmt.Errorf("unknown check kind %q in %q: want rule, role, a credential attribute or a literal", kind, w)
	}
	return &node{op: opAttr, kind: kind, attr: id, match: match}, nil
}

func isQuoted(s string) bool {
	return len(s) >= 2 && (s[0] == '\'' || s[0] == '"') && s[len(s)-1] == s[0]
}

// pythonLiteral recognises the left side of a reversed check such as
// 'manager':%(target.role.name)s and returns it as Python's str() prints it.
func pythonLiteral(s string) (string, bool) {
	if isQuoted(s) {
		return s[1 : len(s)-1], true
	}
	switch s {
	case "True", "False", "None":
		return s, true
	}
	if digits := strings.TrimLeft(s, "+-"); digits == "" || !(digits[0] >= '0' && digits[0] <= '9' || digits[0] == '.') {
		return "", false
	}
	if i, err := strconv.ParseInt(s, 0, 64); err == nil {
		return strconv.FormatInt(i, 10), true
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return pythonFloat(f), true
	}
	return "", false
}
