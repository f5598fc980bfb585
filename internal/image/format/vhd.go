package format

import (
	"fmt"
	"math"
)

// vhd disk types (Virtual Hard Disk Image Format Specification, footer).
const (
	vhdFooterSize   = 512
	vhdFixed        = 2
	vhdDynamic      = 3
	vhdDifferencing = 4
)

// dynamicVHDSize checks a dynamic vhd, whose footer is copied at offset 0,
// and returns its virtual size.
func dynamicVHDSize(p []byte) (int64, error) {
	if len(p) < vhdFooterSize {
		return 0, truncated("vhd footer")
	}
	return vhdCurrentSize(p[:vhdFooterSize])
}

// fixedVHD judges data declared vhd that does not start with a footer: it
// must be a fixed vhd, whose only footer is the last sector.
func (i *Inspector) fixedVHD(final bool) (Info, error) {
	if !final {
		return Info{}, nil
	}
	f := i.tail
	if i.n < vhdFooterSize || len(f) < vhdFooterSize || string(f[:8]) != "conectix" || !vhdChecksumOK(f) {
		return Info{}, mismatch(i.declared, "raw")
	}
	if t := be32(f[60:]); t != vhdFixed {
		return Info{}, fmt.Errorf("vhd footer at the end names disk type %d, want fixed: %w", t, ErrUnsafe)
	}
	size, err := vhdCurrentSize(f)
	if err != nil {
		return Info{}, err
	}
	return Info{Format: "vhd", VirtualSize: size}, nil
}

// vhdCurrentSize checks a vhd footer's disk type and returns its current
// size. A differencing disk has a parent file and is refused.
func vhdCurrentSize(f []byte) (int64, error) {
	switch t := be32(f[60:]); t {
	case vhdFixed, vhdDynamic:
	case vhdDifferencing:
		return 0, fmt.Errorf("vhd differencing disk has a parent image: %w", ErrUnsafe)
	default:
		return 0, fmt.Errorf("vhd disk type %d is not supported: %w", t, ErrUnsafe)
	}
	size := be64(f[48:])
	if size > math.MaxInt64 {
		return 0, fmt.Errorf("vhd current size %d is out of range: %w", size, ErrUnsafe)
	}
	return int64(size), nil
}

// vhdChecksumOK verifies a footer's checksum: the ones' complement of the
// sum of its bytes, the checksum field excluded.
func vhdChecksumOK(f []byte) bool {
	var sum uint32
	for k, c := range f[:vhdFooterSize] {
		if k < 64 || k >= 68 {
			sum += uint32(c)
		}
	}
	return ^sum == be32(f[64:])
}
