package bustest

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/bus"
	"github.com/nimbus-cloud/nimbus/internal/rpc"
)

// benchServe starts a server of the test interface on topic and returns a
// counter of the casts it handled.
func benchServe(b *testing.B, srv *bus.Bus, topic string) *atomic.Int64 {
	b.Helper()
	var handled atomic.Int64
	ep := bus.NewEndpoint("test", serverVersion)
	bus.Handle(ep, echo, func(ctx context.Context, req echoReq) (echoResp, error) {
		return echoResp{Text: req.Text, N: req.N}, nil
	})
	bus.Handle(ep, record, func(ctx context.Context, req echoReq) (rpc.None, error) {
		handled.Add(1)
		return rpc.None{}, nil
	})
	s, err := srv.Serve(context.Background(), topic, "bench", ep)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Stop(context.Background()) })
	return &handled
}

// BenchCall measures call round trips one at a time from cli to a server on
// srv, reporting the median as p50-µs.
func BenchCall(b *testing.B, cli, srv *bus.Bus, topic string) {
	benchServe(b, srv, topic)
	ctx := context.Background()
	to := bus.Target{Topic: topic}
	for range 10 {
		if _, err := bus.Call(ctx, cli, to, echo, echoReq{Text: "warm"}); err != nil {
			b.Fatal(err)
		}
	}
	lat := make([]time.Duration, 0, 1024)
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		if _, err := bus.Call(ctx, cli, to, echo, echoReq{Text: "ping", N: 1}); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e3, "p99-µs")
}

// BenchCast measures casts from parallel senders on cli until a server on srv
// has handled them all, reporting casts handled per second.
func BenchCast(b *testing.B, cli, srv *bus.Bus, topic string) {
	handled := benchServe(b, srv, topic)
	ctx := context.Background()
	to := bus.Target{Topic: topic}
	var sent atomic.Int64
	b.SetParallelism(32)
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := bus.Cast(ctx, cli, to, record, echoReq{Text: "note"}); err != nil {
				b.Error(err)
				return
			}
			sent.Add(1)
		}
	})
	for handled.Load() < sent.Load() {
		time.Sleep(time.Millisecond)
	}
	b.ReportMetric(float64(sent.Load())/time.Since(start).Seconds(), "casts/s")
}
