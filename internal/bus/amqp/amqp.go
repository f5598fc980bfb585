// Package amqp is the RabbitMQ bus transport, with the topology of
// oslo.messaging's RPC: one topic exchange (the control exchange), a queue per
// topic shared by its servers, a queue per topic.host, a fanout exchange
// <topic>_fanout with a queue per server, and one reply queue per process.
//
// What it guarantees:
//   - Casts are persistent and their queues durable (amqp_durable_queues), so a
//     broker restart loses none once Send returned: Send returns only after the
//     broker confirmed the message (publisher confirms).
//   - Messages are published mandatory: one nobody could ever receive (no
//     queue bound) is an error at once rather than silently dropped.
//   - Servers acknowledge after their handler finished; a server or broker
//     that goes away before that has the message delivered again.
//   - Connections are re-established with backoff (rabbit_retry_interval,
//     rabbit_retry_backoff, rabbit_interval_max), topology declared again,
//     consumers resumed; sends during an outage wait (bounded by their ctx)
//     and are published again, so a message may arrive twice but is not lost.
//   - Messages refused by a server (undecodable, oversized, a version it does
//     not implement) are dead-lettered to <exchange>.dead for an operator.
package amqp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/nimbus-cloud/nimbus/internal/bus"
)

// Options configure the transport; zero values take the defaults noted.
type Options struct {
	// Brokers are tried in turn; at least one.
	Brokers []Broker
	// Exchange is the control exchange all topics live in; "nimbus" by default.
	Exchange string
	// Durable declares exchanges and topic queues durable (amqp_durable_queues).
	Durable bool
	// AutoDelete deletes topic queues when their last consumer goes (amqp_auto_delete).
	AutoDelete bool
	// Prefetch is how many unacknowledged messages a consumer holds
	// (rabbit_qos_prefetch_count); 0: no limit.
	Prefetch int
	// RetryInterval, RetryBackoff and RetryMax space reconnection attempts:
	// the first after RetryInterval, each later one RetryBackoff longer, at
	// most RetryMax (1s, 2s and 30s by default).
	RetryInterval, RetryBackoff, RetryMax time.Duration
	// Heartbeat is how long a silent connection lives before it is declared
	// dead (heartbeat_timeout_threshold); 60s by default, negative: the
	// broker's setting.
	Heartbeat time.Duration
	// ConnectionName shows in RabbitMQ's connection list.
	ConnectionName string
	// Log receives connection events; nil discards them.
	Log *slog.Logger
}

// DeadLetterQueue is the queue refused messages of an exchange end up in.
func DeadLetterQueue(exchange string) string { return exchange + ".dead" }

// deadLetterExchange is where queues send refused (and expired) messages.
func deadLetterExchange(exchange string) string { return exchange + ".dlx" }

// maxDeadLetters bounds the dead-letter queue; the oldest go first.
const maxDeadLetters = 10000

// Transport is the RabbitMQ bus transport of one process: one connection, one
// publishing channel, and a channel per subscription.
type Transport struct {
	o    Options
	log  *slog.Logger
	conn *connManager
	pub  *publisher

	mu     sync.Mutex
	subs   map[*subscription]struct{}
	closed bool
}

// Dial connects to the first reachable broker, waiting (and retrying with
// backoff) until ctx ends; after that, outages are handled in the background.
func Dial(ctx context.Context, o Options) (*Transport, error) {
	if len(o.Brokers) == 0 {
		return nil, errors.New("amqp: no broker to connect to")
	}
	if o.Exchange == "" {
		o.Exchange = "nimbus"
	}
	if o.RetryInterval <= 0 {
		o.RetryInterval = time.Second
	}
	if o.RetryBackoff < 0 {
		o.RetryBackoff = 0
	} else if o.RetryBackoff == 0 {
		o.RetryBackoff = 2 * time.Second
	}
	if o.RetryMax <= 0 {
		o.RetryMax = 30 * time.Second
	}
	if o.Heartbeat == 0 {
		o.Heartbeat = 60 * time.Second
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	t := &Transport{o: o, log: o.Log, subs: map[*subscription]struct{}{}}
	t.conn = newConnManager(o, t.log)
	t.pub = newPublisher(t)
	fail := func(err error) (*Transport, error) {
		t.conn.close()
		return nil, fmt.Errorf("connect to RabbitMQ at %s: %w", brokerList(o.Brokers), err)
	}
	select {
	case <-t.conn.tried:
	case <-ctx.Done():
		return fail(ctx.Err())
	}
	if err := t.conn.lastError(); err != nil && permanent(err) {
		// Wrong credentials or vhost: waiting would not help.
		return fail(err)
	}
	if _, err := t.conn.get(ctx); err != nil {
		return fail(errors.Join(err, t.conn.lastError()))
	}
	return t, nil
}

func brokerList(bs []Broker) string {
	s := ""
	for i, b := range bs {
		if i > 0 {
			s += ","
		}
		s += b.Addr()
	}
	return s
}

// Send implements bus.Transport.
func (t *Transport) Send(ctx context.Context, to bus.Address, m bus.Message) error {
	pub := amqp.Publishing{
		MessageId:   m.ID,
		Body:        m.Body,
		ContentType: "application/json",
		AppId:       "nimbus",
		Timestamp:   time.Now(),
	}
	if m.Persistent {
		pub.DeliveryMode = amqp.Persistent
	} else {
		pub.DeliveryMode = amqp.Transient
	}
	if m.TTL > 0 {
		pub.Expiration = fmt.Sprint(max(m.TTL.Milliseconds(), 1))
	}
	switch {
	case to.Reply != "":
		return t.pub.publish(ctx, "", "", to.Reply, true, pub)
	case to.Fanout:
		return t.pub.publish(ctx, fanoutExchange(to.Topic), "fanout", "", false, pub)
	default:
		return t.pub.publish(ctx, t.o.Exchange, "", to.RoutingKey(), true, pub)
	}
}

func fanoutExchange(topic string) string { return topic + "_fanout" }

// Close implements bus.Transport.
func (t *Transport) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	subs := make([]*subscription, 0, len(t.subs))
	for s := range t.subs {
		subs = append(subs, s)
	}
	t.mu.Unlock()
	for _, s := range subs {
		s.Close()
	}
	t.pub.close()
	t.conn.close()
	return nil
}

// wait sleeps for d unless ctx ends first.
func wait(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// DeleteTopic removes the queues of a topic (the shared one and those of the
// given hosts) and its fanout exchange, with the messages waiting in them: for
// a host taken out of service for good, whose queue would otherwise collect
// messages nobody will read.
func (t *Transport) DeleteTopic(ctx context.Context, topic string, hosts ...string) error {
	conn, err := t.conn.get(ctx)
	if err != nil {
		return err
	}
	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("open channel: %w", err)
	}
	defer ch.Close()
	names := []string{topic}
	for _, h := range hosts {
		names = append(names, topic+"."+h)
	}
	for _, q := range names {
		if _, err := ch.QueueDelete(q, false, false, false); err != nil {
			return fmt.Errorf("delete queue %s: %w", q, err)
		}
	}
	if err := ch.ExchangeDelete(fanoutExchange(topic), false, false); err != nil {
		return fmt.Errorf("delete exchange %s: %w", fanoutExchange(topic), err)
	}
	return nil
}
