package qemu

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
	"strconv"
	"strings"
	"sync"

	"github.com/nimbus-cloud/nimbus/internal/virt"
)

const gib = int64(1) << 30

// imageInfo is what qemu-img info says of a file.
type imageInfo struct {
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

// qemuImg runs qemu-img, with its error output in the error.
func (d *Driver) qemuImg(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, d.imgBin, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("qemu-img %s: %w: %s", args[0], err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// info inspects path; format "" lets qemu-img tell the format.
func (d *Driver) info(ctx context.Context, path, format string) (imageInfo, error) {
	args := []string{"info", "--output=json", "-U"}
	if format != "" {
		args = append(args, "-f", format)
	}
	out, err := d.qemuImg(ctx, append(args, path)...)
	if err != nil {
		return imageInfo{}, err
	}
	var info imageInfo
	if err := json.Unmarshal(out, &info); err != nil {
		return imageInfo{}, fmt.Errorf("decode qemu-img info of %s: %w", path, err)
	}
	return info, nil
}

// qemuFormat is QEMU's name of a disk_format the image service stores.
func qemuFormat(diskFormat string) (string, error) {
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

// baseKey is a base file's name: the sha1 of the image id, as nova names
// the files in _base.
func baseKey(id string) string {
	sum := sha1.Sum([]byte(id))
	return hex.EncodeToString(sum[:])
}

// base is a cached base image.
type base struct {
	path   string
	format string
	size   int64 // virtual size
}

// lockBase serializes the making of one base file.
func (d *Driver) lockBase(key string) func() {
	d.mu.Lock()
	m, ok := d.bases[key]
	if !ok {
		m = &sync.Mutex{}
		d.bases[key] = m
	}
	d.mu.Unlock()
	m.Lock()
	return m.Unlock
}

// ensureBase puts ref's image in _base, converted to raw (or kept qcow2
// with KeepQcow2Bases), once per image id. An image whose data is not
// the format it declares, or a qcow2 that points at other files, is
// refused: the guest would otherwise read what the host has.
func (d *Driver) ensureBase(ctx context.Context, ref virt.ImageRef) (base, error) {
	if ref.ID == "" || !uuidPattern.MatchString(strings.ReplaceAll(ref.ID, ".", "-")) {
		return base{}, fmt.Errorf("%w: image id %q", virt.ErrInvalidSpec, ref.ID)
	}
	key := baseKey(ref.ID)
	unlock := d.lockBase(key)
	defer unlock()
	target := filepath.Join(d.base, key)
	for _, format := range []string{"raw", "qcow2"} {
		p := target
		if format == "qcow2" {
			p += ".qcow2"
		}
		if _, err := os.Stat(p); err == nil {
			info, err := d.info(ctx, p, format)
			if err != nil {
				return base{}, fmt.Errorf("base image %s: %w", ref.ID, err)
			}
			return base{path: p, format: format, size: info.VirtualSize}, nil
		}
	}
	declared, err := qemuFormat(ref.DiskFormat)
	if err != nil {
		return base{}, fmt.Errorf("image %s: %w", ref.ID, err)
	}
	src := ref.Path
	if src == "" {
		if ref.Reader == nil {
			return base{}, fmt.Errorf("%w: image %s has neither a file nor a stream", virt.ErrInvalidSpec, ref.ID)
		}
		part := target + ".part"
		if err := writeFile(part, ref.Reader); err != nil {
			return base{}, fmt.Errorf("store image %s: %w", ref.ID, err)
		}
		defer os.Remove(part)
		src = part
	}
	probed, err := d.info(ctx, src, "")
	if err != nil {
		return base{}, fmt.Errorf("%w: image %s cannot be read: %v", virt.ErrInvalidSpec, ref.ID, err)
	}
	if declared == "" {
		declared = probed.Format
	}
	if probed.Format != declared {
		return base{}, fmt.Errorf("%w: image %s declares disk_format %s but its data is %s", virt.ErrInvalidSpec, ref.ID, ref.DiskFormat, probed.Format)
	}
	if probed.BackingFilename != "" || probed.FormatSpecific.Data.DataFile != "" {
		return base{}, fmt.Errorf("%w: image %s refers to other files (backing file %q, data file %q)", virt.ErrInvalidSpec, ref.ID,
			probed.BackingFilename, probed.FormatSpecific.Data.DataFile)
	}
	format := "raw"
	if declared == "qcow2" && d.opts.KeepQcow2Bases {
		format = "qcow2"
		target += ".qcow2"
	}
	tmp := target + ".tmp"
	defer os.Remove(tmp)
	if declared == format {
		if err := linkOrCopy(src, tmp); err != nil {
			return base{}, fmt.Errorf("store base of image %s: %w", ref.ID, err)
		}
	} else if _, err := d.qemuImg(ctx, "convert", "-q", "-f", declared, "-O", format, src, tmp); err != nil {
		return base{}, fmt.Errorf("%w: convert image %s from %s: %v", virt.ErrInvalidSpec, ref.ID, declared, err)
	}
	if err := os.Rename(tmp, target); err != nil {
		return base{}, fmt.Errorf("store base of image %s: %w", ref.ID, err)
	}
	return base{path: target, format: format, size: probed.VirtualSize}, nil
}

func writeFile(path string, r io.Reader) error {
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

// linkOrCopy makes dst have src's content, by a hard link when it can.
func linkOrCopy(src, dst string) error {
	_ = os.Remove(dst)
	if err := os.Link(src, dst); err == nil {
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	return writeFile(dst, in)
}

// createOverlay makes a qcow2 of size bytes over a backing file, whose
// format is always given so that QEMU never guesses it.
func (d *Driver) createOverlay(ctx context.Context, path, backing, backingFormat string, size int64) error {
	args := []string{"create", "-q", "-f", "qcow2"}
	if backing != "" {
		args = append(args, "-F", backingFormat, "-b", backing)
	}
	if _, err := d.qemuImg(ctx, append(args, path, strconv.FormatInt(size, 10))...); err != nil {
		return fmt.Errorf("create disk %s: %w", filepath.Base(path), err)
	}
	return nil
}

// ensureFormatted is a raw base file of size bytes made by mkfs, shared by
// every ephemeral or swap disk of that size, as nova's
// _base/ephemeral_<GB>_<fs> and swap_<MB>. Without the tool the disk is
// left blank and the guest formats it.
func (d *Driver) ensureFormatted(ctx context.Context, name string, size int64, mkfs ...string) (string, error) {
	if _, err := exec.LookPath(mkfs[0]); err != nil {
		return "", nil
	}
	path := filepath.Join(d.base, name)
	unlock := d.lockBase(name)
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

// makeDisks creates the instance's root, ephemeral and swap disks.
func (d *Driver) makeDisks(ctx context.Context, in *instance, b base) error {
	f := in.rec.Spec.Flavor
	size := int64(f.RootGB) * gib
	if size == 0 {
		size = b.size
	}
	if size < b.size {
		return fmt.Errorf("%w: the flavor's root disk of %d GB is smaller than image %s (%d bytes)",
			virt.ErrInvalidSpec, f.RootGB, in.rec.Spec.Image.ID, b.size)
	}
	if err := d.createOverlay(ctx, in.path(fileDisk), b.path, b.format, size); err != nil {
		return err
	}
	if f.EphemeralGB > 0 {
		size := int64(f.EphemeralGB) * gib
		eph, err := d.ensureFormatted(ctx, fmt.Sprintf("ephemeral_%d_ext4", f.EphemeralGB), size,
			"mkfs.ext4", "-q", "-F", "-L", "ephemeral0", "-E", "lazy_itable_init=1,lazy_journal_init=1")
		if err != nil {
			return fmt.Errorf("ephemeral disk: %w", err)
		}
		if err := d.createOverlay(ctx, in.path(fileEphemeral), eph, "raw", size); err != nil {
			return err
		}
	}
	if f.SwapMB > 0 {
		size := int64(f.SwapMB) << 20
		swap, err := d.ensureFormatted(ctx, fmt.Sprintf("swap_%d", f.SwapMB), size, "mkswap")
		if err != nil {
			return fmt.Errorf("swap disk: %w", err)
		}
		if err := d.createOverlay(ctx, in.path(fileSwap), swap, "raw", size); err != nil {
			return err
		}
	}
	return nil
}

// ensureFile puts image id in _base through the image fetcher, as a
// kernel or ramdisk is, and returns its path.
func (d *Driver) ensureFile(ctx context.Context, id string) (string, error) {
	if !uuidPattern.MatchString(strings.ReplaceAll(id, ".", "-")) {
		return "", fmt.Errorf("%w: image id %q", virt.ErrInvalidSpec, id)
	}
	if d.opts.Images == nil {
		return "", fmt.Errorf("%w: image %s is needed but no image service is configured", virt.ErrNotSupported, id)
	}
	key := baseKey(id)
	unlock := d.lockBase(key)
	defer unlock()
	path := filepath.Join(d.base, key)
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	rc, err := d.opts.Images.Download(ctx, id)
	if err != nil {
		return "", fmt.Errorf("download image %s: %w", id, err)
	}
	defer rc.Close()
	if err := writeFile(path+".part", rc); err != nil {
		os.Remove(path + ".part")
		return "", fmt.Errorf("download image %s: %w", id, err)
	}
	return path, os.Rename(path+".part", path)
}
