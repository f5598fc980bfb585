package scheduler

// check decides one host for the request being placed: ok, or the reason it
// is rejected (a short phrase; equal phrases are counted together).
type check func(c *candidate) (reason string, ok bool)

// filter is one of nova's host filters.
type filter struct {
	name string
	// once: the verdict cannot change while the request's instances are
	// placed, so the filter runs for the first instance only (nova's
	// run_filter_once_per_request).
	once bool
	// onRebuild: the filter still applies when a rebuild asks whether the
	// current host suits the new image (nova's RUN_ON_REBUILD).
	onRebuild bool
	// local: the verdict depends only on the host's own state, which
	// changes only when the host is chosen.
	local bool
	// resource: one of the capacity checks placement does, which forced
	// hosts do not skip.
	resource bool
	// prepare reads the request once and returns the check, or nil when
	// the request asks nothing of this filter.
	prepare func(sp *spec) check
	// summarize words the rejections of hosts for the error; nil counts
	// equal reasons.
	summarize func(sp *spec, rejected []*candidate) string
}

// The order filters run in, for one request (see requestChain):
//
//  1. the request's own restrictions, which keep few hosts and cost a
//     comparison each: RetryFilter (hosts tried already), then
//     RequestedDestination (forced or requested hosts);
//  2. enabled_filters in the operator's order, as nova runs them, so that
//     a NoValidHost names the filter the operator expects; the default
//     order puts the cheap checks that remove whole groups of hosts first
//     (AvailabilityZoneFilter, ComputeFilter) and the ones that read more
//     of each host after (ComputeCapabilitiesFilter, ImagePropertiesFilter,
//     then the group filters, which run again for each instance);
//  3. the resource checks placement makes (CoreFilter, RamFilter,
//     DiskFilter) unless enabled_filters placed them, so that a host down
//     or disabled is reported as such rather than as full.
//
// A filter whose prepare finds nothing to check in the request drops out
// of the chain; each filter's per-request work (parsing extra specs, image
// properties, canonical names, group membership) is done once in prepare,
// and its check reads the host without allocating.

// filters are the filters enabled_filters may name.
var filters = map[string]*filter{
	"AvailabilityZoneFilter":            availabilityZoneFilter,
	"ComputeFilter":                     computeFilter,
	"ComputeCapabilitiesFilter":         computeCapabilitiesFilter,
	"ImagePropertiesFilter":             imagePropertiesFilter,
	"ServerGroupAntiAffinityFilter":     serverGroupAntiAffinityFilter,
	"ServerGroupAffinityFilter":         serverGroupAffinityFilter,
	"SameHostFilter":                    sameHostFilter,
	"DifferentHostFilter":               differentHostFilter,
	"AggregateInstanceExtraSpecsFilter": aggregateInstanceExtraSpecsFilter,
	"AggregateMultiTenancyIsolation":    aggregateMultiTenancyIsolation,
	"CoreFilter":                        coreFilter,
	"RamFilter":                         ramFilter,
	"DiskFilter":                        diskFilter,
}

// resourceFilters are the capacity checks, in the order they run when the
// configuration does not place them.
var resourceFilters = []*filter{coreFilter, ramFilter, diskFilter}
