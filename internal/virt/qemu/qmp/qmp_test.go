package qmp

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"syscall"
	"testing"
	"time"
)

// request is a command as the fake server received it.
type request struct {
	Execute   string          `json:"execute"`
	Arguments json.RawMessage `json:"arguments"`
	ID        json.RawMessage `json:"id"`
	// File holds what a passed descriptor's file contained.
	File string `json:"-"`
}

// server is a fake QEMU monitor: it greets, answers each command through
// handle and records what it was sent.
type server struct {
	t        *testing.T
	path     string
	greeting string
	// handle answers one command: the reply's return value or error.
	handle func(s *server, req request) (any, *Error)

	mu          sync.Mutex
	conn        *net.UnixConn
	reqs        []request
	pendingFile []string
	write       sync.Mutex
}

func newServer(t *testing.T, handle func(s *server, req request) (any, *Error)) *server {
	t.Helper()
	return newServerGreeting(t, `{"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": "Debian 1:7.2"}, "capabilities": ["oob"]}}`, handle)
}

func newServerGreeting(t *testing.T, greeting string, handle func(s *server, req request) (any, *Error)) *server {
	t.Helper()
	dir, err := os.MkdirTemp("", "qmp")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	s := &server{t: t, path: filepath.Join(dir, "qmp.sock"), handle: handle, greeting: greeting}
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: s.path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		c, err := l.AcceptUnix()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conn = c
		s.mu.Unlock()
		t.Cleanup(func() { c.Close() })
		s.serve(c)
	}()
	return s
}

func (s *server) send(v any) {
	line, _ := json.Marshal(v)
	s.write.Lock()
	defer s.write.Unlock()
	s.mu.Lock()
	c := s.conn
	s.mu.Unlock()
	_, _ = c.Write(append(line, '\n'))
}

// event sends an event at a fixed time.
func (s *server) event(name string, data any) {
	m := map[string]any{"event": name, "timestamp": map[string]int64{"seconds": 1700000000, "microseconds": 5}}
	if data != nil {
		m["data"] = data
	}
	s.send(m)
}

func (s *server) serve(c *net.UnixConn) {
	if _, err := c.Write([]byte(s.greeting + "\n")); err != nil {
		return
	}
	r := bufio.NewReader(&fdReader{c: c, s: s})
	for {
		line, err := r.ReadBytes('\n')
		if err != nil {
			return
		}
		var req request
		if err := json.Unmarshal(line, &req); err != nil {
			s.send(map[string]any{"error": map[string]string{"class": "GenericError", "desc": "JSON parse error"}})
			continue
		}
		s.mu.Lock()
		if len(s.pendingFile) > 0 {
			req.File, s.pendingFile = s.pendingFile[0], s.pendingFile[1:]
		}
		s.reqs = append(s.reqs, req)
		s.mu.Unlock()
		go func() {
			ret, qerr := s.handle(s, req)
			if qerr != nil {
				s.send(map[string]any{"error": qerr, "id": req.ID})
				return
			}
			if ret == nil {
				ret = map[string]any{}
			}
			s.send(map[string]any{"return": ret, "id": req.ID})
		}()
	}
}

func (s *server) requests() []request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]request(nil), s.reqs...)
}

// fdReader reads the socket with ReadMsgUnix, keeping the content of any
// passed descriptor for the command that came with it.
type fdReader struct {
	c *net.UnixConn
	s *server
}

func (r *fdReader) Read(p []byte) (int, error) {
	oob := make([]byte, syscall.CmsgSpace(4))
	n, oobn, _, _, err := r.c.ReadMsgUnix(p, oob)
	if oobn > 0 {
		msgs, _ := syscall.ParseSocketControlMessage(oob[:oobn])
		for _, m := range msgs {
			fds, _ := syscall.ParseUnixRights(&m)
			for _, fd := range fds {
				f := os.NewFile(uintptr(fd), "passed")
				data, _ := io.ReadAll(f)
				f.Close()
				r.s.mu.Lock()
				r.s.pendingFile = append(r.s.pendingFile, string(data))
				r.s.mu.Unlock()
			}
		}
	}
	return max(n, 0), err
}

func dial(t *testing.T, s *server) *Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	q, err := Dial(ctx, s.path)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { q.Close() })
	return q
}

func ok(*server, request) (any, *Error) { return nil, nil }

func TestHandshakeAndVersion(t *testing.T) {
	t.Parallel()
	s := newServer(t, func(_ *server, req request) (any, *Error) {
		if req.Execute == "query-status" {
			return map[string]any{"running": true, "singlestep": false, "status": "running"}, nil
		}
		return nil, nil
	})
	q := dial(t, s)
	if v := q.Version(); v.String() != "7.2.22" || v.Number() != 7002022 || v.Package != "Debian 1:7.2" {
		t.Errorf("version %+v (%s, %d)", v, v, v.Number())
	}
	st, err := q.QueryStatus(t.Context())
	if err != nil || !st.Running || st.Status != "running" {
		t.Fatalf("query-status = %+v, %v", st, err)
	}
	reqs := s.requests()
	if len(reqs) != 2 || reqs[0].Execute != "qmp_capabilities" || reqs[1].Execute != "query-status" {
		t.Fatalf("server saw %+v, want qmp_capabilities then query-status", reqs)
	}
	if string(reqs[0].ID) == string(reqs[1].ID) {
		t.Errorf("two commands share id %s", reqs[0].ID)
	}
}

func TestRepliesMatchTheirCommandsOutOfOrder(t *testing.T) {
	t.Parallel()
	// The server answers later commands first: each caller must still get
	// its own reply.
	const n = 8
	var mu sync.Mutex
	arrived := 0
	all := make(chan struct{})
	s := newServer(t, func(_ *server, req request) (any, *Error) {
		if req.Execute != "echo" {
			return nil, nil
		}
		mu.Lock()
		arrived++
		if arrived == n {
			close(all)
		}
		mu.Unlock()
		<-all
		var args struct{ N int }
		_ = json.Unmarshal(req.Arguments, &args)
		time.Sleep(time.Duration(n-args.N) * time.Millisecond)
		return map[string]int{"n": args.N}, nil
	})
	q := dial(t, s)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			var got struct{ N int }
			if err := q.Execute(t.Context(), "echo", map[string]int{"n": i}, &got); err != nil {
				t.Errorf("echo %d: %v", i, err)
			} else if got.N != i {
				t.Errorf("echo %d got the reply of %d", i, got.N)
			}
		})
	}
	wg.Wait()
}

func TestErrorReply(t *testing.T) {
	t.Parallel()
	s := newServer(t, func(_ *server, req request) (any, *Error) {
		if req.Execute == "cont" {
			return nil, &Error{Class: "GenericError", Desc: "Migration is not finalized yet"}
		}
		return nil, nil
	})
	q := dial(t, s)
	err := q.Cont(t.Context())
	var qerr *Error
	if !errors.As(err, &qerr) || qerr.Class != "GenericError" || qerr.Command != "cont" {
		t.Fatalf("cont = %v, want a GenericError of cont", err)
	}
	if err.Error() != "qmp cont: GenericError: Migration is not finalized yet" {
		t.Errorf("message %q", err.Error())
	}
	if err := q.Stop(t.Context()); err != nil {
		t.Errorf("the connection is unusable after an error reply: %v", err)
	}
}

func TestEventsInOrderBetweenReplies(t *testing.T) {
	t.Parallel()
	s := newServer(t, func(s *server, req request) (any, *Error) {
		if req.Execute == "stop" {
			s.event("STOP", nil)
		}
		if req.Execute == "system_powerdown" {
			s.event("POWERDOWN", nil)
			s.event("SHUTDOWN", map[string]any{"guest": true, "reason": "guest-shutdown"})
		}
		return nil, nil
	})
	q := dial(t, s)
	if err := q.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := q.SystemPowerdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	var got []string
	for len(got) < 3 {
		select {
		case ev := <-q.Events():
			got = append(got, ev.Name)
			if ev.Time.Unix() != 1700000000 {
				t.Errorf("event %s time %v", ev.Name, ev.Time)
			}
			if ev.Name == "SHUTDOWN" {
				var d struct {
					Guest  bool   `json:"guest"`
					Reason string `json:"reason"`
				}
				if err := json.Unmarshal(ev.Data, &d); err != nil || !d.Guest || d.Reason != "guest-shutdown" {
					t.Errorf("SHUTDOWN data %s", ev.Data)
				}
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("events so far %v", got)
		}
	}
	if !reflect.DeepEqual(got, []string{"STOP", "POWERDOWN", "SHUTDOWN"}) {
		t.Errorf("events %v", got)
	}
}

func TestServerHangupFailsPendingCommands(t *testing.T) {
	t.Parallel()
	s := newServer(t, func(s *server, req request) (any, *Error) {
		if req.Execute == "quit" {
			s.event("SHUTDOWN", map[string]any{"guest": false, "reason": "host-qmp-quit"})
			s.mu.Lock()
			s.conn.Close()
			s.mu.Unlock()
			select {} // never answers
		}
		return nil, nil
	})
	q := dial(t, s)
	err := q.Quit(t.Context())
	if !errors.Is(err, ErrClosed) {
		t.Fatalf("quit on a hung-up socket = %v, want ErrClosed", err)
	}
	<-q.Done()
	if !errors.Is(q.Err(), ErrClosed) {
		t.Errorf("Err = %v", q.Err())
	}
	var names []string
	for ev := range q.Events() {
		names = append(names, ev.Name)
	}
	if !reflect.DeepEqual(names, []string{"SHUTDOWN"}) {
		t.Errorf("events before the hang-up: %v", names)
	}
	if err := q.Cont(t.Context()); !errors.Is(err, ErrClosed) {
		t.Errorf("a command after the hang-up = %v", err)
	}
}

func TestCloseWithUnreadEvents(t *testing.T) {
	t.Parallel()
	s := newServer(t, func(s *server, req request) (any, *Error) {
		for i := range 50 {
			s.event("RESET", map[string]int{"i": i})
		}
		return nil, nil
	})
	q := dial(t, s)
	if err := q.SystemReset(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := q.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	for range q.Events() {
		// Drains what was handed over before the close, then ends.
	}
}

func TestContextEndsTheWait(t *testing.T) {
	t.Parallel()
	block := make(chan struct{})
	t.Cleanup(func() { close(block) })
	s := newServer(t, func(_ *server, req request) (any, *Error) {
		if req.Execute == "query-migrate" {
			<-block
		}
		return nil, nil
	})
	q := dial(t, s)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := q.QueryMigrate(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("query-migrate with a cancelled context = %v", err)
	}
	if err := q.Cont(t.Context()); err != nil {
		t.Errorf("the connection is unusable after a cancelled command: %v", err)
	}
}

func TestBadGreeting(t *testing.T) {
	t.Parallel()
	s := newServerGreeting(t, `{"return": {}}`, ok)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, err := Dial(ctx, s.path); err == nil {
		t.Fatal("dial accepted a greeting without QMP")
	}
	if _, err := Dial(ctx, filepath.Join(t.TempDir(), "none.sock")); err == nil {
		t.Fatal("dial of a missing socket succeeded")
	}
}

func TestGetFDPassesTheFile(t *testing.T) {
	t.Parallel()
	s := newServer(t, ok)
	q := dial(t, s)
	f, err := os.CreateTemp(t.TempDir(), "state")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("saved state"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := q.GetFD(t.Context(), "suspend", f); err != nil {
		t.Fatalf("getfd: %v", err)
	}
	reqs := s.requests()
	last := reqs[len(reqs)-1]
	if last.Execute != "getfd" || string(last.Arguments) != `{"fdname":"suspend"}` || last.File != "saved state" {
		t.Errorf("server saw %s %s with file %q", last.Execute, last.Arguments, last.File)
	}
}

func TestTypedCommandsSendQEMUsArguments(t *testing.T) {
	t.Parallel()
	replies := map[string]any{
		"query-vnc":        map[string]any{"enabled": true, "host": "127.0.0.1", "service": "5901", "family": "ipv4", "auth": "none"},
		"query-kvm":        map[string]any{"enabled": false, "present": true},
		"query-block-jobs": []map[string]any{{"device": "disk0", "type": "mirror", "len": 100, "offset": 100, "ready": true, "status": "ready"}},
		"query-blockstats": []map[string]any{{"device": "drive-virtio-disk0", "stats": map[string]any{"rd_bytes": 512,
			"wr_bytes": 1024, "rd_operations": 1, "wr_operations": 2, "failed_rd_operations": 3}}},
		"query-cpus-fast": []map[string]any{{"cpu-index": 0, "thread-id": 4242, "qom-path": "/machine/unattached/device[0]"}},
		"query-migrate": map[string]any{"status": "completed", "total-time": 900, "downtime": 12,
			"ram":            map[string]any{"transferred": 10, "remaining": 0, "total": 134217728},
			"socket-address": []map[string]any{{"type": "inet", "host": "127.0.0.1", "port": "41234"}}},
	}
	s := newServer(t, func(_ *server, req request) (any, *Error) { return replies[req.Execute], nil })
	q := dial(t, s)
	ctx := t.Context()
	cases := []struct {
		name, command, args string
		run                 func() error
	}{
		{"migrate", "migrate", `{"uri":"tcp:127.0.0.1:4444"}`, func() error { return q.Migrate(ctx, "tcp:127.0.0.1:4444") }},
		{"migrate-incoming", "migrate-incoming", `{"uri":"tcp:127.0.0.1:0"}`, func() error { return q.MigrateIncoming(ctx, "tcp:127.0.0.1:0") }},
		{"capabilities", "migrate-set-capabilities", `{"capabilities":[{"capability":"events","state":true}]}`,
			func() error { return q.MigrateSetCapabilities(ctx, map[string]bool{"events": true}) }},
		{"parameters", "migrate-set-parameters", `{"downtime-limit":500}`,
			func() error { return q.MigrateSetParameters(ctx, map[string]any{"downtime-limit": 500}) }},
		{"cancel", "migrate_cancel", ``, func() error { return q.MigrateCancel(ctx) }},
		{"screendump", "screendump", `{"filename":"/x.ppm"}`, func() error { return q.Screendump(ctx, "/x.ppm") }},
		{"closefd", "closefd", `{"fdname":"suspend"}`, func() error { return q.CloseFD(ctx, "suspend") }},
		{"nbd start", "nbd-server-start", `{"addr":{"data":{"host":"127.0.0.1","port":"10809"},"type":"inet"}}`,
			func() error { return q.NBDServerStart(ctx, "127.0.0.1", 10809) }},
		{"nbd add", "nbd-server-add", `{"device":"disk0","writable":true}`, func() error { return q.NBDServerAdd(ctx, "disk0", true) }},
		{"nbd stop", "nbd-server-stop", ``, func() error { return q.NBDServerStop(ctx) }},
		{"mirror", "drive-mirror", `{"device":"disk0","target":"nbd:127.0.0.1:10809:exportname=disk0","format":"raw","sync":"top","mode":"existing"}`,
			func() error {
				return q.DriveMirrorStart(ctx, DriveMirror{Device: "disk0", Target: "nbd:127.0.0.1:10809:exportname=disk0", Format: "raw", Sync: "top", Mode: "existing"})
			}},
		{"job cancel", "block-job-cancel", `{"device":"disk0"}`, func() error { return q.BlockJobCancel(ctx, "disk0") }},
	}
	for _, tc := range cases {
		if err := tc.run(); err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		reqs := s.requests()
		last := reqs[len(reqs)-1]
		if last.Execute != tc.command || string(last.Arguments) != tc.args {
			t.Errorf("%s sent %s %s, want %s %s", tc.name, last.Execute, last.Arguments, tc.command, tc.args)
		}
	}
	bs, err := q.QueryBlockstats(ctx)
	if err != nil || len(bs) != 1 || bs[0].Device != "drive-virtio-disk0" || bs[0].Stats.ReadBytes != 512 ||
		bs[0].Stats.WriteOperations != 2 || bs[0].Stats.FailedReadOps != 3 {
		t.Errorf("query-blockstats = %+v, %v", bs, err)
	}
	cpus, err := q.QueryCPUsFast(ctx)
	if err != nil || len(cpus) != 1 || cpus[0].ThreadID != 4242 {
		t.Errorf("query-cpus-fast = %+v, %v", cpus, err)
	}
	vnc, err := q.QueryVNC(ctx)
	if err != nil || vnc.Port() != 5901 || vnc.Host != "127.0.0.1" || !vnc.Enabled {
		t.Errorf("query-vnc = %+v (port %d), %v", vnc, vnc.Port(), err)
	}
	kvm, err := q.QueryKVM(ctx)
	if err != nil || kvm.Enabled || !kvm.Present {
		t.Errorf("query-kvm = %+v, %v", kvm, err)
	}
	jobs, err := q.QueryBlockJobs(ctx)
	if err != nil || len(jobs) != 1 || !jobs[0].Ready || jobs[0].Device != "disk0" {
		t.Errorf("query-block-jobs = %+v, %v", jobs, err)
	}
	m, err := q.QueryMigrate(ctx)
	if err != nil || m.Status != "completed" || m.RAM == nil || m.RAM.Total != 134217728 || len(m.Sockets) != 1 || m.Sockets[0].Port != "41234" {
		t.Errorf("query-migrate = %+v, %v", m, err)
	}
}
