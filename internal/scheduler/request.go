package scheduler

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrInvalidRequest is a Request Select cannot act on (no instances, an
// unknown group policy); the error text names the field.
var ErrInvalidRequest = errors.New("invalid scheduling request")

// Server group policies, as nova's API spells them.
const (
	PolicyAffinity         = "affinity"
	PolicyAntiAffinity     = "anti-affinity"
	PolicySoftAffinity     = "soft-affinity"
	PolicySoftAntiAffinity = "soft-anti-affinity"
)

// Flavor is the size of the instance to place: nova's flavor fields the
// scheduler reads.
type Flavor struct {
	Name        string
	VCPUs       int
	MemoryMB    int
	RootGB      int
	EphemeralGB int
	// Swap is in MiB, as nova's flavor keeps it.
	Swap       int
	ExtraSpecs map[string]string
}

// ServerGroup is the instance's server group with its members as they are now.
type ServerGroup struct {
	UUID   string
	Policy string
	// MaxServerPerHost is the anti-affinity rule max_server_per_host; 0 means
	// the default of 1.
	MaxServerPerHost int
	// Members are the group's instances and the hosts they run on; Host is ""
	// for a member not placed yet. Members also found in a HostState's
	// Instances count once.
	Members []InstanceRef
}

// InstanceRef names an existing instance and the host it runs on, resolved by
// the caller ("" when it runs nowhere).
type InstanceRef struct {
	UUID string
	Host string
}

// Destination is a host (and node) a request asks for: nova's
// requested_destination, used by migrations and by admins' "zone:host:node".
type Destination struct {
	Host string
	// Node is "" for any node of Host.
	Node string
}

// Request is one scheduling request: nova's RequestSpec, reduced to what the
// filters and weighers read.
type Request struct {
	// InstanceUUIDs are the instances to place, one Selection each. When
	// empty, NumInstances anonymous instances are placed.
	InstanceUUIDs []string
	NumInstances  int
	ProjectID     string
	Flavor        Flavor
	// ImageProperties are the image's properties (hw_architecture,
	// img_hv_type, hw_vm_mode, img_hv_requested_version,
	// hw_maxphysaddr_bits, os_type, ...).
	ImageProperties map[string]string
	// BootFromVolume leaves the root disk out of the DISK_GB need, as nova
	// does for volume-backed servers.
	BootFromVolume bool
	// AvailabilityZone is the requested zone; "" for any.
	AvailabilityZone string
	Group            *ServerGroup
	// SameHost and DifferentHost are the scheduler hints of those names.
	SameHost      []InstanceRef
	DifferentHost []InstanceRef
	// IgnoreHosts are hosts tried already (retries, the source of a move).
	IgnoreHosts []string
	// ForceHosts and ForceNodes restrict the choice to those hosts and skip
	// every filter but the resource checks, as nova's force_hosts does.
	ForceHosts []string
	ForceNodes []string
	// Destination restricts the choice to one host (or node); filters run.
	Destination *Destination
	// Rebuild asks whether the instance's current host still suits a new
	// image: only filters nova runs on rebuild apply, and no resources are
	// checked since none are claimed.
	Rebuild bool
}

// Resources is what one instance consumes, in placement's resource classes.
type Resources struct {
	VCPU     int64
	MemoryMB int64
	DiskGB   int64
}

// Resources returns what one instance of the request consumes: the flavor's
// sizes, without the root disk when booted from volume, swap rounded up to
// whole GB, and resources:VCPU / resources:MEMORY_MB / resources:DISK_GB
// extra specs overriding them as nova's resources_from_flavor does.
func (r Request) Resources() (Resources, error) {
	f := r.Flavor
	disk := int64(f.EphemeralGB) + (int64(f.Swap)+1023)/1024
	if !r.BootFromVolume {
		disk += int64(f.RootGB)
	}
	res := Resources{VCPU: int64(f.VCPUs), MemoryMB: int64(f.MemoryMB), DiskGB: disk}
	for key, val := range f.ExtraSpecs {
		class, ok := strings.CutPrefix(key, "resources:")
		if !ok {
			continue
		}
		var dst *int64
		switch class {
		case "VCPU":
			dst = &res.VCPU
		case "MEMORY_MB":
			dst = &res.MemoryMB
		case "DISK_GB":
			dst = &res.DiskGB
		default:
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(val), 10, 64)
		if err != nil || n < 0 {
			return Resources{}, fmt.Errorf("%w: flavor extra spec %s=%q is not a non-negative integer", ErrInvalidRequest, key, val)
		}
		*dst = n
	}
	return res, nil
}

// count is the number of instances the request places.
func (r Request) count() int {
	if len(r.InstanceUUIDs) > 0 {
		return len(r.InstanceUUIDs)
	}
	return r.NumInstances
}

// validate refuses requests no filter could answer sensibly.
func (r Request) validate() error {
	if r.count() < 1 {
		return fmt.Errorf("%w: num_instances must be at least 1, got %d", ErrInvalidRequest, r.NumInstances)
	}
	if f := r.Flavor; f.VCPUs < 0 || f.MemoryMB < 0 || f.RootGB < 0 || f.EphemeralGB < 0 || f.Swap < 0 {
		return fmt.Errorf("%w: flavor sizes must not be negative", ErrInvalidRequest)
	}
	if g := r.Group; g != nil {
		switch g.Policy {
		case PolicyAffinity, PolicyAntiAffinity, PolicySoftAffinity, PolicySoftAntiAffinity:
		default:
			return fmt.Errorf("%w: server group policy %q is not one of %s, %s, %s, %s", ErrInvalidRequest,
				g.Policy, PolicyAffinity, PolicyAntiAffinity, PolicySoftAffinity, PolicySoftAntiAffinity)
		}
		if g.MaxServerPerHost < 0 {
			return fmt.Errorf("%w: server group rule max_server_per_host must be positive, got %d", ErrInvalidRequest, g.MaxServerPerHost)
		}
	}
	return nil
}
