package app_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/nimbus-cloud/nimbus/internal/cloudtest"
	"github.com/nimbus-cloud/nimbus/internal/compute"
)

// postEvents sends external events at microversion mv with token.
func (p *plane) postEvents(t *testing.T, token, mv string, events ...map[string]any) *cloudtest.Response {
	t.Helper()
	return p.Do(t, http.MethodPost, p.ComputeURL+"/os-server-external-events", token,
		map[string]any{"events": events}, "OpenStack-API-Version", "compute "+mv)
}

// actionCount counts the instance actions of a server named action.
func (p *plane) actionCount(t *testing.T, id, action string) int {
	t.Helper()
	r := p.get(t, "2.1", "servers", id, "os-instance-actions")
	if r.Status != http.StatusOK {
		t.Fatalf("list actions: %d %s", r.Status, r.Body)
	}
	n := 0
	for _, a := range r.JSON(t)["instanceActions"].([]any) {
		if a.(map[string]any)["action"] == action {
			n++
		}
	}
	return n
}

// TestServerExternalEvents sends events about a server on a host, one
// no host took and one that does not exist: each event answers its own
// code, the request 200 when all were taken, 207 when some were not, 404
// when none was; volume and power events record their actions.
func TestServerExternalEvents(t *testing.T) {
	t.Parallel()
	p := startPlane(t, cloudtest.WithOption("compute.fake_memory_mb", "2048"))
	admin := p.Token(t, cloudtest.Admin)
	live := p.boot(t, "live", p.flavor(t, "m1.events", 1, 512, 1))
	homeless := p.boot(t, "homeless", p.flavor(t, "m1.toobig", 1, 4096, 1))
	p.waitStatus(t, live, "ACTIVE")
	p.waitStatus(t, homeless, "ERROR")
	unknown := uuid.NewString()
	ev := func(name, server string, extra ...string) map[string]any {
		e := map[string]any{"name": name, "server_uuid": server}
		for i := 0; i+1 < len(extra); i += 2 {
			e[extra[i]] = extra[i+1]
		}
		return e
	}
	answered := func(r *cloudtest.Response) []map[string]any {
		t.Helper()
		var out []map[string]any
		for _, e := range r.JSON(t)["events"].([]any) {
			out = append(out, e.(map[string]any))
		}
		return out
	}

	r := p.postEvents(t, admin, "2.1", ev("network-changed", live))
	if r.Status != http.StatusOK {
		t.Fatalf("one event: %d %s", r.Status, r.Body)
	}
	got := answered(r)
	if len(got) != 1 || got[0]["code"] != 200.0 || got[0]["status"] != "completed" || got[0]["server_uuid"] != live ||
		got[0]["name"] != "network-changed" || got[0]["tag"] != nil {
		t.Errorf("one event answered %s", r.Body)
	}

	r = p.postEvents(t, admin, "2.1", ev("network-vif-plugged", live, "tag", "port-1", "status", "in-progress"),
		ev("network-changed", homeless), ev("network-vif-deleted", unknown, "status", "completed"))
	if r.Status != http.StatusMultiStatus {
		t.Fatalf("mixed events: %d %s", r.Status, r.Body)
	}
	got = answered(r)
	for i, want := range []struct {
		code   float64
		status string
		server string
	}{{200, "completed", live}, {422, "failed", homeless}, {404, "failed", unknown}} {
		if got[i]["code"] != want.code || got[i]["status"] != want.status || got[i]["server_uuid"] != want.server {
			t.Errorf("event %d answered %v; want %v %s", i, got[i], want.code, want.status)
		}
	}
	if got[0]["tag"] != "port-1" {
		t.Errorf("tag not echoed: %v", got[0])
	}

	r = p.postEvents(t, admin, "2.1", ev("network-changed", unknown), ev("network-changed", homeless))
	if r.Status != http.StatusNotFound || !strings.Contains(string(r.Body), "No instances found for any event") {
		t.Errorf("no event taken: %d %s", r.Status, r.Body)
	}

	// volume-extended needs its volume as tag, and records extend_volume.
	r = p.postEvents(t, admin, "2.51", ev("volume-extended", live), ev("volume-extended", live, "tag", "vol-1"))
	if got := answered(r); r.Status != http.StatusMultiStatus || got[0]["code"] != 400.0 || got[1]["code"] != 200.0 {
		t.Errorf("volume-extended: %d %s", r.Status, r.Body)
	}
	if n := p.actionCount(t, live, "extend_volume"); n != 1 {
		t.Errorf("%d extend_volume actions; want 1", n)
	}
	// power-update records stop for POWER_OFF; another tag records nothing.
	stops := p.actionCount(t, live, "stop")
	r = p.postEvents(t, admin, "2.76", ev("power-update", live, "tag", "POWER_OFF"), ev("power-update", live, "tag", "x"))
	if r.Status != http.StatusOK {
		t.Errorf("power-update: %d %s", r.Status, r.Body)
	}
	if n := p.actionCount(t, live, "stop"); n != stops+1 {
		t.Errorf("%d stop actions after power-update; want %d", n, stops+1)
	}

	for _, tc := range []struct {
		mv     string
		events []map[string]any
		msg    string
	}{
		{"2.50", []map[string]any{ev("volume-extended", live, "tag", "v")}, "is not one of"},
		{"2.75", []map[string]any{ev("power-update", live, "tag", "POWER_ON")}, "is not one of"},
		{"2.92", []map[string]any{ev("volume-reimaged", live)}, "is not one of"},
		{"2.1", []map[string]any{ev("network-changed", "not-a-uuid")}, "is not a 'uuid'"},
		{"2.1", []map[string]any{ev("network-changed", live, "status", "done")}, "is not one of"},
		{"2.1", []map[string]any{}, "is too short"},
	} {
		if r := p.postEvents(t, admin, tc.mv, tc.events...); r.Status != http.StatusBadRequest ||
			!strings.Contains(string(r.Body), tc.msg) {
			t.Errorf("%s %v: %d %s; want 400 with %q", tc.mv, tc.events, r.Status, r.Body, tc.msg)
		}
	}
	if r := p.postEvents(t, p.memberToken(t), "2.1", ev("network-changed", live)); r.Status != http.StatusForbidden {
		t.Errorf("member: %d %s", r.Status, r.Body)
	}
}

// auditPeriodsNow is the audit period nova reports now, and the next one
// should a month end while the request runs.
func auditPeriodsNow(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, at := range []time.Time{time.Now(), time.Now().Add(time.Minute)} {
		b, e, err := compute.LastCompletedAuditPeriod(compute.AuditPeriodMonth, at.UTC())
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b.Format(time.DateTime)+" "+e.Format(time.DateTime))
	}
	return out
}

// TestInstanceUsageAuditLog reads the audit as nova reports it with its
// periodic task never run: every compute host not run, nothing audited,
// for the last month completed now or before a timestamp.
func TestInstanceUsageAuditLog(t *testing.T) {
	t.Parallel()
	p := startPlane(t, cloudtest.WithOption("compute.fake_host_count", "2"))
	var hosts []any
	for _, s := range p.listServices(t, "nova-compute") {
		hosts = append(hosts, s.Host)
	}
	slices.SortFunc(hosts, func(a, b any) int { return strings.Compare(a.(string), b.(string)) })
	if len(hosts) != 2 {
		t.Fatalf("compute hosts %v", hosts)
	}
	check := func(l map[string]any, begin, end string) {
		t.Helper()
		want := map[string]any{"num_hosts": 2.0, "num_hosts_done": 0.0, "num_hosts_running": 0.0,
			"num_hosts_not_run": 2.0, "total_instances": 0.0, "total_errors": 0.0,
			"overall_status": "0 of 2 hosts done. 0 errors."}
		for k, v := range want {
			if l[k] != v {
				t.Errorf("%s = %v; want %v", k, l[k], v)
			}
		}
		if !slices.Equal(l["hosts_not_run"].([]any), hosts) || len(l["log"].(map[string]any)) != 0 || len(l) != 11 {
			t.Errorf("audit log %v; want hosts %v not run", l, hosts)
		}
		if begin != "" && (l["period_beginning"] != begin || l["period_ending"] != end) {
			t.Errorf("period %v to %v; want %s to %s", l["period_beginning"], l["period_ending"], begin, end)
		}
	}

	r := p.get(t, "2.1", "os-instance_usage_audit_log")
	if r.Status != http.StatusOK {
		t.Fatalf("list: %d %s", r.Status, r.Body)
	}
	l := r.JSON(t)["instance_usage_audit_logs"].(map[string]any)
	check(l, "", "")
	period := l["period_beginning"].(string) + " " + l["period_ending"].(string)
	if !slices.Contains(auditPeriodsNow(t), period) {
		t.Errorf("period now %s; want one of %v", period, auditPeriodsNow(t))
	}

	for before, want := range map[string][2]string{
		"2026-03-15 10:00:00":   {"2026-02-01 00:00:00", "2026-03-01 00:00:00"},
		"2026-03-01 00:00:00":   {"2026-01-01 00:00:00", "2026-02-01 00:00:00"},
		"2012-01-01 00:00:00.5": {"2011-12-01 00:00:00", "2012-01-01 00:00:00"},
		"2026-1-15 3:04:05":     {"2025-12-01 00:00:00", "2026-01-01 00:00:00"},
	} {
		r := p.get(t, "2.1", "os-instance_usage_audit_log", before)
		if r.Status != http.StatusOK {
			t.Errorf("before %s: %d %s", before, r.Status, r.Body)
			continue
		}
		check(r.JSON(t)["instance_usage_audit_log"].(map[string]any), want[0], want[1])
	}
	for _, bad := range []string{"invalid_time", "2026-03-15T10:00:00", "2026-02-30 00:00:00"} {
		r := p.get(t, "2.1", "os-instance_usage_audit_log", bad)
		if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), "Invalid timestamp for date "+bad) {
			t.Errorf("before %s: %d %s", bad, r.Status, r.Body)
		}
	}
	member := p.memberToken(t)
	for _, path := range []string{"/os-instance_usage_audit_log", "/os-instance_usage_audit_log/2026-03-15%2010:00:00"} {
		if r := p.Do(t, http.MethodGet, p.ComputeURL+path, member, nil); r.Status != http.StatusForbidden {
			t.Errorf("member GET %s: %d %s", path, r.Status, r.Body)
		}
	}
}
