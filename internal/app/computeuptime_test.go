package app_test

import (
	"context"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/cloudtest"
)

// TestHypervisorUptime reads a fake host's uptime through the uptime API
// (before 2.88) and the hypervisor details (2.88), and stops the host to
// see both give it up.
func TestHypervisorUptime(t *testing.T) {
	t.Parallel()
	p := startPlane(t, cloudtest.WithOption("compute.service_down_time", "1"))
	token := p.Token(t, cloudtest.Admin)
	do := func(path, mv string) *cloudtest.Response {
		return p.Do(t, "GET", p.ComputeURL+path, token, nil, "OpenStack-API-Version", "compute "+mv)
	}
	list := do("/os-hypervisors", "2.1").JSON(t)["hypervisors"].([]any)
	hv := list[0].(map[string]any)
	id := strconv.Itoa(int(hv["id"].(float64)))
	uptimeText := regexp.MustCompile(`^ \d\d:\d\d:\d\d up (\d+ min|[ \d]\d:\d\d|\d+ days?, [ \d]\d:\d\d)$`)
	r := do("/os-hypervisors/"+id+"/uptime", "2.1")
	got := r.JSON(t)["hypervisor"].(map[string]any)
	if r.Status != http.StatusOK || !uptimeText.MatchString(got["uptime"].(string)) || got["state"] != "up" ||
		got["status"] != "enabled" || got["hypervisor_hostname"] != hv["hypervisor_hostname"] || len(got) != 5 {
		t.Errorf("uptime: %d %s", r.Status, r.Body)
	}
	uuid := do("/os-hypervisors", "2.53").JSON(t)["hypervisors"].([]any)[0].(map[string]any)["id"].(string)
	if r := do("/os-hypervisors/"+uuid+"/uptime", "2.53"); r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"id":"`+uuid) {
		t.Errorf("uptime at 2.53: %d %s", r.Status, r.Body)
	}
	detail := do("/os-hypervisors/"+uuid, "2.88").JSON(t)["hypervisor"].(map[string]any)
	if up, _ := detail["uptime"].(string); !uptimeText.MatchString(up) {
		t.Errorf("uptime at 2.88: %v", detail["uptime"])
	}
	for _, tc := range []struct {
		path, mv string
		want     int
		msg      string
	}{
		{"/os-hypervisors/" + uuid + "/uptime", "2.88", 404, "could not be found"},
		{"/os-hypervisors/999/uptime", "2.1", 404, "Hypervisor with ID '999' could not be found."},
		{"/os-hypervisors/abc/uptime", "2.53", 400, "Invalid uuid abc"},
	} {
		if r := do(tc.path, tc.mv); r.Status != tc.want || !strings.Contains(string(r.Body), tc.msg) {
			t.Errorf("GET %s at %s = %d %s; want %d with %q", tc.path, tc.mv, r.Status, r.Body, tc.want, tc.msg)
		}
	}
	if r := p.Do(t, "GET", p.ComputeURL+"/os-hypervisors/"+id+"/uptime", p.memberToken(t), nil); r.Status != http.StatusForbidden {
		t.Errorf("member reads uptime: %d %s", r.Status, r.Body)
	}

	if err := p.StopComputeHost(context.Background(), got["hypervisor_hostname"].(string)); err != nil {
		t.Fatal(err)
	}
	var last *cloudtest.Response
	cloudtest.Eventually(t, 10*time.Second, func() bool {
		last = do("/os-hypervisors/"+id+"/uptime", "2.1")
		return last.Status == http.StatusBadRequest
	}, "uptime of a stopped host refused")
	if !strings.Contains(string(last.Body), "is unavailable at this time.") {
		t.Errorf("uptime of a stopped host: %s", last.Body)
	}
	if detail := do("/os-hypervisors/"+uuid, "2.88").JSON(t)["hypervisor"].(map[string]any); detail["uptime"] != nil {
		t.Errorf("uptime of a stopped host at 2.88: %v", detail["uptime"])
	}
}

// TestExtensions lists nova's extension list and shows one by alias.
func TestExtensions(t *testing.T) {
	t.Parallel()
	c := cloudtest.Start(t)
	token := c.Token(t, cloudtest.Admin)
	r := c.Do(t, "GET", c.ComputeURL+"/extensions", token, nil)
	exts := r.JSON(t)["extensions"].([]any)
	if r.Status != http.StatusOK || len(exts) < 50 {
		t.Fatalf("extensions: %d %s", r.Status, r.Body)
	}
	first := exts[0].(map[string]any)
	if first["alias"] != "NMN" || first["updated"] != "2014-12-03T00:00:00Z" || first["links"] == nil {
		t.Errorf("first extension %v", first)
	}
	r = c.Do(t, "GET", c.ComputeURL+"/extensions/os-migrations", token, nil)
	if ext := r.JSON(t)["extension"].(map[string]any); ext["name"] != "Migrations" || ext["description"] != "Provide data on migrations." {
		t.Errorf("os-migrations extension: %s", r.Body)
	}
	if r := c.Do(t, "GET", c.ComputeURL+"/extensions/os-nothing", token, nil); r.Status != http.StatusNotFound {
		t.Errorf("unknown extension: %d %s", r.Status, r.Body)
	}
	if r := c.Do(t, "GET", c.ComputeURL+"/extensions", "", nil); r.Status != http.StatusUnauthorized {
		t.Errorf("extensions without a token: %d", r.Status)
	}
}
