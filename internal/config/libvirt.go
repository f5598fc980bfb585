package config

// Libvirt is the [libvirt] section: nova's options of the libvirt virt
// driver (compute_driver libvirt), under nova's names.
type Libvirt struct {
	VirtType                 string `ini:"virt_type" default:"kvm" choices:"kvm,qemu" help:"Domain type of the instances: kvm, or qemu (TCG emulation) on hosts where KVM does not run guests."`
	ConnectionURI            string `ini:"connection_uri" help:"libvirtd to connect to; empty is qemu:///system (add ?socket=PATH for a daemon listening elsewhere)."`
	LiveMigrationURI         string `ini:"live_migration_uri" help:"URI other hosts' libvirtd reach this host's on for a live migration, %s standing for live_migration_inbound_addr; empty: qemu+tcp://%s/system."`
	LiveMigrationInboundAddr string `ini:"live_migration_inbound_addr" help:"Address this host takes incoming live migrations and their disk copies on; empty: [DEFAULT] my_ip."`
	WaitSoftRebootSeconds    int    `ini:"wait_soft_reboot_seconds" default:"120" min:"1" help:"Seconds a soft reboot waits for the guest to shut down before it resets it."`
}
