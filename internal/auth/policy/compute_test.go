package policy

import (
	"errors"
	"strings"
	"testing"
)

func TestComputeDefaultsRegister(t *testing.T) {
	t.Parallel()
	defs := ComputeDefaults()
	if _, err := New(defs, Options{EnforceScope: true}); err != nil {
		t.Fatalf("New(ComputeDefaults()): %v", err)
	}
	seen := map[string]bool{}
	for _, d := range defs {
		if d.Description == "" {
			t.Errorf("%s has no description", d.Name)
		}
		if strings.HasPrefix(d.Name, "os_compute_api:") && (len(d.ScopeTypes) != 1 || d.ScopeTypes[0] != ScopeProject) {
			t.Errorf("%s: scope types %v, want project only as nova", d.Name, d.ScopeTypes)
		}
		seen[d.Name] = true
	}
	for _, want := range []string{"os_compute_api:os-flavor-manage:create", "os_compute_api:os-flavor-access",
		"os_compute_api:os-keypairs:create", "os_compute_api:os-quota-sets:detail", "os_compute_api:limits:other_project",
		"os_compute_api:os-availability-zone:detail", "os_compute_api:os-flavor-extra-specs:index", "admin_api",
		"os_compute_api:servers:create", "compute:servers:create:requested_destination", "os_compute_api:os-evacuate",
		"os_compute_api:os-instance-actions:events:details", "os_compute_api:os-remote-consoles",
		"os_compute_api:os-console-auth-tokens"} {
		if !seen[want] {
			t.Errorf("rule %s missing", want)
		}
	}
}

// TestComputeDecisions walks nova's decision table for the personas of the
// image tests: project p1's member and reader, another project's member, an
// admin and a system-scoped admin.
func TestComputeDecisions(t *testing.T) {
	t.Parallel()
	e, err := New(ComputeDefaults(), Options{EnforceScope: true})
	if err != nil {
		t.Fatal(err)
	}
	own := func(c Credentials) Target { return Target{"project_id": c.ProjectID, "user_id": c.UserID} }
	cases := []struct {
		rule   string
		creds  Credentials
		target Target
		allow  bool
	}{
		{"os_compute_api:os-flavor-manage:create", imgAdmin, Target{}, true},
		{"os_compute_api:os-flavor-manage:create", imgMember, Target{}, false},
		{"os_compute_api:os-flavor-manage:delete", bareAdmin, Target{}, true},
		{"os_compute_api:os-flavor-access", imgMember, own(imgMember), false},
		{"os_compute_api:os-flavor-extra-specs:index", imgReader, Target{"project_id": "p1"}, true},
		{"os_compute_api:os-flavor-extra-specs:index", imgService, Target{"project_id": "service"}, false},
		{"os_compute_api:os-flavor-extra-specs:create", imgMember, Target{}, false},
		{"os_compute_api:os-keypairs:create", imgMember, Target{"user_id": "mia"}, true},
		{"os_compute_api:os-keypairs:create", imgMember, Target{"user_id": "olga"}, false},
		{"os_compute_api:os-keypairs:show", imgAdmin, Target{"user_id": "olga"}, true},
		{"os_compute_api:os-quota-sets:show", imgReader, Target{"project_id": "p1"}, true},
		{"os_compute_api:os-quota-sets:show", otherMember, Target{"project_id": "p1"}, false},
		{"os_compute_api:os-quota-sets:detail", imgAdmin, Target{"project_id": "p1"}, true},
		{"os_compute_api:os-quota-sets:update", imgMember, Target{"project_id": "p1"}, false},
		{"os_compute_api:os-quota-sets:defaults", otherMember, Target{"project_id": "p1"}, true},
		{"os_compute_api:os-quota-class-sets:show", imgReader, Target{}, false},
		{"os_compute_api:limits", imgReader, Target{}, true},
		{"os_compute_api:limits:other_project", imgMember, own(imgMember), false},
		{"os_compute_api:limits:other_project", imgAdmin, own(imgAdmin), true},
		{"os_compute_api:os-availability-zone:list", imgReader, Target{}, true},
		{"os_compute_api:os-availability-zone:detail", imgMember, Target{}, false},
		{"os_compute_api:servers:index", imgReader, own(imgReader), true},
		{"os_compute_api:servers:show", imgReader, Target{"project_id": "p1"}, true},
		{"os_compute_api:servers:show", otherMember, Target{"project_id": "p1"}, false},
		{"os_compute_api:servers:create", imgMember, own(imgMember), true},
		{"os_compute_api:servers:create", imgReader, own(imgReader), false},
		{"os_compute_api:servers:create:forced_host", imgMember, own(imgMember), false},
		{"os_compute_api:servers:create:forced_host", bareAdmin, own(bareAdmin), true},
		{"os_compute_api:servers:detail:get_all_tenants", imgMember, own(imgMember), false},
		{"os_compute_api:servers:allow_all_filters", imgAdmin, own(imgAdmin), true},
		{"os_compute_api:servers:delete", imgMember, Target{"project_id": "p1", "user_id": "olga"}, true},
		{"os_compute_api:servers:delete", otherMember, Target{"project_id": "p1", "user_id": "mia"}, false},
		{"os_compute_api:servers:reboot", imgReader, Target{"project_id": "p1"}, false},
		{"os_compute_api:os-extended-server-attributes", imgMember, Target{"project_id": "p1"}, false},
		{"os_compute_api:servers:show:host_status", imgAdmin, Target{"project_id": "p1"}, true},
		{"os_compute_api:os-migrate-server:migrate", imgMember, Target{"project_id": "p1"}, false},
		{"os_compute_api:os-migrate-server:migrate", Credentials{UserID: "max", ProjectID: "p1",
			Roles: []string{"manager", "member", "reader"}}, Target{"project_id": "p1"}, true},
		{"os_compute_api:os-migrate-server:migrate:host", Credentials{UserID: "max", ProjectID: "p1",
			Roles: []string{"manager", "member", "reader"}}, Target{"project_id": "p1"}, false},
		{"os_compute_api:os-evacuate", imgMember, Target{"project_id": "p1"}, false},
		{"os_compute_api:os-lock-server:unlock:unlock_override", imgMember, Target{"project_id": "p1"}, false},
		{"os_compute_api:os-instance-actions:list", imgReader, Target{"project_id": "p1"}, true},
		{"os_compute_api:os-instance-actions:events", imgReader, Target{"project_id": "p1"}, false},
		{"os_compute_api:os-shelve:shelve_offload", imgMember, Target{"project_id": "p1"}, false},
		{"os_compute_api:server-metadata:update_all", imgMember, Target{"project_id": "p1"}, true},
		{"os_compute_api:os-server-tags:index", otherMember, Target{"project_id": "p1"}, false},
		// nova's rules are project-scoped: a system-scoped admin is refused
		// when scope is enforced.
		{"os_compute_api:os-flavor-manage:create", imgSysAdmin, Target{}, false},
	}
	for _, tc := range cases {
		err := e.Enforce(tc.rule, tc.target, tc.creds)
		if (err == nil) != tc.allow {
			t.Errorf("%s for %s on %v: %v, want allowed=%v", tc.rule, tc.creds.UserID, tc.target, err, tc.allow)
		}
		if err != nil && !errors.Is(err, ErrForbidden) {
			t.Errorf("%s: error %v does not wrap ErrForbidden", tc.rule, err)
		}
	}
}
