package fake

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
)

// Display is a VNC server the fake driver's instances share as their
// console, so that a console proxy and its clients (noVNC, Tempest's
// console tests) talk to a real RFB server: protocol 3.3, 3.7 or 3.8, no
// authentication, a black screen of DisplayWidth x DisplayHeight, and
// keyboard and pointer input read and ignored.
type Display struct {
	ln   net.Listener
	name string

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// The size of the fake display.
const (
	DisplayWidth  = 640
	DisplayHeight = 480
)

// NewDisplay serves a fake display on host, on a free port, under the
// desktop name name.
func NewDisplay(host, name string) (*Display, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return nil, fmt.Errorf("fake display: %w", err)
	}
	d := &Display{ln: ln, name: name, conns: map[net.Conn]struct{}{}}
	d.wg.Go(d.accept)
	return d, nil
}

// Addr is where the display listens.
func (d *Display) Addr() (host string, port int) {
	a := d.ln.Addr().(*net.TCPAddr)
	return a.IP.String(), a.Port
}

// Close stops the display and ends its connections.
func (d *Display) Close() error {
	d.mu.Lock()
	d.closed = true
	for c := range d.conns {
		c.Close()
	}
	d.mu.Unlock()
	err := d.ln.Close()
	d.wg.Wait()
	return err
}

func (d *Display) accept() {
	for {
		c, err := d.ln.Accept()
		if err != nil {
			return
		}
		d.mu.Lock()
		if d.closed {
			d.mu.Unlock()
			c.Close()
			return
		}
		d.conns[c] = struct{}{}
		d.mu.Unlock()
		d.wg.Go(func() {
			defer func() {
				d.mu.Lock()
				delete(d.conns, c)
				d.mu.Unlock()
				c.Close()
			}()
			_ = d.serve(c)
		})
	}
}

// errRFB is a client that broke the protocol.
var errRFB = errors.New("fake display: bad RFB message")

// serve speaks RFB with one client until it leaves. Each server message is
// one write, so that a proxy relays it in one piece.
func (d *Display) serve(c net.Conn) error {
	r := bufio.NewReader(c)
	if _, err := io.WriteString(c, "RFB 003.008\n"); err != nil {
		return err
	}
	var version [12]byte
	if _, err := io.ReadFull(r, version[:]); err != nil {
		return err
	}
	minor, err := rfbMinor(version[:])
	if err != nil {
		return err
	}
	if minor == 3 {
		// 3.3: the server names the security type; None has no result.
		if _, err := c.Write([]byte{0, 0, 0, 1}); err != nil {
			return err
		}
	} else {
		if _, err := c.Write([]byte{1, 1}); err != nil { // one type: None
			return err
		}
		chosen, err := r.ReadByte()
		if err != nil {
			return err
		}
		if chosen != 1 {
			if minor >= 8 {
				reason := "only security type None is offered"
				msg := binary.BigEndian.AppendUint32([]byte{0, 0, 0, 1}, uint32(len(reason)))
				_, _ = c.Write(append(msg, reason...))
			}
			return errRFB
		}
		if minor >= 8 {
			if _, err := c.Write([]byte{0, 0, 0, 0}); err != nil { // SecurityResult OK
				return err
			}
		}
	}
	if _, err := r.ReadByte(); err != nil { // ClientInit: shared or not
		return err
	}
	if _, err := c.Write(d.serverInit()); err != nil {
		return err
	}
	return d.messages(c, r)
}

// rfbMinor is the minor version of a client's ProtocolVersion, 3.3 to 3.8
// (3.3 for the unknown ones in between, as the protocol asks).
func rfbMinor(v []byte) (int, error) {
	if string(v[:4]) != "RFB " || v[7] != '.' || v[11] != '\n' {
		return 0, errRFB
	}
	major, err1 := strconv.Atoi(string(v[4:7]))
	minor, err2 := strconv.Atoi(string(v[8:11]))
	if err1 != nil || err2 != nil || major != 3 {
		return 0, errRFB
	}
	switch {
	case minor >= 8:
		return 8, nil
	case minor == 7:
		return 7, nil
	}
	return 3, nil
}

// serverInit is the size, a 32-bit true-colour pixel format and the name.
func (d *Display) serverInit() []byte {
	b := binary.BigEndian.AppendUint16(nil, DisplayWidth)
	b = binary.BigEndian.AppendUint16(b, DisplayHeight)
	// bits per pixel, depth, big endian, true colour, red/green/blue max,
	// red/green/blue shift, padding.
	b = append(b, 32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0)
	b = binary.BigEndian.AppendUint32(b, uint32(len(d.name)))
	return append(b, d.name...)
}

// messages reads the client's messages: a full (not incremental) update
// request is answered with the black screen, in the client's pixel size.
func (d *Display) messages(w io.Writer, r *bufio.Reader) error {
	bytesPerPixel := 4
	for {
		kind, err := r.ReadByte()
		if err != nil {
			return err
		}
		switch kind {
		case 0: // SetPixelFormat
			var m [19]byte
			if _, err := io.ReadFull(r, m[:]); err != nil {
				return err
			}
			if bpp := int(m[3]); bpp == 8 || bpp == 16 || bpp == 32 {
				bytesPerPixel = bpp / 8
			}
		case 2: // SetEncodings
			var m [3]byte
			if _, err := io.ReadFull(r, m[:]); err != nil {
				return err
			}
			if _, err := r.Discard(4 * int(binary.BigEndian.Uint16(m[1:]))); err != nil {
				return err
			}
		case 3: // FramebufferUpdateRequest
			var m [9]byte
			if _, err := io.ReadFull(r, m[:]); err != nil {
				return err
			}
			if m[0] == 0 {
				if _, err := w.Write(blankUpdate(m[1:], bytesPerPixel)); err != nil {
					return err
				}
			}
		case 4: // KeyEvent
			if _, err := r.Discard(7); err != nil {
				return err
			}
		case 5: // PointerEvent
			if _, err := r.Discard(5); err != nil {
				return err
			}
		case 6: // ClientCutText
			var m [7]byte
			if _, err := io.ReadFull(r, m[:]); err != nil {
				return err
			}
			if _, err := r.Discard(int(binary.BigEndian.Uint32(m[3:]))); err != nil {
				return err
			}
		default:
			return errRFB
		}
	}
}

// blankUpdate is a FramebufferUpdate of one raw rectangle of black pixels:
// the requested area (x, y, width, height), within the screen.
func blankUpdate(area []byte, bytesPerPixel int) []byte {
	x := min(int(binary.BigEndian.Uint16(area[0:])), DisplayWidth)
	y := min(int(binary.BigEndian.Uint16(area[2:])), DisplayHeight)
	w := min(int(binary.BigEndian.Uint16(area[4:])), DisplayWidth-x)
	h := min(int(binary.BigEndian.Uint16(area[6:])), DisplayHeight-y)
	b := []byte{0, 0, 0, 1} // FramebufferUpdate, padding, one rectangle
	for _, v := range []int{x, y, w, h} {
		b = binary.BigEndian.AppendUint16(b, uint16(v))
	}
	b = append(b, 0, 0, 0, 0) // Raw encoding
	return append(b, make([]byte, w*h*bytesPerPixel)...)
}
