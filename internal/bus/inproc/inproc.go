// Package inproc is the bus transport of a single process: queues in memory
// that behave as the RabbitMQ topology does (a shared queue per topic, one per
// topic.host, a fanout queue per server, a reply queue per client; delivery
// with prefetch, acknowledgement, requeue on a server's departure, message
// TTLs, dead-lettering). Every message is copied as bytes, so what would not
// survive the wire does not survive here either.
package inproc

import (
	"context"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/nimbus-cloud/nimbus/internal/bus"
)

// DefaultPrefetch is how many unsettled deliveries one consumer holds.
const DefaultPrefetch = 64

// maxDeadLetters bounds the dead-letter queue; the oldest go first.
const maxDeadLetters = 1000

// Options tune a broker.
type Options struct {
	// Prefetch is how many unsettled deliveries each consumer holds; 0 is
	// DefaultPrefetch.
	Prefetch int
	// Now is the clock of message TTLs; nil is time.Now.
	Now func() time.Time
}

// Broker holds the queues. Transports connected to one broker talk to each
// other as processes connected to one RabbitMQ do.
type Broker struct {
	o Options

	mu      sync.Mutex
	queues  map[string]*queue              // by name: topic, topic.host, fanout and reply queues
	fanouts map[string]map[*queue]struct{} // topic -> its fanout queues
	dead    []bus.Message
	tag     uint64
}

// NewBroker returns a broker without queues.
func NewBroker(o Options) *Broker {
	if o.Prefetch <= 0 {
		o.Prefetch = DefaultPrefetch
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Broker{o: o, queues: map[string]*queue{}, fanouts: map[string]map[*queue]struct{}{}}
}

// New returns a transport on a broker of its own: the bus of an all-in-one
// process.
func New(o Options) *Transport { return NewBroker(o).Connect() }

// Connect returns a new transport on the broker, as another process would have.
func (b *Broker) Connect() *Transport {
	return &Transport{b: b, subs: map[*subscription]struct{}{}}
}

// DeadLetters returns the messages servers refused, oldest first.
func (b *Broker) DeadLetters() []bus.Message {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]bus.Message(nil), b.dead...)
}

// Transport is one connection to a broker: the bus transport of one process.
type Transport struct {
	b *Broker

	// guarded by b.mu
	closed bool
	subs   map[*subscription]struct{}
}

// Broker is the broker the transport is connected to.
func (t *Transport) Broker() *Broker { return t.b }

type entry struct {
	m           bus.Message
	expires     time.Time
	redelivered bool
}

type queue struct {
	name      string
	msgs      []entry
	consumers []*consumer
	next      int  // round-robin position
	exclusive bool // deleted with its consumer
}

type consumer struct {
	q         *queue
	ch        chan bus.Delivery
	credit    int
	unacked   map[uint64]entry
	cancelled bool
	closed    atomic.Bool
}

// Send implements bus.Transport.
func (t *Transport) Send(ctx context.Context, to bus.Address, m bus.Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b := t.b
	e := entry{m: bus.Message{ID: m.ID, Persistent: m.Persistent, TTL: m.TTL}}
	if m.TTL > 0 {
		e.expires = b.o.Now().Add(m.TTL)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if t.closed {
		return bus.ErrClosed
	}
	if to.Fanout {
		for q := range b.fanouts[to.Topic] {
			e.m.Body = append([]byte(nil), m.Body...)
			b.push(q, e)
		}
		return nil
	}
	name := to.Reply
	if name == "" {
		name = to.RoutingKey()
	}
	q, ok := b.queues[name]
	if !ok {
		return bus.ErrNoRoute
	}
	e.m.Body = append([]byte(nil), m.Body...)
	b.push(q, e)
	return nil
}

// push appends to a queue. Called with b.mu held.
func (b *Broker) push(q *queue, e entry) {
	q.msgs = append(q.msgs, e)
	b.pump(q)
}

// pump hands queued messages to consumers with credit, in turn, dropping
// expired ones. Called with b.mu held.
func (b *Broker) pump(q *queue) {
	now := b.o.Now()
	for len(q.msgs) > 0 {
		c := q.nextConsumer()
		if c == nil {
			return
		}
		e := q.msgs[0]
		q.msgs[0] = entry{}
		q.msgs = q.msgs[1:]
		if !e.expires.IsZero() && now.After(e.expires) {
			continue
		}
		b.tag++
		tag := b.tag
		c.unacked[tag] = e
		c.credit--
		// The channel holds the consumer's whole credit, so this never waits.
		c.ch <- bus.Delivery{Message: e.m, Queue: q.name, Redelivered: e.redelivered,
			Settle: func(o bus.Outcome) { b.settle(c, tag, o) }}
	}
}

func (q *queue) nextConsumer() *consumer {
	for i := range q.consumers {
		c := q.consumers[(q.next+i)%len(q.consumers)]
		if !c.cancelled && c.credit > 0 {
			q.next = (q.next + i + 1) % len(q.consumers)
			return c
		}
	}
	return nil
}

func (b *Broker) settle(c *consumer, tag uint64, o bus.Outcome) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e, ok := c.unacked[tag]
	if !ok {
		return
	}
	delete(c.unacked, tag)
	c.credit++
	switch o {
	case bus.Requeue:
		e.redelivered = true
		c.q.msgs = append([]entry{e}, c.q.msgs...)
	case bus.DeadLetter:
		b.dead = append(b.dead, e.m)
		if len(b.dead) > maxDeadLetters {
			b.dead = b.dead[len(b.dead)-maxDeadLetters:]
		}
	}
	b.pump(c.q)
}

// declare returns the queue of a name, creating it. Called with b.mu held.
func (b *Broker) declare(name string, exclusive bool) *queue {
	q, ok := b.queues[name]
	if !ok {
		q = &queue{name: name, exclusive: exclusive}
		b.queues[name] = q
	}
	return q
}

// consume adds a consumer to a queue and starts its delivery goroutine.
// Called with b.mu held.
func (b *Broker) consume(q *queue, h bus.Handler, done *sync.WaitGroup) *consumer {
	c := &consumer{q: q, credit: b.o.Prefetch, unacked: map[uint64]entry{}, ch: make(chan bus.Delivery, b.o.Prefetch)}
	q.consumers = append(q.consumers, c)
	done.Go(func() {
		for d := range c.ch {
			// Deliveries still buffered when the subscription closed went back
			// to the queue; handing them out too would duplicate them.
			if !c.closed.Load() {
				h(d)
			}
		}
	})
	b.pump(q)
	return c
}

// Subscribe implements bus.Transport.
func (t *Transport) Subscribe(ctx context.Context, topic, host string, h bus.Handler) (bus.Subscription, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b := t.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if t.closed {
		return nil, bus.ErrClosed
	}
	s := &subscription{t: t}
	s.consumers = append(s.consumers, b.consume(b.declare(topic, false), h, &s.wg))
	if host != "" {
		s.consumers = append(s.consumers, b.consume(b.declare(topic+"."+host, false), h, &s.wg))
	}
	fq := b.declare(topic+"_fanout_"+uuid.NewString(), true)
	if b.fanouts[topic] == nil {
		b.fanouts[topic] = map[*queue]struct{}{}
	}
	b.fanouts[topic][fq] = struct{}{}
	s.fanoutTopic, s.fanout = topic, fq
	s.consumers = append(s.consumers, b.consume(fq, h, &s.wg))
	t.subs[s] = struct{}{}
	return s, nil
}

// Replies implements bus.Transport.
func (t *Transport) Replies(ctx context.Context, h bus.Handler) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	b := t.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if t.closed {
		return "", bus.ErrClosed
	}
	name := "reply_" + uuid.NewString()
	s := &subscription{t: t}
	ack := func(d bus.Delivery) {
		d.Settle(bus.Ack)
		h(d)
	}
	s.consumers = []*consumer{b.consume(b.declare(name, true), ack, &s.wg)}
	t.subs[s] = struct{}{}
	return name, nil
}

// Close implements bus.Transport: the process's subscriptions end, their
// unsettled deliveries go back to their queues, and its exclusive queues go.
func (t *Transport) Close() error {
	t.b.mu.Lock()
	if t.closed {
		t.b.mu.Unlock()
		return nil
	}
	t.closed = true
	subs := make([]*subscription, 0, len(t.subs))
	for s := range t.subs {
		subs = append(subs, s)
	}
	t.b.mu.Unlock()
	for _, s := range subs {
		s.Close()
	}
	return nil
}

type subscription struct {
	t           *Transport
	consumers   []*consumer
	fanoutTopic string
	fanout      *queue
	wg          sync.WaitGroup
	closeOnce   sync.Once
}

// Cancel implements bus.Subscription.
func (s *subscription) Cancel() {
	s.t.b.mu.Lock()
	defer s.t.b.mu.Unlock()
	for _, c := range s.consumers {
		c.cancelled = true
	}
}

// Close implements bus.Subscription. It waits for the handler to return from
// deliveries it was already given, so it must not be called from a handler.
func (s *subscription) Close() error {
	s.closeOnce.Do(func() {
		b := s.t.b
		b.mu.Lock()
		for _, c := range s.consumers {
			c.cancelled = true
			c.closed.Store(true)
			// Back to the head of the queue in their original order.
			tagsHeld := slices.Sorted(maps.Keys(c.unacked))
			requeue := make([]entry, 0, len(tagsHeld))
			for _, tag := range tagsHeld {
				e := c.unacked[tag]
				e.redelivered = true
				requeue = append(requeue, e)
				delete(c.unacked, tag)
			}
			c.q.msgs = append(requeue, c.q.msgs...)
			for i, x := range c.q.consumers {
				if x == c {
					c.q.consumers = append(c.q.consumers[:i], c.q.consumers[i+1:]...)
					break
				}
			}
			close(c.ch)
			if c.q.exclusive {
				delete(b.queues, c.q.name)
			} else {
				b.pump(c.q)
			}
		}
		if s.fanout != nil {
			delete(b.fanouts[s.fanoutTopic], s.fanout)
		}
		delete(s.t.subs, s)
		b.mu.Unlock()
		s.wg.Wait()
	})
	return nil
}
