// Package disk prepares instance disks the way nova's image backend does,
// for every driver that runs QEMU guests from files: a cache of base images
// in _base, named by the sha1 of the image id and converted to raw (as
// nova's force_raw_images), qcow2 overlays on them for the root disk,
// ephemeral and swap disks on shared formatted bases, the growing and
// copying of disks for a cold migration, and the config drive.
package disk

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/nimbus-cloud/nimbus/internal/virt"
)

// GiB is a gibibyte, the unit of flavors' disks.
const GiB = int64(1) << 30

// Files of an instance folder, as nova names them.
const (
	FileDisk        = "disk"
	FileEphemeral   = "disk.eph0"
	FileSwap        = "disk.swap"
	FileConfigDrive = "disk.config"
)

// Fetcher downloads images beyond the root disk's: the kernel and ramdisk
// of kernel_id/ramdisk_id images.
type Fetcher interface {
	Download(ctx context.Context, imageID string) (io.ReadCloser, error)
}

// Cache is one host's _base folder and the qemu-img that fills it. Its
// methods are safe for concurrent use; each base file is made once.
type Cache struct {
	// QEMUImg is the qemu-img binary.
	QEMUImg string
	// Dir is the _base folder.
	Dir string
	// KeepQcow2Bases keeps qcow2 images as qcow2 base files; by default
	// every base is converted to raw, as nova's force_raw_images.
	KeepQcow2Bases bool
	// Images fetches kernels and ramdisks; without it such images fail.
	Images Fetcher

	mu    sync.Mutex
	locks map[string]*sync.Mutex
}

// idPattern is what an image id may look like: it names files.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]{0,63}$`)

// ValidID tells whether id may name a file of the cache.
func ValidID(id string) bool { return idPattern.MatchString(strings.ReplaceAll(id, ".", "-")) }

// Info is what qemu-img info says of a file.
type Info struct {
	Format          string `json:"format"`
	VirtualSize     int64  `json:"virtual-size"`
	ActualSize      int64  `json:"actual-size"`
	BackingFilename string `json:"backing-filename"`
	FormatSpecific  struct {
		Type string `json:"type"`
		Data struct {
			DataFile string `json:"data-file"`
		} `json:"data"`
	} `json:"format-specific"`
}

// Run runs qemu-img, with its error output in the error.
func (c *Cache) Run(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, c.QEMUImg, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("qemu-img %s: %w: %s", args[0], err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// Info inspects path; format "" lets qemu-img tell the format.
func (c *Cache) Info(ctx context.Context, path, format string) (Info, error) {
	args := []string{"info", "--output=json", "-U"}
	if format != "" {
		args = append(args, "-f", format)
	}
	out, err := c.Run(ctx, append(args, path)...)
	if err != nil {
		return Info{}, err
	}
	var info Info
	if err := json.Unmarshal(out, &info); err != nil {
		return Info{}, fmt.Errorf("decode qemu-img info of %s: %w", path, err)
	}
	return info, nil
}

// Format is QEMU's name of a disk_format the image service stores.
func Format(diskFormat string) (string, error) {
	switch diskFormat {
	case "raw", "ami", "aki", "ari":
		return "raw", nil
	case "qcow2", "vmdk", "vdi", "vhdx":
		return diskFormat, nil
	case "vhd":
		return "vpc", nil
	case "":
		return "", nil
	}
	return "", fmt.Errorf("%w: disk_format %q cannot be a root disk", virt.ErrNotSupported, diskFormat)
}

// Key is a base file's name: the sha1 of the image id, as nova names the
// files in _base.
func Key(id string) string {
	sum := sha1.Sum([]byte(id))
	return hex.EncodeToString(sum[:])
}

// Base is a cached base image.
type Base struct {
	Path   string
	Format string
	Size   int64 // virtual size
}

// lock serializes the making of one base file.
func (c *Cache) lock(key string) func() {
	c.mu.Lock()
	if c.locks == nil {
		c.locks = map[string]*sync.Mutex{}
	}
	m, ok := c.locks[key]
	if !ok {
		m = &sync.Mutex{}
		c.locks[key] = m
	}
	c.mu.Unlock()
	m.Lock()
	return m.Unlock
}

// EnsureBase puts ref's image in _base, converted to raw (or kept qcow2
// with KeepQcow2Bases), once per image id. An image whose data is not
// the format it declares, or a qcow2 that points at other files, is
// refused: the guest would otherwise read what the host has.
func (c *Cache) EnsureBase(ctx context.Context, ref virt.ImageRef) (Base, error) {
	if ref.ID == "" || !ValidID(ref.ID) {
		return Base{}, fmt.Errorf("%w: image id %q", virt.ErrInvalidSpec, ref.ID)
	}
	key := Key(ref.ID)
	unlock := c.lock(key)
	defer unlock()
	target := filepath.Join(c.Dir, key)
	for _, format := range []string{"raw", "qcow2"} {
		p := target
		if format == "qcow2" {
			p += ".qcow2"
		}
		if _, err := os.Stat(p); err == nil {
			info, err := c.Info(ctx, p, format)
			if err != nil {
				return Base{}, fmt.Errorf("base image %s: %w", ref.ID, err)
			}
			return Base{Path: p, Format: format, Size: info.VirtualSize}, nil
		}
	}
	declared, err := Format(ref.DiskFormat)
	if err != nil {
		return Base{}, fmt.Errorf("image %s: %w", ref.ID, err)
	}
	src := ref.Path
	if src == "" {
		if ref.Reader == nil {
			return Base{}, fmt.Errorf("%w: image %s has neither a file nor a stream", virt.ErrInvalidSpec, ref.ID)
		}
		part := target + ".part"
		if err := WriteFile(part, ref.Reader); err != nil {
			return Base{}, fmt.Errorf("store image %s: %w", ref.ID, err)
		}
		defer os.Remove(part)
		src = part
	}
	probed, err := c.Info(ctx, src, "")
	if err != nil {
		return Base{}, fmt.Errorf("%w: image %s cannot be read: %v", virt.ErrInvalidSpec, ref.ID, err)
	}
	if declared == "" {
		declared = probed.Format
	}
	if probed.Format != declared {
		return Base{}, fmt.Errorf("%w: image %s declares disk_format %s but its data is %s", virt.ErrInvalidSpec, ref.ID, ref.DiskFormat, probed.Format)
	}
	if probed.BackingFilename != "" || probed.FormatSpecific.Data.DataFile != "" {
		return Base{}, fmt.Errorf("%w: image %s refers to other files (backing file %q, data file %q)", virt.ErrInvalidSpec, ref.ID,
			probed.BackingFilename, probed.FormatSpecific.Data.DataFile)
	}
	format := "raw"
	if declared == "qcow2" && c.KeepQcow2Bases {
		format = "qcow2"
		target += ".qcow2"
	}
	tmp := target + ".tmp"
	defer os.Remove(tmp)
	if declared == format {
		if err := LinkOrCopy(src, tmp); err != nil {
			return Base{}, fmt.Errorf("store base of image %s: %w", ref.ID, err)
		}
	} else if _, err := c.Run(ctx, "convert", "-q", "-f", declared, "-O", format, src, tmp); err != nil {
		return Base{}, fmt.Errorf("%w: convert image %s from %s: %v", virt.ErrInvalidSpec, ref.ID, declared, err)
	}
	if err := os.Rename(tmp, target); err != nil {
		return Base{}, fmt.Errorf("store base of image %s: %w", ref.ID, err)
	}
	return Base{Path: target, Format: format, Size: probed.VirtualSize}, nil
}

// WriteFile writes r to a new file at path.
func WriteFile(path string, r io.Reader) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// LinkOrCopy makes dst have src's content, by a hard link when it can.
func LinkOrCopy(src, dst string) error {
	_ = os.Remove(dst)
	if err := os.Link(src, dst); err == nil {
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	return WriteFile(dst, in)
}

// CreateOverlay makes a qcow2 of size bytes over a backing file, whose
// format is always given so that QEMU never guesses it.
func (c *Cache) CreateOverlay(ctx context.Context, path, backing, backingFormat string, size int64) error {
	args := []string{"create", "-q", "-f", "qcow2"}
	if backing != "" {
		args = append(args, "-F", backingFormat, "-b", backing)
	}
	if _, err := c.Run(ctx, append(args, path, strconv.FormatInt(size, 10))...); err != nil {
		return fmt.Errorf("create disk %s: %w", filepath.Base(path), err)
	}
	return nil
}

// EnsureFormatted is a raw base file of size bytes made by mkfs, shared by
// every ephemeral or swap disk of that size, as nova's
// _base/ephemeral_<GB>_<fs> and swap_<MB>. Without the tool the disk is
// left blank and the guest formats it.
func (c *Cache) EnsureFormatted(ctx context.Context, name string, size int64, mkfs ...string) (string, error) {
	if _, err := exec.LookPath(mkfs[0]); err != nil {
		return "", nil
	}
	path := filepath.Join(c.Dir, name)
	unlock := c.lock(name)
	defer unlock()
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	tmp := path + ".tmp"
	defer os.Remove(tmp)
	if err := os.WriteFile(tmp, nil, 0o600); err != nil {
		return "", err
	}
	if err := os.Truncate(tmp, size); err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, mkfs[0], append(mkfs[1:], tmp)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("%s: %w: %s", mkfs[0], err, strings.TrimSpace(string(out)))
	}
	return path, os.Rename(tmp, path)
}

// MakeDisks creates an instance's root, ephemeral and swap disks in dir,
// sized by flavor f, the root an overlay on b, the base of image imageID.
func (c *Cache) MakeDisks(ctx context.Context, dir string, f virt.Flavor, imageID string, b Base) error {
	size := int64(f.RootGB) * GiB
	if size == 0 {
		size = b.Size
	}
	if size < b.Size {
		// nova's FlavorDiskSmallerThanImage, in its words.
		return fmt.Errorf("%w: Flavor's disk is too small for requested image %s. Flavor disk is %d bytes, image is %d bytes.",
			virt.ErrInvalidSpec, imageID, size, b.Size)
	}
	if err := c.CreateOverlay(ctx, filepath.Join(dir, FileDisk), b.Path, b.Format, size); err != nil {
		return err
	}
	if f.EphemeralGB > 0 {
		size := int64(f.EphemeralGB) * GiB
		eph, err := c.EnsureFormatted(ctx, fmt.Sprintf("ephemeral_%d_ext4", f.EphemeralGB), size,
			"mkfs.ext4", "-q", "-F", "-L", "ephemeral0", "-E", "lazy_itable_init=1,lazy_journal_init=1")
		if err != nil {
			return fmt.Errorf("ephemeral disk: %w", err)
		}
		if err := c.CreateOverlay(ctx, filepath.Join(dir, FileEphemeral), eph, "raw", size); err != nil {
			return err
		}
	}
	if f.SwapMB > 0 {
		size := int64(f.SwapMB) << 20
		swap, err := c.EnsureFormatted(ctx, fmt.Sprintf("swap_%d", f.SwapMB), size, "mkswap")
		if err != nil {
			return fmt.Errorf("swap disk: %w", err)
		}
		if err := c.CreateOverlay(ctx, filepath.Join(dir, FileSwap), swap, "raw", size); err != nil {
			return err
		}
	}
	return nil
}

// EnsureFile puts image id in _base through the image fetcher, as a
// kernel or ramdisk is, and returns its path.
func (c *Cache) EnsureFile(ctx context.Context, id string) (string, error) {
	if !ValidID(id) {
		return "", fmt.Errorf("%w: image id %q", virt.ErrInvalidSpec, id)
	}
	if c.Images == nil {
		return "", fmt.Errorf("%w: image %s is needed but no image service is configured", virt.ErrNotSupported, id)
	}
	key := Key(id)
	unlock := c.lock(key)
	defer unlock()
	path := filepath.Join(c.Dir, key)
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	rc, err := c.Images.Download(ctx, id)
	if err != nil {
		return "", fmt.Errorf("download image %s: %w", id, err)
	}
	defer rc.Close()
	if err := WriteFile(path+".part", rc); err != nil {
		os.Remove(path + ".part")
		return "", fmt.Errorf("download image %s: %w", id, err)
	}
	return path, os.Rename(path+".part", path)
}
