package rpc

// The scheduler's interface: the conductor calls select_destinations on the
// scheduler topic. Version history:
//
//	1.0: select_destinations.
var SchedulerVersion = V(1, 0)

// NamespaceScheduler is the scheduler's namespace.
const NamespaceScheduler = "scheduler"

// SelectDestinations chooses a host for each instance of a request and
// claims its resources there in placement, returning the choices with
// alternates (each with the allocation that would claim it) for
// reschedules. An instance no host can take fails the whole request with a
// NoValidHost error whose message names each filter's rejections; claims
// made for the request's other instances are released.
var SelectDestinations = Method[SelectDestinationsRequest, SelectDestinationsReply]{
	Namespace: NamespaceScheduler, Name: "select_destinations", Version: V(1, 0)}

// RequestSpec is what the scheduler needs to place instances (nova's
// RequestSpec).
type RequestSpec struct {
	// InstanceUUIDs are the instances to place, each one a consumer in
	// placement.
	InstanceUUIDs []string  `json:"instance_uuids"`
	ProjectID     string    `json:"project_id"`
	UserID        string    `json:"user_id"`
	Flavor        Flavor    `json:"flavor"`
	Image         ImageMeta `json:"image"`
	// BootFromVolume leaves the root disk out of DISK_GB.
	BootFromVolume bool `json:"is_bfv,omitempty"`
	// AvailabilityZone is the zone asked for, "" for any.
	AvailabilityZone string `json:"availability_zone,omitempty"`
	// ForcedHost and ForcedNode skip the filters (admins' zone:host:node).
	ForcedHost string `json:"force_host,omitempty"`
	ForcedNode string `json:"force_node,omitempty"`
	// RequestedHost and RequestedNode restrict the choice; filters run.
	RequestedHost string `json:"requested_host,omitempty"`
	RequestedNode string `json:"requested_node,omitempty"`
	// SameHost and DifferentHost are the scheduler hints of those names,
	// with the hosts the named instances run on.
	SameHost      []InstanceHost `json:"same_host,omitempty"`
	DifferentHost []InstanceHost `json:"different_host,omitempty"`
	// IgnoreHosts are hosts not to choose (tried already, a move's source).
	IgnoreHosts []string `json:"ignore_hosts,omitempty"`
	// Rebuild asks only whether RequestedHost still suits the instance
	// with a new image: nothing is claimed.
	Rebuild bool `json:"rebuild,omitempty"`
}

// InstanceHost is an instance and the host it runs on ("" when none).
type InstanceHost struct {
	UUID string `json:"uuid"`
	Host string `json:"host"`
}

// SelectDestinationsRequest is select_destinations' argument.
type SelectDestinationsRequest struct {
	Spec RequestSpec `json:"spec"`
}

// Selection is where one instance goes: the host whose resources were
// claimed for it, and alternates, best first, each with the allocation that
// would claim it there.
type Selection struct {
	InstanceUUID string       `json:"instance_uuid"`
	Host         HostChoice   `json:"host"`
	Alternates   []HostChoice `json:"alternates,omitempty"`
}

// SelectDestinationsReply is select_destinations' answer: one Selection per
// instance, in the request's order.
type SelectDestinationsReply struct {
	Selections []Selection `json:"selections"`
}
