package compute

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// UsageStore reads the instances a usage report bills.
type UsageStore interface {
	// InstancesInWindow returns the instances, deleted ones included,
	// launched before f.End and not terminated by f.Start (nova's
	// instance_get_active_by_window_joined), ordered by project and UUID,
	// one page of f.
	InstancesInWindow(ctx context.Context, f UsageWindow) ([]Instance, error)
}

// UsageWindow selects the instances of a usage report.
type UsageWindow struct {
	Start, End time.Time
	// ProjectID "" reports every project.
	ProjectID string
	// Marker is the UUID of the last instance of the previous page (it
	// may be deleted); unknown is ErrMarkerNotFound. Limit 0 is none.
	Marker string
	Limit  int
}

// UsageOptions are the query of GET /os-simple-tenant-usage[/{tenant_id}]:
// start and end as given (nil: now), detailed (lists only), and paging
// from 2.40.
type UsageOptions struct {
	Start, End *string
	Detailed   bool
	Limit      *int
	Marker     *string
}

// ServerUsage is what one instance used in a report's window.
type ServerUsage struct {
	InstanceID string
	Name       string
	TenantID   string
	// Flavor is the flavor's name.
	Flavor   string
	Hours    float64
	MemoryMB int
	// LocalGB is root and ephemeral disk.
	LocalGB int
	VCPUs   int
	// State is the vm_state, or "terminated" once ended.
	State     string
	StartedAt time.Time
	// EndedAt is zero while the instance lives.
	EndedAt time.Time
	// Uptime is in seconds, to EndedAt or now.
	Uptime int64
}

// TenantUsage sums a project's usage over a window.
type TenantUsage struct {
	TenantID                           string
	TotalLocalGBUsage, TotalVCPUsUsage float64
	TotalMemoryMBUsage, TotalHours     float64
	Start, Stop                        time.Time
	// ServerUsages are listed in detailed reports only.
	ServerUsages []ServerUsage
	Detailed     bool
}

// UsageReport is a page of tenant usages and the server usages it counted
// (the page's items, whether listed or not).
type UsageReport struct {
	Tenants []TenantUsage
	Servers []ServerUsage
}

// TenantUsages reports every project's usage (GET /os-simple-tenant-usage).
func (s *Service) TenantUsages(ctx context.Context, o UsageOptions) (UsageReport, error) {
	if err := s.authorize(ctx, RuleSimpleTenantUsageList, nil); err != nil {
		return UsageReport{}, err
	}
	return s.usageReport(ctx, "", o, o.Detailed)
}

// TenantUsage reports one project's usage (GET
// /os-simple-tenant-usage/{tenant_id}), always detailed; a project without
// usage has no TenantUsage.
func (s *Service) TenantUsage(ctx context.Context, projectID string, o UsageOptions) (UsageReport, error) {
	if err := s.authorize(ctx, RuleSimpleTenantUsageShow, map[string]any{"project_id": projectID}); err != nil {
		return UsageReport{}, err
	}
	return s.usageReport(ctx, projectID, o, true)
}

func (s *Service) usageReport(ctx context.Context, projectID string, o UsageOptions, detailed bool) (UsageReport, error) {
	store, ok := s.store.(UsageStore)
	if !ok {
		return UsageReport{}, errors.New("the compute store cannot report usage")
	}
	now := s.now().UTC()
	start, err := usageTime(o.Start, now)
	if err != nil {
		return UsageReport{}, err
	}
	stop, err := usageTime(o.End, now)
	if err != nil {
		return UsageReport{}, err
	}
	// nova reads start before stop, both "now" when absent, so a request
	// without either has an empty window rather than a bad one.
	if (o.Start != nil || o.End != nil) && !start.Before(stop) {
		return UsageReport{}, errorf(ErrInvalid, "Invalid start time. The start time cannot occur after the end time.")
	}
	if stop.After(now) {
		stop = now
	}
	w := UsageWindow{Start: start, End: stop, ProjectID: projectID, Limit: s.limit(o.Limit)}
	if o.Marker != nil {
		w.Marker = *o.Marker
	}
	var insts []Instance
	if w.Limit > 0 {
		insts, err = store.InstancesInWindow(ctx, w)
	}
	if errors.Is(err, ErrMarkerNotFound) {
		return UsageReport{}, errorf(ErrInvalid, "Marker %s could not be found.", w.Marker)
	}
	if err != nil {
		return UsageReport{}, fmt.Errorf("read usage: %w", err)
	}
	var rep UsageReport
	index := map[string]int{}
	for _, inst := range insts {
		u := serverUsage(inst, start, stop, now)
		k, ok := index[u.TenantID]
		if !ok {
			k = len(rep.Tenants)
			index[u.TenantID] = k
			rep.Tenants = append(rep.Tenants, TenantUsage{TenantID: u.TenantID, Start: start, Stop: stop,
				Detailed: detailed})
		}
		t := &rep.Tenants[k]
		t.TotalLocalGBUsage += float64(u.LocalGB) * u.Hours
		t.TotalVCPUsUsage += float64(u.VCPUs) * u.Hours
		t.TotalMemoryMBUsage += float64(u.MemoryMB) * u.Hours
		t.TotalHours += u.Hours
		if detailed {
			t.ServerUsages = append(t.ServerUsages, u)
		}
		rep.Servers = append(rep.Servers, u)
	}
	return rep, nil
}

// usageTime reads start or end in the formats nova accepts (naive times,
// taken as UTC); nil is now.
func usageTime(v *string, now time.Time) (time.Time, error) {
	if v == nil || *v == "" {
		return now, nil
	}
	for _, layout := range []string{"2006-01-02T15:04:05", "2006-01-02T15:04:05.999999", "2006-01-02 15:04:05.999999"} {
		if t, err := time.Parse(layout, *v); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, errorf(ErrInvalid, "Invalid datetime string: Datetime is in invalid format")
}

// serverUsage is nova's accounting of one instance: hours from its launch
// (or the window's start) to its termination (or the window's stop).
func serverUsage(inst Instance, start, stop, now time.Time) ServerUsage {
	f := inst.Flavor
	u := ServerUsage{InstanceID: inst.UUID, Name: inst.DisplayName, TenantID: inst.ProjectID, Flavor: f.Name,
		MemoryMB: f.MemoryMB, LocalGB: f.RootGB + f.EphemeralGB, VCPUs: f.VCPUs, State: string(inst.VMState),
		StartedAt: inst.LaunchedAt, EndedAt: inst.TerminatedAt}
	switch {
	case inst.LaunchedAt.IsZero(),
		!inst.TerminatedAt.IsZero() && inst.TerminatedAt.Before(start),
		inst.LaunchedAt.After(stop):
	default:
		from, to := inst.LaunchedAt, stop
		if from.Before(start) {
			from = start
		}
		if !inst.TerminatedAt.IsZero() && inst.TerminatedAt.Before(to) {
			to = inst.TerminatedAt
		}
		u.Hours = to.Sub(from).Seconds() / 3600
	}
	end := now
	if !inst.TerminatedAt.IsZero() {
		u.State, end = "terminated", inst.TerminatedAt
	}
	u.Uptime = int64(end.Sub(inst.LaunchedAt).Seconds())
	return u
}
