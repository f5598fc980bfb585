package scheduler

// The same_host and different_host scheduler hints name instances; a host
// matches when it is where one of them runs, by the host the caller resolved
// or by the instances the host reports.

// sameHostFilter is nova's SameHostFilter.
var sameHostFilter = &filter{
	name: "SameHostFilter",
	once: true,
	prepare: func(sp *spec) check {
		if len(sp.req.SameHost) == 0 {
			return nil
		}
		m := newInstanceMatcher(sp.req.SameHost)
		return func(c *candidate) (string, bool) {
			if m.matches(c.h) {
				return "", true
			}
			return "runs none of the same_host instances", false
		}
	},
}

// differentHostFilter is nova's DifferentHostFilter.
var differentHostFilter = &filter{
	name: "DifferentHostFilter",
	once: true,
	prepare: func(sp *spec) check {
		if len(sp.req.DifferentHost) == 0 {
			return nil
		}
		m := newInstanceMatcher(sp.req.DifferentHost)
		return func(c *candidate) (string, bool) {
			if m.matches(c.h) {
				return "runs a different_host instance", false
			}
			return "", true
		}
	},
}

// instanceMatcher tells whether a host runs any of some instances.
type instanceMatcher struct {
	hosts map[string]bool
	uuids map[string]bool
}

func newInstanceMatcher(refs []InstanceRef) instanceMatcher {
	m := instanceMatcher{hosts: map[string]bool{}, uuids: map[string]bool{}}
	for _, r := range refs {
		m.uuids[r.UUID] = true
		if r.Host != "" {
			m.hosts[r.Host] = true
		}
	}
	return m
}

func (m instanceMatcher) matches(h *HostState) bool {
	if m.hosts[h.Host] {
		return true
	}
	for _, inst := range h.Instances {
		if m.uuids[inst.UUID] {
			return true
		}
	}
	return false
}
