package libvirt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/nimbus-cloud/nimbus/internal/virt"
	"github.com/nimbus-cloud/nimbus/internal/virt/disk"
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
			f, err := os.CreateTemp(in.dir, ".snapshot-*.qcow2")
			if err != nil {
				return err
			}
			path := f.Name()
			f.Close()
			if _, err := d.disks.Run(ctx, "convert", "-q", "-U", "-f", "qcow2", "-O", "qcow2", in.path(disk.FileDisk), path); err != nil {
				os.Remove(path)
				return err
			}
			data, err := os.Open(path)
			if err != nil {
				os.Remove(path)
				return err
			}
			st, err := data.Stat()
			if err != nil {
				data.Close()
				os.Remove(path)
				return err
			}
			snap = &virt.SnapshotImage{Data: &removeOnClose{File: data}, Size: st.Size(), DiskFormat: "qcow2", ContainerFormat: "bare"}
			return nil
		})
	if err != nil {
		return nil, err
	}
	return snap, nil
}

// removeOnClose is a temporary file that goes when closed.
type removeOnClose struct{ *os.File }

func (r *removeOnClose) Close() error {
	err := r.File.Close()
	if rerr := os.Remove(r.File.Name()); err == nil {
		err = rerr
	}
	if err != nil {
		return fmt.Errorf("close snapshot: %w", err)
	}
	return nil
}
