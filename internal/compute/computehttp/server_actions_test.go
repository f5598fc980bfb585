package computehttp_test

import (
	"strings"
	"testing"
)

func TestServerActionsOverHTTP(t *testing.T) {
	t.Parallel()
	h := newServersHarness(t, true)
	id := h.boot(t, tAlice, "vm", nil)
	action := func(token, mv string, body any) reply {
		t.Helper()
		return h.do(t, token, mv, "POST", "/servers/"+id+"/action", body)
	}
	status := func() string { return h.server(t, tAdmin, "", id)["status"].(string) }
	steps := []struct {
		token, mv string
		body      any
		code      int
		status    string
	}{
		{tAlice, "", map[string]any{"os-stop": nil}, 202, "SHUTOFF"},
		{tAlice, "", map[string]any{"os-start": nil}, 202, "ACTIVE"},
		{tAlice, "", map[string]any{"reboot": map[string]any{"type": "soft"}}, 202, "ACTIVE"},
		{tAlice, "", map[string]any{"pause": nil}, 202, "PAUSED"},
		{tAlice, "", map[string]any{"unpause": nil}, 202, "ACTIVE"},
		{tAlice, "", map[string]any{"suspend": nil}, 202, "SUSPENDED"},
		{tAlice, "", map[string]any{"resume": nil}, 202, "ACTIVE"},
		{tAlice, "", map[string]any{"resize": map[string]any{"flavorRef": "2"}}, 202, "VERIFY_RESIZE"},
		{tAlice, "", map[string]any{"confirmResize": nil}, 204, "ACTIVE"},
		{tAdmin, "2.56", map[string]any{"migrate": map[string]any{"host": "compute1"}}, 202, "VERIFY_RESIZE"},
		{tAlice, "", map[string]any{"revertResize": nil}, 202, "ACTIVE"},
		{tAdmin, "2.25", map[string]any{"os-migrateLive": map[string]any{"host": nil, "block_migration": "auto"}}, 202, "ACTIVE"},
		{tAlice, "", map[string]any{"shelve": nil}, 202, "SHELVED"},
		{tAdmin, "", map[string]any{"shelveOffload": nil}, 202, "SHELVED_OFFLOADED"},
		{tAlice, "2.77", map[string]any{"unshelve": nil}, 202, "ACTIVE"},
	}
	for _, s := range steps {
		r := action(s.token, s.mv, s.body)
		if r.Status != s.code {
			t.Fatalf("%v: %d %s", s.body, r.Status, r.Body)
		}
		if got := status(); got != s.status {
			t.Fatalf("after %v: %s, want %s", s.body, got, s.status)
		}
	}
	// Rebuild answers with the server, its password and (2.57) user data.
	r := action(tAlice, "2.57", map[string]any{"rebuild": map[string]any{"imageRef": imgOther, "name": "vm2",
		"user_data": "aGk=", "key_name": nil}}).want(t, 202)
	s := r.json(t)["server"].(map[string]any)
	if s["name"] != "vm2" || s["image"].(map[string]any)["id"] != imgOther || s["user_data"] != "aGk=" ||
		len(s["adminPass"].(string)) != 12 || s["key_name"] != nil {
		t.Errorf("rebuild response %v", s)
	}
	if _, ok := s["OS-EXT-STS:vm_state"]; ok {
		t.Error("rebuild before 2.75 shows extended status")
	}
	s = action(tAlice, "2.75", map[string]any{"rebuild": map[string]any{"imageRef": imgCirros}}).want(t, 202).json(t)["server"].(map[string]any)
	if _, ok := s["OS-EXT-STS:vm_state"]; !ok {
		t.Error("rebuild from 2.75 hides extended status")
	}
	// createImage: a Location before 2.45, the image id since.
	r = action(tAlice, "2.44", map[string]any{"createImage": map[string]any{"name": "snap"}}).want(t, 202)
	if !strings.HasPrefix(r.Header.Get("Location"), "http://image.test:9292/images/") || len(r.Body) != 0 {
		t.Errorf("createImage at 2.44: %s %q", r.Header.Get("Location"), r.Body)
	}
	r = action(tAlice, "2.45", map[string]any{"createImage": map[string]any{"name": "snap2", "metadata": map[string]any{"a": "b"}}}).want(t, 202)
	if r.json(t)["image_id"] == "" {
		t.Errorf("createImage at 2.45: %s", r.Body)
	}
	// Locks with a reason (2.73) show on the server.
	action(tAlice, "2.73", map[string]any{"lock": map[string]any{"locked_reason": "upgrade"}}).want(t, 202)
	if s := h.server(t, tAlice, "2.73", id); s["locked"] != true || s["locked_reason"] != "upgrade" {
		t.Errorf("locked server %v %v", s["locked"], s["locked_reason"])
	}
	action(tAlice, "", map[string]any{"os-stop": nil}).wantFault(t, 409, "conflictingRequest", "Instance "+id+" is locked")
	action(tAlice, "", map[string]any{"unlock": nil}).want(t, 202)
	// Consoles.
	r = action(tAlice, "", map[string]any{"os-getConsoleOutput": map[string]any{"length": "2"}}).want(t, 200)
	if r.json(t)["output"] != "boot line 2\nlogin:" {
		t.Errorf("console output %s", r.Body)
	}
	r = action(tAlice, "2.5", map[string]any{"os-getVNCConsole": map[string]any{"type": "novnc"}}).want(t, 200)
	if c := r.json(t)["console"].(map[string]any); c["type"] != "novnc" || !strings.Contains(c["url"].(string), id) {
		t.Errorf("vnc console %v", c)
	}
	action(tAlice, "2.6", map[string]any{"os-getVNCConsole": map[string]any{"type": "novnc"}}).want(t, 404)
	r = h.do(t, tAlice, "2.6", "POST", "/servers/"+id+"/remote-consoles", map[string]any{"remote_console": map[string]any{
		"protocol": "vnc", "type": "novnc"}}).want(t, 200)
	if c := r.json(t)["remote_console"].(map[string]any); c["protocol"] != "vnc" || c["url"] == "" {
		t.Errorf("remote console %v", c)
	}
	h.do(t, tAlice, "2.5", "POST", "/servers/"+id+"/remote-consoles", map[string]any{}).want(t, 404)
	h.do(t, tAlice, "2.8", "POST", "/servers/"+id+"/remote-consoles", map[string]any{"remote_console": map[string]any{
		"protocol": "rdp", "type": "rdp-html5"}}).wantFault(t, 400, "badRequest", "Unavailable console type rdp.")

	// Bad bodies.
	bad := []struct {
		mv   string
		body any
		code int
		msg  string
	}{
		{"", map[string]any{"fly": nil}, 400, "There is no such action: fly"},
		{"", map[string]any{"os-stop": nil, "os-start": nil}, 400, "Malformed request body"},
		{"", map[string]any{"reboot": map[string]any{"type": "gentle"}}, 400, "is not one of ['HARD'"},
		{"", map[string]any{"resize": map[string]any{"flavorRef": "2"}}, 400, "When resizing, instances must change flavor!"},
		{"", map[string]any{"resize": map[string]any{"flavorRef": "1"}}, 400, "Flavor's disk is smaller than the minimum size"},
		{"", map[string]any{"os-start": nil}, 409, "Cannot 'start' instance " + id + " while it is in vm_state active"},
		{"", map[string]any{"migrate": nil}, 403, "os-migrate-server:migrate"},
		{"2.73", map[string]any{"lock": map[string]any{"locked_reason": ""}}, 400, "is too short"},
		{"2.30", map[string]any{"os-migrateLive": map[string]any{"host": nil, "block_migration": "auto", "force": true}},
			403, "migrate_live"},
		{"2.77", map[string]any{"unshelve": map[string]any{}}, 400, "'availability_zone' is a required property"},
		{"", map[string]any{"os-getConsoleOutput": map[string]any{"length": -2}}, 400, "less than the minimum of -1"},
	}
	for _, b := range bad {
		name := map[int]string{400: "badRequest", 403: "forbidden", 409: "conflictingRequest"}[b.code]
		action(tAlice, b.mv, b.body).wantFault(t, b.code, name, b.msg)
	}
	action(tAdmin, "2.30", map[string]any{"os-migrateLive": map[string]any{"host": nil, "block_migration": "auto",
		"force": true}}).wantFault(t, 400, "badRequest", "Can't force to a non-provided destination")
	action(tAdmin, "2.14", map[string]any{"evacuate": map[string]any{}}).wantFault(t, 400, "badRequest",
		"Compute service of compute1 is still in use.")
	action(tAlice, "", map[string]any{"forceDelete": nil}).want(t, 202)
	h.do(t, tAlice, "", "GET", "/servers/"+id, nil).want(t, 404)
}

func TestServerPartsOverHTTP(t *testing.T) {
	t.Parallel()
	h := newServersHarness(t, true)
	id := h.boot(t, tAlice, "vm", map[string]any{"metadata": map[string]any{"a": "1"}})
	base := "/servers/" + id
	md := h.do(t, tAlice, "", "POST", base+"/metadata", map[string]any{"metadata": map[string]any{"b": "2"}}).want(t, 200)
	if m := md.json(t)["metadata"].(map[string]any); len(m) != 2 {
		t.Errorf("merged metadata %v", m)
	}
	h.do(t, tAlice, "", "PUT", base+"/metadata/c", map[string]any{"meta": map[string]any{"c": "3"}}).want(t, 200)
	h.do(t, tAlice, "", "PUT", base+"/metadata/c", map[string]any{"meta": map[string]any{"d": "3"}}).wantFault(t, 400,
		"badRequest", "Request body and URI mismatch")
	h.do(t, tAlice, "", "PUT", base+"/metadata/c", map[string]any{"meta": map[string]any{"c": "3", "d": "4"}}).wantFault(t,
		400, "badRequest", "has too many properties")
	r := h.do(t, tRita, "", "GET", base+"/metadata/c", nil).want(t, 200)
	if r.json(t)["meta"].(map[string]any)["c"] != "3" {
		t.Errorf("item %s", r.Body)
	}
	h.do(t, tAlice, "", "DELETE", base+"/metadata/c", nil).want(t, 204)
	h.do(t, tAlice, "", "DELETE", base+"/metadata/c", nil).wantFault(t, 404, "itemNotFound", "Metadata item was not found")
	r = h.do(t, tAlice, "", "PUT", base+"/metadata", map[string]any{"metadata": map[string]any{"z": "9"}}).want(t, 200)
	if m := h.do(t, tAlice, "", "GET", base+"/metadata", nil).want(t, 200).json(t)["metadata"].(map[string]any); len(m) != 1 || m["z"] != "9" {
		t.Errorf("replaced metadata %v", m)
	}
	h.do(t, tRita, "", "PUT", base+"/metadata", map[string]any{"metadata": map[string]any{}}).wantFault(t, 403, "forbidden",
		"server-metadata:update_all")

	// Tags from 2.26.
	h.do(t, tAlice, "2.25", "GET", base+"/tags", nil).want(t, 404)
	r = h.do(t, tAlice, "2.26", "PUT", base+"/tags/web", nil).want(t, 201)
	if !strings.HasSuffix(r.Header.Get("Location"), base+"/tags/web") {
		t.Errorf("tag location %s", r.Header.Get("Location"))
	}
	h.do(t, tAlice, "2.26", "PUT", base+"/tags/web", nil).want(t, 204)
	h.do(t, tAlice, "2.26", "PUT", base+"/tags/a,b", nil).wantFault(t, 400, "badRequest", "Tag 'a,b' is invalid.")
	h.do(t, tAlice, "2.26", "GET", base+"/tags/web", nil).want(t, 204)
	h.do(t, tAlice, "2.26", "GET", base+"/tags/db", nil).wantFault(t, 404, "itemNotFound", "has no tag 'db'")
	r = h.do(t, tAlice, "2.26", "PUT", base+"/tags", map[string]any{"tags": []string{"y", "x"}}).want(t, 200)
	if tags := r.json(t)["tags"].([]any); len(tags) != 2 || tags[0] != "x" {
		t.Errorf("tags %v", tags)
	}
	h.do(t, tAlice, "2.26", "DELETE", base+"/tags/x", nil).want(t, 204)
	h.do(t, tAlice, "2.26", "DELETE", base+"/tags", nil).want(t, 204)
	if tags := h.do(t, tAlice, "2.26", "GET", base+"/tags", nil).want(t, 200).json(t)["tags"].([]any); len(tags) != 0 {
		t.Errorf("tags after delete %v", tags)
	}
	// Addresses: none until networking exists.
	if a := h.do(t, tRita, "", "GET", base+"/ips", nil).want(t, 200).json(t)["addresses"].(map[string]any); len(a) != 0 {
		t.Errorf("addresses %v", a)
	}
	h.do(t, tRita, "", "GET", base+"/ips/private", nil).wantFault(t, 404, "itemNotFound",
		"Instance is not a member of specified network")

	// Instance actions: 2.58 pages and updated_at; events for members
	// from 2.51 without tracebacks; hostId from 2.62; details to admins
	// from 2.84.
	for range 3 {
		h.do(t, tAlice, "", "POST", base+"/action", map[string]any{"reboot": map[string]any{"type": "HARD"}}).want(t, 202)
	}
	r = h.do(t, tAlice, "2.58", "GET", base+"/os-instance-actions?limit=2", nil).want(t, 200)
	acts := r.json(t)["instanceActions"].([]any)
	first := acts[0].(map[string]any)
	if len(acts) != 2 || first["action"] != "reboot" || first["updated_at"] == nil || first["instance_uuid"] != id {
		t.Fatalf("actions %s", r.Body)
	}
	next := r.json(t)["links"].([]any)[0].(map[string]any)["href"].(string)
	if !strings.Contains(next, "/v2.1/servers/"+id+"/os-instance-actions?") {
		t.Errorf("actions next link %s", next)
	}
	h.do(t, tAlice, "2.58", "GET", base+"/os-instance-actions?foo=1", nil).wantFault(t, 400, "badRequest", "was unexpected")
	h.do(t, tAlice, "2.58", "GET", base+"/os-instance-actions?marker=nope", nil).wantFault(t, 400, "badRequest",
		"Marker nope could not be found.")
	all := h.do(t, tAlice, "2.1", "GET", base+"/os-instance-actions", nil).want(t, 200).json(t)["instanceActions"].([]any)
	create := all[len(all)-1].(map[string]any)
	if create["action"] != "create" || create["updated_at"] != nil {
		t.Errorf("create action at 2.1 %v", create)
	}
	req := create["request_id"].(string)
	show := func(token, mv string) map[string]any {
		return h.do(t, token, mv, "GET", base+"/os-instance-actions/"+req, nil).want(t, 200).json(t)["instanceAction"].(map[string]any)
	}
	if _, ok := show(tAlice, "2.50")["events"]; ok {
		t.Error("a member sees events at 2.50")
	}
	ev := show(tAlice, "2.62")["events"].([]any)[0].(map[string]any)
	if ev["event"] != "compute_build_instances" || ev["result"] != "Success" || ev["hostId"] == "" || ev["host"] != nil ||
		ev["traceback"] != nil {
		t.Errorf("member's event %v", ev)
	}
	if _, ok := ev["traceback"]; ok {
		t.Error("a member sees tracebacks")
	}
	ev = show(tAdmin, "2.84")["events"].([]any)[0].(map[string]any)
	if ev["host"] != "compute1" {
		t.Errorf("admin's event %v", ev)
	}
	if _, ok := ev["details"]; !ok {
		t.Errorf("admin sees no details at 2.84: %v", ev)
	}
	h.do(t, tAlice, "", "GET", base+"/os-instance-actions/req-nope", nil).wantFault(t, 404, "itemNotFound",
		"Action req-nope not found")
	// A deleted server's actions stay readable from 2.21.
	h.do(t, tAlice, "", "DELETE", base, nil).want(t, 204)
	h.do(t, tAlice, "2.20", "GET", base+"/os-instance-actions", nil).want(t, 404)
	h.do(t, tAlice, "2.21", "GET", base+"/os-instance-actions", nil).want(t, 200)
}
