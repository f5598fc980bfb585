package qemu

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/virt"
)

// BenchmarkSpawnToRunning is the time Spawn takes to have a guest running:
// base image, overlay, QEMU started paused, monitor, cont. The guest is
// the boot sector one, so its boot costs nothing after.
func BenchmarkSpawnToRunning(b *testing.B) {
	d := newDriver(b, "bench", nil)
	img := bootSectorImage(b)
	ctx := b.Context()
	for i := 0; b.Loop(); i++ {
		spec := testSpec(fmt.Sprintf("b1000000-0000-4000-8000-%012d", i), img)
		if err := d.Spawn(ctx, spec); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := d.Destroy(ctx, spec.UUID, false); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

// BenchmarkBootToBanner is the time from Spawn to the test guest's banner
// on the console, from its disk image and from its kernel and ramdisk,
// beside a bare qemu-system-x86_64 boot of the same files in the same run.
func BenchmarkBootToBanner(b *testing.B) {
	dir := testImage(b)
	images := files{"kernel-1": filepath.Join(dir, "vmlinuz"), "ramdisk-1": filepath.Join(dir, "initrd.img")}
	root := filepath.Join(b.TempDir(), "root.img")
	if err := os.WriteFile(root, make([]byte, 1<<20), 0o600); err != nil {
		b.Fatal(err)
	}
	kernelImg := virt.ImageRef{ID: "ami-1", DiskFormat: "ami", Path: root, Properties: map[string]string{
		"kernel_id": "kernel-1", "ramdisk_id": "ramdisk-1", "os_command_line": "console=ttyS0 quiet"}}
	diskImg := virt.ImageRef{ID: "tiny-disk", DiskFormat: "qcow2", Path: filepath.Join(dir, "disk.qcow2")}
	const banner = "NIMBUS-GUEST: banner"

	driverBoot := func(img virt.ImageRef) func(b *testing.B) {
		return func(b *testing.B) {
			d := newDriver(b, "bench", func(o *Options) { o.Images = images })
			ctx := b.Context()
			for i := 0; b.Loop(); i++ {
				spec := testSpec(fmt.Sprintf("b2000000-0000-4000-8000-%012d", i), img)
				spec.Flavor.MemoryMB = 128
				if err := d.Spawn(ctx, spec); err != nil {
					b.Fatal(err)
				}
				if out := waitConsole(ctx, d, spec.UUID, banner); !strings.Contains(out, banner) {
					b.Fatalf("no banner:\n%s", out)
				}
				b.StopTimer()
				if err := d.Destroy(ctx, spec.UUID, false); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		}
	}
	bareBoot := func(args ...string) func(b *testing.B) {
		return func(b *testing.B) {
			for b.Loop() {
				bare(b, banner, args...)
			}
		}
	}
	b.Run("disk/driver", driverBoot(diskImg))
	b.Run("disk/bare-qemu", bareBoot("-drive", "file="+filepath.Join(dir, "disk.qcow2")+",format=qcow2,if=virtio,snapshot=on"))
	b.Run("kernel/driver", driverBoot(kernelImg))
	b.Run("kernel/bare-qemu", bareBoot("-kernel", filepath.Join(dir, "vmlinuz"), "-initrd", filepath.Join(dir, "initrd.img"),
		"-append", "console=ttyS0 quiet"))
}

// bare boots QEMU with the fewest options that run the guest and waits
// for want on its serial console.
func bare(b *testing.B, want string, args ...string) {
	log := filepath.Join(b.TempDir(), "serial.log")
	cmd := exec.Command("qemu-system-x86_64", append([]string{"-accel", "tcg", "-m", "128", "-nodefaults", "-no-user-config",
		"-display", "none", "-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n0",
		"-chardev", "file,id=s0,path=" + log, "-device", "isa-serial,chardev=s0"}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	}()
	deadline := time.Now().Add(time.Minute)
	for {
		if data, _ := os.ReadFile(log); bytes.Contains(data, []byte(want)) {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("bare qemu printed no %q", want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
