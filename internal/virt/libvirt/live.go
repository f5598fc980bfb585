package libvirt

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	golibvirt "github.com/digitalocean/go-libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/nimbus-cloud/nimbus/internal/virt"
	"github.com/nimbus-cloud/nimbus/internal/virt/disk"
)

// Incoming is where a destination takes a live migration: the driver's
// virt.MigrateData, from the destination's PreLiveMigration to the
// source's LiveMigrate.
type Incoming struct {
	// URI is the destination libvirtd, as the source's libvirtd dials it.
	URI string `json:"uri"`
	// MigrationURI is where the source's QEMU sends memory and disks
	// (tcp://address); empty lets libvirt choose.
	MigrationURI string `json:"migration_uri,omitempty"`
	// Dir is the destination's instance folder, where the domain's disks,
	// config drive and console log are there.
	Dir string `json:"dir"`
	// VNCListen is where the guest's VNC server listens there.
	VNCListen string `json:"vnc_listen,omitempty"`
	// Disks are the target devices whose content travels; the others
	// (the config drive) the destination made itself.
	Disks []string `json:"disks"`
	// Full copies the disks whole rather than their top layer: the
	// destination's ephemeral and swap bases differ from the source's.
	Full bool `json:"full,omitempty"`
}

// validate checks an Incoming read from another host.
func (t Incoming) validate() error {
	switch {
	case t.URI == "":
		return fmt.Errorf("%w: the destination names no libvirtd to migrate to", virt.ErrInvalidSpec)
	case !filepath.IsAbs(t.Dir):
		return fmt.Errorf("%w: the destination's instance folder %q is no absolute path", virt.ErrInvalidSpec, t.Dir)
	case len(t.Disks) == 0 || slices.Contains(t.Disks, ""):
		return fmt.Errorf("%w: the destination takes no disks (%q)", virt.ErrInvalidSpec, t.Disks)
	case t.MigrationURI != "" && !strings.HasPrefix(t.MigrationURI, "tcp://"):
		return fmt.Errorf("%w: the destination's migration uri %q is not tcp://", virt.ErrInvalidSpec, t.MigrationURI)
	}
	return nil
}

// PreLiveMigration readies this host for an incoming instance: its
// folder with fresh disks on this host's base of the image, its kernel and
// config drive. The MigrateData it returns, an Incoming, tells the source
// where to send it.
func (d *Driver) PreLiveMigration(ctx context.Context, spec *virt.InstanceSpec) (virt.MigrateData, error) {
	if err := validateSpec(spec); err != nil {
		return nil, err
	}
	in, end, err := d.reserve(d.incoming, spec)
	if err != nil {
		return nil, fmt.Errorf("pre live migration of %s: %w", spec.UUID, err)
	}
	defer end()
	r := &reverter{}
	defer r.revert()
	r.add(func() { d.unreserve(d.incoming, in) })
	if err := d.makeDir(in, r); err != nil {
		return nil, fmt.Errorf("pre live migration of %s: %w", spec.UUID, err)
	}
	b, err := d.disks.EnsureBase(ctx, in.rec.Spec.Image)
	if err != nil {
		return nil, fmt.Errorf("pre live migration of %s: %w", spec.UUID, err)
	}
	if err := d.disks.MakeDisks(ctx, in.dir, in.rec.Spec.Flavor, in.rec.Spec.Image.ID, b); err != nil {
		return nil, fmt.Errorf("pre live migration of %s: %w", spec.UUID, err)
	}
	if err := d.prepareFiles(ctx, in); err != nil {
		return nil, fmt.Errorf("pre live migration of %s: %w", spec.UUID, err)
	}
	data, err := virt.NewMigrateData(d.incomingOf(in))
	if err != nil {
		return nil, fmt.Errorf("pre live migration of %s: %w", spec.UUID, err)
	}
	r.done()
	return data, nil
}

// incomingOf is how this host takes the live migration of in: through
// this host's libvirtd and migration address, into in's folder.
func (d *Driver) incomingOf(in *instance) Incoming {
	inc := Incoming{URI: d.opts.LiveMigrationURI, Dir: in.dir, VNCListen: d.opts.VNCListen, Disks: []string{"vda"}}
	if d.opts.MigrationAddress != "" {
		inc.MigrationURI = "tcp://" + d.opts.MigrationAddress
	}
	for _, f := range []struct{ file, dev string }{{disk.FileEphemeral, "vdb"}, {disk.FileSwap, "vdc"}} {
		if in.hasFile(f.file) {
			inc.Disks = append(inc.Disks, f.dev)
			inc.Full = true
		}
	}
	return inc
}

// LiveMigrate moves a running or paused instance to dest while it runs,
// libvirt to libvirt (peer to peer): the disks are copied over NBD (the
// root disk's top layer only, since both hosts have the image's base)
// while the guest runs, then its memory follows; the destination defines
// the domain, and the source undefines it and removes its folder. data is
// the destination's Incoming.
func (d *Driver) LiveMigrate(ctx context.Context, uuid, dest string, data virt.MigrateData) error {
	in, end, err := d.begin(ctx, d.instances, uuid)
	if err != nil {
		return fmt.Errorf("live migrate %s: %w", uuid, err)
	}
	defer end()
	state, err := d.state(in)
	if err != nil {
		return fmt.Errorf("live migrate %s: %w", uuid, err)
	}
	allowed := states(virt.Running, virt.Paused)
	if !contains(allowed, state) {
		return &virt.StateError{UUID: uuid, Op: "live migrate", State: state, Allowed: allowed}
	}
	var target Incoming
	if err := data.Decode(&target); err != nil {
		return fmt.Errorf("live migrate %s to %s: %w", uuid, dest, err)
	}
	if err := target.validate(); err != nil {
		return fmt.Errorf("live migrate %s to %s: %w", uuid, dest, err)
	}
	conn, err := d.connection()
	if err != nil {
		return fmt.Errorf("live migrate %s: %w", uuid, err)
	}
	flags := golibvirt.MigrateLive | golibvirt.MigratePeer2peer | golibvirt.MigratePersistDest | golibvirt.MigrateUndefineSource |
		golibvirt.MigrateAutoConverge | golibvirt.MigrateNonSharedInc
	if target.Full {
		flags = flags&^golibvirt.MigrateNonSharedInc | golibvirt.MigrateNonSharedDisk
	}
	// The running domain's own definition, with its device addresses,
	// pointed at the destination's folder: the guest sees the same
	// machine there.
	doc, err := conn.DomainGetXMLDesc(domainOf(in), golibvirt.DomainXMLMigratable|golibvirt.DomainXMLSecure)
	if err != nil {
		return fmt.Errorf("live migrate %s: domain xml: %w", uuid, err)
	}
	destXML, err := retarget(doc, in.dir, target.Dir, target.VNCListen)
	if err != nil {
		return fmt.Errorf("live migrate %s: %w", uuid, err)
	}
	params := []golibvirt.TypedParam{
		{Field: golibvirt.MigrateParamDestXML, Value: *golibvirt.NewTypedParamValueString(destXML)},
	}
	if target.MigrationURI != "" {
		params = append(params, golibvirt.TypedParam{Field: golibvirt.MigrateParamURI, Value: *golibvirt.NewTypedParamValueString(target.MigrationURI)})
	}
	for _, dev := range target.Disks {
		params = append(params, golibvirt.TypedParam{Field: golibvirt.MigrateParamMigrateDisks, Value: *golibvirt.NewTypedParamValueString(dev)})
	}
	if err := d.perform(ctx, conn, in, target.URI, params, flags); err != nil {
		return fmt.Errorf("live migrate %s to %s: %w", uuid, dest, err)
	}
	d.mu.Lock()
	delete(d.instances, uuid)
	in.gone = true
	d.emit(in, virt.EventMigrationCompleted)
	d.mu.Unlock()
	if err := os.RemoveAll(in.dir); err != nil {
		d.log.WarnContext(ctx, "remove a live migrated instance's folder", "instance_uuid", uuid, "error", err)
	}
	d.log.InfoContext(ctx, "instance live migrated", "instance_uuid", uuid, "dest", dest)
	return nil
}

// PostLiveMigrationAtDestination takes over the migrated instance, whose
// domain libvirt defined here, and records it.
func (d *Driver) PostLiveMigrationAtDestination(ctx context.Context, uuid string) error {
	in, end, err := d.begin(ctx, d.incoming, uuid)
	if err != nil {
		return fmt.Errorf("post live migration of %s: %w", uuid, err)
	}
	defer end()
	if _, err := d.lookup(in); err != nil {
		return fmt.Errorf("post live migration of %s: the migrated domain: %w", uuid, err)
	}
	if err := in.save(); err != nil {
		return fmt.Errorf("post live migration of %s: %w", uuid, err)
	}
	st, err := d.state(in)
	if err != nil {
		return fmt.Errorf("post live migration of %s: %w", uuid, err)
	}
	d.mu.Lock()
	delete(d.incoming, uuid)
	d.instances[uuid] = in
	if st == virt.Running {
		d.emit(in, virt.EventResumed)
	} else {
		in.reported = st
	}
	d.mu.Unlock()
	return nil
}

// RollbackLiveMigrationAtDestination removes what PreLiveMigration made,
// and any domain a failed migration left here; with nothing incoming there
// is nothing to do.
func (d *Driver) RollbackLiveMigrationAtDestination(ctx context.Context, uuid string) error {
	in, end, err := d.begin(ctx, d.incoming, uuid)
	if errors.Is(err, virt.ErrInstanceNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("roll back live migration of %s: %w", uuid, err)
	}
	defer end()
	if conn, err := d.connection(); err == nil {
		if err := d.undefine(conn, domainOf(in)); err != nil {
			return fmt.Errorf("roll back live migration of %s: %w", uuid, err)
		}
	}
	if err := os.RemoveAll(in.dir); err != nil {
		return fmt.Errorf("roll back live migration of %s: %w", uuid, err)
	}
	d.mu.Lock()
	delete(d.incoming, uuid)
	in.gone = true
	d.mu.Unlock()
	return nil
}

// retarget is a domain's XML with the files of instance folder from
// (disks, console log, kernel) moved to folder to, without their backing
// chains (the destination's qcow2 headers name its own bases), and its
// VNC server listening on vncListen.
func retarget(doc, from, to, vncListen string) (string, error) {
	var dom libvirtxml.Domain
	if err := dom.Unmarshal(doc); err != nil {
		return "", fmt.Errorf("decode domain xml: %w", err)
	}
	move := func(p string) string {
		if rest, ok := strings.CutPrefix(p, from+"/"); ok {
			return filepath.Join(to, rest)
		}
		return p
	}
	if dom.OS != nil {
		dom.OS.Kernel, dom.OS.Initrd = move(dom.OS.Kernel), move(dom.OS.Initrd)
	}
	if dev := dom.Devices; dev != nil {
		for i := range dev.Disks {
			dk := &dev.Disks[i]
			if dk.Source != nil && dk.Source.File != nil {
				dk.Source.File.File = move(dk.Source.File.File)
			}
			dk.BackingStore = nil
		}
		for i := range dev.Serials {
			if src := dev.Serials[i].Source; src != nil && src.File != nil {
				src.File.Path = move(src.File.Path)
			}
		}
		for i := range dev.Consoles {
			if src := dev.Consoles[i].Source; src != nil && src.File != nil {
				src.File.Path = move(src.File.Path)
			}
		}
		for i := range dev.Graphics {
			if vnc := dev.Graphics[i].VNC; vnc != nil && vncListen != "" {
				vnc.Listen = vncListen
				vnc.Listeners = []libvirtxml.DomainGraphicListener{{Address: &libvirtxml.DomainGraphicListenerAddress{Address: vncListen}}}
			}
		}
	}
	return dom.Marshal()
}
