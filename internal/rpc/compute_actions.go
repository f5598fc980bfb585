package rpc

import "time"

// The server actions added in version 1.1 of the compute agent's
// interface and of the conductor's: shelve, rescue, backup and
// diagnostics.

// ShelveInstance powers an instance off and uploads its disk into the
// queued image the API made (<name>-shelved); the host then reports it
// shelved with instance_shelved, offloaded at once when the host's
// shelved_offload_time is 0.
var ShelveInstance = Method[ShelveRequest, None]{
	Namespace: NamespaceCompute, Name: "shelve_instance", Version: V(1, 1)}

// ShelveOffloadInstance destroys a shelved instance's guest and reports it
// offloaded, so its host's resources go.
var ShelveOffloadInstance = Method[InstanceRequest, None]{
	Namespace: NamespaceCompute, Name: "shelve_offload_instance", Version: V(1, 1)}

// UnshelveOnHost brings a shelved instance back on this host: a guest
// still here is powered on; an offloaded one is spawned from its shelved
// image on the host the conductor claimed. The host reports with
// instance_unshelved.
var UnshelveOnHost = Method[UnshelveOnHostRequest, None]{
	Namespace: NamespaceCompute, Name: "unshelve_instance", Version: V(1, 1)}

// RescueInstance boots an instance from a rescue image with its own disk
// attached second; the instance ends RESCUED.
var RescueInstance = Method[RescueRequest, None]{
	Namespace: NamespaceCompute, Name: "rescue_instance", Version: V(1, 1)}

// UnrescueInstance boots a rescued instance from its own disk again.
var UnrescueInstance = Method[InstanceRequest, None]{
	Namespace: NamespaceCompute, Name: "unrescue_instance", Version: V(1, 1)}

// BackupInstance uploads an instance's disk into the queued backup image
// the API made, then deletes the instance's oldest backups of the same
// type beyond the rotation.
var BackupInstance = Method[BackupRequest, None]{
	Namespace: NamespaceCompute, Name: "backup_instance", Version: V(1, 1)}

// GetDiagnostics returns an instance's diagnostics from its hypervisor (a
// call).
var GetDiagnostics = Method[InstanceRequest, Diagnostics]{
	Namespace: NamespaceCompute, Name: "get_instance_diagnostics", Version: V(1, 1)}

// ShelveRequest is a shelve of an instance into ImageID.
type ShelveRequest struct {
	InstanceUUID string `json:"instance_uuid"`
	ImageID      string `json:"image_id"`
}

// UnshelveOnHostRequest brings a shelved instance back: Host is the claimed
// host of an offloaded instance (zero for one whose guest is still here),
// Instance.Image the shelved image.
type UnshelveOnHostRequest struct {
	Instance InstanceSpec `json:"instance"`
	Host     HostChoice   `json:"host"`
}

// RescueRequest is a rescue of an instance from RescueImage (the
// instance's own image when none was asked for).
type RescueRequest struct {
	Instance    InstanceSpec `json:"instance"`
	RescueImage ImageMeta    `json:"rescue_image"`
	AdminPass   string       `json:"rescue_password,omitempty"`
}

// BackupRequest is a backup of an instance into ImageID, keeping Rotation
// backups of BackupType.
type BackupRequest struct {
	InstanceUUID string `json:"instance_uuid"`
	ImageID      string `json:"image_id"`
	BackupType   string `json:"backup_type"`
	Rotation     int    `json:"rotation"`
}

// Diagnostics is an instance's diagnostics, as nova's Diagnostics object.
type Diagnostics struct {
	State        string            `json:"state"`
	Driver       string            `json:"driver"`
	Hypervisor   string            `json:"hypervisor"`
	HypervisorOS string            `json:"hypervisor_os"`
	Uptime       int64             `json:"uptime"`
	ConfigDrive  bool              `json:"config_drive"`
	CPUs         []CPUDiagnostics  `json:"cpu_details"`
	NICs         []NICDiagnostics  `json:"nic_details"`
	Disks        []DiskDiagnostics `json:"disk_details"`
	MemoryMaxKB  int64             `json:"memory_max"`
	MemoryUsedKB int64             `json:"memory_used"`
}

// CPUDiagnostics is one virtual CPU: time in nanoseconds, utilisation in
// percent (-1 unknown).
type CPUDiagnostics struct {
	ID          int   `json:"id"`
	Time        int64 `json:"time"`
	Utilisation int   `json:"utilisation"`
}

// NICDiagnostics is one network interface's counters.
type NICDiagnostics struct {
	MAC       string `json:"mac_address"`
	RxOctets  int64  `json:"rx_octets"`
	RxErrors  int64  `json:"rx_errors"`
	RxDrop    int64  `json:"rx_drop"`
	RxPackets int64  `json:"rx_packets"`
	RxRate    *int64 `json:"rx_rate"`
	TxOctets  int64  `json:"tx_octets"`
	TxErrors  int64  `json:"tx_errors"`
	TxDrop    int64  `json:"tx_drop"`
	TxPackets int64  `json:"tx_packets"`
	TxRate    *int64 `json:"tx_rate"`
}

// DiskDiagnostics is one disk's counters; Name is the guest device (vda).
type DiskDiagnostics struct {
	Name          string `json:"name"`
	ReadBytes     int64  `json:"read_bytes"`
	ReadRequests  int64  `json:"read_requests"`
	WriteBytes    int64  `json:"write_bytes"`
	WriteRequests int64  `json:"write_requests"`
	ErrorsCount   int64  `json:"errors_count"`
}

// UnshelveInstance brings a shelved instance back (a cast from the compute
// API): the conductor hands a SHELVED one to its host, and schedules and
// claims a host for a SHELVED_OFFLOADED one first.
var UnshelveInstance = Method[UnshelveRequest, None]{
	Namespace: NamespaceConductor, Name: "unshelve_instance", Version: V(1, 1)}

// InstanceShelved reports that a host shelved (or offloaded) an instance:
// the conductor records it SHELVED with its shelved image, or
// SHELVED_OFFLOADED without a host, releasing its allocations (a call).
var InstanceShelved = Method[InstanceShelvedRequest, None]{
	Namespace: NamespaceConductor, Name: "instance_shelved", Version: V(1, 1)}

// InstanceUnshelved reports the end of an unshelve on a host (a call).
var InstanceUnshelved = Method[InstanceUnshelvedRequest, None]{
	Namespace: NamespaceConductor, Name: "instance_unshelved", Version: V(1, 1)}

// ShelvedInstances tells a host which of its guests belong to SHELVED
// instances and when they were shelved (a call from an agent that starts),
// so that their offload after shelved_offload_time survives a restart.
var ShelvedInstances = Method[ShelvedInstancesRequest, ShelvedInstancesReply]{
	Namespace: NamespaceConductor, Name: "shelved_instances", Version: V(1, 1)}

// ShelvedInstancesRequest names the guests a host has.
type ShelvedInstancesRequest struct {
	Host          string   `json:"host"`
	InstanceUUIDs []string `json:"instance_uuids"`
}

// ShelvedInstancesReply lists those of SHELVED instances on the host.
type ShelvedInstancesReply struct {
	Instances []ShelvedInstance `json:"instances,omitempty"`
}

// ShelvedInstance is a SHELVED instance and when it was shelved.
type ShelvedInstance struct {
	UUID      string    `json:"uuid"`
	ShelvedAt time.Time `json:"shelved_at"`
}

// UnshelveRequest is an unshelve the API recorded: a new availability zone
// when ZoneSet (nil unpins), a host an admin chose.
type UnshelveRequest struct {
	InstanceUUID     string  `json:"instance_uuid"`
	ZoneSet          bool    `json:"zone_set,omitempty"`
	AvailabilityZone *string `json:"availability_zone,omitempty"`
	Host             string  `json:"host,omitempty"`
}

// InstanceShelvedRequest is a host's report of a shelve: ImageID is the
// shelved image ("" for an offload of an instance shelved before).
type InstanceShelvedRequest struct {
	InstanceUUID string `json:"instance_uuid"`
	Host         string `json:"host"`
	ImageID      string `json:"image_id,omitempty"`
	PowerState   int    `json:"power_state"`
	Offloaded    bool   `json:"offloaded,omitempty"`
	// DiskFormat is the shelved image's disk format.
	DiskFormat string `json:"disk_format,omitempty"`
}

// InstanceUnshelvedRequest is a host's report of an unshelve; Error is set
// when it failed, Spawned when the guest was spawned (it was offloaded).
type InstanceUnshelvedRequest struct {
	InstanceUUID string `json:"instance_uuid"`
	Host         string `json:"host"`
	PowerState   int    `json:"power_state"`
	Spawned      bool   `json:"spawned,omitempty"`
	Error        string `json:"error,omitempty"`
}
