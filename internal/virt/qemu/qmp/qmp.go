// Package qmp is a client of the QEMU Machine Protocol: one connection to a
// QEMU process's monitor socket, commands matched to their replies by id,
// and the asynchronous events QEMU sends in between, in order. Each QMP
// command the driver uses has one typed method (commands.go).
package qmp

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// ErrClosed is returned for commands on a connection that has ended.
var ErrClosed = errors.New("qmp connection closed")

// Error is an error reply from QEMU.
type Error struct {
	Class string `json:"class"`
	Desc  string `json:"desc"`
	// Command is the command that failed.
	Command string `json:"-"`
}

func (e *Error) Error() string { return fmt.Sprintf("qmp %s: %s: %s", e.Command, e.Class, e.Desc) }

// Event is an asynchronous message from QEMU.
type Event struct {
	Name string
	Data json.RawMessage
	Time time.Time
}

// Version is QEMU's version as the greeting tells it.
type Version struct {
	Major, Minor, Micro int
	Package             string
}

// String is the version as QEMU prints it.
func (v Version) String() string { return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Micro) }

// Number is nova's integer form of a hypervisor version.
func (v Version) Number() int64 { return int64(v.Major)*1000000 + int64(v.Minor)*1000 + int64(v.Micro) }

// Conn is an open QMP session, in command mode. Its methods are safe for
// concurrent use.
type Conn struct {
	conn    net.Conn
	version Version

	writeMu sync.Mutex
	nextID  atomic.Uint64

	mu      sync.Mutex
	pending map[string]chan reply
	queue   []Event
	err     error
	wake    chan struct{}

	events    chan Event
	done      chan struct{}
	closed    chan struct{}
	closeOnce sync.Once
}

type reply struct {
	Return json.RawMessage `json:"return"`
	Error  *Error          `json:"error"`
	err    error
}

// message is any line QEMU sends.
type message struct {
	QMP *struct {
		Version struct {
			QEMU struct {
				Major int `json:"major"`
				Minor int `json:"minor"`
				Micro int `json:"micro"`
			} `json:"qemu"`
			Package string `json:"package"`
		} `json:"version"`
	} `json:"QMP"`
	ID        json.RawMessage `json:"id"`
	Return    json.RawMessage `json:"return"`
	Error     *Error          `json:"error"`
	Event     string          `json:"event"`
	Data      json.RawMessage `json:"data"`
	Timestamp *struct {
		Seconds      int64 `json:"seconds"`
		Microseconds int64 `json:"microseconds"`
	} `json:"timestamp"`
}

// Dial connects to the monitor's unix socket at path and negotiates the
// session; ctx bounds the handshake only.
func Dial(ctx context.Context, path string) (*Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, fmt.Errorf("dial qmp %s: %w", path, err)
	}
	return New(ctx, c)
}

// New runs the QMP handshake on an open connection: it reads the greeting
// and leaves capabilities negotiation mode. The connection is closed when
// the handshake fails.
func New(ctx context.Context, c net.Conn) (*Conn, error) {
	q := &Conn{conn: c, pending: map[string]chan reply{}, wake: make(chan struct{}, 1),
		events: make(chan Event), done: make(chan struct{}), closed: make(chan struct{})}
	r := bufio.NewReaderSize(c, 64<<10)
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetReadDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = c.SetReadDeadline(time.Unix(1, 0)) })
	line, err := r.ReadBytes('\n')
	stop()
	_ = c.SetReadDeadline(time.Time{})
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("read qmp greeting: %w", err)
	}
	var g message
	if err := json.Unmarshal(line, &g); err != nil || g.QMP == nil {
		c.Close()
		return nil, fmt.Errorf("qmp greeting %.200q is not a greeting", line)
	}
	v := g.QMP.Version
	q.version = Version{Major: v.QEMU.Major, Minor: v.QEMU.Minor, Micro: v.QEMU.Micro, Package: v.Package}
	go q.read(r)
	go q.pump()
	if err := q.Execute(ctx, "qmp_capabilities", nil, nil); err != nil {
		q.Close()
		return nil, err
	}
	return q, nil
}

// Version is the QEMU version of the greeting.
func (q *Conn) Version() Version { return q.version }

// Events delivers QEMU's events in order; it is closed when the connection
// ends. Events wait in memory until read.
func (q *Conn) Events() <-chan Event { return q.events }

// Done is closed when the connection has ended.
func (q *Conn) Done() <-chan struct{} { return q.done }

// Err is why the connection ended: nil while it is open.
func (q *Conn) Err() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.err
}

// Close ends the connection; commands waiting for a reply fail, and
// events not yet read are dropped.
func (q *Conn) Close() error {
	q.closeOnce.Do(func() { close(q.closed) })
	err := q.conn.Close()
	<-q.done
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// Execute runs a command with args (nil for none) and decodes its return
// value into result (nil to discard it). An error reply is an *Error.
func (q *Conn) Execute(ctx context.Context, command string, args, result any) error {
	return q.execute(ctx, command, args, result, nil)
}

// ExecuteWithFile runs a command passing f's descriptor along, as getfd
// and add-fd expect. The connection must be a unix socket.
func (q *Conn) ExecuteWithFile(ctx context.Context, command string, args, result any, f *os.File) error {
	return q.execute(ctx, command, args, result, f)
}

func (q *Conn) execute(ctx context.Context, command string, args, result any, f *os.File) error {
	id := strconv.FormatUint(q.nextID.Add(1), 10)
	req := struct {
		Execute   string `json:"execute"`
		Arguments any    `json:"arguments,omitempty"`
		ID        string `json:"id"`
	}{command, args, id}
	line, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("encode qmp %s: %w", command, err)
	}
	ch := make(chan reply, 1)
	q.mu.Lock()
	if q.err != nil {
		err := q.err
		q.mu.Unlock()
		return fmt.Errorf("qmp %s: %w", command, err)
	}
	q.pending[id] = ch
	q.mu.Unlock()
	forget := func() {
		q.mu.Lock()
		delete(q.pending, id)
		q.mu.Unlock()
	}
	if err := q.write(append(line, '\n'), f); err != nil {
		forget()
		return fmt.Errorf("send qmp %s: %w", command, err)
	}
	select {
	case r := <-ch:
		if r.err != nil {
			return fmt.Errorf("qmp %s: %w", command, r.err)
		}
		if r.Error != nil {
			r.Error.Command = command
			return r.Error
		}
		if result != nil && len(r.Return) > 0 {
			if err := json.Unmarshal(r.Return, result); err != nil {
				return fmt.Errorf("decode qmp %s reply: %w", command, err)
			}
		}
		return nil
	case <-ctx.Done():
		forget()
		return fmt.Errorf("qmp %s: %w", command, ctx.Err())
	}
}

func (q *Conn) write(line []byte, f *os.File) error {
	q.writeMu.Lock()
	defer q.writeMu.Unlock()
	if f == nil {
		_, err := q.conn.Write(line)
		return err
	}
	uc, ok := q.conn.(*net.UnixConn)
	if !ok {
		return errors.New("passing a file needs a unix socket")
	}
	rights := syscall.UnixRights(int(f.Fd()))
	n, oobn, err := uc.WriteMsgUnix(line, rights, nil)
	if err == nil && (n != len(line) || oobn != len(rights)) {
		err = fmt.Errorf("short write (%d of %d bytes)", n, len(line))
	}
	return err
}

// read dispatches replies to their commands and queues events until the
// connection ends.
func (q *Conn) read(r *bufio.Reader) {
	var err error
	for {
		var line []byte
		line, err = r.ReadBytes('\n')
		if err != nil {
			break
		}
		var m message
		if jerr := json.Unmarshal(line, &m); jerr != nil {
			err = fmt.Errorf("undecodable qmp message %.200q: %w", line, jerr)
			break
		}
		switch {
		case m.Event != "":
			ev := Event{Name: m.Event, Data: m.Data}
			if m.Timestamp != nil {
				ev.Time = time.Unix(m.Timestamp.Seconds, m.Timestamp.Microseconds*1000)
			}
			q.mu.Lock()
			q.queue = append(q.queue, ev)
			q.mu.Unlock()
			q.signal()
		case m.ID != nil:
			var id string
			if json.Unmarshal(m.ID, &id) != nil {
				continue // not one of ours
			}
			q.mu.Lock()
			ch := q.pending[id]
			delete(q.pending, id)
			q.mu.Unlock()
			if ch != nil {
				ch <- reply{Return: m.Return, Error: m.Error}
			}
		}
	}
	if errors.Is(err, net.ErrClosed) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) {
		err = ErrClosed
	}
	q.mu.Lock()
	q.err = err
	for id, ch := range q.pending {
		ch <- reply{err: err}
		delete(q.pending, id)
	}
	q.mu.Unlock()
	q.conn.Close()
	close(q.done)
	q.signal()
}

func (q *Conn) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// pump hands queued events to the reader of Events, so that a slow
// consumer never holds up command replies.
func (q *Conn) pump() {
	defer close(q.events)
	for {
		q.mu.Lock()
		batch := q.queue
		q.queue = nil
		ended := q.err != nil
		q.mu.Unlock()
		for _, ev := range batch {
			select {
			case q.events <- ev:
			case <-q.closed:
				return
			}
		}
		if len(batch) > 0 {
			continue
		}
		if ended {
			return
		}
		select {
		case <-q.wake:
		case <-q.closed:
			return
		}
	}
}
