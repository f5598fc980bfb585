package config

// FilterScheduler is the [filter_scheduler] section: nova's filter scheduler
// options under their upstream names. Filter and weigher names are nova's
// class names; the scheduler refuses unknown ones at start-up.
type FilterScheduler struct {
	EnabledFilters string `ini:"enabled_filters" default:"AvailabilityZoneFilter,ComputeFilter,ComputeCapabilitiesFilter,ImagePropertiesFilter,ServerGroupAntiAffinityFilter,ServerGroupAffinityFilter" help:"Comma-separated filters, in the order they run: AvailabilityZoneFilter, ComputeFilter, ComputeCapabilitiesFilter, ImagePropertiesFilter, ServerGroupAntiAffinityFilter, ServerGroupAffinityFilter, SameHostFilter, DifferentHostFilter, AggregateInstanceExtraSpecsFilter, AggregateMultiTenancyIsolation. The VCPU, RAM and disk checks placement does (CoreFilter, RamFilter, DiskFilter) always run; list them to choose where."`
	WeightClasses  string `ini:"weight_classes" default:"RAMWeigher,CPUWeigher,DiskWeigher,ServerGroupSoftAffinityWeigher,ServerGroupSoftAntiAffinityWeigher" help:"Comma-separated weighers that rank the hosts that pass the filters."`

	RAMWeightMultiplier              float64 `ini:"ram_weight_multiplier" default:"1.0" help:"Weight of free RAM: positive spreads instances over hosts, negative packs them. Aggregate metadata of the same name overrides it for the aggregate's hosts."`
	CPUWeightMultiplier              float64 `ini:"cpu_weight_multiplier" default:"1.0" help:"Weight of free VCPUs: positive spreads, negative packs. Aggregate metadata of the same name overrides it."`
	DiskWeightMultiplier             float64 `ini:"disk_weight_multiplier" default:"1.0" help:"Weight of free disk: positive spreads, negative packs. Aggregate metadata of the same name overrides it."`
	SoftAffinityWeightMultiplier     float64 `ini:"soft_affinity_weight_multiplier" default:"1.0" min:"0" help:"Weight of a host's members of a soft-affinity server group."`
	SoftAntiAffinityWeightMultiplier float64 `ini:"soft_anti_affinity_weight_multiplier" default:"1.0" min:"0" help:"Weight against a host's members of a soft-anti-affinity server group."`

	HostSubsetSize              int    `ini:"host_subset_size" default:"1" min:"1" help:"Choose each instance's host at random among this many of the best; more than 1 lowers the chance that concurrent schedulers pick the same host."`
	ShuffleBestSameWeighedHosts bool   `ini:"shuffle_best_same_weighed_hosts" default:"false" help:"Shuffle the hosts that share the best weight before choosing, so that identical hosts fill evenly."`
	ImagePropertiesDefaultArch  string `ini:"image_properties_default_architecture" choices:"alpha,armv6,armv7l,armv7b,aarch64,cris,i686,ia64,lm32,m68k,microblaze,microblazeel,mips,mipsel,mips64,mips64el,openrisc,parisc,parisc64,ppc,ppcle,ppc64,ppc64le,ppcemb,s390,s390x,sh4,sh4eb,sparc,sparc64,unicore32,x86_64,xtensa,xtensaeb" help:"Architecture ImagePropertiesFilter assumes for images without hw_architecture; empty: none."`
}

// Scheduler is the [scheduler] section.
type Scheduler struct {
	MaxAttempts int `ini:"max_attempts" default:"3" min:"1" help:"Hosts tried per instance before its build fails: the chosen host and max_attempts-1 alternates."`
}
