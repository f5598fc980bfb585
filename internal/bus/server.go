package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/rpc"
)

// HandlerFunc handles one request; for calls its result is the reply.
type HandlerFunc func(ctx context.Context, r *Request) (any, error)

// Middleware wraps every handler of an endpoint.
type Middleware func(HandlerFunc) HandlerFunc

// Request is a received message, as a handler sees it.
type Request struct {
	*rpc.Envelope
	// Queue is the queue it came from; Redelivered is set when a transport
	// delivers it again (after a server or broker failure).
	Queue       string
	Redelivered bool
}

// Decode reads the payload into v; a payload that does not fit is a BadRequest.
func (r *Request) Decode(v any) error {
	if err := json.Unmarshal(r.Payload, v); err != nil {
		return rpc.Errorf(rpc.KindBadRequest, "%s: arguments do not decode: %v", r.Name(), err)
	}
	return nil
}

type requestKey struct{}

// Incoming is the request a handler's ctx belongs to; nil outside a handler.
func Incoming(ctx context.Context) *Request {
	r, _ := ctx.Value(requestKey{}).(*Request)
	return r
}

// Endpoint is one versioned interface a server implements: a namespace, the
// newest version it implements, and its methods.
type Endpoint struct {
	namespace string
	version   rpc.Version
	methods   map[string]HandlerFunc
	mw        []Middleware
}

// NewEndpoint returns an empty interface of a namespace at a version.
func NewEndpoint(namespace string, v rpc.Version) *Endpoint {
	return &Endpoint{namespace: namespace, version: v, methods: map[string]HandlerFunc{}}
}

// Register adds a method first available at since. It panics on a duplicate
// name or a version the endpoint does not implement: both are wiring mistakes
// found at start-up.
func (e *Endpoint) Register(name string, since rpc.Version, h HandlerFunc) {
	if _, dup := e.methods[name]; dup {
		panic(fmt.Sprintf("bus: %s.%s registered twice", e.namespace, name))
	}
	if !e.version.Serves(since) {
		panic(fmt.Sprintf("bus: %s.%s needs version %s, the endpoint implements %s", e.namespace, name, since, e.version))
	}
	e.methods[name] = h
}

// Use adds middleware around every method, the first added outermost.
func (e *Endpoint) Use(mw ...Middleware) { e.mw = append(e.mw, mw...) }

// Handle registers a typed method on its endpoint.
func Handle[Req, Resp any](e *Endpoint, m rpc.Method[Req, Resp], fn func(ctx context.Context, req Req) (Resp, error)) {
	if m.Namespace != e.namespace {
		panic(fmt.Sprintf("bus: method %s registered on endpoint %q", m.Info(), e.namespace))
	}
	e.Register(m.Name, m.Version, func(ctx context.Context, r *Request) (any, error) {
		var req Req
		if err := r.Decode(&req); err != nil {
			return nil, err
		}
		return fn(ctx, req)
	})
}

// HandleCast registers a typed method that answers nothing (rpc.None): a
// cast, or a call whose caller only waits for it to be done.
func HandleCast[Req any](e *Endpoint, m rpc.Method[Req, rpc.None], fn func(ctx context.Context, req Req) error) {
	Handle(e, m, func(ctx context.Context, req Req) (rpc.None, error) { return rpc.None{}, fn(ctx, req) })
}

// Server consumes one topic (shared with other servers of it), topic.host and
// the topic's fanout, and runs each message's handler.
type Server struct {
	b         *Bus
	topic     string
	host      string
	endpoints map[string]*Endpoint
	sub       Subscription
	work      chan Delivery // unbuffered: a delivery waits for a free worker
	log       *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc

	mu       sync.Mutex
	stopping bool
	quit     chan struct{} // closed when stopping begins
	inflight sync.WaitGroup
	stopped  chan struct{}
}

// Serve starts a server of a topic on this host with the given endpoints.
func (b *Bus) Serve(ctx context.Context, topic, host string, endpoints ...*Endpoint) (*Server, error) {
	if topic == "" {
		return nil, errors.New("serve: topic is empty")
	}
	s := &Server{b: b, topic: topic, host: host, endpoints: map[string]*Endpoint{},
		work: make(chan Delivery), quit: make(chan struct{}), stopped: make(chan struct{}),
		log: b.log.With("topic", topic, "host", host)}
	for _, e := range endpoints {
		if _, dup := s.endpoints[e.namespace]; dup {
			return nil, fmt.Errorf("serve %s: namespace %q given twice", topic, e.namespace)
		}
		s.endpoints[e.namespace] = e
	}
	s.ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil, fmt.Errorf("serve %s: %w", topic, ErrClosed)
	}
	b.servers[s] = struct{}{}
	b.mu.Unlock()
	sub, err := b.t.Subscribe(ctx, topic, host, s.deliver)
	if err != nil {
		b.mu.Lock()
		delete(b.servers, s)
		b.mu.Unlock()
		s.cancel()
		return nil, fmt.Errorf("serve %s on %s: %w", topic, host, err)
	}
	s.sub = sub
	// Long-lived workers rather than a goroutine per message: a handler's
	// stack, once grown, stays grown. Deliveries wait for them.
	for range b.o.Workers {
		go s.worker()
	}
	return s, nil
}

// Stop stops taking messages and waits for running handlers until ctx ends.
// Messages not yet handled go back to their queues; so do those of handlers
// still running when ctx ends (their context is cancelled), which another
// server may then handle again.
func (s *Server) Stop(ctx context.Context) error {
	s.mu.Lock()
	if s.stopping {
		s.mu.Unlock()
		<-s.stopped
		return nil
	}
	s.stopping = true
	close(s.quit)
	s.mu.Unlock()
	s.sub.Cancel()
	done := make(chan struct{})
	go func() { s.inflight.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = fmt.Errorf("stop server of %s: handlers still running: %w", s.topic, ctx.Err())
	}
	// Give back what is unsettled before interrupting the handlers, so that
	// an interrupted handler cannot acknowledge a message it did not finish.
	err = errors.Join(err, s.sub.Close())
	s.cancel()
	s.b.mu.Lock()
	delete(s.b.servers, s)
	s.b.mu.Unlock()
	close(s.stopped)
	return err
}

// deliver runs on the transport's goroutine: it waits for a free worker, so a
// busy server stops taking more than it can run.
func (s *Server) deliver(d Delivery) {
	s.mu.Lock()
	if s.stopping {
		s.mu.Unlock()
		d.Settle(Requeue)
		return
	}
	s.inflight.Add(1)
	s.mu.Unlock()
	select {
	case s.work <- d:
	case <-s.quit:
		s.inflight.Done()
		d.Settle(Requeue)
	}
}

func (s *Server) worker() {
	for {
		select {
		case d := <-s.work:
			s.process(d)
			s.inflight.Done()
		case <-s.quit:
			return
		}
	}
}

// process handles one delivery and settles it: acked once handled (or once a
// refusal was replied), dead-lettered when it cannot be handled at all.
func (s *Server) process(d Delivery) {
	m := s.b.o.Metrics
	received := time.Now()
	if max := s.b.o.MaxMessageSize; len(d.Body) > max {
		s.log.Warn("dead-lettered an oversized message", "queue", d.Queue, "message_id", d.ID,
			"bytes", len(d.Body), "limit", max)
		m.failedOne("unknown", s.topic, reasonTooLarge)
		d.Settle(DeadLetter)
		return
	}
	env, err := rpc.DecodeEnvelope(d.Body, s.b.o.MaxMessageSize)
	if err != nil {
		s.log.Warn("dead-lettered an undecodable message", "queue", d.Queue, "message_id", d.ID, "err", err)
		m.failedOne("unknown", s.topic, reasonUndecodable)
		d.Settle(DeadLetter)
		return
	}
	kind := string(env.Kind)
	log := msgLog{s.log, d.Queue, env}
	h, refusal := s.lookup(env)
	if refusal != nil {
		reason := reasonNoSuchMethod
		if errors.Is(refusal, rpc.ErrUnsupportedVersion) {
			reason = reasonUnsupportedVersion
		}
		m.failedOne(kind, s.topic, reason)
		if env.Kind == rpc.Call {
			log.Warn("refused a call", "err", refusal)
			s.reply(env, received, nil, refusal, log)
			d.Settle(Ack)
			return
		}
		log.Error("dead-lettered a message this server cannot handle", "err", refusal)
		d.Settle(DeadLetter)
		return
	}
	req := &Request{Envelope: env, Queue: d.Queue, Redelivered: d.Redelivered}
	ctx := context.WithValue(rpc.WithContext(s.ctx, env.Context), requestKey{}, req)
	start := time.Now()
	result, herr := run(ctx, h, req, log)
	m.handledOne(kind, s.topic, env.Name(), herr, time.Since(start))
	switch {
	case herr != nil && s.ctx.Err() != nil:
		// The server stopped under the handler: another server takes the
		// message again rather than lose it.
		log.Warn("handler interrupted by the server's stop; message given back", "err", herr)
		d.Settle(Requeue)
		return
	case env.Kind == rpc.Call:
		s.reply(env, received, result, herr, log)
	case herr != nil:
		// A cast's failure is its handler's to record (an instance fault, a
		// log line); requeueing would only repeat it.
		log.Error("handler failed", "err", herr)
	}
	d.Settle(Ack)
}

// run calls a handler, turning a panic into an error so one bad message cannot
// stop the server; the stack goes to the log, not to the caller.
func run(ctx context.Context, h HandlerFunc, r *Request, log msgLog) (result any, err error) {
	defer func() {
		if p := recover(); p != nil {
			log.Error("handler panicked", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			err = rpc.Errorf(rpc.KindInternal, "%s failed: the handler panicked: %v", r.Name(), p)
		}
	}()
	return h(ctx, r)
}

// lookup finds the handler of a request, or the refusal to reply.
func (s *Server) lookup(env *rpc.Envelope) (HandlerFunc, error) {
	e, ok := s.endpoints[env.Namespace]
	if !ok {
		return nil, rpc.Errorf(rpc.KindNoSuchMethod, "%s: topic %s serves no namespace %q", env.Name(), s.topic, env.Namespace)
	}
	if err := e.version.CheckServes(env.Version, env.Name()); err != nil {
		return nil, err
	}
	h, ok := e.methods[env.Method]
	if !ok {
		return nil, rpc.Errorf(rpc.KindNoSuchMethod, "%s: no such method in namespace %q version %s", env.Name(), env.Namespace, e.version)
	}
	for i := len(e.mw) - 1; i >= 0; i-- {
		h = e.mw[i](h)
	}
	return h, nil
}

// reply answers a call. While the caller's reply queue is missing (its
// connection is being re-established) it tries again until the caller's
// timeout has passed since the call arrived.
func (s *Server) reply(env *rpc.Envelope, received time.Time, result any, herr error, log msgLog) {
	r := &rpc.Reply{MessageID: env.MessageID}
	if herr != nil {
		r.Error = rpc.AsError(herr)
	} else if result != nil {
		b, err := json.Marshal(result)
		if err != nil {
			r.Error = rpc.Errorf(rpc.KindInternal, "%s: encode result: %v", env.Name(), err)
		} else {
			r.Result = b
		}
	}
	body, err := r.Encode(s.b.o.MaxMessageSize)
	if errors.Is(err, rpc.ErrTooLarge) {
		r.Result, r.Error = nil, rpc.Errorf(rpc.KindInternal, "%s: reply refused: %v", env.Name(), err)
		body, err = r.Encode(s.b.o.MaxMessageSize)
	}
	if err != nil {
		log.Error("cannot encode a reply", "err", err)
		return
	}
	timeout := time.Duration(env.TimeoutMS) * time.Millisecond
	if timeout <= 0 {
		timeout = s.b.o.Timeout
	}
	deadline := received.Add(timeout)
	msg := Message{ID: s.b.o.NewID(), Body: body, TTL: time.Until(deadline)}
	ctx, cancel := context.WithDeadline(s.ctx, deadline)
	err = s.b.t.Send(ctx, Address{Reply: env.ReplyTo}, msg)
	if errors.Is(err, ErrNoRoute) && ctx.Err() == nil {
		// The caller's reply queue is being declared again after a
		// reconnection: keep trying in the background, so the worker is free
		// for the next message meanwhile.
		go func() {
			defer cancel()
			s.retryReply(ctx, env, msg, log)
		}()
		return
	}
	cancel()
	if err != nil {
		s.b.o.Metrics.failedOne(string(rpc.Call), s.topic, reasonReplyUndeliverable)
		log.Warn("reply not delivered; the caller has gone", "reply_to", env.ReplyTo, "err", err)
	}
}

// retryReply sends a reply until its reply queue exists again or the caller's
// timeout has passed.
func (s *Server) retryReply(ctx context.Context, env *rpc.Envelope, msg Message, log msgLog) {
	wait := 50 * time.Millisecond
	for {
		select {
		case <-ctx.Done():
		case <-time.After(wait):
			wait = min(2*wait, time.Second)
		}
		err := s.b.t.Send(ctx, Address{Reply: env.ReplyTo}, msg)
		if err == nil {
			return
		}
		if !errors.Is(err, ErrNoRoute) || ctx.Err() != nil {
			s.b.o.Metrics.failedOne(string(rpc.Call), s.topic, reasonReplyUndeliverable)
			log.Warn("reply not delivered; the caller has gone", "reply_to", env.ReplyTo, "err", err)
			return
		}
	}
}

// msgLog logs about one message, naming it; the attributes are only built
// when a line is written, not for every message handled.
type msgLog struct {
	l     *slog.Logger
	queue string
	env   *rpc.Envelope
}

func (m msgLog) attrs(args []any) []any {
	return append([]any{"queue", m.queue, "message_id", m.env.MessageID, "method", m.env.Name(),
		"version", m.env.Version.String(), "request_id", m.env.Context.RequestID}, args...)
}

func (m msgLog) Warn(msg string, args ...any)  { m.l.Warn(msg, m.attrs(args)...) }
func (m msgLog) Error(msg string, args ...any) { m.l.Error(msg, m.attrs(args)...) }
