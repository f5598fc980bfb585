package format

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// qcow2Image is a qcow2 header of version for a disk of size bytes, with an
// optional backing file offset and incompatible features, padded to 64 KiB.
func qcow2Image(version uint32, size, backing, features uint64) []byte {
	b := make([]byte, 64*kib)
	copy(b, "QFI\xfb")
	binary.BigEndian.PutUint32(b[4:], version)
	binary.BigEndian.PutUint64(b[8:], backing)
	binary.BigEndian.PutUint32(b[20:], 16)
	binary.BigEndian.PutUint64(b[24:], size)
	if version == 3 {
		binary.BigEndian.PutUint64(b[72:], features)
		binary.BigEndian.PutUint32(b[100:], 104)
	}
	if backing != 0 {
		binary.BigEndian.PutUint32(b[16:], 9)
		copy(b[backing:], "/etc/hosts")
	}
	return b
}

// vmdkDesc is an embedded descriptor of createType with the given extents.
func vmdkDesc(createType string, extents ...string) string {
	return "# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\ncreateType=\"" + createType +
		"\"\n\n# Extent description\n" + strings.Join(extents, "\n") +
		"\n\n# The Disk Data Base\n#DDB\n\nddb.virtualHWVersion = \"4\"\nddb.geometry.cylinders = \"16\"\n"
}

// vmdkImage is a hosted sparse extent of capacity sectors carrying desc at
// sector 1; with gdAtEnd it ends in a streamOptimized footer.
func vmdkImage(capacity uint64, desc string, gdAtEnd bool) []byte {
	h := make([]byte, 512)
	copy(h, "KDMV")
	binary.LittleEndian.PutUint32(h[4:], 1)
	binary.LittleEndian.PutUint64(h[12:], capacity)
	binary.LittleEndian.PutUint64(h[20:], 128)
	binary.LittleEndian.PutUint64(h[28:], 1)
	binary.LittleEndian.PutUint64(h[36:], 20)
	gd := uint64(21)
	if gdAtEnd {
		gd = vmdkGDAtEnd
	}
	binary.LittleEndian.PutUint64(h[56:], gd)
	d := make([]byte, 20*512)
	copy(d, desc)
	img := append(append(h, d...), make([]byte, 4096)...)
	if !gdAtEnd {
		return img
	}
	marker := make([]byte, 512)
	binary.LittleEndian.PutUint32(marker[12:], vmdkMarkerFooter)
	footer := bytes.Clone(h)
	binary.LittleEndian.PutUint64(footer[56:], 30)
	return append(append(append(img, marker...), footer...), make([]byte, 512)...)
}

// vhdFooter is a vhd footer of diskType for size bytes, with its checksum.
func vhdFooter(diskType uint32, size uint64) []byte {
	f := make([]byte, 512)
	copy(f, "conectix")
	binary.BigEndian.PutUint32(f[8:], 2)
	binary.BigEndian.PutUint32(f[12:], 0x10000)
	binary.BigEndian.PutUint64(f[16:], 512)
	binary.BigEndian.PutUint64(f[40:], size)
	binary.BigEndian.PutUint64(f[48:], size)
	binary.BigEndian.PutUint32(f[60:], diskType)
	var sum uint32
	for _, c := range f {
		sum += uint32(c)
	}
	binary.BigEndian.PutUint32(f[64:], ^sum)
	return f
}

// vdiImage is a vdi header of imageType for size bytes.
func vdiImage(imageType uint32, size uint64) []byte {
	b := make([]byte, 4096)
	copy(b, "<<< Oracle VM VirtualBox Disk Image >>>\n")
	binary.LittleEndian.PutUint32(b[0x40:], vdiSignature)
	binary.LittleEndian.PutUint32(b[0x44:], 0x00010001)
	binary.LittleEndian.PutUint32(b[0x4c:], imageType)
	binary.LittleEndian.PutUint64(b[0x170:], size)
	return b
}

// isoImage is an ISO 9660 volume of blocks 2048-byte blocks, with a boot
// record before the primary volume descriptor.
func isoImage(blocks uint32) []byte {
	b := make([]byte, 20*isoSector)
	vd := func(sector int, typ byte) []byte {
		d := b[sector*isoSector : (sector+1)*isoSector]
		d[0] = typ
		copy(d[1:], "CD001\x01")
		return d
	}
	vd(16, 0)
	pvd := vd(17, isoPrimary)
	binary.LittleEndian.PutUint32(pvd[80:], blocks)
	binary.BigEndian.PutUint32(pvd[84:], blocks)
	binary.LittleEndian.PutUint16(pvd[128:], isoSector)
	vd(18, isoTerminator)
	return b
}

// vhdxImage is a vhdx with its metadata region at 1 MiB holding the given
// virtual size and file parameter flags, and a parent locator when asked.
func vhdxImage(size uint64, flags uint32, parent bool) []byte {
	const metaOff = mib
	b := make([]byte, metaOff+128*kib)
	copy(b, "vhdxfile")
	rt := b[vhdxRegionTableOffset:]
	copy(rt, "regi")
	binary.LittleEndian.PutUint32(rt[8:], 2)
	copy(rt[16:], msGUID("2DC27766-F623-4200-9D64-115E9BFD4A08")) // BAT
	binary.LittleEndian.PutUint64(rt[32:], 3*mib)
	copy(rt[48:], msGUID(vhdxRegionMetadata))
	binary.LittleEndian.PutUint64(rt[64:], metaOff)
	binary.LittleEndian.PutUint32(rt[72:], mib)
	mt := b[metaOff:]
	copy(mt, "metadata")
	items := []struct {
		guid string
		off  uint32
	}{{vhdxItemFileParams, 64 * kib}, {vhdxItemVirtualSize, 64*kib + 8}}
	if parent {
		items = append(items, struct {
			guid string
			off  uint32
		}{vhdxItemParentLocator, 64*kib + 16})
	}
	binary.LittleEndian.PutUint16(mt[10:], uint16(len(items)))
	for k, it := range items {
		e := mt[32+32*k:]
		copy(e, msGUID(it.guid))
		binary.LittleEndian.PutUint32(e[16:], it.off)
		binary.LittleEndian.PutUint32(e[20:], 8)
	}
	binary.LittleEndian.PutUint32(mt[64*kib:], 1<<20)
	binary.LittleEndian.PutUint32(mt[64*kib+4:], flags)
	binary.LittleEndian.PutUint64(mt[64*kib+8:], size)
	return b
}

// inspect streams data through an Inspector in writes of chunk bytes.
func inspect(declared string, data []byte, chunk int) (Info, error) {
	in := NewInspector(declared)
	for len(data) > 0 {
		n := min(chunk, len(data))
		if _, err := in.Write(data[:n]); err != nil {
			if _, rerr := in.Result(); !errors.Is(rerr, err) {
				return Info{}, fmt.Errorf("Write error %v but Result error %v", err, rerr)
			}
			return Info{}, err
		}
		data = data[n:]
	}
	return in.Result()
}

func TestInspector(t *testing.T) {
	t.Parallel()
	raw := bytes.Repeat([]byte("nimbus!\x00"), 10000)
	fixedVHD := append(make([]byte, 3*mib), vhdFooter(vhdFixed, 3*mib)...)
	dynamicVHD := append(append(vhdFooter(vhdDynamic, 40*mib), make([]byte, 2048)...), vhdFooter(vhdDynamic, 40*mib)...)
	sparse := vmdkDesc("monolithicSparse", `RW 2048 SPARSE "disk.vmdk"`)
	stream := vmdkDesc("streamOptimized", `RW 4096 SPARSE "disk.vmdk"`)
	badFooter := vmdkImage(4096, stream, true)
	badFooter[len(badFooter)-512] = 1
	cases := []struct {
		name, declared string
		data           []byte
		want           Info
		wantErr        error
	}{
		{"raw", "raw", raw, Info{"raw", int64(len(raw))}, nil},
		{"empty raw", "raw", nil, Info{"raw", 0}, nil},
		{"ami is raw", "ami", raw, Info{"raw", int64(len(raw))}, nil},
		{"iso as raw", "raw", isoImage(100), Info{"raw", 20 * isoSector}, nil},
		{"fixed vhd as raw", "raw", fixedVHD, Info{"raw", int64(len(fixedVHD))}, nil},
		{"qcow2 v2", "qcow2", qcow2Image(2, 1<<30, 0, 0), Info{"qcow2", 1 << 30}, nil},
		{"qcow2 v3", "qcow2", qcow2Image(3, 5<<20, 0, qcow2FeatDirty|qcow2FeatCompress), Info{"qcow2", 5 << 20}, nil},
		{"qcow2 as raw", "raw", qcow2Image(3, 1<<20, 0, 0), Info{}, ErrMismatch},
		{"qcow2 as aki", "aki", qcow2Image(3, 1<<20, 0, 0), Info{}, ErrMismatch},
		{"qcow2 backing file", "qcow2", qcow2Image(3, 1<<20, 512, 0), Info{}, ErrUnsafe},
		{"qcow2 backing file as raw", "raw", qcow2Image(2, 1<<20, 512, 0), Info{}, ErrMismatch},
		{"qcow2 data file", "qcow2", qcow2Image(3, 1<<20, 0, qcow2FeatDataFile), Info{}, ErrUnsafe},
		{"qcow2 unknown feature", "qcow2", qcow2Image(3, 1<<20, 0, 1<<9), Info{}, ErrUnsafe},
		{"qcow version 1", "qcow2", qcow2Image(1, 1<<20, 0, 0), Info{}, ErrUnsafe},
		{"qcow2 truncated", "qcow2", qcow2Image(3, 1<<20, 0, 0)[:50], Info{}, ErrUnsafe},
		{"raw as qcow2", "qcow2", raw, Info{}, ErrMismatch},
		{"vmdk sparse", "vmdk", vmdkImage(2048, sparse, false), Info{"vmdk", 2048 * 512}, nil},
		{"vmdk stream footer", "vmdk", vmdkImage(4096, stream, true), Info{"vmdk", 4096 * 512}, nil},
		{"vmdk bad end marker", "vmdk", badFooter, Info{}, ErrUnsafe},
		{"vmdk as raw", "raw", vmdkImage(2048, sparse, false), Info{}, ErrMismatch},
		{"vmdk flat", "vmdk", vmdkImage(2048, vmdkDesc("monolithicFlat", `RW 2048 FLAT "disk-flat.vmdk" 0`), false), Info{}, ErrUnsafe},
		{"vmdk extent path", "vmdk", vmdkImage(2048, vmdkDesc("monolithicSparse", `RW 2048 SPARSE "/etc/shadow"`), false), Info{}, ErrUnsafe},
		{"vmdk two extents", "vmdk", vmdkImage(2048, vmdkDesc("monolithicSparse", `RW 1024 SPARSE "a.vmdk"`, `RW 1024 SPARSE "b.vmdk"`), false), Info{}, ErrUnsafe},
		{"vmdk odd line", "vmdk", vmdkImage(2048, sparse+"json:{\"file\": 1}\n", false), Info{}, ErrUnsafe},
		{"vmdk descriptor file", "vmdk", []byte(sparse), Info{}, ErrUnsafe},
		{"vmdk descriptor file as raw", "raw", []byte(sparse), Info{}, ErrMismatch},
		{"vhd fixed", "vhd", fixedVHD, Info{"vhd", 3 * mib}, nil},
		{"vhd dynamic", "vhd", dynamicVHD, Info{"vhd", 40 * mib}, nil},
		{"vhd differencing", "vhd", append(vhdFooter(vhdDifferencing, mib), make([]byte, 1024)...), Info{}, ErrUnsafe},
		{"vhd dynamic as raw", "raw", dynamicVHD, Info{}, ErrMismatch},
		{"raw as vhd", "vhd", raw, Info{}, ErrMismatch},
		{"vhdx", "vhdx", vhdxImage(300*mib, 0, false), Info{"vhdx", 300 * mib}, nil},
		{"vhdx has parent flag", "vhdx", vhdxImage(mib, vhdxHasParent, false), Info{}, ErrUnsafe},
		{"vhdx parent locator", "vhdx", vhdxImage(mib, 0, true), Info{}, ErrUnsafe},
		{"vhdx truncated", "vhdx", vhdxImage(mib, 0, false)[:mib+64*kib], Info{}, ErrUnsafe},
		{"vhdx as raw", "raw", vhdxImage(mib, 0, false), Info{}, ErrMismatch},
		{"vdi", "vdi", vdiImage(vdiNormal, 8*mib), Info{"vdi", 8 * mib}, nil},
		{"vdi differencing", "vdi", vdiImage(4, 8*mib), Info{}, ErrUnsafe},
		{"vdi as raw", "raw", vdiImage(vdiFixed, 8*mib), Info{}, ErrMismatch},
		{"iso", "iso", isoImage(1000), Info{"iso", 1000 * isoSector}, nil},
		{"raw as iso", "iso", raw, Info{}, ErrMismatch},
		{"ploop", "ploop", raw, Info{}, ErrUnsupported},
		{"unknown disk_format", "floppy", raw, Info{}, ErrUnsupported},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for _, chunk := range []int{511, 64 * kib, len(tc.data) + 1} {
				got, err := inspect(tc.declared, tc.data, chunk)
				if tc.wantErr != nil {
					if !errors.Is(err, tc.wantErr) {
						t.Fatalf("chunk %d: got %+v, %v; want %v", chunk, got, err, tc.wantErr)
					}
					continue
				}
				if err != nil || got != tc.want {
					t.Fatalf("chunk %d: got %+v, %v; want %+v", chunk, got, err, tc.want)
				}
			}
		})
	}
}

// TestMismatchNamesBoth checks that a mismatch names the declared and the
// detected format.
func TestMismatchNamesBoth(t *testing.T) {
	t.Parallel()
	_, err := inspect("raw", qcow2Image(3, mib, 0, 0), 4096)
	if err == nil || !strings.Contains(err.Error(), "raw") || !strings.Contains(err.Error(), "qcow2") {
		t.Fatalf("err = %v; want one naming raw and qcow2", err)
	}
}

// TestEarlyRefusal checks that Write refuses a qcow2 passed off as raw as
// soon as the prefix is decided, long before the end of the stream.
func TestEarlyRefusal(t *testing.T) {
	t.Parallel()
	in := NewInspector("raw")
	img := append(qcow2Image(3, mib, 0, 0), make([]byte, 4*mib)...)
	var err error
	written := 0
	for written < len(img) && err == nil {
		_, err = in.Write(img[written : written+4096])
		written += 4096
	}
	if !errors.Is(err, ErrMismatch) || written > 128*kib {
		t.Fatalf("after %d bytes err = %v; want ErrMismatch within the first 128 KiB", written, err)
	}
}

// TestBoundedState checks that an inspector never keeps more than its bounds
// however long the stream.
func TestBoundedState(t *testing.T) {
	t.Parallel()
	for _, declared := range []string{"raw", "vmdk", "vhd", "vhdx", "qcow2"} {
		in := NewInspector(declared)
		chunk := make([]byte, mib)
		for range 8 {
			_, _ = in.Write(chunk)
		}
		if len(in.prefix) > in.prefixCap || in.prefixCap > 2*mib || len(in.tail) > 3*512 {
			t.Errorf("%s: prefix %d/%d tail %d", declared, len(in.prefix), in.prefixCap, len(in.tail))
		}
	}
}
