package amqp

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/nimbus-cloud/nimbus/internal/bus"
)

// connManager keeps one connection open, re-dialling with backoff whenever it
// is lost; users ask for the current connection and wait while there is none.
type connManager struct {
	o   Options
	log *slog.Logger

	mu      sync.Mutex
	conn    *amqp.Connection
	ready   chan struct{} // closed while conn is usable
	lastErr error
	next    int      // the broker to try first
	dialing net.Conn // the socket of a handshake in progress

	tried chan struct{} // closed after the first attempt, successful or not
	done  chan struct{}
	ended chan struct{}
}

func newConnManager(o Options, log *slog.Logger) *connManager {
	m := &connManager{o: o, log: log, ready: make(chan struct{}), tried: make(chan struct{}),
		done: make(chan struct{}), ended: make(chan struct{})}
	go m.run()
	return m
}

// get returns the open connection, waiting for one until ctx ends.
func (m *connManager) get(ctx context.Context) (*amqp.Connection, error) {
	for {
		m.mu.Lock()
		conn, ready := m.conn, m.ready
		m.mu.Unlock()
		if conn != nil && !conn.IsClosed() {
			return conn, nil
		}
		select {
		case <-ready:
		case <-m.done:
			return nil, bus.ErrClosed
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func (m *connManager) lastError() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lastErr
}

// close stops reconnecting and closes the connection, cutting short a
// handshake in progress.
func (m *connManager) close() {
	m.mu.Lock()
	select {
	case <-m.done:
	default:
		close(m.done)
	}
	if m.dialing != nil {
		_ = m.dialing.Close()
	}
	m.mu.Unlock()
	<-m.ended
}

// backoff is the wait before reconnection attempt n (0-based), oslo's linear
// schedule: interval, interval+backoff, ... at most max.
func (m *connManager) backoff(n int) time.Duration {
	return min(m.o.RetryInterval+time.Duration(n)*m.o.RetryBackoff, m.o.RetryMax)
}

func (m *connManager) run() {
	defer close(m.ended)
	var triedOnce sync.Once
	for attempt := 0; ; {
		conn, err := m.dial()
		triedOnce.Do(func() {
			m.mu.Lock()
			m.lastErr = err
			m.mu.Unlock()
			close(m.tried)
		})
		if err != nil {
			d := m.backoff(attempt)
			attempt++
			m.mu.Lock()
			m.lastErr = err
			m.mu.Unlock()
			m.log.Warn("cannot connect to RabbitMQ; retrying", "in", d, "attempt", attempt, "err", err)
			select {
			case <-time.After(d):
				continue
			case <-m.done:
				return
			}
		}
		attempt = 0
		closed := conn.NotifyClose(make(chan *amqp.Error, 1))
		blocked := conn.NotifyBlocked(make(chan amqp.Blocking, 4))
		m.mu.Lock()
		m.conn, m.lastErr = conn, nil
		close(m.ready)
		m.mu.Unlock()
		m.log.Info("connected to RabbitMQ", "broker", conn.RemoteAddr().String())
		up := true
		for up {
			select {
			case b := <-blocked:
				if b.Active {
					m.log.Warn("RabbitMQ blocks publishing", "reason", b.Reason)
				} else {
					m.log.Info("RabbitMQ accepts publishing again")
				}
			case err := <-closed:
				m.log.Warn("connection to RabbitMQ lost; reconnecting", "err", err)
				up = false
			case <-m.done:
				_ = conn.Close()
				return
			}
		}
		m.mu.Lock()
		m.conn, m.ready = nil, make(chan struct{})
		m.mu.Unlock()
	}
}

// dial tries each broker once, starting after the last one that worked.
func (m *connManager) dial() (*amqp.Connection, error) {
	var errs []error
	for i := range m.o.Brokers {
		b := m.o.Brokers[(m.next+i)%len(m.o.Brokers)]
		cfg := amqp.Config{
			SASL:       []amqp.Authentication{&amqp.PlainAuth{Username: b.Username, Password: b.Password}},
			Vhost:      b.Vhost,
			Heartbeat:  m.o.Heartbeat / 2,
			Locale:     "en_US",
			Properties: amqp.Table{"connection_name": m.o.ConnectionName, "product": "nimbus"},
			Dial:       m.dialSocket,
		}
		if m.o.Heartbeat < 0 {
			cfg.Heartbeat = 0
		}
		conn, err := amqp.DialConfig("amqp://"+b.Addr()+"/", cfg)
		m.mu.Lock()
		m.dialing = nil
		m.mu.Unlock()
		if err == nil {
			m.next = (m.next + i) % len(m.o.Brokers)
			return conn, nil
		}
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}

// handshakeTimeout bounds connecting and the AMQP handshake, before
// heartbeats watch the connection.
const handshakeTimeout = 10 * time.Second

// dialSocket opens the TCP connection of a handshake, noting it so close can
// cut the handshake short.
func (m *connManager) dialSocket(network, addr string) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), handshakeTimeout)
	defer cancel()
	go func() {
		select {
		case <-m.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	conn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	// Cleared by the library once the handshake is complete.
	if err := conn.SetDeadline(time.Now().Add(handshakeTimeout)); err != nil {
		conn.Close()
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	select {
	case <-m.done:
		conn.Close()
		return nil, bus.ErrClosed
	default:
	}
	m.dialing = conn
	return conn, nil
}
