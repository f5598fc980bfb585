package scheduler

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// computeCapabilitiesFilter is nova's ComputeCapabilitiesFilter: flavor extra
// specs in the capabilities scope ("capabilities:hypervisor_type",
// "capabilities:cpu_info:arch") must match what the host reports, in extra
// spec operator language. An unscoped key is checked too when it names a
// host attribute or stat, and ignored otherwise; other scopes are ignored.
// hw:maxphysaddr_bits asks for at least that many physical address bits.
var computeCapabilitiesFilter = &filter{
	name: "ComputeCapabilitiesFilter",
	once: true,
	prepare: func(sp *spec) check {
		// Each requirement, its path and the reason of a host without it
		// are made once per request.
		type want struct {
			path     []string
			req      specReq
			unscoped bool
			name     string // the path, as the reasons name it
			missing  string
		}
		var wants []want
		add := func(path []string, req string, unscoped bool) {
			name := strings.Join(path, ":")
			wants = append(wants, want{path: path, req: parseSpec(req), unscoped: unscoped, name: name,
				missing: "reports no " + name})
		}
		for key, req := range sp.req.Flavor.ExtraSpecs {
			if key == "hw:maxphysaddr_bits" {
				add([]string{"cpu_info", "maxphysaddr", "bits"}, ">= "+req, false)
				continue
			}
			path := strings.Split(key, ":")
			switch {
			case len(path) == 1:
				add(path, req, true)
			case path[0] == "capabilities":
				add(path[1:], req, false)
			}
		}
		if len(wants) == 0 {
			return nil
		}
		// In the order of their names, so that a host failing several is
		// always reported by the same one.
		slices.SortFunc(wants, func(a, b want) int { return strings.Compare(a.name, b.name) })
		return func(c *candidate) (string, bool) {
			for i := range wants {
				w := &wants[i]
				if w.unscoped && !hasCapability(c.h, w.path[0]) {
					continue
				}
				v, ok := capability(c, w.path)
				if !ok {
					return w.missing, false
				}
				if !w.req.match(v) {
					return fmt.Sprintf("%s is %s, not %s", w.name, v, w.req.raw), false
				}
			}
			return "", true
		}
	},
}

// hostAttributes are the HostState attributes capabilities may name, as
// nova's HostState calls them.
var hostAttributes = map[string]bool{
	"host": true, "nodename": true, "hypervisor_hostname": true, "hypervisor_type": true,
	"hypervisor_version": true, "cpu_info": true, "vcpus_total": true, "vcpus_used": true,
	"total_usable_ram_mb": true, "free_ram_mb": true, "total_usable_disk_gb": true,
	"free_disk_mb": true, "num_instances": true, "cpu_allocation_ratio": true,
	"ram_allocation_ratio": true, "disk_allocation_ratio": true,
}

func hasCapability(h *HostState, name string) bool {
	if hostAttributes[name] {
		return true
	}
	_, ok := h.Stats[name]
	return ok
}

// pyFloat renders like Python's str(float), which nova's specs are
// written against: 16.0, not 16.
type pyFloat float64

// capability is the host's value at path, rendered as nova's str() would;
// JSON text met on the way is decoded, as nova does with cpu_info.
func capability(c *candidate, path []string) (string, bool) {
	if v, ok, known := directCapability(c, path); known {
		return v, ok
	}
	return attributeAt(c, path)
}

// directCapability renders the capabilities that are one value (a host
// attribute, a stat, a field of cpu_info) without boxing it or building
// cpu_info's map for every host: known is false for the others, which
// attributeAt reads. The values render as attributeAt renders them.
func directCapability(c *candidate, path []string) (v string, ok, known bool) {
	if len(path) != 1 {
		return cpuInfoLeaf(&c.h.CPUInfo, path)
	}
	h := c.h
	itoa := func(n int64) (string, bool, bool) { return strconv.FormatInt(n, 10), true, true }
	switch path[0] {
	case "host":
		return h.Host, true, true
	case "nodename", "hypervisor_hostname":
		return h.Node, true, true
	case "hypervisor_type":
		return h.HypervisorType, true, true
	case "hypervisor_version":
		return itoa(h.HypervisorVersion)
	case "cpu_info":
		return "", false, false
	case "vcpus_total":
		return itoa(h.VCPU.Total)
	case "vcpus_used":
		return itoa(h.VCPU.Used + c.extra.VCPU)
	case "total_usable_ram_mb":
		return itoa(h.MemoryMB.Total)
	case "free_ram_mb":
		return itoa(h.MemoryMB.Total - h.MemoryMB.Reserved - h.MemoryMB.Used - c.extra.MemoryMB)
	case "total_usable_disk_gb":
		return itoa(h.DiskGB.Total)
	case "free_disk_mb":
		return itoa((h.DiskGB.Total - h.DiskGB.Reserved - h.DiskGB.Used - c.extra.DiskGB) * 1024)
	case "num_instances":
		return itoa(int64(len(h.Instances) + c.placed))
	case "cpu_allocation_ratio":
		return pyFloatString(h.VCPU.ratio()), true, true
	case "ram_allocation_ratio":
		return pyFloatString(h.MemoryMB.ratio()), true, true
	case "disk_allocation_ratio":
		return pyFloatString(h.DiskGB.ratio()), true, true
	}
	v, ok = h.Stats[path[0]]
	return v, ok, true
}

// attributeAt walks path through the host's attributes.
func attributeAt(c *candidate, path []string) (string, bool) {
	v, ok := hostAttribute(c, path[0])
	if !ok {
		return "", false
	}
	for _, p := range path[1:] {
		if s, isText := v.(string); isText {
			var decoded any
			if json.Unmarshal([]byte(s), &decoded) != nil {
				return "", false
			}
			v = decoded
		}
		m, isMap := v.(map[string]any)
		if !isMap {
			return "", false
		}
		if v, ok = m[p]; !ok || v == nil {
			return "", false
		}
	}
	return pyString(v), true
}

// cpuInfoLeaf reads the cpu_info values that are single fields; known is
// false for other paths.
func cpuInfoLeaf(ci *CPUInfo, path []string) (v string, ok, known bool) {
	if len(path) < 2 || path[0] != "cpu_info" {
		return "", false, false
	}
	switch {
	case len(path) == 2 && path[1] == "arch":
		return ci.Arch, true, true
	case len(path) == 2 && path[1] == "vendor":
		return ci.Vendor, true, true
	case len(path) == 2 && path[1] == "model":
		return ci.Model, true, true
	case len(path) == 3 && path[1] == "topology":
		switch path[2] {
		case "sockets":
			return strconv.Itoa(ci.Topology.Sockets), true, true
		case "cores":
			return strconv.Itoa(ci.Topology.Cores), true, true
		case "threads":
			return strconv.Itoa(ci.Topology.Threads), true, true
		}
	case len(path) == 3 && path[1] == "maxphysaddr" && path[2] == "bits":
		if ci.MaxPhysAddrBits > 0 {
			return strconv.Itoa(ci.MaxPhysAddrBits), true, true
		}
		return "", false, true
	}
	return "", false, false
}

func hostAttribute(c *candidate, name string) (any, bool) {
	h := c.h
	switch name {
	case "host":
		return h.Host, true
	case "nodename", "hypervisor_hostname":
		return h.Node, true
	case "hypervisor_type":
		return h.HypervisorType, true
	case "hypervisor_version":
		return h.HypervisorVersion, true
	case "cpu_info":
		return cpuInfoMap(h.CPUInfo), true
	case "vcpus_total":
		return h.VCPU.Total, true
	case "vcpus_used":
		return h.VCPU.Used + c.extra.VCPU, true
	case "total_usable_ram_mb":
		return h.MemoryMB.Total, true
	case "free_ram_mb":
		return h.MemoryMB.Total - h.MemoryMB.Reserved - h.MemoryMB.Used - c.extra.MemoryMB, true
	case "total_usable_disk_gb":
		return h.DiskGB.Total, true
	case "free_disk_mb":
		return (h.DiskGB.Total - h.DiskGB.Reserved - h.DiskGB.Used - c.extra.DiskGB) * 1024, true
	case "num_instances":
		return int64(len(h.Instances) + c.placed), true
	case "cpu_allocation_ratio":
		return pyFloat(h.VCPU.ratio()), true
	case "ram_allocation_ratio":
		return pyFloat(h.MemoryMB.ratio()), true
	case "disk_allocation_ratio":
		return pyFloat(h.DiskGB.ratio()), true
	}
	v, ok := h.Stats[name]
	return v, ok
}

func cpuInfoMap(ci CPUInfo) map[string]any {
	features := make([]any, len(ci.Features))
	for i, f := range ci.Features {
		features[i] = f
	}
	m := map[string]any{
		"arch": ci.Arch, "vendor": ci.Vendor, "model": ci.Model, "features": features,
		"topology": map[string]any{"sockets": int64(ci.Topology.Sockets), "cores": int64(ci.Topology.Cores), "threads": int64(ci.Topology.Threads)},
	}
	if ci.MaxPhysAddrBits > 0 {
		m["maxphysaddr"] = map[string]any{"bits": int64(ci.MaxPhysAddrBits)}
	}
	return m
}

// pyFloatString renders f as Python's str(float) does.
func pyFloatString(f float64) string {
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsAny(s, ".eE") {
		s += ".0"
	}
	return s
}

// pyString renders v as Python's str() renders the same value.
func pyString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case pyFloat:
		return pyFloatString(float64(x))
	case float64: // a JSON number: Python decodes integral ones as int
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		if x {
			return "True"
		}
		return "False"
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			if s, ok := e.(string); ok {
				parts[i] = "'" + s + "'"
			} else {
				parts[i] = pyString(e)
			}
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
