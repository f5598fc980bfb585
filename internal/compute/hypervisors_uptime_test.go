package compute_test

import (
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/compute"
)

func TestUptimeText(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 5, 1, 8, 32, 11, 0, time.UTC)
	for _, tc := range []struct {
		up   time.Duration
		want string
	}{
		{93*24*time.Hour + 18*time.Hour + 25*time.Minute, " 08:32:11 up 93 days, 18:25"},
		{24*time.Hour + 5*time.Minute, " 08:32:11 up 1 day,  0:05"},
		{3*time.Hour + 7*time.Minute, " 08:32:11 up  3:07"},
		{42 * time.Minute, " 08:32:11 up 42 min"},
		{-time.Minute, " 08:32:11 up 0 min"},
	} {
		if got := compute.UptimeText(now, now.Add(-tc.up)); got != tc.want {
			t.Errorf("UptimeText(up %v) = %q; want %q", tc.up, got, tc.want)
		}
	}
}
