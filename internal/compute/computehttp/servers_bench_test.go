package computehttp_test

import (
	"fmt"
	"net/http"
	"testing"
)

// BenchmarkBootServer measures POST /servers through the whole API side:
// token validation, schema, policy, flavor and image checks, the quota
// check and the transactional write on SQLite, and the fake conductor's
// build back to ACTIVE. The fake builds in the cast, so each iteration
// ends with the server ACTIVE.
func BenchmarkBootServer(b *testing.B) {
	h := newServersHarness(b, true)
	if _, err := h.svc.UpdateQuotas(adminCtx(), "p1", "", map[string]int{"instances": -1, "cores": -1, "ram": -1}, true); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	i := 0
	for b.Loop() {
		i++
		h.boot(b, tAlice, fmt.Sprintf("vm-%d", i), nil)
	}
}

// BenchmarkServerDetail measures GET /servers/detail of 100 servers at
// the latest microversion.
func BenchmarkServerDetail(b *testing.B) {
	h := newServersHarness(b, true)
	if _, err := h.svc.UpdateQuotas(adminCtx(), "p1", "", map[string]int{"instances": -1, "cores": -1, "ram": -1}, true); err != nil {
		b.Fatal(err)
	}
	for i := range 100 {
		h.boot(b, tAlice, fmt.Sprintf("vm-%d", i), map[string]any{"metadata": map[string]any{"n": fmt.Sprint(i)}})
	}
	b.ResetTimer()
	for b.Loop() {
		h.do(b, tAlice, "latest", "GET", "/servers/detail", nil).want(b, http.StatusOK)
	}
}
