package fake_test

import (
	"encoding/binary"
	"io"
	"net"
	"strconv"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/virt"
	"github.com/nimbus-cloud/nimbus/internal/virt/fake"
)

func dialDisplay(t *testing.T, d *fake.Display) net.Conn {
	t.Helper()
	host, port := d.Addr()
	c, err := net.Dial("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func read(t *testing.T, c net.Conn, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := io.ReadFull(c, b); err != nil {
		t.Fatalf("read %d bytes: %v", n, err)
	}
	return b
}

func write(t *testing.T, c net.Conn, b ...byte) {
	t.Helper()
	if _, err := c.Write(b); err != nil {
		t.Fatal(err)
	}
}

func TestDisplayRFB38(t *testing.T) {
	t.Parallel()
	d, err := fake.NewDisplay("127.0.0.1", "fake display")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	c := dialDisplay(t, d)
	if v := string(read(t, c, 12)); v != "RFB 003.008\n" {
		t.Fatalf("version %q", v)
	}
	write(t, c, []byte("RFB 003.008\n")...)
	if types := read(t, c, 2); types[0] != 1 || types[1] != 1 {
		t.Fatalf("security types %v, want None alone", types)
	}
	write(t, c, 1)
	if r := read(t, c, 4); binary.BigEndian.Uint32(r) != 0 {
		t.Fatalf("security result %v", r)
	}
	write(t, c, 1) // shared
	init := read(t, c, 24)
	if w, h := binary.BigEndian.Uint16(init), binary.BigEndian.Uint16(init[2:]); w != fake.DisplayWidth || h != fake.DisplayHeight {
		t.Errorf("size %dx%d", w, h)
	}
	if name := string(read(t, c, int(binary.BigEndian.Uint32(init[20:])))); name != "fake display" {
		t.Errorf("name %q", name)
	}
	// 16-bit pixels, the encodings, input, then a full update of a corner
	// that passes the screen's edge: clipped, black.
	write(t, c, 0, 0, 0, 0, 16, 16, 0, 1, 0, 31, 0, 63, 0, 31, 11, 5, 0, 0, 0, 0)
	write(t, c, 2, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1)
	write(t, c, 4, 1, 0, 0, 0, 0, 0xff, 0x0d)
	write(t, c, 5, 0, 0, 10, 0, 10)
	write(t, c, 6, 0, 0, 0, 0, 0, 0, 2, 'h', 'i')
	write(t, c, 3, 1, 0, 0, 0, 0, 0, 4, 0, 4) // incremental: nothing changed, no answer
	write(t, c, 3, 0, 0x02, 0x7e, 0x01, 0xde, 0, 4, 0, 4)
	head := read(t, c, 16)
	if head[0] != 0 || binary.BigEndian.Uint16(head[2:]) != 1 {
		t.Fatalf("update head %v", head)
	}
	x, y := binary.BigEndian.Uint16(head[4:]), binary.BigEndian.Uint16(head[6:])
	w, h := binary.BigEndian.Uint16(head[8:]), binary.BigEndian.Uint16(head[10:])
	if x != 638 || y != 478 || w != 2 || h != 2 || binary.BigEndian.Uint32(head[12:]) != 0 {
		t.Fatalf("rectangle %d,%d %dx%d encoding %v, want the clipped 2x2 corner in raw", x, y, w, h, head[12:])
	}
	for _, p := range read(t, c, 2*2*2) {
		if p != 0 {
			t.Fatalf("pixel byte %d, want black", p)
		}
	}
}

func TestDisplayOlderClientsAndClose(t *testing.T) {
	t.Parallel()
	d, err := fake.NewDisplay("127.0.0.1", "x")
	if err != nil {
		t.Fatal(err)
	}
	c := dialDisplay(t, d)
	read(t, c, 12)
	write(t, c, []byte("RFB 003.003\n")...)
	if st := read(t, c, 4); binary.BigEndian.Uint32(st) != 1 {
		t.Fatalf("3.3 security type %v, want None", st)
	}
	write(t, c, 0)
	if init := read(t, c, 25); string(init[24:]) != "x" {
		t.Fatalf("server init %v", init)
	}
	// A refused security type ends the connection with a reason (3.8).
	c2 := dialDisplay(t, d)
	read(t, c2, 12)
	write(t, c2, []byte("RFB 003.008\n")...)
	read(t, c2, 2)
	write(t, c2, 2)
	if res := read(t, c2, 8); binary.BigEndian.Uint32(res) != 1 {
		t.Fatalf("security result %v, want failed", res)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(c); err != nil {
		t.Fatalf("after close: %v", err)
	}
}

func TestDriverReportsItsDisplay(t *testing.T) {
	t.Parallel()
	d, err := fake.NewDisplay("127.0.0.1", "x")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	drv := fake.New(fake.Options{Display: d})
	if err := drv.Init(t.Context(), "h1"); err != nil {
		t.Fatal(err)
	}
	spec := &virt.InstanceSpec{UUID: "f0000000-0000-4000-8000-000000000001", Name: "i", Flavor: virt.Flavor{VCPUs: 1, MemoryMB: 64, RootGB: 1}}
	if err := drv.Spawn(t.Context(), spec); err != nil {
		t.Fatal(err)
	}
	got, err := drv.GetVNCConsole(t.Context(), spec.UUID)
	host, port := d.Addr()
	if err != nil || got.Host != host || got.Port != port {
		t.Errorf("GetVNCConsole = %+v, %v; want the display at %s:%d", got, err, host, port)
	}
}
