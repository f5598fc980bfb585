package computehttp

import (
	"net/netip"
	"regexp"

	"github.com/nimbus-cloud/nimbus/internal/compute"
)

// formatCheckers are nova's format checkers that are not names
// (nova/api/validation/validators.py and jsonschema's own).
var formatCheckers = map[string]func(string) bool{
	"base64":    compute.ValidBase64,
	"ipv4":      func(s string) bool { a, err := netip.ParseAddr(s); return err == nil && a.Is4() },
	"ipv6":      func(s string) bool { a, err := netip.ParseAddr(s); return err == nil && a.Is6() && a.Zone() == "" },
	"date-time": func(s string) bool { _, err := compute.ParseISOTime(s); return err == nil },
	"regex":     func(s string) bool { _, err := regexp.Compile(s); return s != "" && err == nil },
}
