package scheduler

import (
	"fmt"
	"strings"
)

// The resource checks are what placement does before nova's filters run:
// an instance fits a host when what it needs of each resource class is at
// most the host's free capacity ((total - reserved) * allocation_ratio -
// used) and at most the inventory's max_unit. They carry the names of the
// filters nova had for this before placement (CoreFilter, RamFilter,
// DiskFilter), run on every request but rebuilds, and count what earlier
// instances of the same request took.

var coreFilter = resourceFilter("CoreFilter", "VCPU", "VCPUs",
	func(h *HostState) Inventory { return h.VCPU },
	func(r Resources) int64 { return r.VCPU })

var ramFilter = resourceFilter("RamFilter", "MEMORY_MB", "MB",
	func(h *HostState) Inventory { return h.MemoryMB },
	func(r Resources) int64 { return r.MemoryMB })

var diskFilter = resourceFilter("DiskFilter", "DISK_GB", "GB",
	func(h *HostState) Inventory { return h.DiskGB },
	func(r Resources) int64 { return r.DiskGB })

// Reasons of the resource checks; the summary words them with amounts.
const (
	reasonNoCapacity = "not enough free"
	reasonMaxUnit    = "over max_unit"
	reasonNoInv      = "no inventory"
)

func resourceFilter(name, class, unit string, inv func(*HostState) Inventory, amount func(Resources) int64) *filter {
	return &filter{
		name:     name,
		resource: true,
		local:    true,
		prepare: func(sp *spec) check {
			need := amount(sp.need)
			if need == 0 {
				return nil
			}
			return func(c *candidate) (string, bool) {
				i := inv(c.h)
				if i.Total <= 0 {
					return reasonNoInv, false
				}
				if need > i.maxUnit() {
					return reasonMaxUnit, false
				}
				if need > i.free(amount(c.extra)) {
					return reasonNoCapacity, false
				}
				return "", true
			}
		},
		summarize: func(sp *spec, rejected []*candidate) string {
			need := amount(sp.need)
			full, over, none := 0, 0, 0
			var bestFree, bestUnit int64
			for _, c := range rejected {
				i := inv(c.h)
				switch c.reason {
				case reasonNoInv:
					none++
				case reasonMaxUnit:
					if over == 0 || i.maxUnit() > bestUnit {
						bestUnit = i.maxUnit()
					}
					over++
				default:
					if f := max(i.free(amount(c.extra)), 0); full == 0 || f > bestFree {
						bestFree = f
					}
					full++
				}
			}
			parts := []string{fmt.Sprintf("needs %d %s", need, unit)}
			if full > 0 {
				s := fmt.Sprintf("best had %d %s free", bestFree, unit)
				if over > 0 || none > 0 {
					s = fmt.Sprintf("%d without enough free, best had %d %s", full, bestFree, unit)
				}
				parts = append(parts, s)
			}
			if over > 0 {
				parts = append(parts, fmt.Sprintf("over the %s max_unit of %d %s (at most %d %s)",
					class, over, plural(over, "host", "hosts"), bestUnit, unit))
			}
			if none > 0 {
				parts = append(parts, fmt.Sprintf("%d without %s inventory", none, class))
			}
			return strings.Join(parts, ", ")
		},
	}
}
