package libvirt

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

// GetVNCConsole is where the running or paused guest's VNC server
// listens, from its domain's live XML. It does not wait for an operation
// on the instance to end.
func (d *Driver) GetVNCConsole(ctx context.Context, uuid string) (virt.VNCConsole, error) {
	d.mu.Lock()
	in, ok := d.instances[uuid]
	d.mu.Unlock()
	if !ok {
		return virt.VNCConsole{}, virt.NotFound(uuid)
	}
	conn, err := d.connection()
	if err != nil {
		return virt.VNCConsole{}, fmt.Errorf("vnc console of %s: %w", uuid, err)
	}
	state, err := d.state(in)
	if err != nil {
		return virt.VNCConsole{}, fmt.Errorf("vnc console of %s: %w", uuid, err)
	}
	if state != virt.Running && state != virt.Paused {
		return virt.VNCConsole{}, &virt.StateError{UUID: uuid, Op: "get the vnc console of", State: state, Allowed: states(virt.Running, virt.Paused)}
	}
	doc, err := conn.DomainGetXMLDesc(domainOf(in), 0)
	if err != nil {
		return virt.VNCConsole{}, fmt.Errorf("vnc console of %s: domain xml: %w", uuid, err)
	}
	port, err := vncPort(doc)
	if err != nil {
		return virt.VNCConsole{}, fmt.Errorf("vnc console of %s: %w", uuid, err)
	}
	if port == 0 {
		return virt.VNCConsole{}, &virt.StateError{UUID: uuid, Op: "get the vnc console of", State: virt.Shutdown, Allowed: states(virt.Running, virt.Paused)}
	}
	return virt.VNCConsole{Host: d.opts.VNCHost, Port: port}, nil
}

// Snapshot returns the root disk as one qcow2, its backing chain
// flattened. A running guest is paused while the disk is copied (QEMU
// flushes its writes when it stops), so the copy is consistent; the file
// is removed when the caller closes it.
func (d *Driver) Snapshot(ctx context.Context, uuid string) (*virt.SnapshotImage, error) {
	var snap *virt.SnapshotImage
	err := d.powerOp(ctx, uuid, "snapshot", states(virt.Running, virt.Paused, virt.Shutdown, virt.Crashed, virt.Suspended), nil,
		func(conn Conn, in *instance, state virt.PowerState) error {
			if state == virt.Running {
				if err := conn.DomainSuspend(domainOf(in)); err != nil {
					return fmt.Errorf("pause for the snapshot: %w", err)
				}
				defer func() {
					if err := conn.DomainResume(domainOf(in)); err != nil {
						d.log.Error("resume after a snapshot", "instance_uuid", uuid, "error", err)
					}
				}()
			}
			var err error
			snap, err = d.disks.Flatten(ctx, in.dir, in.path(disk.FileDisk))
			return err
		})
	if err != nil {
		return nil, err
	}
	return snap, nil
}
