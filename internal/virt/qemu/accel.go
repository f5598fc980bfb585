package qemu

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/virt"
	"github.com/nimbus-cloud/nimbus/internal/virt/disk"
	"github.com/nimbus-cloud/nimbus/internal/virt/qemu/qmp"
)

// BootSector is a 512-byte x86 boot sector that prints first on the serial
// port, counts loops down from loops (at least 1), prints then and halts
// with interrupts off, so that its QEMU then costs no CPU. It is the KVM
// probe's guest and the smallest bootable disk there is.
func BootSector(first string, loops uint32, then string) []byte {
	msg1 := 0x2A
	msg2 := msg1 + len(first) + 1
	if msg2+len(then)+1 > 510 {
		panic("boot sector messages too long")
	}
	loops = max(loops, 1)
	b := make([]byte, 512)
	code := []byte{
		0xFA,       // 00 cli
		0x31, 0xC0, // 01 xor ax, ax
		0x8E, 0xD8, // 03 mov ds, ax
		0xBA, 0xF8, 0x03, // 05 mov dx, 0x3f8 (COM1)
		0xBE, 0, 0, // 08 mov si, first
		0xE8, 0x13, 0x00, // 0B call print (0x21)
		0x66, 0xB9, 0, 0, 0, 0, // 0E mov ecx, loops
		0x66, 0x49, // 14 dec ecx
		0x75, 0xFC, // 16 jnz 0x14
		0xBE, 0, 0, // 18 mov si, then
		0xE8, 0x03, 0x00, // 1B call print (0x21)
		0xF4,       // 1E hlt
		0xEB, 0xFD, // 1F jmp 0x1E
		0xAC,       // 21 print: lodsb
		0x84, 0xC0, // 22 test al, al
		0x74, 0x03, // 24 jz 0x29
		0xEE,       // 26 out dx, al
		0xEB, 0xF8, // 27 jmp 0x21
		0xC3, // 29 ret
	}
	copy(b, code)
	binary.LittleEndian.PutUint16(b[0x09:], uint16(0x7C00+msg1))
	binary.LittleEndian.PutUint32(b[0x10:], loops)
	binary.LittleEndian.PutUint16(b[0x19:], uint16(0x7C00+msg2))
	copy(b[msg1:], first)
	copy(b[msg2:], then)
	b[510], b[511] = 0x55, 0xAA
	return b
}

// kvmProbeLoops is the probe guest's busy loop: a few hundred milliseconds
// under TCG, milliseconds under KVM, and minutes where KVM emulates each
// instruction, which is what the probe tells apart.
const kvmProbeLoops = 50_000_000

// kvmProbeTimeout is how long the probe guest may take.
const kvmProbeTimeout = 5 * time.Second

// probeResult is what the KVM probe found, kept in the state folder so
// that a restart does not probe again on the same kernel and QEMU.
type probeResult struct {
	Kernel string `json:"kernel"`
	QEMU   string `json:"qemu"`
	KVM    bool   `json:"kvm"`
	Reason string `json:"reason"`
}

// chooseAccel is kvm when /dev/kvm exists and a probe guest finishes its
// busy loop under it in time, tcg otherwise.
func (d *Driver) chooseAccel(ctx context.Context, qemuBin string, v qmp.Version) string {
	kernel := kernelRelease()
	cache := filepath.Join(d.opts.StateDir, "kvm-probe.json")
	var res probeResult
	if data, err := os.ReadFile(cache); err == nil && json.Unmarshal(data, &res) == nil && res.Kernel == kernel && res.QEMU == v.String() {
		return accelOf(res.KVM)
	}
	res = probeResult{Kernel: kernel, QEMU: v.String()}
	if f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0); err != nil {
		res.Reason = "no usable /dev/kvm: " + err.Error()
	} else {
		f.Close()
		ok, why := ProbeAccel(ctx, qemuBin, "kvm", kvmProbeTimeout)
		res.KVM, res.Reason = ok, why
	}
	d.log.InfoContext(ctx, "kvm probe", "kvm", res.KVM, "reason", res.Reason)
	if data, err := json.Marshal(res); err == nil {
		_ = os.WriteFile(cache, data, 0o600)
	}
	return accelOf(res.KVM)
}

func accelOf(kvm bool) string {
	if kvm {
		return "kvm"
	}
	return "tcg"
}

func utsString(b []int8) string {
	var s []byte
	for _, c := range b {
		if c == 0 {
			break
		}
		s = append(s, byte(c))
	}
	return string(s)
}

// ProbeAccel boots the probe guest under accel and tells whether it ran
// its busy loop to the end within timeout, and why not.
func ProbeAccel(ctx context.Context, qemuBin, accel string, timeout time.Duration) (bool, string) {
	dir, err := os.MkdirTemp("", "nimbus-accel-probe-")
	if err != nil {
		return false, err.Error()
	}
	defer os.RemoveAll(dir)
	disk := filepath.Join(dir, "probe.img")
	// SeaBIOS boots no disk smaller than a megabyte.
	if err := os.WriteFile(disk, BootSector("probe-start\n", kvmProbeLoops, "probe-done\n"), 0o600); err != nil {
		return false, err.Error()
	}
	if err := os.Truncate(disk, 1<<20); err != nil {
		return false, err.Error()
	}
	out := filepath.Join(dir, "serial.log")
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, qemuBin, "-accel", accel, "-machine", "pc", "-m", "32", "-nodefaults", "-no-user-config",
		"-display", "none", "-drive", "file="+disk+",format=raw,if=virtio", "-chardev", "file,id=s0,path="+out,
		"-device", "isa-serial,chardev=s0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return false, err.Error()
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	defer func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if data, _ := os.ReadFile(out); bytes.Contains(data, []byte("probe-done")) {
			return true, fmt.Sprintf("the probe guest ran under %s", accel)
		}
		select {
		case <-done:
			return false, fmt.Sprintf("qemu -accel %s exited: %s", accel, strings.TrimSpace(stderr.String()))
		case <-ctx.Done():
			return false, fmt.Sprintf("the probe guest did not finish under %s within %s", accel, timeout)
		case <-tick.C:
		}
	}
}

// probeHost is the machine's size and CPU.
func probeHost(stateDir string) (virt.HostResources, error) {
	h := virt.HostResources{VCPUs: runtime.NumCPU()}
	mem, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return h, err
	}
	for line := range strings.Lines(string(mem)) {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			h.MemoryMB = kb / 1024
		}
	}
	var fs syscall.Statfs_t
	if err := syscall.Statfs(stateDir, &fs); err != nil {
		return h, fmt.Errorf("statfs %s: %w", stateDir, err)
	}
	h.DiskGB = int64(fs.Blocks) * fs.Bsize / disk.GiB
	h.CPUInfo = cpuInfo()
	return h, nil
}

// cpuInfo reads /proc/cpuinfo's first processor.
func cpuInfo() virt.CPUInfo {
	ci := virt.CPUInfo{Arch: runtime.GOARCH, Sockets: 1, Cores: runtime.NumCPU(), Threads: 1}
	if ci.Arch == "amd64" {
		ci.Arch = "x86_64"
	}
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return ci
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	s.Buffer(make([]byte, 64<<10), 1<<20)
	for s.Scan() {
		k, v, ok := strings.Cut(s.Text(), ":")
		if !ok {
			if s.Text() == "" {
				break // the first processor is enough
			}
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch k {
		case "vendor_id":
			ci.Vendor = v
		case "model name":
			ci.Model = v
		case "flags":
			ci.Features = strings.Fields(v)
		case "address sizes":
			fmt.Sscanf(v, "%d bits physical", &ci.MaxPhysAddrBits)
		}
	}
	return ci
}

// kernelRelease is the running kernel's release (uname -r).
func kernelRelease() string {
	var uts syscall.Utsname
	_ = syscall.Uname(&uts)
	return utsString(uts.Release[:])
}
