package format

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"
)

const (
	vmdkSector       = 512
	vmdkGDAtEnd      = math.MaxUint64 // grain directory in the footer (streamOptimized)
	vmdkMarkerEOS    = 0
	vmdkMarkerFooter = 3
)

// vmdkSparse is the part of a hosted sparse extent header the checks need.
type vmdkSparse struct {
	version          uint32
	capacity         uint64 // sectors
	descSec, descNum uint64
	gdOffset         uint64
}

// parseVMDKSparse reads a "KDMV" sparse extent header.
func parseVMDKSparse(h []byte) (vmdkSparse, error) {
	if len(h) < 64 {
		return vmdkSparse{}, truncated("vmdk sparse header")
	}
	return vmdkSparse{version: le32(h[4:]), capacity: le64(h[12:]), descSec: le64(h[28:]),
		descNum: le64(h[36:]), gdOffset: le64(h[56:])}, nil
}

// vmdkSize checks a vmdk and returns its virtual size. Only a single
// monolithicSparse or streamOptimized extent carrying its own descriptor is
// accepted; a descriptor naming other files (the vmdk half of
// CVE-2024-32498) is refused.
func (i *Inspector) vmdkSize(final bool) (int64, error) {
	p := i.prefix
	if len(p) >= 4 && string(p[:4]) == "COWD" {
		return 0, fmt.Errorf("vmdk COWD (ESX sparse) subformat is not allowed: %w", ErrUnsafe)
	}
	if len(p) < 4 || string(p[:4]) != "KDMV" {
		return 0, i.vmdkDescriptorFile()
	}
	h, err := parseVMDKSparse(p)
	if err != nil {
		return 0, err
	}
	if h.version < 1 || h.version > 3 {
		return 0, fmt.Errorf("vmdk version %d is not supported: %w", h.version, ErrUnsafe)
	}
	if h.descSec != 1 || h.descNum == 0 {
		return 0, fmt.Errorf("vmdk descriptor is not embedded after the header: %w", ErrUnsafe)
	}
	descLen := vmdkDescMax
	if h.descNum < uint64(vmdkDescMax/vmdkSector) {
		descLen = int(h.descNum) * vmdkSector
	}
	if len(p) < vmdkSector+descLen {
		if final {
			return 0, truncated("vmdk descriptor")
		}
		return 0, nil
	}
	if err := checkVMDKDescriptor(p[vmdkSector:vmdkSector+descLen], true); err != nil {
		return 0, err
	}
	if h.capacity > math.MaxInt64/vmdkSector {
		return 0, fmt.Errorf("vmdk capacity %d sectors is out of range: %w", h.capacity, ErrUnsafe)
	}
	if h.gdOffset == vmdkGDAtEnd && final {
		if err := checkVMDKFooter(h, i.tail, i.n); err != nil {
			return 0, err
		}
	}
	return int64(h.capacity) * vmdkSector, nil
}

// vmdkDescriptorFile judges a vmdk that is only a text descriptor: its
// extents are other files by definition, so it is always refused, with the
// descriptor's first fault when it has one.
func (i *Inspector) vmdkDescriptorFile() error {
	if err := checkVMDKDescriptor(i.prefix, false); err != nil {
		return err
	}
	return fmt.Errorf("vmdk descriptor file references external extent files: %w", ErrUnsafe)
}

// checkVMDKDescriptor applies glance's descriptor rules: only comments,
// key=value lines, ddb lines and extent lines; createType monolithicSparse or
// streamOptimized; no path in an extent name. embedded additionally requires
// exactly one sparse extent (the file itself).
func checkVMDKDescriptor(raw []byte, embedded bool) error {
	if k := bytes.IndexByte(raw, 0); k >= 0 {
		raw = raw[:k]
	}
	for _, c := range raw {
		if c >= 0x80 || (c < 0x20 && c != '\n' && c != '\r' && c != '\t') {
			return fmt.Errorf("vmdk descriptor is not ASCII text: %w", ErrUnsafe)
		}
	}
	var createType string
	var extents []string
	for _, line := range strings.Split(string(raw), "\n") {
		line = strings.TrimSpace(line)
		lower := strings.ToLower(line)
		key, value, isKV := strings.Cut(line, "=")
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(lower, "ddb"):
		case isKV && !strings.ContainsAny(strings.TrimSpace(key), " \t"):
			if strings.EqualFold(strings.TrimSpace(key), "createType") {
				createType = strings.ToLower(strings.Trim(strings.TrimSpace(value), `"`))
			}
		case isExtentLine(lower):
			extents = append(extents, line)
		default:
			return fmt.Errorf("vmdk descriptor has an unsupported line %q: %w", clip(line), ErrUnsafe)
		}
	}
	if createType != "monolithicsparse" && createType != "streamoptimized" {
		return fmt.Errorf("vmdk subformat %q is not allowed (only monolithicSparse and streamOptimized): %w",
			clip(createType), ErrUnsafe)
	}
	if len(extents) == 0 {
		return fmt.Errorf("vmdk descriptor has no extents: %w", ErrUnsafe)
	}
	for _, e := range extents {
		if strings.ContainsAny(e, `/\`) {
			return fmt.Errorf("vmdk extent %q names a path: %w", clip(e), ErrUnsafe)
		}
	}
	if embedded {
		if len(extents) != 1 {
			return fmt.Errorf("vmdk descriptor has %d extents, want 1: %w", len(extents), ErrUnsafe)
		}
		if f := strings.Fields(extents[0]); len(f) < 4 || !strings.EqualFold(f[2], "SPARSE") {
			return fmt.Errorf("vmdk extent %q is not the sparse image itself: %w", clip(extents[0]), ErrUnsafe)
		}
	}
	return nil
}

// isExtentLine says whether a lowercased descriptor line is an extent:
// access, size in sectors, then the rest.
func isExtentLine(lower string) bool {
	f := strings.Fields(lower)
	if len(f) < 2 || (f[0] != "rw" && f[0] != "rdonly" && f[0] != "noaccess") {
		return false
	}
	_, err := strconv.ParseUint(f[1], 10, 64)
	return err == nil
}

// checkVMDKFooter checks a streamOptimized tail: footer marker, a footer
// header that agrees with the first one, and the end-of-stream marker.
func checkVMDKFooter(h vmdkSparse, tail []byte, n int64) error {
	if len(tail) < 3*vmdkSector || n < 4*vmdkSector {
		return truncated("vmdk streamOptimized footer")
	}
	marker := func(b []byte, typ uint32) bool {
		return le32(b[8:]) == 0 && le32(b[12:]) == typ && allZero(b[16:vmdkSector])
	}
	if !marker(tail, vmdkMarkerFooter) {
		return fmt.Errorf("vmdk footer marker is invalid: %w", ErrUnsafe)
	}
	f, err := parseVMDKSparse(tail[vmdkSector:])
	if err != nil {
		return err
	}
	if string(tail[vmdkSector:vmdkSector+4]) != "KDMV" || f.version != h.version ||
		f.descSec != h.descSec || f.descNum != h.descNum {
		return fmt.Errorf("vmdk footer does not match the header: %w", ErrUnsafe)
	}
	if f.gdOffset == vmdkGDAtEnd {
		return fmt.Errorf("vmdk footer points at another footer: %w", ErrUnsafe)
	}
	eos := tail[2*vmdkSector:]
	if le64(eos) != 0 || !marker(eos, vmdkMarkerEOS) {
		return fmt.Errorf("vmdk end-of-stream marker is invalid: %w", ErrUnsafe)
	}
	return nil
}

// isVMDKDescriptor says whether p starts like a vmdk text descriptor, as
// qemu probes it: the first line that is not a comment is version=N.
func isVMDKDescriptor(p []byte) bool {
	p = p[:min(len(p), 2048)]
	for len(p) > 0 {
		line := p
		if k := bytes.IndexByte(p, '\n'); k >= 0 {
			line, p = p[:k], p[k+1:]
		} else {
			p = nil
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		return bytes.HasPrefix(line, []byte("version=")) || bytes.HasPrefix(bytes.ToLower(line), []byte("createtype="))
	}
	return false
}

// allZero says whether b holds only zero bytes.
func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// clip shortens text quoted from an image for an error message.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}
