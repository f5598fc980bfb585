package extraspecs

import "github.com/nimbus-cloud/nimbus/internal/osnames"

// The tables below follow nova's nova/api/validation/extra_specs modules, one
// function per module; the patterns are nova's, unchanged.

func intAtLeast(n int) *int { return &n }

func boolSpec(name string) spec { return spec{name: name, kind: kindBool} }

func enumSpec(name string, values ...string) spec { return spec{name: name, enum: values} }

func formatSpec(name, format string) spec { return spec{name: name, format: format} }

func freeSpec(name string) spec { return spec{name: name} }

func intSpec(name string, min, max *int) spec {
	return spec{name: name, kind: kindInt, min: min, max: max}
}

// cpuMask is the pattern of nova's CPU range lists ("0-3,^2,5").
const cpuMask = `\^?\d+((-\d+)?(,\^?\d+(-\d+)?)?)*`

func knownSpecs() []spec {
	var all []spec
	for _, part := range [][]spec{
		hwSpecs(), hwRNGSpecs(), hwVideoSpecs(), osSpecs(), quotaSpecs(), resourceSpecs(), traitSpecs(),
		accelSpecs(), aggregateSpecs(), capabilitySpecs(), nullSpecs(), pciSpecs(), vmwareSpecs(),
	} {
		all = append(all, part...)
	}
	return all
}

// hwSpecs are the "hw:" specs (nova's hw.py).
func hwSpecs() []spec {
	num := []param{{"num", `\d+`}}
	one, zero := intAtLeast(1), intAtLeast(0)
	return []spec{
		boolSpec("hw:cpu_realtime"),
		formatSpec("hw:cpu_realtime_mask", `(\^)?\d+((-\d+)?(,\^?\d+(-\d+)?)?)*`),
		boolSpec("hw:hide_hypervisor_id"),
		enumSpec("hw:cpu_policy", "dedicated", "shared", "mixed"),
		enumSpec("hw:cpu_thread_policy", "prefer", "isolate", "require"),
		enumSpec("hw:emulator_threads_policy", "isolate", "share"),
		formatSpec("hw:cpu_dedicated_mask", cpuMask),
		formatSpec("hw:mem_page_size", `(large|small|any|\d+([kKMGT]i?)?(b|bit|B)?)`),
		boolSpec("hw:locked_memory"),
		intSpec("hw:numa_nodes", one, nil),
		{name: "hw:numa_cpus.{num}", params: num, format: cpuMask},
		{name: "hw:numa_mem.{num}", params: num, kind: kindInt, min: one},
		enumSpec("hw:pci_numa_affinity_policy", "required", "preferred", "legacy", "socket"),
		intSpec("hw:cpu_sockets", one, nil),
		intSpec("hw:cpu_cores", one, nil),
		intSpec("hw:cpu_threads", one, nil),
		intSpec("hw:cpu_max_sockets", one, nil),
		intSpec("hw:cpu_max_cores", one, nil),
		intSpec("hw:cpu_max_threads", one, nil),
		boolSpec("hw:boot_menu"),
		boolSpec("hw:vif_multiqueue_enabled"),
		boolSpec("hw:mem_encryption"),
		enumSpec("hw:mem_encryption_model", "amd-sev", "amd-sev-es", "amd-sev-snp"),
		formatSpec("hw:pmem", `([a-zA-Z0-9_]+(,)?)+`),
		boolSpec("hw:pmu"),
		intSpec("hw:serial_port_count", zero, nil),
		enumSpec("hw:tpm_model", "tpm-tis", "tpm-crb"),
		enumSpec("hw:tpm_version", "1.2", "2.0"),
		enumSpec("hw:tpm_secret_security", "user", "host", "deployment"),
		enumSpec("hw:watchdog_action", "none", "pause", "poweroff", "reset", "disabled"),
		enumSpec("hw:viommu_model", "intel", "smmuv3", "virtio", "auto"),
		boolSpec("hw:virtio_packed_ring"),
		enumSpec("hw:sound_model", "sb16", "es1370", "pcspk", "ac97", "ich6", "ich9", "usb", "virtio"),
		enumSpec("hw:usb_model", "none", "nec-xhci", "qemu-xhci"),
		intSpec("hw:redirected_usb_ports", zero, intAtLeast(15)),
		boolSpec("hw:ephemeral_encryption"),
		enumSpec("hw:ephemeral_encryption_format", "plain", "luks", "luksv2"),
	}
}

// hwRNGSpecs are the "hw_rng:" specs.
func hwRNGSpecs() []spec {
	return []spec{
		boolSpec("hw_rng:allowed"),
		intSpec("hw_rng:rate_bytes", intAtLeast(0), nil),
		intSpec("hw_rng:rate_period", intAtLeast(0), nil),
	}
}

// hwVideoSpecs are the "hw_video:" specs.
func hwVideoSpecs() []spec {
	return []spec{intSpec("hw_video:ram_max_mb", intAtLeast(0), nil)}
}

// osSpecs are the "os:" specs.
func osSpecs() []spec {
	return []spec{enumSpec("os:secure_boot", "disabled", "required")}
}

// quotaSpecs are the "quota:" specs of the VMware and libvirt drivers.
func quotaSpecs() []spec {
	zero := intAtLeast(0)
	var out []spec
	for _, key := range []string{"cpu", "memory", "disk_io", "vif"} {
		out = append(out,
			intSpec("quota:"+key+"_limit", zero, nil),
			intSpec("quota:"+key+"_reservation", nil, nil),
			enumSpec("quota:"+key+"_shares_level", "custom", "high", "normal", "low"),
			intSpec("quota:"+key+"_shares_share", zero, nil),
		)
	}
	out = append(out,
		intSpec("quota:cpu_shares", zero, nil),
		intSpec("quota:cpu_period", zero, nil),
		intSpec("quota:cpu_quota", nil, nil),
	)
	for _, stat := range []string{"read", "write", "total"} {
		for _, metric := range []string{"bytes", "iops"} {
			out = append(out, intSpec("quota:disk_"+stat+"_"+metric+"_sec", zero, nil))
		}
	}
	for _, stat := range []string{"inbound", "outbound"} {
		for _, metric := range []string{"average", "peak", "burst"} {
			out = append(out, intSpec("quota:vif_"+stat+"_"+metric, zero, nil))
		}
	}
	return out
}

// standardResourceClasses are os-resource-classes' STANDARDS.
var standardResourceClasses = []string{
	"VCPU", "MEMORY_MB", "DISK_GB", "PCI_DEVICE", "SRIOV_NET_VF", "NUMA_SOCKET", "NUMA_CORE", "NUMA_THREAD",
	"NUMA_MEMORY_MB", "IPV4_ADDRESS", "VGPU", "VGPU_DISPLAY_HEAD", "NET_BW_EGR_KILOBIT_PER_SEC",
	"NET_BW_IGR_KILOBIT_PER_SEC", "PCPU", "MEM_ENCRYPTION_CONTEXT", "FPGA", "PGPU",
	"NET_PACKET_RATE_KILOPACKET_PER_SEC", "NET_PACKET_RATE_EGR_KILOPACKET_PER_SEC",
	"NET_PACKET_RATE_IGR_KILOPACKET_PER_SEC",
}

// group is the optional request group suffix of "resources{group}:" and
// "trait{group}:".
var group = param{"group", `([a-zA-Z0-9_-]{1,64})?`}

// resourceSpecs are the "resources{group}:" specs: amounts of standard or
// custom resource classes.
func resourceSpecs() []spec {
	var out []spec
	for _, rc := range standardResourceClasses {
		out = append(out, spec{name: "resources{group}:" + rc, kind: kindInt, params: []param{group}})
	}
	return append(out, spec{name: "resources{group}:CUSTOM_{resource}", kind: kindInt,
		params: []param{group, {"resource", `[A-Z0-9_]+`}}})
}

// traitSpecs are the "trait{group}:" specs: standard or custom traits,
// required or forbidden.
func traitSpecs() []spec {
	var out []spec
	for _, t := range osnames.Traits {
		out = append(out, spec{name: "trait{group}:" + t, enum: []string{"required", "forbidden"},
			params: []param{group}})
	}
	return append(out, spec{name: "trait{group}:CUSTOM_{trait}", enum: []string{"required", "forbidden"},
		params: []param{group, {"trait", `[A-Z0-9_]+`}}})
}

// accelSpecs are the "accel:" specs of cyborg.
func accelSpecs() []spec { return []spec{freeSpec("accel:device_profile")} }

// aggregateSpecs are the AggregateInstanceExtraSpecsFilter's specs.
func aggregateSpecs() []spec {
	return []spec{{name: "aggregate_instance_extra_specs:{key}", params: []param{{"key", `.+`}}}}
}

// capabilitySpecs are the ComputeCapabilitiesFilter's "capabilities:" specs.
func capabilitySpecs() []spec {
	var out []spec
	for _, c := range []string{
		"id", "uuid", "service_id", "host", "vcpus", "memory_mb", "local_gb", "vcpus_used", "memory_mb_used",
		"local_gb_used", "hypervisor_type", "hypervisor_version", "hypervisor_hostname", "free_ram_mb",
		"free_disk_gb", "current_workload", "running_vms", "disk_available_least", "host_ip", "mapped",
		"cpu_allocation_ratio", "ram_allocation_ratio", "disk_allocation_ratio", "total_usable_ram_mb",
		"total_usable_disk_gb", "disk_mb_used", "free_disk_mb", "vcpus_total", "num_instances",
		"num_io_ops", "failed_builds", "aggregates", "cell_uuid", "updated",
	} {
		out = append(out, freeSpec("capabilities:"+c))
	}
	for _, c := range []string{
		"cpu_info", "metrics", "stats", "numa_topology", "supported_hv_specs", "pci_device_pools",
		"nodename", "pci_stats", "supported_instances", "limits", "instances",
	} {
		out = append(out, spec{name: "capabilities:" + c + "{filter}", params: []param{{"filter", `(:\w+)*`}}})
	}
	return out
}

// nullSpecs are the specs without a namespace that nova still checks.
func nullSpecs() []spec {
	return []spec{boolSpec("hide_hypervisor_id"), enumSpec("group_policy", "isolate", "none")}
}

// pciSpecs are the "pci_passthrough:" specs.
func pciSpecs() []spec {
	return []spec{formatSpec("pci_passthrough:alias", `[^:]+:\d+(?:\s*,\s*[^:]+:\d+)*`)}
}

// vmwareSpecs are the "vmware:" specs.
func vmwareSpecs() []spec {
	return []spec{freeSpec("vmware:hw_version"), freeSpec("vmware:storage_policy")}
}
