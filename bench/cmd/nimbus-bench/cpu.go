package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTick is the unit of utime and stime in /proc/PID/stat (USER_HZ, 100 on
// every Linux architecture Go supports).
const clockTick = 10 * time.Millisecond

// processCPU returns the user plus system CPU time of a process, every thread
// included, from /proc/PID/stat.
func processCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	// After the name: state ppid pgrp session tty_nr tpgid flags minflt cminflt
	// majflt cmajflt utime stime ...
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: bad utime or stime", pid)
	}
	return time.Duration(utime+stime) * clockTick, nil
}

// machineCPU returns the busy CPU time of the whole machine, all cores summed,
// from the first line of /proc/stat (everything but idle and iowait).
func machineCPU() (time.Duration, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return 0, fmt.Errorf("/proc/stat: unexpected first line %q", line)
	}
	var busy int64
	for i, v := range f[1:] {
		if i == 3 || i == 4 || i >= 8 { // idle, iowait; guest time is already in user
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/stat: %w", err)
		}
		busy += n
	}
	return time.Duration(busy) * clockTick, nil
}

// selfCPU returns this process's user plus system CPU time.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuMeter records the CPU a timed loop cost this process and, when pid is
// set, the server's process. CPU time per request does not depend on what else
// the machine runs, unlike requests per second. The machine's busy time over
// the loop shows whether other work took cores from the measurement.
type cpuMeter struct {
	pid                        int
	start                      time.Time
	server0, client0, machine0 time.Duration
	serverErr, machineErr      error
}

func startCPU(pid int) *cpuMeter {
	m := &cpuMeter{pid: pid, start: time.Now(), client0: selfCPU()}
	m.machine0, m.machineErr = machineCPU()
	if pid > 0 {
		m.server0, m.serverErr = processCPU(pid)
	}
	return m
}

// add puts the CPU per successful request into out.
func (m *cpuMeter) add(out map[string]any, ok int) {
	wall := time.Since(m.start)
	if ok == 0 || wall <= 0 {
		return
	}
	cores := func(d time.Duration) float64 { return round3(d.Seconds() / wall.Seconds()) }
	client := selfCPU() - m.client0
	ours := client
	out["client_cpu_ms_per_req"] = ms(client / time.Duration(ok))
	if m.pid > 0 {
		server, err := processCPU(m.pid)
		if err == nil {
			err = m.serverErr
		}
		if err != nil {
			out["server_cpu_error"] = err.Error()
		} else {
			out["server_cpu_ms_per_req"] = ms((server - m.server0) / time.Duration(ok))
			ours += server - m.server0
		}
	}
	if machine, err := machineCPU(); err == nil && m.machineErr == nil {
		// Cores busy on average over the loop: all of them, and those not ours.
		out["machine_busy_cores"] = cores(machine - m.machine0)
		out["other_busy_cores"] = cores(max(machine-m.machine0-ours, 0))
	}
}
