package fake

import (
	"context"
	"fmt"

	"github.com/nimbus-cloud/nimbus/internal/virt"
)

// Rescue boots the instance from a rescue disk of the rescue image, with
// its own disk second: it runs, whatever its power state was, as nova's
// drivers leave it. A rescued instance, or an image it cannot read, is
// refused without change.
func (d *Driver) Rescue(ctx context.Context, spec *virt.InstanceSpec, rescue virt.ImageRef, adminPass string) error {
	if err := d.enter(ctx, OpRescue, spec.UUID); err != nil {
		return err
	}
	img, err := d.readImage(rescue)
	if err != nil {
		return fmt.Errorf("rescue %s: %w", spec.UUID, err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	in, ok := d.instances[spec.UUID]
	if !ok {
		return virt.NotFound(spec.UUID)
	}
	if in.rescued {
		return &virt.StateError{UUID: spec.UUID, Op: string(OpRescue), State: in.state,
			Allowed: []virt.PowerState{virt.Running, virt.Shutdown, virt.Paused, virt.Suspended, virt.Crashed}}
	}
	if in.state == virt.Running || in.state == virt.Paused {
		d.emit(spec.UUID, virt.EventStopped)
	}
	in.rescue, in.rescued = d.holdImage(img), true
	in.console.write("Booting the rescue system from image " + rescue.ID)
	in.console.boot(&in.spec)
	in.state = virt.Running
	d.emit(spec.UUID, virt.EventStarted)
	return nil
}

// Unrescue boots a rescued instance from its own disk again.
func (d *Driver) Unrescue(ctx context.Context, uuid string) error {
	if err := d.enter(ctx, OpUnrescue, uuid); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	in, ok := d.instances[uuid]
	if !ok {
		return virt.NotFound(uuid)
	}
	if !in.rescued {
		return fmt.Errorf("%w: instance %s is not rescued", virt.ErrInvalidState, uuid)
	}
	if in.state == virt.Running || in.state == virt.Paused {
		d.emit(uuid, virt.EventStopped)
	}
	d.releaseImage(in.rescue)
	in.rescue, in.rescued = nil, false
	in.console.boot(&in.spec)
	in.state = virt.Running
	d.emit(uuid, virt.EventStarted)
	return nil
}

// Rescued tells whether an instance runs from its rescue disk, and from
// which image.
func (d *Driver) Rescued(uuid string) (bool, string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	in, ok := d.instances[uuid]
	if !ok || !in.rescued {
		return false, ""
	}
	return true, in.rescue.id
}

// Diagnostics reports plausible figures, as nova's fake driver does, derived
// from the instance's flavor: one CPU entry per VCPU, its memory, a root disk (vda) and one
// interface per port.
func (d *Driver) Diagnostics(ctx context.Context, uuid string) (virt.Diagnostics, error) {
	if err := d.enter(ctx, OpDiagnostics, uuid); err != nil {
		return virt.Diagnostics{}, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	in, ok := d.instances[uuid]
	if !ok {
		return virt.Diagnostics{}, virt.NotFound(uuid)
	}
	f := in.spec.Flavor
	running := in.state == virt.Running
	// The driver and hypervisor names are nova's fake driver's: the API
	// knows only its real drivers' names (libvirt, ...).
	diag := virt.Diagnostics{State: in.state.String(), Driver: "libvirt", Hypervisor: "kvm", HypervisorOS: "ubuntu",
		ConfigDrive: in.spec.ConfigDrive, MemoryMaxKB: int64(f.MemoryMB) * 1024}
	if running {
		diag.Uptime = 46664
		diag.MemoryUsedKB = diag.MemoryMaxKB / 2
	}
	for i := range f.VCPUs {
		c := virt.CPUDiagnostics{ID: i, Utilisation: -1}
		if running {
			c.Time, c.Utilisation = 17300000000, 15
		}
		diag.CPUs = append(diag.CPUs, c)
	}
	disk := virt.DiskDiagnostics{Name: "vda"}
	if running {
		disk = virt.DiskDiagnostics{Name: "vda", ReadBytes: 262144, ReadRequests: 112, WriteBytes: 5778432,
			WriteRequests: 488}
	}
	diag.Disks = append(diag.Disks, disk)
	for _, v := range in.spec.Network {
		n := virt.NICDiagnostics{MAC: v.MAC}
		if running {
			n.RxOctets, n.RxPackets, n.TxOctets, n.TxPackets = 2070139, 26701, 140208, 662
		}
		diag.NICs = append(diag.NICs, n)
	}
	return diag, nil
}
