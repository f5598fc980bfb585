package fake

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"

	"github.com/nimbus-cloud/nimbus/internal/virt"
)

// image is a root disk's content: a file the caller owns, or bytes read
// from a stream, shared by the instances made from the same content.
type image struct {
	key        string // "path:<path>" or "sha256:<digest>"
	path       string
	data       []byte
	size       int64
	diskFormat string
	id         string
	refs       int
}

// Spawn creates the instance and boots it unless spec.StartStopped. It
// fails, leaving nothing behind, for a duplicate uuid, a spec without
// uuid, name or size, or an image it cannot read.
func (d *Driver) Spawn(ctx context.Context, spec *virt.InstanceSpec) error {
	if err := validateSpec(spec); err != nil {
		return err
	}
	if err := d.enterNamed(ctx, OpSpawn, spec.Name); err != nil {
		return fmt.Errorf("spawn %s: %w", spec.UUID, err)
	}
	d.mu.Lock()
	_, exists := d.instances[spec.UUID]
	d.mu.Unlock()
	if exists {
		return fmt.Errorf("spawn %s: %w", spec.UUID, virt.ErrInstanceExists)
	}
	// Read the image before taking the lock: a stream may be slow.
	img, err := d.readImage(spec.Image)
	if err != nil {
		return fmt.Errorf("spawn %s: %w", spec.UUID, err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, exists := d.instances[spec.UUID]; exists {
		return fmt.Errorf("spawn %s: %w", spec.UUID, virt.ErrInstanceExists)
	}
	in := &instance{spec: copySpec(spec), state: virt.Running, image: d.holdImage(img)}
	in.vncPort = d.allocVNCPort()
	if spec.StartStopped {
		in.state = virt.Shutdown
	} else {
		in.console.boot(&in.spec)
		d.emit(spec.UUID, virt.EventStarted)
	}
	d.instances[spec.UUID] = in
	return nil
}

func validateSpec(spec *virt.InstanceSpec) error {
	bad := func(what string) error {
		return fmt.Errorf("spawn %s: %w: %s", spec.UUID, virt.ErrInvalidSpec, what)
	}
	switch {
	case spec.UUID == "":
		return bad("no uuid")
	case spec.Name == "":
		return bad("no name")
	case spec.Flavor.VCPUs < 1:
		return bad(fmt.Sprintf("flavor has %d VCPUs", spec.Flavor.VCPUs))
	case spec.Flavor.MemoryMB < 1:
		return bad(fmt.Sprintf("flavor has %d MB of memory", spec.Flavor.MemoryMB))
	case spec.Flavor.RootGB < 0 || spec.Flavor.EphemeralGB < 0 || spec.Flavor.SwapMB < 0:
		return bad("flavor has a negative disk size")
	case spec.Image.Path != "" && spec.Image.Reader != nil:
		return bad("image has both a path and a stream")
	}
	for _, b := range spec.BlockDeviceMappings {
		if b.DestinationType != "" && b.DestinationType != "local" {
			return fmt.Errorf("spawn %s: %w: block device destination_type %q (volumes are not attached by this driver)",
				spec.UUID, virt.ErrNotSupported, b.DestinationType)
		}
	}
	return nil
}

// copySpec keeps what the instance needs of spec, without the image stream.
func copySpec(spec *virt.InstanceSpec) virt.InstanceSpec {
	c := *spec
	c.Image.Reader = nil
	c.Flavor.ExtraSpecs = maps.Clone(spec.Flavor.ExtraSpecs)
	c.Metadata = maps.Clone(spec.Metadata)
	c.Image.Properties = maps.Clone(spec.Image.Properties)
	c.BlockDeviceMappings = slices.Clone(spec.BlockDeviceMappings)
	c.Network = slices.Clone(spec.Network)
	c.UserData = slices.Clone(spec.UserData)
	return c
}

// readImage reads ref: a path must be a readable file; a stream is read
// whole, up to MaxImageBytes. A zero ref is an instance without image.
func (d *Driver) readImage(ref virt.ImageRef) (*image, error) {
	format := ref.DiskFormat
	if format == "" {
		format = "raw"
	}
	switch {
	case ref.Path != "":
		st, err := os.Stat(ref.Path)
		if err != nil {
			return nil, fmt.Errorf("%w: image %s: %v", virt.ErrInvalidSpec, ref.ID, err)
		}
		if !st.Mode().IsRegular() {
			return nil, fmt.Errorf("%w: image %s: %s is not a file", virt.ErrInvalidSpec, ref.ID, ref.Path)
		}
		return &image{key: "path:" + ref.Path, path: ref.Path, size: st.Size(), diskFormat: format, id: ref.ID}, nil
	case ref.Reader != nil:
		data, err := io.ReadAll(io.LimitReader(ref.Reader, d.opts.MaxImageBytes+1))
		if err != nil {
			return nil, fmt.Errorf("read image %s: %w", ref.ID, err)
		}
		if int64(len(data)) > d.opts.MaxImageBytes {
			return nil, fmt.Errorf("%w: image %s is larger than the %d bytes the fake driver keeps in memory; give its path",
				virt.ErrInvalidSpec, ref.ID, d.opts.MaxImageBytes)
		}
		if ref.Size > 0 && int64(len(data)) != ref.Size {
			return nil, fmt.Errorf("%w: image %s: read %d bytes, expected %d", virt.ErrInvalidSpec, ref.ID, len(data), ref.Size)
		}
		sum := sha256.Sum256(data)
		return &image{key: "sha256:" + hex.EncodeToString(sum[:]), data: data, size: int64(len(data)), diskFormat: format, id: ref.ID}, nil
	case ref.ID != "":
		return nil, fmt.Errorf("%w: image %s has neither a path nor a stream", virt.ErrInvalidSpec, ref.ID)
	}
	return nil, nil
}

// holdImage shares img with the instances already using the same content;
// the caller holds d.mu.
func (d *Driver) holdImage(img *image) *image {
	if img == nil {
		return nil
	}
	if held, ok := d.images[img.key]; ok {
		held.refs++
		return held
	}
	img.refs = 1
	d.images[img.key] = img
	return img
}

// releaseImage drops one use; the caller holds d.mu.
func (d *Driver) releaseImage(img *image) {
	if img == nil {
		return
	}
	img.refs--
	if img.refs == 0 {
		delete(d.images, img.key)
	}
}

// allocVNCPort takes the lowest free port from 5900, as QEMU displays are
// numbered; the caller holds d.mu.
func (d *Driver) allocVNCPort() int {
	p := 5900
	for d.vncPorts[p] {
		p++
	}
	d.vncPorts[p] = true
	return p
}

// Destroy removes the instance; an unknown one is no error.
func (d *Driver) Destroy(ctx context.Context, uuid string, keepDisks bool) error {
	if err := d.enter(ctx, OpDestroy, uuid); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	in, ok := d.instances[uuid]
	if !ok {
		return nil
	}
	delete(d.instances, uuid)
	d.forget(in)
	switch in.state {
	case virt.Running, virt.Paused:
		d.emit(uuid, virt.EventStopped)
	}
	return nil
}

// forget releases what an instance held; the caller holds d.mu.
func (d *Driver) forget(in *instance) {
	d.releaseImage(in.image)
	d.releaseImage(in.rescue)
	delete(d.vncPorts, in.vncPort)
}

// ImageCount is the number of distinct images the driver holds, so that
// tests can tell that destroyed instances leave nothing behind.
func (d *Driver) ImageCount() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.images)
}
