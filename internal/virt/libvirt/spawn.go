package libvirt

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	golibvirt "github.com/digitalocean/go-libvirt"
	"github.com/google/uuid"

	"github.com/nimbus-cloud/nimbus/internal/virt"
	"github.com/nimbus-cloud/nimbus/internal/virt/disk"
)

// Spawn creates the instance's disks and config drive, defines its domain
// and starts it, unless spec.StartStopped. A failed spawn undoes every
// step: no folder, disk or domain stays.
func (d *Driver) Spawn(ctx context.Context, spec *virt.InstanceSpec) error {
	if err := validateSpec(spec); err != nil {
		return err
	}
	in, end, err := d.reserve(d.instances, spec)
	if err != nil {
		return fmt.Errorf("spawn %s: %w", spec.UUID, err)
	}
	defer end()
	r := &reverter{}
	defer r.revert()
	r.add(func() { d.unreserve(d.instances, in) })
	// A domain of this uuid that the driver does not know (left by hand,
	// or by another program) is not redefined under it.
	if _, err := d.lookup(in); err == nil {
		return fmt.Errorf("spawn %s: %w: libvirt already has a domain of this uuid", spec.UUID, virt.ErrInstanceExists)
	} else if !golibvirt.IsNotFound(err) {
		return fmt.Errorf("spawn %s: %w", spec.UUID, err)
	}
	if err := d.makeDir(in, r); err != nil {
		return fmt.Errorf("spawn %s: %w", spec.UUID, err)
	}
	b, err := d.disks.EnsureBase(ctx, in.rec.Spec.Image)
	if err != nil {
		return fmt.Errorf("spawn %s: %w", spec.UUID, err)
	}
	if err := d.disks.MakeDisks(ctx, in.dir, in.rec.Spec.Flavor, in.rec.Spec.Image.ID, b); err != nil {
		return fmt.Errorf("spawn %s: %w", spec.UUID, err)
	}
	if err := d.finishCreate(ctx, in, r); err != nil {
		return fmt.Errorf("spawn %s: %w", spec.UUID, err)
	}
	if err := d.startNew(ctx, in, spec.StartStopped); err != nil {
		return fmt.Errorf("spawn %s: %w", spec.UUID, err)
	}
	r.done()
	d.log.InfoContext(ctx, "instance spawned", "instance_uuid", spec.UUID, "running", !spec.StartStopped)
	return nil
}

// startNew starts a newly defined instance, or records it stopped.
func (d *Driver) startNew(ctx context.Context, in *instance, stopped bool) error {
	if stopped {
		d.mu.Lock()
		in.reported = virt.Shutdown
		d.mu.Unlock()
		return nil
	}
	return d.start(ctx, in)
}

func validateSpec(spec *virt.InstanceSpec) error {
	bad := func(what string) error {
		return fmt.Errorf("spawn %s: %w: %s", spec.UUID, virt.ErrInvalidSpec, what)
	}
	switch {
	case spec.UUID == "":
		return bad("no uuid")
	case uuid.Validate(spec.UUID) != nil || strings.ContainsAny(spec.UUID, "{}:") || len(spec.UUID) != 36:
		return bad(fmt.Sprintf("uuid %q", spec.UUID))
	case spec.Name == "":
		return bad("no name")
	case strings.ContainsAny(spec.Name, "/\x00") || strings.TrimSpace(spec.Name) != spec.Name:
		return bad(fmt.Sprintf("name %q cannot name a domain", spec.Name))
	case spec.Flavor.VCPUs < 1:
		return bad(fmt.Sprintf("flavor has %d VCPUs", spec.Flavor.VCPUs))
	case spec.Flavor.MemoryMB < 1:
		return bad(fmt.Sprintf("flavor has %d MB of memory", spec.Flavor.MemoryMB))
	case spec.Flavor.RootGB < 0 || spec.Flavor.EphemeralGB < 0 || spec.Flavor.SwapMB < 0:
		return bad("flavor has a negative disk size")
	case spec.Image.IsZero():
		return fmt.Errorf("spawn %s: %w: booting from a volume (the libvirt driver needs an image for the root disk)", spec.UUID, virt.ErrNotSupported)
	}
	return nil
}

// reserve puts a new instance for spec into the driver, holding its
// operation lock; end releases it.
func (d *Driver) reserve(set map[string]*instance, spec *virt.InstanceSpec) (*instance, func(), error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.conn == nil {
		return nil, nil, errors.New("the driver is not initialized")
	}
	if _, ok := d.instances[spec.UUID]; ok {
		return nil, nil, virt.ErrInstanceExists
	}
	if _, ok := d.incoming[spec.UUID]; ok {
		return nil, nil, fmt.Errorf("%w: a live migration of it is arriving", virt.ErrInstanceExists)
	}
	in := newInstance(filepath.Join(d.root, spec.UUID), record{Spec: copySpec(spec)})
	in.lock(nil)
	set[spec.UUID] = in
	return in, in.unlock, nil
}

func (d *Driver) unreserve(set map[string]*instance, in *instance) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if set[in.rec.Spec.UUID] == in {
		delete(set, in.rec.Spec.UUID)
	}
	in.gone = true
}

// makeDir creates the instance folder; a folder without a record is what a
// destroy that kept the disks left, and makes way.
func (d *Driver) makeDir(in *instance, r *reverter) error {
	if _, err := os.Stat(in.path(fileRecord)); err == nil {
		return fmt.Errorf("%w: %s holds another instance", virt.ErrInstanceExists, in.dir)
	}
	if err := os.RemoveAll(in.dir); err != nil {
		return fmt.Errorf("clear instance folder: %w", err)
	}
	if err := os.MkdirAll(in.dir, 0o755); err != nil {
		return fmt.Errorf("create instance folder: %w", err)
	}
	r.add(func() { os.RemoveAll(in.dir) })
	return nil
}

// finishCreate fetches the kernel and ramdisk an image names, writes the
// config drive, saves the record and defines the domain.
func (d *Driver) finishCreate(ctx context.Context, in *instance, r *reverter) error {
	if err := d.prepareFiles(ctx, in); err != nil {
		return err
	}
	if err := in.save(); err != nil {
		return err
	}
	return d.define(in, r)
}

// prepareFiles puts the kernel and ramdisk an image names and the config
// drive in the instance folder.
func (d *Driver) prepareFiles(ctx context.Context, in *instance) error {
	props := in.rec.Spec.Image.Properties
	if id := props["kernel_id"]; id != "" {
		k, err := d.disks.EnsureFile(ctx, id)
		if err != nil {
			return fmt.Errorf("kernel: %w", err)
		}
		if err := disk.LinkOrCopy(k, in.path(fileKernel)); err != nil {
			return fmt.Errorf("kernel: %w", err)
		}
		in.rec.Kernel = fileKernel
		// nova's default command line of a kernel_id image.
		in.rec.Append = "root=/dev/vda console=tty0 console=ttyS0"
		if cl := props["os_command_line"]; cl != "" {
			in.rec.Append = cl
		}
		if id := props["ramdisk_id"]; id != "" {
			rd, err := d.disks.EnsureFile(ctx, id)
			if err != nil {
				return fmt.Errorf("ramdisk: %w", err)
			}
			if err := disk.LinkOrCopy(rd, in.path(fileRamdisk)); err != nil {
				return fmt.Errorf("ramdisk: %w", err)
			}
			in.rec.Initrd = fileRamdisk
		}
	}
	if in.rec.Spec.ConfigDrive || d.opts.ForceConfigDrive {
		var links []disk.Link
		for _, n := range nics(&in.rec.Spec) {
			links = append(links, disk.Link{ID: n.ID, MAC: n.MAC})
		}
		files, err := disk.ConfigDriveFiles(&in.rec.Spec, links)
		if err != nil {
			return fmt.Errorf("config drive: %w", err)
		}
		if err := disk.BuildConfigDrive(ctx, in.path(disk.FileConfigDrive), d.opts.ConfigDriveFormat, files); err != nil {
			return err
		}
		in.rec.ConfigDrive = d.opts.ConfigDriveFormat
	}
	return nil
}

// domainXML is the instance's domain definition.
func (d *Driver) domainXML(in *instance) (string, error) {
	d.mu.Lock()
	virtType := d.virtType
	d.mu.Unlock()
	c := domainConfig{VirtType: virtType, Spec: &in.rec.Spec, Dir: in.dir,
		Kernel: in.rec.Kernel, Initrd: in.rec.Initrd, Cmdline: in.rec.Append,
		Ephemeral: in.hasFile(disk.FileEphemeral), Swap: in.hasFile(disk.FileSwap),
		ConfigDrive: in.rec.ConfigDrive, VNCListen: d.opts.VNCListen}
	if r := in.rec.Rescue; r != nil {
		c.Rescue, c.Kernel, c.Initrd, c.Cmdline = true, r.Kernel, r.Initrd, r.Append
	}
	return domain(c).Marshal()
}

// define defines (or redefines) the instance's domain; r undefines it
// when a later step fails.
func (d *Driver) define(in *instance, r *reverter) error {
	conn, err := d.connection()
	if err != nil {
		return err
	}
	doc, err := d.domainXML(in)
	if err != nil {
		return fmt.Errorf("domain xml: %w", err)
	}
	dom, err := conn.DomainDefineXMLFlags(doc, golibvirt.DomainDefineValidate)
	if err != nil {
		return fmt.Errorf("define domain: %w", err)
	}
	if r != nil {
		r.add(func() { d.undefine(conn, dom) })
	}
	return nil
}

// undefine destroys and undefines a domain with its managed save image;
// one libvirt does not know is no error.
func (d *Driver) undefine(conn Conn, dom golibvirt.Domain) error {
	if err := conn.DomainDestroyFlags(dom, 0); err != nil && !golibvirt.IsNotFound(err) && !isNotRunning(err) {
		return fmt.Errorf("destroy domain: %w", err)
	}
	if err := conn.DomainUndefineFlags(dom, golibvirt.DomainUndefineManagedSave|golibvirt.DomainUndefineNvram); err != nil && !golibvirt.IsNotFound(err) {
		return fmt.Errorf("undefine domain: %w", err)
	}
	return nil
}

// isNotRunning tells libvirt's refusal to act on a domain that is not
// running.
func isNotRunning(err error) bool {
	var e golibvirt.Error
	return errors.As(err, &e) && e.Code == uint32(golibvirt.ErrOperationInvalid)
}

// begin takes an instance for an operation: its lock; end releases it.
func (d *Driver) begin(ctx context.Context, set map[string]*instance, uuid string) (*instance, func(), error) {
	d.mu.Lock()
	in, ok := set[uuid]
	d.mu.Unlock()
	if !ok {
		return nil, nil, virt.NotFound(uuid)
	}
	if !in.lock(ctx.Done()) {
		return nil, nil, ctx.Err()
	}
	d.mu.Lock()
	gone := in.gone || set[uuid] != in
	d.mu.Unlock()
	if gone {
		in.unlock()
		return nil, nil, virt.NotFound(uuid)
	}
	return in, in.unlock, nil
}

// Destroy destroys and undefines the instance's domain and removes its
// folder, or with keepDisks its record only; an unknown instance is no
// error.
func (d *Driver) Destroy(ctx context.Context, uuid string, keepDisks bool) error {
	in, end, err := d.begin(ctx, d.instances, uuid)
	if errors.Is(err, virt.ErrInstanceNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("destroy %s: %w", uuid, err)
	}
	defer end()
	conn, err := d.connection()
	if err != nil {
		return fmt.Errorf("destroy %s: %w", uuid, err)
	}
	st, err := d.state(in)
	if err != nil {
		return fmt.Errorf("destroy %s: %w", uuid, err)
	}
	if err := d.undefine(conn, domainOf(in)); err != nil {
		return fmt.Errorf("destroy %s: %w", uuid, err)
	}
	d.mu.Lock()
	if st == virt.Running || st == virt.Paused {
		d.emit(in, virt.EventStopped)
	}
	delete(d.instances, uuid)
	in.gone = true
	d.mu.Unlock()
	if keepDisks {
		_ = os.Remove(in.path(fileRecord))
		removeRescueFiles(in)
	} else if err := os.RemoveAll(in.dir); err != nil {
		return fmt.Errorf("destroy %s: remove its folder: %w", uuid, err)
	}
	d.log.InfoContext(ctx, "instance destroyed", "instance_uuid", uuid, "kept_disks", keepDisks)
	return nil
}

// adoptAll takes back the instances a previous run recorded, defining
// the domain of any libvirt lost.
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
		id := rec.Spec.UUID
		in := newInstance(dir, rec)
		if base, ok := strings.CutSuffix(name, resizeSuffix); ok && base == id {
			d.mu.Lock()
			d.migrating[id] = in
			d.mu.Unlock()
			continue
		}
		if name != id {
			errs = append(errs, fmt.Errorf("folder %s holds instance %s", name, id))
			continue
		}
		if _, err := d.lookup(in); golibvirt.IsNotFound(err) {
			err = d.define(in, nil)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("adopt %s: %w", id, err))
			continue
		}
		st, err := d.state(in)
		if err != nil {
			errs = append(errs, fmt.Errorf("adopt %s: %w", id, err))
			continue
		}
		in.reported = st
		d.mu.Lock()
		d.instances[id] = in
		d.mu.Unlock()
	}
	return errors.Join(errs...)
}

// lookup finds the instance's domain in libvirt.
func (d *Driver) lookup(in *instance) (golibvirt.Domain, error) {
	conn, err := d.connection()
	if err != nil {
		return golibvirt.Domain{}, err
	}
	return conn.DomainLookupByUUID(domainOf(in).UUID)
}
