package main

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// cmdStartup starts `nimbus up` on a fresh state directory and measures the time
// until the identity API answers, the idle memory, and the clean stop; then does
// the same again on the same state directory (a warm restart).
func cmdStartup(args []string) error {
	fs := newFlags("startup")
	bin := fs.String("bin", "bin/nimbus", "the nimbus binary")
	port := fs.Int("port", 0, "identity port (0: a free one)")
	idle := fs.Duration("idle", 5*time.Second, "how long to leave the cloud idle before sampling its memory")
	limit := fs.Duration("timeout", 30*time.Second, "give up on a start or a stop after this long")
	warm := fs.Bool("warm", true, "also measure a warm restart on the same state directory")
	keep := fs.Bool("keep", false, "keep the state directory and logs")
	if err := fs.Parse(args); err != nil {
		return err
	}
	path, err := exec.LookPath(*bin)
	if err != nil {
		return fmt.Errorf("find the nimbus binary (build it with `go build -o bin/nimbus ./cmd/nimbus`): %w", err)
	}
	if *port == 0 {
		if *port, err = freePort(); err != nil {
			return err
		}
	}
	dir, err := os.MkdirTemp("", "nimbus-bench-startup-")
	if err != nil {
		return err
	}
	if *keep {
		fmt.Fprintln(os.Stderr, "nimbus-bench startup: state and logs in", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	phases := []string{"first"}
	if *warm {
		phases = append(phases, "warm")
	}
	for _, phase := range phases {
		s := startRun{bin: path, stateDir: filepath.Join(dir, "state"), port: *port,
			logFile: filepath.Join(dir, "nimbus-"+phase+".log"), idle: *idle, limit: *limit}
		out, err := s.measure()
		if err != nil {
			return fmt.Errorf("%s start: %w", phase, err)
		}
		out["test"] = "startup"
		out["start"] = phase
		emit(out)
	}
	return nil
}

// freePort asks the kernel for a port that is free on 127.0.0.1 now.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// startRun is one start, idle period and stop of `nimbus up`.
type startRun struct {
	bin, stateDir, logFile string
	port                   int
	idle, limit            time.Duration
}

func (s startRun) measure() (map[string]any, error) {
	logf, err := os.Create(s.logFile)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command(s.bin, "up", "--state-dir", s.stateDir,
		"--set", "DEFAULT.bind_host=127.0.0.1", "--set", "identity.bind_port="+strconv.Itoa(s.port))
	watch := &lineWatcher{}
	cmd.Stdout = watch
	cmd.Stderr = logf
	// Its own process group: a Ctrl-C meant for the benchmark does not stop it early.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}

	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() { _ = cmd.Process.Kill(); <-exited }

	serving, err := waitServing(fmt.Sprintf("http://127.0.0.1:%d/v3", s.port), start, s.limit, exited)
	if err != nil {
		if !errors.Is(err, errExited) {
			stop()
		}
		return nil, fmt.Errorf("%w (log: %s)", err, tail(s.logFile))
	}
	ready, selfReported, ok := watch.readyAt(start, s.limit)
	if !ok {
		stop()
		return nil, fmt.Errorf("no %q line within %s", "Nimbus is ready", s.limit)
	}
	time.Sleep(s.idle)
	mem, err := treeMemory(cmd.Process.Pid)
	if err != nil {
		stop()
		return nil, err
	}

	stopStart := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		stop()
		return nil, err
	}
	var exitErr error
	select {
	case exitErr = <-exited:
	case <-time.After(s.limit):
		stop()
		return nil, fmt.Errorf("still running %s after SIGTERM", s.limit)
	}
	stopped := time.Since(stopStart)
	out := map[string]any{
		"serving_ms":       ms(serving),
		"ready_line_ms":    ms(ready),
		"self_reported_ms": selfReported,
		"idle_s":           s.idle.Seconds(),
		"stop_ms":          ms(stopped),
		"exit_code":        cmd.ProcessState.ExitCode(),
		"clean_stop":       exitErr == nil && watch.saw("Nimbus stopped."),
	}
	for k, v := range mem.fields() {
		out[k] = v
	}
	return out, nil
}

var errExited = errors.New("nimbus exited before serving")

// waitServing polls GET url on fresh connections until it answers 200, and
// returns the time since start.
func waitServing(url string, start time.Time, limit time.Duration, exited <-chan error) (time.Duration, error) {
	c := &http.Client{Timeout: time.Second, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	for {
		resp, err := c.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Since(start), nil
			}
		}
		select {
		case err := <-exited:
			return 0, fmt.Errorf("%w: %v", errExited, err)
		default:
		}
		if time.Since(start) > limit {
			return 0, fmt.Errorf("GET %s did not answer 200 within %s", url, limit)
		}
		time.Sleep(time.Millisecond)
	}
}

// tail returns the end of a log file, for error messages.
func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 600 {
		b = b[len(b)-600:]
	}
	return string(bytes.TrimSpace(b))
}

// lineWatcher is a process's stdout: it notes when each line arrived.
type lineWatcher struct {
	mu    sync.Mutex
	buf   []byte
	lines []timedLine
}

type timedLine struct {
	at   time.Time
	text string
}

func (w *lineWatcher) Write(p []byte) (int, error) {
	now := time.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.lines = append(w.lines, timedLine{at: now, text: string(w.buf[:i])})
		w.buf = w.buf[i+1:]
	}
	return len(p), nil
}

var readyLine = regexp.MustCompile(`^Nimbus is ready \(started in (\d+) ms\)`)

// readyAt waits for the ready line and returns when it came (since start) and the
// start time the process reported in it.
func (w *lineWatcher) readyAt(start time.Time, limit time.Duration) (time.Duration, int, bool) {
	for deadline := start.Add(limit); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		w.mu.Lock()
		for _, l := range w.lines {
			if m := readyLine.FindStringSubmatch(l.text); m != nil {
				w.mu.Unlock()
				n, _ := strconv.Atoi(m[1])
				return l.at.Sub(start), n, true
			}
		}
		w.mu.Unlock()
	}
	return 0, 0, false
}

func (w *lineWatcher) saw(text string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, l := range w.lines {
		if l.text == text {
			return true
		}
	}
	return false
}
