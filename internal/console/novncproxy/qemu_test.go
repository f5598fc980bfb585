package novncproxy_test

import (
	"context"
	"encoding/binary"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/nimbus-cloud/nimbus/internal/console"
	"github.com/nimbus-cloud/nimbus/internal/console/novncproxy"
	"github.com/nimbus-cloud/nimbus/internal/virt"
	"github.com/nimbus-cloud/nimbus/internal/virt/qemu"
)

// A real QEMU guest's VNC server, through the proxy: the RFB handshake up
// to the server's init message, as noVNC does it. The guest is a boot
// sector that halts, under TCG: the display is QEMU's, whatever runs.
func TestQEMUGuestConsole(t *testing.T) {
	t.Parallel()
	for _, bin := range []string{"qemu-system-x86_64", "qemu-img"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("%s is not installed (scripts/test-services.sh installs qemu-system-x86 and qemu-utils)", bin)
		}
	}
	// A short state folder: QMP sockets live in it.
	state, err := os.MkdirTemp("", "nc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(state) })
	img := filepath.Join(state, "boot.img")
	disk := make([]byte, 1<<20)
	copy(disk, qemu.BootSector("console test\r\n", 1, "halted\r\n"))
	if err := os.WriteFile(img, disk, 0o600); err != nil {
		t.Fatal(err)
	}
	d := qemu.New(qemu.Options{StateDir: state, Accel: "tcg", VNCListen: "127.0.0.1",
		Log: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))})
	ctx := t.Context()
	if err := d.Init(ctx, "h1"); err != nil {
		t.Fatal(err)
	}
	const uuid = "e0000000-0000-4000-8000-000000000001"
	spec := &virt.InstanceSpec{UUID: uuid, Name: "instance-e0000000", Hostname: "vm", ProjectID: "p",
		Flavor: virt.Flavor{VCPUs: 1, MemoryMB: 64, RootGB: 1},
		Image:  virt.ImageRef{ID: "bootsector", DiskFormat: "raw", Path: img}}
	if err := d.Spawn(ctx, spec); err != nil {
		t.Fatal(err)
	}
	// The test's context is over when cleanups run; the guest outlives the
	// driver unless destroyed, so this one gets a context of its own.
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := d.Destroy(ctx, uuid, false); err != nil {
			t.Errorf("destroy the guest: %v", err)
		}
	})
	vnc, err := d.GetVNCConsole(ctx, uuid)
	if err != nil {
		t.Fatal(err)
	}

	tokens := console.NewTokens(&memStore{recs: map[string]console.Record{}}, console.Options{})
	p := novncproxy.New(tokens, novncproxy.Options{})
	srv := httptest.NewServer(p)
	t.Cleanup(func() { srv.Close(); p.Close() })
	token, _, err := tokens.Authorize(ctx, console.Connection{InstanceUUID: uuid, ConsoleType: console.TypeNoVNC,
		Host: vnc.Host, Port: vnc.Port, AccessURLBase: srv.URL + "/vnc_auto.html"})
	if err != nil {
		t.Fatal(err)
	}
	ws, _, err := websocket.Dial(ctx, wsURL(srv, "/?token="+token), &websocket.DialOptions{Subprotocols: []string{"binary"}})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer ws.CloseNow()
	rfb := &rfbReader{t: t, ws: ws}

	if v := string(rfb.next(12)); v != "RFB 003.008\n" {
		t.Fatalf("server version %q", v)
	}
	rfb.send([]byte("RFB 003.008\n"))
	n := int(rfb.next(1)[0])
	if n == 0 {
		t.Fatalf("the server refused the connection: %s", rfb.next(int(binary.BigEndian.Uint32(rfb.next(4)))))
	}
	types := rfb.next(n)
	none := false
	for _, st := range types {
		none = none || st == 1
	}
	if !none {
		t.Fatalf("security types %v lack None", types)
	}
	rfb.send([]byte{1})
	if r := binary.BigEndian.Uint32(rfb.next(4)); r != 0 {
		t.Fatalf("security result %d", r)
	}
	rfb.send([]byte{1}) // ClientInit: shared
	init := rfb.next(24)
	width, height := binary.BigEndian.Uint16(init[0:2]), binary.BigEndian.Uint16(init[2:4])
	name := rfb.next(int(binary.BigEndian.Uint32(init[20:24])))
	if width == 0 || height == 0 {
		t.Errorf("framebuffer %dx%d", width, height)
	}
	t.Logf("QEMU console through the proxy: %dx%d %q", width, height, name)
}

// rfbReader reads an RFB stream that arrives in websocket messages of any
// size.
type rfbReader struct {
	t   *testing.T
	ws  *websocket.Conn
	buf []byte
}

func (r *rfbReader) next(n int) []byte {
	r.t.Helper()
	for len(r.buf) < n {
		ctx, cancel := context.WithTimeout(r.t.Context(), time.Minute)
		_, msg, err := r.ws.Read(ctx)
		cancel()
		if err != nil {
			r.t.Fatalf("read %d bytes of RFB: %v", n, err)
		}
		r.buf = append(r.buf, msg...)
	}
	out := r.buf[:n]
	r.buf = r.buf[n:]
	return out
}

func (r *rfbReader) send(b []byte) {
	r.t.Helper()
	if err := r.ws.Write(r.t.Context(), websocket.MessageBinary, b); err != nil {
		r.t.Fatal(err)
	}
}
