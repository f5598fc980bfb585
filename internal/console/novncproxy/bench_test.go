package novncproxy_test

import (
	"context"
	"io"
	"net"
	"net/http/httptest"
	"testing"

	"github.com/coder/websocket"

	"github.com/nimbus-cloud/nimbus/internal/console"
	"github.com/nimbus-cloud/nimbus/internal/console/novncproxy"
)

// echoServer greets like an RFB server and echoes, until b ends.
func echoServer(b *testing.B) (string, int) {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if _, err := io.WriteString(c, "RFB 003.008\n"); err == nil {
					_, _ = io.Copy(c, c)
				}
			}()
		}
	}()
	a := ln.Addr().(*net.TCPAddr)
	return a.IP.String(), a.Port
}

func benchProxy(b *testing.B) (*httptest.Server, string) {
	b.Helper()
	host, port := echoServer(b)
	tokens := console.NewTokens(&memStore{recs: map[string]console.Record{}}, console.Options{})
	tok, _, err := tokens.Authorize(context.Background(), console.Connection{InstanceUUID: "i", ConsoleType: console.TypeNoVNC,
		Host: host, Port: port, AccessURLBase: "http://127.0.0.1/vnc_auto.html"})
	if err != nil {
		b.Fatal(err)
	}
	p := novncproxy.New(tokens, novncproxy.Options{})
	srv := httptest.NewServer(p)
	b.Cleanup(func() { srv.Close(); p.Close() })
	return srv, tok
}

// BenchmarkConnect is one console connection: token check, connection to
// the console server, websocket handshake and the server's first bytes.
func BenchmarkConnect(b *testing.B) {
	srv, tok := benchProxy(b)
	ctx := context.Background()
	for b.Loop() {
		c, _, err := websocket.Dial(ctx, wsURL(srv, "/?token="+tok), nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := c.Read(ctx); err != nil {
			b.Fatal(err)
		}
		c.CloseNow()
	}
}

// BenchmarkRelay is bytes through an open console, both ways (32 KiB
// framebuffer-sized messages echoed by the console server).
func BenchmarkRelay(b *testing.B) {
	srv, tok := benchProxy(b)
	ctx := context.Background()
	c, _, err := websocket.Dial(ctx, wsURL(srv, "/?token="+tok), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer c.CloseNow()
	if _, _, err := c.Read(ctx); err != nil {
		b.Fatal(err)
	}
	msg := make([]byte, 32<<10)
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		if err := c.Write(ctx, websocket.MessageBinary, msg); err != nil {
			b.Fatal(err)
		}
		for got := 0; got < len(msg); {
			_, m, err := c.Read(ctx)
			if err != nil {
				b.Fatal(err)
			}
			got += len(m)
		}
	}
}
