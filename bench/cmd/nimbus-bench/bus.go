package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math"
	"os"
	"sync/atomic"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/bus"
	"github.com/nimbus-cloud/nimbus/internal/bus/amqp"
	"github.com/nimbus-cloud/nimbus/internal/bus/inproc"
	"github.com/nimbus-cloud/nimbus/internal/rpc"
)

type benchMsg struct {
	Seq  int    `json:"seq"`
	Note string `json:"note"`
}

var (
	benchEcho = rpc.Method[benchMsg, benchMsg]{Namespace: "bench", Name: "echo", Version: rpc.V(1, 0)}
	benchNote = rpc.Method[benchMsg, rpc.None]{Namespace: "bench", Name: "note", Version: rpc.V(1, 0)}
)

// cmdBus measures the message bus between two endpoints of this process, as
// two services would use it: call round trips one at a time (their median is
// what a conductor waits for the scheduler), then cast throughput from -c
// senders, counted until the server has handled every cast. With -url the
// messages go through RabbitMQ (durable queues, persistent casts, publisher
// confirms, acknowledgement after handling); without, through the in-process
// bus, which still encodes every message.
func cmdBus(args []string) error {
	fs := newFlags("bus")
	url := fs.String("url", "", "transport URL, rabbit://user:pass@host:5672/; empty: the in-process bus")
	calls := fs.Int("calls", 5000, "calls to time, one at a time")
	casts := fs.Int("casts", 50000, "casts to send")
	conc := fs.Int("c", 64, "concurrent cast senders")
	prefetch := fs.Int("prefetch", 64, "unacknowledged messages per consumer")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx := context.Background()
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	topic := "nimbus-bench-" + hex.EncodeToString(suffix)
	transport := "inproc"
	var cli, srv bus.Transport
	var rabbit *amqp.Transport
	if *url == "" {
		broker := inproc.NewBroker(inproc.Options{Prefetch: *prefetch})
		cli, srv = broker.Connect(), broker.Connect()
	} else {
		transport = "rabbit"
		brokers, err := amqp.ParseTransportURL(*url)
		if err != nil {
			return err
		}
		o := amqp.Options{Brokers: brokers, Exchange: "nimbus-bench", Durable: true, Prefetch: *prefetch, ConnectionName: "nimbus-bench"}
		dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if rabbit, err = amqp.Dial(dctx, o); err != nil {
			return err
		}
		s, err := amqp.Dial(dctx, o)
		if err != nil {
			rabbit.Close()
			return err
		}
		cli, srv = rabbit, s
	}
	client, server := bus.New(cli, bus.Options{}), bus.New(srv, bus.Options{})
	defer func() {
		server.Close(context.Background())
		if rabbit != nil {
			// The bench's queues are durable: remove them once the server is gone.
			if err := rabbit.DeleteTopic(context.Background(), topic, "bench"); err != nil {
				fmt.Fprintf(os.Stderr, "nimbus-bench bus: remove topic %s: %v\n", topic, err)
			}
		}
		client.Close(context.Background())
	}()

	var handled atomic.Int64
	ep := bus.NewEndpoint("bench", rpc.V(1, 0))
	bus.Handle(ep, benchEcho, func(ctx context.Context, m benchMsg) (benchMsg, error) { return m, nil })
	bus.Handle(ep, benchNote, func(ctx context.Context, m benchMsg) (rpc.None, error) {
		handled.Add(1)
		return rpc.None{}, nil
	})
	if _, err := server.Serve(ctx, topic, "bench", ep); err != nil {
		return err
	}
	to := bus.Target{Topic: topic}
	msg := benchMsg{Note: "instance 6f1c0a5e-9b0e-4d1f-a7a4-0f3c1f0e2b7d on compute-17"}

	callOp := func() func() error {
		return func() error { _, err := bus.Call(ctx, client, to, benchEcho, msg); return err }
	}
	if err := warmUp(100, 1, callOp); err != nil {
		return err
	}
	r := runLoop(*calls, 1, 10*time.Minute, callOp)
	out := r.fields(*calls, 1)
	out["test"], out["transport"] = "bus_call", transport
	emit(out)

	castOp := func() func() error {
		return func() error { return bus.Cast(ctx, client, to, benchNote, msg) }
	}
	start := time.Now()
	r = runLoop(*casts, *conc, 10*time.Minute, castOp)
	for handled.Load() < int64(len(r.lat)) && time.Since(start) < 10*time.Minute {
		time.Sleep(time.Millisecond)
	}
	wall := time.Since(start)
	out = r.fields(*casts, *conc)
	out["test"], out["transport"] = "bus_cast", transport
	out["handled"] = handled.Load()
	out["handled_per_s"] = math.Round(float64(handled.Load())/wall.Seconds()*100) / 100
	emit(out)
	return nil
}
