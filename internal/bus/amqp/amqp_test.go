package amqp_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/nimbus-cloud/nimbus/internal/bus"
	"github.com/nimbus-cloud/nimbus/internal/bus/amqp"
	"github.com/nimbus-cloud/nimbus/internal/bus/bustest"
)

// rabbitEnv names the broker the tests run against, as an amqp:// or
// rabbit:// URL; scripts/test-services.sh sets it.
const rabbitEnv = "NIMBUS_TEST_RABBIT_URL"

// world is one test's corner of the broker: a control exchange and topics
// named with a random prefix, so tests (and test packages) running at the
// same time never meet, and everything is deleted afterwards.
type world struct {
	t      testing.TB
	url    string
	opts   amqp.Options
	prefix string

	mu     sync.Mutex
	topics map[string]map[string]bool // topic -> hosts served
	dead   []string
}

// rabbitURL is the broker to test against; without one the test skips.
func rabbitURL(t testing.TB) string {
	t.Helper()
	url := os.Getenv(rabbitEnv)
	if url == "" {
		t.Skipf("%s is not set: no RabbitMQ to test against (scripts/test-services.sh starts one and sets it)", rabbitEnv)
	}
	return url
}

func newWorld(t testing.TB) *world {
	t.Helper()
	url := rabbitURL(t)
	brokers, err := amqp.ParseTransportURL(url)
	if err != nil {
		t.Fatalf("%s: %v", rabbitEnv, err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	w := &world{t: t, url: url, prefix: "nimbus-test-" + hex.EncodeToString(b), topics: map[string]map[string]bool{}}
	w.opts = amqp.Options{Brokers: brokers, Exchange: w.prefix, Durable: true, Prefetch: 64,
		RetryInterval: 50 * time.Millisecond, RetryBackoff: 50 * time.Millisecond, RetryMax: 500 * time.Millisecond,
		ConnectionName: t.Name(), Log: testLogger(t)}
	t.Cleanup(w.cleanup)
	return w
}

// topic returns a topic name of this world.
func (w *world) topic(name string) string { return w.prefix + "-" + name }

// connect dials as a new process would.
func (w *world) connect(t *testing.T) bus.Transport { return w.dial(t) }

func (w *world) dial(t testing.TB) *recording {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tr, err := amqp.Dial(ctx, w.opts)
	if err != nil {
		t.Fatal(err)
	}
	return &recording{Transport: tr, w: w}
}

// recording notes the topics and hosts served, to delete their queues later.
type recording struct {
	*amqp.Transport
	w *world
}

func (r *recording) Send(ctx context.Context, to bus.Address, m bus.Message) error {
	if to.Fanout {
		// Sending a fanout declares the topic's fanout exchange.
		r.w.mu.Lock()
		if r.w.topics[to.Topic] == nil {
			r.w.topics[to.Topic] = map[string]bool{}
		}
		r.w.mu.Unlock()
	}
	return r.Transport.Send(ctx, to, m)
}

func (r *recording) Subscribe(ctx context.Context, topic, host string, h bus.Handler) (bus.Subscription, error) {
	r.w.mu.Lock()
	if r.w.topics[topic] == nil {
		r.w.topics[topic] = map[string]bool{}
	}
	r.w.topics[topic][host] = true
	r.w.mu.Unlock()
	return r.Transport.Subscribe(ctx, topic, host, h)
}

// admin opens a connection of the test's own, apart from the transports.
func (w *world) admin() *amqp091.Connection {
	brokers, _ := amqp.ParseTransportURL(w.url)
	b := brokers[0]
	conn, err := amqp091.DialConfig("amqp://"+b.Addr()+"/", amqp091.Config{
		SASL:  []amqp091.Authentication{&amqp091.PlainAuth{Username: b.Username, Password: b.Password}},
		Vhost: b.Vhost})
	if err != nil {
		w.t.Fatalf("admin connection: %v", err)
	}
	return conn
}

// deadLetters drains the dead-letter queue, remembering what it held.
func (w *world) deadLetters(t *testing.T) []string {
	conn := w.admin()
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	w.mu.Lock()
	defer w.mu.Unlock()
	for {
		d, ok, err := ch.Get(amqp.DeadLetterQueue(w.prefix), true)
		if err != nil || !ok {
			// Not declared yet (no server started) counts as empty.
			break
		}
		w.dead = append(w.dead, d.MessageId)
	}
	return append([]string(nil), w.dead...)
}

func (w *world) cleanup() {
	conn := w.admin()
	defer conn.Close()
	w.mu.Lock()
	defer w.mu.Unlock()
	del := func(what, name string, fn func(ch *amqp091.Channel) error) {
		// Each on its own channel: a failure closes the channel it happened on.
		ch, err := conn.Channel()
		if err != nil {
			w.t.Errorf("cleanup: %v", err)
			return
		}
		defer ch.Close()
		if err := fn(ch); err != nil {
			w.t.Errorf("cleanup: delete %s %s: %v", what, name, err)
		}
	}
	queue := func(name string) {
		del("queue", name, func(ch *amqp091.Channel) error { _, err := ch.QueueDelete(name, false, false, false); return err })
	}
	exchange := func(name string) {
		del("exchange", name, func(ch *amqp091.Channel) error { return ch.ExchangeDelete(name, false, false) })
	}
	for topic, hosts := range w.topics {
		queue(topic) // deleting what does not exist succeeds
		for h := range hosts {
			if h != "" {
				queue(topic + "." + h)
			}
		}
		exchange(topic + "_fanout")
	}
	queue(amqp.DeadLetterQueue(w.prefix))
	exchange(w.prefix + ".dlx")
	exchange(w.prefix)
}

func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return slog.New(slog.DiscardHandler)
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p[:len(p)-1]))
	return len(p), nil
}

func TestSuite(t *testing.T) {
	rabbitURL(t)
	bustest.Run(t, func(t *testing.T) bustest.Env {
		w := newWorld(t)
		return bustest.Env{Topic: w.topic("svc"), Connect: w.connect, DeadLetters: w.deadLetters}
	})
}

func TestDialRefusesBadCredentials(t *testing.T) {
	w := newWorld(t)
	o := w.opts
	o.Brokers = append([]amqp.Broker(nil), o.Brokers...)
	o.Brokers[0].Password = "not-the-password"
	// No deadline: a refusal of the credentials ends Dial at once.
	_, err := amqp.Dial(context.Background(), o)
	if err == nil {
		t.Fatal("dial with a wrong password succeeded")
	}
	if want := o.Brokers[0].Addr(); !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "403") {
		t.Errorf("error %q names neither the broker %s nor the refusal", err, want)
	}
}

func TestDeleteTopic(t *testing.T) {
	w := newWorld(t)
	tr := w.dial(t)
	defer tr.Close()
	topic := w.topic("gone")
	ctx := context.Background()
	s, err := tr.Subscribe(ctx, topic, "h1", func(d bus.Delivery) { d.Settle(bus.Ack) })
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := tr.Send(ctx, bus.Address{Topic: topic, Host: "h1"}, bus.Message{ID: "1", Body: []byte("{}")}); err != nil {
		t.Fatalf("send to a host whose queue exists: %v", err)
	}
	if err := tr.DeleteTopic(ctx, topic, "h1"); err != nil {
		t.Fatal(err)
	}
	err = tr.Send(ctx, bus.Address{Topic: topic, Host: "h1"}, bus.Message{ID: "2", Body: []byte("{}")})
	if !errors.Is(err, bus.ErrNoRoute) {
		t.Fatalf("send after the topic was deleted: got %v, want ErrNoRoute", err)
	}
}
