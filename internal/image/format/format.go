// Package format inspects disk images as they stream past: it names the
// format the bytes really are, reads the virtual size from the header, and
// refuses images that are unsafe to hand to a hypervisor (a qcow2 backing or
// external data file, a vmdk descriptor naming other files, a differencing
// vhd/vhdx) or that do not match their declared disk_format. It follows
// glance's format inspector and its CVE-2024-32498 fix, and keeps only bounded
// state: never the whole image.
package format

import (
	"errors"
	"fmt"
)

// Sentinel errors; every refusal wraps exactly one of them with the reason.
var (
	// ErrUnsafe: the image could harm the host that opens it, or its header
	// is too damaged to tell.
	ErrUnsafe = errors.New("image failed safety checks")
	// ErrMismatch: the data is not in the declared disk_format.
	ErrMismatch = errors.New("image data does not match disk_format")
	// ErrUnsupported: the declared disk_format cannot be inspected.
	ErrUnsupported = errors.New("disk_format not supported")
)

// Info is what the bytes of an image turned out to be.
type Info struct {
	// Format is the detected disk format: raw, qcow2, vmdk, vhd, vhdx, vdi,
	// iso. Data declared ami, ari or aki is reported as raw.
	Format string
	// VirtualSize is the size of the disk the guest sees, in bytes.
	VirtualSize int64
}

const (
	kib = 1 << 10
	mib = 1 << 20

	// vmdkDescMax bounds the embedded vmdk descriptor, as upstream does.
	vmdkDescMax = mib - 1
)

// Inspector is an io.Writer that receives every byte of an image in order
// and, after the last one, says what the image is through Result. It keeps a
// bounded prefix of the stream (at most about 1 MiB), the last few sectors
// when the declared format needs them, and a few small windows at offsets the
// header names (vhdx metadata). Once the prefix is full, Write only counts
// bytes (and updates those small buffers).
type Inspector struct {
	declared  string
	n         int64  // bytes seen
	prefix    []byte // the first bytes, up to prefixCap
	prefixCap int
	tail      []byte // the last tailCap bytes, when needed
	tailCap   int
	vhdx      *vhdxState
	err       error // a refusal certain before the end of the stream
}

// NewInspector returns an Inspector for data declared as disk_format
// declared (glance's names: raw, qcow2, vmdk, vhd, vhdx, vdi, iso, ami, ari,
// aki, ploop).
func NewInspector(declared string) *Inspector {
	i := &Inspector{declared: declared, prefixCap: 64 * kib}
	switch declared {
	case "vmdk":
		// Header sector plus the largest embedded descriptor; the tail holds
		// a streamOptimized footer and end-of-stream marker.
		i.prefixCap = 512 + vmdkDescMax
		i.tailCap = 3 * 512
	case "vhd":
		// A fixed vhd keeps its only footer in the last sector.
		i.tailCap = 512
	case "vhdx":
		i.vhdx = newVHDXState()
	}
	if _, err := i.kind(); err != nil {
		i.err = err
	}
	return i
}

// Write inspects p, the next bytes of the image. It returns an error wrapping
// ErrUnsafe, ErrMismatch or ErrUnsupported as soon as a refusal is certain,
// so an upload can stop early; Result returns the same error.
func (i *Inspector) Write(p []byte) (int, error) {
	if i.err != nil {
		return 0, i.err
	}
	pos := i.n
	i.n += int64(len(p))
	if room := i.prefixCap - len(i.prefix); room > 0 {
		i.prefix = append(i.prefix, p[:min(room, len(p))]...)
		if len(i.prefix) == i.prefixCap {
			// The header is decided: refuse now what the rest cannot change.
			if _, err := i.evaluate(false); err != nil {
				i.err = err
			}
		}
	}
	if i.tailCap > 0 {
		i.pushTail(p)
	}
	if i.vhdx != nil {
		i.vhdx.feed(p, pos, i.prefix)
	}
	return len(p), i.err
}

// pushTail keeps the last tailCap bytes of the stream.
func (i *Inspector) pushTail(p []byte) {
	if len(p) >= i.tailCap {
		i.tail = append(i.tail[:0], p[len(p)-i.tailCap:]...)
		return
	}
	if drop := len(i.tail) + len(p) - i.tailCap; drop > 0 {
		i.tail = append(i.tail[:0], i.tail[drop:]...)
	}
	i.tail = append(i.tail, p...)
}

// Result reports the detected format and virtual size, or why the image is
// refused. Call it after the last byte has been written.
func (i *Inspector) Result() (Info, error) {
	if i.err != nil {
		return Info{}, i.err
	}
	return i.evaluate(true)
}

// kind returns the format the declared disk_format is checked as.
func (i *Inspector) kind() (string, error) {
	switch i.declared {
	case "raw", "ami", "ari", "aki":
		return "raw", nil
	case "qcow2", "vmdk", "vhd", "vhdx", "vdi", "iso":
		return i.declared, nil
	case "ploop":
		return "", fmt.Errorf("disk_format ploop cannot be inspected safely: %w", ErrUnsupported)
	default:
		return "", fmt.Errorf("disk_format %q is unknown: %w", i.declared, ErrUnsupported)
	}
}

// evaluate judges the image. With final false it runs when only the prefix
// is known and reports only refusals the rest of the stream cannot change.
func (i *Inspector) evaluate(final bool) (Info, error) {
	want, err := i.kind()
	if err != nil {
		return Info{}, err
	}
	got := detect(i.prefix)
	switch {
	case want == "raw":
		// A qcow2 (or any format a hypervisor would probe) passed off as raw
		// is the classic attack. ISO 9660 is raw-compatible and allowed.
		if got != "raw" && got != "iso" {
			return Info{}, mismatch(i.declared, got)
		}
		return Info{Format: "raw", VirtualSize: i.n}, nil
	case want == "vhd" && got == "raw":
		return i.fixedVHD(final)
	case got != want:
		return Info{}, mismatch(i.declared, got)
	}
	var size int64
	switch want {
	case "qcow2":
		size, err = qcow2Size(i.prefix)
	case "vmdk":
		size, err = i.vmdkSize(final)
	case "vhd":
		size, err = dynamicVHDSize(i.prefix)
	case "vhdx":
		size, err = i.vhdx.size(final)
	case "vdi":
		size, err = vdiSize(i.prefix)
	case "iso":
		size, err = isoSize(i.prefix, i.n)
	}
	if err != nil {
		return Info{}, err
	}
	return Info{Format: want, VirtualSize: size}, nil
}

// MismatchError is the refusal for data that is not what it was declared to
// be; it matches ErrMismatch.
type MismatchError struct {
	Declared string
	// Detected is the format the data is in; "raw" for data of no known format.
	Detected string
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("disk_format is %s but the data is %s: %v", e.Declared, e.Detected, ErrMismatch)
}

// Is makes a MismatchError match ErrMismatch.
func (e *MismatchError) Is(target error) bool { return target == ErrMismatch }

// mismatch is the refusal for data that is not what it was declared to be.
func mismatch(declared, got string) error {
	return &MismatchError{Declared: declared, Detected: got}
}

// truncated is the refusal for a header cut short by the end of the stream.
func truncated(what string) error {
	return fmt.Errorf("%s is truncated: %w", what, ErrUnsafe)
}

// detect names the format of an image from its first bytes, by the magic
// numbers hypervisors probe for; "raw" when none matches.
func detect(p []byte) string {
	magics := []struct{ magic, name string }{
		{"QFI\xfb", "qcow2"}, // qcow version 1 too; the qcow2 checks refuse it
		{"QED\x00", "qed"},
		{"KDMV", "vmdk"},
		{"COWD", "vmdk"},
		{"conectix", "vhd"},
		{"vhdxfile", "vhdx"},
		{"LUKS\xba\xbe", "luks"},
		{"WithoutFreeSpace", "ploop"},
		{"WithouFreSpacExt", "ploop"},
		{"Bochs Virtual HD Image", "bochs"},
		{"#!/bin/sh\n#V2.0 Format\n", "cloop"},
	}
	for _, m := range magics {
		if len(p) >= len(m.magic) && string(p[:len(m.magic)]) == m.magic {
			return m.name
		}
	}
	switch {
	case len(p) >= 0x44 && le32(p[0x40:]) == vdiSignature:
		return "vdi"
	case isVMDKDescriptor(p):
		return "vmdk"
	case isISO(p):
		return "iso"
	}
	return "raw"
}

// be32 and friends read fixed-width integers; callers check the length.
func be32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func be64(b []byte) uint64 { return uint64(be32(b))<<32 | uint64(be32(b[4:])) }

func le16(b []byte) uint16 { return uint16(b[0]) | uint16(b[1])<<8 }

func le32(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

func le64(b []byte) uint64 { return uint64(le32(b)) | uint64(le32(b[4:]))<<32 }
