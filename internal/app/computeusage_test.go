package app_test

import (
	"context"
	"math"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"

	"github.com/nimbus-cloud/nimbus/internal/cloudtest"
)

// usageTimeFormat is how nova reads start and end, and writes times.
const usageTimeFormat = "2006-01-02T15:04:05.000000"

// TestSimpleTenantUsage bills a deleted server and a live one: hours are
// the part of each server's life inside the window, totals weigh them by
// the flavor, and pages (2.40) link on by instance.
func TestSimpleTenantUsage(t *testing.T) {
	t.Parallel()
	p := startPlane(t)
	ctx := context.Background()
	token := p.Token(t, cloudtest.Admin)
	flavor := p.flavor(t, "m1.usage", 2, 512, 3)
	gone := p.boot(t, "gone", flavor)
	p.waitStatus(t, gone, "ACTIVE")
	if err := servers.Delete(ctx, p.compute, gone).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	p.waitGone(t, gone)
	live := p.boot(t, "live", flavor)
	project := p.waitStatus(t, live, "ACTIVE").TenantID

	get := func(path, mv string) *cloudtest.Response {
		return p.Do(t, "GET", p.ComputeURL+"/os-simple-tenant-usage"+path, token, nil, "OpenStack-API-Version", "compute "+mv)
	}
	from := time.Now().UTC().Add(-time.Hour).Format(usageTimeFormat)
	to := time.Now().UTC().Add(time.Hour).Format(usageTimeFormat)
	window := "?start=" + url.QueryEscape(from) + "&end=" + url.QueryEscape(to)
	r := get("/"+project+window, "2.1")
	if r.Status != http.StatusOK {
		t.Fatalf("show usage: %d %s", r.Status, r.Body)
	}
	usage := r.JSON(t)["tenant_usage"].(map[string]any)
	servers := map[string]map[string]any{}
	for _, s := range usage["server_usages"].([]any) {
		s := s.(map[string]any)
		servers[s["instance_id"].(string)] = s
	}
	g, l := servers[gone], servers[live]
	if g == nil || l == nil || len(servers) != 2 {
		t.Fatalf("server usages %v", usage["server_usages"])
	}
	started, _ := time.Parse(usageTimeFormat, g["started_at"].(string))
	ended, _ := time.Parse(usageTimeFormat, g["ended_at"].(string))
	if g["state"] != "terminated" || g["flavor"] != "m1.usage" || g["vcpus"] != 2.0 || g["memory_mb"] != 512.0 ||
		g["local_gb"] != 3.0 || g["tenant_id"] != project || g["name"] != "gone" || !ended.After(started) {
		t.Errorf("deleted server's usage %v", g)
	}
	if math.Abs(g["hours"].(float64)-ended.Sub(started).Hours()) > 1e-9 {
		t.Errorf("deleted server billed %v hours, lived %v", g["hours"], ended.Sub(started).Hours())
	}
	if l["state"] != "active" || l["ended_at"] != nil || l["hours"].(float64) <= 0 {
		t.Errorf("live server's usage %v", l)
	}
	hours := g["hours"].(float64) + l["hours"].(float64)
	if math.Abs(usage["total_hours"].(float64)-hours) > 1e-9 ||
		math.Abs(usage["total_vcpus_usage"].(float64)-2*hours) > 1e-9 ||
		math.Abs(usage["total_memory_mb_usage"].(float64)-512*hours) > 1e-6 ||
		math.Abs(usage["total_local_gb_usage"].(float64)-3*hours) > 1e-9 || usage["start"] != from {
		t.Errorf("totals %v; want %v hours", usage, hours)
	}

	// A window inside the deleted server's life bills the window alone.
	quarter := ended.Sub(started) / 4
	inner := "?start=" + url.QueryEscape(started.Add(quarter).Format(usageTimeFormat)) +
		"&end=" + url.QueryEscape(ended.Add(-quarter).Format(usageTimeFormat))
	r = get("/"+project+inner, "2.1")
	for _, s := range r.JSON(t)["tenant_usage"].(map[string]any)["server_usages"].([]any) {
		s := s.(map[string]any)
		if s["instance_id"] == gone && math.Abs(s["hours"].(float64)-(ended.Sub(started)-2*quarter).Hours()) > 1e-9 {
			t.Errorf("inner window billed %v hours, want %v", s["hours"], (ended.Sub(started) - 2*quarter).Hours())
		}
	}
	// Before the servers launched there is nothing to bill.
	early := "?start=2020-01-01T00:00:00&end=2020-01-02T00:00:00"
	if r := get("/"+project+early, "2.1"); !strings.Contains(string(r.Body), `"tenant_usage":{}`) {
		t.Errorf("usage before launch: %s", r.Body)
	}

	// The list sums per project, lists servers when detailed, pages by
	// instance from 2.40.
	r = get(window, "2.1")
	list := r.JSON(t)["tenant_usages"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["server_usages"] != nil {
		t.Errorf("list: %s", r.Body)
	}
	r = get(window+"&detailed=1&limit=1", "2.40")
	body := r.JSON(t)
	list = body["tenant_usages"].([]any)
	if len(list) != 1 || len(list[0].(map[string]any)["server_usages"].([]any)) != 1 || body["tenant_usages_links"] == nil {
		t.Fatalf("first page: %s", r.Body)
	}
	first := list[0].(map[string]any)["server_usages"].([]any)[0].(map[string]any)["instance_id"].(string)
	next := body["tenant_usages_links"].([]any)[0].(map[string]any)["href"].(string)
	if !strings.Contains(next, "marker="+first) {
		t.Errorf("next link %s", next)
	}
	r = get(window+"&detailed=1&limit=1&marker="+first, "2.40")
	second := r.JSON(t)["tenant_usages"].([]any)[0].(map[string]any)["server_usages"].([]any)[0].(map[string]any)
	if second["instance_id"] == first {
		t.Errorf("second page repeats %s", first)
	}

	for _, tc := range []struct {
		path, mv string
		want     int
		msg      string
	}{
		{"?start=yesterday", "2.1", 400, "Invalid datetime string: Datetime is in invalid format"},
		{"?start=" + url.QueryEscape(to) + "&end=" + url.QueryEscape(from), "2.1", 400,
			"Invalid start time. The start time cannot occur after the end time."},
		{window + "&marker=nope", "2.40", 400, "Marker nope could not be found."},
		{window + "&limit=x", "2.40", 400, "limit"},
		{window + "&foo=1", "2.74", 200, "tenant_usages"},
		{window + "&foo=1", "2.75", 400, "Additional properties are not allowed"},
	} {
		r := get(tc.path, tc.mv)
		if r.Status != tc.want || !strings.Contains(string(r.Body), tc.msg) {
			t.Errorf("GET %s at %s = %d %s; want %d with %q", tc.path, tc.mv, r.Status, r.Body, tc.want, tc.msg)
		}
	}

	// A member reads their project's usage but not every project's.
	member := p.memberToken(t)
	if r := p.Do(t, "GET", p.ComputeURL+"/os-simple-tenant-usage", member, nil); r.Status != http.StatusForbidden {
		t.Errorf("member lists usage: %d %s", r.Status, r.Body)
	}
	if r := p.Do(t, "GET", p.ComputeURL+"/os-simple-tenant-usage/"+project+window, member, nil); r.Status != http.StatusOK {
		t.Errorf("member shows their project's usage: %d %s", r.Status, r.Body)
	}
	if r := p.Do(t, "GET", p.ComputeURL+"/os-simple-tenant-usage/other"+window, member, nil); r.Status != http.StatusForbidden {
		t.Errorf("member shows another project's usage: %d %s", r.Status, r.Body)
	}
}
