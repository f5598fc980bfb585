package policy

import "testing"

func benchEnforcer(b testing.TB) *Enforcer {
	b.Helper()
	e, err := New(IdentityDefaults(), Options{EnforceScope: true})
	if err != nil {
		b.Fatal(err)
	}
	return e
}

// TestAllowedDoesNotAllocate keeps evaluation free of per-call allocations.
// It cannot run in parallel: AllocsPerRun counts the whole process.
func TestAllowedDoesNotAllocate(t *testing.T) {
	e := benchEnforcer(t)
	grantTarget := grant("d1", "d1", "member", nil)
	userTarget := userIn("bob", "d2")
	limitTarget := obj("limit", map[string]any{"project_id": "p1"})
	allocs := testing.AllocsPerRun(100, func() {
		if !e.Allowed("identity:create_grant", grantTarget, d1Manager) {
			t.Fatal("domain manager denied")
		}
		if e.Allowed("identity:get_user", userTarget, alice) {
			t.Fatal("member allowed")
		}
		if !e.Allowed("identity:get_limit", limitTarget, alice) {
			t.Fatal("member denied its own limit")
		}
	})
	if allocs != 0 {
		t.Errorf("Allowed allocates %.0f times per run, want 0", allocs)
	}
}

// BenchmarkEnforce measures a typical decision: a domain reader reading a
// user (five-clause rule with a rule reference and substitutions).
func BenchmarkEnforce(b *testing.B) {
	e := benchEnforcer(b)
	target := userIn("bob", "d1")
	b.ReportAllocs()
	for b.Loop() {
		if err := e.Enforce("identity:get_user", target, d1Reader); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEnforceGrant measures Keystone's longest rule, create_grant, for
// a domain manager (most clauses evaluated before the allowing one).
func BenchmarkEnforceGrant(b *testing.B) {
	e := benchEnforcer(b)
	target := grant("d1", "d1", "member", nil)
	b.ReportAllocs()
	for b.Loop() {
		if err := e.Enforce("identity:create_grant", target, d1Manager); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEnforceDenied measures a denial, which builds the wrapped error.
func BenchmarkEnforceDenied(b *testing.B) {
	e := benchEnforcer(b)
	target := userIn("", "d1")
	b.ReportAllocs()
	for b.Loop() {
		if err := e.Enforce("identity:create_user", target, alice); err == nil {
			b.Fatal("allowed")
		}
	}
}

// BenchmarkParse measures parsing Keystone's longest check string.
func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(checkGrantManage); err != nil {
			b.Fatal(err)
		}
	}
}
