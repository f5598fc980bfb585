package amqp_test

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/bus"
	"github.com/nimbus-cloud/nimbus/internal/rpc"
)

type note struct {
	Seq int `json:"seq"`
}

var (
	noteMethod = rpc.Method[note, rpc.None]{Namespace: "restart", Name: "note", Version: rpc.V(1, 0)}
	echoMethod = rpc.Method[note, note]{Namespace: "restart", Name: "echo", Version: rpc.V(1, 0)}
)

// rabbitmqctl runs the broker's control tool on this machine.
func rabbitmqctl(args ...string) error {
	out, err := exec.Command("rabbitmqctl", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("rabbitmqctl %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// effects records what the servers' handlers did.
type effects struct {
	mu         sync.Mutex
	bySeq      map[int]int
	deliveries atomic.Int64
	dedupe     *bus.Dedupe
}

// serve starts a server of the restart interface on a process of its own.
func (e *effects) serve(t *testing.T, w *world, topic, host string) {
	t.Helper()
	b := bus.New(w.connect(t), bus.Options{Log: testLogger(t)})
	t.Cleanup(func() { b.Close(context.Background()) })
	count := func(next bus.HandlerFunc) bus.HandlerFunc {
		return func(ctx context.Context, r *bus.Request) (any, error) {
			e.deliveries.Add(1)
			return next(ctx, r)
		}
	}
	ep := bus.NewEndpoint("restart", rpc.V(1, 0))
	ep.Use(count, e.dedupe.Middleware)
	bus.Handle(ep, noteMethod, func(ctx context.Context, n note) (rpc.None, error) {
		e.mu.Lock()
		e.bySeq[n.Seq]++
		e.mu.Unlock()
		return rpc.None{}, nil
	})
	bus.Handle(ep, echoMethod, func(ctx context.Context, n note) (note, error) { return n, nil })
	if _, err := b.Serve(context.Background(), topic, host, ep); err != nil {
		t.Fatalf("server %s: %v", host, err)
	}
}

// missing lists the sequence numbers in seqs that no handler took effect for.
func (e *effects) missing(seqs []int) []int {
	e.mu.Lock()
	defer e.mu.Unlock()
	var m []int
	for _, seq := range seqs {
		if e.bySeq[seq] == 0 {
			m = append(m, seq)
		}
	}
	return m
}

// stream casts numbered notes from several senders until stopped, keeping
// the numbers the bus confirmed.
type stream struct {
	next, sent atomic.Int64
	stop       chan struct{}
	wg         sync.WaitGroup
	errs       chan error
	mu         sync.Mutex
	confirmed  []int
}

func startStream(b *bus.Bus, to bus.Target, senders int) *stream {
	s := &stream{stop: make(chan struct{}), errs: make(chan error, senders)}
	for range senders {
		s.wg.Go(func() {
			for {
				select {
				case <-s.stop:
					return
				default:
				}
				seq := int(s.next.Add(1))
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				err := bus.Cast(ctx, b, to, noteMethod, note{Seq: seq})
				cancel()
				if err != nil {
					s.errs <- fmt.Errorf("cast %d: %w", seq, err)
					return
				}
				s.sent.Add(1)
				s.mu.Lock()
				s.confirmed = append(s.confirmed, seq)
				s.mu.Unlock()
			}
		})
	}
	return s
}

// end stops the senders and returns what was confirmed and the send errors.
func (s *stream) end() ([]int, []error) {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	s.wg.Wait()
	var errs []error
	for len(s.errs) > 0 {
		errs = append(errs, <-s.errs)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int(nil), s.confirmed...), errs
}

// waitSent waits until n more casts than from were confirmed.
func (s *stream) waitSent(t *testing.T, from, n int64) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for s.sent.Load() < from+n {
		if time.Now().After(deadline) {
			s.end()
			t.Fatalf("waited in vain for %d casts after %d (%d confirmed)", n, from, s.sent.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestBrokerRestartLosesNothing restarts RabbitMQ while casts flow from
// several senders to two servers, and checks that every cast a sender saw
// succeed was handled: at least once by the transport, exactly once after the
// Dedupe middleware. Sends made during the outage wait for the broker instead of
// failing.
func TestBrokerRestartLosesNothing(t *testing.T) {
	w := newWorld(t)
	if _, err := exec.LookPath("rabbitmqctl"); err != nil {
		t.Fatalf("%s is set but rabbitmqctl is not on PATH: this test restarts the broker with it", rabbitEnv)
	}
	// Registered after the world, so it runs before the world's cleanup:
	// whatever happens, the broker is left running.
	t.Cleanup(func() {
		for _, cmd := range []string{"start_app", "await_startup"} {
			if err := rabbitmqctl(cmd); err != nil {
				t.Errorf("leave the broker running: %v", err)
			}
		}
	})
	topic := w.topic("restart")
	fx := &effects{bySeq: map[int]int{}, dedupe: bus.NewDedupe(1 << 20)}
	fx.serve(t, w, topic, "h1")
	fx.serve(t, w, topic, "h2")
	sender := bus.New(w.connect(t), bus.Options{Log: testLogger(t)})
	t.Cleanup(func() { sender.Close(context.Background()) })

	st := startStream(sender, bus.Target{Topic: topic}, 4)
	st.waitSent(t, 0, 500)
	if err := rabbitmqctl("stop_app"); err != nil {
		st.end()
		t.Fatal(err)
	}
	t.Logf("broker stopped after %d casts", st.sent.Load())
	outage := sendDuringOutage(sender, topic)
	// Give the two sends time to reach the transport; they must still be
	// waiting when the broker comes back.
	time.Sleep(200 * time.Millisecond)
	if outage.returned.Load() {
		t.Error("a send returned while the broker was down")
	}
	for _, cmd := range []string{"start_app", "await_startup"} {
		if err := rabbitmqctl(cmd); err != nil {
			st.end()
			t.Fatal(err)
		}
	}
	restarted := st.sent.Load()
	t.Logf("broker running again after %d casts", restarted)
	st.waitSent(t, restarted, 500)
	confirmed, errs := st.end()
	for _, err := range errs {
		t.Errorf("a send failed instead of waiting out the outage: %v", err)
	}
	for _, err := range outage.wait() {
		t.Errorf("a send made during the outage: %v", err)
	}

	deadline := time.Now().Add(2 * time.Minute)
	for len(fx.missing(confirmed)) > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if m := fx.missing(confirmed); len(m) > 0 {
		t.Fatalf("%d of %d confirmed casts were never handled, e.g. %v", len(m), len(confirmed), m[:min(len(m), 10)])
	}
	fx.mu.Lock()
	defer fx.mu.Unlock()
	for seq, n := range fx.bySeq {
		if n != 1 {
			t.Errorf("cast %d took effect %d times through the Dedupe middleware", seq, n)
		}
	}
	t.Logf("%d casts confirmed, all handled; %d deliveries, %d duplicates suppressed",
		len(confirmed), fx.deliveries.Load(), fx.dedupe.Duplicates())
}

// outageSends are a cast and a call made while the broker is down.
type outageSends struct {
	returned atomic.Bool
	results  chan error
	cancel   context.CancelFunc
}

func sendDuringOutage(b *bus.Bus, topic string) *outageSends {
	o := &outageSends{results: make(chan error, 2)}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	o.cancel = cancel
	go func() {
		o.results <- bus.Cast(ctx, b, bus.Target{Topic: topic, Host: "h2"}, noteMethod, note{Seq: -1})
		o.returned.Store(true)
	}()
	go func() {
		_, err := bus.Call(ctx, b, bus.Target{Topic: topic, Host: "h1"}, echoMethod, note{Seq: -2})
		o.results <- err
		o.returned.Store(true)
	}()
	return o
}

// wait returns the errors of the two sends once both returned.
func (o *outageSends) wait() []error {
	defer o.cancel()
	var errs []error
	for range 2 {
		if err := <-o.results; err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}
