package qemu

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/virt"
	"github.com/nimbus-cloud/nimbus/internal/virt/qemu/qmp"
)

// liveMigrationTimeout bounds a live migration's disk copy and its memory
// transfer each.
const liveMigrationTimeout = 30 * time.Minute

// Incoming is where a destination takes a live migration: the driver's
// virt.MigrateData, from the destination's PreLiveMigration to the
// source's LiveMigrate.
type Incoming struct {
	// Migration is the host:port of QEMU's incoming migration listener.
	Migration string `json:"migration"`
	// NBD is the host:port of the NBD server exporting the destination's
	// disks, which the source mirrors its disks into.
	NBD string `json:"nbd"`
	// Disks are the exported drive ids.
	Disks []string `json:"disks"`
}

// validate checks an Incoming read from another host: both addresses are
// host:port with a port, and the disks are named.
func (t Incoming) validate() error {
	for _, a := range []struct{ what, addr string }{{"migration listener", t.Migration}, {"nbd server", t.NBD}} {
		host, port, err := net.SplitHostPort(a.addr)
		if err != nil || host == "" || port == "" || port == "0" {
			return fmt.Errorf("%w: the destination's %s %q is no host:port", virt.ErrInvalidSpec, a.what, a.addr)
		}
	}
	if len(t.Disks) == 0 || slices.Contains(t.Disks, "") {
		return fmt.Errorf("%w: the destination exports no disks (%q)", virt.ErrInvalidSpec, t.Disks)
	}
	return nil
}

// PreLiveMigration readies this host for an incoming instance: its folder,
// fresh disks on this host's base of the image, and a QEMU waiting for the
// migration stream (-incoming) whose NBD server takes the source's disk
// writes. The MigrateData it returns, an Incoming, tells the source where.
func (d *Driver) PreLiveMigration(ctx context.Context, spec *virt.InstanceSpec) (virt.MigrateData, error) {
	if err := validateSpec(spec); err != nil {
		return nil, err
	}
	in, end, err := d.reserve(ctx, d.incoming, spec)
	if err != nil {
		return nil, fmt.Errorf("pre live migration of %s: %w", spec.UUID, err)
	}
	defer end()
	r := &reverter{}
	defer r.revert()
	r.add(func() { d.unreserve(d.incoming, in) })
	if err := d.create(ctx, in, r); err != nil {
		return nil, fmt.Errorf("pre live migration of %s: %w", spec.UUID, err)
	}
	p, err := d.launch(ctx, in, "defer")
	if err != nil {
		return nil, fmt.Errorf("pre live migration of %s: %w", spec.UUID, err)
	}
	r.add(func() { d.stopProcess(in, p) })
	target, err := d.listenIncoming(ctx, in, p)
	if err != nil {
		return nil, fmt.Errorf("pre live migration of %s: %w", spec.UUID, err)
	}
	data, err := virt.NewMigrateData(target)
	if err != nil {
		return nil, fmt.Errorf("pre live migration of %s: %w", spec.UUID, err)
	}
	r.done()
	return data, nil
}

// listenIncoming opens the migration listener and exports the writable
// disks over NBD.
func (d *Driver) listenIncoming(ctx context.Context, in *instance, p *process) (Incoming, error) {
	host := d.opts.MigrationListen
	if err := p.qmp.MigrateIncoming(ctx, "tcp:"+net.JoinHostPort(host, "0")); err != nil {
		return Incoming{}, err
	}
	m, err := p.qmp.QueryMigrate(ctx)
	if err != nil {
		return Incoming{}, err
	}
	var target Incoming
	for _, s := range m.Sockets {
		if s.Type == "inet" {
			target.Migration = net.JoinHostPort(host, s.Port)
		}
	}
	if target.Migration == "" {
		return Incoming{}, fmt.Errorf("qemu reports no migration listener (%+v)", m.Sockets)
	}
	var lastErr error
	for range 5 {
		port, err := freePort(host)
		if err != nil {
			return Incoming{}, err
		}
		if lastErr = p.qmp.NBDServerStart(ctx, host, port); lastErr == nil {
			target.NBD = net.JoinHostPort(host, strconv.Itoa(port))
			break
		}
	}
	if target.NBD == "" {
		return Incoming{}, fmt.Errorf("start the nbd server: %w", lastErr)
	}
	for _, disk := range d.machine(in).Disks {
		if disk.ReadOnly {
			continue
		}
		if err := p.qmp.NBDServerAdd(ctx, disk.ID, true); err != nil {
			return Incoming{}, err
		}
		target.Disks = append(target.Disks, disk.ID)
	}
	return target, nil
}

// freePort is a TCP port nothing listens on now.
func freePort(host string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// LiveMigrate moves a running or paused instance to dest while it runs:
// its disks are mirrored into the destination's NBD exports (the root
// disk's top layer only, since both hosts have the image's base), then its
// memory follows over QEMU's migration stream; once the copy is done the
// source QEMU quits and its folder goes. data is the destination's
// Incoming.
func (d *Driver) LiveMigrate(ctx context.Context, uuid, dest string, data virt.MigrateData) error {
	in, end, err := d.begin(ctx, d.instances, uuid)
	if err != nil {
		return fmt.Errorf("live migrate %s: %w", uuid, err)
	}
	defer end()
	d.mu.Lock()
	state, p, host := in.state, in.proc, d.host
	d.mu.Unlock()
	if dest == "" || dest == host {
		return fmt.Errorf("live migrate %s: %w: destination %q is not another host", uuid, virt.ErrInvalidSpec, dest)
	}
	allowed := states(virt.Running, virt.Paused)
	if !slices.Contains(allowed, state) {
		return &virt.StateError{UUID: uuid, Op: "live migrate", State: state, Allowed: allowed}
	}
	var target Incoming
	if err := data.Decode(&target); err != nil {
		return fmt.Errorf("live migrate %s to %s: %w", uuid, dest, err)
	}
	if err := target.validate(); err != nil {
		return fmt.Errorf("live migrate %s to %s: %w", uuid, dest, err)
	}
	start := time.Now()
	job, mctx := d.startLive(ctx, in, p)
	err = d.migrateLive(mctx, in, p, target, job)
	d.endLive(in, job)
	if err != nil {
		d.resumeForced(ctx, in, p, job)
		if job.aborted.Load() {
			return fmt.Errorf("live migrate %s to %s: %w (%v)", uuid, dest, virt.ErrLiveMigrationCancelled, err)
		}
		return fmt.Errorf("live migrate %s to %s: %w", uuid, dest, err)
	}
	p.quit(ctx)
	d.mu.Lock()
	in.proc = nil
	d.emit(in, virt.EventMigrationCompleted)
	delete(d.instances, uuid)
	in.gone = true
	d.mu.Unlock()
	if err := os.RemoveAll(in.dir); err != nil {
		d.log.ErrorContext(ctx, "remove a migrated instance's folder", "instance_uuid", uuid, "error", err)
	}
	d.log.InfoContext(ctx, "instance live migrated", "instance_uuid", uuid, "dest", dest, "took", time.Since(start))
	return nil
}

// migrateLive copies disks and memory; on failure the source guest keeps
// running as it was.
func (d *Driver) migrateLive(ctx context.Context, in *instance, p *process, target Incoming, job *liveJob) error {
	var mirrors []string
	cancelMirrors := func() {
		cctx := context.WithoutCancel(ctx)
		for _, dev := range mirrors {
			_ = p.qmp.BlockJobCancel(cctx, dev)
		}
		_ = waitBlockJobs(cctx, p, nil, time.Minute)
	}
	for _, disk := range d.machine(in).Disks {
		if disk.ReadOnly {
			continue
		}
		if !slices.Contains(target.Disks, disk.ID) {
			cancelMirrors()
			return fmt.Errorf("the destination exports no disk %s", disk.ID)
		}
		host, port, err := net.SplitHostPort(target.NBD)
		if err != nil {
			cancelMirrors()
			return fmt.Errorf("nbd address %q: %w", target.NBD, err)
		}
		// Only the root disk's base is the same on both hosts.
		sync := "full"
		if disk.ID == driveRoot {
			sync = "top"
		}
		m := qmp.DriveMirror{Device: disk.ID, Target: "nbd:" + host + ":" + port + ":exportname=" + disk.ID,
			Format: "raw", Sync: sync, Mode: "existing"}
		if err := p.qmp.DriveMirrorStart(ctx, m); err != nil {
			cancelMirrors()
			return fmt.Errorf("mirror %s: %w", disk.ID, err)
		}
		mirrors = append(mirrors, disk.ID)
	}
	ready := func(jobs []qmp.BlockJob) bool {
		n := 0
		for _, j := range jobs {
			if j.Ready {
				n++
			}
		}
		return n == len(mirrors)
	}
	if err := waitBlockJobs(ctx, p, ready, liveMigrationTimeout); err != nil {
		cancelMirrors()
		return fmt.Errorf("copy the disks: %w", err)
	}
	d.log.InfoContext(ctx, "live migration: disks in sync, memory transfer starts", "instance_uuid", in.rec.Spec.UUID)
	if err := job.setBandwidth(ctx, d.opts.LiveMigrationBandwidth); err != nil {
		cancelMirrors()
		return err
	}
	if err := p.qmp.Migrate(ctx, "tcp:"+target.Migration); err != nil {
		cancelMirrors()
		return err
	}
	if _, err := waitMigration(ctx, p, liveMigrationTimeout); err != nil {
		cancelMirrors()
		if st, serr := p.status(context.WithoutCancel(ctx)); serr == nil && st != "running" && d.isRunning(in) {
			_ = p.qmp.Cont(context.WithoutCancel(ctx))
		}
		return err
	}
	// The guest is stopped now: ending the ready mirrors flushes the last
	// writes to the destination before it runs.
	cancelMirrors()
	return nil
}

// waitBlockJobs polls the block jobs until done says yes, or, with done
// nil, until none is left.
func waitBlockJobs(ctx context.Context, p *process, done func([]qmp.BlockJob) bool, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		jobs, err := p.qmp.QueryBlockJobs(ctx)
		if err != nil {
			return err
		}
		if done == nil && len(jobs) == 0 || done != nil && done(jobs) {
			return nil
		}
		for _, j := range jobs {
			if j.Status == "concluded" || j.Status == "aborting" {
				return fmt.Errorf("block job on %s ended early (%s)", j.Device, j.Status)
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("block jobs %+v: %w", jobs, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// PostLiveMigrationAtDestination takes over the migrated instance: once
// its memory has arrived the NBD server stops and the guest runs here.
func (d *Driver) PostLiveMigrationAtDestination(ctx context.Context, uuid string) error {
	in, end, err := d.begin(ctx, d.incoming, uuid)
	if err != nil {
		return fmt.Errorf("post live migration: %w", err)
	}
	defer end()
	d.mu.Lock()
	p := in.proc
	d.mu.Unlock()
	if p == nil {
		return fmt.Errorf("post live migration of %s: its QEMU is gone", uuid)
	}
	if _, err := p.waitStatus(ctx, liveMigrationTimeout, func(s string) bool { return s != "inmigrate" }); err != nil {
		return fmt.Errorf("post live migration of %s: %w", uuid, err)
	}
	if err := p.qmp.NBDServerStop(ctx); err != nil {
		var qerr *qmp.Error
		if !errors.As(err, &qerr) {
			return fmt.Errorf("post live migration of %s: %w", uuid, err)
		}
	}
	if err := p.qmp.Cont(ctx); err != nil {
		return fmt.Errorf("post live migration of %s: %w", uuid, err)
	}
	d.mu.Lock()
	delete(d.incoming, uuid)
	d.instances[uuid] = in
	in.state = virt.Running
	d.emit(in, virt.EventResumed)
	d.mu.Unlock()
	return nil
}

// RollbackLiveMigrationAtDestination removes what PreLiveMigration made;
// with nothing incoming there is nothing to do.
func (d *Driver) RollbackLiveMigrationAtDestination(ctx context.Context, uuid string) error {
	in, end, err := d.begin(ctx, d.incoming, uuid)
	if errors.Is(err, virt.ErrInstanceNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("roll back live migration of %s: %w", uuid, err)
	}
	defer end()
	d.mu.Lock()
	p := in.proc
	d.mu.Unlock()
	if p != nil {
		d.stopProcess(in, p)
	}
	d.mu.Lock()
	delete(d.incoming, uuid)
	in.gone = true
	d.mu.Unlock()
	if err := os.RemoveAll(in.dir); err != nil {
		return fmt.Errorf("roll back live migration of %s: %w", uuid, err)
	}
	return nil
}
