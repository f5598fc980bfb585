package amqp

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/nimbus-cloud/nimbus/internal/bus"
)

// queueSpec is a queue to declare, bind and consume.
type queueSpec struct {
	name                           string
	durable, autoDelete, exclusive bool
	args                           amqp.Table
	exchange, key                  string // binding; "" exchange: none (the default exchange routes by name)
}

type exchangeSpec struct {
	name, kind string
	durable    bool
}

// subscription consumes a set of queues on a channel of its own, declaring
// them again and resuming after every reconnection until it is closed.
type subscription struct {
	name      string // for logs: the topic and host, or the reply queue
	t         *Transport
	h         bus.Handler
	autoAck   bool
	exchanges []exchangeSpec
	queues    []queueSpec
	deadQueue *queueSpec // declared and bound to the dead-letter exchange, not consumed

	mu        sync.Mutex
	ch        *amqp.Channel
	tags      []string
	cancelled bool

	stop  chan struct{}
	ended chan struct{}
	once  sync.Once
}

// Subscribe implements bus.Transport.
func (t *Transport) Subscribe(ctx context.Context, topic, host string, h bus.Handler) (bus.Subscription, error) {
	o := t.o
	dlx := amqp.Table{"x-dead-letter-exchange": deadLetterExchange(o.Exchange), "x-queue-version": int32(2)}
	s := &subscription{name: topic + "." + host, t: t, h: h,
		exchanges: []exchangeSpec{
			{o.Exchange, "topic", o.Durable},
			{deadLetterExchange(o.Exchange), "fanout", o.Durable},
			{fanoutExchange(topic), "fanout", o.Durable},
		},
		deadQueue: &queueSpec{name: DeadLetterQueue(o.Exchange), durable: o.Durable,
			args: amqp.Table{"x-max-length": int64(maxDeadLetters)}, exchange: deadLetterExchange(o.Exchange)},
		queues: []queueSpec{{name: topic, durable: o.Durable, autoDelete: o.AutoDelete, args: dlx, exchange: o.Exchange, key: topic}},
	}
	if host != "" {
		key := topic + "." + host
		s.queues = append(s.queues, queueSpec{name: key, durable: o.Durable, autoDelete: o.AutoDelete, args: dlx, exchange: o.Exchange, key: key})
	}
	s.queues = append(s.queues, queueSpec{name: fanoutExchange(topic) + "_" + uuid.NewString(),
		exclusive: true, autoDelete: true, args: dlx, exchange: fanoutExchange(topic)})
	return s, t.start(ctx, s)
}

// Replies implements bus.Transport: an exclusive queue of this process,
// consumed without acknowledgements (a reply is worth nothing once its
// caller has gone).
func (t *Transport) Replies(ctx context.Context, h bus.Handler) (string, error) {
	name := "reply_" + uuid.NewString()
	s := &subscription{name: name, t: t, h: h, autoAck: true,
		queues: []queueSpec{{name: name, exclusive: true, autoDelete: true}}}
	if err := t.start(ctx, s); err != nil {
		return "", err
	}
	return name, nil
}

// start declares and consumes the first time, so the queues exist (and a
// configuration error shows) when Subscribe returns, then keeps consuming.
func (t *Transport) start(ctx context.Context, s *subscription) (err error) {
	s.stop, s.ended = make(chan struct{}), make(chan struct{})
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return bus.ErrClosed
	}
	t.subs[s] = struct{}{}
	t.mu.Unlock()
	// The transport closing meanwhile (which closes s) ends the attempts.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-s.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	defer func() {
		if err != nil {
			close(s.ended)
			t.forget(s)
		}
	}()
	for {
		conn, err := t.conn.get(ctx)
		if err != nil {
			return err
		}
		dels, err := s.setup(conn)
		if err == nil {
			go s.run(dels)
			return nil
		}
		if permanent(err) || ctx.Err() != nil {
			return err
		}
		t.log.Warn("cannot set up consumer; retrying", "consumer", s.name, "err", err)
		if err := wait(ctx, t.o.RetryInterval); err != nil {
			return err
		}
	}
}

func (t *Transport) forget(s *subscription) {
	t.mu.Lock()
	delete(t.subs, s)
	t.mu.Unlock()
}

// setup opens a channel, declares the topology and starts the consumers.
func (s *subscription) setup(conn *amqp.Connection) (map[string]<-chan amqp.Delivery, error) {
	ch, err := conn.Channel()
	if err != nil {
		return nil, fmt.Errorf("open channel: %w", err)
	}
	fail := func(format string, args ...any) (map[string]<-chan amqp.Delivery, error) {
		_ = ch.Close()
		return nil, fmt.Errorf(format, args...)
	}
	if !s.autoAck && s.t.o.Prefetch > 0 {
		if err := ch.Qos(s.t.o.Prefetch, 0, false); err != nil {
			return fail("set prefetch: %w", err)
		}
	}
	for _, e := range s.exchanges {
		if err := ch.ExchangeDeclare(e.name, e.kind, e.durable, false, false, false, nil); err != nil {
			return fail("declare exchange %s: %w", e.name, err)
		}
	}
	declare := func(q queueSpec) error {
		if _, err := ch.QueueDeclare(q.name, q.durable, q.autoDelete, q.exclusive, false, q.args); err != nil {
			return fmt.Errorf("declare queue %s: %w", q.name, err)
		}
		if q.exchange != "" {
			if err := ch.QueueBind(q.name, q.key, q.exchange, false, nil); err != nil {
				return fmt.Errorf("bind queue %s to %s: %w", q.name, q.exchange, err)
			}
		}
		return nil
	}
	if s.deadQueue != nil {
		if err := declare(*s.deadQueue); err != nil {
			return fail("%w", err)
		}
	}
	dels := map[string]<-chan amqp.Delivery{}
	var tags []string
	for _, q := range s.queues {
		if err := declare(q); err != nil {
			return fail("%w", err)
		}
		tag := "nimbus-" + uuid.NewString()
		d, err := ch.Consume(q.name, tag, s.autoAck, false, false, false, nil)
		if err != nil {
			return fail("consume %s: %w", q.name, err)
		}
		dels[q.name] = d
		tags = append(tags, tag)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cancelled {
		for _, tag := range tags {
			_ = ch.Cancel(tag, false)
		}
	}
	s.ch, s.tags = ch, tags
	return dels, nil
}

// run hands deliveries to the handler; when the channel (or a consumer) is
// lost it sets everything up again on the current connection.
func (s *subscription) run(dels map[string]<-chan amqp.Delivery) {
	defer close(s.ended)
	for {
		lost := make(chan struct{})
		var lostOnce sync.Once
		var wg sync.WaitGroup
		s.mu.Lock()
		a := newAcker(s.ch)
		s.mu.Unlock()
		for queue, d := range dels {
			wg.Go(func() {
				defer lostOnce.Do(func() { close(lost) })
				for del := range d {
					s.h(s.delivery(queue, del, a))
				}
			})
		}
		select {
		case <-lost:
		case <-s.stop:
		}
		s.mu.Lock()
		ch, cancelled := s.ch, s.cancelled
		s.mu.Unlock()
		if cancelled {
			<-s.stop
		}
		// Closing the channel ends the other consumers and gives their
		// unacknowledged messages back to the broker: acknowledge first what
		// was handled.
		a.flush()
		_ = ch.Close()
		wg.Wait()
		a.close()
		select {
		case <-s.stop:
			return
		default:
		}
		s.t.log.Warn("consumer lost its channel; setting it up again", "consumer", s.name)
		if dels = s.resume(); dels == nil {
			return
		}
	}
}

// resume waits for a connection and sets up again, with backoff; nil when the
// subscription was closed meanwhile.
func (s *subscription) resume() map[string]<-chan amqp.Delivery {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-s.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	for attempt := 0; ; attempt++ {
		conn, err := s.t.conn.get(ctx)
		if err != nil {
			return nil
		}
		dels, err := s.setup(conn)
		if err == nil {
			s.t.log.Info("consumer resumed", "consumer", s.name)
			return dels
		}
		s.t.log.Warn("cannot set up consumer again; retrying", "consumer", s.name, "err", err)
		if wait(ctx, min(s.t.o.RetryInterval*time.Duration(attempt+1), s.t.o.RetryMax)) != nil {
			return nil
		}
	}
}

func (s *subscription) delivery(queue string, d amqp.Delivery, a *acker) bus.Delivery {
	var settled atomic.Bool
	return bus.Delivery{
		Message: bus.Message{ID: d.MessageId, Body: d.Body, Persistent: d.DeliveryMode == amqp.Persistent},
		Queue:   queue, Redelivered: d.Redelivered,
		Settle: func(o bus.Outcome) {
			if s.autoAck || !settled.CompareAndSwap(false, true) {
				return
			}
			a.settle(d.DeliveryTag, o)
		},
	}
}

// Cancel implements bus.Subscription.
func (s *subscription) Cancel() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cancelled {
		return
	}
	s.cancelled = true
	for _, tag := range s.tags {
		_ = s.ch.Cancel(tag, false)
	}
}

// Close implements bus.Subscription.
func (s *subscription) Close() error {
	s.once.Do(func() {
		s.Cancel()
		close(s.stop)
		<-s.ended
		s.t.forget(s)
	})
	return nil
}
