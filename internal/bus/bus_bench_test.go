package bus_test

import (
	"context"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/bus"
	"github.com/nimbus-cloud/nimbus/internal/bus/bustest"
	"github.com/nimbus-cloud/nimbus/internal/bus/inproc"
)

func inprocPair(b *testing.B) (cli, srv *bus.Bus) {
	broker := inproc.NewBroker(inproc.Options{})
	cli, srv = bus.New(broker.Connect(), bus.Options{}), bus.New(broker.Connect(), bus.Options{})
	b.Cleanup(func() {
		cli.Close(context.Background())
		srv.Close(context.Background())
	})
	return cli, srv
}

func BenchmarkCallInproc(b *testing.B) {
	cli, srv := inprocPair(b)
	bustest.BenchCall(b, cli, srv, "bench")
}

func BenchmarkCastInproc(b *testing.B) {
	cli, srv := inprocPair(b)
	bustest.BenchCast(b, cli, srv, "bench")
}
