package policy

import (
	"encoding/json"
	"testing"
)

// allows builds an Enforcer holding check as rule "r" (plus helper rules)
// and reports whether it allows creds on target.
func allows(t *testing.T, check string, target Target, creds Credentials) bool {
	t.Helper()
	e, err := New([]Default{
		{Name: "r", Check: check},
		{Name: "is_admin", Check: "role:admin"},
		{Name: "is_owner", Check: "user_id:%(target.user.id)s"},
	}, Options{})
	if err != nil {
		t.Fatalf("New(%q): %v", check, err)
	}
	return e.Allowed("r", target, creds)
}

func TestEvaluate(t *testing.T) {
	t.Parallel()
	alice := Credentials{UserID: "alice", UserDomainID: "d1", ProjectID: "p1", ProjectDomainID: "d1",
		Roles: []string{"member", "Reader"}}
	system := Credentials{UserID: "root", UserDomainID: "default", System: "all", Roles: []string{"admin"}}
	domain := Credentials{UserID: "dora", UserDomainID: "d1", DomainID: "d1", Roles: []string{"manager"}}
	user := func(id, domainID string) Target {
		return Target{"target": map[string]any{"user": map[string]any{"id": id, "domain_id": domainID}}}
	}
	tests := []struct {
		name   string
		check  string
		target Target
		creds  Credentials
		want   bool
	}{
		{"always", "@", nil, alice, true},
		{"empty rule", "", nil, alice, true},
		{"never", "!", nil, alice, false},
		{"role matches case-insensitively", "role:reader", nil, alice, true},
		{"role absent", "role:admin", nil, alice, false},
		{"role from target", "role:%(target.role.name)s", Target{"target": map[string]any{"role": map[string]any{"name": "MEMBER"}}}, alice, true},
		{"roles attribute is exact", "roles:reader", nil, alice, false},
		{"roles attribute", "roles:Reader", nil, alice, true},
		{"token role names", "token.roles.name:member", nil, alice, true},
		{"not", "not role:admin", nil, alice, true},
		{"and", "role:member and project_id:p1", nil, alice, true},
		{"or", "role:admin or user_id:alice", nil, alice, true},
		{"precedence", "role:admin and role:member or role:reader", nil, alice, true},
		{"parentheses change it", "role:admin and (role:member or role:reader)", nil, alice, false},
		{"rule reference", "rule:is_admin or rule:is_owner", user("alice", "d1"), alice, true},
		{"rule reference denies", "rule:is_admin or rule:is_owner", user("bob", "d1"), alice, false},
		{"substituted match", "user_id:%(target.user.id)s", user("alice", "d1"), alice, true},
		{"substituted mismatch", "user_id:%(target.user.id)s", user("bob", "d1"), alice, false},
		{"missing target key fails", "user_id:%(target.user.id)s", Target{}, alice, false},
		{"not of missing key passes", "not user_id:%(target.user.id)s", Target{}, alice, true},
		{"nil target", "user_id:%(target.user.id)s", nil, alice, false},
		{"flattened target key", "user_id:%(target.user.id)s", Target{"target.user.id": "alice"}, alice, true},
		{"partly flattened key", "user_id:%(target.user.id)s", Target{"target": map[string]any{"user.id": "alice"}}, alice, true},
		{"string map leaf", "user_id:%(target.user.id)s", Target{"target": map[string]any{"user": map[string]string{"id": "alice"}}}, alice, true},
		{"nested Target", "user_id:%(target.user.id)s", Target{"target": Target{"user": Target{"id": "alice"}}}, alice, true},
		{"top-level key", "user_id:%(user_id)s", Target{"user_id": "alice"}, alice, true},
		{"composite value never matches", "user_id:%(target.user)s", user("alice", "d1"), alice, false},
		{"literal value", "system_scope:all", nil, system, true},
		{"literal value on project token", "system_scope:all", nil, alice, false},
		{"quoted literal value", "project_id:'p1'", nil, alice, true},
		{"template with text", "user_id:al%(target.rest)s", Target{"target": map[string]any{"rest": "ice"}}, alice, true},
		{"percent escape", "user_id:100%%", nil, Credentials{UserID: "100%"}, true},
		{"reverse literal", "'member':%(target.role.name)s", Target{"target": map[string]any{"role": map[string]any{"name": "member"}}}, alice, true},
		{"reverse literal mismatch", "'member':%(target.role.name)s", Target{"target": map[string]any{"role": map[string]any{"name": "admin"}}}, alice, false},
		{"bool target prints True", "True:%(target.user.enabled)s", Target{"target": map[string]any{"user": map[string]any{"enabled": true}}}, alice, true},
		{"bool target prints False", "True:%(target.user.enabled)s", Target{"target": map[string]any{"user": map[string]any{"enabled": false}}}, alice, false},
		{"int target", "3:%(target.n)s", Target{"target": map[string]any{"n": 3}}, alice, true},
		{"JSON number target", "3:%(target.n)s", jsonTarget(t, `{"target": {"n": 3}}`), alice, true},
		{"fraction target", "2.5:%(target.n)s", Target{"target": map[string]any{"n": 2.5}}, alice, true},
		{"null target is None", "None:%(target.role.domain_id)s", Target{"target": map[string]any{"role": map[string]any{"domain_id": nil}}}, alice, true},
		{"set target is not None", "None:%(target.role.domain_id)s", Target{"target": map[string]any{"role": map[string]any{"domain_id": "d1"}}}, alice, false},
		{"unset credential is None", "domain_id:None", nil, alice, true},
		{"set credential is not None", "domain_id:None", nil, domain, false},
		{"unset credential never equals null target", "domain_id:%(target.domain_id)s", Target{"target": map[string]any{"domain_id": nil}}, alice, false},
		{"domain token", "token.domain.id:%(target.user.domain_id)s", user("x", "d1"), domain, true},
		{"token domain missing on project token", "token.domain.id:None", nil, alice, false},
		{"token project domain", "token.project.domain.id:d1", nil, alice, true},
		{"token system", "token.system.all:True", nil, system, true},
		{"is_admin_project bool", "is_admin_project:True", nil, Credentials{ProjectID: "p", IsAdminProject: true}, true},
		{"is_admin_project false", "is_admin_project:False", nil, alice, true},
		{"token is_admin_project only on project tokens", "token.is_admin_project:False", nil, system, false},
		{"is_admin never set", "is_admin:1 or is_admin:True", nil, system, false},
		{"user domain", "user_domain_id:d1", nil, alice, true},
		{"project domain", "project_domain_id:d1", nil, alice, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := allows(t, tt.check, tt.target, tt.creds); got != tt.want {
				t.Errorf("%q on %v for %+v = %v, want %v", tt.check, tt.target, tt.creds, got, tt.want)
			}
		})
	}
}

func jsonTarget(t *testing.T, s string) Target {
	t.Helper()
	var m Target
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestPyString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   any
		want string
		ok   bool
	}{
		{"string", "x", "x", true},
		{"true", true, "True", true},
		{"false", false, "False", true},
		{"nil", nil, "None", true},
		{"int", 42, "42", true},
		{"int64", int64(-3), "-3", true},
		{"integral float", 7.0, "7", true},
		{"fraction", 0.25, "0.25", true},
		{"tiny", 1e-5, "1e-05", true},
		{"huge", 1e20, "1e+20", true},
		{"json number", json.Number("12"), "12", true},
		{"slice", []string{"a"}, "", false},
		{"map", map[string]any{}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := pyString(tt.in)
			if got != tt.want || ok != tt.ok {
				t.Errorf("pyString(%#v) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}
