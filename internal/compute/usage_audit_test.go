package compute

import (
	"errors"
	"testing"
	"time"
)

func TestLastCompletedAuditPeriod(t *testing.T) {
	t.Parallel()
	d := func(y int, m time.Month, day, h, mi int) time.Time {
		return time.Date(y, m, day, h, mi, 0, 0, time.UTC)
	}
	for _, tc := range []struct {
		unit       string
		before     time.Time
		begin, end time.Time
	}{
		{"month", d(2026, 11, 27, 16, 0), d(2026, 10, 1, 0, 0), d(2026, 11, 1, 0, 0)},
		// A period that ends at the instant has not completed yet.
		{"month", d(2026, 11, 1, 0, 0), d(2026, 9, 1, 0, 0), d(2026, 10, 1, 0, 0)},
		{"month", d(2026, 11, 1, 0, 0).Add(time.Microsecond), d(2026, 10, 1, 0, 0), d(2026, 11, 1, 0, 0)},
		{"month", d(2026, 1, 15, 0, 0), d(2025, 12, 1, 0, 0), d(2026, 1, 1, 0, 0)},
		{"month", d(2026, 1, 1, 0, 0), d(2025, 11, 1, 0, 0), d(2025, 12, 1, 0, 0)},
		{"month", d(2026, 2, 1, 0, 0), d(2025, 12, 1, 0, 0), d(2026, 1, 1, 0, 0)},
		{"month@15", d(2026, 3, 10, 0, 0), d(2026, 1, 15, 0, 0), d(2026, 2, 15, 0, 0)},
		{"month@15", d(2026, 3, 20, 0, 0), d(2026, 2, 15, 0, 0), d(2026, 3, 15, 0, 0)},
		{"day", d(2026, 3, 1, 0, 0), d(2026, 2, 27, 0, 0), d(2026, 2, 28, 0, 0)},
		{"day@6", d(2026, 3, 1, 10, 0), d(2026, 2, 28, 6, 0), d(2026, 3, 1, 6, 0)},
		{"day@6", d(2026, 3, 1, 5, 0), d(2026, 2, 27, 6, 0), d(2026, 2, 28, 6, 0)},
		{"hour", d(2026, 3, 1, 10, 30), d(2026, 3, 1, 9, 0), d(2026, 3, 1, 10, 0)},
		{"hour", d(2026, 3, 1, 0, 0), d(2026, 2, 28, 22, 0), d(2026, 2, 28, 23, 0)},
		{"hour@45", d(2026, 3, 1, 10, 30), d(2026, 3, 1, 8, 45), d(2026, 3, 1, 9, 45)},
		{"year", d(2026, 6, 1, 0, 0), d(2025, 1, 1, 0, 0), d(2026, 1, 1, 0, 0)},
		{"year", d(2026, 1, 1, 0, 0), d(2024, 1, 1, 0, 0), d(2025, 1, 1, 0, 0)},
		{"year@7", d(2026, 6, 1, 0, 0), d(2024, 7, 1, 0, 0), d(2025, 7, 1, 0, 0)},
	} {
		begin, end, err := LastCompletedAuditPeriod(tc.unit, tc.before)
		if err != nil || !begin.Equal(tc.begin) || !end.Equal(tc.end) {
			t.Errorf("LastCompletedAuditPeriod(%s, %v) = %v, %v, %v; want %v, %v",
				tc.unit, tc.before, begin, end, err, tc.begin, tc.end)
		}
	}
	for _, unit := range []string{"week", "month@x", ""} {
		if _, _, err := LastCompletedAuditPeriod(unit, time.Now()); err == nil {
			t.Errorf("LastCompletedAuditPeriod(%q) took it", unit)
		}
	}
}

func TestParseAuditTimestamp(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]time.Time{
		"2026-11-27 16:05:09":        time.Date(2026, 11, 27, 16, 5, 9, 0, time.UTC),
		"2026-11-27 16:05:09.5":      time.Date(2026, 11, 27, 16, 5, 9, 5e8, time.UTC),
		"2026-11-27 16:05:09.000123": time.Date(2026, 11, 27, 16, 5, 9, 123e3, time.UTC),
		"2026-1-2 3:4:5":             time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
	} {
		if got, err := ParseAuditTimestamp(in); err != nil || !got.Equal(want) {
			t.Errorf("ParseAuditTimestamp(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"invalid_time", "2026-11-27", "2026-11-27T16:05:09", "2026-11-27 16:05:09.",
		"2026-11-27 16:05:09.1234567", "2026-11-27 16:05:09.5Z", "2026-11-27 16:05:09,5", "2026-13-01 00:00:00",
		"2026-02-30 00:00:00", "2026-11-27 24:00:00", "26-11-27 16:05:09", ""} {
		_, err := ParseAuditTimestamp(in)
		var ce *Error
		if !errors.As(err, &ce) || !errors.Is(err, ErrInvalid) || ce.Message != "Invalid timestamp for date "+in {
			t.Errorf("ParseAuditTimestamp(%q) = %v; want nova's 400", in, err)
		}
	}
}

func TestUsageAuditOverallStatus(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		l    UsageAuditLog
		want string
	}{
		{UsageAuditLog{Hosts: []string{"a", "b"}}, "0 of 2 hosts done. 0 errors."},
		{UsageAuditLog{Hosts: []string{"a", "b"}, HostsDone: 2, TotalErrors: 3}, "ALL hosts done. 3 errors."},
		{UsageAuditLog{}, "ALL hosts done. 0 errors."},
	} {
		if got := tc.l.OverallStatus(); got != tc.want {
			t.Errorf("OverallStatus(%+v) = %q; want %q", tc.l, got, tc.want)
		}
	}
}
