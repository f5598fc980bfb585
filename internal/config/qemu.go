package config

// QEMU is the [qemu] section: the qemu virt driver's options, under the
// names nova gives them in [libvirt].
type QEMU struct {
	// VirtType is nova's [libvirt] virt_type.
	VirtType string `ini:"virt_type" choices:"kvm,qemu" help:"Accelerator of guests: kvm (hardware virtualization) or qemu (TCG emulation); empty: kvm when a probe guest runs under it, else qemu."`
	// LiveMigrationInboundAddr is nova's [libvirt] live_migration_inbound_addr.
	LiveMigrationInboundAddr string `ini:"live_migration_inbound_addr" help:"Address this host takes incoming live migrations and their disk copies on; empty: [DEFAULT] my_ip."`
	// LiveMigrationBandwidth is nova's [libvirt] live_migration_bandwidth.
	LiveMigrationBandwidth int `ini:"live_migration_bandwidth" default:"0" min:"0" help:"Maximum bandwidth of a live migration's memory transfer in MiB/s, lifted when the migration is forced to complete; 0: no limit."`
	// WaitSoftRebootSeconds is nova's [libvirt] wait_soft_reboot_seconds.
	WaitSoftRebootSeconds int `ini:"wait_soft_reboot_seconds" default:"120" min:"1" help:"Seconds a soft reboot waits for the guest to shut down before it resets it."`
}
