package format

import (
	"encoding/hex"
	"fmt"
	"math"
	"strings"
)

// VHDX layout ([MS-VHDX] 2.2): the region table at 192 KiB names the
// metadata region; its table names the items read here.
const (
	vhdxRegionTableOffset = 192 * kib
	vhdxTableSize         = 64 * kib
	vhdxMaxEntries        = 2047
	vhdxRegionMetadata    = "8B7CA206-4790-4B9A-B8FE-575F050F886E"
	vhdxItemVirtualSize   = "2FA54224-CD1B-4876-B211-5DBED83BF4B8"
	vhdxItemFileParams    = "CAA16737-FA36-4D43-B3B6-33F0AA44E76B"
	vhdxItemParentLocator = "A8D35F2D-B30B-454D-ABF7-D3D84834AB0C"
	vhdxHasParent         = 1 << 1 // file parameters flag
)

// window captures size bytes at stream offset off, from the chunks that
// stream past (and the prefix, when the window starts inside it).
type window struct {
	off  int64
	size int
	buf  []byte
}

// newWindow returns a window filled from the retained prefix as far as it
// reaches.
func newWindow(off int64, size int, prefix []byte) *window {
	w := &window{off: off, size: size}
	w.fill(prefix, 0)
	return w
}

// complete says whether every byte of the window has been seen.
func (w *window) complete() bool { return len(w.buf) == w.size }

// fill copies the next wanted bytes of the window from chunk, which starts
// at stream offset pos.
func (w *window) fill(chunk []byte, pos int64) {
	next := w.off + int64(len(w.buf))
	if w.complete() || next < pos || next >= pos+int64(len(chunk)) {
		return
	}
	k := int(next - pos)
	w.buf = append(w.buf, chunk[k:k+min(w.size-len(w.buf), len(chunk)-k)]...)
}

// vhdxState follows a vhdx through its region table to its metadata items,
// holding at most two 64 KiB tables and two 8-byte items.
type vhdxState struct {
	regions, meta, vsize, params *window
	err                          error
}

// newVHDXState starts with the region table window.
func newVHDXState() *vhdxState {
	return &vhdxState{regions: &window{off: vhdxRegionTableOffset, size: vhdxTableSize}}
}

// feed passes the next chunk, at stream offset pos, to the open windows and
// opens the next ones as tables complete.
func (s *vhdxState) feed(chunk []byte, pos int64, prefix []byte) {
	if s.err != nil {
		return
	}
	for _, w := range []*window{s.regions, s.meta, s.vsize, s.params} {
		if w != nil {
			w.fill(chunk, pos)
		}
	}
	if s.meta == nil && s.regions.complete() {
		off, err := vhdxMetadataOffset(s.regions.buf)
		if err != nil {
			s.err = err
			return
		}
		s.meta = newWindow(off, vhdxTableSize, prefix)
		s.meta.fill(chunk, pos)
	}
	if s.vsize == nil && s.meta != nil && s.meta.complete() {
		items, err := vhdxMetadataItems(s.meta.buf)
		if err != nil {
			s.err = err
			return
		}
		vs, ok := items[vhdxItemVirtualSize]
		if !ok {
			s.err = fmt.Errorf("vhdx metadata has no virtual disk size: %w", ErrUnsafe)
			return
		}
		s.vsize = newWindow(s.meta.off+vs, 8, prefix)
		s.vsize.fill(chunk, pos)
		if fp, ok := items[vhdxItemFileParams]; ok {
			s.params = newWindow(s.meta.off+fp, 8, prefix)
			s.params.fill(chunk, pos)
		}
	}
}

// size reports the virtual disk size once the stream has ended; before the
// end it reports only refusals already certain.
func (s *vhdxState) size(final bool) (int64, error) {
	if s.err != nil || !final {
		return 0, s.err
	}
	if s.vsize == nil || !s.vsize.complete() {
		return 0, fmt.Errorf("vhdx metadata could not be read in one pass: %w", ErrUnsafe)
	}
	if s.params == nil || !s.params.complete() {
		return 0, fmt.Errorf("vhdx metadata has no file parameters: %w", ErrUnsafe)
	}
	if le32(s.params.buf[4:])&vhdxHasParent != 0 {
		return 0, fmt.Errorf("vhdx differencing disk has a parent image: %w", ErrUnsafe)
	}
	size := le64(s.vsize.buf)
	if size > math.MaxInt64 {
		return 0, fmt.Errorf("vhdx virtual disk size %d is out of range: %w", size, ErrUnsafe)
	}
	return int64(size), nil
}

// vhdxMetadataOffset finds the metadata region in a region table.
func vhdxMetadataOffset(t []byte) (int64, error) {
	if string(t[:4]) != "regi" {
		return 0, fmt.Errorf("vhdx region table signature not found: %w", ErrUnsafe)
	}
	count := le32(t[8:])
	if count > vhdxMaxEntries {
		return 0, fmt.Errorf("vhdx region table has %d entries (limit %d): %w", count, vhdxMaxEntries, ErrUnsafe)
	}
	want := msGUID(vhdxRegionMetadata)
	for k := range int(count) {
		e := t[16+32*k : 16+32*(k+1)]
		if string(e[:16]) == want {
			off := le64(e[16:])
			if off > math.MaxInt64/2 {
				return 0, fmt.Errorf("vhdx metadata offset %d is out of range: %w", off, ErrUnsafe)
			}
			return int64(off), nil
		}
	}
	return 0, fmt.Errorf("vhdx has no metadata region: %w", ErrUnsafe)
}

// vhdxMetadataItems maps item GUIDs (as text) to their offsets inside the
// metadata region; a parent locator is refused at once.
func vhdxMetadataItems(t []byte) (map[string]int64, error) {
	if string(t[:8]) != "metadata" {
		return nil, fmt.Errorf("vhdx metadata table signature not found: %w", ErrUnsafe)
	}
	count := int(le16(t[10:]))
	if count > vhdxMaxEntries {
		return nil, fmt.Errorf("vhdx metadata table has %d entries (limit %d): %w", count, vhdxMaxEntries, ErrUnsafe)
	}
	items := make(map[string]int64)
	known := []string{vhdxItemVirtualSize, vhdxItemFileParams, vhdxItemParentLocator}
	for k := range count {
		e := t[32+32*k : 32+32*(k+1)]
		for _, g := range known {
			if string(e[:16]) == msGUID(g) {
				items[g] = int64(le32(e[16:]))
			}
		}
	}
	if _, ok := items[vhdxItemParentLocator]; ok {
		return nil, fmt.Errorf("vhdx differencing disk has a parent locator: %w", ErrUnsafe)
	}
	return items, nil
}

// msGUID returns the on-disk bytes of a GUID written in text: the first
// three groups little-endian, the rest as written.
func msGUID(s string) string {
	b, err := hex.DecodeString(strings.ReplaceAll(s, "-", ""))
	if err != nil || len(b) != 16 {
		panic("format: bad GUID constant " + s)
	}
	b[0], b[1], b[2], b[3] = b[3], b[2], b[1], b[0]
	b[4], b[5] = b[5], b[4]
	b[6], b[7] = b[7], b[6]
	return string(b)
}
