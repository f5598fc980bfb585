package scheduler

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Names of architectures, hypervisor types and vm modes, canonicalized as
// nova's fields do so that "AMD64" and "x86_64" match.

var architectures = map[string]bool{
	"alpha": true, "armv6": true, "armv7l": true, "armv7b": true, "aarch64": true, "cris": true,
	"i686": true, "ia64": true, "lm32": true, "m68k": true, "microblaze": true,
	"microblazeel": true, "mips": true, "mipsel": true, "mips64": true, "mips64el": true,
	"openrisc": true, "parisc": true, "parisc64": true, "ppc": true, "ppcle": true,
	"ppc64": true, "ppc64le": true, "ppcemb": true, "s390": true, "s390x": true, "sh4": true,
	"sh4eb": true, "sparc": true, "sparc64": true, "unicore32": true, "x86_64": true,
	"xtensa": true, "xtensaeb": true,
}

func canonicalArch(name string) (string, bool) {
	n := strings.ToLower(name)
	switch n {
	case "i386", "i486", "i586", "x86_32", "x86_32p":
		n = "i686"
	case "amd64":
		n = "x86_64"
	}
	return n, architectures[n]
}

var hvTypes = map[string]bool{
	"baremetal": true, "bhyve": true, "docker": true, "fake": true, "hyperv": true, "ironic": true,
	"kqemu": true, "kvm": true, "lxc": true, "lxd": true, "openvz": true, "parallels": true,
	"vz": true, "phyp": true, "qemu": true, "test": true, "uml": true, "vbox": true,
	"vmware": true, "xen": true, "zvm": true, "prsm": true,
}

func canonicalHVType(name string) (string, bool) {
	n := strings.ToLower(name)
	if n == "xapi" {
		n = "xen"
	}
	return n, hvTypes[n]
}

func canonicalVMMode(name string) (string, bool) {
	n := strings.ToLower(name)
	switch n {
	case "pv":
		n = "xen"
	case "hv", "baremetal":
		n = "hvm"
	}
	switch n {
	case "hvm", "xen", "uml", "exe":
		return n, true
	}
	return n, false
}

// versionParts splits nova's integer version (1000 per component):
// 6002000 is [6 2 0].
func versionParts(v int64) []int64 {
	if v <= 0 {
		return []int64{0}
	}
	var parts []int64
	for ; v != 0; v /= 1000 {
		parts = append(parts, v%1000)
	}
	slices.Reverse(parts)
	return parts
}

// versionString renders nova's integer version as dotted text.
func versionString(v int64) string {
	parts := versionParts(v)
	out := make([]string, len(parts))
	for i, p := range parts {
		out[i] = strconv.FormatInt(p, 10)
	}
	return strings.Join(out, ".")
}

// versionPredicate is oslo's VersionPredicate: comma-separated comparisons
// such as ">= 6.0, < 7", all of which must hold.
type versionPredicate []struct {
	op string
	v  []int64
}

func parseVersionPredicate(s string) (versionPredicate, error) {
	var p versionPredicate
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		op := ""
		for _, o := range []string{"<=", ">=", "!=", "==", "<", ">"} {
			if strings.HasPrefix(part, o) {
				op = o
				break
			}
		}
		if op == "" {
			return nil, fmt.Errorf("%q has no comparison operator (<=, >=, <, >, ==, !=)", part)
		}
		v, err := parseVersion(strings.TrimSpace(part[len(op):]))
		if err != nil {
			return nil, err
		}
		p = append(p, struct {
			op string
			v  []int64
		}{op, v})
	}
	return p, nil
}

func parseVersion(s string) ([]int64, error) {
	if s == "" {
		return nil, fmt.Errorf("empty version")
	}
	var out []int64
	for c := range strings.SplitSeq(s, ".") {
		n, err := strconv.ParseInt(c, 10, 64)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("%q is not a dotted version", s)
		}
		out = append(out, n)
	}
	return out, nil
}

// compareVersions compares component-wise, missing components as 0.
func compareVersions(a, b []int64) int {
	for i := range max(len(a), len(b)) {
		var x, y int64
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

func (p versionPredicate) satisfiedBy(v []int64) bool {
	for _, c := range p {
		r := compareVersions(v, c.v)
		ok := false
		switch c.op {
		case "<":
			ok = r < 0
		case "<=":
			ok = r <= 0
		case ">":
			ok = r > 0
		case ">=":
			ok = r >= 0
		case "==":
			ok = r == 0
		case "!=":
			ok = r != 0
		}
		if !ok {
			return false
		}
	}
	return true
}
