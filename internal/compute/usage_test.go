package compute

import (
	"testing"
	"time"
)

func TestServerUsageHours(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	h := func(n float64) time.Time { return t0.Add(time.Duration(n * float64(time.Hour))) }
	start, stop, now := h(10), h(20), h(30)
	flavor := Flavor{Name: "m1.small", VCPUs: 2, MemoryMB: 512, RootGB: 10, EphemeralGB: 5}
	for _, tc := range []struct {
		name            string
		launched, ended time.Time
		vm              VMState
		hours           float64
		state           string
		uptime          int64
	}{
		{"inside the window", h(12), h(15), VMDeleted, 3, "terminated", 3 * 3600},
		{"launched before the window", h(5), time.Time{}, VMActive, 10, "active", 25 * 3600},
		{"ended after the window", h(15), h(25), VMDeleted, 5, "terminated", 10 * 3600},
		{"ended before the window", h(1), h(2), VMDeleted, 0, "terminated", 3600},
		{"launched after the window", h(21), time.Time{}, VMStopped, 0, "stopped", 9 * 3600},
		{"never launched", time.Time{}, time.Time{}, VMBuilding, 0, "building", int64(now.Sub(time.Time{}).Seconds())},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			u := serverUsage(Instance{UUID: "u", DisplayName: "n", ProjectID: "p", Flavor: flavor, VMState: tc.vm,
				LaunchedAt: tc.launched, TerminatedAt: tc.ended}, start, stop, now)
			if u.Hours != tc.hours || u.State != tc.state || u.Uptime != tc.uptime || u.LocalGB != 15 || u.VCPUs != 2 ||
				u.MemoryMB != 512 || u.Flavor != "m1.small" {
				t.Errorf("usage = %+v; want %v hours, state %s, uptime %d", u, tc.hours, tc.state, tc.uptime)
			}
		})
	}
}

func TestUsageTime(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"":                           now,
		"2026-04-01T10:20:30":        time.Date(2026, 4, 1, 10, 20, 30, 0, time.UTC),
		"2026-04-01T10:20:30.5":      time.Date(2026, 4, 1, 10, 20, 30, 5e8, time.UTC),
		"2026-04-01 10:20:30.123456": time.Date(2026, 4, 1, 10, 20, 30, 123456000, time.UTC),
	} {
		if got, err := usageTime(&in, now); err != nil || !got.Equal(want) {
			t.Errorf("usageTime(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"2026-04-01", "2026-04-01T10:20:30Z", "yesterday"} {
		if _, err := usageTime(&in, now); err == nil || err.Error() != "Invalid datetime string: Datetime is in invalid format" {
			t.Errorf("usageTime(%q) = %v; want the invalid format error", in, err)
		}
	}
}
