package api

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Version is an API microversion such as 2.79.
type Version struct{ Major, Minor int }

// String formats the version as "2.79".
func (v Version) String() string { return fmt.Sprintf("%d.%d", v.Major, v.Minor) }

// Less reports whether v is older than o.
func (v Version) Less(o Version) bool {
	return v.Major < o.Major || (v.Major == o.Major && v.Minor < o.Minor)
}

// AtLeast reports whether v is o or newer.
func (v Version) AtLeast(o Version) bool { return !v.Less(o) }

// ParseVersion reads "2.79".
func ParseVersion(s string) (Version, error) {
	maj, min, ok := strings.Cut(strings.TrimSpace(s), ".")
	a, err1 := strconv.Atoi(maj)
	b, err2 := strconv.Atoi(min)
	if !ok || err1 != nil || err2 != nil || a < 0 || b < 0 {
		return Version{}, fmt.Errorf("invalid microversion %q", s)
	}
	return Version{a, b}, nil
}

// Microversions describes one service's supported range and headers.
type Microversions struct {
	// Service is the name in "OpenStack-API-Version: <service> 2.79" ("compute").
	Service string
	// LegacyHeader is the pre-standard header, e.g. "X-OpenStack-Nova-API-Version".
	LegacyHeader string
	Min, Max     Version
}

// Negotiate picks the microversion a request asks for: the minimum when it asks for
// none, the maximum for "latest". A malformed or unsupported version is a 400 or a
// 406 as upstream. It sets the response headers that echo the version.
func (m Microversions) Negotiate(w http.ResponseWriter, r *http.Request) (Version, *Error) {
	raw := ""
	for _, h := range r.Header.Values("OpenStack-API-Version") {
		for _, part := range strings.Split(h, ",") {
			svc, ver, ok := strings.Cut(strings.TrimSpace(part), " ")
			if ok && strings.EqualFold(svc, m.Service) {
				raw = strings.TrimSpace(ver)
			}
		}
	}
	if raw == "" && m.LegacyHeader != "" {
		raw = strings.TrimSpace(r.Header.Get(m.LegacyHeader))
	}
	v := m.Min
	switch {
	case raw == "":
	case strings.EqualFold(raw, "latest"):
		v = m.Max
	default:
		parsed, err := ParseVersion(raw)
		if err != nil {
			return Version{}, BadRequest("Invalid API version request: %q is not of the form major.minor.", raw)
		}
		if parsed.Less(m.Min) || m.Max.Less(parsed) {
			return Version{}, Errorf(http.StatusNotAcceptable,
				"Version %s is not supported by the API. Minimum is %s and maximum is %s.", parsed, m.Min, m.Max)
		}
		v = parsed
	}
	h := w.Header()
	h.Set("OpenStack-API-Version", m.Service+" "+v.String())
	if m.LegacyHeader != "" {
		h.Set(m.LegacyHeader, v.String())
	}
	h.Add("Vary", "OpenStack-API-Version")
	if m.LegacyHeader != "" {
		h.Add("Vary", m.LegacyHeader)
	}
	return v, nil
}
