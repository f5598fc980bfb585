package computehttp

import (
	"strings"
	"unicode"

	"github.com/google/uuid"
)

// printable is nova's notion of a printable character: any character of the
// Basic Multilingual Plane but controls, formats, unassigned and private use
// (Unicode category C) and separators other than spaces (Zl, Zp). Nova
// builds its name patterns from the BMP only, so characters beyond it (emoji)
// are not printable to nova either.
func printable(r rune) bool {
	if r >= 0xFFFF {
		return false
	}
	if unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co, unicode.Cs) || !unicode.In(r, unicode.L, unicode.M,
		unicode.N, unicode.P, unicode.S, unicode.Z) {
		return false
	}
	return !unicode.In(r, unicode.Zl, unicode.Zp)
}

// space is a printable space separator (Zs).
func space(r rune) bool { return unicode.Is(unicode.Zs, r) }

// validName is nova's "name" format: printable characters, not starting or
// ending with a space. The empty string passes (minLength refuses it).
func validName(s string) bool {
	rs := []rune(s)
	for _, r := range rs {
		if !printable(r) {
			return false
		}
	}
	return len(rs) == 0 || (!space(rs[0]) && !space(rs[len(rs)-1]))
}

// validNameWithSpaces is nova's "name_with_leading_trailing_spaces" format:
// printable characters, at least one of them not a space.
func validNameWithSpaces(s string) bool {
	seen := false
	for _, r := range s {
		if !printable(r) {
			return false
		}
		seen = seen || !space(r)
	}
	return seen
}

// validDescription is nova's description pattern: printable characters.
func validDescription(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return !printable(r) }) < 0
}

// isUUID is oslo's is_uuid_like: a UUID with or without hyphens or braces,
// in any case.
func isUUID(s string) bool {
	_, err := uuid.Parse(s)
	return err == nil
}
