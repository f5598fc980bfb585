package scheduler

import (
	"slices"
	"strings"
)

// aggregateInstanceExtraSpecsFilter is nova's
// AggregateInstanceExtraSpecsFilter: every flavor extra spec that has no
// scope, or the aggregate_instance_extra_specs scope, must be matched by the
// metadata of one of the host's aggregates (comma-separated values, any one
// matching, in extra spec operator language).
var aggregateInstanceExtraSpecsFilter = &filter{
	name: "AggregateInstanceExtraSpecsFilter",
	once: true,
	prepare: func(sp *spec) check {
		// Each requirement and its reasons are made once per request.
		type want struct {
			key             string
			req             specReq
			unset, mismatch string
		}
		var wants []want
		for key, req := range sp.req.Flavor.ExtraSpecs {
			scope, rest, scoped := strings.Cut(key, ":")
			switch {
			case !scoped:
			case scope == "aggregate_instance_extra_specs":
				key = rest
			default:
				continue
			}
			wants = append(wants, want{key: key, req: parseSpec(req), unset: "no aggregate sets " + key,
				mismatch: "aggregate " + key + " does not match " + req})
		}
		if len(wants) == 0 {
			return nil
		}
		// In the order of their keys, so that a host failing several is
		// always reported by the same one.
		slices.SortFunc(wants, func(a, b want) int { return strings.Compare(a.key, b.key) })
		return func(c *candidate) (string, bool) {
			for i := range wants {
				w := &wants[i]
				found, matched := false, false
				for _, a := range c.h.Aggregates {
					v, ok := a.Metadata[w.key]
					if !ok {
						continue
					}
					found = true
					for val := range strings.SplitSeq(v, ",") {
						if w.req.match(strings.TrimSpace(val)) {
							matched = true
							break
						}
					}
					if matched {
						break
					}
				}
				if !found {
					return w.unset, false
				}
				if !matched {
					return w.mismatch, false
				}
			}
			return "", true
		}
	},
}

// aggregateMultiTenancyIsolation is nova's AggregateMultiTenancyIsolation:
// a host in an aggregate whose filter_tenant_id* metadata names projects
// takes only those projects' instances; other hosts take anyone's.
var aggregateMultiTenancyIsolation = &filter{
	name: "AggregateMultiTenancyIsolation",
	once: true,
	prepare: func(sp *spec) check {
		project := sp.req.ProjectID
		return func(c *candidate) (string, bool) {
			restricted := false
			for _, a := range c.h.Aggregates {
				for k, v := range a.Metadata {
					if !strings.HasPrefix(k, "filter_tenant_id") {
						continue
					}
					for id := range strings.SplitSeq(v, ",") {
						id = strings.TrimSpace(id)
						if id == project {
							return "", true
						}
						restricted = restricted || id != ""
					}
				}
			}
			if restricted {
				return "isolated to other projects", false
			}
			return "", true
		}
	},
}
