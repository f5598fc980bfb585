package scheduler

import (
	"fmt"
	"strconv"
	"strings"
)

// imagePropertiesFilter is nova's ImagePropertiesFilter: an image that names
// an architecture (hw_architecture, or image_properties_default_architecture),
// a hypervisor type (img_hv_type) or a vm mode (hw_vm_mode) runs only on
// hosts that list a matching supported instance, whose hypervisor version
// satisfies img_hv_requested_version and whose CPU has at least
// hw_maxphysaddr_bits physical address bits, when those are set and known.
var imagePropertiesFilter = &filter{
	name:      "ImagePropertiesFilter",
	once:      true,
	onRebuild: true,
	prepare: func(sp *spec) check {
		props := sp.req.ImageProperties
		arch := props["hw_architecture"]
		if arch == "" {
			arch = sp.opts.ImagePropertiesDefaultArchitecture
		}
		hvType, vmMode := props["img_hv_type"], props["hw_vm_mode"]
		if arch == "" && hvType == "" && vmMode == "" {
			return nil
		}
		req, err := newImageRequirement(arch, hvType, vmMode, props)
		if err != nil {
			reason := err.Error()
			return func(*candidate) (string, bool) { return reason, false }
		}
		return req.check
	},
}

// imageRequirement is what an image asks of a host, canonicalized.
type imageRequirement struct {
	arch, hvType, vmMode string
	version              versionPredicate
	versionText          string
	bits                 int
	wanted               string // "hw_architecture=aarch64, img_hv_type=kvm"
}

func newImageRequirement(arch, hvType, vmMode string, props map[string]string) (*imageRequirement, error) {
	r := &imageRequirement{}
	var wanted []string
	if arch != "" {
		a, ok := canonicalArch(arch)
		if !ok {
			return nil, fmt.Errorf("image hw_architecture %q is not a known architecture", arch)
		}
		r.arch = a
		wanted = append(wanted, "hw_architecture="+a)
	}
	if hvType != "" {
		h, ok := canonicalHVType(hvType)
		if !ok {
			return nil, fmt.Errorf("image img_hv_type %q is not a known hypervisor type", hvType)
		}
		r.hvType = h
		wanted = append(wanted, "img_hv_type="+h)
	}
	if vmMode != "" {
		m, ok := canonicalVMMode(vmMode)
		if !ok {
			return nil, fmt.Errorf("image hw_vm_mode %q is not a known vm mode", vmMode)
		}
		r.vmMode = m
		wanted = append(wanted, "hw_vm_mode="+m)
	}
	r.wanted = strings.Join(wanted, ", ")
	if v := props["img_hv_requested_version"]; v != "" {
		p, err := parseVersionPredicate(v)
		if err != nil {
			return nil, fmt.Errorf("image img_hv_requested_version %q: %v", v, err)
		}
		r.version, r.versionText = p, v
	}
	if b := props["hw_maxphysaddr_bits"]; b != "" {
		n, err := strconv.Atoi(b)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("image hw_maxphysaddr_bits %q is not a positive integer", b)
		}
		r.bits = n
	}
	return r, nil
}

func (r *imageRequirement) check(c *candidate) (string, bool) {
	h := c.h
	if len(h.SupportedInstances) == 0 {
		return "reports no supported instances", false
	}
	propsMatch, versionMatch := false, false
	for _, si := range h.SupportedInstances {
		if !r.matches(si) {
			continue
		}
		propsMatch = true
		if !r.versionOK(h) {
			continue
		}
		versionMatch = true
		if r.bits > 0 && h.CPUInfo.MaxPhysAddrBits > 0 && h.CPUInfo.MaxPhysAddrBits < r.bits {
			continue
		}
		return "", true
	}
	switch {
	case !propsMatch:
		return "supports no " + r.wanted, false
	case !versionMatch:
		return fmt.Sprintf("hypervisor version %s does not satisfy img_hv_requested_version %s",
			versionString(h.HypervisorVersion), r.versionText), false
	}
	return fmt.Sprintf("CPU has %d physical address bits, image needs %d", h.CPUInfo.MaxPhysAddrBits, r.bits), false
}

// matches compares canonical names; a host's name equal to the image's
// canonical one is canonical already, which spares the lookups for the
// usual host.
func (r *imageRequirement) matches(si SupportedInstance) bool {
	if r.arch != "" && si.Arch != r.arch {
		if a, _ := canonicalArch(si.Arch); a != r.arch {
			return false
		}
	}
	if r.hvType != "" && si.HypervisorType != r.hvType {
		if h, _ := canonicalHVType(si.HypervisorType); h != r.hvType {
			return false
		}
	}
	if r.vmMode != "" && si.VMMode != r.vmMode {
		if m, _ := canonicalVMMode(si.VMMode); m != r.vmMode {
			return false
		}
	}
	return true
}

// versionOK: an unknown hypervisor version, or no requested one, passes.
func (r *imageRequirement) versionOK(h *HostState) bool {
	if r.version == nil || h.HypervisorVersion <= 0 {
		return true
	}
	return r.version.satisfiedBy(versionParts(h.HypervisorVersion))
}
