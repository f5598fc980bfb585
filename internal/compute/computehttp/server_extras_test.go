package computehttp_test

import (
	"strings"
	"testing"
)

func TestRescueBackupResetOverHTTP(t *testing.T) {
	t.Parallel()
	h := newServersHarness(t, true)
	id := h.boot(t, tAlice, "vm", nil)
	action := func(token, mv string, body any) reply {
		t.Helper()
		return h.do(t, token, mv, "POST", "/servers/"+id+"/action", body)
	}
	status := func() string { return h.server(t, tAdmin, "", id)["status"].(string) }

	r := action(tAlice, "", map[string]any{"rescue": map[string]any{"adminPass": "pw"}}).want(t, 200)
	if r.json(t)["adminPass"] != "pw" || status() != "RESCUE" {
		t.Errorf("rescue: %s, status %s", r.Body, status())
	}
	action(tAlice, "", map[string]any{"rescue": nil}).wantFault(t, 409, "conflictingRequest",
		"Cannot 'rescue' instance "+id+" while it is in vm_state rescued")
	action(tAlice, "", map[string]any{"unrescue": nil}).want(t, 202)
	if status() != "ACTIVE" {
		t.Errorf("after unrescue: %s", status())
	}
	r = action(tAlice, "", map[string]any{"rescue": nil}).want(t, 200)
	if pw, _ := r.json(t)["adminPass"].(string); len(pw) != 12 {
		t.Errorf("generated rescue password %s", r.Body)
	}
	action(tAlice, "", map[string]any{"unrescue": nil}).want(t, 202)

	action(tAdmin, "", map[string]any{"os-resetState": map[string]any{"state": "error"}}).want(t, 202)
	if status() != "ERROR" {
		t.Errorf("after reset: %s", status())
	}
	action(tAdmin, "", map[string]any{"os-resetState": map[string]any{"state": "active"}}).want(t, 202)
	action(tAdmin, "", map[string]any{"injectNetworkInfo": nil}).want(t, 202)

	r = action(tAlice, "2.44", map[string]any{"createBackup": map[string]any{"name": "b", "backup_type": "daily",
		"rotation": 1}}).want(t, 202)
	if !strings.HasPrefix(r.Header.Get("Location"), "http://image.test:9292/images/") || len(r.Body) != 0 {
		t.Errorf("createBackup at 2.44: %q %q", r.Header.Get("Location"), r.Body)
	}
	r = action(tAlice, "2.44", map[string]any{"createBackup": map[string]any{"name": "b", "backup_type": "daily",
		"rotation": "0"}}).want(t, 202)
	if r.Header.Get("Location") != "" {
		t.Errorf("createBackup with rotation 0 has Location %q", r.Header.Get("Location"))
	}
	r = action(tAlice, "2.45", map[string]any{"createBackup": map[string]any{"name": "b", "backup_type": "weekly",
		"rotation": 3, "metadata": map[string]any{"k": "v"}}}).want(t, 202)
	if id, _ := r.json(t)["image_id"].(string); id == "" {
		t.Errorf("createBackup at 2.45: %s", r.Body)
	}

	bad := []struct {
		token string
		body  any
		code  int
		msg   string
	}{
		{tAlice, map[string]any{"rescue": map[string]any{"rescue_image_ref": "not-a-uuid"}}, 400, "is not a 'uuid'"},
		{tAlice, map[string]any{"rescue": map[string]any{"color": "red"}}, 400, "Additional properties are not allowed"},
		{tAlice, map[string]any{"rescue": map[string]any{"rescue_image_ref": "77777777-7777-4777-8777-777777777777"}},
			400, "Requested rescue image '77777777-7777-4777-8777-777777777777' is not supported"},
		{tAlice, map[string]any{"unrescue": nil}, 409, "Cannot 'unrescue' instance " + id + " while it is in vm_state active"},
		{tAlice, map[string]any{"os-resetState": map[string]any{"state": "error"}}, 403, "os-admin-actions:reset_state"},
		{tAdmin, map[string]any{"os-resetState": map[string]any{"state": "stopped"}}, 400, "is not one of ['active', 'error']"},
		{tAdmin, map[string]any{"os-resetState": nil}, 400, "is not of type 'object'"},
		{tAlice, map[string]any{"injectNetworkInfo": nil}, 403, "inject_network_info"},
		{tAlice, map[string]any{"createBackup": map[string]any{"name": "b", "backup_type": "daily"}}, 400,
			"'rotation' is a required property"},
		{tAlice, map[string]any{"createBackup": map[string]any{"name": "b", "backup_type": "daily", "rotation": -1}},
			400, "less than the minimum of 0"},
		{tAlice, map[string]any{"createBackup": map[string]any{"name": "", "backup_type": "daily", "rotation": 1}},
			400, "is too short"},
	}
	for _, b := range bad {
		name := map[int]string{400: "badRequest", 403: "forbidden", 409: "conflictingRequest"}[b.code]
		action(b.token, "", b.body).wantFault(t, b.code, name, b.msg)
	}
}

func TestDiagnosticsAndPasswordOverHTTP(t *testing.T) {
	t.Parallel()
	h := newServersHarness(t, true)
	id := h.boot(t, tAlice, "vm", nil)
	base := "/servers/" + id
	h.do(t, tAlice, "", "GET", base+"/diagnostics", nil).wantFault(t, 403, "forbidden", "os-server-diagnostics")
	d := h.do(t, tAdmin, "2.47", "GET", base+"/diagnostics", nil).want(t, 200).json(t)
	if d["cpu0_time"] != 1000.0 || d["vda_read"] != 512.0 || d["memory"] == nil {
		t.Errorf("diagnostics at 2.47: %v", d)
	}
	d = h.do(t, tAdmin, "2.48", "GET", base+"/diagnostics", nil).want(t, 200).json(t)
	cpus, _ := d["cpu_details"].([]any)
	if d["state"] != "running" || d["driver"] != "libvirt" || d["num_cpus"] != 1.0 || d["num_nics"] != 0.0 ||
		len(cpus) != 1 || cpus[0].(map[string]any)["utilisation"] != 10.0 || d["nic_details"] == nil ||
		d["memory_details"].(map[string]any)["maximum"] == nil {
		t.Errorf("diagnostics at 2.48: %v", d)
	}
	h.do(t, tAdmin, "2.48", "GET", "/servers/77777777-7777-4777-8777-777777777777/diagnostics", nil).want(t, 404)

	r := h.do(t, tAlice, "", "GET", base+"/os-server-password", nil).want(t, 200)
	if pw, ok := r.json(t)["password"]; !ok || pw != "" {
		t.Errorf("password %s", r.Body)
	}
	h.do(t, tAlice, "", "DELETE", base+"/os-server-password", nil).want(t, 204)
}
