package qmp

import (
	"context"
	"os"
	"strconv"
)

// Status is the VM's run state (query-status).
type Status struct {
	Running bool `json:"running"`
	// Status is QEMU's RunState: running, paused, prelaunch, inmigrate,
	// postmigrate, finish-migrate, shutdown, guest-panicked, suspended, ...
	Status string `json:"status"`
}

// QueryStatus asks for the VM's run state.
func (q *Conn) QueryStatus(ctx context.Context) (Status, error) {
	var s Status
	err := q.Execute(ctx, "query-status", nil, &s)
	return s, err
}

// Stop pauses the VM's CPUs.
func (q *Conn) Stop(ctx context.Context) error { return q.Execute(ctx, "stop", nil, nil) }

// Cont resumes the VM's CPUs.
func (q *Conn) Cont(ctx context.Context) error { return q.Execute(ctx, "cont", nil, nil) }

// SystemPowerdown presses the ACPI power button.
func (q *Conn) SystemPowerdown(ctx context.Context) error {
	return q.Execute(ctx, "system_powerdown", nil, nil)
}

// SystemReset resets the VM, as the reset button does.
func (q *Conn) SystemReset(ctx context.Context) error {
	return q.Execute(ctx, "system_reset", nil, nil)
}

// Quit makes QEMU exit at once; the connection ends with it.
func (q *Conn) Quit(ctx context.Context) error { return q.Execute(ctx, "quit", nil, nil) }

// KVM is whether KVM is present and in use (query-kvm).
type KVM struct {
	Enabled bool `json:"enabled"`
	Present bool `json:"present"`
}

// QueryKVM asks whether the VM runs on KVM.
func (q *Conn) QueryKVM(ctx context.Context) (KVM, error) {
	var k KVM
	err := q.Execute(ctx, "query-kvm", nil, &k)
	return k, err
}

// VNC is the VNC server's state (query-vnc).
type VNC struct {
	Enabled bool   `json:"enabled"`
	Host    string `json:"host"`
	Service string `json:"service"`
	Family  string `json:"family"`
}

// Port is the VNC server's TCP port, 0 when it has none.
func (v VNC) Port() int {
	p, _ := strconv.Atoi(v.Service)
	return p
}

// QueryVNC asks where the VNC server listens.
func (q *Conn) QueryVNC(ctx context.Context) (VNC, error) {
	var v VNC
	err := q.Execute(ctx, "query-vnc", nil, &v)
	return v, err
}

// Screendump writes the display to a PPM file on QEMU's host.
func (q *Conn) Screendump(ctx context.Context, filename string) error {
	return q.Execute(ctx, "screendump", map[string]any{"filename": filename}, nil)
}

// GetFD hands f to QEMU under name, for a later "fd:name" URI.
func (q *Conn) GetFD(ctx context.Context, name string, f *os.File) error {
	return q.ExecuteWithFile(ctx, "getfd", map[string]any{"fdname": name}, nil, f)
}

// CloseFD drops a descriptor GetFD gave.
func (q *Conn) CloseFD(ctx context.Context, name string) error {
	return q.Execute(ctx, "closefd", map[string]any{"fdname": name}, nil)
}

// Migrate starts an outgoing migration to uri (tcp:HOST:PORT, fd:NAME).
func (q *Conn) Migrate(ctx context.Context, uri string) error {
	return q.Execute(ctx, "migrate", map[string]any{"uri": uri}, nil)
}

// MigrateIncoming starts listening for an incoming migration on a QEMU
// started with -incoming defer.
func (q *Conn) MigrateIncoming(ctx context.Context, uri string) error {
	return q.Execute(ctx, "migrate-incoming", map[string]any{"uri": uri}, nil)
}

// MigrateCancel cancels the outgoing migration.
func (q *Conn) MigrateCancel(ctx context.Context) error {
	return q.Execute(ctx, "migrate_cancel", nil, nil)
}

// MigrateSetCapabilities turns migration capabilities on or off.
func (q *Conn) MigrateSetCapabilities(ctx context.Context, caps map[string]bool) error {
	list := make([]map[string]any, 0, len(caps))
	for name, on := range caps {
		list = append(list, map[string]any{"capability": name, "state": on})
	}
	return q.Execute(ctx, "migrate-set-capabilities", map[string]any{"capabilities": list}, nil)
}

// MigrateSetParameters sets migration parameters (max-bandwidth,
// downtime-limit, ...).
func (q *Conn) MigrateSetParameters(ctx context.Context, params map[string]any) error {
	return q.Execute(ctx, "migrate-set-parameters", params, nil)
}

// SocketAddress is an address QEMU listens on.
type SocketAddress struct {
	Type string `json:"type"`
	Host string `json:"host"`
	Port string `json:"port"`
	Path string `json:"path"`
}

// MigrationRAM is the RAM part of a migration's progress.
type MigrationRAM struct {
	Transferred int64 `json:"transferred"`
	Remaining   int64 `json:"remaining"`
	Total       int64 `json:"total"`
}

// Migration is a migration's state (query-migrate).
type Migration struct {
	// Status: none, setup, active, completed, failed, cancelled, ...
	Status    string          `json:"status"`
	RAM       *MigrationRAM   `json:"ram"`
	TotalTime int64           `json:"total-time"`
	Downtime  int64           `json:"downtime"`
	ErrorDesc string          `json:"error-desc"`
	Sockets   []SocketAddress `json:"socket-address"`
}

// QueryMigrate asks for the state of the last or current migration.
func (q *Conn) QueryMigrate(ctx context.Context) (Migration, error) {
	var m Migration
	err := q.Execute(ctx, "query-migrate", nil, &m)
	return m, err
}

// NBDServerStart starts the built-in NBD server on host:port.
func (q *Conn) NBDServerStart(ctx context.Context, host string, port int) error {
	return q.Execute(ctx, "nbd-server-start", map[string]any{
		"addr": map[string]any{"type": "inet", "data": map[string]any{"host": host, "port": strconv.Itoa(port)}},
	}, nil)
}

// NBDServerAdd exports a block device under its own name.
func (q *Conn) NBDServerAdd(ctx context.Context, device string, writable bool) error {
	return q.Execute(ctx, "nbd-server-add", map[string]any{"device": device, "writable": writable}, nil)
}

// NBDServerStop stops the NBD server and its exports.
func (q *Conn) NBDServerStop(ctx context.Context) error {
	return q.Execute(ctx, "nbd-server-stop", nil, nil)
}

// DriveMirror is a drive-mirror job's arguments.
type DriveMirror struct {
	Device string `json:"device"`
	Target string `json:"target"`
	Format string `json:"format,omitempty"`
	// Sync: top (only the top image of the chain), full or none.
	Sync string `json:"sync"`
	// Mode: existing (target made beforehand) or absolute-paths.
	Mode  string `json:"mode,omitempty"`
	JobID string `json:"job-id,omitempty"`
}

// DriveMirrorStart starts copying a drive to a target while the VM runs.
func (q *Conn) DriveMirrorStart(ctx context.Context, m DriveMirror) error {
	return q.Execute(ctx, "drive-mirror", m, nil)
}

// BlockJob is a running block job (query-block-jobs).
type BlockJob struct {
	Device string `json:"device"`
	Type   string `json:"type"`
	Len    int64  `json:"len"`
	Offset int64  `json:"offset"`
	Ready  bool   `json:"ready"`
	Status string `json:"status"`
}

// QueryBlockJobs lists the block jobs.
func (q *Conn) QueryBlockJobs(ctx context.Context) ([]BlockJob, error) {
	var jobs []BlockJob
	err := q.Execute(ctx, "query-block-jobs", nil, &jobs)
	return jobs, err
}

// BlockJobCancel ends a job; a ready mirror ends with its target
// consistent.
func (q *Conn) BlockJobCancel(ctx context.Context, device string) error {
	return q.Execute(ctx, "block-job-cancel", map[string]any{"device": device}, nil)
}
