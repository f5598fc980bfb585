package amqp

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/nimbus-cloud/nimbus/internal/bus"
)

// publisher publishes on one channel in confirm mode, replacing it when it
// closes, and publishes again whatever was unconfirmed.
type publisher struct {
	t *Transport

	mu     sync.Mutex
	pc     *pubChannel
	closed bool
	seq    atomic.Uint64 // correlation ids, to match returns with publishes
}

func newPublisher(t *Transport) *publisher { return &publisher{t: t} }

// pubChannel is one confirm-mode channel and what is in flight on it.
type pubChannel struct {
	ch   *amqp.Channel
	conn *amqp.Connection

	// pubMu makes "next sequence number, then publish" atomic, so each
	// publish knows its delivery tag before the confirm can arrive.
	pubMu sync.Mutex

	mu       sync.Mutex
	pending  map[uint64]*inflight
	returned map[string]amqp.Return // by correlation id
	lost     bool

	declMu   sync.Mutex
	declared map[string]bool // exchanges declared on this channel
}

type inflight struct {
	corr string
	done chan result
}

type result struct {
	ack      bool
	returned *amqp.Return
	lost     bool
}

// channel returns the current publishing channel, opening one (on a fresh
// connection if need be) when there is none.
func (p *publisher) channel(ctx context.Context) (*pubChannel, error) {
	for {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return nil, bus.ErrClosed
		}
		if pc := p.pc; pc != nil && !pc.isLost() {
			p.mu.Unlock()
			return pc, nil
		}
		p.mu.Unlock()
		conn, err := p.t.conn.get(ctx)
		if err != nil {
			return nil, err
		}
		pc, err := openPubChannel(conn, p.t.o)
		if err != nil {
			if permanent(err) {
				return nil, err
			}
			p.t.log.Warn("cannot open a publishing channel; retrying", "err", err)
			if err := wait(ctx, p.t.o.RetryInterval); err != nil {
				return nil, err
			}
			continue
		}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			_ = pc.ch.Close()
			return nil, bus.ErrClosed
		}
		if old := p.pc; old != nil && !old.isLost() {
			// Another publisher opened one meanwhile; keep theirs.
			p.mu.Unlock()
			_ = pc.ch.Close()
			return old, nil
		}
		p.pc = pc
		p.mu.Unlock()
		return pc, nil
	}
}

func openPubChannel(conn *amqp.Connection, o Options) (*pubChannel, error) {
	ch, err := conn.Channel()
	if err != nil {
		return nil, fmt.Errorf("open channel: %w", err)
	}
	if err := ch.Confirm(false); err != nil {
		_ = ch.Close()
		return nil, fmt.Errorf("enable publisher confirms: %w", err)
	}
	if err := ch.ExchangeDeclare(o.Exchange, "topic", o.Durable, false, false, false, nil); err != nil {
		_ = ch.Close()
		return nil, fmt.Errorf("declare exchange %s: %w", o.Exchange, err)
	}
	pc := &pubChannel{ch: ch, conn: conn, pending: map[uint64]*inflight{}, returned: map[string]amqp.Return{},
		declared: map[string]bool{o.Exchange: true}}
	// Unbuffered, and drained by one goroutine: the library delivers a
	// message's basic.return before its basic.ack, and with one reader of
	// both the return is recorded before the ack is looked at.
	confirms := ch.NotifyPublish(make(chan amqp.Confirmation))
	returns := ch.NotifyReturn(make(chan amqp.Return))
	go pc.loop(confirms, returns)
	return pc, nil
}

func (pc *pubChannel) loop(confirms <-chan amqp.Confirmation, returns <-chan amqp.Return) {
	for confirms != nil || returns != nil {
		select {
		case r, ok := <-returns:
			if !ok {
				returns = nil
				continue
			}
			pc.mu.Lock()
			pc.returned[r.CorrelationId] = r
			pc.mu.Unlock()
		case c, ok := <-confirms:
			if !ok {
				confirms = nil
				pc.fail()
				continue
			}
			pc.mu.Lock()
			if w, found := pc.pending[c.DeliveryTag]; found {
				delete(pc.pending, c.DeliveryTag)
				res := result{ack: c.Ack}
				if r, was := pc.returned[w.corr]; was {
					delete(pc.returned, w.corr)
					res.returned = &r
				}
				w.done <- res
			}
			pc.mu.Unlock()
		}
	}
}

// fail ends every unconfirmed publish on a closed channel.
func (pc *pubChannel) fail() {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	pc.lost = true
	for tag, w := range pc.pending {
		delete(pc.pending, tag)
		w.done <- result{lost: true}
	}
	clear(pc.returned)
}

func (pc *pubChannel) isLost() bool {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	return pc.lost || pc.ch.IsClosed()
}

// declare makes sure an exchange exists before publishing to it (publishing
// to a missing exchange would close the channel).
func (pc *pubChannel) declare(name, kind string, durable bool) error {
	pc.declMu.Lock()
	defer pc.declMu.Unlock()
	if pc.declared[name] {
		return nil
	}
	if err := pc.ch.ExchangeDeclare(name, kind, durable, false, false, false, nil); err != nil {
		return fmt.Errorf("declare exchange %s: %w", name, err)
	}
	pc.declared[name] = true
	return nil
}

// send publishes once and waits for the broker's answer.
func (pc *pubChannel) send(ctx context.Context, exchange, key string, mandatory bool, msg amqp.Publishing) (result, error) {
	w := &inflight{corr: msg.CorrelationId, done: make(chan result, 1)}
	pc.pubMu.Lock()
	tag := pc.ch.GetNextPublishSeqNo()
	pc.mu.Lock()
	if pc.lost {
		pc.mu.Unlock()
		pc.pubMu.Unlock()
		return result{lost: true}, nil
	}
	pc.pending[tag] = w
	pc.mu.Unlock()
	err := pc.ch.PublishWithContext(ctx, exchange, key, mandatory, false, msg)
	pc.pubMu.Unlock()
	if err != nil {
		pc.mu.Lock()
		delete(pc.pending, tag)
		pc.mu.Unlock()
		return result{lost: true}, err
	}
	select {
	case r := <-w.done:
		return r, nil
	case <-ctx.Done():
		return result{}, ctx.Err()
	}
}

// publish sends msg until the broker confirms it, ctx ends, or the broker says
// nothing is bound to its routing key (mandatory messages). kind is the type
// of exchange to declare first ("" for one that always exists).
func (p *publisher) publish(ctx context.Context, exchange, kind, key string, mandatory bool, msg amqp.Publishing) error {
	for attempt := 0; ; attempt++ {
		pc, err := p.channel(ctx)
		if err != nil {
			return err
		}
		if kind != "" {
			if err := pc.declare(exchange, kind, p.t.o.Durable); err != nil {
				if permanent(err) {
					return err
				}
				p.t.log.Warn("publish: declare failed; retrying", "exchange", exchange, "err", err)
				_ = pc.ch.Close()
				if err := wait(ctx, p.t.o.RetryInterval); err != nil {
					return err
				}
				continue
			}
		}
		msg.CorrelationId = strconv.FormatUint(p.seq.Add(1), 36)
		res, err := pc.send(ctx, exchange, key, mandatory, msg)
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case res.returned != nil:
			return fmt.Errorf("%w: the broker returned it (%d %s)", bus.ErrNoRoute, res.returned.ReplyCode, res.returned.ReplyText)
		case res.ack && !res.lost:
			return nil
		case res.lost:
			p.t.log.Debug("publish: channel lost before the confirm; publishing again", "message_id", msg.MessageId, "err", err)
			if err != nil {
				_ = pc.ch.Close()
			}
			if attempt > 0 {
				// Not the first loss in a row: let a failing connection be noticed.
				if err := wait(ctx, p.t.o.RetryInterval/10); err != nil {
					return err
				}
			}
		default:
			// A nack: the broker could not take the message (an internal
			// error in a queue); try again after a pause.
			p.t.log.Warn("publish: the broker refused the message; publishing again", "message_id", msg.MessageId)
			if err := wait(ctx, p.t.o.RetryInterval); err != nil {
				return err
			}
		}
	}
}

func (p *publisher) close() {
	p.mu.Lock()
	p.closed = true
	pc := p.pc
	p.mu.Unlock()
	if pc != nil {
		_ = pc.ch.Close()
	}
}

// permanent reports broker refusals that retrying cannot cure: a topology
// declared differently before (amqp_durable_queues changed), or no access.
func permanent(err error) bool {
	var ae *amqp.Error
	return errors.As(err, &ae) && (ae.Code == amqp.PreconditionFailed || ae.Code == amqp.AccessRefused)
}
