package scheduler

import "slices"

// The request's own restrictions run before the configured filters.

// retryFilter leaves out the hosts a request already tried (nova's
// ignore_hosts, once checked by its RetryFilter).
var retryFilter = &filter{
	name:      "RetryFilter",
	once:      true,
	onRebuild: true,
	prepare: func(sp *spec) check {
		ignore := sp.req.IgnoreHosts
		return func(c *candidate) (string, bool) {
			if slices.Contains(ignore, c.h.Host) {
				return "tried already", false
			}
			return "", true
		}
	},
}

// destinationFilter keeps only the forced hosts or nodes, or the requested
// destination.
var destinationFilter = &filter{
	name:      "RequestedDestination",
	once:      true,
	onRebuild: true,
	prepare: func(sp *spec) check {
		r := sp.req
		return func(c *candidate) (string, bool) {
			if len(r.ForceHosts) > 0 && !slices.Contains(r.ForceHosts, c.h.Host) {
				return "not a forced host", false
			}
			if len(r.ForceNodes) > 0 && !slices.Contains(r.ForceNodes, c.h.Node) {
				return "not a forced node", false
			}
			if d := r.Destination; d != nil {
				if d.Host != "" && d.Host != c.h.Host {
					return "not the requested host", false
				}
				if d.Node != "" && d.Node != c.h.Node {
					return "not the requested node", false
				}
			}
			return "", true
		}
	},
}
