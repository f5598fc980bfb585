package scheduler

import "math"

// HostState is one compute node as the scheduler sees it: its service's
// liveness, its zone and aggregates, what its hypervisor offers, and the
// placement view of its capacity and usage. Select never modifies it.
type HostState struct {
	// Host is the compute service's host name; Node the hypervisor node
	// (the same for every driver but ironic-like ones).
	Host string
	Node string

	// Up is the service group's liveness verdict; a host not heard from in
	// service_down_time is down.
	Up             bool
	Disabled       bool
	DisabledReason string

	// AvailabilityZone is the host's zone when the caller resolved it; zones
	// named by aggregate metadata take precedence, and the default zone
	// applies when both are empty.
	AvailabilityZone string
	Aggregates       []Aggregate

	HypervisorType string
	// HypervisorVersion is encoded as nova does: 1000000*major +
	// 1000*minor + patch.
	HypervisorVersion int64
	CPUInfo           CPUInfo
	// SupportedInstances are the (architecture, hypervisor type, vm mode)
	// triples the host can run, as the driver reports them.
	SupportedInstances []SupportedInstance
	// Stats are extra capabilities a driver reports, visible to
	// ComputeCapabilitiesFilter.
	Stats map[string]string

	VCPU     Inventory
	MemoryMB Inventory
	DiskGB   Inventory

	// Instances are the instances on the host now.
	Instances []Instance
}

// Aggregate is a host aggregate the host belongs to, with its metadata
// (availability_zone, filter_tenant_id*, extra-spec keys, *_weight_multiplier).
type Aggregate struct {
	Name     string
	Metadata map[string]string
}

// CPUInfo is the host CPU as the driver reports it (nova's cpu_info).
type CPUInfo struct {
	Arch     string
	Vendor   string
	Model    string
	Features []string
	Topology CPUTopology
	// MaxPhysAddrBits is the physical address width; 0 when unknown.
	MaxPhysAddrBits int
}

// CPUTopology is the host's CPU layout.
type CPUTopology struct {
	Sockets int
	Cores   int
	Threads int
}

// SupportedInstance is one (architecture, hypervisor type, vm mode) triple.
type SupportedInstance struct {
	Arch           string
	HypervisorType string
	VMMode         string
}

// Instance is an instance on a host.
type Instance struct {
	UUID      string
	ProjectID string
}

// Inventory is one resource class of a host as placement records it:
// capacity is (Total - Reserved) * AllocationRatio, of which Used is taken,
// and no single instance may take more than MaxUnit.
type Inventory struct {
	Total    int64
	Reserved int64
	// AllocationRatio is the overcommit factor; 0 is read as 1.
	AllocationRatio float64
	Used            int64
	// MaxUnit is the largest amount one instance may take; 0 means Total.
	MaxUnit int64
}

// ratio is the allocation ratio with placement's default.
func (i Inventory) ratio() float64 {
	if i.AllocationRatio <= 0 {
		return 1
	}
	return i.AllocationRatio
}

// Capacity is what placement lets instances allocate in all.
func (i Inventory) Capacity() int64 {
	return int64(math.Floor(float64(i.Total-i.Reserved) * i.ratio()))
}

// Free is the capacity not yet used, given extra use on top of Used.
func (i Inventory) free(extra int64) int64 {
	return i.Capacity() - i.Used - extra
}

// maxUnit is the largest single allocation.
func (i Inventory) maxUnit() int64 {
	if i.MaxUnit > 0 {
		return i.MaxUnit
	}
	return i.Total
}
