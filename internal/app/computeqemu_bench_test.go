package app_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"

	"github.com/nimbus-cloud/nimbus/internal/cloudtest"
)

// Benchmarks of real guests through the API, under TCG (bench/README.md,
// "Real guests"). Run them a few times for medians:
//
//	go test -run '^$' -bench QEMU -benchtime 3x -count 3 ./internal/app

// benchGuestMB is the guests' memory: the test guest's and the bare
// QEMU's, so that the two boots do the same work.
const benchGuestMB = 128

// qemuBench is a QEMU cloud with the test guest's image and a flavor.
type qemuBench struct {
	*qemuCloud
	image, flavor string
}

func startQEMUBench(b *testing.B, hosts int) *qemuBench {
	b.Helper()
	q := startQEMUCloud(b, hosts)
	vis := images.ImageVisibilityPublic
	image := q.uploadFile(b, images.CreateOpts{Name: "nimbus-tiny", DiskFormat: "qcow2", ContainerFormat: "bare",
		Visibility: &vis}, "disk.qcow2")
	return &qemuBench{qemuCloud: q, image: image, flavor: q.flavor(b, "q.bench", benchGuestMB)}
}

// instanceDir is where the server's host keeps it.
func (q *qemuBench) instanceDir(id string) string {
	matches, _ := filepath.Glob(filepath.Join(q.Config.Default.StatePath, "hosts", "*", "instances", id))
	if len(matches) == 1 {
		return matches[0]
	}
	return filepath.Join(q.Config.Default.StatePath, "instances", id)
}

// BenchmarkQEMUBootToBanner is the time from POST /servers to the guest's
// banner in os-getConsoleOutput (api-ms), beside a bare qemu-system-x86_64
// boot of the same disk with the same memory (bare-ms), one after the other
// in each round so that both see the same machine; ratio is their quotient
// and ms-to-qemu the time from POST /servers to QEMU's pid file, i.e. QEMU
// started. All are medians over the rounds. The QEMU processes' CPU time
// up to the banner (api-qemu-cpu-ms, bare-cpu-ms) is steadier than wall
// time on a busy machine. Each boot starts from a cached base image, as
// every boot but an image's first does.
func BenchmarkQEMUBootToBanner(b *testing.B) {
	q := startQEMUBench(b, 1)
	// The first boot caches the base image; it is not measured.
	warm := q.boot(b, "warm", q.flavor, q.image)
	q.waitConsole(b, warm, guestBanner, 1)
	q.delete(b, warm)
	disk := filepath.Join(q.guest, "disk.qcow2")

	var api, bare, ratio, toQEMU, apiCPU, bareCPU []float64
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		id := q.boot(b, fmt.Sprintf("bench-%d", i), q.flavor, q.image)
		pidFile := filepath.Join(q.instanceDir(id), "qemu.pid")
		var pid string
		for {
			if raw, err := os.ReadFile(pidFile); err == nil && len(bytes.TrimSpace(raw)) > 0 {
				pid = string(bytes.TrimSpace(raw))
				break
			}
			if time.Since(start) > guestWait {
				b.Fatalf("no QEMU for %s within %s", id, guestWait)
			}
			time.Sleep(time.Millisecond)
		}
		toQEMU = append(toQEMU, ms(time.Since(start)))
		q.waitConsole(b, id, guestBanner, 1)
		api = append(api, ms(time.Since(start)))
		apiCPU = append(apiCPU, ms(cpuTime(b, pid)))
		q.delete(b, id)

		start = time.Now()
		cpu := bareBoot(b, guestBanner, "-drive", "file="+disk+",format=qcow2,if=virtio,snapshot=on")
		bare = append(bare, ms(time.Since(start)))
		bareCPU = append(bareCPU, ms(cpu))
		ratio = append(ratio, api[i]/bare[i])
	}
	b.ReportMetric(median(api), "api-ms")
	b.ReportMetric(median(bare), "bare-ms")
	b.ReportMetric(median(ratio), "ratio")
	b.ReportMetric(median(toQEMU), "ms-to-qemu")
	b.ReportMetric(median(apiCPU), "api-qemu-cpu-ms")
	b.ReportMetric(median(bareCPU), "bare-cpu-ms")
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(v))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// cpuTime is the user and system time a process has had, from
// /proc/<pid>/stat, in clock ticks of 10 ms.
func cpuTime(b *testing.B, pid string) time.Duration {
	raw, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		b.Fatal(err)
	}
	// The fields after the command name, which is in parentheses.
	fields := strings.Fields(string(raw[bytes.LastIndexByte(raw, ')')+1:]))
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// bareBoot starts QEMU with the fewest options that run the guest, waits
// for want on its serial console, and kills it; it returns QEMU's CPU time
// until then.
func bareBoot(b *testing.B, want string, args ...string) time.Duration {
	log := filepath.Join(b.TempDir(), "serial.log")
	cmd := exec.Command("qemu-system-x86_64", append([]string{"-accel", "tcg", "-m", strconv.Itoa(benchGuestMB),
		"-nodefaults", "-no-user-config", "-display", "none", "-chardev", "file,id=s0,path=" + log,
		"-device", "isa-serial,chardev=s0"}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	}()
	deadline := time.Now().Add(guestWait)
	for {
		if data, _ := os.ReadFile(log); bytes.Contains(data, []byte(want)) {
			return cpuTime(b, strconv.Itoa(cmd.Process.Pid))
		}
		if time.Now().After(deadline) {
			b.Fatalf("bare qemu printed no %q", want)
		}
		time.Sleep(time.Millisecond)
	}
}

// BenchmarkQEMUMemoryPerGuest is the memory the cloud's own process takes
// per running guest, beyond the QEMU processes' (reported beside it): the
// growth of this process's RSS from none to guestsPerRun booted guests.
func BenchmarkQEMUMemoryPerGuest(b *testing.B) {
	const guestsPerRun = 3
	q := startQEMUBench(b, 1)
	var agentKiB, qemuKiB int64
	for i := 0; b.Loop(); i++ {
		before := settledRSS(b)
		ids := make([]string, guestsPerRun)
		for j := range ids {
			ids[j] = q.boot(b, fmt.Sprintf("mem-%d-%d", i, j), q.flavor, q.image)
		}
		for _, id := range ids {
			q.waitStatus(b, id, "ACTIVE")
			q.waitConsole(b, id, guestReady, 1)
		}
		agentKiB += settledRSS(b) - before
		for _, id := range ids {
			raw, err := os.ReadFile(filepath.Join(q.instanceDir(id), "qemu.pid"))
			if err != nil {
				b.Fatal(err)
			}
			qemuKiB += rssKiB(b, strings.TrimSpace(string(raw)))
		}
		for _, id := range ids {
			q.delete(b, id)
		}
	}
	n := float64(b.N * guestsPerRun)
	b.ReportMetric(float64(agentKiB)/n, "agent-KiB/guest")
	b.ReportMetric(float64(qemuKiB)/n, "qemu-KiB/guest")
}

// settledRSS is this process's RSS in KiB once the Go heap has been
// collected and returned.
func settledRSS(b *testing.B) int64 {
	runtime.GC()
	debug.FreeOSMemory()
	return rssKiB(b, "self")
}

// rssKiB reads VmRSS of /proc/<pid>/status.
func rssKiB(b *testing.B, pid string) int64 {
	data, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		b.Fatal(err)
	}
	for line := range strings.Lines(string(data)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return n
		}
	}
	b.Fatal(errors.New("no VmRSS in /proc/" + pid + "/status"))
	return 0
}

// BenchmarkQEMULiveMigration is the time from POST os-migrateLive of a
// running 128 MiB guest to the server ACTIVE on the other host, its disk
// copied along (block migration): the guest moves back and forth.
func BenchmarkQEMULiveMigration(b *testing.B) {
	q := startQEMUBench(b, 2)
	id := q.boot(b, "mover", q.flavor, q.image)
	host := q.waitStatus(b, id, "ACTIVE").Host
	q.waitConsole(b, id, guestReady, 1)
	yes := true
	var took []float64
	for b.Loop() {
		start := time.Now()
		if err := servers.LiveMigrate(context.Background(), q.compute, id, servers.LiveMigrateOpts{BlockMigration: &yes}).ExtractErr(); err != nil {
			b.Fatal(err)
		}
		cloudtest.Eventually(b, guestWait, func() bool {
			s := q.server(b, id)
			if s.Status == "ERROR" {
				b.Fatalf("live migration failed: %+v", s.Fault)
			}
			moved := s.Status == "ACTIVE" && s.TaskState == "" && s.Host != host
			if moved {
				host = s.Host
			}
			return moved
		}, "live migration of "+id)
		took = append(took, ms(time.Since(start)))
	}
	b.ReportMetric(median(took), "median-ms")
	q.delete(b, id)
}
