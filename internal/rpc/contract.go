package rpc

// Topics of the services that serve the bus. A server listens on its topic
// (shared by every server of the topic, which share the work) and on
// topic.host (its own), as oslo.messaging's RPC servers do.
const (
	// TopicConductor: build, delete, resize and migrate workflows; agents report here.
	TopicConductor = "conductor"
	// TopicScheduler: select_destinations.
	TopicScheduler = "scheduler"
	// TopicCompute: the compute agents, addressed as compute.<host>.
	TopicCompute = "compute"
)

// Method is a method contract: where it lives, the version its current form
// needs, and its request and response types. Casts and fanouts use None as
// the response. Declare each method once, beside its request type, and both
// the caller and the handler use the same value:
//
//	var BuildInstances = rpc.Method[BuildRequest, rpc.None]{Namespace: "conductor", Name: "build_instances", Version: rpc.V(1, 0)}
type Method[Req, Resp any] struct {
	// Namespace groups the methods of one interface, so one server can carry
	// several interfaces with their own versions (oslo's target namespace).
	Namespace string
	Name      string
	// Version is the interface version this method's current form first
	// appeared in; a message asks for it, and servers older than it refuse.
	Version Version
}

// None is the response of methods that answer nothing.
type None struct{}

// Info is the method's untyped identity.
func (m Method[Req, Resp]) Info() MethodInfo {
	return MethodInfo{Namespace: m.Namespace, Name: m.Name, Version: m.Version}
}

// MethodInfo names a method without its types.
type MethodInfo struct {
	Namespace string
	Name      string
	Version   Version
}

// String is "namespace.name".
func (m MethodInfo) String() string { return qualify(m.Namespace, m.Name) }
