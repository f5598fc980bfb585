package amqp_test

import (
	"context"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/bus"
	"github.com/nimbus-cloud/nimbus/internal/bus/bustest"
)

// rabbitPair is a client and a server process on the broker, on loopback.
func rabbitPair(b *testing.B) (cli, srv *bus.Bus, topic string) {
	w := newWorld(b)
	w.opts.Log = nil
	cli, srv = bus.New(w.dial(b), bus.Options{}), bus.New(w.dial(b), bus.Options{})
	b.Cleanup(func() {
		cli.Close(context.Background())
		srv.Close(context.Background())
	})
	return cli, srv, w.topic("bench")
}

func BenchmarkCall(b *testing.B) {
	cli, srv, topic := rabbitPair(b)
	bustest.BenchCall(b, cli, srv, topic)
}

func BenchmarkCast(b *testing.B) {
	cli, srv, topic := rabbitPair(b)
	bustest.BenchCast(b, cli, srv, topic)
}
