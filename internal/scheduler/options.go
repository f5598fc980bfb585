package scheduler

import (
	"math/rand/v2"
	"strings"
)

// Options are the scheduler's settings: nova's [filter_scheduler] and
// [scheduler] options, plus the [DEFAULT] default_availability_zone the
// AvailabilityZoneFilter falls back to.
type Options struct {
	// EnabledFilters are filter names in the order they run.
	EnabledFilters []string
	// WeightClasses are the weigher names that rank hosts.
	WeightClasses []string

	RAMWeightMultiplier              float64
	CPUWeightMultiplier              float64
	DiskWeightMultiplier             float64
	SoftAffinityWeightMultiplier     float64
	SoftAntiAffinityWeightMultiplier float64

	// HostSubsetSize is how many of the best hosts the choice is random
	// among; 1 takes the best.
	HostSubsetSize int
	// ShuffleBestSameWeighedHosts shuffles the hosts that share the best
	// weight before the choice.
	ShuffleBestSameWeighedHosts bool
	// MaxAttempts bounds the hosts returned per instance: the primary and
	// MaxAttempts-1 alternates.
	MaxAttempts int

	// ImagePropertiesDefaultArchitecture is assumed for images without
	// hw_architecture; "" assumes none.
	ImagePropertiesDefaultArchitecture string
	DefaultAvailabilityZone            string

	// Rand drives host_subset_size and the shuffle; nil seeds one randomly.
	// Tests pass a seeded source for repeatable choices.
	Rand *rand.Rand
}

// DefaultFilters is nova's default enabled_filters with the
// AvailabilityZoneFilter in front: nova dropped that filter once placement
// enforced zones through aggregates, but Select must also enforce them on
// HostStates alone.
var DefaultFilters = []string{
	"AvailabilityZoneFilter",
	"ComputeFilter",
	"ComputeCapabilitiesFilter",
	"ImagePropertiesFilter",
	"ServerGroupAntiAffinityFilter",
	"ServerGroupAffinityFilter",
}

// DefaultWeighers are every weigher this package has, as nova's
// all_weighers.
var DefaultWeighers = []string{
	"RAMWeigher",
	"CPUWeigher",
	"DiskWeigher",
	"ServerGroupSoftAffinityWeigher",
	"ServerGroupSoftAntiAffinityWeigher",
}

// DefaultOptions returns nova's defaults.
func DefaultOptions() Options {
	return Options{
		EnabledFilters:                   append([]string(nil), DefaultFilters...),
		WeightClasses:                    append([]string(nil), DefaultWeighers...),
		RAMWeightMultiplier:              1,
		CPUWeightMultiplier:              1,
		DiskWeightMultiplier:             1,
		SoftAffinityWeightMultiplier:     1,
		SoftAntiAffinityWeightMultiplier: 1,
		HostSubsetSize:                   1,
		MaxAttempts:                      3,
		DefaultAvailabilityZone:          "nova",
	}
}

// ParseNames splits a comma-separated option (enabled_filters,
// weight_classes) into names, dropping blanks.
func ParseNames(list string) []string {
	var out []string
	for name := range strings.SplitSeq(list, ",") {
		if name = strings.TrimSpace(name); name != "" {
			out = append(out, name)
		}
	}
	return out
}
