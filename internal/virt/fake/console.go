package fake

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/nimbus-cloud/nimbus/internal/virt"
)

// maxConsoleBytes is how much console log is kept, as libvirt's driver
// keeps the last 100 KiB.
const maxConsoleBytes = 100 << 10

// consoleLog is a guest's serial console: what a boot, a shutdown or a
// crash would print.
type consoleLog struct{ buf []byte }

func (c *consoleLog) write(line string) {
	c.buf = append(c.buf, line...)
	c.buf = append(c.buf, '\n')
	// Trim only once twice the limit is reached, so that a chatty guest
	// costs amortized constant time per line.
	if len(c.buf) > 2*maxConsoleBytes {
		c.buf = slices.Clone(c.tail())
	}
}

// tail is the last maxConsoleBytes of the log, starting at a line.
func (c *consoleLog) tail() []byte {
	over := len(c.buf) - maxConsoleBytes
	if over <= 0 {
		return c.buf
	}
	if i := bytes.IndexByte(c.buf[over-1:], '\n'); i >= 0 {
		over += i
	}
	return c.buf[over:]
}

// boot prints a boot, including what cloud-init would report of the
// instance's metadata.
func (c *consoleLog) boot(spec *virt.InstanceSpec) {
	host := spec.Hostname
	if host == "" {
		host = spec.Name
	}
	c.write("[    0.000000] Linux version 6.1.0-fake (nimbus fake hypervisor)")
	c.write(fmt.Sprintf("[    0.000000] Memory: %dK available, %d CPUs", spec.Flavor.MemoryMB*1024, spec.Flavor.VCPUs))
	if !spec.Image.IsZero() {
		c.write(fmt.Sprintf("[    0.480000] virtio_blk virtio1: [vda] %d GB root disk from image %s", spec.Flavor.RootGB, spec.Image.ID))
	} else {
		c.write("[    0.480000] virtio_blk virtio1: [vda] root disk from volume")
	}
	for i, v := range spec.Network {
		c.write(fmt.Sprintf("[    0.520000] virtio_net virtio%d eth%d: %s %s", i+2, i, v.MAC, strings.Join(v.FixedIPs, " ")))
	}
	c.write(fmt.Sprintf("cloud-init: instance-id %s, local-hostname %s, %d bytes of user-data, config drive %t",
		spec.UUID, host, len(spec.UserData), spec.ConfigDrive))
	if spec.KeyData != "" {
		c.write("cloud-init: authorized ssh key " + spec.KeyName)
	}
	c.write("")
	c.write(host + " login:")
}

func (c *consoleLog) String() string { return string(c.tail()) }

// GetConsoleOutput is the console log, kept across power changes.
func (d *Driver) GetConsoleOutput(ctx context.Context, uuid string) (string, error) {
	if err := d.enter(ctx, OpConsoleOutput, uuid); err != nil {
		return "", err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	in, ok := d.instances[uuid]
	if !ok {
		return "", virt.NotFound(uuid)
	}
	return in.console.String(), nil
}

// GetVNCConsole is the instance's display, which exists while the guest
// runs or is paused.
func (d *Driver) GetVNCConsole(ctx context.Context, uuid string) (virt.VNCConsole, error) {
	if err := d.enter(ctx, OpVNCConsole, uuid); err != nil {
		return virt.VNCConsole{}, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	in, ok := d.instances[uuid]
	if !ok {
		return virt.VNCConsole{}, virt.NotFound(uuid)
	}
	if in.state != virt.Running && in.state != virt.Paused {
		return virt.VNCConsole{}, &virt.StateError{UUID: uuid, Op: "get the VNC console of", State: in.state,
			Allowed: states(virt.Running, virt.Paused)}
	}
	if d.opts.Display != nil {
		host, port := d.opts.Display.Addr()
		return virt.VNCConsole{Host: host, Port: port}, nil
	}
	return virt.VNCConsole{Host: d.opts.VNCHost, Port: in.vncPort}, nil
}

// Snapshot returns the instance's root disk: the fake's disks never change,
// so that is its image, in the image's format.
func (d *Driver) Snapshot(ctx context.Context, uuid string) (*virt.SnapshotImage, error) {
	if err := d.enter(ctx, OpSnapshot, uuid); err != nil {
		return nil, err
	}
	d.mu.Lock()
	in, ok := d.instances[uuid]
	if !ok {
		d.mu.Unlock()
		return nil, virt.NotFound(uuid)
	}
	allowed := states(virt.Running, virt.Paused, virt.Shutdown, virt.Suspended)
	if !slices.Contains(allowed, in.state) {
		d.mu.Unlock()
		return nil, &virt.StateError{UUID: uuid, Op: "snapshot", State: in.state, Allowed: allowed}
	}
	img := in.image
	d.mu.Unlock()
	if img == nil {
		return nil, fmt.Errorf("snapshot %s: %w: the instance boots from a volume; snapshot the volume", uuid, virt.ErrNotSupported)
	}
	snap := &virt.SnapshotImage{Size: img.size, DiskFormat: img.diskFormat, ContainerFormat: "bare"}
	if img.path == "" {
		snap.Data = io.NopCloser(bytes.NewReader(img.data))
		return snap, nil
	}
	f, err := os.Open(img.path)
	if err != nil {
		return nil, fmt.Errorf("snapshot %s: read disk: %w", uuid, err)
	}
	snap.Data = f
	return snap, nil
}
