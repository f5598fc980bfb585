package disk

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/nimbus-cloud/nimbus/internal/virt"
)

// CopyMigrated makes dir's disks from a migrated instance folder src: the
// root overlay is linked or copied and rebased onto b, this host's base of
// the same image, so its content stays; ephemeral and swap disks, whose
// bases mkfs made on each host and differ, travel whole.
func (c *Cache) CopyMigrated(ctx context.Context, dir, src string, b Base) error {
	if err := LinkOrCopy(filepath.Join(src, FileDisk), filepath.Join(dir, FileDisk)); err != nil {
		return fmt.Errorf("copy the root disk: %w", err)
	}
	if _, err := c.Run(ctx, "rebase", "-q", "-u", "-f", "qcow2", "-F", b.Format, "-b", b.Path, filepath.Join(dir, FileDisk)); err != nil {
		return err
	}
	for _, name := range []string{FileEphemeral, FileSwap} {
		from := filepath.Join(src, name)
		if _, err := os.Stat(from); errors.Is(err, os.ErrNotExist) {
			continue
		}
		if _, err := c.Run(ctx, "convert", "-q", "-f", "qcow2", "-O", "qcow2", from, filepath.Join(dir, name)); err != nil {
			return err
		}
	}
	return nil
}

// GrowDisks resizes dir's disks up to flavor f, creating the ephemeral or
// swap disk a bigger flavor adds; disks never shrink.
func (c *Cache) GrowDisks(ctx context.Context, dir string, f virt.Flavor, b Base) error {
	path := func(name string) string { return filepath.Join(dir, name) }
	exists := func(name string) bool { _, err := os.Stat(path(name)); return err == nil }
	grow := func(name string, size int64) error {
		info, err := c.Info(ctx, path(name), "qcow2")
		if err != nil {
			return err
		}
		if size <= info.VirtualSize {
			return nil
		}
		_, err = c.Run(ctx, "resize", "-q", "-f", "qcow2", path(name), strconv.FormatInt(size, 10))
		return err
	}
	if err := grow(FileDisk, max(int64(f.RootGB)*GiB, b.Size)); err != nil {
		return fmt.Errorf("grow the root disk: %w", err)
	}
	if f.EphemeralGB > 0 {
		if !exists(FileEphemeral) {
			if err := c.CreateOverlay(ctx, path(FileEphemeral), "", "", int64(f.EphemeralGB)*GiB); err != nil {
				return err
			}
		} else if err := grow(FileEphemeral, int64(f.EphemeralGB)*GiB); err != nil {
			return fmt.Errorf("grow the ephemeral disk: %w", err)
		}
	}
	if f.SwapMB > 0 && !exists(FileSwap) {
		swap, err := c.EnsureFormatted(ctx, fmt.Sprintf("swap_%d", f.SwapMB), int64(f.SwapMB)<<20, "mkswap")
		if err != nil {
			return fmt.Errorf("swap disk: %w", err)
		}
		if err := c.CreateOverlay(ctx, path(FileSwap), swap, "raw", int64(f.SwapMB)<<20); err != nil {
			return err
		}
	}
	return nil
}
