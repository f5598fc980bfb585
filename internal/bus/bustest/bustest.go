// Package bustest is the behaviour every bus transport must show, written once
// and run against each transport through the Bus: calls, casts and fanouts;
// routing by topic and host; sharing work; versions; refusals of bad input;
// redelivery and de-duplication; metrics.
package bustest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/nimbus-cloud/nimbus/internal/bus"
	"github.com/nimbus-cloud/nimbus/internal/rpc"
)

// Env is one test's world: a broker, and processes connected to it.
type Env struct {
	// Connect returns a new transport on the broker, as another process has.
	// The Bus built over it closes it.
	Connect func(t *testing.T) bus.Transport
	// DeadLetters returns the ids of the messages servers dead-lettered so far.
	DeadLetters func(t *testing.T) []string
	// Topic is the topic the test serves, unused by any other test on the
	// same broker (queue names are global to a RabbitMQ virtual host).
	Topic string
}

// Hosts the tests serve.
const (
	HostA = "host-a"
	HostB = "host-b"
)

// The contract the tests speak: a test interface at version 1.2.
type (
	echoReq struct {
		Text string `json:"text"`
		N    int    `json:"n"`
	}
	echoResp struct {
		Text        string   `json:"text"`
		N           int      `json:"n"`
		Server      string   `json:"server"`
		RequestID   string   `json:"request_id"`
		UserID      string   `json:"user_id"`
		Roles       []string `json:"roles"`
		Kind        rpc.Kind `json:"kind"`
		Redelivered bool     `json:"redelivered"`
	}
)

var (
	serverVersion = rpc.V(1, 2)
	echo          = rpc.Method[echoReq, echoResp]{Namespace: "test", Name: "echo", Version: rpc.V(1, 0)}
	echoNewer     = rpc.Method[echoReq, echoResp]{Namespace: "test", Name: "echo", Version: rpc.V(1, 3)}
	echoMajor2    = rpc.Method[echoReq, echoResp]{Namespace: "test", Name: "echo", Version: rpc.V(2, 0)}
	record        = rpc.Method[echoReq, rpc.None]{Namespace: "test", Name: "record", Version: rpc.V(1, 1)}
	recordNewer   = rpc.Method[echoReq, rpc.None]{Namespace: "test", Name: "record", Version: rpc.V(1, 9)}
	failing       = rpc.Method[echoReq, rpc.None]{Namespace: "test", Name: "fail", Version: rpc.V(1, 0)}
	panicking     = rpc.Method[echoReq, rpc.None]{Namespace: "test", Name: "panic", Version: rpc.V(1, 0)}
	block         = rpc.Method[echoReq, rpc.None]{Namespace: "test", Name: "block", Version: rpc.V(1, 0)}
	missing       = rpc.Method[echoReq, rpc.None]{Namespace: "test", Name: "missing", Version: rpc.V(1, 0)}
	otherSpace    = rpc.Method[echoReq, rpc.None]{Namespace: "other", Name: "echo", Version: rpc.V(1, 0)}

	errNoValidHost = rpc.NewKind("NoValidHost")
)

// Run runs the suite; setup gives each test a fresh Env.
func Run(t *testing.T, setup func(t *testing.T) Env) {
	tests := []struct {
		name string
		fn   func(t *testing.T, env Env)
	}{
		{"CallRoundTrip", testCallRoundTrip},
		{"CallToHost", testCallToHost},
		{"CastsShareTheWork", testCastsShared},
		{"CastWaitsForItsServer", testCastWaits},
		{"FanoutReachesEveryServer", testFanout},
		{"NoRoute", testNoRoute},
		{"TimeoutNamesTopicAndTimeout", testTimeout},
		{"Versions", testVersions},
		{"NoSuchMethod", testNoSuchMethod},
		{"HandlerErrors", testHandlerErrors},
		{"Oversized", testOversized},
		{"Undecodable", testUndecodable},
		{"DuplicateSendRunsOnce", testDuplicateSend},
		{"StopGivesBackAndDedupes", testStopRedelivers},
		{"GracefulStopKeepsWhatWasHandled", testGracefulStop},
		{"Metrics", testMetrics},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, setup(t))
		})
	}
}

// node is one process: a bus, and what its servers saw.
type node struct {
	topic string
	b     *bus.Bus
	logs  *logRecorder
	reg   *prometheus.Registry

	mu      sync.Mutex
	handled []seen
}

type seen struct {
	server      string
	method      string
	text        string
	id          string
	redelivered bool
}

func newNode(t *testing.T, env Env, o bus.Options) *node {
	t.Helper()
	n := &node{topic: env.Topic, logs: &logRecorder{}, reg: prometheus.NewRegistry()}
	o.Log = n.logs.logger()
	if o.Timeout == 0 {
		o.Timeout = 10 * time.Second
	}
	n.b = bus.New(env.Connect(t), o)
	n.reg.MustRegister(n.b.Metrics())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := n.b.Close(ctx); err != nil {
			t.Errorf("close bus: %v", err)
		}
	})
	return n
}

func (n *node) note(s seen) {
	n.mu.Lock()
	n.handled = append(n.handled, s)
	n.mu.Unlock()
}

func (n *node) seen() []seen {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]seen(nil), n.handled...)
}

// endpoint is the test interface as server name serves it.
func (n *node) endpoint(name string, mw ...bus.Middleware) *bus.Endpoint {
	ep := bus.NewEndpoint("test", serverVersion)
	ep.Use(mw...)
	bus.Handle(ep, echo, func(ctx context.Context, req echoReq) (echoResp, error) {
		in := bus.Incoming(ctx)
		rc := rpc.FromContext(ctx)
		n.note(seen{server: name, method: "echo", text: req.Text, id: in.MessageID, redelivered: in.Redelivered})
		return echoResp{Text: req.Text, N: req.N, Server: name, RequestID: rc.RequestID, UserID: rc.UserID,
			Roles: rc.Roles, Kind: in.Kind, Redelivered: in.Redelivered}, nil
	})
	bus.Handle(ep, record, func(ctx context.Context, req echoReq) (rpc.None, error) {
		in := bus.Incoming(ctx)
		n.note(seen{server: name, method: "record", text: req.Text, id: in.MessageID, redelivered: in.Redelivered})
		return rpc.None{}, nil
	})
	bus.Handle(ep, failing, func(ctx context.Context, req echoReq) (rpc.None, error) {
		return rpc.None{}, fmt.Errorf("all hosts rejected %s: %w", req.Text, errNoValidHost)
	})
	bus.Handle(ep, panicking, func(ctx context.Context, req echoReq) (rpc.None, error) {
		panic("handler bug")
	})
	bus.Handle(ep, block, func(ctx context.Context, req echoReq) (rpc.None, error) {
		in := bus.Incoming(ctx)
		n.note(seen{server: name, method: "block", text: req.Text, id: in.MessageID, redelivered: in.Redelivered})
		if in.Redelivered {
			return rpc.None{}, nil
		}
		<-ctx.Done()
		return rpc.None{}, ctx.Err()
	})
	return ep
}

func (n *node) serve(t *testing.T, host, name string, mw ...bus.Middleware) *bus.Server {
	t.Helper()
	s, err := n.b.Serve(context.Background(), n.topic, host, n.endpoint(name, mw...))
	if err != nil {
		t.Fatalf("serve %s: %v", name, err)
	}
	return s
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func testCallRoundTrip(t *testing.T, env Env) {
	srv, cli := newNode(t, env, bus.Options{}), newNode(t, env, bus.Options{})
	srv.serve(t, HostA, "a")
	ctx := rpc.WithContext(testCtx(t), rpc.Context{RequestID: "req-123", UserID: "u1", Roles: []string{"member", "reader"}})
	for i := range 3 {
		resp, err := bus.Call(ctx, cli.b, bus.Target{Topic: env.Topic}, echo, echoReq{Text: "héllo \u2603", N: i})
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		want := echoResp{Text: "héllo \u2603", N: i, Server: "a", RequestID: "req-123", UserID: "u1",
			Roles: []string{"member", "reader"}, Kind: rpc.Call}
		if fmt.Sprint(resp) != fmt.Sprint(want) {
			t.Errorf("call %d: got %+v, want %+v", i, resp, want)
		}
	}
}

func testCallToHost(t *testing.T, env Env) {
	a, b, cli := newNode(t, env, bus.Options{}), newNode(t, env, bus.Options{}), newNode(t, env, bus.Options{})
	a.serve(t, HostA, "a")
	b.serve(t, HostB, "b")
	for i := range 10 {
		resp, err := bus.Call(testCtx(t), cli.b, bus.Target{Topic: env.Topic, Host: HostB}, echo, echoReq{N: i})
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		if resp.Server != "b" {
			t.Fatalf("call %d to %s.%s answered by %q", i, env.Topic, HostB, resp.Server)
		}
	}
}

func testCastsShared(t *testing.T, env Env) {
	a, b, cli := newNode(t, env, bus.Options{}), newNode(t, env, bus.Options{}), newNode(t, env, bus.Options{})
	a.serve(t, HostA, "a")
	b.serve(t, HostB, "b")
	const n = 200
	for i := range n {
		if err := bus.Cast(testCtx(t), cli.b, bus.Target{Topic: env.Topic}, record, echoReq{Text: fmt.Sprint(i)}); err != nil {
			t.Fatalf("cast %d: %v", i, err)
		}
	}
	eventually(t, func() bool { return len(a.seen())+len(b.seen()) >= n }, "%d casts handled", n)
	got := map[string]int{}
	for _, s := range append(a.seen(), b.seen()...) {
		got[s.text]++
	}
	for i := range n {
		if got[fmt.Sprint(i)] != 1 {
			t.Errorf("cast %d handled %d times", i, got[fmt.Sprint(i)])
		}
	}
	if len(a.seen()) == 0 || len(b.seen()) == 0 {
		t.Errorf("work not shared: a handled %d, b %d", len(a.seen()), len(b.seen()))
	}
}

func testCastWaits(t *testing.T, env Env) {
	first, cli := newNode(t, env, bus.Options{}), newNode(t, env, bus.Options{})
	s := first.serve(t, HostA, "first")
	if err := s.Stop(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if err := bus.Cast(testCtx(t), cli.b, bus.Target{Topic: env.Topic, Host: HostA}, record, echoReq{Text: fmt.Sprint(i)}); err != nil {
			t.Fatalf("cast %d while the server is down: %v", i, err)
		}
	}
	later := newNode(t, env, bus.Options{})
	later.serve(t, HostA, "later")
	eventually(t, func() bool { return len(later.seen()) == 5 }, "5 casts handled by the server started later")
	if len(first.seen()) != 0 {
		t.Errorf("stopped server handled %d messages", len(first.seen()))
	}
}

func testFanout(t *testing.T, env Env) {
	cli := newNode(t, env, bus.Options{})
	nodes := []*node{newNode(t, env, bus.Options{}), newNode(t, env, bus.Options{}), newNode(t, env, bus.Options{})}
	for i, n := range nodes {
		n.serve(t, fmt.Sprintf("host-%d", i), fmt.Sprint(i))
	}
	if err := bus.Fanout(testCtx(t), cli.b, env.Topic, record, echoReq{Text: "everyone"}); err != nil {
		t.Fatal(err)
	}
	for i, n := range nodes {
		eventually(t, func() bool { return len(n.seen()) == 1 }, "server %d got the fanout", i)
	}
	// A fanout to a topic nobody serves is not an error: there is nobody to tell.
	if err := bus.Fanout(testCtx(t), cli.b, env.Topic+"-nobody", record, echoReq{}); err != nil {
		t.Errorf("fanout to nobody: %v", err)
	}
}

func testNoRoute(t *testing.T, env Env) {
	srv, cli := newNode(t, env, bus.Options{}), newNode(t, env, bus.Options{})
	srv.serve(t, HostA, "a")
	_, err := bus.Call(testCtx(t), cli.b, bus.Target{Topic: env.Topic, Host: "nobody"}, echo, echoReq{})
	if !errors.Is(err, bus.ErrNoRoute) {
		t.Fatalf("call to a host nobody serves: got %v, want ErrNoRoute", err)
	}
	if !strings.Contains(err.Error(), env.Topic+".nobody") {
		t.Errorf("error %q does not name %s.nobody", err, env.Topic)
	}
	err = bus.Cast(testCtx(t), cli.b, bus.Target{Topic: env.Topic + "-unserved"}, record, echoReq{})
	if !errors.Is(err, bus.ErrNoRoute) || !strings.Contains(err.Error(), env.Topic+"-unserved") {
		t.Errorf("cast to a topic nobody serves: got %v, want ErrNoRoute naming the topic", err)
	}
}

func testTimeout(t *testing.T, env Env) {
	srv := newNode(t, env, bus.Options{})
	s := srv.serve(t, "host-gone", "gone")
	if err := s.Stop(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	// The queue of host-gone stays (its server may come back), so the broker
	// routes the call and only the timeout can tell.
	cli := newNode(t, env, bus.Options{Timeout: 200 * time.Millisecond})
	_, err := bus.Call(context.Background(), cli.b, bus.Target{Topic: env.Topic, Host: "host-gone"}, echo, echoReq{})
	if !errors.Is(err, bus.ErrTimeout) {
		t.Fatalf("call to a stopped server: got %v, want ErrTimeout", err)
	}
	for _, want := range []string{env.Topic + ".host-gone", "200ms", "test.echo"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("timeout error %q does not name %q", err, want)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err = bus.Call(ctx, cli.b, bus.Target{Topic: env.Topic, Host: "host-gone"}, echo, echoReq{})
	if !errors.Is(err, bus.ErrTimeout) || !strings.Contains(err.Error(), "no reply within ") {
		t.Fatalf("call with a ctx deadline: got %v, want ErrTimeout", err)
	}
	// The ctx's deadline, not the bus's timeout, and shown as set.
	shown, _ := strings.CutPrefix(err.Error()[strings.Index(err.Error(), "no reply within "):], "no reply within ")
	if d, perr := time.ParseDuration(strings.Fields(shown)[0]); perr != nil || d > 300*time.Millisecond || d < 250*time.Millisecond {
		t.Errorf("call with a 300ms ctx deadline: error %q shows the timeout as %q", err, strings.Fields(shown)[0])
	}
	if len(srv.seen()) != 0 {
		t.Errorf("stopped server handled %d messages", len(srv.seen()))
	}
}

func testVersions(t *testing.T, env Env) {
	var ids idLog
	srv, cli := newNode(t, env, bus.Options{}), newNode(t, env, bus.Options{NewID: ids.next})
	srv.serve(t, HostA, "a")
	to := bus.Target{Topic: env.Topic}
	_, err := bus.Call(testCtx(t), cli.b, to, echoNewer, echoReq{})
	if !errors.Is(err, rpc.ErrUnsupportedVersion) || !strings.Contains(err.Error(), "1.3") || !strings.Contains(err.Error(), "1.2") {
		t.Errorf("newer minor: got %v, want UnsupportedVersion naming 1.3 and 1.2", err)
	}
	_, err = bus.Call(testCtx(t), cli.b, to, echoMajor2, echoReq{})
	if !errors.Is(err, rpc.ErrUnsupportedVersion) || !strings.Contains(err.Error(), "2.0") || !strings.Contains(err.Error(), "major") {
		t.Errorf("other major: got %v, want UnsupportedVersion naming 2.0 and the major", err)
	}
	if err := bus.Cast(testCtx(t), cli.b, to, recordNewer, echoReq{Text: "from the future"}); err != nil {
		t.Fatal(err)
	}
	castID := ids.lastID()
	eventually(t, func() bool { return contains(env.DeadLetters(t), castID) }, "cast of a newer minor dead-lettered")
	if _, err := bus.Call(testCtx(t), cli.b, to, echo, echoReq{Text: "still serving"}); err != nil {
		t.Fatalf("server stopped serving after a refusal: %v", err)
	}
	for _, s := range srv.seen() {
		if s.method == "record" {
			t.Errorf("handler ran for a version it does not implement: %+v", s)
		}
	}
	if !srv.logs.has("dead-lettered", "message_id", castID) {
		t.Errorf("no log line names the dead-lettered cast %s:\n%s", castID, srv.logs)
	}
}

// idLog hands out message ids and remembers the last.
type idLog struct {
	mu   sync.Mutex
	last string
}

func (l *idLog) next() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.last = uuid.NewString()
	return l.last
}

func (l *idLog) lastID() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.last
}

func testNoSuchMethod(t *testing.T, env Env) {
	srv, cli := newNode(t, env, bus.Options{}), newNode(t, env, bus.Options{})
	srv.serve(t, HostA, "a")
	for _, m := range []rpc.Method[echoReq, rpc.None]{missing, otherSpace} {
		_, err := bus.Call(testCtx(t), cli.b, bus.Target{Topic: env.Topic}, m, echoReq{})
		if !errors.Is(err, rpc.ErrNoSuchMethod) || !strings.Contains(err.Error(), m.Info().String()) {
			t.Errorf("%s: got %v, want NoSuchMethod naming it", m.Info(), err)
		}
	}
}

func testHandlerErrors(t *testing.T, env Env) {
	srv, cli := newNode(t, env, bus.Options{}), newNode(t, env, bus.Options{})
	srv.serve(t, HostA, "a")
	to := bus.Target{Topic: env.Topic}
	_, err := bus.Call(testCtx(t), cli.b, to, failing, echoReq{Text: "vm-1"})
	var re *rpc.Error
	if !errors.Is(err, errNoValidHost) || !errors.As(err, &re) || !re.Remote || !strings.Contains(err.Error(), "all hosts rejected vm-1") {
		t.Errorf("handler error: got %v, want a remote NoValidHost with its message", err)
	}
	_, err = bus.Call(testCtx(t), cli.b, to, panicking, echoReq{})
	if !errors.Is(err, rpc.ErrInternal) || !strings.Contains(err.Error(), "handler bug") {
		t.Errorf("panic: got %v, want InternalError naming the panic", err)
	}
	// Arguments that do not fit the method's request type.
	err = cli.b.Call(testCtx(t), to, echo.Info(), []int{1, 2}, nil)
	if !errors.Is(err, rpc.ErrBadRequest) {
		t.Errorf("bad arguments: got %v, want BadRequest", err)
	}
	if _, err := bus.Call(testCtx(t), cli.b, to, echo, echoReq{Text: "after"}); err != nil {
		t.Errorf("server stopped serving after a panic: %v", err)
	}
}

func testOversized(t *testing.T, env Env) {
	const limit = 64 << 10
	srv := newNode(t, env, bus.Options{MaxMessageSize: limit})
	srv.serve(t, HostA, "a")
	cli := newNode(t, env, bus.Options{MaxMessageSize: limit})
	big := strings.Repeat("x", limit+1)
	_, err := bus.Call(testCtx(t), cli.b, bus.Target{Topic: env.Topic}, echo, echoReq{Text: big})
	if !errors.Is(err, rpc.ErrTooLarge) {
		t.Errorf("sending an oversized call: got %v, want ErrTooLarge", err)
	}
	if err := bus.Cast(testCtx(t), cli.b, bus.Target{Topic: env.Topic}, record, echoReq{Text: big}); !errors.Is(err, rpc.ErrTooLarge) {
		t.Errorf("sending an oversized cast: got %v, want ErrTooLarge", err)
	}
	// A sender with a larger limit gets its message to the broker; the server refuses it.
	raw := env.Connect(t)
	t.Cleanup(func() { raw.Close() })
	body, err := (&rpc.Envelope{Kind: rpc.Cast, Namespace: "test", Method: "record", Version: rpc.V(1, 0),
		MessageID: "oversized-1", Payload: []byte(`{"text":"` + big + `"}`)}).Encode(0)
	if err != nil {
		t.Fatal(err)
	}
	if err := raw.Send(testCtx(t), bus.Address{Topic: env.Topic}, bus.Message{ID: "oversized-1", Body: body, Persistent: true}); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() bool { return contains(env.DeadLetters(t), "oversized-1") }, "oversized message dead-lettered")
	if !srv.logs.has("oversized", "message_id", "oversized-1", "queue", env.Topic) {
		t.Errorf("no log line names the oversized message and its queue:\n%s", srv.logs)
	}
	if _, err := bus.Call(testCtx(t), cli.b, bus.Target{Topic: env.Topic}, echo, echoReq{Text: "small"}); err != nil {
		t.Errorf("server stopped serving after an oversized message: %v", err)
	}
}

func testUndecodable(t *testing.T, env Env) {
	srv, cli := newNode(t, env, bus.Options{}), newNode(t, env, bus.Options{})
	srv.serve(t, HostA, "a")
	raw := env.Connect(t)
	t.Cleanup(func() { raw.Close() })
	bodies := map[string]string{
		"garbage-1":    "\x00\xffnot json",
		"no-method-1":  `{"nimbus.rpc":1,"kind":"cast","message_id":"no-method-1","version":"1.0","payload":{}}`,
		"bad-version":  `{"nimbus.rpc":1,"kind":"cast","method":"record","namespace":"test","message_id":"bad-version","version":"one","payload":{}}`,
		"other-format": `{"nimbus.rpc":7,"kind":"cast","method":"record","namespace":"test","message_id":"other-format","version":"1.0","payload":{}}`,
	}
	for id, body := range bodies {
		if err := raw.Send(testCtx(t), bus.Address{Topic: env.Topic, Host: HostA}, bus.Message{ID: id, Body: []byte(body), Persistent: true}); err != nil {
			t.Fatal(err)
		}
	}
	for id := range bodies {
		eventually(t, func() bool { return contains(env.DeadLetters(t), id) }, "%s dead-lettered", id)
		if !srv.logs.has("undecodable", "message_id", id, "queue", env.Topic+"."+HostA) {
			t.Errorf("no log line names undecodable message %s and its queue:\n%s", id, srv.logs)
		}
	}
	if _, err := bus.Call(testCtx(t), cli.b, bus.Target{Topic: env.Topic}, echo, echoReq{Text: "after"}); err != nil {
		t.Errorf("server stopped serving after undecodable messages: %v", err)
	}
	if n := len(srv.seen()); n != 1 {
		t.Errorf("handlers ran %d times, want 1 (the last call)", n)
	}
}

// testDuplicateSend sends one message twice, as a publisher does when it cannot
// learn whether the broker took the first copy: both copies are delivered, and
// the Dedupe middleware runs the handler once.
func testDuplicateSend(t *testing.T, env Env) {
	srv := newNode(t, env, bus.Options{})
	dd := bus.NewDedupe(100)
	var mu sync.Mutex
	deliveries := 0
	count := func(next bus.HandlerFunc) bus.HandlerFunc {
		// A delivery counts when it is done, so that once both are the
		// handler's run (if any) is over and recorded.
		return func(ctx context.Context, r *bus.Request) (any, error) {
			defer func() {
				mu.Lock()
				deliveries++
				mu.Unlock()
			}()
			return next(ctx, r)
		}
	}
	srv.serve(t, HostA, "a", count, dd.Middleware)
	raw := env.Connect(t)
	t.Cleanup(func() { raw.Close() })
	body, err := (&rpc.Envelope{Kind: rpc.Cast, Namespace: "test", Method: "record", Version: rpc.V(1, 0),
		MessageID: "twice", Payload: []byte(`{"text":"once"}`)}).Encode(0)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := raw.Send(testCtx(t), bus.Address{Topic: env.Topic}, bus.Message{ID: "twice", Body: body, Persistent: true}); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return deliveries == 2 }, "both copies delivered")
	if got := len(srv.seen()); got != 1 {
		t.Errorf("handler ran %d times for one message id, want 1", got)
	}
	if dd.Duplicates() != 1 {
		t.Errorf("dedupe counted %d duplicates, want 1", dd.Duplicates())
	}
}

// testStopRedelivers stops a server whose handler does not finish in time: the
// message goes back to its queue and the next server of the host gets it,
// marked redelivered, and runs it (the first run was abandoned).
func testStopRedelivers(t *testing.T, env Env) {
	dd := bus.NewDedupe(100)
	first, cli := newNode(t, env, bus.Options{}), newNode(t, env, bus.Options{})
	s1 := first.serve(t, HostA, "first", dd.Middleware)
	if err := bus.Cast(testCtx(t), cli.b, bus.Target{Topic: env.Topic, Host: HostA}, block, echoReq{Text: "long"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() bool { return len(first.seen()) == 1 }, "first server started the handler")
	second := newNode(t, env, bus.Options{})
	second.serve(t, HostA, "second", dd.Middleware)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := s1.Stop(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("stop with a handler still running: got %v, want a deadline error", err)
	}
	eventually(t, func() bool { return len(second.seen()) == 1 }, "second server got the message back")
	if got := second.seen()[0]; !got.redelivered || got.id != first.seen()[0].id {
		t.Errorf("second server saw %+v, want the same message id marked redelivered", got)
	}
}

// testGracefulStop stops a server that handled a stream of casts: none comes
// back to the next server, since each was acknowledged once handled.
func testGracefulStop(t *testing.T, env Env) {
	first, cli := newNode(t, env, bus.Options{}), newNode(t, env, bus.Options{})
	s1 := first.serve(t, HostA, "first")
	const n = 100
	for i := range n {
		if err := bus.Cast(testCtx(t), cli.b, bus.Target{Topic: env.Topic}, record, echoReq{Text: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, func() bool { return len(first.seen()) == n }, "%d casts handled", n)
	if err := s1.Stop(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	second := newNode(t, env, bus.Options{})
	second.serve(t, HostB, "second")
	if err := bus.Cast(testCtx(t), cli.b, bus.Target{Topic: env.Topic}, record, echoReq{Text: "last"}); err != nil {
		t.Fatal(err)
	}
	// The queue is first in, first out: anything given back would come
	// before the last cast.
	eventually(t, func() bool { return len(second.seen()) >= 1 }, "the last cast handled")
	if _, err := bus.Call(testCtx(t), cli.b, bus.Target{Topic: env.Topic}, echo, echoReq{}); err != nil {
		t.Fatal(err)
	}
	for _, s := range second.seen() {
		if s.method == "record" && s.text != "last" {
			t.Errorf("cast %q handled again after a graceful stop (redelivered=%v)", s.text, s.redelivered)
		}
	}
}

func testMetrics(t *testing.T, env Env) {
	srv, cli := newNode(t, env, bus.Options{}), newNode(t, env, bus.Options{})
	srv.serve(t, HostA, "a")
	to := bus.Target{Topic: env.Topic}
	if _, err := bus.Call(testCtx(t), cli.b, to, echo, echoReq{}); err != nil {
		t.Fatal(err)
	}
	if err := bus.Cast(testCtx(t), cli.b, to, record, echoReq{}); err != nil {
		t.Fatal(err)
	}
	_, _ = bus.Call(testCtx(t), cli.b, to, failing, echoReq{})
	_, _ = bus.Call(testCtx(t), cli.b, bus.Target{Topic: env.Topic, Host: "nobody"}, echo, echoReq{})
	eventually(t, func() bool { return len(srv.seen()) == 2 }, "call and cast handled")
	checks := []struct {
		reg    *prometheus.Registry
		name   string
		labels map[string]string
		want   float64
	}{
		{cli.reg, "nimbus_bus_messages_sent_total", map[string]string{"kind": "call", "topic": env.Topic}, 2},
		{cli.reg, "nimbus_bus_messages_sent_total", map[string]string{"kind": "cast", "topic": env.Topic}, 1},
		{cli.reg, "nimbus_bus_messages_failed_total", map[string]string{"kind": "call", "reason": "no_route"}, 1},
		{cli.reg, "nimbus_bus_messages_failed_total", map[string]string{"kind": "call", "reason": "remote_error"}, 1},
		{cli.reg, "nimbus_bus_call_duration_seconds", map[string]string{"method": "test.echo"}, 1},
		{srv.reg, "nimbus_bus_messages_handled_total", map[string]string{"method": "test.echo", "outcome": "ok"}, 1},
		{srv.reg, "nimbus_bus_messages_handled_total", map[string]string{"method": "test.record", "kind": "cast"}, 1},
		{srv.reg, "nimbus_bus_messages_handled_total", map[string]string{"method": "test.fail", "outcome": "error"}, 1},
	}
	for _, c := range checks {
		eventually(t, func() bool { return gather(t, c.reg, c.name, c.labels) == c.want },
			"%s%v = %v (is %v)", c.name, c.labels, c.want, gather(t, c.reg, c.name, c.labels))
	}
}

// gather sums a metric's samples whose labels include labels (histograms count).
func gather(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	next:
		for _, m := range f.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for k, v := range labels {
				if have[k] != v {
					continue next
				}
			}
			switch {
			case m.GetCounter() != nil:
				sum += m.GetCounter().GetValue()
			case m.GetHistogram() != nil:
				sum += float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return sum
}

func contains(ids []string, id string) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// eventually waits for cond, failing the test when it has not held after a
// bound far beyond what any healthy run needs.
func eventually(t *testing.T, cond func() bool, format string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited in vain for: "+format, args...)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
