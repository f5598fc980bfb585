package app

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/bus"
	"github.com/nimbus-cloud/nimbus/internal/bus/amqp"
	"github.com/nimbus-cloud/nimbus/internal/bus/inproc"
	"github.com/nimbus-cloud/nimbus/internal/config"
)

// controlExchange is the RabbitMQ exchange every Nimbus topic lives in, as
// nova's control_exchange is "nova".
const controlExchange = "nimbus"

// openBus opens the message bus [DEFAULT] transport_url names: an in-process
// bus when it is empty, RabbitMQ for rabbit://. Connecting to RabbitMQ waits
// (retrying) until ctx ends; wrong credentials fail at once.
func openBus(ctx context.Context, cfg *config.Config, log *slog.Logger) (*bus.Bus, error) {
	log = log.With("component", "bus")
	m := cfg.Messaging
	o := bus.Options{
		Log:            log,
		Timeout:        time.Duration(cfg.Default.RPCResponseTimeout) * time.Second,
		MaxMessageSize: m.MaxMessageSize,
	}
	url := strings.TrimSpace(cfg.Default.TransportURL)
	if url == "" {
		return bus.New(inproc.New(inproc.Options{Prefetch: m.RabbitQoSPrefetchCount}), o), nil
	}
	brokers, err := amqp.ParseTransportURL(url)
	if err != nil {
		return nil, err
	}
	t, err := amqp.Dial(ctx, amqp.Options{
		Brokers:        brokers,
		Exchange:       controlExchange,
		Durable:        m.AMQPDurableQueues,
		AutoDelete:     m.AMQPAutoDelete,
		Prefetch:       m.RabbitQoSPrefetchCount,
		RetryInterval:  time.Duration(m.RabbitRetryInterval) * time.Second,
		RetryBackoff:   time.Duration(m.RabbitRetryBackoff) * time.Second,
		RetryMax:       time.Duration(m.RabbitIntervalMax) * time.Second,
		Heartbeat:      heartbeat(m.HeartbeatTimeout),
		ConnectionName: "nimbus@" + cfg.HostName(),
		Log:            log,
	})
	if err != nil {
		return nil, fmt.Errorf("open bus: %w", err)
	}
	return bus.New(t, o), nil
}

// heartbeat maps heartbeat_timeout_threshold (0: the broker's) to the transport's.
func heartbeat(seconds int) time.Duration {
	if seconds == 0 {
		return -1
	}
	return time.Duration(seconds) * time.Second
}
