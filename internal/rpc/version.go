package rpc

import (
	"fmt"
	"strconv"
	"strings"
)

// Version is an interface version, major.minor.
type Version struct {
	Major, Minor int
}

// V returns the version major.minor.
func V(major, minor int) Version { return Version{Major: major, Minor: minor} }

// ParseVersion reads "major.minor", both non-negative decimal integers.
func ParseVersion(s string) (Version, error) {
	maj, mnr, ok := strings.Cut(s, ".")
	if !ok {
		return Version{}, fmt.Errorf("version %q is not of the form major.minor", s)
	}
	a, err1 := parseUint(maj)
	b, err2 := parseUint(mnr)
	if err1 != nil || err2 != nil {
		return Version{}, fmt.Errorf("version %q is not of the form major.minor", s)
	}
	return Version{Major: a, Minor: b}, nil
}

// parseUint accepts only plain digits: no sign, no spaces, at most 9 digits.
func parseUint(s string) (int, error) {
	if s == "" || len(s) > 9 || strings.TrimLeft(s, "0123456789") != "" {
		return 0, fmt.Errorf("not a number")
	}
	return strconv.Atoi(s)
}

// String is "major.minor".
func (v Version) String() string { return strconv.Itoa(v.Major) + "." + strconv.Itoa(v.Minor) }

// MarshalText writes "major.minor", so versions travel as JSON strings.
func (v Version) MarshalText() ([]byte, error) { return []byte(v.String()), nil }

// UnmarshalText reads "major.minor".
func (v *Version) UnmarshalText(b []byte) error {
	p, err := ParseVersion(string(b))
	if err != nil {
		return err
	}
	*v = p
	return nil
}

// Less reports whether v comes before w.
func (v Version) Less(w Version) bool {
	return v.Major < w.Major || v.Major == w.Major && v.Minor < w.Minor
}

// Serves reports whether a server implementing v can handle a request for
// requested: the same major, and a minor no newer than v's.
func (v Version) Serves(requested Version) bool {
	return v.Major == requested.Major && requested.Minor <= v.Minor
}

// CheckServes explains why a server implementing v cannot handle requested; nil
// when it can. The error is an *Error of kind UnsupportedVersion.
func (v Version) CheckServes(requested Version, method string) error {
	switch {
	case v.Serves(requested):
		return nil
	case v.Major != requested.Major:
		return Errorf(KindUnsupportedVersion,
			"%s requested version %s, whose major version differs from the %s this server implements", method, requested, v)
	default:
		return Errorf(KindUnsupportedVersion,
			"%s requested version %s, newer than the %s this server implements", method, requested, v)
	}
}
