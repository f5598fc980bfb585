package format

import (
	"errors"
	"testing"
)

// FuzzInspector feeds arbitrary bytes, declared formats and write sizes: the
// inspector must never panic, must stay within its memory bounds, and must
// reach the same verdict however the stream is split into writes.
func FuzzInspector(f *testing.F) {
	formats := []string{"raw", "qcow2", "vmdk", "vhd", "vhdx", "vdi", "iso", "ami", "ploop"}
	stream := vmdkDesc("streamOptimized", `RW 4096 SPARSE "disk.vmdk"`)
	seeds := [][]byte{
		nil,
		qcow2Image(3, mib, 0, 0)[:512],
		qcow2Image(3, mib, 512, qcow2FeatDataFile)[:1024],
		vmdkImage(2048, stream, true),
		append(vhdFooter(vhdDynamic, mib), vhdFooter(vhdDynamic, mib)...),
		vdiImage(vdiNormal, mib)[:512],
		isoImage(10),
		[]byte(stream),
	}
	for k, s := range seeds {
		f.Add(s, uint8(k), uint16(511))
	}
	// A whole vhdx is over 1 MiB, too slow to mutate; its start still
	// exercises the region-table path.
	f.Add(vhdxImage(mib, 0, false)[:4096], uint8(4), uint16(4096))
	f.Fuzz(func(t *testing.T, data []byte, which uint8, chunk uint16) {
		declared := formats[int(which)%len(formats)]
		whole, errWhole := inspect(declared, data, len(data)+1)
		split, errSplit := inspect(declared, data, int(chunk)%8192+1)
		if whole != split || (errWhole == nil) != (errSplit == nil) {
			t.Fatalf("%s: whole %+v, %v; split by %d: %+v, %v", declared, whole, errWhole, chunk, split, errSplit)
		}
		if errWhole != nil && !errors.Is(errWhole, ErrUnsafe) && !errors.Is(errWhole, ErrMismatch) &&
			!errors.Is(errWhole, ErrUnsupported) {
			t.Fatalf("error %v wraps no sentinel", errWhole)
		}
		if whole.VirtualSize < 0 {
			t.Fatalf("negative virtual size %d", whole.VirtualSize)
		}
		in := NewInspector(declared)
		_, _ = in.Write(data)
		if len(in.prefix) > in.prefixCap || len(in.tail) > in.tailCap {
			t.Fatalf("state over bounds: prefix %d/%d tail %d/%d", len(in.prefix), in.prefixCap, len(in.tail), in.tailCap)
		}
	})
}

// BenchmarkWriteRaw measures the upload hot path: a 64 MiB raw image in
// 64 KiB writes.
func BenchmarkWriteRaw(b *testing.B) {
	const total = 64 * mib
	chunk := make([]byte, 64*kib)
	for k := range chunk {
		chunk[k] = byte(k * 7)
	}
	b.SetBytes(total)
	b.ReportAllocs()
	for b.Loop() {
		in := NewInspector("raw")
		for range total / len(chunk) {
			if _, err := in.Write(chunk); err != nil {
				b.Fatal(err)
			}
		}
		if info, err := in.Result(); err != nil || info.VirtualSize != total {
			b.Fatalf("Result() = %+v, %v", info, err)
		}
	}
}

// BenchmarkWriteQcow2 is the same stream declared and shaped as qcow2.
func BenchmarkWriteQcow2(b *testing.B) {
	const total = 64 * mib
	chunk := make([]byte, 64*kib)
	head := qcow2Image(3, 10*mib, 0, 0)
	b.SetBytes(total)
	b.ReportAllocs()
	for b.Loop() {
		in := NewInspector("qcow2")
		_, _ = in.Write(head)
		for range total/len(chunk) - 1 {
			if _, err := in.Write(chunk); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := in.Result(); err != nil {
			b.Fatal(err)
		}
	}
}
