package computehttp_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/compute"
)

// consoleTokens is compute.ConsoleTokens over a fixed table.
type consoleTokens map[string]compute.ConsoleConnection

func (c consoleTokens) ConsoleConnection(_ context.Context, token string) (compute.ConsoleConnection, error) {
	if conn, ok := c[token]; ok {
		return conn, nil
	}
	return compute.ConsoleConnection{}, compute.ErrNotFound
}

func TestConsoleAuthTokens(t *testing.T) {
	t.Parallel()
	h := newServersHarness(t, true)
	path := "/os-console-auth-tokens/tok-1"
	r := h.do(t, tAdmin, "2.31", "GET", path, nil).want(t, 200)
	want := map[string]any{"console": map[string]any{"instance_uuid": "8d2c5c7e-2f43-4f7d-9b0e-6f1c2a3b4c5d",
		"host": "192.0.2.5", "port": float64(5901), "internal_access_path": nil}}
	if got := r.json(t); !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	// Until 2.31 only rdp-html5 consoles were shown, which nova no longer
	// has: a bare 400, before policy.
	h.do(t, tAdmin, "2.30", "GET", path, nil).wantFault(t, 400, "badRequest", "")
	h.do(t, tAlice, "2.1", "GET", path, nil).wantFault(t, 400, "badRequest", "")
	h.do(t, tAlice, "2.31", "GET", path, nil).wantFault(t, 403, "forbidden",
		"Policy doesn't allow os_compute_api:os-console-auth-tokens to be performed.")
	h.do(t, tAdmin, "2.31", "GET", "/os-console-auth-tokens/nope", nil).wantFault(t, 404, "itemNotFound", "Token not found")
	// Query parameters are ignored until 2.99, refused since.
	h.do(t, tAdmin, "2.98", "GET", path+"?x=1", nil).want(t, 200)
	h.do(t, tAdmin, "2.99", "GET", path+"?x=1", nil).wantFault(t, 400, "badRequest", "'x' was unexpected")
	h.do(t, tAdmin, "2.99", "GET", path, nil).want(t, 200)
}
