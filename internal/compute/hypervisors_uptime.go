package compute

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrUptimeUnknown is a host whose uptime its agent does not report
// (nova's NotImplementedError of the driver, a 501).
var ErrUptimeUnknown = errors.New("the host does not report its uptime")

// HypervisorUptime returns a hypervisor with its host's uptime in the
// words of uptime(1) (GET /os-hypervisors/{id}/uptime, before 2.88). A
// host that is down is nova's ComputeServiceUnavailable.
func (s *Service) HypervisorUptime(ctx context.Context, id string, byUUID bool) (Hypervisor, string, error) {
	if err := s.authorize(ctx, RuleHypervisorsUptime, map[string]any{}); err != nil {
		return Hypervisor{}, "", err
	}
	hv, err := s.GetHypervisor(ctx, id, byUUID, false)
	if err != nil {
		return Hypervisor{}, "", err
	}
	if !hv.Service.Up {
		return Hypervisor{}, "", errorf(ErrInvalid, "Compute service of %s is unavailable at this time.", hv.Service.Host)
	}
	up := s.HostUptime(hv)
	if up == nil {
		return Hypervisor{}, "", fmt.Errorf("uptime of %s: %w", hv.Service.Host, ErrUptimeUnknown)
	}
	return hv, *up, nil
}

// HostUptime is the uptime os-hypervisors shows from 2.88: nil for a host
// that is down or does not report when it came up.
func (s *Service) HostUptime(hv Hypervisor) *string {
	if !hv.Service.Up || hv.Node.BootedAt.IsZero() {
		return nil
	}
	text := UptimeText(s.now().UTC(), hv.Node.BootedAt)
	return &text
}

// UptimeText renders the time since booted as uptime(1) does:
// " 08:32:11 up 93 days, 18:25".
func UptimeText(now, booted time.Time) string {
	d := max(now.Sub(booted), 0)
	days := int(d / (24 * time.Hour))
	h, m := int(d%(24*time.Hour)/time.Hour), int(d%time.Hour/time.Minute)
	var up string
	switch {
	case days > 0:
		unit := "days"
		if days == 1 {
			unit = "day"
		}
		up = fmt.Sprintf("%d %s, %2d:%02d", days, unit, h, m)
	case h > 0:
		up = fmt.Sprintf("%2d:%02d", h, m)
	default:
		up = fmt.Sprintf("%d min", m)
	}
	return fmt.Sprintf(" %s up %s", now.UTC().Format("15:04:05"), up)
}
