package scheduler

// computeFilter is nova's ComputeFilter: only hosts whose compute service is
// enabled and up take instances.
var computeFilter = &filter{
	name: "ComputeFilter",
	once: true,
	prepare: func(*spec) check {
		// Hosts disabled for one reason share its wording, made once.
		var worded map[string]string
		return func(c *candidate) (string, bool) {
			switch {
			case c.h.Disabled && c.h.DisabledReason != "":
				r, ok := worded[c.h.DisabledReason]
				if !ok {
					if worded == nil {
						worded = map[string]string{}
					}
					r = "disabled: " + c.h.DisabledReason
					worded[c.h.DisabledReason] = r
				}
				return r, false
			case c.h.Disabled:
				return "disabled", false
			case !c.h.Up:
				return "down", false
			}
			return "", true
		}
	},
}
