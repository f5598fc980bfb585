package libvirt

import (
	"context"
	"time"

	"github.com/google/uuid"

	golibvirt "github.com/digitalocean/go-libvirt"

	"github.com/nimbus-cloud/nimbus/internal/virt"
)

// watch turns libvirt's domain lifecycle events into the driver's. An
// operation reports what it changes itself; an event that arrives while
// none runs (a guest that shut itself down, a QEMU that died, a change
// made with virsh) is checked against libvirt's state of the domain, and
// reported when that differs from the last report, so that late or
// repeated events report nothing twice. When the connection ends without
// Close, as when libvirtd restarts, watch connects again.
func (d *Driver) watch(ctx context.Context, conn Conn, events <-chan golibvirt.DomainEventLifecycleMsg) {
	for ev := range events {
		d.mu.Lock()
		in := d.instances[uuid.UUID(ev.Dom.UUID).String()]
		d.mu.Unlock()
		if in != nil {
			d.sync(in)
		}
	}
	if ctx.Err() != nil {
		return // closed
	}
	d.mu.Lock()
	if d.conn == conn {
		d.conn = nil
	}
	d.mu.Unlock()
	_ = conn.Disconnect()
	d.log.Warn("lost the connection to libvirtd; reconnecting", "uri", d.opts.ConnectionURI)
	d.reconnect(ctx)
}

// sync reports the change of in's power state since the last report,
// unless an operation on it runs: that one reports its changes.
func (d *Driver) sync(in *instance) {
	if !in.tryLock() {
		return
	}
	defer in.unlock()
	st, err := d.state(in)
	if err != nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if t, ok := transition(in.reported, st); ok && !in.gone {
		d.emit(in, t)
	}
}

// reconnectDelay bounds the wait between attempts to reach libvirtd.
const reconnectDelay = 10 * time.Second

// reconnect dials libvirtd until it answers or the driver is closed,
// subscribes to its events again and reports what changed meanwhile.
func (d *Driver) reconnect(ctx context.Context) {
	delay := 50 * time.Millisecond
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		delay = min(2*delay, reconnectDelay)
		conn, err := d.opts.Dial(d.opts.ConnectionURI)
		if err != nil {
			continue
		}
		events, err := conn.LifecycleEvents(ctx)
		if err != nil {
			_ = conn.Disconnect()
			continue
		}
		d.mu.Lock()
		if ctx.Err() != nil {
			d.mu.Unlock()
			_ = conn.Disconnect()
			return
		}
		d.conn = conn
		ins := make([]*instance, 0, len(d.instances))
		for _, in := range d.instances {
			ins = append(ins, in)
		}
		d.mu.Unlock()
		d.log.Info("connected to libvirtd again", "uri", d.opts.ConnectionURI)
		go d.watch(ctx, conn, events)
		for _, in := range ins {
			d.sync(in)
		}
		return
	}
}

// transition is the event that takes an instance from one power state to
// another; none when they are the same.
func transition(from, to virt.PowerState) (virt.Transition, bool) {
	if from == to {
		return 0, false
	}
	switch to {
	case virt.Running:
		if from == virt.Paused || from == virt.Suspended {
			return virt.EventResumed, true
		}
		return virt.EventStarted, true
	case virt.Paused:
		return virt.EventPaused, true
	case virt.Suspended:
		return virt.EventSuspended, true
	case virt.Shutdown, virt.Crashed:
		if from == virt.Shutdown || from == virt.Crashed {
			return 0, false
		}
		return virt.EventStopped, true
	}
	return 0, false
}
