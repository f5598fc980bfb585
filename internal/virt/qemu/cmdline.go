package qemu

import (
	"fmt"
	"strconv"
	"strings"
)

// Machine is one QEMU process's configuration, as data: Args renders it
// as the command line, so that the golden tests read exactly what QEMU is
// given.
type Machine struct {
	Name string
	UUID string
	// Accel is tcg or kvm.
	Accel    string
	VCPUs    int
	MemoryMB int
	// SMBIOS system information the guest reads (dmidecode), as nova
	// presents an OpenStack guest.
	Manufacturer, Product string

	Disks []Disk
	NICs  []NIC

	// Kernel, Initrd and Append boot a kernel directly instead of the
	// first disk.
	Kernel, Initrd, Append string

	// ConsoleLog receives the serial console, appended across restarts.
	ConsoleLog string
	// QMPSocket is the monitor's unix socket.
	QMPSocket string
	// PidFile is where QEMU writes its process id.
	PidFile string
	// VNCListen is the address of the VNC server; it takes the first free
	// display from VNCFirstDisplay to VNCLastDisplay (port 5900 + display).
	VNCListen                       string
	VNCFirstDisplay, VNCLastDisplay int

	// Incoming makes QEMU wait for a migration stream instead of booting:
	// "defer" (given later over QMP) or "fd:N".
	Incoming string
	// Sandbox confines QEMU with seccomp: no new processes, no privilege
	// changes.
	Sandbox bool
}

// Disk is a virtio block device.
type Disk struct {
	// ID names the drive in QMP (drive-mirror, nbd-server-add).
	ID       string
	Path     string
	Format   string
	ReadOnly bool
	// BootIndex orders bootable disks; 0 is not bootable.
	BootIndex int
	Serial    string
}

// NIC is a virtio network card.
type NIC struct {
	ID  string
	MAC string
	// User is QEMU's user-mode network (slirp): DHCP and outbound NAT
	// without privileges.
	User bool
	// Hostname is what the user-mode DHCP server hands out.
	Hostname string
	// TAP is a tap device to attach instead.
	TAP string
}

// Args is the command line, without the binary.
func (m *Machine) Args() []string {
	a := args{}
	a.add("-name", "guest="+escape(m.Name)+",debug-threads=on")
	a.add("-uuid", m.UUID)
	a.add("-machine", "pc,usb=off,dump-guest-core=off")
	a.add("-accel", m.Accel)
	if m.Accel == "kvm" {
		a.add("-cpu", "host")
	}
	a.add("-smp", fmt.Sprintf("%d,sockets=%d,cores=1,threads=1", m.VCPUs, m.VCPUs))
	a.add("-m", strconv.Itoa(m.MemoryMB))
	a.add("-no-user-config", "-nodefaults")
	if m.Sandbox {
		a.add("-sandbox", "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny")
	}
	a.add("-smbios", "type=1,"+kv("manufacturer", m.Manufacturer)+","+kv("product", m.Product)+
		",serial="+m.UUID+",uuid="+m.UUID+",family=Virtual Machine")
	a.add("-rtc", "base=utc,driftfix=slew")
	a.add("-msg", "timestamp=on")
	a.add("-chardev", "socket,id=charmonitor,"+kv("path", m.QMPSocket)+",server=on,wait=off")
	a.add("-mon", "chardev=charmonitor,id=monitor,mode=control")
	if m.PidFile != "" {
		a.add("-pidfile", m.PidFile)
	}
	if m.Kernel != "" {
		a.add("-kernel", m.Kernel)
		if m.Initrd != "" {
			a.add("-initrd", m.Initrd)
		}
		if m.Append != "" {
			a.add("-append", m.Append)
		}
	}
	for i, d := range m.Disks {
		drive := "file=" + escape(d.Path) + ",format=" + d.Format + ",if=none,id=" + d.ID + ",discard=unmap"
		if d.ReadOnly {
			drive += ",readonly=on"
		}
		a.add("-drive", drive)
		dev := fmt.Sprintf("virtio-blk-pci,drive=%s,id=virtio-disk%d", d.ID, i)
		if d.BootIndex > 0 {
			dev += ",bootindex=" + strconv.Itoa(d.BootIndex)
		}
		if d.Serial != "" {
			dev += "," + kv("serial", d.Serial)
		}
		a.add("-device", dev)
	}
	for _, n := range m.NICs {
		switch {
		case n.TAP != "":
			a.add("-netdev", "tap,id=host"+n.ID+",ifname="+n.TAP+",script=no,downscript=no")
		default:
			nd := "user,id=host" + n.ID
			if n.Hostname != "" {
				nd += "," + kv("hostname", n.Hostname)
			}
			a.add("-netdev", nd)
		}
		// No option ROM: instances boot from their disk, never over the
		// network, and iPXE's ROM costs boot time.
		a.add("-device", "virtio-net-pci,netdev=host"+n.ID+",id="+n.ID+",mac="+n.MAC+",romfile=")
	}
	a.add("-chardev", "file,id=charserial0,"+kv("path", m.ConsoleLog)+",append=on")
	a.add("-device", "isa-serial,chardev=charserial0,id=serial0")
	a.add("-device", "VGA,id=video0")
	a.add("-vnc", fmt.Sprintf("%s:%d,to=%d", vncHost(m.VNCListen), m.VNCFirstDisplay, m.VNCLastDisplay))
	a.add("-device", "pvpanic")
	a.add("-device", "virtio-rng-pci,id=rng0")
	a.add("-display", "none")
	if m.Incoming != "" {
		a.add("-incoming", m.Incoming)
	}
	// Started paused: the driver resumes the guest over QMP once it has
	// taken hold of the monitor, so no boot output is missed.
	a.add("-S")
	return a
}

type args []string

func (a *args) add(s ...string) { *a = append(*a, s...) }

// escape doubles commas, QEMU's escape inside an option value.
func escape(s string) string { return strings.ReplaceAll(s, ",", ",,") }

func kv(k, v string) string { return k + "=" + escape(v) }

// vncHost brackets an IPv6 address, as -vnc wants it.
func vncHost(h string) string {
	if strings.Contains(h, ":") {
		return "[" + h + "]"
	}
	return h
}
