package main

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
)

// memory is the resident memory of a process and its descendants.
type memory struct {
	processes    int
	rssKB, pssKB int64
	peakRSSKB    int64 // VmHWM of the root process
}

func mib(kb int64) float64 { return math.Round(float64(kb)/1024*10) / 10 }

func (m memory) fields() map[string]any {
	return map[string]any{"processes": m.processes, "rss_mib": mib(m.rssKB), "pss_mib": mib(m.pssKB),
		"peak_rss_mib": mib(m.peakRSSKB)}
}

// treeMemory sums Rss and Pss (from /proc/PID/smaps_rollup) over pid and every
// process descending from it.
func treeMemory(pid int) (memory, error) {
	pids := append([]int{pid}, descendants(pid)...)
	var m memory
	for _, p := range pids {
		roll, err := readKB(fmt.Sprintf("/proc/%d/smaps_rollup", p), "Rss:", "Pss:")
		if err != nil {
			if p == pid {
				return m, fmt.Errorf("read memory of process %d: %w", pid, err)
			}
			continue // a child that just exited
		}
		m.processes++
		m.rssKB += roll["Rss:"]
		m.pssKB += roll["Pss:"]
	}
	st, err := readKB(fmt.Sprintf("/proc/%d/status", pid), "VmHWM:")
	if err == nil {
		m.peakRSSKB = st["VmHWM:"]
	}
	return m, nil
}

// descendants lists the processes whose parent chain reaches pid.
func descendants(pid int) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	children := map[int][]int{}
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if pp, ok := parentOf(p); ok {
			children[pp] = append(children[pp], p)
		}
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		out = append(out, children[p]...)
		queue = append(queue, children[p]...)
	}
	return out
}

// parentOf reads the parent pid from /proc/PID/stat (the field after the state,
// which follows the parenthesized command name).
func parentOf(pid int) (int, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 2 {
		return 0, false
	}
	pp, err := strconv.Atoi(f[1])
	return pp, err == nil
}

// readKB reads "Key:   123 kB" lines of a /proc file.
func readKB(path string, keys ...string) (map[string]int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]int64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		for _, k := range keys {
			if fields[0] == k {
				out[k], _ = strconv.ParseInt(fields[1], 10, 64)
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: none of %v", path, keys)
	}
	return out, sc.Err()
}

// cmdMemory prints the memory of a running cloud: a process and its descendants.
func cmdMemory(args []string) error {
	fs := newFlags("memory")
	pid := fs.Int("pid", 0, "the cloud's process id")
	label := fs.String("label", "idle", "what the sample is of (idle, after-load)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *pid <= 0 {
		return fmt.Errorf("give -pid")
	}
	m, err := treeMemory(*pid)
	if err != nil {
		return err
	}
	out := m.fields()
	out["test"] = "memory"
	out["label"] = *label
	emit(out)
	return nil
}
