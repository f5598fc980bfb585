package compute

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Policy rules of the instance usage audit log
// (nova/policies/instance_usage_audit_log.py).
const (
	RuleUsageAuditLogList = "os_compute_api:os-instance-usage-audit-log:list"
	RuleUsageAuditLogShow = "os_compute_api:os-instance-usage-audit-log:show"
)

// AuditPeriodMonth is nova's default [DEFAULT] instance_usage_audit_period.
const AuditPeriodMonth = "month"

// UsageAuditLog is the state of the instance usage audit of one period on
// every compute host (GET /os-instance_usage_audit_log). The audit is
// nova's periodic instance_usage_audit task, which is off unless
// [DEFAULT] instance_usage_audit is set; this cloud does not run it, so
// no host has a task log: every compute host is one that has not run,
// and nothing was audited.
type UsageAuditLog struct {
	PeriodBeginning, PeriodEnding time.Time
	// Hosts are the compute hosts, disabled ones included, sorted.
	Hosts []string
	// HostsNotRun are the hosts without a task log for the period.
	HostsNotRun                 []string
	HostsDone, HostsRunning     int
	TotalInstances, TotalErrors int
	// Log is the task log of each host that ran.
	Log map[string]AuditTaskLog
}

// AuditTaskLog is one host's audit task of a period.
type AuditTaskLog struct {
	State     string
	Instances int
	Errors    int
	Message   string
}

// OverallStatus is nova's summary: "ALL hosts done. 0 errors." once every
// host is done, else "D of N hosts done. E errors.".
func (l UsageAuditLog) OverallStatus() string {
	done := "ALL"
	if l.HostsDone != len(l.Hosts) {
		done = fmt.Sprintf("%d of %d", l.HostsDone, len(l.Hosts))
	}
	return fmt.Sprintf("%s hosts done. %d errors.", done, l.TotalErrors)
}

// UsageAuditLogs reports the audit of the last period completed now
// (os-instance-usage-audit-log:list).
func (s *Service) UsageAuditLogs(ctx context.Context) (UsageAuditLog, error) {
	if err := s.authorize(ctx, RuleUsageAuditLogList, map[string]any{}); err != nil {
		return UsageAuditLog{}, err
	}
	return s.usageAuditLog(ctx, s.now().UTC())
}

// UsageAuditLog reports the audit of the last period completed before
// the timestamp, "YYYY-MM-DD HH:MM:SS[.ffffff]" in UTC
// (os-instance-usage-audit-log:show).
func (s *Service) UsageAuditLog(ctx context.Context, before string) (UsageAuditLog, error) {
	if err := s.authorize(ctx, RuleUsageAuditLogShow, map[string]any{}); err != nil {
		return UsageAuditLog{}, err
	}
	t, err := ParseAuditTimestamp(before)
	if err != nil {
		return UsageAuditLog{}, err
	}
	return s.usageAuditLog(ctx, t)
}

func (s *Service) usageAuditLog(ctx context.Context, before time.Time) (UsageAuditLog, error) {
	begin, end, err := LastCompletedAuditPeriod(AuditPeriodMonth, before)
	if err != nil {
		return UsageAuditLog{}, err
	}
	all, err := s.states(ctx)
	if err != nil {
		return UsageAuditLog{}, err
	}
	hosts := []string{}
	for _, st := range all {
		if st.Binary == BinaryCompute && !slices.Contains(hosts, st.Host) {
			hosts = append(hosts, st.Host)
		}
	}
	slices.Sort(hosts)
	return UsageAuditLog{PeriodBeginning: begin, PeriodEnding: end, Hosts: hosts,
		HostsNotRun: slices.Clone(hosts), Log: map[string]AuditTaskLog{}}, nil
}

// ParseAuditTimestamp reads the timestamp of GET
// /os-instance_usage_audit_log/{before_timestamp} as nova's strptime
// does: "%Y-%m-%d %H:%M:%S", with ".%f" (1 to 6 digits) when the value
// has a dot; fields other than the year may have one digit.
func ParseAuditTimestamp(v string) (time.Time, error) {
	bad := errorf(ErrInvalid, "Invalid timestamp for date %s", v)
	main, frac, hasFrac := strings.Cut(v, ".")
	t, err := time.Parse("2006-1-2 15:4:5", main)
	// Go would take a fraction after a comma; strptime does not.
	if err != nil || strings.Contains(main, ",") {
		return time.Time{}, bad
	}
	if hasFrac {
		if len(frac) == 0 || len(frac) > 6 || strings.Trim(frac, "0123456789") != "" {
			return time.Time{}, bad
		}
		us, _ := strconv.Atoi(frac + strings.Repeat("0", 6-len(frac)))
		t = t.Add(time.Duration(us) * time.Microsecond)
	}
	return t.UTC(), nil
}

// LastCompletedAuditPeriod is nova's utils.last_completed_audit_period:
// the last whole period of unit ("hour", "day", "month" or "year",
// optionally "@offset": the minute, hour, day of the month or month the
// period starts at) that ended before before.
func LastCompletedAuditPeriod(unit string, before time.Time) (begin, end time.Time, err error) {
	offset := 0
	if u, o, ok := strings.Cut(unit, "@"); ok {
		unit = u
		if offset, err = strconv.Atoi(o); err != nil {
			return begin, end, fmt.Errorf("audit period %q: bad offset: %w", unit, err)
		}
	}
	now := before.UTC()
	date := func(y int, m time.Month, d, h, mi int) time.Time { return time.Date(y, m, d, h, mi, 0, 0, time.UTC) }
	// prev is the month before m of year y.
	prev := func(y int, m time.Month) (int, time.Month) {
		if m == time.January {
			return y - 1, time.December
		}
		return y, m - 1
	}
	switch unit {
	case "month":
		if offset == 0 {
			offset = 1
		}
		end = date(now.Year(), now.Month(), offset, 0, 0)
		if !end.Before(now) {
			y, m := prev(now.Year(), now.Month())
			end = date(y, m, offset, 0, 0)
		}
		y, m := prev(end.Year(), end.Month())
		begin = date(y, m, offset, 0, 0)
	case "year":
		if offset == 0 {
			offset = 1
		}
		end = date(now.Year(), time.Month(offset), 1, 0, 0)
		if !end.Before(now) {
			end = end.AddDate(-1, 0, 0)
		}
		begin = end.AddDate(-1, 0, 0)
	case "day":
		end = date(now.Year(), now.Month(), now.Day(), offset, 0)
		if !end.Before(now) {
			end = end.AddDate(0, 0, -1)
		}
		begin = end.AddDate(0, 0, -1)
	case "hour":
		end = date(now.Year(), now.Month(), now.Day(), now.Hour(), offset)
		if !end.Before(now) {
			end = end.Add(-time.Hour)
		}
		begin = end.Add(-time.Hour)
	default:
		return begin, end, fmt.Errorf("audit period %q: time period must be hour, day, month or year", unit)
	}
	return begin, end, nil
}
