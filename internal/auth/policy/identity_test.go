package policy

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// Personas of the Keystone decision table: a cloud administrator holding
// admin on a project, a project member, system readers and administrators,
// domain readers and managers of domain d1, and a service user.
var (
	cloudAdmin = Credentials{UserID: "admin", UserDomainID: "default", ProjectID: "admin-project",
		ProjectDomainID: "default", Roles: []string{"admin", "manager", "member", "reader"}, IsAdminProject: true}
	alice = Credentials{UserID: "alice", UserDomainID: "d1", ProjectID: "p1", ProjectDomainID: "d1",
		Roles: []string{"member", "reader"}}
	projectManager = Credentials{UserID: "pam", UserDomainID: "d1", ProjectID: "p1", ProjectDomainID: "d1",
		Roles: []string{"manager", "member", "reader"}}
	sysReader = Credentials{UserID: "auditor", UserDomainID: "default", System: "all", Roles: []string{"reader"}}
	sysAdmin  = Credentials{UserID: "operator", UserDomainID: "default", System: "all",
		Roles: []string{"admin", "member", "reader"}}
	d1Reader  = Credentials{UserID: "dan", UserDomainID: "d1", DomainID: "d1", Roles: []string{"reader"}}
	d1Manager = Credentials{UserID: "dora", UserDomainID: "d1", DomainID: "d1",
		Roles: []string{"manager", "member", "reader"}}
	nova = Credentials{UserID: "nova", UserDomainID: "default", ProjectID: "service", ProjectDomainID: "default",
		Roles: []string{"service"}}
)

// obj builds a Keystone-style target: target.<kind> = fields.
func obj(kind string, fields map[string]any) Target {
	return Target{"target": map[string]any{kind: fields}}
}

func userIn(id, domainID string) Target {
	return obj("user", map[string]any{"id": id, "domain_id": domainID})
}

func projectIn(id string, domainID any) Target {
	return obj("project", map[string]any{"id": id, "domain_id": domainID})
}

// grant is the target of PUT /v3/projects/{project_id}/users/{user_id}/roles/{role_id}.
func grant(userDomain, projectDomain, role string, roleDomain any) Target {
	return Target{"target": map[string]any{
		"user":    map[string]any{"id": "u", "domain_id": userDomain},
		"project": map[string]any{"id": "p", "domain_id": projectDomain},
		"role":    map[string]any{"id": "r", "name": role, "domain_id": roleDomain},
	}}
}

func TestIdentityDefaultsRegister(t *testing.T) {
	t.Parallel()
	defs := IdentityDefaults()
	if _, err := New(defs, Options{EnforceScope: true}); err != nil {
		t.Fatalf("New(IdentityDefaults()): %v", err)
	}
	identity := 0
	for _, d := range defs {
		if d.Description == "" {
			t.Errorf("%s has no description", d.Name)
		}
		if strings.HasPrefix(d.Name, "identity:") {
			identity++
		}
	}
	if identity < 190 {
		t.Errorf("%d identity rules, want Keystone's full set (~193)", identity)
	}
	defs[0].ScopeTypes = append(defs[0].ScopeTypes, "mutated")
	if again := IdentityDefaults(); len(again[0].ScopeTypes) != 0 {
		t.Error("IdentityDefaults shares slices between calls")
	}
}

// decision is one row of the Keystone decision table.
type decision struct {
	name   string
	rule   string
	target Target
	creds  Credentials
	want   error // nil: allowed
}

func TestKeystoneDecisions(t *testing.T) {
	t.Parallel()
	e, err := New(IdentityDefaults(), Options{EnforceScope: true})
	if err != nil {
		t.Fatal(err)
	}
	tests := slices.Concat(userDecisions(), projectDecisions(), grantDecisions(), serviceDecisions())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := e.Enforce(tt.rule, tt.target, tt.creds)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Enforce(%s): %v, want allowed", tt.rule, err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Enforce(%s): %v, want %v", tt.rule, err, tt.want)
			}
		})
	}
}

// userDecisions covers users: creation by admins and domain managers,
// self-service reads. Keystone enforces no rule on a password change
// (POST /v3/users/{user_id}/password): the original password authorizes it.
func userDecisions() []decision {
	return []decision{
		{"cloud admin creates a user", "identity:create_user", userIn("", "d2"), cloudAdmin, nil},
		{"member cannot create a user", "identity:create_user", userIn("", "d1"), alice, ErrForbidden},
		{"system reader cannot create a user", "identity:create_user", userIn("", "d1"), sysReader, ErrForbidden},
		{"domain manager creates a user in the domain", "identity:create_user", userIn("", "d1"), d1Manager, nil},
		{"domain manager cannot create elsewhere", "identity:create_user", userIn("", "d2"), d1Manager, ErrForbidden},
		{"project manager cannot create users", "identity:create_user", userIn("", "d1"), projectManager, ErrForbidden},
		{"user reads self", "identity:get_user", userIn("alice", "d1"), alice, nil},
		{"user cannot read another user", "identity:get_user", userIn("bob", "d1"), alice, ErrForbidden},
		{"user cannot update self", "identity:update_user", userIn("alice", "d1"), alice, ErrForbidden},
		{"system reader lists users", "identity:list_users", nil, sysReader, nil},
		{"member cannot list users", "identity:list_users", nil, alice, ErrForbidden},
		{"domain reader lists own domain", "identity:list_users", Target{"target": map[string]any{"domain_id": "d1"}}, d1Reader, nil},
		{"domain reader cannot list another domain", "identity:list_users", Target{"target": map[string]any{"domain_id": "d2"}}, d1Reader, ErrForbidden},
		{"domain reader reads a user in the domain", "identity:get_user", userIn("bob", "d1"), d1Reader, nil},
		{"domain reader cannot read a user elsewhere", "identity:get_user", userIn("bob", "d2"), d1Reader, ErrForbidden},
		{"domain reader cannot delete", "identity:delete_user", userIn("bob", "d1"), d1Reader, ErrForbidden},
		{"user lists own projects", "identity:list_user_projects", userIn("alice", "d1"), alice, nil},
	}
}

// projectDecisions covers projects, project tags and domains, including root domains.
func projectDecisions() []decision {
	return []decision{
		{"member reads own project", "identity:get_project", projectIn("p1", "d1"), alice, nil},
		{"member cannot read another project", "identity:get_project", projectIn("p2", "d1"), alice, ErrForbidden},
		{"member reads own project tags", "identity:list_project_tags", projectIn("p1", "d1"), alice, nil},
		{"member cannot tag", "identity:create_project_tag", projectIn("p1", "d1"), alice, ErrForbidden},
		{"domain manager creates a project", "identity:create_project", projectIn("", "d1"), d1Manager, nil},
		{"domain manager cannot touch a root domain", "identity:update_project", projectIn("d1", nil), d1Manager, ErrForbidden},
		{"domain reader cannot read a root domain", "identity:get_project", projectIn("default", nil), d1Reader, ErrForbidden},
		{"system reader lists domains", "identity:list_domains", nil, sysReader, nil},
		{"project token reads its own domain", "identity:get_domain", obj("domain", map[string]any{"id": "d1"}), alice, nil},
		{"project token cannot read another domain", "identity:get_domain", obj("domain", map[string]any{"id": "d2"}), alice, ErrForbidden},
		{"system admin creates a domain", "identity:create_domain", nil, sysAdmin, nil},
		{"system reader cannot create a domain", "identity:create_domain", nil, sysReader, ErrForbidden},
		{"domain token is refused for create_domain", "identity:create_domain", nil, d1Manager, ErrInvalidScope},
	}
}

// grantDecisions covers roles and grants, where domain managers stop below admin.
func grantDecisions() []decision {
	return []decision{
		{"domain manager grants member in the domain", "identity:create_grant", grant("d1", "d1", "member", nil), d1Manager, nil},
		{"domain manager cannot grant admin", "identity:create_grant", grant("d1", "d1", "admin", nil), d1Manager, ErrForbidden},
		{"domain manager cannot grant across domains", "identity:create_grant", grant("d1", "d2", "member", nil), d1Manager, ErrForbidden},
		{"cloud admin grants admin", "identity:create_grant", grant("d1", "d2", "admin", nil), cloudAdmin, nil},
		{"member cannot grant", "identity:create_grant", grant("d1", "d1", "member", nil), alice, ErrForbidden},
		{"domain reader checks a grant", "identity:check_grant", grant("d1", "d1", "member", nil), d1Reader, nil},
		{"domain reader cannot see another domain's role", "identity:check_grant", grant("d1", "d1", "member", "d2"), d1Reader, ErrForbidden},
		{"domain manager lists roles", "identity:list_roles", nil, d1Manager, nil},
		{"project manager cannot list roles", "identity:list_roles", nil, projectManager, ErrForbidden},
		{"domain manager reads a grantable role", "identity:get_role", obj("role", map[string]any{"name": "reader"}), d1Manager, nil},
		{"system reader lists role assignments", "identity:list_role_assignments", nil, sysReader, nil},
		{"system reader cannot create a role", "identity:create_role", nil, sysReader, ErrForbidden},
	}
}

// serviceDecisions covers the catalog, tokens, credentials and trusts.
func serviceDecisions() []decision {
	return []decision{
		{"any token lists regions", "identity:list_regions", nil, alice, nil},
		{"member cannot create a service", "identity:create_service", nil, alice, ErrForbidden},
		{"system reader lists endpoints", "identity:list_endpoints", nil, sysReader, nil},
		{"domain token is refused for endpoints", "identity:list_endpoints", nil, d1Reader, ErrInvalidScope},
		{"anyone reads their catalog", "identity:get_auth_catalog", nil, alice, nil},
		{"user validates own token", "identity:validate_token", obj("token", map[string]any{"user_id": "alice"}), alice, nil},
		{"user cannot validate another's token", "identity:validate_token", obj("token", map[string]any{"user_id": "bob"}), alice, ErrForbidden},
		{"service validates any token", "identity:validate_token", obj("token", map[string]any{"user_id": "bob"}), nova, nil},
		{"service lists revocation events", "identity:list_revoke_events", nil, nova, nil},
		{"member cannot list revocation events", "identity:list_revoke_events", nil, alice, ErrForbidden},
		{"user creates own application credential", "identity:create_application_credential", Target{"user_id": "alice"}, alice, nil},
		{"user cannot create one for another", "identity:create_application_credential", Target{"user_id": "bob"}, alice, ErrForbidden},
		{"system token is refused for application credentials", "identity:create_application_credential", Target{"user_id": "auditor"}, sysReader, ErrInvalidScope},
		{"user manages own credential", "identity:update_credential", obj("credential", map[string]any{"user_id": "alice"}), alice, nil},
		{"user creates own EC2 credential", "identity:ec2_create_credential", obj("credential", map[string]any{"user_id": "alice"}), alice, nil},
		{"trustor creates a trust", "identity:create_trust", obj("trust", map[string]any{"trustor_user_id": "alice"}), alice, nil},
		{"nobody creates a trust for another", "identity:create_trust", obj("trust", map[string]any{"trustor_user_id": "bob"}), cloudAdmin, ErrForbidden},
		{"trustee reads the trust", "identity:get_trust", obj("trust", map[string]any{"trustor_user_id": "bob", "trustee_user_id": "alice"}), alice, nil},
	}
}
