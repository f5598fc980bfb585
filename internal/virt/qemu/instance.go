package qemu

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/virt"
	"github.com/nimbus-cloud/nimbus/internal/virt/disk"
)

// instance is one guest of the host.
type instance struct {
	// op serializes operations on the instance.
	op  chanMutex
	dir string
	rec record

	// The fields below are guarded by the driver's mu.
	state virt.PowerState
	proc  *process
	// busy is set while an operation runs: the operation, not the event
	// watcher, reports what it changes.
	busy bool
	// opEnd is when the last operation finished; QEMU's events stamped
	// before it were that operation's doing.
	opEnd time.Time
	// reported is the power state of the last event emitted.
	reported virt.PowerState
	// gone is set once the instance left the driver's maps.
	gone bool
	// live is the live migration under way from this host, if any.
	live *liveJob
}

// record is what instance.json keeps: the instance as spawned, and how its
// QEMU is made.
type record struct {
	Spec virt.InstanceSpec `json:"spec"`
	// BaseFormat is the format of the root disk's backing file.
	BaseFormat string `json:"base_format,omitempty"`
	// Kernel and Initrd boot a kernel directly (image kernel_id and
	// ramdisk_id); Append is its command line.
	Kernel string `json:"kernel,omitempty"`
	Initrd string `json:"initrd,omitempty"`
	Append string `json:"append,omitempty"`
	// ConfigDrive is the config drive's format, empty without one.
	ConfigDrive string `json:"config_drive,omitempty"`
	// Crashed is set when QEMU died without a shutdown.
	Crashed bool `json:"crashed,omitempty"`
	// Rescue is set while the instance boots from its rescue disk
	// (disk.rescue), its own disk attached second.
	Rescue bool `json:"rescue,omitempty"`
}

func (in *instance) info() virt.InstanceInfo {
	return virt.InstanceInfo{UUID: in.rec.Spec.UUID, Name: in.rec.Spec.Name, State: in.state}
}

// uuidPattern is what an instance uuid may look like: it names folders.
var uuidPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]{0,63}$`)

// Files of an instance's folder.
const (
	fileRecord      = "instance.json"
	fileDisk        = disk.FileDisk
	fileEphemeral   = disk.FileEphemeral
	fileSwap        = disk.FileSwap
	fileConfigDrive = disk.FileConfigDrive
	fileKernel      = "kernel"
	fileRamdisk     = "ramdisk"
	fileConsole     = "console.log"
	fileQEMULog     = "qemu.log"
	fileQMP         = "qmp.sock"
	filePid         = "qemu.pid"
	fileSuspend     = "suspend.state"
	fileRescue      = "disk.rescue"
)

func (in *instance) path(name string) string { return filepath.Join(in.dir, name) }

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

// hasFile tells whether the instance folder holds name.
func (in *instance) hasFile(name string) bool {
	_, err := os.Stat(in.path(name))
	return err == nil
}

// chanMutex is a mutex whose Lock gives up when ctx ends.
type chanMutex struct{ ch chan struct{} }

func newChanMutex() chanMutex { return chanMutex{ch: make(chan struct{}, 1)} }

func (m chanMutex) lock(done <-chan struct{}) bool {
	select {
	case m.ch <- struct{}{}:
		return true
	case <-done:
		return false
	}
}

func (m chanMutex) unlock() { <-m.ch }
