package qemu

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/nimbus-cloud/nimbus/internal/virt"
)

// maxConsoleBytes is how much of the console log is returned, as nova's
// libvirt driver returns the last 100 KiB.
const maxConsoleBytes = 100 << 10

// GetConsoleOutput is the tail of the serial console log, which lasts
// across power cycles.
func (d *Driver) GetConsoleOutput(ctx context.Context, uuid string) (string, error) {
	d.mu.Lock()
	in, ok := d.instances[uuid]
	var path string
	if ok {
		path = in.path(fileConsole)
	}
	d.mu.Unlock()
	if !ok {
		return "", virt.NotFound(uuid)
	}
	out, err := tailFile(path, maxConsoleBytes)
	if err != nil {
		return "", fmt.Errorf("console output of %s: %w", uuid, err)
	}
	return string(out), nil
}

// tailFile is the last n bytes of path, from a line start; a missing file
// is empty.
func tailFile(path string, n int64) ([]byte, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	off := max(st.Size()-n, 0)
	data := make([]byte, st.Size()-off)
	if _, err := f.ReadAt(data, off); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if off > 0 {
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			data = data[i+1:]
		}
	}
	return data, nil
}

// GetVNCConsole is where the running or paused guest's VNC server listens.
func (d *Driver) GetVNCConsole(ctx context.Context, uuid string) (virt.VNCConsole, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	in, ok := d.instances[uuid]
	if !ok {
		return virt.VNCConsole{}, virt.NotFound(uuid)
	}
	if in.proc == nil || in.proc.vncPort == 0 {
		return virt.VNCConsole{}, &virt.StateError{UUID: uuid, Op: "get the vnc console of", State: in.state,
			Allowed: states(virt.Running, virt.Paused)}
	}
	return virt.VNCConsole{Host: d.opts.VNCHost, Port: in.proc.vncPort}, nil
}

// Screendump writes the guest's display to a PPM file, as QEMU renders it
// for VNC.
func (d *Driver) Screendump(ctx context.Context, uuid, path string) error {
	d.mu.Lock()
	in, ok := d.instances[uuid]
	var p *process
	if ok {
		p = in.proc
	}
	d.mu.Unlock()
	if !ok {
		return virt.NotFound(uuid)
	}
	if p == nil {
		return &virt.StateError{UUID: uuid, Op: "take a screenshot of", State: virt.Shutdown, Allowed: states(virt.Running, virt.Paused)}
	}
	return p.qmp.Screendump(ctx, path)
}
