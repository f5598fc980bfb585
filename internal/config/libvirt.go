package config

// Libvirt is the [libvirt] section: nova's options of the libvirt virt
// driver (compute_driver libvirt), under nova's names.
type Libvirt struct {
	VirtType      string `ini:"virt_type" default:"kvm" choices:"kvm,qemu" help:"Domain type of the instances: kvm, or qemu (TCG emulation) on hosts where KVM does not run guests."`
	ConnectionURI string `ini:"connection_uri" help:"libvirtd to connect to; empty is qemu:///system (add ?socket=PATH for a daemon listening elsewhere)."`
}
