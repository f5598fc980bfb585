package libvirt

import (
	"context"
	"os"
	"sync"

	golibvirt "github.com/digitalocean/go-libvirt"
	"github.com/google/uuid"
	"libvirt.org/go/libvirtxml"
)

// fakeConn is a libvirtd in memory: domains with libvirt's states and
// errors, a guest that prints a banner on its serial console file when it
// starts and ignores the power button, and lifecycle events.
type fakeConn struct {
	mu      sync.Mutex
	doms    map[golibvirt.UUID]*fakeDom
	nextVNC int
	subs    []chan golibvirt.DomainEventLifecycleMsg
	net     *fakeNet
	// createErr, when set, fails every domain start.
	createErr error
	// holdMigrations keeps migrations under way, in jobs, until their
	// domain is suspended (they converge) or their job aborted.
	holdMigrations bool
	jobs           map[golibvirt.UUID]*fakeJob
}

// fakeJob is a migration held under way.
type fakeJob struct {
	converge, abort chan struct{}
	ended           bool
}

type fakeDom struct {
	def    libvirtxml.Domain
	state  golibvirt.DomainState
	reason int32
	saved  bool
	vnc    int
}

const fakeBanner = "FAKE-GUEST: booted\n"

func newFakeConn() *fakeConn { return &fakeConn{doms: map[golibvirt.UUID]*fakeDom{}, nextVNC: 5900} }

func errNoDomain() error {
	return golibvirt.Error{Code: uint32(golibvirt.ErrNoDomain), Message: "Domain not found"}
}

func errInvalid(what string) error {
	return golibvirt.Error{Code: uint32(golibvirt.ErrOperationInvalid), Message: "Requested operation is not valid: " + what}
}

func (c *fakeConn) ConnectGetCapabilities() (string, error) {
	return `<capabilities><host><uuid>11111111-2222-3333-4444-555555555555</uuid>
<cpu><arch>x86_64</arch><model>EPYC</model><vendor>AMD</vendor><topology sockets='1' dies='1' cores='4' threads='1'/>
<maxphysaddr mode='emulate' bits='48'/><feature name='vme'/><feature name='avx'/></cpu></host>
<guest><os_type>hvm</os_type><arch name='x86_64'><wordsize>64</wordsize><emulator>/usr/bin/qemu-system-x86_64</emulator>
<domain type='qemu'/></arch></guest></capabilities>`, nil
}

func (c *fakeConn) NodeGetInfo() ([32]int8, uint64, int32, int32, int32, int32, int32, int32, error) {
	return [32]int8{}, 8 << 20, 4, 2600, 1, 1, 4, 1, nil
}

func (c *fakeConn) ConnectGetVersion() (uint64, error)    { return 7002022, nil }
func (c *fakeConn) ConnectGetLibVersion() (uint64, error) { return 9000000, nil }

func (c *fakeConn) DomainDefineXMLFlags(doc string, _ golibvirt.DomainDefineFlags) (golibvirt.Domain, error) {
	var def libvirtxml.Domain
	if err := def.Unmarshal(doc); err != nil {
		return golibvirt.Domain{}, golibvirt.Error{Code: uint32(golibvirt.ErrXMLError), Message: err.Error()}
	}
	u, err := uuid.Parse(def.UUID)
	if err != nil {
		return golibvirt.Domain{}, golibvirt.Error{Code: uint32(golibvirt.ErrXMLError), Message: "bad uuid " + def.UUID}
	}
	id := golibvirt.UUID(u)
	c.mu.Lock()
	defer c.mu.Unlock()
	for u, d := range c.doms {
		if d.def.Name == def.Name && u != id {
			return golibvirt.Domain{}, errInvalid("domain '" + def.Name + "' already exists")
		}
	}
	if d, ok := c.doms[id]; ok {
		d.def = def
	} else {
		c.doms[id] = &fakeDom{def: def, state: golibvirt.DomainShutoff}
		c.event(id, golibvirt.DomainEventDefined)
	}
	return golibvirt.Domain{Name: def.Name, UUID: id}, nil
}

// failStarts makes every domain start fail with err, or none when nil.
func (c *fakeConn) failStarts(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.createErr = err
}

// definition is the domain definition libvirt holds for id.
func (c *fakeConn) definition(id golibvirt.UUID) (libvirtxml.Domain, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, ok := c.doms[id]
	if !ok {
		return libvirtxml.Domain{}, false
	}
	return d.def, true
}

// dom is the domain of dom's uuid; the caller holds mu.
func (c *fakeConn) dom(dom golibvirt.Domain) (*fakeDom, error) {
	d, ok := c.doms[dom.UUID]
	if !ok {
		return nil, errNoDomain()
	}
	return d, nil
}

// event sends a lifecycle event; the caller holds mu.
func (c *fakeConn) event(id golibvirt.UUID, ev golibvirt.DomainEventType) {
	msg := golibvirt.DomainEventLifecycleMsg{Dom: golibvirt.Domain{UUID: id}, Event: int32(ev)}
	for _, s := range c.subs {
		select {
		case s <- msg:
		default:
		}
	}
}

func (c *fakeConn) DomainLookupByUUID(id golibvirt.UUID) (golibvirt.Domain, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, ok := c.doms[id]
	if !ok {
		return golibvirt.Domain{}, errNoDomain()
	}
	return golibvirt.Domain{Name: d.def.Name, UUID: id}, nil
}

func (c *fakeConn) DomainGetXMLDesc(dom golibvirt.Domain, _ golibvirt.DomainXMLFlags) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, err := c.dom(dom)
	if err != nil {
		return "", err
	}
	live := d.def
	if live.Devices != nil && d.vnc > 0 {
		devs := *live.Devices
		devs.Graphics = []libvirtxml.DomainGraphic{{VNC: &libvirtxml.DomainGraphicVNC{Port: d.vnc, AutoPort: "yes"}}}
		live.Devices = &devs
	}
	return live.Marshal()
}

func (c *fakeConn) DomainGetState(dom golibvirt.Domain, _ uint32) (int32, int32, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, err := c.dom(dom)
	if err != nil {
		return 0, 0, err
	}
	return int32(d.state), d.reason, nil
}

func active(d *fakeDom) bool {
	return d.state == golibvirt.DomainRunning || d.state == golibvirt.DomainPaused
}

func (c *fakeConn) DomainCreateWithFlags(dom golibvirt.Domain, _ uint32) (golibvirt.Domain, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, err := c.dom(dom)
	if err != nil {
		return dom, err
	}
	if active(d) {
		return dom, errInvalid("domain is already running")
	}
	if c.createErr != nil {
		return dom, c.createErr
	}
	if !d.saved {
		for _, s := range d.def.Devices.Serials {
			if s.Source != nil && s.Source.File != nil {
				f, err := os.OpenFile(s.Source.File.Path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
				if err != nil {
					return dom, golibvirt.Error{Code: uint32(golibvirt.ErrSystemError), Message: err.Error()}
				}
				f.WriteString(fakeBanner)
				f.Close()
			}
		}
	}
	d.saved = false
	d.state, d.reason = golibvirt.DomainRunning, 1
	c.nextVNC++
	d.vnc = c.nextVNC
	c.event(dom.UUID, golibvirt.DomainEventStarted)
	return dom, nil
}

// stop shuts a domain off for reason; the caller holds mu.
func (c *fakeConn) stop(id golibvirt.UUID, d *fakeDom, reason golibvirt.DomainShutoffReason) {
	d.state, d.reason, d.vnc = golibvirt.DomainShutoff, int32(reason), 0
	c.event(id, golibvirt.DomainEventStopped)
}

func (c *fakeConn) DomainDestroyFlags(dom golibvirt.Domain, _ golibvirt.DomainDestroyFlagsValues) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, err := c.dom(dom)
	if err != nil {
		return err
	}
	if !active(d) {
		return errInvalid("domain is not running")
	}
	c.stop(dom.UUID, d, golibvirt.DomainShutoffDestroyed)
	return nil
}

// crash ends a domain's QEMU as if it died.
func (c *fakeConn) crash(id golibvirt.UUID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stop(id, c.doms[id], golibvirt.DomainShutoffCrashed)
}

func (c *fakeConn) DomainUndefineFlags(dom golibvirt.Domain, flags golibvirt.DomainUndefineFlagsValues) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, err := c.dom(dom)
	if err != nil {
		return err
	}
	if d.saved && flags&golibvirt.DomainUndefineManagedSave == 0 {
		return errInvalid("refusing to undefine while domain managed save image exists")
	}
	if active(d) {
		return errInvalid("the fake does not make running domains transient")
	}
	delete(c.doms, dom.UUID)
	c.event(dom.UUID, golibvirt.DomainEventUndefined)
	return nil
}

func (c *fakeConn) DomainShutdownFlags(dom golibvirt.Domain, _ golibvirt.DomainShutdownFlagValues) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, err := c.dom(dom)
	if err != nil {
		return err
	}
	if d.state != golibvirt.DomainRunning {
		return errInvalid("domain is not running")
	}
	return nil // the guest ignores the power button
}

func (c *fakeConn) DomainSuspend(dom golibvirt.Domain) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, err := c.dom(dom)
	if err != nil {
		return err
	}
	if d.state != golibvirt.DomainRunning {
		return errInvalid("domain is not running")
	}
	d.state = golibvirt.DomainPaused
	c.event(dom.UUID, golibvirt.DomainEventSuspended)
	if job := c.jobs[dom.UUID]; job != nil && !job.ended {
		job.ended = true
		close(job.converge)
	}
	return nil
}

func (c *fakeConn) DomainResume(dom golibvirt.Domain) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, err := c.dom(dom)
	if err != nil {
		return err
	}
	if d.state != golibvirt.DomainPaused {
		return errInvalid("domain is not paused")
	}
	d.state = golibvirt.DomainRunning
	c.event(dom.UUID, golibvirt.DomainEventResumed)
	return nil
}

func (c *fakeConn) DomainManagedSave(dom golibvirt.Domain, _ uint32) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, err := c.dom(dom)
	if err != nil {
		return err
	}
	if !active(d) {
		return errInvalid("domain is not running")
	}
	d.saved = true
	c.event(dom.UUID, golibvirt.DomainEventSuspended)
	c.stop(dom.UUID, d, golibvirt.DomainShutoffSaved)
	return nil
}

func (c *fakeConn) DomainHasManagedSaveImage(dom golibvirt.Domain, _ uint32) (int32, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, err := c.dom(dom)
	if err != nil {
		return 0, err
	}
	if d.saved {
		return 1, nil
	}
	return 0, nil
}

func (c *fakeConn) DomainManagedSaveRemove(dom golibvirt.Domain, _ uint32) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, err := c.dom(dom)
	if err != nil {
		return err
	}
	d.saved = false
	return nil
}

func (c *fakeConn) LifecycleEvents(ctx context.Context) (<-chan golibvirt.DomainEventLifecycleMsg, error) {
	in := make(chan golibvirt.DomainEventLifecycleMsg, 1024)
	out := make(chan golibvirt.DomainEventLifecycleMsg)
	c.mu.Lock()
	c.subs = append(c.subs, in)
	c.mu.Unlock()
	go func() {
		defer close(out)
		for {
			select {
			case ev, ok := <-in:
				if !ok {
					return
				}
				select {
				case out <- ev:
				case <-ctx.Done():
					return
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

// Disconnect ends nothing: the event streams end with their contexts.
func (c *fakeConn) Disconnect() error { return nil }

// drop ends every event stream, as a libvirtd that restarts does.
func (c *fakeConn) drop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.subs {
		close(s)
	}
	c.subs = nil
}

// subscribers counts the event streams.
func (c *fakeConn) subscribers() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.subs)
}

// fakeNet is fake libvirtds by URI, for live migrations between them.
type fakeNet struct {
	mu    sync.Mutex
	conns map[string]*fakeConn
}

func (n *fakeNet) add(uri string, c *fakeConn) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.conns == nil {
		n.conns = map[string]*fakeConn{}
	}
	n.conns[uri] = c
	c.net = n
}

func (c *fakeConn) DomainMigratePerform3Params(dom golibvirt.Domain, dconnuri golibvirt.OptString, params []golibvirt.TypedParam, _ []byte,
	flags golibvirt.DomainMigrateFlags) ([]byte, error) {
	if c.net == nil || len(dconnuri) == 0 || flags&golibvirt.MigratePeer2peer == 0 {
		return nil, golibvirt.Error{Code: uint32(golibvirt.ErrOperationUnsupported), Message: "the fake migrates peer to peer only"}
	}
	c.net.mu.Lock()
	dst := c.net.conns[dconnuri[0]]
	c.net.mu.Unlock()
	if dst == nil {
		return nil, golibvirt.Error{Code: uint32(golibvirt.ErrSystemError), Message: "cannot connect to " + dconnuri[0]}
	}
	var destXML string
	for _, p := range params {
		if p.Field == golibvirt.MigrateParamDestXML {
			destXML, _ = p.Value.I.(string)
		}
	}
	c.mu.Lock()
	d, err := c.dom(dom)
	if err == nil && !active(d) {
		err = errInvalid("domain is not running")
	}
	if err != nil {
		c.mu.Unlock()
		return nil, err
	}
	if c.holdMigrations {
		job := &fakeJob{converge: make(chan struct{}), abort: make(chan struct{})}
		if c.jobs == nil {
			c.jobs = map[golibvirt.UUID]*fakeJob{}
		}
		c.jobs[dom.UUID] = job
		c.mu.Unlock()
		select {
		case <-job.converge:
		case <-job.abort:
		}
		c.mu.Lock()
		delete(c.jobs, dom.UUID)
		select {
		case <-job.abort:
			c.mu.Unlock()
			return nil, golibvirt.Error{Code: uint32(golibvirt.ErrOperationAborted), Message: "migration job: canceled by client"}
		default:
		}
	}
	state := d.state
	c.mu.Unlock()
	moved, err := dst.DomainDefineXMLFlags(destXML, 0)
	if err != nil {
		return nil, err
	}
	dst.mu.Lock()
	dd := dst.doms[moved.UUID]
	dd.state, dd.reason = state, 1
	dst.nextVNC++
	dd.vnc = dst.nextVNC
	dst.event(moved.UUID, golibvirt.DomainEventResumed)
	dst.mu.Unlock()
	c.mu.Lock()
	c.stop(dom.UUID, d, golibvirt.DomainShutoffMigrated)
	if flags&golibvirt.MigrateUndefineSource != 0 {
		delete(c.doms, dom.UUID)
	}
	c.mu.Unlock()
	return nil, nil
}

func (c *fakeConn) DomainAbortJob(dom golibvirt.Domain) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	job := c.jobs[dom.UUID]
	if job == nil || job.ended {
		return errInvalid("no job is active on the domain")
	}
	job.ended = true
	close(job.abort)
	return nil
}

// migrating tells whether a migration of the domain is held under way.
func (c *fakeConn) migrating(uuid golibvirt.UUID) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.jobs[uuid] != nil
}

// memKiB is a memory size in KiB.
func memKiB(m *libvirtxml.DomainMemory) uint64 {
	if m == nil {
		return 0
	}
	switch m.Unit {
	case "MiB", "M":
		return uint64(m.Value) << 10
	case "GiB", "G":
		return uint64(m.Value) << 20
	}
	return uint64(m.Value)
}

func (c *fakeConn) DomainGetInfo(dom golibvirt.Domain) (uint8, uint64, uint64, uint16, uint64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, err := c.dom(dom)
	if err != nil {
		return 0, 0, 0, 0, 0, err
	}
	var vcpus uint16
	if d.def.VCPU != nil {
		vcpus = uint16(d.def.VCPU.Value)
	}
	mem := memKiB(d.def.Memory)
	return uint8(d.state), mem, mem, vcpus, 0, nil
}

// Statistics of a running fake domain: vCPU i ran (i+1) s; the guest
// uses three quarters of its memory; the disk and network card of index i
// count (i+1) times the figures below.
const (
	fakeVCPUTime  = uint64(1e9)
	fakeReadReq   = 10
	fakeReadBytes = 4096
	fakeRxBytes   = 1500
)

func (c *fakeConn) DomainGetVcpus(dom golibvirt.Domain, maxinfo, _ int32) ([]golibvirt.VcpuInfo, []byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, err := c.dom(dom)
	if err != nil {
		return nil, nil, err
	}
	if !active(d) {
		return nil, nil, errInvalid("domain is not running")
	}
	var out []golibvirt.VcpuInfo
	for i := range min(int(d.def.VCPU.Value), int(maxinfo)) {
		out = append(out, golibvirt.VcpuInfo{Number: uint32(i), State: 1, CPUTime: uint64(i+1) * fakeVCPUTime})
	}
	return out, nil, nil
}

func (c *fakeConn) DomainMemoryStats(dom golibvirt.Domain, _, _ uint32) ([]golibvirt.DomainMemoryStat, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, err := c.dom(dom)
	if err != nil {
		return nil, err
	}
	if !active(d) {
		return nil, errInvalid("domain is not running")
	}
	mem := memKiB(d.def.Memory)
	return []golibvirt.DomainMemoryStat{
		{Tag: int32(golibvirt.DomainMemoryStatActualBalloon), Val: mem},
		{Tag: int32(golibvirt.DomainMemoryStatAvailable), Val: mem},
		{Tag: int32(golibvirt.DomainMemoryStatUnused), Val: mem / 4},
		{Tag: int32(golibvirt.DomainMemoryStatRss), Val: mem * 2},
	}, nil
}

func (c *fakeConn) DomainBlockStats(dom golibvirt.Domain, path string) (int64, int64, int64, int64, int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, err := c.dom(dom)
	if err != nil {
		return 0, 0, 0, 0, 0, err
	}
	if !active(d) {
		return 0, 0, 0, 0, 0, errInvalid("domain is not running")
	}
	for i, k := range d.def.Devices.Disks {
		if k.Target != nil && k.Target.Dev == path {
			n := int64(i + 1)
			return n * fakeReadReq, n * fakeReadBytes, n, n * 512, 0, nil
		}
	}
	return 0, 0, 0, 0, 0, golibvirt.Error{Code: uint32(golibvirt.ErrInvalidArg), Message: "invalid argument: invalid path: " + path}
}

func (c *fakeConn) DomainInterfaceStats(dom golibvirt.Domain, device string) (int64, int64, int64, int64, int64, int64, int64, int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, err := c.dom(dom)
	if err != nil {
		return 0, 0, 0, 0, 0, 0, 0, 0, err
	}
	if !active(d) {
		return 0, 0, 0, 0, 0, 0, 0, 0, errInvalid("domain is not running")
	}
	for i, n := range d.def.Devices.Interfaces {
		if n.Target != nil && n.Target.Dev == device {
			k := int64(i + 1)
			return k * fakeRxBytes, k, 0, 0, k * 100, k * 2, 0, 0, nil
		}
	}
	return 0, 0, 0, 0, 0, 0, 0, 0, golibvirt.Error{Code: uint32(golibvirt.ErrInvalidArg), Message: "invalid argument: invalid path, '" + device + "' is not a known interface"}
}
