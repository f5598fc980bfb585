package app

import (
	"errors"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/auth/policy"
	"github.com/nimbus-cloud/nimbus/internal/config"
)

func TestPlacementConfig(t *testing.T) {
	t.Parallel()
	cfg, err := config.Load(config.Source{Set: map[string]string{
		"placement.randomize_allocation_candidates":           "true",
		"placement.max_allocation_candidates":                 "1000",
		"placement.allocation_candidates_generation_strategy": "breadth-first",
		"placement.allocation_conflict_retry_count":           "3",
		"DEFAULT.state_path":                                  t.TempDir(),
	}})
	if err != nil {
		t.Fatal(err)
	}
	pc := PlacementConfig(cfg)
	if !pc.RandomizeCandidates || pc.MaxCandidates != 1000 || !pc.BreadthFirst || pc.ConflictRetries != 3 ||
		pc.IncompleteProjectID != "00000000-0000-0000-0000-000000000000" {
		t.Errorf("PlacementConfig = %+v", pc)
	}
	if _, err := config.Load(config.Source{Set: map[string]string{
		"placement.allocation_candidates_generation_strategy": "sideways"}}); err == nil {
		t.Error("an unknown generation strategy was accepted")
	}
}

// TestPlacementPolicy checks placement's defaults as its secure RBAC tests
// do: admins and the service role manage everything but the reshaper, which
// is the service role's; project readers see their own project's usages.
func TestPlacementPolicy(t *testing.T) {
	t.Parallel()
	e, err := policy.New(policy.PlacementDefaults(), policy.Options{EnforceScope: true})
	if err != nil {
		t.Fatal(err)
	}
	var (
		admin      = policy.Credentials{UserID: "a", ProjectID: "admin", Roles: []string{"admin", "member", "reader"}}
		service    = policy.Credentials{UserID: "nova", ProjectID: "service", Roles: []string{"service"}}
		member     = policy.Credentials{UserID: "m", ProjectID: "p1", Roles: []string{"member", "reader"}}
		reader     = policy.Credentials{UserID: "r", ProjectID: "p1", Roles: []string{"reader"}}
		sysAdmin   = policy.Credentials{UserID: "s", System: "all", Roles: []string{"admin", "member", "reader"}}
		ownProject = policy.Target{"project_id": "p1"}
		callerOwn  = func(c policy.Credentials) policy.Target {
			return policy.Target{"project_id": c.ProjectID, "user_id": c.UserID}
		}
	)
	cases := []struct {
		name   string
		rule   string
		creds  policy.Credentials
		target policy.Target
		allow  bool
	}{
		{"admin lists providers", "placement:resource_providers:list", admin, callerOwn(admin), true},
		{"service writes allocations", "placement:allocations:update", service, callerOwn(service), true},
		{"member cannot list providers", "placement:resource_providers:list", member, callerOwn(member), false},
		{"system admin is out of scope", "placement:resource_providers:list", sysAdmin, policy.Target{}, false},
		{"admin cannot reshape", "placement:reshaper:reshape", admin, callerOwn(admin), false},
		{"service reshapes", "placement:reshaper:reshape", service, callerOwn(service), true},
		{"reader sees own usages", "placement:usages", reader, ownProject, true},
		{"reader cannot see other usages", "placement:usages", reader, policy.Target{"project_id": "p2"}, false},
		{"admin sees any usages", "placement:usages", admin, policy.Target{"project_id": "p2"}, true},
		{"member cannot read candidates", "placement:allocation_candidates:list", member, callerOwn(member), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := e.Enforce(tc.rule, tc.target, tc.creds)
			if tc.allow && err != nil {
				t.Errorf("denied: %v", err)
			}
			if !tc.allow && !errors.Is(err, policy.ErrForbidden) {
				t.Errorf("err %v, want forbidden", err)
			}
		})
	}
}
