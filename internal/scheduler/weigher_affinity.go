package scheduler

// The soft group weighers implement the soft-affinity and soft-anti-affinity
// policies: no host is refused, but hosts with more of the group's servers
// rank higher (soft-affinity) or lower (soft-anti-affinity). Values are
// normalized over the hosts being ranked, so the host with the most members
// gets the whole multiplier.

// softAffinityWeigher is nova's ServerGroupSoftAffinityWeigher.
var softAffinityWeigher = &weigher{
	name:       "ServerGroupSoftAffinityWeigher",
	option:     "soft_affinity_weight_multiplier",
	multiplier: func(o *Options) float64 { return o.SoftAffinityWeightMultiplier },
	prepare:    groupMembersValue(PolicySoftAffinity, 1),
}

// softAntiAffinityWeigher is nova's ServerGroupSoftAntiAffinityWeigher.
var softAntiAffinityWeigher = &weigher{
	name:       "ServerGroupSoftAntiAffinityWeigher",
	option:     "soft_anti_affinity_weight_multiplier",
	multiplier: func(o *Options) float64 { return o.SoftAntiAffinityWeightMultiplier },
	prepare:    groupMembersValue(PolicySoftAntiAffinity, -1),
}

// groupMembersValue weighs sign * the group's members on the host, for
// requests whose group has policy.
func groupMembersValue(policy string, sign float64) func(sp *spec) func(c *candidate) float64 {
	return func(sp *spec) func(c *candidate) float64 {
		if g := sp.req.Group; g == nil || g.Policy != policy {
			return nil
		}
		return func(c *candidate) float64 { return sign * float64(c.groupCount) }
	}
}
