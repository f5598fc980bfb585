package libvirt

import (
	"github.com/google/uuid"

	golibvirt "github.com/digitalocean/go-libvirt"

	"github.com/nimbus-cloud/nimbus/internal/virt"
)

// watch turns libvirt's domain lifecycle events into the driver's. An
// operation reports what it changes itself; an event that arrives while
// none runs (a guest that shut itself down, a QEMU that died, a change
// made with virsh) is checked against libvirt's state of the domain, and
// reported when that differs from the last report, so that late or
// repeated events report nothing twice.
func (d *Driver) watch(events <-chan golibvirt.DomainEventLifecycleMsg) {
	for ev := range events {
		id := uuid.UUID(ev.Dom.UUID).String()
		d.mu.Lock()
		in := d.instances[id]
		d.mu.Unlock()
		if in == nil || !in.tryLock() {
			continue
		}
		st, err := d.state(in)
		if err == nil {
			d.mu.Lock()
			if t, ok := transition(in.reported, st); ok && !in.gone {
				d.emit(in, t)
			}
			d.mu.Unlock()
		}
		in.unlock()
	}
	d.mu.Lock()
	connected := d.conn != nil
	d.mu.Unlock()
	if connected {
		d.log.Error("lost the lifecycle events of libvirt: the connection to libvirtd ended")
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
