package bus_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/bus"
	"github.com/nimbus-cloud/nimbus/internal/bus/inproc"
	"github.com/nimbus-cloud/nimbus/internal/rpc"
)

// outage is a transport whose broker is unreachable: sends wait for it until
// their ctx ends, as the RabbitMQ transport's do.
type outage struct{ sends chan bus.Message }

func (o *outage) Send(ctx context.Context, to bus.Address, m bus.Message) error {
	o.sends <- m
	<-ctx.Done()
	return ctx.Err()
}

func (o *outage) Subscribe(ctx context.Context, topic, host string, h bus.Handler) (bus.Subscription, error) {
	return nil, errors.New("unreachable")
}

func (o *outage) Replies(ctx context.Context, h bus.Handler) (string, error) { return "reply_1", nil }

func (o *outage) Close() error { return nil }

var ping = rpc.Method[struct{}, struct{}]{Namespace: "test", Name: "ping", Version: rpc.V(1, 0)}

func TestSendsDuringAnOutageAreBounded(t *testing.T) {
	t.Parallel()
	tr := &outage{sends: make(chan bus.Message, 10)}
	b := bus.New(tr, bus.Options{Timeout: 50 * time.Millisecond})
	defer b.Close(context.Background())
	to := bus.Target{Topic: "conductor"}

	err := bus.Cast(context.Background(), b, to, ping, struct{}{})
	if !errors.Is(err, bus.ErrTimeout) || !strings.Contains(err.Error(), "conductor") {
		t.Errorf("cast without a deadline during an outage: got %v, want ErrTimeout after the bus timeout", err)
	}
	if m := <-tr.sends; !m.Persistent || m.TTL != 0 {
		t.Errorf("cast sent as %+v, want persistent without TTL", m)
	}
	_, err = bus.Call(context.Background(), b, to, ping, struct{}{})
	if !errors.Is(err, bus.ErrTimeout) || !strings.Contains(err.Error(), "50ms") {
		t.Errorf("call during an outage: got %v, want ErrTimeout naming 50ms", err)
	}
	if m := <-tr.sends; m.Persistent || m.TTL != 50*time.Millisecond {
		t.Errorf("call sent as %+v, want transient with the call's timeout as TTL", m)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := bus.Cast(ctx, b, to, ping, struct{}{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cast with a cancelled ctx: got %v", err)
	}
}

func TestCloseEndsWaitingCalls(t *testing.T) {
	t.Parallel()
	// A transport that takes every message and never answers.
	tr := &silent{n: make(chan struct{}, 100)}
	b := bus.New(tr, bus.Options{Timeout: time.Hour})
	done := make(chan error, 1)
	go func() {
		_, err := bus.Call(context.Background(), b, bus.Target{Topic: "scheduler"}, ping, struct{}{})
		done <- err
	}()
	for tr.count() == 0 {
		time.Sleep(time.Millisecond)
	}
	b.Close(context.Background())
	if err := <-done; !errors.Is(err, bus.ErrClosed) {
		t.Errorf("call waiting when the bus closed: got %v, want ErrClosed", err)
	}
	if _, err := b.Serve(context.Background(), "scheduler", "h", bus.NewEndpoint("test", rpc.V(1, 0))); !errors.Is(err, bus.ErrClosed) {
		t.Errorf("serve on a closed bus: got %v", err)
	}
}

type silent struct {
	outage
	n chan struct{}
}

func (s *silent) Send(ctx context.Context, to bus.Address, m bus.Message) error {
	s.n <- struct{}{}
	return nil
}

func (s *silent) count() int { return len(s.n) }

func TestEndpointRegistration(t *testing.T) {
	t.Parallel()
	mustPanic := func(name string, fn func()) {
		t.Helper()
		defer func() {
			if recover() == nil {
				t.Errorf("%s did not panic", name)
			}
		}()
		fn()
	}
	ep := bus.NewEndpoint("test", rpc.V(1, 2))
	noop := func(ctx context.Context, _ struct{}) (struct{}, error) { return struct{}{}, nil }
	bus.Handle(ep, ping, noop)
	mustPanic("a duplicate method", func() { bus.Handle(ep, ping, noop) })
	mustPanic("a method newer than the endpoint", func() {
		bus.Handle(ep, rpc.Method[struct{}, struct{}]{Namespace: "test", Name: "later", Version: rpc.V(1, 3)}, noop)
	})
	mustPanic("a method of another namespace", func() {
		bus.Handle(ep, rpc.Method[struct{}, struct{}]{Namespace: "other", Name: "x", Version: rpc.V(1, 0)}, noop)
	})
}

// lateReplyQueue is a transport whose reply queues are missing for the first
// few replies, as after a reconnection before the caller declared its queue again.
type lateReplyQueue struct {
	bus.Transport
	misses atomic.Int32
}

func (l *lateReplyQueue) Send(ctx context.Context, to bus.Address, m bus.Message) error {
	if to.Reply != "" && l.misses.Add(-1) >= 0 {
		return bus.ErrNoRoute
	}
	return l.Transport.Send(ctx, to, m)
}

func TestReplyWaitsForTheReplyQueue(t *testing.T) {
	t.Parallel()
	broker := inproc.NewBroker(inproc.Options{})
	srvT := &lateReplyQueue{Transport: broker.Connect()}
	srvT.misses.Store(3)
	srv, cli := bus.New(srvT, bus.Options{}), bus.New(broker.Connect(), bus.Options{})
	defer srv.Close(context.Background())
	defer cli.Close(context.Background())
	ep := bus.NewEndpoint("test", rpc.V(1, 0))
	bus.Handle(ep, ping, func(ctx context.Context, _ struct{}) (struct{}, error) { return struct{}{}, nil })
	if _, err := srv.Serve(context.Background(), "svc", "h", ep); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := bus.Call(ctx, cli, bus.Target{Topic: "svc"}, ping, struct{}{}); err != nil {
		t.Fatalf("call whose reply queue was missing for three tries: %v", err)
	}
	if srvT.misses.Load() >= 0 {
		t.Errorf("the reply was not retried (%d misses left)", srvT.misses.Load())
	}
}
