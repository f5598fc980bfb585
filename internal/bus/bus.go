package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/nimbus-cloud/nimbus/internal/rpc"
)

// DefaultTimeout is how long a call waits for its reply when neither ctx nor
// Options say: [DEFAULT] rpc_response_timeout's default.
const DefaultTimeout = 60 * time.Second

// DefaultWorkers is how many handlers one server runs at once when Options do
// not say: oslo.messaging's executor_thread_pool_size.
const DefaultWorkers = 64

// ErrTimeout: a call got no reply in time, or a send could not finish in time.
var ErrTimeout = errors.New("timed out")

// Options tune a Bus.
type Options struct {
	// Log receives the bus's log lines; nil discards them.
	Log *slog.Logger
	// Timeout bounds calls, and sends during an outage, whose ctx has no
	// deadline; 0 is DefaultTimeout.
	Timeout time.Duration
	// MaxMessageSize is the largest encoded message sent or accepted, in bytes;
	// 0 is rpc.DefaultMaxMessageSize.
	MaxMessageSize int
	// Workers is how many handlers each server runs at once; 0 is DefaultWorkers.
	Workers int
	// Metrics receives counts and latencies; nil makes a fresh, unregistered set.
	Metrics *Metrics
	// Now and NewID are the clock and the message id source; nil: the real
	// clock and random UUIDs.
	Now   func() time.Time
	NewID func() string
}

// Target is where a call or cast goes: any server of a topic, or the one
// server of topic.host.
type Target struct {
	Topic string
	Host  string
}

// String is "topic" or "topic.host".
func (t Target) String() string { return t.address().RoutingKey() }

func (t Target) address() Address { return Address{Topic: t.Topic, Host: t.Host} }

// Bus sends and serves versioned RPC messages over a transport.
type Bus struct {
	t   Transport
	o   Options
	log *slog.Logger

	replyMu   sync.Mutex
	replyAddr string

	mu      sync.Mutex
	waiters map[string]chan *rpc.Reply
	servers map[*Server]struct{}
	closed  bool
	done    chan struct{} // closed by Close, ending calls still waiting
}

// New returns a Bus over a transport; the Bus owns the transport and closes it.
func New(t Transport, o Options) *Bus {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxMessageSize <= 0 {
		o.MaxMessageSize = rpc.DefaultMaxMessageSize
	}
	if o.Workers <= 0 {
		o.Workers = DefaultWorkers
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.NewID == nil {
		o.NewID = uuid.NewString
	}
	return &Bus{t: t, o: o, log: o.Log, waiters: map[string]chan *rpc.Reply{}, servers: map[*Server]struct{}{},
		done: make(chan struct{})}
}

// Metrics is the bus's collector, for the process's Prometheus registry.
func (b *Bus) Metrics() *Metrics { return b.o.Metrics }

// Close stops every server (waiting for running handlers until ctx ends) and
// closes the transport.
func (b *Bus) Close(ctx context.Context) error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	close(b.done)
	servers := make([]*Server, 0, len(b.servers))
	for s := range b.servers {
		servers = append(servers, s)
	}
	b.mu.Unlock()
	var errs []error
	for _, s := range servers {
		errs = append(errs, s.Stop(ctx))
	}
	errs = append(errs, b.t.Close())
	return errors.Join(errs...)
}

// bounded gives ctx the bus's timeout when it has no deadline of its own.
func (b *Bus) bounded(ctx context.Context) (context.Context, context.CancelFunc, time.Duration) {
	if dl, ok := ctx.Deadline(); ok {
		ctx, cancel := context.WithCancel(ctx)
		return ctx, cancel, time.Until(dl)
	}
	ctx, cancel := context.WithTimeout(ctx, b.o.Timeout)
	return ctx, cancel, b.o.Timeout
}

// envelope builds and encodes a cast or fanout.
func (b *Bus) envelope(ctx context.Context, kind rpc.Kind, m rpc.MethodInfo, args any) (*rpc.Envelope, []byte, error) {
	payload, err := json.Marshal(args)
	if err != nil {
		return nil, nil, fmt.Errorf("encode %s arguments: %w", m, err)
	}
	env := &rpc.Envelope{Kind: kind, Namespace: m.Namespace, Method: m.Name, Version: m.Version,
		MessageID: b.o.NewID(), SentAt: b.o.Now().UTC(), Context: rpc.FromContext(ctx), Payload: payload}
	body, err := env.Encode(b.o.MaxMessageSize)
	return env, body, err
}

// Cast sends a message to one server of a target and returns once the
// transport holds it durably; it waits through a broker outage until ctx (or,
// without a deadline, the bus timeout) ends.
func (b *Bus) Cast(ctx context.Context, to Target, m rpc.MethodInfo, args any) error {
	return b.send(ctx, rpc.Cast, to.address(), m, args)
}

// Fanout sends a message to every server of a topic, best effort: a server
// that is down when it is sent never sees it.
func (b *Bus) Fanout(ctx context.Context, topic string, m rpc.MethodInfo, args any) error {
	return b.send(ctx, rpc.Fanout, Address{Topic: topic, Fanout: true}, m, args)
}

func (b *Bus) send(ctx context.Context, kind rpc.Kind, to Address, m rpc.MethodInfo, args any) error {
	ctx, cancel, _ := b.bounded(ctx)
	defer cancel()
	env, body, err := b.envelope(ctx, kind, m, args)
	if err != nil {
		b.o.Metrics.failedOne(string(kind), to.Topic, sendReason(err))
		return fmt.Errorf("%s %s to %s: %w", kind, m, to, err)
	}
	err = b.t.Send(ctx, to, Message{ID: env.MessageID, Body: body, Persistent: kind == rpc.Cast})
	if err != nil {
		b.o.Metrics.failedOne(string(kind), to.Topic, sendReason(err))
		return fmt.Errorf("%s %s to %s (message %s): %w", kind, m, to, env.MessageID, sendError(ctx, err))
	}
	b.o.Metrics.sentOne(string(kind), to.Topic)
	return nil
}

// sendError turns a deadline into ErrTimeout, so callers test one error.
func sendError(ctx context.Context, err error) error {
	if !errors.Is(err, ErrNoRoute) && (errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded)) {
		return fmt.Errorf("%w: the transport did not accept the message before the deadline: %w", ErrTimeout, err)
	}
	return err
}

func sendReason(err error) string {
	switch {
	case errors.Is(err, ErrNoRoute):
		return reasonNoRoute
	case errors.Is(err, rpc.ErrTooLarge):
		return reasonTooLarge
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, ErrTimeout):
		return reasonTimeout
	case errors.Is(err, context.Canceled):
		return reasonCancelled
	}
	return reasonSendError
}

// Call sends a message to one server of a target and waits for its reply,
// decoded into result (nil ignores it). It waits until ctx's deadline or, when
// ctx has none, the bus timeout ([DEFAULT] rpc_response_timeout). An error the
// handler returned comes back as an *rpc.Error of the same kind.
func (b *Bus) Call(ctx context.Context, to Target, m rpc.MethodInfo, args any, result any) error {
	start := time.Now()
	ctx, cancel, timeout := b.bounded(ctx)
	defer cancel()
	fail := func(reason string, err error) error {
		b.o.Metrics.failedOne(string(rpc.Call), to.Topic, reason)
		return fmt.Errorf("call %s to topic %s: %w", m, to, err)
	}
	replyTo, err := b.replies(ctx)
	if err != nil {
		return fail(sendReason(err), fmt.Errorf("open reply queue: %w", sendError(ctx, err)))
	}
	payload, err := json.Marshal(args)
	if err != nil {
		return fail(reasonSendError, fmt.Errorf("encode arguments: %w", err))
	}
	env := &rpc.Envelope{Kind: rpc.Call, Namespace: m.Namespace, Method: m.Name, Version: m.Version,
		MessageID: b.o.NewID(), SentAt: b.o.Now().UTC(), Context: rpc.FromContext(ctx),
		ReplyTo: replyTo, TimeoutMS: max(timeout.Milliseconds(), 1), Payload: payload}
	body, err := env.Encode(b.o.MaxMessageSize)
	if err != nil {
		return fail(sendReason(err), err)
	}
	ch := make(chan *rpc.Reply, 1)
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return fail(reasonSendError, ErrClosed)
	}
	b.waiters[env.MessageID] = ch
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		delete(b.waiters, env.MessageID)
		b.mu.Unlock()
	}()
	timedOut := func() error {
		if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return fail(reasonCancelled, fmt.Errorf("gave up waiting for a reply (message %s): %w", env.MessageID, ctx.Err()))
		}
		return fail(reasonTimeout, fmt.Errorf("%w: no reply within %s (message %s)", ErrTimeout, roundTimeout(timeout), env.MessageID))
	}
	if err := b.t.Send(ctx, to.address(), Message{ID: env.MessageID, Body: body, TTL: timeout}); err != nil {
		if errors.Is(err, ErrNoRoute) {
			return fail(reasonNoRoute, fmt.Errorf("message %s: %w", env.MessageID, err))
		}
		if ctx.Err() != nil {
			return timedOut()
		}
		return fail(reasonSendError, fmt.Errorf("message %s: %w", env.MessageID, err))
	}
	b.o.Metrics.sentOne(string(rpc.Call), to.Topic)
	var r *rpc.Reply
	select {
	case r = <-ch:
	case <-ctx.Done():
		return timedOut()
	case <-b.done:
		return fail(reasonSendError, fmt.Errorf("message %s: %w", env.MessageID, ErrClosed))
	}
	b.o.Metrics.callDone(to.Topic, m.String(), time.Since(start))
	if r.Error != nil {
		b.o.Metrics.failedOne(string(rpc.Call), to.Topic, reasonRemoteError)
		return fmt.Errorf("call %s to topic %s: %w", m, to, r.Error)
	}
	if result != nil && len(r.Result) > 0 {
		if err := json.Unmarshal(r.Result, result); err != nil {
			return fmt.Errorf("call %s to topic %s: decode reply: %w: %v", m, to, rpc.ErrMalformed, err)
		}
	}
	return nil
}

// replies opens this bus's reply queue on first use.
func (b *Bus) replies(ctx context.Context) (string, error) {
	b.replyMu.Lock()
	defer b.replyMu.Unlock()
	if b.replyAddr != "" {
		return b.replyAddr, nil
	}
	addr, err := b.t.Replies(ctx, b.onReply)
	if err != nil {
		return "", err
	}
	b.replyAddr = addr
	return addr, nil
}

// onReply hands a reply to the call waiting for it.
func (b *Bus) onReply(d Delivery) {
	d.Settle(Ack)
	r, err := rpc.DecodeReply(d.Body, b.o.MaxMessageSize)
	if err != nil {
		b.log.Warn("dropped an undecodable reply", "queue", d.Queue, "message_id", d.ID, "err", err)
		b.o.Metrics.failedOne(string(rpc.Call), "reply", reasonUndecodable)
		return
	}
	b.mu.Lock()
	ch, ok := b.waiters[r.MessageID]
	delete(b.waiters, r.MessageID)
	b.mu.Unlock()
	if !ok {
		// The caller gave up, or this is a second reply to a redelivered call.
		b.log.Debug("dropped a reply nobody waits for", "message_id", r.MessageID)
		return
	}
	ch <- r
}

// Call sends a typed call and returns its typed reply.
func Call[Req, Resp any](ctx context.Context, b *Bus, to Target, m rpc.Method[Req, Resp], req Req) (Resp, error) {
	var resp Resp
	err := b.Call(ctx, to, m.Info(), req, &resp)
	return resp, err
}

// Cast sends a typed cast.
func Cast[Req, Resp any](ctx context.Context, b *Bus, to Target, m rpc.Method[Req, Resp], req Req) error {
	return b.Cast(ctx, to, m.Info(), req)
}

// Fanout sends a typed message to every server of a topic.
func Fanout[Req, Resp any](ctx context.Context, b *Bus, topic string, m rpc.Method[Req, Resp], req Req) error {
	return b.Fanout(ctx, topic, m.Info(), req)
}

// roundTimeout shows a timeout as it was likely configured: a ctx deadline
// leaves slightly less than it was set to by the time the call is sent.
func roundTimeout(d time.Duration) time.Duration {
	if d < 10*time.Second {
		return d.Round(10 * time.Millisecond)
	}
	return d.Round(time.Second)
}
