package format

import "fmt"

// ISO 9660 volume descriptors start at sector 16 of 2048 bytes (ECMA-119 8).
const (
	isoSector     = 2048
	isoFirstVD    = 16 * isoSector
	isoPrimary    = 1
	isoTerminator = 255
)

// isISO says whether p holds an ISO 9660 or UDF volume recognition sequence
// at sector 16.
func isISO(p []byte) bool {
	if len(p) < isoFirstVD+6 {
		return false
	}
	switch string(p[isoFirstVD+1 : isoFirstVD+6]) {
	case "CD001", "BEA01", "NSR02", "NSR03":
		return true
	}
	return false
}

// isoSize returns the volume size from the primary volume descriptor
// (volume space size times logical block size). A UDF-only disc has none;
// its size is the n bytes seen.
func isoSize(p []byte, n int64) (int64, error) {
	for off := isoFirstVD; off+isoSector <= len(p); off += isoSector {
		vd := p[off : off+isoSector]
		if string(vd[1:6]) != "CD001" {
			break
		}
		switch vd[0] {
		case isoPrimary:
			blocks, blockSize := int64(le32(vd[80:])), int64(le16(vd[128:]))
			if blockSize == 0 || blocks == 0 {
				return 0, fmt.Errorf("iso primary volume descriptor has no size: %w", ErrUnsafe)
			}
			return blocks * blockSize, nil
		case isoTerminator:
			return 0, fmt.Errorf("iso has no primary volume descriptor: %w", ErrUnsafe)
		}
	}
	if string(p[isoFirstVD+1:isoFirstVD+6]) != "CD001" {
		return n, nil
	}
	return 0, truncated("iso volume descriptors")
}
