package imagehttp

import (
	"net/http"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/image"
)

func TestParseRange(t *testing.T) {
	t.Parallel()
	cases := []struct {
		spec          string
		size          int64
		start, length int64
		ok            bool
	}{
		{"bytes=0-4", 10, 0, 5, true},
		{"bytes=5-", 10, 5, 5, true},
		{"bytes=-3", 10, 7, 3, true},
		{"bytes=-30", 10, 0, 10, true},
		{"bytes=8-100", 10, 8, 2, true},
		{"bytes=10-", 10, 0, 0, false},
		{"bytes=4-2", 10, 0, 0, false},
		{"bytes=0-1,3-4", 10, 0, 0, false},
		{"bytes=-0", 10, 0, 0, false},
		{"items=0-1", 10, 0, 0, false},
		{"bytes=a-b", 10, 0, 0, false},
		{"bytes=-1", 0, 0, 0, false},
	}
	for _, c := range cases {
		start, length, ok := parseRange(c.spec, c.size)
		if ok != c.ok || ok && (start != c.start || length != c.length) {
			t.Errorf("parseRange(%q, %d) = %d, %d, %v; want %d, %d, %v", c.spec, c.size, start, length, ok, c.start, c.length, c.ok)
		}
	}
}

func TestDataStatus(t *testing.T) {
	t.Parallel()
	for kind, want := range map[error]int{
		image.ErrNotFound: 404, image.ErrConflict: 409, image.ErrValidation: 400, image.ErrTooLarge: 413,
		image.ErrGone: 410, image.ErrUnsupported: 415, image.ErrForbidden: 403, image.ErrUnauthorized: 401,
	} {
		if got := dataStatus(&image.Error{Kind: kind, Message: "m"}); got != want {
			t.Errorf("dataStatus(%v) = %d, want %d", kind, got, want)
		}
	}
	if got := dataStatus(http.ErrBodyNotAllowed); got != 500 {
		t.Errorf("unclassified error = %d", got)
	}
}
