package qemu

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func TestMachineArgsGolden(t *testing.T) {
	t.Parallel()
	dir := "/var/lib/nimbus/instances/6f1c0c36-8d32-4b1e-9a57-0f4a3e0c9b21"
	base := func() Machine {
		return Machine{Name: "instance-00000001", UUID: "6f1c0c36-8d32-4b1e-9a57-0f4a3e0c9b21", Accel: "tcg", VCPUs: 2, MemoryMB: 512,
			Manufacturer: "Nimbus", Product: "OpenStack Compute",
			ConsoleLog: dir + "/console.log", QMPSocket: dir + "/qmp.sock", PidFile: dir + "/qemu.pid",
			VNCListen: "127.0.0.1", VNCFirstDisplay: 0, VNCLastDisplay: 1000, Sandbox: true,
			Disks: []Disk{{ID: driveRoot, Path: dir + "/disk", Format: "qcow2", BootIndex: 1}},
			NICs:  []NIC{{ID: "net0", MAC: "fa:16:3e:12:34:56", User: true, Hostname: "web-1"}}}
	}
	cases := map[string]func() Machine{
		"disk": base,
		"kernel-with-all-disks": func() Machine {
			m := base()
			m.Accel = "kvm"
			m.Kernel, m.Initrd, m.Append = dir+"/kernel", dir+"/ramdisk", "root=/dev/vda console=tty0 console=ttyS0"
			m.Disks = []Disk{{ID: driveRoot, Path: dir + "/disk", Format: "qcow2"},
				{ID: driveEphemeral, Path: dir + "/disk.eph0", Format: "qcow2"},
				{ID: driveSwap, Path: dir + "/disk.swap", Format: "qcow2"},
				{ID: driveConfig, Path: dir + "/disk.config", Format: "raw", ReadOnly: true}}
			m.NICs = append(m.NICs, NIC{ID: "net1", MAC: "fa:16:3e:00:00:02", TAP: "tap3f1c2a9b-1e"})
			return m
		},
		"incoming-ipv6-vnc-odd-paths": func() Machine {
			m := base()
			m.Incoming = "defer"
			m.Sandbox = false
			m.VNCListen, m.VNCFirstDisplay, m.VNCLastDisplay = "::1", 100, 200
			m.Disks[0].Path = "/srv/state,with,commas/disk"
			m.Name = "name,with,commas"
			return m
		},
	}
	for name, mk := range cases {
		t.Run(name, func(t *testing.T) {
			m := mk()
			got := strings.Join(m.Args(), "\n") + "\n"
			path := filepath.Join("testdata", name+".args")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (go test -run TestMachineArgsGolden -update writes it)", err)
			}
			if got != string(want) {
				t.Errorf("args differ from %s:\n got:\n%s\nwant:\n%s", path, got, want)
			}
		})
	}
}
