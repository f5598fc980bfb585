package qemu

import (
	"context"
	"fmt"

	"github.com/nimbus-cloud/nimbus/internal/virt"
	"github.com/nimbus-cloud/nimbus/internal/virt/disk"
)

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
	out, err := disk.TailFile(path, disk.ConsoleBytes)
	if err != nil {
		return "", fmt.Errorf("console output of %s: %w", uuid, err)
	}
	return string(out), nil
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
