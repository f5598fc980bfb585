package format

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// qemuImg runs qemu-img with args and returns its standard output.
func qemuImg(t *testing.T, args ...string) []byte {
	t.Helper()
	out, err := exec.Command("qemu-img", args...).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("qemu-img %v: %v: %s", args, err, ee.Stderr)
		}
		t.Fatalf("qemu-img %v: %v", args, err)
	}
	return out
}

// inspectFile streams a file through an Inspector in 32 KiB writes.
func inspectFile(t *testing.T, path, declared string) (Info, error) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	in := NewInspector(declared)
	if _, err := io.CopyBuffer(in, f, make([]byte, 32*kib)); err != nil {
		return Info{}, err
	}
	return in.Result()
}

// TestQemuImg checks real images made by qemu-img: the virtual size must be
// what qemu-img info reports, and unsafe ones must be refused.
func TestQemuImg(t *testing.T) {
	if _, err := exec.LookPath("qemu-img"); err != nil {
		t.Skip("qemu-img is not installed; the golden tests cover the formats without it")
	}
	t.Parallel()
	dir := t.TempDir()
	base := filepath.Join(dir, "base.qcow2")
	qemuImg(t, "create", "-q", "-f", "qcow2", base, "8M")
	cases := []struct {
		name, qemuFmt, declared string
		opts                    []string
		size                    string
		wantErr                 error
	}{
		{name: "raw", qemuFmt: "raw", declared: "raw", size: "3M"},
		{name: "qcow2 v3", qemuFmt: "qcow2", declared: "qcow2", size: "100M"},
		{name: "qcow2 v2", qemuFmt: "qcow2", declared: "qcow2", opts: []string{"-o", "compat=0.10"}, size: "7M"},
		{name: "qcow2 extended l2", qemuFmt: "qcow2", declared: "qcow2", opts: []string{"-o", "extended_l2=on"}, size: "64M"},
		{name: "qcow2 as raw", qemuFmt: "qcow2", declared: "raw", size: "1M", wantErr: ErrMismatch},
		{name: "qcow2 backing file", qemuFmt: "qcow2", declared: "qcow2",
			opts: []string{"-b", base, "-F", "qcow2"}, wantErr: ErrUnsafe},
		{name: "qcow2 data file", qemuFmt: "qcow2", declared: "qcow2",
			opts: []string{"-o", "data_file=" + filepath.Join(dir, "external.raw")}, size: "4M", wantErr: ErrUnsafe},
		{name: "vmdk monolithicSparse", qemuFmt: "vmdk", declared: "vmdk", size: "33M"},
		{name: "vmdk streamOptimized", qemuFmt: "vmdk", declared: "vmdk",
			opts: []string{"-o", "subformat=streamOptimized"}, size: "20M"},
		{name: "vmdk monolithicFlat", qemuFmt: "vmdk", declared: "vmdk",
			opts: []string{"-o", "subformat=monolithicFlat"}, size: "2M", wantErr: ErrUnsafe},
		{name: "vmdk twoGbMaxExtentSparse", qemuFmt: "vmdk", declared: "vmdk",
			opts: []string{"-o", "subformat=twoGbMaxExtentSparse"}, size: "2M", wantErr: ErrUnsafe},
		{name: "vhd dynamic", qemuFmt: "vpc", declared: "vhd", size: "50M"},
		{name: "vhd fixed", qemuFmt: "vpc", declared: "vhd", opts: []string{"-o", "subformat=fixed"}, size: "5M"},
		{name: "vhdx dynamic", qemuFmt: "vhdx", declared: "vhdx", size: "300M"},
		{name: "vhdx fixed", qemuFmt: "vhdx", declared: "vhdx", opts: []string{"-o", "subformat=fixed"}, size: "3M"},
		{name: "vdi dynamic", qemuFmt: "vdi", declared: "vdi", size: "40M"},
		{name: "vdi static", qemuFmt: "vdi", declared: "vdi", opts: []string{"-o", "static=on"}, size: "2M"},
		{name: "vdi as qcow2", qemuFmt: "vdi", declared: "qcow2", size: "2M", wantErr: ErrMismatch},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "disk")
			args := append([]string{"create", "-q", "-f", tc.qemuFmt}, tc.opts...)
			args = append(args, path)
			if tc.size != "" {
				args = append(args, tc.size)
			}
			qemuImg(t, args...)
			got, err := inspectFile(t, path, tc.declared)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Result() = %+v, %v; want %v", got, err, tc.wantErr)
				}
				t.Logf("refused: %v", err)
				return
			}
			if err != nil {
				t.Fatalf("Result(): %v", err)
			}
			var info struct {
				VirtualSize int64 `json:"virtual-size"`
			}
			if err := json.Unmarshal(qemuImg(t, "info", "--output=json", "-f", tc.qemuFmt, path), &info); err != nil {
				t.Fatal(err)
			}
			if got.VirtualSize != info.VirtualSize {
				t.Errorf("virtual size = %d, qemu-img says %d", got.VirtualSize, info.VirtualSize)
			}
		})
	}
}
