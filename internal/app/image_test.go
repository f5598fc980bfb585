package app

import (
	"encoding/binary"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/image/format"
)

func TestInspectorFormatMatchOption(t *testing.T) {
	t.Parallel()
	random := make([]byte, 4096)
	for i := range random {
		random[i] = byte(i * 7)
	}
	qcow2 := make([]byte, 4096)
	copy(qcow2, "QFI\xfb")
	binary.BigEndian.PutUint32(qcow2[4:], 3)
	binary.BigEndian.PutUint32(qcow2[20:], 16)
	binary.BigEndian.PutUint64(qcow2[24:], 1<<30)
	binary.BigEndian.PutUint32(qcow2[100:], 104)
	cases := []struct {
		name         string
		declared     string
		data         []byte
		requireMatch bool
		ok           bool
	}{
		{"strict: unknown data declared vhd", "vhd", random, true, false},
		{"lenient: unknown data declared vhd", "vhd", random, false, true},
		{"lenient: qcow2 declared raw", "raw", qcow2, false, false},
		{"strict: raw declared raw", "raw", random, true, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := inspector{format.NewInspector(tc.declared), tc.requireMatch}
			_, werr := in.Write(tc.data)
			_, err := in.Result()
			if (err == nil) != tc.ok {
				t.Fatalf("Result error = %v (write error %v), want ok=%v", err, werr, tc.ok)
			}
		})
	}
}
