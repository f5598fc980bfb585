package format

import (
	"fmt"
	"math"
)

// qcow2 incompatible feature bits (qemu docs/interop/qcow2.txt).
const (
	qcow2FeatDirty      = 1 << 0
	qcow2FeatCorrupt    = 1 << 1
	qcow2FeatDataFile   = 1 << 2
	qcow2FeatCompress   = 1 << 3
	qcow2FeatExtendedL2 = 1 << 4
	qcow2KnownFeatures  = qcow2FeatDirty | qcow2FeatCorrupt | qcow2FeatDataFile |
		qcow2FeatCompress | qcow2FeatExtendedL2
)

// qcow2Size checks a qcow2 header and returns its virtual size. It refuses a
// backing file, an external data file, unknown incompatible features and
// versions other than 2 and 3 (the qcow2 half of CVE-2024-32498).
func qcow2Size(h []byte) (int64, error) {
	if len(h) < 72 {
		return 0, truncated("qcow2 header")
	}
	version := be32(h[4:])
	if version != 2 && version != 3 {
		return 0, fmt.Errorf("qcow version %d is not supported: %w", version, ErrUnsafe)
	}
	if be64(h[8:]) != 0 {
		return 0, fmt.Errorf("qcow2 image has a backing file: %w", ErrUnsafe)
	}
	if bits := be32(h[20:]); bits < 9 || bits > 21 {
		return 0, fmt.Errorf("qcow2 cluster_bits %d is out of range: %w", bits, ErrUnsafe)
	}
	if version == 3 {
		if len(h) < 104 {
			return 0, truncated("qcow2 version 3 header")
		}
		features := be64(h[72:])
		if features&qcow2FeatDataFile != 0 {
			return 0, fmt.Errorf("qcow2 image has an external data file (incompatible feature data-file): %w", ErrUnsafe)
		}
		if unknown := features &^ qcow2KnownFeatures; unknown != 0 {
			return 0, fmt.Errorf("qcow2 image has unknown incompatible features %#x: %w", unknown, ErrUnsafe)
		}
	}
	size := be64(h[24:])
	if size > math.MaxInt64 {
		return 0, fmt.Errorf("qcow2 virtual size %d is out of range: %w", size, ErrUnsafe)
	}
	return int64(size), nil
}
