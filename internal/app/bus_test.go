package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/bus"
	"github.com/nimbus-cloud/nimbus/internal/bus/amqp"
	"github.com/nimbus-cloud/nimbus/internal/config"
	"github.com/nimbus-cloud/nimbus/internal/rpc"
)

type pingReq struct {
	N int `json:"n"`
}

var ping = rpc.Method[pingReq, pingReq]{Namespace: "ping", Name: "ping", Version: rpc.V(1, 0)}

func busConfig(t *testing.T, transportURL string) *config.Config {
	t.Helper()
	cfg, err := config.Load(config.Source{Set: map[string]string{
		"DEFAULT.transport_url": transportURL, "DEFAULT.state_path": t.TempDir(), "DEFAULT.host": "node-1"}})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// roundTrip serves ping on topic and calls it through the bus.
func roundTrip(t *testing.T, b *bus.Bus, topic string) {
	t.Helper()
	ep := bus.NewEndpoint("ping", rpc.V(1, 0))
	bus.Handle(ep, ping, func(ctx context.Context, r pingReq) (pingReq, error) { return pingReq{N: r.N + 1}, nil })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := b.Serve(ctx, topic, "node-1", ep); err != nil {
		t.Fatal(err)
	}
	got, err := bus.Call(ctx, b, bus.Target{Topic: topic, Host: "node-1"}, ping, pingReq{N: 41})
	if err != nil || got.N != 42 {
		t.Fatalf("ping: %v, %v", got, err)
	}
}

func TestOpenBusInProcess(t *testing.T) {
	t.Parallel()
	b, err := openBus(context.Background(), busConfig(t, ""), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(context.Background())
	roundTrip(t, b, "conductor")
}

func TestOpenBusRefusesBadURLs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ url, says string }{
		{"kafka://h:9092/", `scheme "kafka"`},
		{"rabbit://openstack:s3cret@controller:notaport/", "not a port"},
		{"rabbit://openstack:s3cret@controller/?ssl=1", "not supported"},
	} {
		_, err := openBus(context.Background(), busConfig(t, tc.url), slog.New(slog.DiscardHandler))
		if err == nil || !strings.Contains(err.Error(), tc.says) || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: got %v, want an error saying %q without the password", tc.url, err, tc.says)
		}
	}
}

func TestOpenBusUnreachable(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := openBus(ctx, busConfig(t, "rabbit://openstack:s3cret@127.0.0.1:1/"), slog.New(slog.DiscardHandler))
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "127.0.0.1:1") || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("got %v, want a deadline error naming the broker, without the password", err)
	}
}

func TestOpenBusRabbitMQ(t *testing.T) {
	t.Parallel()
	url := os.Getenv("NIMBUS_TEST_RABBIT_URL")
	if url == "" {
		t.Skip("NIMBUS_TEST_RABBIT_URL is not set: no RabbitMQ to test against (scripts/test-services.sh starts one and sets it)")
	}
	// The operator's spelling: rabbit:// rather than amqp://.
	rabbitURL := "rabbit://" + strings.TrimPrefix(strings.TrimPrefix(url, "amqp://"), "rabbit://")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b, err := openBus(ctx, busConfig(t, rabbitURL), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(context.Background())
	suffix := make([]byte, 6)
	_, _ = rand.Read(suffix)
	topic := "nimbus-test-app-" + hex.EncodeToString(suffix)
	t.Cleanup(func() {
		brokers, _ := amqp.ParseTransportURL(rabbitURL)
		tr, err := amqp.Dial(context.Background(), amqp.Options{Brokers: brokers, Exchange: controlExchange, Durable: true})
		if err != nil {
			t.Errorf("cleanup: %v", err)
			return
		}
		defer tr.Close()
		if err := tr.DeleteTopic(context.Background(), topic, "node-1"); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	roundTrip(t, b, topic)
}
