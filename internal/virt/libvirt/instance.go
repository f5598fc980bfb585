package libvirt

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/virt"
)

// instance is one guest of the host.
type instance struct {
	// op serializes operations on the instance.
	op  chan struct{}
	dir string
	rec record

	// The fields below are guarded by the driver's mu.
	// reported is the power state of the last event emitted.
	reported virt.PowerState
	// gone is set once the instance left the driver's maps.
	gone bool
	// live is the live migration under way from this host, if any.
	live *liveJob
}

// record is what instance.json keeps: the instance as spawned and what
// its domain is made of.
type record struct {
	Spec virt.InstanceSpec `json:"spec"`
	// Kernel and Initrd boot a kernel directly (image kernel_id and
	// ramdisk_id); Append is its command line.
	Kernel string `json:"kernel,omitempty"`
	Initrd string `json:"initrd,omitempty"`
	Append string `json:"append,omitempty"`
	// ConfigDrive is the config drive's format, empty without one.
	ConfigDrive string `json:"config_drive,omitempty"`
	// CrashCleared is set when an instance libvirt reports crashed was
	// powered off: it is then shut down.
	CrashCleared bool `json:"crash_cleared,omitempty"`
	// Rescue is set while the domain boots from its rescue disk, so that
	// a restarted driver defines it the same.
	Rescue *rescueRecord `json:"rescue,omitempty"`
	// Started is when the driver last started the domain.
	Started time.Time `json:"started,omitzero"`
}

// rescueRecord is a rescue's domain: the rescue disk (disk.rescue) first,
// and the kernel it boots directly, if any (file names in the instance
// folder).
type rescueRecord struct {
	ImageID string `json:"image_id"`
	Kernel  string `json:"kernel,omitempty"`
	Initrd  string `json:"initrd,omitempty"`
	Append  string `json:"append,omitempty"`
}

// Files of an instance folder beside package disk's.
const (
	fileRecord  = "instance.json"
	fileKernel  = "kernel"
	fileRamdisk = "ramdisk"
	fileConsole = "console.log"
	// The rescue disk, the rescue image's kernel and ramdisk, and the
	// rescue's config drive.
	fileRescue            = "disk.rescue"
	fileRescueKernel      = "kernel.rescue"
	fileRescueRamdisk     = "ramdisk.rescue"
	fileRescueConfigDrive = "disk.config.rescue"
)

func newInstance(dir string, rec record) *instance {
	return &instance{op: make(chan struct{}, 1), dir: dir, rec: rec}
}

func (in *instance) path(name string) string { return filepath.Join(in.dir, name) }

func (in *instance) hasFile(name string) bool {
	_, err := os.Stat(in.path(name))
	return err == nil
}

// lock takes the instance's operation lock, giving up when done closes.
func (in *instance) lock(done <-chan struct{}) bool {
	select {
	case in.op <- struct{}{}:
		return true
	case <-done:
		return false
	}
}

// tryLock takes the operation lock if no operation holds it.
func (in *instance) tryLock() bool {
	select {
	case in.op <- struct{}{}:
		return true
	default:
		return false
	}
}

func (in *instance) unlock() { <-in.op }

// save writes instance.json atomically.
func (in *instance) save() error {
	data, err := json.MarshalIndent(in.rec, "", "  ")
	if err != nil {
		return fmt.Errorf("encode instance record: %w", err)
	}
	tmp := in.path(fileRecord + ".tmp")
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("write instance record: %w", err)
	}
	if err := os.Rename(tmp, in.path(fileRecord)); err != nil {
		return fmt.Errorf("write instance record: %w", err)
	}
	return nil
}

func loadRecord(dir string) (record, error) {
	var rec record
	data, err := os.ReadFile(filepath.Join(dir, fileRecord))
	if err != nil {
		return rec, err
	}
	if err := json.Unmarshal(data, &rec); err != nil {
		return rec, fmt.Errorf("decode %s: %w", filepath.Join(dir, fileRecord), err)
	}
	return rec, nil
}

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

// reverter undoes the steps of a multi-step change that failed half way,
// last step first.
type reverter struct{ undo []func() }

func (r *reverter) add(f func()) { r.undo = append(r.undo, f) }
func (r *reverter) done()        { r.undo = nil }
func (r *reverter) revert() {
	for i := len(r.undo) - 1; i >= 0; i-- {
		r.undo[i]()
	}
	r.undo = nil
}
