package config

// Compute is the [compute] section: the compute API's listener and nova's
// compute options. Options nova keeps in [DEFAULT] or [api] live here, under
// nova's names, so that all of compute's settings are in one section.
type Compute struct {
	BindPort int `ini:"bind_port" default:"8774" min:"0" max:"65535" help:"Port of the compute API."`
	// DefaultAvailabilityZone is nova's [DEFAULT] default_availability_zone.
	DefaultAvailabilityZone string `ini:"default_availability_zone" nova:"DEFAULT" default:"nova" help:"Availability zone of compute hosts that no aggregate places in another zone."`
	// InternalServiceAvailabilityZone is nova's [DEFAULT]
	// internal_service_availability_zone.
	InternalServiceAvailabilityZone string `ini:"internal_service_availability_zone" nova:"DEFAULT" default:"internal" help:"Availability zone of the control services (scheduler, conductor); never listed to users."`
	// MaxLimit is nova's [api] max_limit.
	MaxLimit int `ini:"max_limit" default:"1000" min:"1" help:"Most items one list response of the compute API returns."`

	// The options below are nova's compute-host options ([DEFAULT] in nova),
	// read by the compute agent and the conductor.

	// ComputeDriver is nova's [DEFAULT] compute_driver.
	// Empty chooses at start: qemu when qemu-system-x86_64 is on PATH.
	ComputeDriver string `ini:"compute_driver" choices:"fake,qemu,libvirt" nova:"DEFAULT" help:"Virt driver of the compute agent: qemu (guests are QEMU processes this agent runs, under KVM or TCG; see [qemu]), libvirt (guests are libvirtd domains; see [libvirt]) or fake (no guests; instances are records in memory, for scale tests and the control plane); empty: qemu when qemu-system-x86_64 is installed, else fake."`
	// CPUAllocationRatio and its siblings are nova's overcommit options: 0
	// (nova's None) sets the initial ratio on a new resource provider and
	// then leaves whatever placement holds, so operators may change it there.
	CPUAllocationRatio         float64 `ini:"cpu_allocation_ratio" nova:"DEFAULT" default:"0.0" min:"0" help:"Virtual CPUs per physical CPU reported to placement; 0.0: initial_cpu_allocation_ratio for a new host, then placement's value is kept."`
	RAMAllocationRatio         float64 `ini:"ram_allocation_ratio" nova:"DEFAULT" default:"0.0" min:"0" help:"Virtual RAM per physical RAM reported to placement; 0.0: initial_ram_allocation_ratio for a new host, then placement's value is kept."`
	DiskAllocationRatio        float64 `ini:"disk_allocation_ratio" nova:"DEFAULT" default:"0.0" min:"0" help:"Virtual disk per physical disk reported to placement; 0.0: initial_disk_allocation_ratio for a new host, then placement's value is kept."`
	InitialCPUAllocationRatio  float64 `ini:"initial_cpu_allocation_ratio" nova:"DEFAULT" default:"4.0" min:"0" help:"CPU allocation ratio of a new compute host when cpu_allocation_ratio is 0.0."`
	InitialRAMAllocationRatio  float64 `ini:"initial_ram_allocation_ratio" nova:"DEFAULT" default:"1.0" min:"0" help:"RAM allocation ratio of a new compute host when ram_allocation_ratio is 0.0."`
	InitialDiskAllocationRatio float64 `ini:"initial_disk_allocation_ratio" nova:"DEFAULT" default:"1.0" min:"0" help:"Disk allocation ratio of a new compute host when disk_allocation_ratio is 0.0."`
	ReservedHostMemoryMB       int     `ini:"reserved_host_memory_mb" nova:"DEFAULT" default:"512" min:"0" help:"Megabytes of host memory kept from instances (placement's reserved MEMORY_MB)."`
	ReservedHostCPUs           int     `ini:"reserved_host_cpus" nova:"DEFAULT" default:"0" min:"0" help:"Host CPUs kept from instances (placement's reserved VCPU)."`
	ReservedHostDiskMB         int     `ini:"reserved_host_disk_mb" nova:"DEFAULT" default:"0" min:"0" help:"Megabytes of host disk kept from instances (placement's reserved DISK_GB, rounded up to whole GB)."`
	// ReportInterval, ServiceDownTime and the intervals below are nova's
	// [DEFAULT] options of the same names.
	ReportInterval         int  `ini:"report_interval" nova:"DEFAULT" default:"10" min:"1" help:"Seconds between a compute agent's heartbeats (and resource reports)."`
	ServiceDownTime        int  `ini:"service_down_time" nova:"DEFAULT" default:"60" min:"1" help:"Seconds without a heartbeat after which a service is considered down."`
	SyncPowerStateInterval int  `ini:"sync_power_state_interval" nova:"DEFAULT" default:"600" min:"-1" help:"Seconds between syncs of the hypervisor's power states into the database; -1: never (lifecycle events still sync)."`
	ShutdownTimeout        int  `ini:"shutdown_timeout" nova:"DEFAULT" default:"60" min:"0" help:"Seconds a stop waits for the guest to shut down cleanly before cutting the power."`
	InstanceBuildTimeout   int  `ini:"instance_build_timeout" nova:"DEFAULT" default:"0" min:"0" help:"Seconds an instance may take to build on its host before the build fails; 0: no limit."`
	AllowResizeToSameHost  bool `ini:"allow_resize_to_same_host" nova:"DEFAULT" default:"false" help:"Let a resize choose the server's own host (a cold migration never does); set it on clouds of one compute host."`
	FakeHostCount          int  `ini:"fake_host_count" default:"1" min:"1" max:"10000" help:"With compute_driver fake: how many compute hosts this process serves, each with its own agent (<host>-1 ... <host>-N when more than one), for scale tests."`
	FakeVCPUs              int  `ini:"fake_vcpus" default:"64" min:"1" help:"With compute_driver fake: CPUs of each fake host."`
	FakeMemoryMB           int  `ini:"fake_memory_mb" default:"262144" min:"1" help:"With compute_driver fake: megabytes of memory of each fake host."`
	FakeDiskGB             int  `ini:"fake_disk_gb" default:"4096" min:"1" help:"With compute_driver fake: gigabytes of disk of each fake host."`
	QEMUHostCount          int  `ini:"qemu_host_count" default:"1" min:"1" max:"16" help:"With compute_driver qemu or libvirt: how many compute hosts this process serves, each with its own agent and instances folder (<host>-1 ... <host>-N under state_path/hosts/ when more than one), so that servers migrate between them on one machine."`
	// ForceRawImages, ForceConfigDrive and ConfigDriveFormat are nova's
	// [DEFAULT] options of the same names, read by the qemu driver.
	ForceRawImages    bool   `ini:"force_raw_images" nova:"DEFAULT" default:"true" help:"Convert every base image to raw in instances/_base; false keeps qcow2 images as qcow2 bases."`
	ForceConfigDrive  bool   `ini:"force_config_drive" nova:"DEFAULT" default:"false" help:"Give every server a config drive, whether or not it asked for one."`
	ConfigDriveFormat string `ini:"config_drive_format" nova:"DEFAULT" default:"iso9660" choices:"iso9660,vfat" help:"File system of config drives."`
	// TestImageDir and OfferTestImage give a new cloud an image to boot.
	TestImageDir   string `ini:"test_image_dir" help:"Folder of the tiny guest make test-image builds (disk.qcow2); empty: $NIMBUS_TEST_IMAGE_DIR, else ~/.cache/nimbus/test-image."`
	OfferTestImage bool   `ini:"offer_test_image" default:"true" help:"On the first start of nimbus up, upload the tiny guest of test_image_dir, when it is built, as the public image nimbus-tiny."`
}

// Quota is the [quota] section: nova's default per-project limits (-1: unlimited).
// An operator's os-quota-class-sets entries for the default class take
// precedence over these, and per-project or per-user entries over both.
type Quota struct {
	Instances                int `ini:"instances" default:"10" min:"-1" help:"Servers per project."`
	Cores                    int `ini:"cores" default:"20" min:"-1" help:"Server cores (VCPUs) per project."`
	RAM                      int `ini:"ram" default:"51200" min:"-1" help:"Megabytes of server RAM per project."`
	MetadataItems            int `ini:"metadata_items" default:"128" min:"-1" help:"Metadata items per server."`
	InjectedFiles            int `ini:"injected_files" default:"5" min:"-1" help:"Injected (personality) files per server."`
	InjectedFileContentBytes int `ini:"injected_file_content_bytes" default:"10240" min:"-1" help:"Bytes of one injected file."`
	InjectedFilePathLength   int `ini:"injected_file_path_length" default:"255" min:"-1" help:"Characters of an injected file's path."`
	KeyPairs                 int `ini:"key_pairs" default:"100" min:"-1" help:"Key pairs per user."`
	ServerGroups             int `ini:"server_groups" default:"10" min:"-1" help:"Server groups per project."`
	ServerGroupMembers       int `ini:"server_group_members" default:"10" min:"-1" help:"Servers per server group."`
}
