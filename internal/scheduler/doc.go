// Package scheduler chooses compute hosts for new and moved instances, as
// nova's filter scheduler does: enabled filters remove the hosts that cannot
// take the instance, weighers rank the rest, and the best (or a random one
// among the best host_subset_size) is chosen, with alternates for retries.
//
// It is pure logic over a snapshot: Select reads a Request and the HostStates
// its caller gathered (from placement's allocation candidates and the compute
// services' reports) and returns Selections, touching no database, bus or
// network. It also checks VCPU, MEMORY_MB and DISK_GB capacity itself, the way
// placement does, so that it gives the same answer on HostStates alone and so
// that several instances of one request spread instead of piling up.
//
// When no host is left, the error names every filter that rejected hosts, how
// many, and why, so a fault tells the operator what to change.
//
// One filter or weigher per file: filter_<name>.go, weigher_<name>.go.
package scheduler
