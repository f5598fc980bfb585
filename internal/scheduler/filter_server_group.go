package scheduler

import (
	"fmt"
	"slices"
	"strings"
)

// The hard group filters. Their verdicts change as the request's instances
// join the group, so they run again for each instance.

// serverGroupAntiAffinityFilter is nova's ServerGroupAntiAffinityFilter: a
// host takes another member of an anti-affinity group only while it has
// fewer than max_server_per_host (default 1) of them. An instance being
// moved passes on the host it runs on.
var serverGroupAntiAffinityFilter = &filter{
	name:  "ServerGroupAntiAffinityFilter",
	local: true,
	prepare: func(sp *spec) check {
		g := sp.req.Group
		if g == nil || g.Policy != PolicyAntiAffinity {
			return nil
		}
		limit := g.MaxServerPerHost
		if limit == 0 {
			limit = 1
		}
		return func(c *candidate) (string, bool) {
			if sp.instanceUUID != "" && sp.selfHost[sp.instanceUUID] == c {
				return "", true
			}
			if c.groupCount < limit {
				return "", true
			}
			return fmt.Sprintf("has %d of the group's servers, max_server_per_host %d", c.groupCount, limit), false
		}
	},
}

// serverGroupAffinityFilter is nova's ServerGroupAffinityFilter: once an
// affinity group has members on some host, its other members go there too.
var serverGroupAffinityFilter = &filter{
	name: "ServerGroupAffinityFilter",
	prepare: func(sp *spec) check {
		g := sp.req.Group
		if g == nil || g.Policy != PolicyAffinity {
			return nil
		}
		return func(c *candidate) (string, bool) {
			if len(sp.groupHosts) == 0 || sp.groupHosts[c.h.Host] > 0 {
				return "", true
			}
			return "not a host of the group", false
		}
	},
	summarize: func(sp *spec, rejected []*candidate) string {
		hosts := make([]string, 0, len(sp.groupHosts))
		for h := range sp.groupHosts {
			hosts = append(hosts, h)
		}
		slices.Sort(hosts)
		return "not a host of the group, whose servers are on " + strings.Join(hosts, ", ")
	},
}
