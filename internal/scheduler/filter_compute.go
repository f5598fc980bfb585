package scheduler

// computeFilter is nova's ComputeFilter: only hosts whose compute service is
// enabled and up take instances.
var computeFilter = &filter{
	name: "ComputeFilter",
	once: true,
	prepare: func(*spec) check {
		return func(c *candidate) (string, bool) {
			switch {
			case c.h.Disabled && c.h.DisabledReason != "":
				return "disabled: " + c.h.DisabledReason, false
			case c.h.Disabled:
				return "disabled", false
			case !c.h.Up:
				return "down", false
			}
			return "", true
		}
	},
}
