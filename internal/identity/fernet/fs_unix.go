//go:build unix

package fernet

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lockName is the lock file writers hold in the key directory; it is not an
// integer, so the key loader ignores it.
const lockName = ".lock"

// lockDir takes an exclusive flock on dir's lock file, serializing Setup and
// Rotate across processes; it blocks while another writer holds it.
func lockDir(dir string) (unlock func(), err error) {
	f, err := os.OpenFile(filepath.Join(dir, lockName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("lock key repository: %w", err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		_ = f.Close()
	}, nil
}

// syncDir flushes dir's entries, making renames and removals durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync key repository: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync key repository: %w", err)
	}
	return nil
}
