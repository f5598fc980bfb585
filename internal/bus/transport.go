package bus

import (
	"context"
	"errors"
	"time"
)

// Transport moves opaque messages between processes. Implementations: inproc
// (one process, still bytes) and amqp (RabbitMQ). The Bus above it owns
// envelopes, versions, replies, limits and metrics, so every transport behaves
// the same for them.
type Transport interface {
	// Send delivers m to an address and returns once the transport holds it
	// (for RabbitMQ: the broker confirmed it). During an outage it waits and
	// retries until ctx ends, so a message may arrive twice but is not lost
	// once Send returned nil. ErrNoRoute when nothing is bound at a topic or
	// reply address (a fanout to nobody is not an error).
	Send(ctx context.Context, to Address, m Message) error
	// Subscribe starts delivering to h the messages of one server: the queue
	// shared by every server of topic, the queue of topic.host, and a fanout
	// queue of its own. The queues exist when Subscribe returns. Handlers run
	// on the transport's delivery goroutine and must settle each delivery.
	Subscribe(ctx context.Context, topic, host string, h Handler) (Subscription, error)
	// Replies creates this process's reply queue, delivers its messages to h
	// (settling them itself) and returns its address.
	Replies(ctx context.Context, h Handler) (string, error)
	// Close stops every subscription and releases the transport.
	Close() error
}

// Subscription is one server's consumption of its queues.
type Subscription interface {
	// Cancel stops new deliveries; those already handed out may still arrive
	// and be settled.
	Cancel()
	// Close releases the subscription; deliveries not yet settled go back to
	// their queues for another server.
	Close() error
}

// Address is where a message goes: a topic (any of its servers), topic.host
// (one server), every server of a topic (Fanout), or a reply queue.
type Address struct {
	Topic  string
	Host   string
	Fanout bool
	// Reply is a reply address from Transport.Replies; the other fields are
	// unused when it is set.
	Reply string
}

// RoutingKey is "topic" or "topic.host".
func (a Address) RoutingKey() string {
	if a.Host == "" {
		return a.Topic
	}
	return a.Topic + "." + a.Host
}

// String names the address in errors and logs.
func (a Address) String() string {
	switch {
	case a.Reply != "":
		return "reply queue " + a.Reply
	case a.Fanout:
		return "every server of topic " + a.Topic
	case a.Host != "":
		return "topic " + a.RoutingKey()
	}
	return "topic " + a.Topic
}

// Message is what a transport carries.
type Message struct {
	// ID is the message id; a message sent again keeps it.
	ID   string
	Body []byte
	// Persistent messages survive a broker restart (casts).
	Persistent bool
	// TTL drops the message if no server took it within this long; 0: never.
	TTL time.Duration
}

// Outcome is how a delivery was settled.
type Outcome int

// Outcomes of a delivery.
const (
	// Ack: handled; the message is gone.
	Ack Outcome = iota
	// Requeue: not handled; another server (or this one later) gets it again.
	Requeue
	// DeadLetter: refused; it goes to the dead-letter queue and is not retried.
	DeadLetter
)

func (o Outcome) String() string {
	return [...]string{"ack", "requeue", "dead-letter"}[o]
}

// Delivery is a message handed to a server.
type Delivery struct {
	Message
	// Queue is the queue it came from, for logs.
	Queue       string
	Redelivered bool
	// Settle reports the outcome; the first call counts, later ones do nothing.
	Settle func(Outcome)
}

// Handler receives deliveries.
type Handler func(Delivery)

// Transport errors.
var (
	// ErrNoRoute: no queue is bound at the address, so nobody could ever get
	// the message (RabbitMQ returned the mandatory message).
	ErrNoRoute = errors.New("no server listens there (nothing is bound to that address)")
	// ErrClosed: the transport or bus is closed.
	ErrClosed = errors.New("bus closed")
)
