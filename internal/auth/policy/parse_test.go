package policy

import (
	"errors"
	"strings"
	"testing"
)

func TestParseCanonicalForm(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, rule, want string
	}{
		{"empty is always", "", "@"},
		{"always", "@", "@"},
		{"never", "!", "!"},
		{"role", "role:admin", "role:admin"},
		{"and binds tighter than or", "role:a or role:b and role:c", "(role:a or (role:b and role:c))"},
		{"and before or", "role:a and role:b or role:c", "((role:a and role:b) or role:c)"},
		{"chains flatten", "role:a or role:b or role:c and role:d and role:e",
			"(role:a or role:b or (role:c and role:d and role:e))"},
		{"not binds tighter than and", "not role:a and role:b", "(not role:a and role:b)"},
		{"not of a group", "not (role:a or role:b)", "not (role:a or role:b)"},
		{"double not", "not not role:a", "not not role:a"},
		{"parentheses override", "(role:a or role:b) and role:c", "((role:a or role:b) and role:c)"},
		{"nested parentheses", "((role:a or (role:b and (not role:c))))", "(role:a or (role:b and not role:c))"},
		{"operators in any case", "role:a AND role:b Or NOT role:c", "((role:a and role:b) or not role:c)"},
		{"substitution keeps its parentheses", "(user_id:%(target.user.id)s)", "user_id:%(target.user.id)s"},
		{"reverse literal", "'manager':%(target.role.name)s", "'manager':%(target.role.name)s"},
		{"bool literal", "True:%(target.user.enabled)s", "True:%(target.user.enabled)s"},
		{"token attribute", "token.project.domain.id:%(target.domain.id)s", "token.project.domain.id:%(target.domain.id)s"},
		{"rule reference", "rule:admin_required or @", "(rule:admin_required or @)"},
		{"white space", "  role:a \n\tand\trole:b  ", "(role:a and role:b)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, err := Parse(tt.rule)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.rule, err)
			}
			if got := e.String(); got != tt.want {
				t.Errorf("Parse(%q) = %s, want %s", tt.rule, got, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, rule, want string
	}{
		{"missing close", "(role:a or role:b", "unbalanced parentheses"},
		{"extra close", "role:a or role:b)", "unbalanced parentheses"},
		{"close first", ") role:a (", "unbalanced parentheses"},
		{"empty group", "()", "unbalanced parentheses"},
		{"dangling or", "role:a or", "unexpected end of rule"},
		{"leading and", "and role:a", `unexpected "and"`},
		{"dangling not", "role:a and not", "unexpected end of rule"},
		{"two checks", "role:a role:b", `unexpected "role:b"`},
		{"white space only", "   ", "unexpected end of rule"},
		{"http check", "http://policy.example.com/check", `check kind "http"`},
		{"https check", "https:policy.example.com", "not supported"},
		{"unknown kind", "tenant:%(tenant_id)s", `unknown check kind "tenant"`},
		{"typo in kind", "rol:admin", `unknown check kind "rol"`},
		{"no colon", "admin", `malformed check "admin"`},
		{"bare quoted string", "'admin'", "quoted string"},
		{"empty rule name", "rule:", "names no rule"},
		{"bad conversion", "user_id:%(target.user.id)d", "bad substitution"},
		{"unterminated substitution", "user_id:%(target.user.id", "bad substitution"},
		{"bare percent", "user_id:50%", "bad substitution"},
		{"empty substitution", "user_id:%()s", "empty substitution"},
		{"too deep", strings.Repeat("(", 100) + "@" + strings.Repeat(")", 100), "nested deeper"},
		{"deep not", strings.Repeat("not ", 100) + "@", "nested deeper"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, err := Parse(tt.rule)
			if err == nil {
				t.Fatalf("Parse(%q) = %s, want error", tt.rule, e)
			}
			if !errors.Is(err, ErrInvalidRule) {
				t.Errorf("Parse(%q) error %v does not wrap ErrInvalidRule", tt.rule, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse(%q) error %q, want it to mention %q", tt.rule, err, tt.want)
			}
		})
	}
}

func TestParseLiterals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		kind, want string
	}{
		{"'manager'", "manager"},
		{`"reader"`, "reader"},
		{"True", "True"},
		{"False", "False"},
		{"None", "None"},
		{"1", "1"},
		{"-7", "-7"},
		{"0x10", "16"},
		{"2.5", "2.5"},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			t.Parallel()
			n, err := parseCheck(tt.kind + ":x")
			if err != nil {
				t.Fatal(err)
			}
			if n.op != opLiteral || n.lit != tt.want {
				t.Errorf("parseCheck(%s:x) = op %d literal %q, want literal %q", tt.kind, n.op, n.lit, tt.want)
			}
		})
	}
}
