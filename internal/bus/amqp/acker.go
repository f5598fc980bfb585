package amqp

import (
	"sync"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/nimbus-cloud/nimbus/internal/bus"
)

// acker acknowledges one channel's deliveries, several in one frame where it
// can: a delivery settled in order (every earlier one on the channel settled
// already) is acknowledged by the next multiple-ack, which a goroutine sends
// as soon as it can; one settled out of order is acknowledged at once, so a
// slow handler never holds back the acknowledgements (and the prefetch
// window) of the others. Refusals are sent at once, before any multiple-ack
// that could cover them.
type acker struct {
	ch   acknowledger
	mu   sync.Mutex
	next uint64              // lowest delivery tag not settled yet
	done map[uint64]struct{} // settled tags above next
	// target is the last tag settled in order and not acknowledged yet: the
	// tag of the next multiple-ack. RabbitMQ refuses a multiple-ack whose own
	// tag is no longer outstanding, so it is never one acknowledged alone.
	target uint64
	sent   uint64 // the tag of the last multiple-ack sent
	signal chan struct{}
	stop   chan struct{}
}

// acknowledger is the part of a channel the acker uses.
type acknowledger interface {
	Ack(tag uint64, multiple bool) error
	Nack(tag uint64, multiple, requeue bool) error
}

var _ acknowledger = (*amqp.Channel)(nil)

func newAcker(ch acknowledger) *acker {
	a := &acker{ch: ch, next: 1, done: map[uint64]struct{}{}, signal: make(chan struct{}, 1), stop: make(chan struct{})}
	go a.loop()
	return a
}

// settle records a delivery's outcome. Errors mean the channel is gone, and
// with it the delivery: the broker gives the message to a consumer again.
func (a *acker) settle(tag uint64, o bus.Outcome) {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case o == bus.Requeue:
		_ = a.ch.Nack(tag, false, true)
	case o == bus.DeadLetter:
		_ = a.ch.Nack(tag, false, false)
	case tag != a.next:
		_ = a.ch.Ack(tag, false)
	default:
		a.target = tag
	}
	a.done[tag] = struct{}{}
	advanced := false
	for {
		if _, ok := a.done[a.next]; !ok {
			break
		}
		delete(a.done, a.next)
		a.next++
		advanced = true
	}
	if advanced && a.target != 0 {
		select {
		case a.signal <- struct{}{}:
		default:
		}
	}
}

// loop sends the multiple-acks.
func (a *acker) loop() {
	for {
		select {
		case <-a.signal:
		case <-a.stop:
			return
		}
		a.flush()
	}
}

// flush sends the pending multiple-ack now: before the channel closes, so
// that messages already handled are not given back to the broker.
func (a *acker) flush() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.target > a.sent {
		_ = a.ch.Ack(a.target, true)
		a.sent = a.target
	}
}

func (a *acker) close() { close(a.stop) }
