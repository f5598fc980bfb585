package format

import (
	"fmt"
	"math"
)

// VirtualBox vdi header fields (the "pre-header" then header version 1.1).
const (
	vdiSignature = 0xbeda107f
	vdiNormal    = 1 // dynamically allocated
	vdiFixed     = 2
)

// vdiSize checks a vdi header and returns its disk size. Undo and
// differencing images depend on a parent and are refused.
func vdiSize(h []byte) (int64, error) {
	if len(h) < 0x178 {
		return 0, truncated("vdi header")
	}
	if t := le32(h[0x4c:]); t != vdiNormal && t != vdiFixed {
		return 0, fmt.Errorf("vdi image type %d is not allowed (only normal and fixed): %w", t, ErrUnsafe)
	}
	size := le64(h[0x170:])
	if size > math.MaxInt64 {
		return 0, fmt.Errorf("vdi disk size %d is out of range: %w", size, ErrUnsafe)
	}
	return int64(size), nil
}
