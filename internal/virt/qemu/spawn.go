package qemu

import (
	"context"
	"crypto/sha1"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/virt"
	"github.com/nimbus-cloud/nimbus/internal/virt/disk"
)

// Spawn creates the instance's disks and config drive and boots it, unless
// spec.StartStopped. A failed spawn undoes every step: no folder, disk or
// process stays.
func (d *Driver) Spawn(ctx context.Context, spec *virt.InstanceSpec) error {
	if err := validateSpec(spec); err != nil {
		return err
	}
	in, end, err := d.reserve(ctx, d.instances, spec)
	if err != nil {
		return fmt.Errorf("spawn %s: %w", spec.UUID, err)
	}
	defer end()
	r := &reverter{}
	defer r.revert()
	r.add(func() { d.unreserve(d.instances, in) })
	if err := d.create(ctx, in, r); err != nil {
		return fmt.Errorf("spawn %s: %w", spec.UUID, err)
	}
	if spec.StartStopped {
		d.mu.Lock()
		in.state, in.reported = virt.Shutdown, virt.Shutdown
		d.mu.Unlock()
	} else if err := d.boot(ctx, in, r); err != nil {
		return fmt.Errorf("spawn %s: %w", spec.UUID, err)
	}
	r.done()
	d.log.InfoContext(ctx, "instance spawned", "instance_uuid", spec.UUID, "running", !spec.StartStopped)
	return nil
}

func validateSpec(spec *virt.InstanceSpec) error {
	bad := func(what string) error {
		return fmt.Errorf("spawn %s: %w: %s", spec.UUID, virt.ErrInvalidSpec, what)
	}
	switch {
	case spec.UUID == "":
		return bad("no uuid")
	case !uuidPattern.MatchString(spec.UUID):
		return bad(fmt.Sprintf("uuid %q", spec.UUID))
	case spec.Name == "":
		return bad("no name")
	case spec.Flavor.VCPUs < 1:
		return bad(fmt.Sprintf("flavor has %d VCPUs", spec.Flavor.VCPUs))
	case spec.Flavor.MemoryMB < 1:
		return bad(fmt.Sprintf("flavor has %d MB of memory", spec.Flavor.MemoryMB))
	case spec.Flavor.RootGB < 0 || spec.Flavor.EphemeralGB < 0 || spec.Flavor.SwapMB < 0:
		return bad("flavor has a negative disk size")
	case spec.Image.IsZero():
		return fmt.Errorf("spawn %s: %w: booting from a volume (the QEMU driver needs an image for the root disk)", spec.UUID, virt.ErrNotSupported)
	}
	return nil
}

// reserve puts a new instance for spec into set, holding its operation
// lock; end releases the lock.
func (d *Driver) reserve(ctx context.Context, set map[string]*instance, spec *virt.InstanceSpec) (*instance, func(), error) {
	in := &instance{op: newChanMutex(), dir: filepath.Join(d.root, spec.UUID), rec: record{Spec: copySpec(spec)}, state: virt.NoState}
	in.op.lock(nil)
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.host == "" {
		return nil, nil, errors.New("the driver is not initialized")
	}
	if _, ok := set[spec.UUID]; ok {
		return nil, nil, virt.ErrInstanceExists
	}
	if _, ok := d.incoming[spec.UUID]; ok {
		return nil, nil, fmt.Errorf("%w: a live migration of it is arriving", virt.ErrInstanceExists)
	}
	if _, ok := d.instances[spec.UUID]; ok {
		return nil, nil, virt.ErrInstanceExists
	}
	in.busy = true
	set[spec.UUID] = in
	return in, func() { d.finish(in) }, nil
}

func (d *Driver) unreserve(set map[string]*instance, in *instance) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if set[in.rec.Spec.UUID] == in {
		delete(set, in.rec.Spec.UUID)
	}
	in.gone = true
}

func copySpec(spec *virt.InstanceSpec) virt.InstanceSpec {
	c := *spec
	c.Image.Reader = nil
	c.Flavor.ExtraSpecs = maps.Clone(spec.Flavor.ExtraSpecs)
	c.Metadata = maps.Clone(spec.Metadata)
	c.Image.Properties = maps.Clone(spec.Image.Properties)
	c.BlockDeviceMappings = slices.Clone(spec.BlockDeviceMappings)
	c.Network = slices.Clone(spec.Network)
	c.UserData = slices.Clone(spec.UserData)
	return c
}

// create makes the instance's folder, disks, kernel, config drive and
// record.
func (d *Driver) create(ctx context.Context, in *instance, r *reverter) error {
	if err := d.makeDir(in, r); err != nil {
		return err
	}
	spec := &in.rec.Spec
	b, err := d.ensureBase(ctx, spec.Image)
	if err != nil {
		return err
	}
	in.rec.BaseFormat = b.Format
	if err := d.makeDisks(ctx, in, b); err != nil {
		return err
	}
	return d.finishCreate(ctx, in, spec.Image)
}

// makeDir creates the instance folder; a folder without a record is what a
// destroy that kept the disks left, and makes way.
func (d *Driver) makeDir(in *instance, r *reverter) error {
	if _, err := os.Stat(filepath.Join(in.dir, fileRecord)); err == nil {
		return fmt.Errorf("%w: %s holds another instance", virt.ErrInstanceExists, in.dir)
	}
	if err := os.RemoveAll(in.dir); err != nil {
		return fmt.Errorf("clear instance folder: %w", err)
	}
	if err := os.MkdirAll(in.dir, 0o700); err != nil {
		return fmt.Errorf("create instance folder: %w", err)
	}
	r.add(func() { os.RemoveAll(in.dir) })
	return nil
}

// finishCreate fetches the kernel and ramdisk an image names, writes the
// config drive and saves the record.
func (d *Driver) finishCreate(ctx context.Context, in *instance, img virt.ImageRef) error {
	props := img.Properties
	if id := props["kernel_id"]; id != "" {
		k, err := d.ensureFile(ctx, id)
		if err != nil {
			return fmt.Errorf("kernel: %w", err)
		}
		if err := linkOrCopy(k, in.path(fileKernel)); err != nil {
			return fmt.Errorf("kernel: %w", err)
		}
		in.rec.Kernel = fileKernel
		// nova's default command line of a kernel_id image.
		in.rec.Append = "root=/dev/vda console=tty0 console=ttyS0"
		if cl := props["os_command_line"]; cl != "" {
			in.rec.Append = cl
		}
		if id := props["ramdisk_id"]; id != "" {
			rd, err := d.ensureFile(ctx, id)
			if err != nil {
				return fmt.Errorf("ramdisk: %w", err)
			}
			if err := linkOrCopy(rd, in.path(fileRamdisk)); err != nil {
				return fmt.Errorf("ramdisk: %w", err)
			}
			in.rec.Initrd = fileRamdisk
		}
	}
	if in.rec.Spec.ConfigDrive || d.opts.ForceConfigDrive {
		var links []disk.Link
		for _, n := range d.nics(&in.rec.Spec) {
			links = append(links, disk.Link{ID: n.ID, MAC: n.MAC})
		}
		files, err := disk.ConfigDriveFiles(&in.rec.Spec, links)
		if err != nil {
			return fmt.Errorf("config drive: %w", err)
		}
		if err := disk.BuildConfigDrive(ctx, in.path(fileConfigDrive), d.opts.ConfigDriveFormat, files); err != nil {
			return err
		}
		in.rec.ConfigDrive = d.opts.ConfigDriveFormat
	}
	return in.save()
}

// nics are the instance's network cards: a tap for a port a network agent
// plugged into a bridge, QEMU's user-mode network otherwise, and one
// user-mode card for an instance without ports, so that a guest reaches
// out before a network service exists.
func (d *Driver) nics(spec *virt.InstanceSpec) []NIC {
	if len(spec.Network) == 0 {
		sum := sha1.Sum([]byte(spec.UUID))
		return []NIC{{ID: "net0", MAC: fmt.Sprintf("fa:16:3e:%02x:%02x:%02x", sum[0], sum[1], sum[2]), User: true, Hostname: hostname(spec)}}
	}
	out := make([]NIC, len(spec.Network))
	for i, v := range spec.Network {
		n := NIC{ID: fmt.Sprintf("net%d", i), MAC: v.MAC}
		if v.Bridge != "" && v.PortID != "" {
			n.TAP = "tap" + truncate(v.PortID, 11)
		} else {
			n.User, n.Hostname = true, hostname(spec)
		}
		out[i] = n
	}
	return out
}

func hostname(spec *virt.InstanceSpec) string {
	if spec.Hostname != "" {
		return spec.Hostname
	}
	return spec.Name
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// Drive ids the QMP commands name.
const (
	driveRoot      = "drive-virtio-disk0"
	driveEphemeral = "drive-virtio-disk1"
	driveSwap      = "drive-virtio-disk2"
	driveConfig    = "drive-virtio-config"
)

// machine is the instance's QEMU configuration.
func (d *Driver) machine(in *instance) *Machine {
	spec := &in.rec.Spec
	m := &Machine{Name: spec.Name, UUID: spec.UUID, Accel: d.accel, VCPUs: spec.Flavor.VCPUs, MemoryMB: spec.Flavor.MemoryMB,
		Manufacturer: "Nimbus", Product: "OpenStack Compute",
		ConsoleLog: in.path(fileConsole), QMPSocket: in.path(fileQMP), PidFile: in.path(filePid),
		VNCListen: d.opts.VNCListen, VNCFirstDisplay: d.opts.VNCPortMin - 5900, VNCLastDisplay: d.opts.VNCPortMax - 5900,
		Sandbox: !d.opts.NoSandbox, NICs: d.nics(spec)}
	root := Disk{ID: driveRoot, Path: in.path(fileDisk), Format: "qcow2", BootIndex: 1}
	if in.rec.Kernel != "" {
		root.BootIndex = 0
		m.Kernel = in.path(in.rec.Kernel)
		if in.rec.Initrd != "" {
			m.Initrd = in.path(in.rec.Initrd)
		}
		m.Append = in.rec.Append
	}
	m.Disks = append(m.Disks, root)
	if in.hasFile(fileEphemeral) {
		m.Disks = append(m.Disks, Disk{ID: driveEphemeral, Path: in.path(fileEphemeral), Format: "qcow2"})
	}
	if in.hasFile(fileSwap) {
		m.Disks = append(m.Disks, Disk{ID: driveSwap, Path: in.path(fileSwap), Format: "qcow2"})
	}
	if in.rec.ConfigDrive != "" {
		m.Disks = append(m.Disks, Disk{ID: driveConfig, Path: in.path(fileConfigDrive), Format: "raw", ReadOnly: true})
	}
	if in.rec.Rescue {
		rescueMachine(m, in)
	}
	return m
}

// boot starts the instance's QEMU and runs the guest.
func (d *Driver) boot(ctx context.Context, in *instance, r *reverter) error {
	p, err := d.launch(ctx, in, "")
	if err != nil {
		return err
	}
	r.add(func() { d.stopProcess(in, p) })
	if err := p.qmp.Cont(ctx); err != nil {
		return fmt.Errorf("resume the new guest: %w", err)
	}
	d.mu.Lock()
	in.state = virt.Running
	in.rec.Crashed = false
	d.emit(in, virt.EventStarted)
	d.mu.Unlock()
	return nil
}

// launch starts the instance's QEMU, paused, and watches it; incoming
// makes it wait for a migration stream.
func (d *Driver) launch(ctx context.Context, in *instance, incoming string, extra ...*os.File) (*process, error) {
	m := d.machine(in)
	m.Incoming = incoming
	p, err := d.startProcess(ctx, in, m, extra...)
	if err != nil {
		return nil, err
	}
	vnc, err := p.qmp.QueryVNC(ctx)
	if err != nil {
		p.kill()
		return nil, fmt.Errorf("query the vnc server: %w", err)
	}
	p.vncPort = vnc.Port()
	d.mu.Lock()
	in.proc = p
	in.state = virt.Paused
	d.mu.Unlock()
	d.watch(in, p)
	return p, nil
}

// stopProcess kills p and forgets it: the instance is off.
func (d *Driver) stopProcess(in *instance, p *process) {
	p.kill()
	d.mu.Lock()
	if in.proc == p {
		in.proc = nil
		in.state = virt.Shutdown
	}
	d.mu.Unlock()
}

// begin takes an instance of set for an operation: its lock, and busy so
// that the operation alone reports what it changes. end releases it.
func (d *Driver) begin(ctx context.Context, set map[string]*instance, uuid string) (*instance, func(), error) {
	d.mu.Lock()
	in, ok := set[uuid]
	d.mu.Unlock()
	if !ok {
		return nil, nil, virt.NotFound(uuid)
	}
	if !in.op.lock(ctx.Done()) {
		return nil, nil, ctx.Err()
	}
	d.mu.Lock()
	if in.gone || set[uuid] != in {
		d.mu.Unlock()
		in.op.unlock()
		return nil, nil, virt.NotFound(uuid)
	}
	in.busy = true
	d.mu.Unlock()
	return in, func() { d.finish(in) }, nil
}

func (d *Driver) finish(in *instance) {
	d.mu.Lock()
	in.busy = false
	if p := in.proc; p != nil && !in.gone {
		select {
		case <-p.exited:
			// QEMU ended during the operation, which did not expect it.
			d.ended(in, p)
		default:
		}
	}
	// QEMU stamps events with the wall clock.
	in.opEnd = time.Now()
	d.mu.Unlock()
	in.op.unlock()
}

// Destroy kills the instance's QEMU and removes its folder, or with
// keepDisks its record only; an unknown instance is no error.
func (d *Driver) Destroy(ctx context.Context, uuid string, keepDisks bool) error {
	in, end, err := d.begin(ctx, d.instances, uuid)
	if errors.Is(err, virt.ErrInstanceNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("destroy %s: %w", uuid, err)
	}
	defer end()
	d.mu.Lock()
	p := in.proc
	d.mu.Unlock()
	if p != nil {
		p.kill()
	}
	d.mu.Lock()
	in.proc = nil
	if in.state == virt.Running || in.state == virt.Paused {
		d.emit(in, virt.EventStopped)
	}
	delete(d.instances, uuid)
	in.gone = true
	d.mu.Unlock()
	if keepDisks {
		for _, f := range []string{fileRecord, fileQMP, filePid, fileSuspend} {
			_ = os.Remove(in.path(f))
		}
	} else if err := os.RemoveAll(in.dir); err != nil {
		return fmt.Errorf("destroy %s: remove its folder: %w", uuid, err)
	}
	d.log.InfoContext(ctx, "instance destroyed", "instance_uuid", uuid, "kept_disks", keepDisks)
	return nil
}

// adoptAll takes over the instances of a previous run from their folders.
func (d *Driver) adoptAll(ctx context.Context) error {
	entries, err := os.ReadDir(d.root)
	if err != nil {
		return fmt.Errorf("read instances: %w", err)
	}
	var errs []error
	for _, e := range entries {
		name := e.Name()
		if !e.IsDir() || name == "_base" || strings.HasPrefix(name, ".") {
			continue
		}
		dir := filepath.Join(d.root, name)
		rec, err := loadRecord(dir)
		if errors.Is(err, os.ErrNotExist) {
			continue // kept disks of a destroyed instance
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		uuid := rec.Spec.UUID
		in := &instance{op: newChanMutex(), dir: dir, rec: rec, state: virt.Shutdown}
		if base, ok := strings.CutSuffix(name, resizeSuffix); ok && base == uuid {
			d.mu.Lock()
			d.migrating[uuid] = in
			d.mu.Unlock()
			continue
		}
		if name != uuid {
			errs = append(errs, fmt.Errorf("folder %s holds instance %s", name, uuid))
			continue
		}
		if err := d.adopt(ctx, in); err != nil {
			errs = append(errs, fmt.Errorf("adopt %s: %w", uuid, err))
		}
	}
	return errors.Join(errs...)
}

// adoptTimeout bounds the handshake with an adopted QEMU's monitor.
const adoptTimeout = 5 * time.Second

// adopt takes over one instance: its QEMU when the pid file names a live
// QEMU of this instance, else the state its files tell.
func (d *Driver) adopt(ctx context.Context, in *instance) error {
	uuid := in.rec.Spec.UUID
	pid := readPid(in.path(filePid))
	if pid > 0 && alive(pid) && slices.Contains(pidCmdline(pid), uuid) {
		actx, cancel := context.WithTimeout(ctx, adoptTimeout)
		defer cancel()
		conn, err := dialMonitor(actx, in.path(fileQMP), nil)
		if err != nil {
			return fmt.Errorf("its QEMU (pid %d) runs but its monitor does not answer (does another agent hold it?): %w", pid, err)
		}
		p := &process{pid: pid, qmp: conn, exited: make(chan struct{}), adopted: true}
		st, err := p.status(actx)
		if err != nil {
			conn.Close()
			return fmt.Errorf("query its QEMU (pid %d): %w", pid, err)
		}
		if vnc, err := conn.QueryVNC(actx); err == nil {
			p.vncPort = vnc.Port()
		}
		if st == "inmigrate" {
			// An incoming live migration does not survive the agent that
			// was taking it: the source rolls back.
			p.kill()
			return os.RemoveAll(in.dir)
		}
		in.proc = p
		in.state = runState(st)
		in.reported = in.state
		d.mu.Lock()
		d.instances[uuid] = in
		d.mu.Unlock()
		d.watch(in, p)
		d.log.InfoContext(ctx, "adopted a running guest", "instance_uuid", uuid, "pid", pid, "status", st)
		return nil
	}
	_ = os.Remove(in.path(fileQMP))
	_ = os.Remove(in.path(filePid))
	switch {
	case in.hasFile(fileSuspend):
		in.state = virt.Suspended
	case in.rec.Crashed:
		in.state = virt.Crashed
	}
	in.reported = in.state
	d.mu.Lock()
	d.instances[uuid] = in
	d.mu.Unlock()
	return nil
}

func readPid(path string) int {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	var pid int
	_, _ = fmt.Sscanf(strings.TrimSpace(string(data)), "%d", &pid)
	return pid
}
