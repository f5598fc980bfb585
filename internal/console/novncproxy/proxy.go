// Package novncproxy is nova-novncproxy: an HTTP server that serves the
// noVNC web client and relays its websocket to the VNC server of the guest a
// console auth token names. The token comes from the websocket request's
// query (token=, or the token inside a path= query, as nova's URLs carry it)
// or a token cookie; it is checked before the websocket is accepted, and
// the Origin header is checked as nova's proxy does. Bytes then go both ways
// unchanged: the browser speaks RFB with the guest's VNC server.
package novncproxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/nimbus-cloud/nimbus/internal/console"
)

// Validator trades a console auth token for where its console leads; an
// unknown or expired token is console.ErrNotFound.
type Validator interface {
	Validate(ctx context.Context, token string) (console.Connection, error)
}

// Options tune a Proxy; zero values take the defaults.
type Options struct {
	// AllowedOrigins are [console] allowed_origins: host names a
	// websocket's Origin may name besides the host the request was sent to.
	AllowedOrigins []string
	// Dial connects to a console server; nil: a net.Dialer with
	// DialTimeout.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// DialTimeout bounds the connection to a console server (10 s).
	DialTimeout time.Duration
	// Assets is the noVNC library (core/, vendor/); nil: the copy built
	// into the binary by make novnc.
	Assets AssetFS
	Log    *slog.Logger
}

// Proxy is the console proxy, an http.Handler.
type Proxy struct {
	tokens  Validator
	origins []string
	dial    func(ctx context.Context, network, addr string) (net.Conn, error)
	timeout time.Duration
	web     http.Handler
	log     *slog.Logger

	// ctx ends every relay when the proxy closes; relays counts them.
	ctx    context.Context
	cancel context.CancelFunc
	relays sync.WaitGroup
}

// New returns a Proxy that checks tokens with v.
func New(v Validator, o Options) *Proxy {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = 10 * time.Second
	}
	if o.Dial == nil {
		o.Dial = (&net.Dialer{}).DialContext
	}
	if o.Assets == nil {
		o.Assets = Embedded()
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Proxy{tokens: v, origins: o.AllowedOrigins, dial: o.Dial, timeout: o.DialTimeout,
		web: newWebHandler(o.Assets), log: o.Log, ctx: ctx, cancel: cancel}
}

// Close ends every open console connection and waits for their relays.
func (p *Proxy) Close() {
	p.cancel()
	p.relays.Wait()
}

// ServeHTTP relays websocket requests and serves the web client otherwise.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !isWebsocket(r) {
		p.web.ServeHTTP(w, r)
		return
	}
	p.serveWebsocket(w, r)
}

func isWebsocket(r *http.Request) bool {
	return headerHas(r.Header, "Connection", "upgrade") && headerHas(r.Header, "Upgrade", "websocket")
}

func headerHas(h http.Header, key, token string) bool {
	for _, v := range h.Values(key) {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// refusal is an answer given before the websocket is accepted.
type refusal struct {
	status int
	msg    string
}

func (e *refusal) Error() string { return e.msg }

func refuse(status int, msg string) error { return &refusal{status, msg} }

func (p *Proxy) serveWebsocket(w http.ResponseWriter, r *http.Request) {
	target, err := p.connect(r)
	if err != nil {
		var rf *refusal
		if !errors.As(err, &rf) {
			p.log.ErrorContext(r.Context(), "console connection failed", "error", err)
			rf = &refusal{http.StatusInternalServerError, "The console connection failed."}
		} else {
			p.log.InfoContext(r.Context(), "console connection refused", "remote", r.RemoteAddr, "reason", rf.msg)
		}
		refuseWebsocket(w, rf)
		return
	}
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		Subprotocols: acceptedSubprotocols(r),
		// The Origin was checked above, as nova's proxy checks it.
		InsecureSkipVerify: true,
		CompressionMode:    websocket.CompressionDisabled,
	})
	if err != nil {
		target.Close()
		p.log.InfoContext(r.Context(), "websocket handshake failed", "remote", r.RemoteAddr, "error", err)
		return
	}
	p.relays.Add(1)
	defer p.relays.Done()
	p.relay(ws, target)
}

// ErrorHeader carries the reason of a refused websocket request.
const ErrorHeader = "X-Console-Error"

// refuseWebsocket answers a websocket request that will not be upgraded:
// the status, the reason in ErrorHeader, no body, and the connection
// closed. Clients that read past the headers for the RFB stream (Tempest's
// console tests do) then see the connection end rather than stray bytes,
// as with nova's proxy, which closes a refused connection.
func refuseWebsocket(w http.ResponseWriter, rf *refusal) {
	h := w.Header()
	h.Set(ErrorHeader, rf.msg)
	h.Set("Connection", "close")
	h.Set("Content-Length", "0")
	w.WriteHeader(rf.status)
}

// acceptedSubprotocols echoes the one subprotocol a VNC client may ask for
// ("binary", as websockify answers); none otherwise.
func acceptedSubprotocols(r *http.Request) []string {
	for _, v := range r.Header.Values("Sec-WebSocket-Protocol") {
		for t := range strings.SplitSeq(v, ",") {
			if strings.TrimSpace(t) == "binary" {
				return []string{"binary"}
			}
		}
	}
	return nil
}

// connect checks the request's token and Origin and connects to the
// console server the token names.
func (p *Proxy) connect(r *http.Request) (net.Conn, error) {
	token := requestToken(r)
	if token == "" {
		return nil, refuse(http.StatusForbidden,
			"No console token: the console URL carries one (?path=%3Ftoken%3D...).")
	}
	c, err := p.tokens.Validate(r.Context(), token)
	switch {
	case errors.Is(err, console.ErrNotFound):
		return nil, refuse(http.StatusForbidden,
			"The console token is invalid or has expired; ask for a new console URL.")
	case errors.Is(err, console.ErrUnreachable):
		p.log.WarnContext(r.Context(), "console unreachable", "error", err)
		return nil, refuse(http.StatusBadGateway, "The console cannot be reached now; try again later.")
	case err != nil:
		return nil, fmt.Errorf("validate console token: %w", err)
	}
	if err := p.checkOrigin(r, c); err != nil {
		return nil, err
	}
	addr := net.JoinHostPort(c.Host, strconv.Itoa(c.Port))
	ctx, cancel := context.WithTimeout(r.Context(), p.timeout)
	defer cancel()
	conn, err := p.dial(ctx, "tcp", addr)
	if err != nil {
		p.log.WarnContext(r.Context(), "console server unreachable", "instance_uuid", c.InstanceUUID, "address", addr,
			"error", err)
		return nil, refuse(http.StatusBadGateway,
			fmt.Sprintf("The console of instance %s cannot be reached.", c.InstanceUUID))
	}
	if c.InternalAccessPath != "" {
		if err := connectPath(conn, c.InternalAccessPath, p.timeout); err != nil {
			conn.Close()
			p.log.WarnContext(r.Context(), "console server refused the access path", "instance_uuid", c.InstanceUUID,
				"error", err)
			return nil, refuse(http.StatusBadGateway,
				fmt.Sprintf("The console of instance %s cannot be reached.", c.InstanceUUID))
		}
	}
	p.log.InfoContext(r.Context(), "console connected", "instance_uuid", c.InstanceUUID, "address", addr,
		"remote", r.RemoteAddr)
	return conn, nil
}

// requestToken finds the token where nova's proxy looks: the token query
// parameter, the token inside a path query parameter (the URL noVNC was
// opened with, passed on by clients that connect to it as is), then a
// cookie named token.
func requestToken(r *http.Request) string {
	q := r.URL.Query()
	if t := q.Get("token"); t != "" {
		return t
	}
	if path := q.Get("path"); path != "" {
		if _, query, ok := strings.Cut(path, "?"); ok {
			if nested, err := url.ParseQuery(query); err == nil && nested.Get("token") != "" {
				return nested.Get("token")
			}
		}
	}
	if c, err := r.Cookie("token"); err == nil {
		return c.Value
	}
	return ""
}

// checkOrigin is nova's Origin check: a request without Origin comes from
// no browser and passes; otherwise the Origin's host must be the host the
// request was sent to or an allowed origin, and its scheme (or
// X-Forwarded-Proto's, behind a TLS proxy) that of the console URL.
func (p *Proxy) checkOrigin(r *http.Request, c console.Connection) error {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return nil
	}
	u, err := url.Parse(origin)
	if err != nil || u.Hostname() == "" || u.Scheme == "" {
		return refuse(http.StatusBadRequest, "Origin header not valid.")
	}
	scheme := u.Scheme
	if fwd := r.Header.Get("X-Forwarded-Proto"); fwd != "" {
		scheme = fwd
	}
	expected := append(slices.Clone(p.origins), requestHostname(r.Host))
	if !slices.Contains(expected, u.Hostname()) {
		return refuse(http.StatusForbidden, "Origin header does not match this host.")
	}
	if !schemeMatches(c.AccessURLBase, scheme) {
		return refuse(http.StatusForbidden, "Origin header protocol does not match this host.")
	}
	return nil
}

// requestHostname is the host of a Host header, without port or brackets.
func requestHostname(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		return h
	}
	return strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
}

// schemeMatches tells whether a browser's scheme fits the console URL's:
// the same, or http/https for a ws/wss URL.
func schemeMatches(accessURLBase, scheme string) bool {
	u, err := url.Parse(accessURLBase)
	if err != nil || u.Scheme == "" {
		return false
	}
	switch u.Scheme {
	case "ws":
		return scheme == "ws" || scheme == "http"
	case "wss":
		return scheme == "wss" || scheme == "https"
	}
	return scheme == u.Scheme
}

// connectPath asks a console server for path with an HTTP CONNECT, as nova
// does for consoles behind an internal access path, and expects 200.
func connectPath(conn net.Conn, path string, timeout time.Duration) error {
	if err := conn.SetDeadline(time.Now().Add(timeout)); err != nil {
		return err
	}
	if _, err := fmt.Fprintf(conn, "CONNECT %s HTTP/1.1\r\n\r\n", path); err != nil {
		return err
	}
	// Read the answer byte by byte, so nothing of the console's own
	// stream is taken from the connection.
	br := bufio.NewReaderSize(oneByteReader{conn}, 16)
	line, err := br.ReadString('\n')
	if err != nil {
		return fmt.Errorf("read CONNECT answer: %w", err)
	}
	if f := strings.Fields(line); len(f) < 2 || f[1] != "200" {
		return fmt.Errorf("CONNECT %s answered %q", path, strings.TrimSpace(line))
	}
	for {
		l, err := br.ReadString('\n')
		if err != nil {
			return fmt.Errorf("read CONNECT answer: %w", err)
		}
		if strings.TrimSpace(l) == "" {
			break
		}
	}
	return conn.SetDeadline(time.Time{})
}

// oneByteReader reads at most one byte at a time.
type oneByteReader struct{ r io.Reader }

func (o oneByteReader) Read(p []byte) (int, error) {
	if len(p) > 1 {
		p = p[:1]
	}
	return o.r.Read(p)
}

// relay copies bytes both ways until either side ends or the proxy closes.
func (p *Proxy) relay(ws *websocket.Conn, target net.Conn) {
	ctx, cancel := context.WithCancel(p.ctx)
	defer cancel()
	client := websocket.NetConn(ctx, ws, websocket.MessageBinary)
	done := make(chan struct{}, 2)
	go func() {
		_, _ = io.Copy(target, client)
		done <- struct{}{}
	}()
	go func() {
		_, _ = io.Copy(client, target)
		done <- struct{}{}
	}()
	finished := 0
	select {
	case <-done:
		finished++
	case <-ctx.Done():
	}
	client.Close()
	target.Close()
	for ; finished < 2; finished++ {
		<-done
	}
}
