package libvirt

import (
	"crypto/sha1"
	"fmt"
	"path/filepath"

	"libvirt.org/go/libvirtxml"

	"github.com/nimbus-cloud/nimbus/internal/virt"
	"github.com/nimbus-cloud/nimbus/internal/virt/disk"
)

// domainConfig is what a domain is made of: the instance and the files
// its folder holds.
type domainConfig struct {
	// VirtType is the domain type: qemu (TCG) or kvm.
	VirtType string
	Spec     *virt.InstanceSpec
	// Dir is the instance folder.
	Dir string
	// Kernel, Initrd and Cmdline boot a kernel directly (file names in
	// Dir).
	Kernel, Initrd, Cmdline string
	Ephemeral, Swap         bool
	// ConfigDrive is the config drive's format, empty without one.
	ConfigDrive string
	// VNCListen is the address the VNC server listens on.
	VNCListen string
	// Rescue boots the domain from the rescue disk (disk.rescue, vda),
	// with the root disk second (vdb), no ephemeral or swap disk and the
	// rescue's config drive (disk.config.rescue), as nova's libvirt driver
	// lays a rescue out; Kernel, Initrd and Cmdline are then the rescue's.
	Rescue bool
}

// domain is the libvirt domain of an instance, laid out as nova's libvirt
// driver lays it out: virtio disks vda (root), vdb (ephemeral), vdc
// (swap) and vdd (the config drive, read-only), or while rescued vda
// (the rescue disk), vdb (root) and vdd (the rescue's config drive);
// virtio network cards, the
// serial console to console.log, VNC with an automatic port, and SMBIOS
// naming the cloud.
func domain(c domainConfig) *libvirtxml.Domain {
	spec := c.Spec
	path := func(name string) string { return filepath.Join(c.Dir, name) }
	d := &libvirtxml.Domain{
		Type: c.VirtType, Name: spec.Name, UUID: spec.UUID,
		Memory: &libvirtxml.DomainMemory{Value: uint(spec.Flavor.MemoryMB), Unit: "MiB"},
		VCPU:   &libvirtxml.DomainVCPU{Value: uint(spec.Flavor.VCPUs)},
		SysInfo: []libvirtxml.DomainSysInfo{{SMBIOS: &libvirtxml.DomainSysInfoSMBIOS{
			System: &libvirtxml.DomainSysInfoSystem{Entry: []libvirtxml.DomainSysInfoEntry{
				{Name: "manufacturer", Value: "Nimbus"},
				{Name: "product", Value: "OpenStack Compute"},
				{Name: "serial", Value: spec.UUID},
				{Name: "uuid", Value: spec.UUID},
				{Name: "family", Value: "Virtual Machine"},
			}},
		}}},
		OS: &libvirtxml.DomainOS{
			Type:   &libvirtxml.DomainOSType{Arch: "x86_64", Type: "hvm"},
			SMBios: &libvirtxml.DomainSMBios{Mode: "sysinfo"},
		},
		Features:   &libvirtxml.DomainFeatureList{ACPI: &libvirtxml.DomainFeature{}, APIC: &libvirtxml.DomainFeatureAPIC{}},
		Clock:      &libvirtxml.DomainClock{Offset: "utc"},
		OnPoweroff: "destroy", OnReboot: "restart", OnCrash: "destroy",
		Devices: &libvirtxml.DomainDeviceList{},
	}
	if c.VirtType == "kvm" {
		d.CPU = &libvirtxml.DomainCPU{Mode: "host-passthrough"}
	}
	if c.Kernel != "" {
		d.OS.Kernel = path(c.Kernel)
		if c.Initrd != "" {
			d.OS.Initrd = path(c.Initrd)
		}
		d.OS.Cmdline = c.Cmdline
	} else {
		d.OS.BootDevices = []libvirtxml.DomainBootDevice{{Dev: "hd"}}
	}
	dev := d.Devices
	if c.Rescue {
		dev.Disks = append(dev.Disks, fileDisk(path(fileRescue), "qcow2", "vda", "virtio"),
			fileDisk(path(disk.FileDisk), "qcow2", "vdb", "virtio"))
	} else {
		dev.Disks = append(dev.Disks, fileDisk(path(disk.FileDisk), "qcow2", "vda", "virtio"))
		if c.Ephemeral {
			dev.Disks = append(dev.Disks, fileDisk(path(disk.FileEphemeral), "qcow2", "vdb", "virtio"))
		}
		if c.Swap {
			dev.Disks = append(dev.Disks, fileDisk(path(disk.FileSwap), "qcow2", "vdc", "virtio"))
		}
	}
	if c.ConfigDrive != "" {
		// A read-only virtio disk, whatever its file system: guests find
		// it by its label, and need no IDE or SATA driver for it.
		file := disk.FileConfigDrive
		if c.Rescue {
			file = fileRescueConfigDrive
		}
		cd := fileDisk(path(file), "raw", "vdd", "virtio")
		cd.ReadOnly = &libvirtxml.DomainDiskReadOnly{}
		dev.Disks = append(dev.Disks, cd)
	}
	for _, n := range nics(spec) {
		iface := libvirtxml.DomainInterface{
			MAC:   &libvirtxml.DomainInterfaceMAC{Address: n.MAC},
			Model: &libvirtxml.DomainInterfaceModel{Type: "virtio"},
		}
		if n.Bridge != "" {
			iface.Source = &libvirtxml.DomainInterfaceSource{Bridge: &libvirtxml.DomainInterfaceSourceBridge{Bridge: n.Bridge}}
			iface.Target = &libvirtxml.DomainInterfaceTarget{Dev: n.TAP}
		} else {
			iface.Source = &libvirtxml.DomainInterfaceSource{User: &libvirtxml.DomainInterfaceSourceUser{}}
		}
		if n.MTU > 0 {
			iface.MTU = &libvirtxml.DomainInterfaceMTU{Size: uint(n.MTU)}
		}
		dev.Interfaces = append(dev.Interfaces, iface)
	}
	port := uint(0)
	dev.Serials = []libvirtxml.DomainSerial{{
		Source: &libvirtxml.DomainChardevSource{File: &libvirtxml.DomainChardevSourceFile{Path: path(fileConsole), Append: "on"}},
		Target: &libvirtxml.DomainSerialTarget{Port: &port},
	}}
	dev.Inputs = []libvirtxml.DomainInput{{Type: "tablet", Bus: "usb"}}
	dev.Graphics = []libvirtxml.DomainGraphic{{VNC: &libvirtxml.DomainGraphicVNC{
		AutoPort: "yes", Listeners: []libvirtxml.DomainGraphicListener{{Address: &libvirtxml.DomainGraphicListenerAddress{Address: c.VNCListen}}},
	}}}
	dev.Videos = []libvirtxml.DomainVideo{{Model: libvirtxml.DomainVideoModel{Type: "vga"}}}
	dev.MemBalloon = &libvirtxml.DomainMemBalloon{Model: "virtio", Stats: &libvirtxml.DomainMemBalloonStats{Period: 10}}
	return d
}

func fileDisk(path, format, target, bus string) libvirtxml.DomainDisk {
	return libvirtxml.DomainDisk{
		Device: "disk",
		Driver: &libvirtxml.DomainDiskDriver{Name: "qemu", Type: format},
		Source: &libvirtxml.DomainDiskSource{File: &libvirtxml.DomainDiskSourceFile{File: path}},
		Target: &libvirtxml.DomainDiskTarget{Dev: target, Bus: bus},
	}
}

// nic is one network card of an instance.
type nic struct {
	ID, MAC string
	// Bridge and TAP attach the card to a port a network agent plugged;
	// without them the card is QEMU's user-mode network.
	Bridge, TAP string
	MTU         int
}

// nics are the instance's network cards: a tap on the port's bridge, or
// the user-mode network for a port without one, and one user-mode card
// for an instance without ports, so that a guest reaches out before a
// network service exists.
func nics(spec *virt.InstanceSpec) []nic {
	if len(spec.Network) == 0 {
		sum := sha1.Sum([]byte(spec.UUID))
		return []nic{{ID: "net0", MAC: fmt.Sprintf("fa:16:3e:%02x:%02x:%02x", sum[0], sum[1], sum[2])}}
	}
	out := make([]nic, len(spec.Network))
	for i, v := range spec.Network {
		n := nic{ID: fmt.Sprintf("net%d", i), MAC: v.MAC, MTU: v.MTU}
		if v.Bridge != "" && v.PortID != "" {
			n.Bridge, n.TAP = v.Bridge, "tap"+v.PortID[:min(len(v.PortID), 11)]
		}
		out[i] = n
	}
	return out
}

// vncPort is the port of the running domain's VNC server, from its live
// XML; 0 when it has none.
func vncPort(liveXML string) (int, error) {
	var d libvirtxml.Domain
	if err := d.Unmarshal(liveXML); err != nil {
		return 0, fmt.Errorf("decode domain xml: %w", err)
	}
	if d.Devices == nil {
		return 0, nil
	}
	for _, g := range d.Devices.Graphics {
		if g.VNC != nil && g.VNC.Port > 0 {
			return g.VNC.Port, nil
		}
	}
	return 0, nil
}
