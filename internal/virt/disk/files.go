package disk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/nimbus-cloud/nimbus/internal/virt"
)

// ConsoleBytes is how much of a console log a driver returns, as nova's
// libvirt driver returns the last 100 KiB.
const ConsoleBytes = 100 << 10

// TailFile is the last n bytes of path, from a line start; a missing file
// is empty.
func TailFile(path string, n int64) ([]byte, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	off := max(st.Size()-n, 0)
	data := make([]byte, st.Size()-off)
	if _, err := f.ReadAt(data, off); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if off > 0 {
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			data = data[i+1:]
		}
	}
	return data, nil
}

// Flatten copies the qcow2 disk at src, its backing chain flattened, into
// a temporary qcow2 in dir: the image of a snapshot, removed when the
// caller closes it. The caller keeps the guest from writing meanwhile.
func (c *Cache) Flatten(ctx context.Context, dir, src string) (*virt.SnapshotImage, error) {
	f, err := os.CreateTemp(dir, ".snapshot-*.qcow2")
	if err != nil {
		return nil, err
	}
	path := f.Name()
	f.Close()
	if _, err := c.Run(ctx, "convert", "-q", "-U", "-f", "qcow2", "-O", "qcow2", src, path); err != nil {
		os.Remove(path)
		return nil, err
	}
	data, err := os.Open(path)
	if err != nil {
		os.Remove(path)
		return nil, err
	}
	st, err := data.Stat()
	if err != nil {
		data.Close()
		os.Remove(path)
		return nil, err
	}
	return &virt.SnapshotImage{Data: &removeOnClose{File: data}, Size: st.Size(), DiskFormat: "qcow2",
		ContainerFormat: "bare"}, nil
}

// removeOnClose is a temporary file that goes when closed.
type removeOnClose struct{ *os.File }

func (r *removeOnClose) Close() error {
	err := r.File.Close()
	if rerr := os.Remove(r.File.Name()); err == nil {
		err = rerr
	}
	if err != nil {
		return fmt.Errorf("close snapshot: %w", err)
	}
	return nil
}
