package novncproxy_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/coder/websocket"

	"github.com/nimbus-cloud/nimbus/internal/console"
	"github.com/nimbus-cloud/nimbus/internal/console/novncproxy"
)

// memStore is console.Store in memory.
type memStore struct {
	mu   sync.Mutex
	recs map[string]console.Record
}

func (m *memStore) CreateConsoleToken(_ context.Context, r console.Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.recs[r.TokenHash] = r
	return nil
}

func (m *memStore) ConsoleToken(_ context.Context, hash string, now time.Time) (console.Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.recs[hash]
	if !ok || !r.Expires.After(now) {
		return console.Record{}, console.ErrNotFound
	}
	return r, nil
}

func (m *memStore) DeleteExpiredConsoleTokens(context.Context, time.Time) (int64, error) {
	return 0, nil
}
func (m *memStore) DeleteInstanceConsoleTokens(context.Context, string) error { return nil }

// fakeRFB is a VNC server that greets with RFB 3.8 and echoes what it
// receives.
func fakeRFB(t *testing.T) (host string, port int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if _, err := io.WriteString(c, "RFB 003.008\n"); err != nil {
					return
				}
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	a := ln.Addr().(*net.TCPAddr)
	return a.IP.String(), a.Port
}

type env struct {
	srv    *httptest.Server
	tokens *console.Tokens
	now    time.Time
	mu     sync.Mutex
	host   string
	port   int
}

func (e *env) clock() time.Time { e.mu.Lock(); defer e.mu.Unlock(); return e.now }
func (e *env) advance(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.now = e.now.Add(d)
}

// issue authorizes a token for the fake VNC server, with a console URL on
// the proxy's host.
func (e *env) issue(t *testing.T, base string) string {
	t.Helper()
	if base == "" {
		base = e.srv.URL + "/vnc_auto.html"
	}
	tok, _, err := e.tokens.Authorize(t.Context(), console.Connection{InstanceUUID: "4e0d1c2a-9f3b-4a57-8d2e-0b1c2d3e4f50",
		ConsoleType: console.TypeNoVNC, Host: e.host, Port: e.port, AccessURLBase: base})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func newEnv(t *testing.T, o novncproxy.Options) *env {
	t.Helper()
	e := &env{now: time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)}
	e.host, e.port = fakeRFB(t)
	e.tokens = console.NewTokens(&memStore{recs: map[string]console.Record{}},
		console.Options{TTL: time.Minute, Now: e.clock})
	p := novncproxy.New(e.tokens, o)
	e.srv = httptest.NewServer(p)
	t.Cleanup(func() {
		e.srv.Close()
		p.Close()
	})
	return e
}

func wsURL(srv *httptest.Server, pathAndQuery string) string {
	return "ws" + strings.TrimPrefix(srv.URL, "http") + pathAndQuery
}

// handshake reads the server's RFB version through c, answers it and
// checks that the answer comes back (the fake echoes).
func handshake(t *testing.T, c *websocket.Conn) {
	t.Helper()
	ctx := t.Context()
	typ, msg, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read the server's version: %v", err)
	}
	if typ != websocket.MessageBinary || string(msg) != "RFB 003.008\n" {
		t.Fatalf("got %v %q, want binary RFB 003.008", typ, msg)
	}
	if err := c.Write(ctx, websocket.MessageBinary, []byte("RFB 003.008\n")); err != nil {
		t.Fatal(err)
	}
	_, msg, err = c.Read(ctx)
	if err != nil || string(msg) != "RFB 003.008\n" {
		t.Fatalf("echo: %q, %v", msg, err)
	}
}

func TestRelayWithAValidToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t, novncproxy.Options{})
	tok := e.issue(t, "")
	for _, tc := range []struct {
		name   string
		path   string
		header http.Header
	}{
		{"token query", "/?token=" + tok, nil},
		{"websockify path", "/websockify?token=" + tok, nil},
		{"nested path query", "/?path=" + url.QueryEscape("?token="+tok), nil},
		{"cookie", "/", http.Header{"Cookie": {"other=1; token=" + tok}}},
		{"same-host origin", "/?token=" + tok, http.Header{"Origin": {e.srv.URL}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, resp, err := websocket.Dial(t.Context(), wsURL(e.srv, tc.path),
				&websocket.DialOptions{HTTPHeader: tc.header, Subprotocols: []string{"binary"}})
			if err != nil {
				t.Fatalf("dial: %v (%v)", err, resp)
			}
			defer c.CloseNow()
			if c.Subprotocol() != "binary" {
				t.Errorf("subprotocol %q, want binary", c.Subprotocol())
			}
			handshake(t, c)
		})
	}
}

// refused dials and returns the status and reason of a refused websocket.
func refused(t *testing.T, url string, h http.Header) (int, string) {
	t.Helper()
	c, resp, err := websocket.Dial(t.Context(), url, &websocket.DialOptions{HTTPHeader: h})
	if err == nil {
		c.CloseNow()
		t.Fatalf("the websocket was accepted")
	}
	if resp == nil {
		t.Fatalf("no HTTP answer: %v", err)
	}
	if body, _ := io.ReadAll(resp.Body); len(body) != 0 {
		t.Errorf("a refused websocket has a body: %q", body)
	}
	if !resp.Close && resp.Header.Get("Connection") != "close" {
		t.Errorf("a refused websocket keeps its connection: %v", resp.Header)
	}
	return resp.StatusCode, resp.Header.Get(novncproxy.ErrorHeader)
}

func TestRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t, novncproxy.Options{AllowedOrigins: []string{"dashboard.example"}})
	expired := e.issue(t, "")
	e.advance(30 * time.Second)
	tok := e.issue(t, "")
	tlsTok := e.issue(t, "https://console.example/vnc_auto.html")
	e.advance(31 * time.Second)

	for _, tc := range []struct {
		name   string
		path   string
		header http.Header
		status int
		msg    string
	}{
		{"no token", "/", nil, http.StatusForbidden, "No console token"},
		{"unknown token", "/?token=nope", nil, http.StatusForbidden, "invalid or has expired"},
		{"expired token", "/?token=" + expired, nil, http.StatusForbidden, "invalid or has expired"},
		{"foreign origin", "/?token=" + tok, http.Header{"Origin": {"http://evil.example"}}, http.StatusForbidden,
			"Origin header does not match this host."},
		{"origin without host", "/?token=" + tok, http.Header{"Origin": {"null"}}, http.StatusBadRequest,
			"Origin header not valid."},
		{"origin scheme", "/?token=" + tok, http.Header{"Origin": {"https://127.0.0.1"}}, http.StatusForbidden,
			"Origin header protocol does not match this host."},
		{"plain origin for a TLS console", "/?token=" + tlsTok, http.Header{"Origin": {"http://dashboard.example"}},
			http.StatusForbidden, "Origin header protocol does not match this host."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			status, body := refused(t, wsURL(e.srv, tc.path), tc.header)
			if status != tc.status || !strings.Contains(body, tc.msg) {
				t.Errorf("got %d %q, want %d with %q", status, body, tc.status, tc.msg)
			}
		})
	}

	t.Run("allowed origin", func(t *testing.T) {
		t.Parallel()
		c, _, err := websocket.Dial(t.Context(), wsURL(e.srv, "/?token="+tok),
			&websocket.DialOptions{HTTPHeader: http.Header{"Origin": {"http://dashboard.example"}}})
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		defer c.CloseNow()
		handshake(t, c)
	})
	t.Run("TLS console behind a proxy", func(t *testing.T) {
		t.Parallel()
		c, _, err := websocket.Dial(t.Context(), wsURL(e.srv, "/?token="+tlsTok),
			&websocket.DialOptions{HTTPHeader: http.Header{"Origin": {"http://dashboard.example"},
				"X-Forwarded-Proto": {"https"}}})
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		defer c.CloseNow()
		handshake(t, c)
	})
}

func TestUnreachableConsole(t *testing.T) {
	t.Parallel()
	e := newEnv(t, novncproxy.Options{Dial: func(context.Context, string, string) (net.Conn, error) {
		return nil, errors.New("connection refused")
	}})
	status, body := refused(t, wsURL(e.srv, "/?token="+e.issue(t, "")), nil)
	if status != http.StatusBadGateway || !strings.Contains(body, "cannot be reached") {
		t.Errorf("got %d %q", status, body)
	}
}

// failingValidator fails every token with err.
type failingValidator struct{ err error }

func (f failingValidator) Validate(context.Context, string) (console.Connection, error) {
	return console.Connection{}, f.err
}

func TestValidatorFailures(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		err    error
		status int
		msg    string
	}{
		{"host down", fmt.Errorf("%w: no route to compute.h1", console.ErrUnreachable), http.StatusBadGateway,
			"cannot be reached now"},
		{"database down", errors.New("connection refused"), http.StatusInternalServerError, "The console connection failed."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(novncproxy.New(failingValidator{tc.err}, novncproxy.Options{}))
			defer srv.Close()
			status, body := refused(t, wsURL(srv, "/?token=x"), nil)
			if status != tc.status || !strings.Contains(body, tc.msg) || strings.Contains(body, "compute.h1") {
				t.Errorf("got %d %q, want %d with %q", status, body, tc.status, tc.msg)
			}
		})
	}
}

// A closed proxy ends its open consoles.
func TestCloseEndsRelays(t *testing.T) {
	t.Parallel()
	host, port := fakeRFB(t)
	tokens := console.NewTokens(&memStore{recs: map[string]console.Record{}}, console.Options{})
	tok, _, err := tokens.Authorize(t.Context(), console.Connection{InstanceUUID: "i", ConsoleType: console.TypeNoVNC,
		Host: host, Port: port, AccessURLBase: "http://127.0.0.1/vnc_auto.html"})
	if err != nil {
		t.Fatal(err)
	}
	p := novncproxy.New(tokens, novncproxy.Options{})
	srv := httptest.NewServer(p)
	defer srv.Close()
	c, _, err := websocket.Dial(t.Context(), wsURL(srv, "/?token="+tok), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	handshake(t, c)
	p.Close()
	for {
		if _, _, err := c.Read(t.Context()); err != nil {
			break
		}
	}
}

// An internal access path is asked for with CONNECT before the relay.
func TestInternalAccessPath(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		buf := make([]byte, 64)
		n, _ := io.ReadAtLeast(c, buf, len("CONNECT /x HTTP/1.1\r\n\r\n"))
		got <- string(buf[:n])
		_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\n\r\nRFB 003.008\n")
		_, _ = io.Copy(c, c)
	}()
	tokens := console.NewTokens(&memStore{recs: map[string]console.Record{}}, console.Options{})
	a := ln.Addr().(*net.TCPAddr)
	tok, _, err := tokens.Authorize(t.Context(), console.Connection{InstanceUUID: "i", ConsoleType: console.TypeNoVNC,
		Host: a.IP.String(), Port: a.Port, InternalAccessPath: "/x", AccessURLBase: "http://h/vnc_auto.html"})
	if err != nil {
		t.Fatal(err)
	}
	p := novncproxy.New(tokens, novncproxy.Options{})
	srv := httptest.NewServer(p)
	defer func() { srv.Close(); p.Close() }()
	c, _, err := websocket.Dial(t.Context(), wsURL(srv, "/?token="+tok), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	handshake(t, c)
	if req := <-got; req != "CONNECT /x HTTP/1.1\r\n\r\n" {
		t.Errorf("console server got %q", req)
	}
}

func TestWebClient(t *testing.T) {
	t.Parallel()
	built := fstest.MapFS{"core/rfb.js": {Data: []byte("export default class RFB {}\n")},
		"vendor/pako/lib/zlib/inflate.js": {Data: []byte("export {}\n")}}
	get := func(t *testing.T, assets novncproxy.AssetFS, method, path string) (*http.Response, string) {
		t.Helper()
		srv := httptest.NewServer(novncproxy.New(nil, novncproxy.Options{Assets: assets}))
		defer srv.Close()
		req, _ := http.NewRequestWithContext(t.Context(), method, srv.URL+path, nil)
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, string(body)
	}
	for _, tc := range []struct {
		name, method, path string
		assets             novncproxy.AssetFS
		status             int
		contains, ctype    string
	}{
		{"page", "GET", "/vnc_auto.html?path=%3Ftoken%3Dx", built, 200, "./core/rfb.js", "text/html; charset=utf-8"},
		{"lite page", "GET", "/vnc_lite.html", built, 200, "new RFB(", "text/html; charset=utf-8"},
		{"full page", "GET", "/vnc.html", built, 200, "new RFB(", "text/html; charset=utf-8"},
		{"library", "GET", "/core/rfb.js", built, 200, "class RFB", "text/javascript; charset=utf-8"},
		{"vendor", "GET", "/vendor/pako/lib/zlib/inflate.js", built, 200, "export", "text/javascript; charset=utf-8"},
		{"missing file", "GET", "/core/nope.js", built, 404, "", ""},
		{"outside the client", "GET", "/etc/passwd", built, 404, "", ""},
		{"post", "POST", "/vnc_auto.html", built, 405, "", ""},
		{"not built page", "GET", "/vnc_auto.html", fstest.MapFS{"README.md": {}}, 503, novncproxy.NotBuilt, ""},
		{"not built library", "GET", "/core/rfb.js", fstest.MapFS{}, 503, novncproxy.NotBuilt, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			resp, body := get(t, tc.assets, tc.method, tc.path)
			if resp.StatusCode != tc.status || !strings.Contains(body, tc.contains) {
				t.Errorf("%s %s = %d %.80q, want %d with %q", tc.method, tc.path, resp.StatusCode, body, tc.status, tc.contains)
			}
			if tc.ctype != "" && resp.Header.Get("Content-Type") != tc.ctype {
				t.Errorf("content type %q, want %q", resp.Header.Get("Content-Type"), tc.ctype)
			}
		})
	}
	t.Run("what Tempest checks of the page", func(t *testing.T) {
		t.Parallel()
		_, body := get(t, built, "GET", "/vnc_auto.html?path=%3Ftoken%3Dx")
		for _, want := range []string{"<html lang=", "</html>", "noVNC", "<script"} {
			if !strings.Contains(body, want) {
				t.Errorf("the page lacks %q", want)
			}
		}
	})
	t.Run("root", func(t *testing.T) {
		t.Parallel()
		resp, _ := get(t, built, "GET", "/?path=%3Ftoken%3Dx")
		if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/vnc_lite.html?path=%3Ftoken%3Dx" {
			t.Errorf("GET / = %d to %q", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
	t.Run("embedded", func(t *testing.T) {
		t.Parallel()
		// Without make novnc the embedded tree is the README alone; with it,
		// noVNC's RFB module.
		resp, body := get(t, nil, "GET", "/core/rfb.js")
		if novncproxy.Built(novncproxy.Embedded()) {
			if resp.StatusCode != 200 || !strings.Contains(body, "RFB") {
				t.Errorf("embedded noVNC: %d", resp.StatusCode)
			}
		} else if resp.StatusCode != 503 {
			t.Errorf("embedded without noVNC: %d, want 503", resp.StatusCode)
		}
	})
}

// rawUpgrade sends the websocket request Tempest's console tests send
// (GET /<path query of the console URL>, the URL's query as a cookie, no
// Origin) and returns the connection, the response head and whatever
// followed it.
func rawUpgrade(t *testing.T, consoleURL string) (net.Conn, string, []byte) {
	t.Helper()
	u, err := url.Parse(consoleURL)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	req := "GET /" + u.Query().Get("path") + " HTTP/1.1\r\nHost: " + u.Host + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Cookie: " + u.RawQuery + "\r\nSec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==\r\nSec-WebSocket-Version: 13\r\n" +
		"Sec-WebSocket-Protocol: binary\r\n\r\n"
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	var resp []byte
	buf := make([]byte, 4096)
	for !strings.Contains(string(resp), "\r\n\r\n") {
		n, err := c.Read(buf)
		resp = append(resp, buf[:n]...)
		if err != nil {
			t.Fatalf("response head %q: %v", resp, err)
		}
	}
	head, rest, _ := strings.Cut(string(resp), "\r\n\r\n")
	return c, head, []byte(rest)
}

// The console tests of Tempest speak a minimal websocket by hand: a good
// token gets the server's RFB version in one unmasked binary frame, a bad
// one a connection that ends without a byte after the response head.
func TestTempestStyleClient(t *testing.T) {
	t.Parallel()
	e := newEnv(t, novncproxy.Options{})
	consoleURL := console.AccessURL(e.srv.URL+"/vnc_auto.html", console.TypeNoVNC, e.issue(t, ""))

	c, head, rest := rawUpgrade(t, consoleURL)
	if !strings.HasPrefix(head, "HTTP/1.1 101 ") || !strings.Contains(head, "Sec-Websocket-Protocol: binary") {
		t.Fatalf("upgrade answered %q", head)
	}
	frame := make([]byte, 14)
	n := copy(frame, rest)
	if _, err := io.ReadFull(c, frame[n:]); err != nil {
		t.Fatal(err)
	}
	if frame[0] != 0x82 || frame[1] != 12 || string(frame[2:]) != "RFB 003.008\n" {
		t.Errorf("first frame %q, want one binary frame of the RFB version", frame)
	}

	bad := strings.Replace(consoleURL, "token%3D", "token%3Dbad", 1)
	c, head, rest = rawUpgrade(t, bad)
	if !strings.HasPrefix(head, "HTTP/1.1 403 ") || !strings.Contains(head, novncproxy.ErrorHeader+": The console token is invalid") {
		t.Errorf("bad token answered %q", head)
	}
	more, err := io.ReadAll(c)
	if len(rest) != 0 || len(more) != 0 || err != nil {
		t.Errorf("after a refusal the proxy sent %q%q (%v), want the connection closed", rest, more, err)
	}
}
