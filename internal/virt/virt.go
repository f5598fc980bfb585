// Package virt is the contract between the compute agent and a hypervisor:
// the Driver interface, mirroring nova's virt driver (nova/virt/driver.py),
// with the data it takes and returns, power states and lifecycle events as
// nova numbers them, and typed errors. Drivers know nothing of the database,
// the bus or HTTP; the agent gives them everything they need.
//
// The contract, as nova writes it down:
//   - A failed Spawn leaves nothing behind: the hypervisor is as it was.
//   - Destroy of an instance the driver does not know succeeds.
//   - After Reboot, soft or hard, the instance runs, whatever its state was.
//   - An operation that needs another power state fails with an error
//     matching ErrInvalidState that names the state; an unknown instance
//     fails with ErrInstanceNotFound.
//
// virttest holds the conformance suite every driver runs.
package virt

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Driver runs instances on one hypervisor host. Every method is safe for
// concurrent use; operations on one instance are serialized by the caller.
type Driver interface {
	// Init prepares the driver to serve host (nova's init_host).
	Init(ctx context.Context, host string) error
	// HostResources reports the host's size and what its instances use
	// (nova's get_available_resource).
	HostResources(ctx context.Context) (HostResources, error)
	// ListInstances lists the instances on the host.
	ListInstances(ctx context.Context) ([]InstanceInfo, error)
	// GetInfo is one instance's power state.
	GetInfo(ctx context.Context, uuid string) (InstanceInfo, error)

	// Spawn creates the instance and starts it, unless spec.StartStopped.
	Spawn(ctx context.Context, spec *InstanceSpec) error
	// Destroy powers the instance off and removes it, with its disks unless
	// keepDisks; an unknown instance is no error.
	Destroy(ctx context.Context, uuid string, keepDisks bool) error
	// Reboot restarts the instance; a soft reboot of an instance that is
	// not running is done hard.
	Reboot(ctx context.Context, uuid string, kind RebootType) error
	// PowerOff asks the guest to shut down, waiting up to timeout before
	// cutting the power; 0 cuts it at once. Powering off an instance that
	// is off is no error.
	PowerOff(ctx context.Context, uuid string, timeout time.Duration) error
	// PowerOn starts a stopped or crashed instance; a running one is left
	// running.
	PowerOn(ctx context.Context, uuid string) error
	Pause(ctx context.Context, uuid string) error
	Unpause(ctx context.Context, uuid string) error
	Suspend(ctx context.Context, uuid string) error
	Resume(ctx context.Context, uuid string) error

	// Snapshot returns the instance's root disk, for upload to the image
	// service; the caller closes it.
	Snapshot(ctx context.Context, uuid string) (*SnapshotImage, error)
	// GetConsoleOutput is the tail of the instance's serial console log.
	GetConsoleOutput(ctx context.Context, uuid string) (string, error)
	// GetVNCConsole is where the instance's VNC server listens.
	GetVNCConsole(ctx context.Context, uuid string) (VNCConsole, error)
	// Diagnostics reports the instance's state and counters (nova's
	// get_instance_diagnostics); what a driver cannot know stays zero.
	Diagnostics(ctx context.Context, uuid string) (Diagnostics, error)

	// Rescue boots the instance from a rescue disk made from rescue (its
	// own image when the caller has no other) with the instance's root
	// disk attached second, running; adminPass, when set, is the rescue
	// system's password. A rescued instance fails with ErrInvalidState.
	Rescue(ctx context.Context, spec *InstanceSpec, rescue ImageRef, adminPass string) error
	// Unrescue drops the rescue disk and boots the instance from its own
	// disk again, running; an instance not rescued fails with
	// ErrInvalidState.
	Unrescue(ctx context.Context, uuid string) error

	// MigrateDiskAndPowerOff is the source side of a cold migration or
	// resize: it powers the instance off and hands its disk over for dest.
	// The source copy stays until ConfirmMigration or
	// FinishRevertMigration.
	MigrateDiskAndPowerOff(ctx context.Context, uuid, dest string, flavor Flavor) (MigratedDisk, error)
	// FinishMigration is the destination side: it creates the instance from
	// the migrated disk with spec's (new) flavor, running unless
	// spec.StartStopped.
	FinishMigration(ctx context.Context, spec *InstanceSpec, disk MigratedDisk) error
	// ConfirmMigration removes the source copy once a migration is
	// confirmed.
	ConfirmMigration(ctx context.Context, uuid string) error
	// FinishRevertMigration brings the source copy back after the
	// destination's copy was destroyed, running when powerOn.
	FinishRevertMigration(ctx context.Context, uuid string, powerOn bool) error

	// PreLiveMigration readies the destination for an incoming instance
	// and returns where and how the source sends it (nova's
	// migrate_data), which the caller carries to the source's LiveMigrate.
	PreLiveMigration(ctx context.Context, spec *InstanceSpec) (MigrateData, error)
	// LiveMigrate moves a running or paused instance to dest while it runs,
	// as data, the destination's PreLiveMigration answer, says; on success
	// the source no longer has it. Data the driver cannot read fails with
	// ErrInvalidSpec.
	LiveMigrate(ctx context.Context, uuid, dest string, data MigrateData) error
	// LiveMigrationForceComplete makes the live migration of uuid under
	// way from this host complete now: the guest is paused here so its
	// memory stops changing (nova's force complete without post-copy), and
	// runs again at the destination. With no live migration of uuid under
	// way it fails with ErrNoLiveMigration.
	LiveMigrationForceComplete(ctx context.Context, uuid string) error
	// LiveMigrationAbort cancels the live migration of uuid under way from
	// this host: its LiveMigrate fails with an error matching
	// ErrLiveMigrationCancelled and the instance stays here as it was. With
	// no live migration of uuid under way it fails with ErrNoLiveMigration.
	LiveMigrationAbort(ctx context.Context, uuid string) error
	// PostLiveMigrationAtDestination takes over the migrated instance at
	// the destination.
	PostLiveMigrationAtDestination(ctx context.Context, uuid string) error
	// RollbackLiveMigrationAtDestination removes what PreLiveMigration made
	// after a failed live migration.
	RollbackLiveMigrationAtDestination(ctx context.Context, uuid string) error

	// Events delivers lifecycle events. A slow reader may miss events; the
	// agent's periodic power state sync catches up with GetInfo.
	Events() <-chan LifecycleEvent
}

// Errors of every driver; match them with errors.Is.
var (
	ErrInstanceNotFound = errors.New("instance not found")
	ErrInstanceExists   = errors.New("instance already exists")
	// ErrInvalidState: the instance's power state does not allow the
	// operation; the error is a *StateError.
	ErrInvalidState = errors.New("instance is not in a state that allows this")
	// ErrInvalidSpec: the InstanceSpec lacks or contradicts something.
	ErrInvalidSpec = errors.New("invalid instance spec")
	// ErrNotSupported: this driver or this instance cannot do that.
	ErrNotSupported = errors.New("not supported")
	// ErrNoLiveMigration: no live migration of the instance is under way
	// from this host (not yet, or no more).
	ErrNoLiveMigration = errors.New("no live migration of the instance is under way")
	// ErrLiveMigrationCancelled: LiveMigrationAbort cancelled the live
	// migration; the instance is on the source as it was.
	ErrLiveMigrationCancelled = errors.New("live migration cancelled")
)

// StateError is an operation refused in the instance's current state.
type StateError struct {
	UUID  string
	Op    string
	State PowerState
	// Allowed are the states the operation works in.
	Allowed []PowerState
}

func (e *StateError) Error() string {
	allowed := make([]string, len(e.Allowed))
	for i, s := range e.Allowed {
		allowed[i] = s.String()
	}
	return fmt.Sprintf("cannot %s instance %s while it is %s (needs %s)", e.Op, e.UUID, e.State, strings.Join(allowed, " or "))
}

// Is makes errors.Is(err, ErrInvalidState) true.
func (e *StateError) Is(target error) bool { return target == ErrInvalidState }

// NotFound is the ErrInstanceNotFound error for uuid.
func NotFound(uuid string) error {
	return fmt.Errorf("%w: %s", ErrInstanceNotFound, uuid)
}

// RebootType is SOFT or HARD, as the reboot API spells them.
type RebootType string

// Reboot types.
const (
	RebootSoft RebootType = "SOFT"
	RebootHard RebootType = "HARD"
)

// HostResources is the host as the resource tracker reports it.
type HostResources struct {
	VCPUs    int
	MemoryMB int64
	DiskGB   int64
	// Used are what the driver's instances take, by their flavors.
	VCPUsUsed    int
	MemoryMBUsed int64
	DiskGBUsed   int64

	HypervisorType     string
	HypervisorVersion  int64 // 1000000*major + 1000*minor + patch
	HypervisorHostname string
	CPUInfo            CPUInfo
	SupportedInstances []SupportedInstance
	// BootedAt is when the host came up (nova's host uptime); zero when
	// the driver does not know, and the agent reads the machine's.
	BootedAt time.Time
}

// CPUInfo is the host CPU (nova's cpu_info).
type CPUInfo struct {
	Arch            string
	Vendor          string
	Model           string
	Features        []string
	Sockets         int
	Cores           int
	Threads         int
	MaxPhysAddrBits int
}

// SupportedInstance is an (architecture, hypervisor type, vm mode) triple
// the host can run.
type SupportedInstance struct {
	Arch           string
	HypervisorType string
	VMMode         string
}

// InstanceInfo is an instance as the hypervisor sees it.
type InstanceInfo struct {
	UUID  string
	Name  string
	State PowerState
}

// Flavor is the size of an instance.
type Flavor struct {
	Name        string
	VCPUs       int
	MemoryMB    int
	RootGB      int
	EphemeralGB int
	SwapMB      int
	ExtraSpecs  map[string]string
}

// InstanceSpec is everything a driver needs to create an instance.
type InstanceSpec struct {
	UUID      string
	Name      string
	Hostname  string
	ProjectID string
	UserID    string
	Flavor    Flavor
	// Image is what the root disk starts from; zero for an instance that
	// boots from a volume.
	Image               ImageRef
	BlockDeviceMappings []BlockDeviceMapping
	// Network is the instance's ports, possibly none.
	Network     []VIF
	UserData    []byte
	ConfigDrive bool
	Metadata    map[string]string
	KeyName     string
	KeyData     string
	// StartStopped leaves the new instance powered off (nova's
	// power_on=False).
	StartStopped bool
}

// ImageRef is the image of the root disk: a file the agent downloaded
// (Path) or a stream (Reader) of Size bytes.
type ImageRef struct {
	ID         string
	DiskFormat string // raw, qcow2, ...
	Path       string
	Reader     io.Reader
	Size       int64
	Properties map[string]string
}

// IsZero tells whether no image is given.
func (r ImageRef) IsZero() bool { return r.ID == "" && r.Path == "" && r.Reader == nil }

// BlockDeviceMapping is one disk of the instance (block_device_mapping_v2);
// drivers here handle destination_type local.
type BlockDeviceMapping struct {
	BootIndex       int // -1: not bootable
	SourceType      string
	DestinationType string
	ImageID         string
	VolumeSizeGB    int
	GuestFormat     string
	DeviceType      string
	DiskBus         string
	DeleteOnTerm    bool
}

// VIF is one network port of the instance.
type VIF struct {
	PortID    string
	NetworkID string
	MAC       string
	FixedIPs  []string
	MTU       int
	Bridge    string
}

// SnapshotImage is a disk to upload as an image.
type SnapshotImage struct {
	Data            io.ReadCloser
	Size            int64
	DiskFormat      string
	ContainerFormat string
}

// Diagnostics is an instance as its hypervisor reports it (nova's
// Diagnostics object, the standard shape of microversion 2.48).
type Diagnostics struct {
	// State is the power state's name: running, paused, shutdown, ...
	State        string
	Driver       string
	Hypervisor   string
	HypervisorOS string
	// Uptime is in seconds since the guest started.
	Uptime      int64
	ConfigDrive bool
	CPUs        []CPUDiagnostics
	NICs        []NICDiagnostics
	Disks       []DiskDiagnostics
	// MemoryMaxKB is the guest's memory, MemoryUsedKB what it uses.
	MemoryMaxKB  int64
	MemoryUsedKB int64
}

// CPUDiagnostics is one virtual CPU; Time in nanoseconds, Utilisation in
// percent or -1 when unknown.
type CPUDiagnostics struct {
	ID          int
	Time        int64
	Utilisation int
}

// NICDiagnostics is one network interface's counters.
type NICDiagnostics struct {
	MAC                                   string
	RxOctets, RxErrors, RxDrop, RxPackets int64
	TxOctets, TxErrors, TxDrop, TxPackets int64
}

// DiskDiagnostics is one disk's counters; Name is the guest's device
// (vda).
type DiskDiagnostics struct {
	Name                      string
	ReadBytes, ReadRequests   int64
	WriteBytes, WriteRequests int64
	ErrorsCount               int64
}

// VNCConsole is where an instance's VNC server listens.
type VNCConsole struct {
	Host string
	Port int
}

// MigratedDisk is what MigrateDiskAndPowerOff hands to FinishMigration:
// driver-defined, carried by the caller between hosts.
type MigratedDisk struct {
	SourceHost string
	// Info describes the disk to the destination's driver.
	Info map[string]string
}
