package scheduler

// The resource weighers prefer hosts with more of a resource free, so that
// instances spread by default; a negative multiplier prefers the fullest
// hosts, packing them. Like nova's, they count what is free below the
// allocation ratio for RAM and disk and above it for CPU, and normalize with
// 0 as the low end.

// ramWeigher is nova's RAMWeigher: free MEMORY_MB.
var ramWeigher = &weigher{
	name:       "RAMWeigher",
	option:     "ram_weight_multiplier",
	multiplier: func(o *Options) float64 { return o.RAMWeightMultiplier },
	hasMin:     true,
	prepare: func(*spec) func(c *candidate) float64 {
		return func(c *candidate) float64 {
			m := c.h.MemoryMB
			return float64(m.Total - m.Reserved - m.Used - c.extra.MemoryMB)
		}
	},
}

// cpuWeigher is nova's CPUWeigher: free VCPUs after overcommit.
var cpuWeigher = &weigher{
	name:       "CPUWeigher",
	option:     "cpu_weight_multiplier",
	multiplier: func(o *Options) float64 { return o.CPUWeightMultiplier },
	hasMin:     true,
	prepare: func(*spec) func(c *candidate) float64 {
		return func(c *candidate) float64 {
			v := c.h.VCPU
			return float64(v.Total)*v.ratio() - float64(v.Used+c.extra.VCPU)
		}
	},
}

// diskWeigher is nova's DiskWeigher: free disk, in MB as nova counts it.
var diskWeigher = &weigher{
	name:       "DiskWeigher",
	option:     "disk_weight_multiplier",
	multiplier: func(o *Options) float64 { return o.DiskWeightMultiplier },
	hasMin:     true,
	prepare: func(*spec) func(c *candidate) float64 {
		return func(c *candidate) float64 {
			d := c.h.DiskGB
			return float64(d.Total-d.Reserved-d.Used-c.extra.DiskGB) * 1024
		}
	},
}
