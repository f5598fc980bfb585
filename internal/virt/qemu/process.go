package qemu

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/virt"
	"github.com/nimbus-cloud/nimbus/internal/virt/qemu/qmp"
)

// process is a running QEMU of an instance.
type process struct {
	pid int
	qmp *qmp.Conn
	// exited is closed once the process is gone.
	exited chan struct{}
	// adopted processes are not this driver's children: their exit is
	// seen through the monitor and the pid.
	adopted bool
	// detached is set by Close: the driver let go of the process.
	detached atomic.Bool
	// shutdown is set by QEMU's SHUTDOWN event: the guest or the driver
	// ended it, it did not crash.
	shutdown atomic.Bool
	panicked atomic.Bool
	vncPort  int
}

// qmpStartTimeout bounds how long QEMU may take to open its monitor.
const qmpStartTimeout = 30 * time.Second

// quitTimeout bounds how long QEMU may take to exit after quit before it
// is killed.
const quitTimeout = 10 * time.Second

// startProcess starts QEMU for in, paused (-S), and connects to its
// monitor. extra files become descriptors 3, 4, ... of QEMU.
func (d *Driver) startProcess(ctx context.Context, in *instance, m *Machine, extra ...*os.File) (*process, error) {
	_ = os.Remove(m.QMPSocket)
	_ = os.Remove(m.PidFile)
	trimConsole(m.ConsoleLog)
	logf, err := os.OpenFile(in.path(fileQEMULog), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("start qemu: %w", err)
	}
	logStart, _ := logf.Seek(0, 2)
	cmd := exec.Command(d.qemuBin, m.Args()...)
	cmd.Dir = in.dir
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.ExtraFiles = extra
	// Its own process group: a signal to the agent's group (a Ctrl-C)
	// does not reach the guests.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start qemu: %w", err)
	}
	p := &process{pid: cmd.Process.Pid, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait() // reaps the child; how it ended is read from QMP and the log
		logf.Close()
		close(p.exited)
	}()
	conn, err := dialMonitor(ctx, m.QMPSocket, p.exited)
	if err != nil {
		p.kill()
		return nil, fmt.Errorf("start qemu: %w%s", err, logSince(in.path(fileQEMULog), logStart))
	}
	p.qmp = conn
	return p, nil
}

// dialMonitor connects to a starting QEMU's monitor socket, giving up when
// the process exits.
func dialMonitor(ctx context.Context, path string, exited <-chan struct{}) (*qmp.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, qmpStartTimeout)
	defer cancel()
	delay := 2 * time.Millisecond
	for {
		if _, err := os.Stat(path); err == nil {
			conn, err := qmp.Dial(ctx, path)
			if err == nil {
				return conn, nil
			}
			select {
			case <-exited:
				return nil, errors.New("qemu exited")
			default:
			}
		}
		select {
		case <-exited:
			return nil, errors.New("qemu exited")
		case <-ctx.Done():
			return nil, fmt.Errorf("qemu did not open its monitor: %w", ctx.Err())
		case <-time.After(delay):
		}
		delay = min(2*delay, 50*time.Millisecond)
	}
}

// logSince is what QEMU logged from offset on, for an error message.
func logSince(path string, offset int64) string {
	data, err := os.ReadFile(path)
	if err != nil || int64(len(data)) <= offset {
		return ""
	}
	msg := strings.TrimSpace(string(data[offset:]))
	if len(msg) > 2000 {
		msg = msg[len(msg)-2000:]
	}
	return ": " + msg
}

// kill ends the process group at once and waits for the end.
func (p *process) kill() {
	_ = syscall.Kill(-p.pid, syscall.SIGKILL)
	_ = syscall.Kill(p.pid, syscall.SIGKILL)
	if p.adopted {
		waitGone(p.pid, quitTimeout)
		if p.qmp != nil {
			p.qmp.Close()
		}
		return
	}
	<-p.exited
	if p.qmp != nil {
		p.qmp.Close()
	}
}

// quit asks QEMU to exit and waits, killing it if it takes too long.
func (p *process) quit(ctx context.Context) {
	qctx, cancel := context.WithTimeout(ctx, quitTimeout)
	defer cancel()
	if err := p.qmp.Quit(qctx); err != nil && !errors.Is(err, qmp.ErrClosed) {
		p.kill()
		return
	}
	select {
	case <-p.exited:
		p.qmp.Close()
	case <-qctx.Done():
		p.kill()
	}
}

// waitExit waits up to timeout for the process to end by itself.
func (p *process) waitExit(ctx context.Context, timeout time.Duration) bool {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-p.exited:
		return true
	case <-t.C:
		return false
	case <-ctx.Done():
		return false
	}
}

// alive tells whether pid runs (a zombie does not).
func alive(pid int) bool {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// The state follows the command name in parentheses.
	i := bytes.LastIndexByte(data, ')')
	return i > 0 && i+2 < len(data) && data[i+2] != 'Z' && data[i+2] != 'X'
}

func waitGone(pid int, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for alive(pid) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

// watch turns a process's QMP events and its end into instance state and
// lifecycle events, for what happens outside the driver's operations: the
// guest powering off or pausing on an error, or QEMU dying.
func (d *Driver) watch(in *instance, p *process) {
	go func() {
		for ev := range p.qmp.Events() {
			d.onEvent(in, p, ev)
		}
		if p.adopted {
			// An adopted QEMU is not our child: its monitor closing is
			// the sign, its pid the proof.
			if !p.detached.Load() {
				waitGone(p.pid, quitTimeout)
			}
			close(p.exited)
		}
	}()
	go func() {
		<-p.exited
		d.onExit(in, p)
	}()
}

func (d *Driver) onEvent(in *instance, p *process, ev qmp.Event) {
	switch ev.Name {
	case "SHUTDOWN":
		p.shutdown.Store(true)
		return
	case "GUEST_PANICKED":
		p.panicked.Store(true)
		return
	case "STOP", "RESUME", "SUSPEND", "WAKEUP":
	default:
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if in.proc != p || in.busy || !ev.Time.After(in.opEnd) {
		return
	}
	switch ev.Name {
	case "STOP":
		in.state = virt.Paused
		if in.reported != virt.Paused {
			d.emit(in, virt.EventPaused)
		}
	case "RESUME", "WAKEUP":
		in.state = virt.Running
		if in.reported != virt.Running {
			d.emit(in, virt.EventResumed)
		}
	case "SUSPEND":
		in.state = virt.Suspended
		d.emit(in, virt.EventSuspended)
	}
}

// onExit records a QEMU that ended outside an operation: a guest that
// powered off is stopped, one whose QEMU died without a shutdown crashed.
func (d *Driver) onExit(in *instance, p *process) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if in.proc != p || in.busy || p.detached.Load() {
		return
	}
	d.ended(in, p)
}

// ended records that p, the instance's QEMU, is gone; the caller holds
// d.mu.
func (d *Driver) ended(in *instance, p *process) {
	in.proc = nil
	crashed := !p.shutdown.Load() || p.panicked.Load()
	in.rec.Crashed = crashed
	in.state = virt.Shutdown
	if crashed {
		in.state = virt.Crashed
	}
	if !in.gone {
		if err := in.save(); err != nil {
			d.log.Error("record a guest's end", "instance_uuid", in.rec.Spec.UUID, "error", err)
		}
	}
	d.log.Info("guest ended", "instance_uuid", in.rec.Spec.UUID, "crashed", crashed)
	d.emit(in, virt.EventStopped)
	go p.qmp.Close()
}

// runState maps QEMU's run state to a power state.
func runState(status string) virt.PowerState {
	switch status {
	case "running":
		return virt.Running
	case "paused", "postmigrate", "finish-migrate", "inmigrate", "prelaunch", "restore-vm", "save-vm", "debug", "io-error", "watchdog", "colo":
		return virt.Paused
	case "suspended":
		return virt.Suspended
	case "guest-panicked", "internal-error":
		return virt.Crashed
	case "shutdown":
		return virt.Shutdown
	}
	return virt.NoState
}

// pidCmdline is a process's command line, for telling that a pid is still
// the QEMU of an instance.
func pidCmdline(pid int) []string {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return nil
	}
	return strings.Split(strings.TrimRight(string(data), "\x00"), "\x00")
}

// trimConsole keeps a console log from growing without bound: past 1 MiB
// only its last 256 KiB stay.
func trimConsole(path string) {
	st, err := os.Stat(path)
	if err != nil || st.Size() <= 1<<20 {
		return
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return
	}
	_ = os.WriteFile(path, data[len(data)-256<<10:], 0o600)
}

// status is the QEMU run state, as query-status reports it.
func (p *process) status(ctx context.Context) (string, error) {
	st, err := p.qmp.QueryStatus(ctx)
	if err != nil {
		return "", err
	}
	return st.Status, nil
}

// waitStatus polls the run state until want says yes.
func (p *process) waitStatus(ctx context.Context, timeout time.Duration, want func(string) bool) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		st, err := p.status(ctx)
		if err != nil {
			return "", err
		}
		if want(st) {
			return st, nil
		}
		select {
		case <-ctx.Done():
			return st, fmt.Errorf("qemu stays %s: %w", st, ctx.Err())
		case <-p.exited:
			return st, errors.New("qemu exited")
		case <-time.After(20 * time.Millisecond):
		}
	}
}
