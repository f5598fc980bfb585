package schedulerd

import "github.com/nimbus-cloud/nimbus/internal/scheduler"

// hostStates builds the scheduler's host states of one decision into
// buffers the service keeps from one decision to the next (one decision
// runs at a time, under Service.mu, and the scheduler keeps nothing of its
// input), so that a decision over thousands of hosts allocates almost
// nothing: the states, the hosts they stand for, and every host's
// instances share three arrays that grow to the largest fleet seen.
type hostStates struct {
	states []scheduler.HostState
	// at is the position in the decision's host list of each state.
	at    []int
	insts []scheduler.Instance
}

// build fills the states of the hosts placement offered candidates on,
// with the capacities it summarised, in the order of hosts. The result is
// valid until the next build.
func (b *hostStates) build(hosts []ComputeHost, cands Candidates) ([]scheduler.HostState, []int) {
	if cap(b.states) < len(hosts) {
		b.states = make([]scheduler.HostState, len(hosts))
		b.at = make([]int, len(hosts))
	}
	states, at := b.states[:len(hosts)], b.at[:0]
	b.insts = b.insts[:0]
	n := 0
	for i := range hosts {
		h := &hosts[i]
		if h.ProviderUUID == "" {
			continue
		}
		c, ok := cands.Roots[h.ProviderUUID]
		if !ok {
			continue
		}
		st := &states[n]
		n++
		at = append(at, i)
		b.fill(st, h)
		st.VCPU, st.MemoryMB, st.DiskGB = summary(c.VCPU), summary(c.MemoryMB), summary(c.DiskGB)
	}
	// Drop what the unused tail still points to from earlier decisions.
	clear(states[n:])
	b.at = at
	return states[:n], at
}

// fill sets st from h, its instances in the shared array.
func (b *hostStates) fill(st *scheduler.HostState, h *ComputeHost) {
	start := len(b.insts)
	for _, u := range h.Instances {
		b.insts = append(b.insts, scheduler.Instance{UUID: u})
	}
	*st = scheduler.HostState{Host: h.Host, Node: h.Node, Up: h.Up, Disabled: h.Disabled,
		DisabledReason: h.DisabledReason, AvailabilityZone: h.Zone, HypervisorType: h.HypervisorType,
		HypervisorVersion: h.HypervisorVersion, CPUInfo: h.CPUInfo, SupportedInstances: h.Supported,
		Aggregates: h.Aggregates}
	if len(h.Instances) > 0 {
		// Capped, so that appending to one host's instances cannot
		// overwrite the next host's.
		st.Instances = b.insts[start:len(b.insts):len(b.insts)]
	}
}

// missingHosts are the known hosts placement offered no candidate on.
func missingHosts(hosts []ComputeHost, cands Candidates) []ComputeHost {
	var out []ComputeHost
	for _, h := range hosts {
		if _, ok := cands.Roots[h.ProviderUUID]; !ok || h.ProviderUUID == "" {
			out = append(out, h)
		}
	}
	return out
}

// summary is a provider summary's class as an inventory: placement reports
// capacity (allocation ratio and reserve applied) and usage only.
func summary(c Capacity) scheduler.Inventory {
	return scheduler.Inventory{Total: c.Capacity, AllocationRatio: 1, Used: c.Used}
}

// hostState is one host's state, on its own (a rebuild's check, a host
// placement offered nothing on).
func hostState(h ComputeHost) scheduler.HostState {
	var b hostStates
	var st scheduler.HostState
	b.fill(&st, &h)
	return st
}
