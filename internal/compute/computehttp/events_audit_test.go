package computehttp

import (
	"strings"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/api"
)

// eventsSchemaAt is the create schema negotiated at 2.minor.
func eventsSchemaAt(minor int) *schema {
	for _, b := range externalEventsBodies {
		if at(api.Version{Major: 2, Minor: minor}, b.minor) {
			return b.s
		}
	}
	return nil
}

func TestExternalEventsSchema(t *testing.T) {
	t.Parallel()
	const id = "3c0e2c7b-8f0a-4a51-9b1f-6d1c9c0b8f21"
	event := func(name string, extra ...string) map[string]any {
		e := map[string]any{"name": name, "server_uuid": id}
		for i := 0; i+1 < len(extra); i += 2 {
			e[extra[i]] = extra[i+1]
		}
		return e
	}
	body := func(events ...any) any { return map[string]any{"events": events} }
	for _, tc := range []struct {
		name  string
		minor int
		body  any
		want  string // "" valid, else part of the 400 message
	}{
		{"network event", 1, body(event("network-vif-plugged", "tag", "port", "status", "in-progress")), ""},
		{"volume-extended before 2.51", 50, body(event("volume-extended", "tag", "v")), "is not one of"},
		{"volume-extended at 2.51", 51, body(event("volume-extended", "tag", "v")), ""},
		{"power-update before 2.76", 75, body(event("power-update", "tag", "POWER_ON")), "is not one of"},
		{"power-update at 2.76", 76, body(event("power-update", "tag", "POWER_ON")), ""},
		{"accelerator before 2.82", 81, body(event("accelerator-request-bound")), "is not one of"},
		{"accelerator at 2.82", 82, body(event("accelerator-request-bound")), ""},
		{"volume-reimaged before 2.93", 92, body(event("volume-reimaged")), "is not one of"},
		{"volume-reimaged at 2.93", 93, body(event("volume-reimaged")), ""},
		{"latest", 100, body(event("network-changed")), ""},
		{"unknown name", 100, body(event("reboot")), "Invalid input for field/attribute name. Value: reboot."},
		{"bad status", 1, body(event("network-changed", "status", "done")), "Value: done. 'done' is not one of"},
		{"bad uuid", 1, body(map[string]any{"name": "network-changed", "server_uuid": "x"}), "is not a 'uuid'"},
		{"no server", 1, body(map[string]any{"name": "network-changed"}), "'server_uuid' is a required property"},
		{"no name", 1, body(map[string]any{"server_uuid": id}), "'name' is a required property"},
		{"long tag", 1, body(event("network-changed", "tag", strings.Repeat("t", 256))), "is too long"},
		{"extra field", 1, body(event("network-changed", "code", "200")), "Additional properties are not allowed"},
		{"no events", 1, body(), "[] is too short"},
		{"events missing", 1, map[string]any{}, "'events' is a required property"},
		{"extra top field", 1, map[string]any{"events": []any{event("network-changed")}, "x": 1},
			"Additional properties are not allowed"},
	} {
		err := validateBody(eventsSchemaAt(tc.minor), tc.body)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: refused: %v", tc.name, err)
		case tc.want != "" && (err == nil || err.Status != 400 || !strings.Contains(err.Message, tc.want)):
			t.Errorf("%s: got %v; want a 400 with %q", tc.name, err, tc.want)
		}
	}
}
