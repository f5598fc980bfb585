package rpc

import "time"

// The data the compute control plane's messages carry. They are wire types:
// nova's field names, no behaviour, and nothing of the services' own models,
// so that the API, conductor, scheduler and agents may be of different
// releases as long as the interface versions agree.

// Error kinds of the compute control plane, tested with errors.Is.
const (
	// KindNoValidHost: the scheduler found no host; the message names each
	// filter and how many hosts it rejected.
	KindNoValidHost = "NoValidHost"
	// KindInstanceNotFound: the instance is deleted or never existed.
	KindInstanceNotFound = "InstanceNotFound"
	// KindUnexpectedTaskState: an update expected another task state (the
	// instance moved on, typically to deleting).
	KindUnexpectedTaskState = "UnexpectedTaskState"
	// KindWrongHost: a host reported on an instance that is not its own.
	KindWrongHost = "WrongHost"
	// KindInvalidState: the hypervisor refused an operation in the
	// instance's power state.
	KindInvalidState = "InstanceInvalidState"
	// KindNotSupported: the host's driver cannot do that.
	KindNotSupported = "NotSupported"
)

// Sentinels of the kinds above.
var (
	ErrNoValidHost         = NewKind(KindNoValidHost)
	ErrInstanceNotFound    = NewKind(KindInstanceNotFound)
	ErrUnexpectedTaskState = NewKind(KindUnexpectedTaskState)
	ErrWrongHost           = NewKind(KindWrongHost)
	ErrInvalidState        = NewKind(KindInvalidState)
	ErrNotSupported        = NewKind(KindNotSupported)
)

// Flavor is an instance's size (nova's Flavor object).
type Flavor struct {
	// ID is the flavor's row id.
	ID          int64             `json:"id,omitempty"`
	FlavorID    string            `json:"flavorid"`
	Name        string            `json:"name"`
	VCPUs       int               `json:"vcpus"`
	MemoryMB    int               `json:"memory_mb"`
	RootGB      int               `json:"root_gb"`
	EphemeralGB int               `json:"ephemeral_gb"`
	Swap        int               `json:"swap"` // MiB
	ExtraSpecs  map[string]string `json:"extra_specs,omitempty"`
	RxTxFactor  float64           `json:"rxtx_factor,omitempty"`
	VCPUWeight  *int              `json:"vcpu_weight,omitempty"`
	Disabled    bool              `json:"disabled,omitempty"`
	IsPublic    bool              `json:"is_public,omitempty"`
	Description *string           `json:"description,omitempty"`
}

// ImageMeta is what the control plane knows of an image (nova's ImageMeta).
type ImageMeta struct {
	ID              string            `json:"id"`
	Name            string            `json:"name,omitempty"`
	DiskFormat      string            `json:"disk_format,omitempty"`
	ContainerFormat string            `json:"container_format,omitempty"`
	Size            int64             `json:"size,omitempty"`
	MinDisk         int               `json:"min_disk,omitempty"`
	MinRAM          int               `json:"min_ram,omitempty"`
	Properties      map[string]string `json:"properties,omitempty"`
}

// BlockDevice is one block device mapping of an instance.
type BlockDevice struct {
	BootIndex           *int   `json:"boot_index"`
	SourceType          string `json:"source_type"`
	DestinationType     string `json:"destination_type"`
	ImageID             string `json:"image_id,omitempty"`
	VolumeSize          *int   `json:"volume_size,omitempty"`
	GuestFormat         string `json:"guest_format,omitempty"`
	DeviceType          string `json:"device_type,omitempty"`
	DiskBus             string `json:"disk_bus,omitempty"`
	DeleteOnTermination bool   `json:"delete_on_termination"`
}

// InjectedFile is a personality file: a path and its base64 contents.
type InjectedFile struct {
	Path     string `json:"path"`
	Contents string `json:"contents"`
}

// InstanceSpec is what a compute host needs to create an instance.
type InstanceSpec struct {
	UUID string `json:"uuid"`
	// Name is the hypervisor's name of the instance (instance-%08x).
	Name         string            `json:"name"`
	DisplayName  string            `json:"display_name,omitempty"`
	Hostname     string            `json:"hostname,omitempty"`
	ProjectID    string            `json:"project_id"`
	UserID       string            `json:"user_id"`
	Flavor       Flavor            `json:"flavor"`
	Image        ImageMeta         `json:"image"`
	BlockDevices []BlockDevice     `json:"block_device_mapping,omitempty"`
	Metadata     map[string]string `json:"metadata,omitempty"`
	KeyName      string            `json:"key_name,omitempty"`
	KeyData      string            `json:"key_data,omitempty"`
	// UserData is base64, as the API took it.
	UserData    string `json:"user_data,omitempty"`
	ConfigDrive bool   `json:"config_drive,omitempty"`
}

// Allocation is what a consumer takes of resource providers: amounts by
// resource class, by provider uuid (placement's allocation request).
type Allocation map[string]map[string]int64

// HostChoice is a host an instance may be built on, with the allocation
// that claims its resources there (nova's Selection).
type HostChoice struct {
	Host         string     `json:"service_host"`
	Node         string     `json:"nodename"`
	ProviderUUID string     `json:"compute_node_uuid"`
	Allocation   Allocation `json:"allocation_request"`
}

// HostFailure is a host a build failed on, and why.
type HostFailure struct {
	Host   string `json:"host"`
	Reason string `json:"reason"`
	// Abort says no other host would do better (the image cannot be
	// read, the request is invalid): the build fails without a retry.
	Abort bool `json:"abort,omitempty"`
}

// ComputeNode is a compute host's hypervisor as its agent reports it (nova's
// compute_nodes row).
type ComputeNode struct {
	Host string `json:"host"`
	// Node is the hypervisor's host name.
	Node string `json:"hypervisor_hostname"`
	// ProviderUUID is the node's resource provider in placement.
	ProviderUUID      string  `json:"uuid"`
	HypervisorType    string  `json:"hypervisor_type"`
	HypervisorVersion int64   `json:"hypervisor_version"`
	VCPUs             int     `json:"vcpus"`
	MemoryMB          int64   `json:"memory_mb"`
	LocalGB           int64   `json:"local_gb"`
	VCPUsUsed         int     `json:"vcpus_used"`
	MemoryMBUsed      int64   `json:"memory_mb_used"`
	LocalGBUsed       int64   `json:"local_gb_used"`
	CPUInfo           CPUInfo `json:"cpu_info"`
	// SupportedInstances are (architecture, hypervisor type, vm mode).
	SupportedInstances [][3]string `json:"supported_instances,omitempty"`
	HostIP             string      `json:"host_ip,omitempty"`
	// BootedAt is when the host came up; zero when not known.
	BootedAt time.Time `json:"booted_at"`
}

// CPUInfo is a host's CPU.
type CPUInfo struct {
	Arch     string   `json:"arch"`
	Vendor   string   `json:"vendor,omitempty"`
	Model    string   `json:"model,omitempty"`
	Features []string `json:"features,omitempty"`
	Sockets  int      `json:"sockets,omitempty"`
	Cores    int      `json:"cores,omitempty"`
	Threads  int      `json:"threads,omitempty"`
}

// ServiceReport is a service's heartbeat (nova's service record update),
// with a compute host's node and instances.
type ServiceReport struct {
	Host   string `json:"host"`
	Binary string `json:"binary"`
	// Version is the highest interface version the service implements.
	Version     Version `json:"version"`
	ReportCount int64   `json:"report_count"`
	// Node is set by compute agents.
	Node *ComputeNode `json:"node,omitempty"`
	// Instances are the uuids of the instances the hypervisor runs.
	Instances []string  `json:"instances,omitempty"`
	SentAt    time.Time `json:"sent_at"`
}

// Service binaries, as nova names them.
const (
	BinaryCompute   = "nova-compute"
	BinaryConductor = "nova-conductor"
	BinaryScheduler = "nova-scheduler"
)
