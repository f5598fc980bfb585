package app_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/nimbus-cloud/nimbus/internal/cloudtest"
	"github.com/nimbus-cloud/nimbus/internal/console/novncproxy"
)

// consoleToken is the token a noVNC console URL carries in its path.
func consoleToken(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	path := u.Query().Get("path")
	tok := strings.TrimPrefix(path, "?token=")
	if tok == "" || tok == path {
		t.Fatalf("console URL %s carries no token in its path", raw)
	}
	return tok
}

func TestRemoteConsoleThroughTheProxy(t *testing.T) {
	t.Parallel()
	p := startPlane(t)
	id := p.boot(t, "vm", p.flavor(t, "tiny", 1, 64, 1))
	p.waitStatus(t, id, "ACTIVE")

	r := p.call(t, "2.6", "POST", "/servers/"+id+"/remote-consoles",
		map[string]any{"remote_console": map[string]any{"protocol": "vnc", "type": "novnc"}})
	if r.Status != http.StatusOK {
		t.Fatalf("remote-consoles: %d %s", r.Status, r.Body)
	}
	rc := r.JSON(t)["remote_console"].(map[string]any)
	consoleURL := rc["url"].(string)
	if rc["protocol"] != "vnc" || rc["type"] != "novnc" ||
		!strings.HasPrefix(consoleURL, p.ConsoleURL()+"?path=%3Ftoken%3D") ||
		!strings.HasSuffix(p.ConsoleURL(), "/vnc_auto.html") {
		t.Fatalf("remote console %v, want a URL on %s", rc, p.ConsoleURL())
	}
	token := consoleToken(t, consoleURL)

	// The token leads to the fake driver's VNC address.
	srv := p.call(t, "2.47", "GET", "/servers/"+id, nil).JSON(t)["server"].(map[string]any)
	vnc, err := p.FakeDriver(srv["OS-EXT-SRV-ATTR:host"].(string)).GetVNCConsole(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	r = p.call(t, "2.31", "GET", "/os-console-auth-tokens/"+token, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("os-console-auth-tokens: %d %s", r.Status, r.Body)
	}
	c := r.JSON(t)["console"].(map[string]any)
	if c["instance_uuid"] != id || c["host"] != vnc.Host || c["port"] != float64(vnc.Port) || c["internal_access_path"] != nil {
		t.Errorf("token shows %v, want %s on %s:%d", c, id, vnc.Host, vnc.Port)
	}

	// The page the URL names is served (or, without make novnc, says so).
	resp, err := http.Get(consoleURL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if built := novncproxy.Built(novncproxy.Embedded()); built && resp.StatusCode != http.StatusOK ||
		!built && resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("GET %s: %d %.100s", consoleURL, resp.StatusCode, body)
	}

	// The websocket noVNC opens, from the page's origin, reaches the guest.
	base, _ := url.Parse(p.ConsoleURL())
	ws, _, err := websocket.Dial(t.Context(), "ws://"+base.Host+"/?token="+url.QueryEscape(token),
		&websocket.DialOptions{HTTPHeader: http.Header{"Origin": {"http://" + base.Host}}})
	if err != nil {
		t.Fatalf("console websocket: %v", err)
	}
	// The fake driver's display, through the proxy: the RFB handshake as
	// Tempest's console test does it.
	next := func(want int) []byte {
		t.Helper()
		typ, msg, err := ws.Read(t.Context())
		if err != nil || typ != websocket.MessageBinary || (want > 0 && len(msg) != want) {
			t.Fatalf("read %v %q %v, want one binary message of %d bytes", typ, msg, err, want)
		}
		return msg
	}
	send := func(b ...byte) {
		t.Helper()
		if err := ws.Write(t.Context(), websocket.MessageBinary, b); err != nil {
			t.Fatal(err)
		}
	}
	if v := string(next(12)); v != "RFB 003.008\n" {
		t.Fatalf("version %q", v)
	}
	send([]byte("RFB 003.008\n")...)
	if types := next(2); types[0] != 1 || types[1] != 1 {
		t.Fatalf("security types %v", types)
	}
	send(1)
	if res := next(4); string(res) != "\x00\x00\x00\x00" {
		t.Fatalf("security result %v", res)
	}
	send(1)
	if init := next(0); len(init) != 24+len("Nimbus fake display") || string(init[24:]) != "Nimbus fake display" {
		t.Fatalf("server init %q", init)
	}
	ws.CloseNow()

	// A stopped guest's console is gone: its token leads nowhere until
	// the guest runs again on the same port, as nova's proxy checks with
	// the compute host.
	dial := func() (int, error) {
		ws, resp, err := websocket.Dial(t.Context(), "ws://"+base.Host+"/?token="+url.QueryEscape(token), nil)
		if err == nil {
			ws.CloseNow()
			return http.StatusSwitchingProtocols, nil
		}
		if resp == nil {
			return 0, err
		}
		return resp.StatusCode, nil
	}
	if r := p.call(t, "2.1", "POST", "/servers/"+id+"/action", map[string]any{"os-stop": nil}); r.Status != http.StatusAccepted {
		t.Fatalf("stop: %d %s", r.Status, r.Body)
	}
	p.waitStatus(t, id, "SHUTOFF")
	if status, err := dial(); status != http.StatusForbidden {
		t.Errorf("console of a stopped server: %d %v, want 403", status, err)
	}
	if r := p.call(t, "2.6", "POST", "/servers/"+id+"/remote-consoles",
		map[string]any{"remote_console": map[string]any{"protocol": "vnc", "type": "novnc"}}); r.Status != http.StatusConflict {
		t.Errorf("remote-consoles of a stopped server: %d %s, want 409", r.Status, r.Body)
	}
	if r := p.call(t, "2.1", "POST", "/servers/"+id+"/action", map[string]any{"os-start": nil}); r.Status != http.StatusAccepted {
		t.Fatalf("start: %d %s", r.Status, r.Body)
	}
	p.waitStatus(t, id, "ACTIVE")
	if status, err := dial(); status != http.StatusSwitchingProtocols {
		t.Errorf("console after the server started again: %d %v", status, err)
	}

	// The legacy action hands out consoles too; other types are refused
	// as nova refuses them.
	r = p.call(t, "2.5", "POST", "/servers/"+id+"/action", map[string]any{"os-getVNCConsole": map[string]any{"type": "novnc"}})
	if r.Status != http.StatusOK || !strings.HasPrefix(r.JSON(t)["console"].(map[string]any)["url"].(string), p.ConsoleURL()) {
		t.Errorf("os-getVNCConsole: %d %s", r.Status, r.Body)
	}
	for _, tc := range []struct{ mv, protocol, kind, msg string }{
		{"2.6", "vnc", "xvpvnc", "Invalid console type xvpvnc"},
		{"2.6", "spice", "spice-html5", "Unavailable console type spice-html5."},
		{"2.6", "serial", "serial", "Unavailable console type serial."},
		{"2.8", "mks", "webmks", "Unavailable console type webmks."},
	} {
		r := p.call(t, tc.mv, "POST", "/servers/"+id+"/remote-consoles",
			map[string]any{"remote_console": map[string]any{"protocol": tc.protocol, "type": tc.kind}})
		if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), tc.msg) {
			t.Errorf("%s console: %d %s, want 400 %q", tc.kind, r.Status, r.Body, tc.msg)
		}
	}

	// A deleted server's tokens go with it.
	if r := p.call(t, "2.1", "DELETE", "/servers/"+id, nil); r.Status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
	p.waitGone(t, id)
	if r := p.call(t, "2.31", "GET", "/os-console-auth-tokens/"+token, nil); r.Status != http.StatusNotFound {
		t.Errorf("token of a deleted server: %d %s", r.Status, r.Body)
	}
	_, resp, err = websocket.Dial(t.Context(), "ws://"+base.Host+"/?token="+url.QueryEscape(token), nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("websocket with the token of a deleted server: %v %v", resp, err)
	}
}

func TestConsolesDisabled(t *testing.T) {
	t.Parallel()
	p := startPlane(t, cloudtest.WithOption("vnc.enabled", "false"))
	id := p.boot(t, "vm", p.flavor(t, "tiny", 1, 64, 1))
	p.waitStatus(t, id, "ACTIVE")
	if p.ConsoleURL() != "" {
		t.Errorf("a console proxy runs at %s with [vnc] enabled = false", p.ConsoleURL())
	}
	r := p.call(t, "2.6", "POST", "/servers/"+id+"/remote-consoles",
		map[string]any{"remote_console": map[string]any{"protocol": "vnc", "type": "novnc"}})
	if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), "Unavailable console type novnc.") {
		t.Errorf("remote-consoles: %d %s", r.Status, r.Body)
	}
}

// A console whose host is down cannot be checked: the proxy says so rather
// than refuse the token.
func TestConsoleOfADownHost(t *testing.T) {
	t.Parallel()
	p := startPlane(t, cloudtest.WithOption("compute.service_down_time", "2"))
	id := p.boot(t, "vm", p.flavor(t, "tiny", 1, 64, 1))
	p.waitStatus(t, id, "ACTIVE")
	r := p.call(t, "2.6", "POST", "/servers/"+id+"/remote-consoles",
		map[string]any{"remote_console": map[string]any{"protocol": "vnc", "type": "novnc"}})
	if r.Status != http.StatusOK {
		t.Fatalf("remote-consoles: %d %s", r.Status, r.Body)
	}
	token := consoleToken(t, r.JSON(t)["remote_console"].(map[string]any)["url"].(string))
	srv := p.call(t, "2.47", "GET", "/servers/"+id, nil).JSON(t)["server"].(map[string]any)
	host := srv["OS-EXT-SRV-ATTR:host"].(string)
	if err := p.StopComputeHost(context.Background(), host); err != nil {
		t.Fatal(err)
	}
	cloudtest.Eventually(t, 10*time.Second, func() bool {
		for _, s := range p.listServices(t, "nova-compute") {
			if s.Host == host {
				return s.State == "down"
			}
		}
		return false
	}, host+" down")
	base, _ := url.Parse(p.ConsoleURL())
	_, resp, err := websocket.Dial(t.Context(), "ws://"+base.Host+"/?token="+url.QueryEscape(token), nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusBadGateway {
		t.Errorf("console of a down host: %v %v, want 502", resp, err)
	}
}
