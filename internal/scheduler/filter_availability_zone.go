package scheduler

import "strings"

// availabilityZoneFilter is nova's AvailabilityZoneFilter: a request for a
// zone goes to hosts in it. A host's zones are those its aggregates'
// availability_zone metadata name; a host in no such aggregate is in its
// resolved zone or, failing that, the default zone.
var availabilityZoneFilter = &filter{
	name: "AvailabilityZoneFilter",
	once: true,
	prepare: func(sp *spec) check {
		want := sp.req.AvailabilityZone
		if want == "" {
			return nil
		}
		return func(c *candidate) (string, bool) {
			zone, ok := "", false
			for _, a := range c.h.Aggregates {
				v, has := a.Metadata["availability_zone"]
				if !has {
					continue
				}
				for z := range strings.SplitSeq(v, ",") {
					z = strings.TrimSpace(z)
					if z == want {
						return "", true
					}
					if !ok {
						zone, ok = z, true
					}
				}
			}
			if !ok {
				zone = c.h.AvailabilityZone
				if zone == "" {
					zone = sp.opts.DefaultAvailabilityZone
				}
				if zone == want {
					return "", true
				}
			}
			return zone, false // worded by summarize; no allocation per host
		}
	},
	summarize: func(sp *spec, rejected []*candidate) string {
		return "zone " + sp.req.AvailabilityZone + " requested; " +
			countReasons(rejected, func(zone string) string { return "in zone " + zone })
	},
}
