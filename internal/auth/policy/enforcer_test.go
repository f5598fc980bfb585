package policy

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testDefaults is a small registry shaped like Keystone's.
func testDefaults() []Default {
	return []Default{
		{Name: "admin_required", Check: "role:admin"},
		{Name: "owner", Check: "user_id:%(target.user.id)s"},
		{Name: "identity:get_user", Check: "rule:admin_required or rule:owner",
			ScopeTypes: []string{ScopeSystem, ScopeDomain, ScopeProject}},
		{Name: "identity:create_domain", Check: "rule:admin_required",
			ScopeTypes: []string{ScopeSystem, ScopeProject}},
		{Name: "identity:list_endpoints", Check: "role:reader",
			ScopeTypes: []string{ScopeSystem}},
		{Name: "identity:get_auth_catalog", Check: ""},
	}
}

func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

var (
	member = Credentials{UserID: "alice", UserDomainID: "d1", ProjectID: "p1", ProjectDomainID: "d1",
		Roles: []string{"member", "reader"}}
	projectAdmin = Credentials{UserID: "root", UserDomainID: "d1", ProjectID: "p0", ProjectDomainID: "d1",
		Roles: []string{"admin", "member", "reader"}}
	systemReader = Credentials{UserID: "auditor", UserDomainID: "d1", System: "all", Roles: []string{"reader"}}
	domainAdmin  = Credentials{UserID: "dora", UserDomainID: "d1", DomainID: "d1", Roles: []string{"admin"}}
)

func TestPolicyFileOverrides(t *testing.T) {
	t.Parallel()
	bobTarget := Target{"target": map[string]any{"user": map[string]any{"id": "bob"}}}
	tests := []struct {
		name, file, body string
		rule             string
		creds            Credentials
		want             bool
	}{
		{"yaml override tightens", "policy.yaml",
			"\"identity:get_user\": \"rule:admin_required\"\n",
			"identity:get_user", member, false},
		{"json override loosens", "policy.json",
			`{"identity:create_domain": "role:member"}`,
			"identity:create_domain", member, true},
		{"rules absent from the file keep their defaults", "policy.yaml",
			"identity:create_domain: role:member\n",
			"identity:get_user", projectAdmin, true},
		{"file rule references a default", "policy.yaml",
			"identity:create_domain: rule:owner or rule:admin_required\n",
			"identity:create_domain", Credentials{UserID: "bob"}, true},
		{"file overrides a referenced default", "policy.yaml",
			"owner: \"!\"\n",
			"identity:get_user", Credentials{UserID: "bob"}, false},
		{"file adds a rule", "policy.yaml",
			"nimbus:custom: role:member\nidentity:get_user: rule:nimbus:custom\n",
			"identity:get_user", member, true},
		{"json written in a yaml file", "policy.yaml",
			`{"identity:get_user": "!"}`,
			"identity:get_user", projectAdmin, false},
		{"empty file", "policy.yaml", "",
			"identity:get_user", Credentials{UserID: "bob"}, true},
		{"empty check allows all", "policy.yaml", "identity:create_domain: \"\"\n",
			"identity:create_domain", member, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := writeFile(t, tt.file, tt.body)
			e, err := New(testDefaults(), Options{PolicyFile: path})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if got := e.Allowed(tt.rule, bobTarget, tt.creds); got != tt.want {
				t.Errorf("Allowed(%s) = %v, want %v", tt.rule, got, tt.want)
			}
		})
	}
}

func TestPolicyFileErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, file, body string
		want             []string // substrings of the error besides the file name
		invalidRule      bool
	}{
		{"bad check", "policy.yaml", "identity:get_user: \"role:admin or\"\n",
			[]string{`rule "identity:get_user"`, "unexpected end of rule"}, true},
		{"unknown check kind", "policy.json", `{"identity:get_user": "http://authz.example.com/"}`,
			[]string{`rule "identity:get_user"`, `check kind "http"`}, true},
		{"undefined reference", "policy.yaml", "identity:get_user: rule:no_such_rule\n",
			[]string{`rule "identity:get_user"`, `undefined rule "no_such_rule"`}, true},
		{"not yaml", "policy.yaml", "identity:get_user: [unclosed\n",
			[]string{"decode YAML"}, false},
		{"not a mapping", "policy.yaml", "- role:admin\n",
			[]string{"decode YAML"}, false},
		{"list value", "policy.yaml", "identity:get_user: [role:admin]\n",
			[]string{`rule "identity:get_user"`, "must be a string"}, false},
		{"null value", "policy.yaml", "identity:get_user:\n",
			[]string{`rule "identity:get_user"`, "no check string"}, false},
		{"duplicate yaml key", "policy.yaml", "owner: \"@\"\nowner: \"!\"\n",
			[]string{"already defined"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := writeFile(t, tt.file, tt.body)
			_, err := New(testDefaults(), Options{PolicyFile: path})
			if err == nil {
				t.Fatal("New succeeded, want error")
			}
			for _, w := range append([]string{path}, tt.want...) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if errors.Is(err, ErrInvalidRule) != tt.invalidRule {
				t.Errorf("errors.Is(%v, ErrInvalidRule) = %v, want %v", err, !tt.invalidRule, tt.invalidRule)
			}
		})
	}
}

func TestMissingPolicyFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "absent.yaml")
	_, err := New(testDefaults(), Options{PolicyFile: path})
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), path) {
		t.Fatalf("New with missing file: %v, want not-exist naming the file", err)
	}
}

func TestNewRejectsBadDefaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		defaults []Default
		want     string
	}{
		{"duplicate", []Default{{Name: "a", Check: "@"}, {Name: "a", Check: "!"}}, `"a" registered twice`},
		{"no name", []Default{{Check: "@"}}, "has no name"},
		{"bad check", []Default{{Name: "a", Check: "role:"}, {Name: "b", Check: "(("}}, `default "b"`},
		{"bad scope", []Default{{Name: "a", Check: "@", ScopeTypes: []string{"cloud"}}}, `unknown scope type "cloud"`},
		{"undefined reference", []Default{{Name: "a", Check: "rule:b"}}, `undefined rule "b"`},
		{"self reference", []Default{{Name: "a", Check: "role:x or rule:a"}}, "cycle a -> a"},
		{"cycle", []Default{{Name: "a", Check: "rule:b"}, {Name: "b", Check: "rule:c"}, {Name: "c", Check: "not rule:a"}},
			"cycle a -> b -> c -> a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := New(tt.defaults, Options{})
			if !errors.Is(err, ErrInvalidRule) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New: %v, want ErrInvalidRule mentioning %q", err, tt.want)
			}
		})
	}
}

func TestEnforceErrors(t *testing.T) {
	t.Parallel()
	e, err := New(testDefaults(), Options{EnforceScope: true})
	if err != nil {
		t.Fatal(err)
	}
	err = e.Enforce("identity:create_domain", nil, member)
	if !errors.Is(err, ErrForbidden) || errors.Is(err, ErrInvalidScope) {
		t.Errorf("member create_domain: %v, want ErrForbidden only", err)
	}
	if !strings.Contains(err.Error(), "identity:create_domain") {
		t.Errorf("denial %q does not name the rule", err)
	}
	err = e.Enforce("identity:no_such_call", nil, projectAdmin)
	if !errors.Is(err, ErrUnknownRule) || errors.Is(err, ErrForbidden) {
		t.Errorf("unknown rule: %v, want ErrUnknownRule and not ErrForbidden", err)
	}
	if e.Allowed("identity:no_such_call", nil, projectAdmin) {
		t.Error("Allowed on an unknown rule = true")
	}
	if err := e.Enforce("identity:create_domain", nil, projectAdmin); err != nil {
		t.Errorf("admin create_domain: %v", err)
	}
}

func TestEnforceScope(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		enforceScope bool
		rule         string
		creds        Credentials
		wantErr      error // nil: allowed
	}{
		{"system token on system rule", true, "identity:list_endpoints", systemReader, nil},
		{"project token on system rule", true, "identity:list_endpoints", member, ErrInvalidScope},
		{"project token passes the check without scope enforcement", false, "identity:list_endpoints", member, nil},
		{"domain admin on system-or-project rule", true, "identity:create_domain", domainAdmin, ErrInvalidScope},
		{"domain admin without scope enforcement", false, "identity:create_domain", domainAdmin, nil},
		{"project admin on system-or-project rule", true, "identity:create_domain", projectAdmin, nil},
		{"right scope, wrong role", true, "identity:create_domain", member, ErrForbidden},
		{"rule without scope types", true, "identity:get_auth_catalog", domainAdmin, nil},
		{"unscoped token counts as project", true, "identity:list_endpoints", Credentials{UserID: "u", Roles: []string{"reader"}}, ErrInvalidScope},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, err := New(testDefaults(), Options{EnforceScope: tt.enforceScope})
			if err != nil {
				t.Fatal(err)
			}
			err = e.Enforce(tt.rule, nil, tt.creds)
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("Enforce(%s): %v, want allowed", tt.rule, err)
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Fatalf("Enforce(%s): %v, want %v", tt.rule, err, tt.wantErr)
			case tt.wantErr != nil && !errors.Is(err, ErrForbidden):
				t.Fatalf("Enforce(%s): %v does not wrap ErrForbidden", tt.rule, err)
			}
		})
	}
}

func TestRulesReportsEffectiveChecks(t *testing.T) {
	t.Parallel()
	path := writeFile(t, "policy.yaml", "owner: \"!\"\nzz:extra: \"@\"\n")
	e, err := New(testDefaults(), Options{PolicyFile: path})
	if err != nil {
		t.Fatal(err)
	}
	rules := e.Rules()
	if len(rules) != len(testDefaults())+1 {
		t.Fatalf("Rules() has %d rules, want %d", len(rules), len(testDefaults())+1)
	}
	byName := map[string]Default{}
	for i, r := range rules {
		if i > 0 && rules[i-1].Name >= r.Name {
			t.Errorf("Rules() not sorted at %s", r.Name)
		}
		byName[r.Name] = r
	}
	if got := byName["owner"].Check; got != "!" {
		t.Errorf("owner check = %q, want the override", got)
	}
	if got := byName["identity:create_domain"].ScopeTypes; len(got) != 2 {
		t.Errorf("create_domain scope types = %v, want the default's", got)
	}
	rules[0].ScopeTypes = append(rules[0].ScopeTypes[:0], "mutated")
	if e.Rules()[0].ScopeTypes != nil && e.Rules()[0].ScopeTypes[0] == "mutated" {
		t.Error("Rules() shares scope slices with the Enforcer")
	}
}
