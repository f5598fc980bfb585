package qemu

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/nimbus-cloud/nimbus/internal/virt"
)

// clockTicks is the kernel's USER_HZ, the unit of /proc's CPU times.
const clockTicks = 100

// Diagnostics reports the instance from its record and, while QEMU runs,
// from QMP (query-blockstats, query-cpus-fast) and /proc: each vCPU
// thread's CPU time, QEMU's resident memory and its uptime. Interface
// counters are not known (user-mode networking keeps none): they stay 0.
func (d *Driver) Diagnostics(ctx context.Context, uuid string) (virt.Diagnostics, error) {
	in, end, err := d.begin(ctx, d.instances, uuid)
	if err != nil {
		return virt.Diagnostics{}, fmt.Errorf("diagnostics of %s: %w", uuid, err)
	}
	defer end()
	m := d.machine(in)
	d.mu.Lock()
	state, p := in.state, in.proc
	// "libvirt" is the name the compute API (2.48) knows for the
	// QEMU/KVM driver family; it has no other for this one.
	diag := virt.Diagnostics{State: state.String(), Driver: "libvirt", Hypervisor: accelHV(d.accel), HypervisorOS: "linux",
		ConfigDrive: in.rec.ConfigDrive != "", MemoryMaxKB: int64(in.rec.Spec.Flavor.MemoryMB) * 1024}
	d.mu.Unlock()
	for i := range in.rec.Spec.Flavor.VCPUs {
		diag.CPUs = append(diag.CPUs, virt.CPUDiagnostics{ID: i, Utilisation: -1})
	}
	for _, n := range m.NICs {
		diag.NICs = append(diag.NICs, virt.NICDiagnostics{MAC: n.MAC})
	}
	index := map[string]int{}
	for i, disk := range m.Disks {
		index[disk.ID] = i
		diag.Disks = append(diag.Disks, virt.DiskDiagnostics{Name: "vd" + string(rune('a'+i))})
	}
	if p == nil {
		return diag, nil
	}
	if stats, err := p.qmp.QueryBlockstats(ctx); err == nil {
		for _, s := range stats {
			i, ok := index[s.Device]
			if !ok {
				continue
			}
			k := &diag.Disks[i]
			k.ReadBytes, k.ReadRequests = s.Stats.ReadBytes, s.Stats.ReadOperations
			k.WriteBytes, k.WriteRequests = s.Stats.WriteBytes, s.Stats.WriteOperations
			k.ErrorsCount = s.Stats.FailedReadOps + s.Stats.FailedWriteOps + s.Stats.FailedFlushOps
		}
	} else {
		d.log.WarnContext(ctx, "query block stats", "instance_uuid", uuid, "error", err)
	}
	if cpus, err := p.qmp.QueryCPUsFast(ctx); err == nil {
		for _, c := range cpus {
			if c.Index < 0 || c.Index >= len(diag.CPUs) {
				continue
			}
			if ticks, ok := threadTicks(p.pid, c.ThreadID); ok {
				diag.CPUs[c.Index].Time = ticks * (1e9 / clockTicks)
			}
		}
	} else {
		d.log.WarnContext(ctx, "query vcpus", "instance_uuid", uuid, "error", err)
	}
	if rss, ok := residentKB(p.pid); ok {
		diag.MemoryUsedKB = min(rss, diag.MemoryMaxKB)
	}
	diag.Uptime = processUptime(p.pid)
	return diag, nil
}

// statFields are the fields of a /proc stat file after the command name,
// which may hold spaces; field 3 (state) is the first.
func statFields(path string) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(s[i+1:])
}

// threadTicks is a thread's user and system time in clock ticks.
func threadTicks(pid, tid int) (int64, bool) {
	f := statFields(fmt.Sprintf("/proc/%d/task/%d/stat", pid, tid))
	if len(f) < 13 {
		return 0, false
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return utime + stime, true
}

// residentKB is a process's resident memory (VmRSS) in KiB.
func residentKB(pid int) (int64, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}

// processUptime is how long a process has run, in seconds (0 when
// unknown): the system's uptime less the process's start time.
func processUptime(pid int) int64 {
	f := statFields(fmt.Sprintf("/proc/%d/stat", pid))
	if len(f) < 20 {
		return 0
	}
	start, err := strconv.ParseInt(f[19], 10, 64)
	if err != nil {
		return 0
	}
	b, err := os.ReadFile("/proc/uptime")
	if err != nil {
		return 0
	}
	fields := strings.Fields(string(b))
	if len(fields) == 0 {
		return 0
	}
	up, err := strconv.ParseFloat(fields[0], 64)
	if err != nil {
		return 0
	}
	return max(0, int64(up)-start/clockTicks)
}
