package libvirt

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"libvirt.org/go/libvirtxml"

	"github.com/nimbus-cloud/nimbus/internal/virt"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func TestDomainXMLGolden(t *testing.T) {
	t.Parallel()
	const dir = "/var/lib/nimbus/instances/6f1c0c36-8d32-4b1e-9a57-0f4a3e0c9b21"
	spec := func() *virt.InstanceSpec {
		return &virt.InstanceSpec{UUID: "6f1c0c36-8d32-4b1e-9a57-0f4a3e0c9b21", Name: "instance-00000001", Hostname: "web-1",
			Flavor: virt.Flavor{VCPUs: 2, MemoryMB: 512, RootGB: 1}}
	}
	cases := map[string]func() domainConfig{
		"disk": func() domainConfig {
			return domainConfig{VirtType: "qemu", Spec: spec(), Dir: dir, VNCListen: "127.0.0.1"}
		},
		"kernel-with-all-disks": func() domainConfig {
			s := spec()
			s.Network = []virt.VIF{
				{PortID: "3f1c2a9b-1e4d-4c1b-8d7e-6a5b4c3d2e1f", MAC: "fa:16:3e:00:00:01", Bridge: "brq1234", MTU: 1450},
				{PortID: "9e8d7c6b-0000-4000-8000-000000000002", MAC: "fa:16:3e:00:00:02"},
			}
			return domainConfig{VirtType: "kvm", Spec: s, Dir: dir, Kernel: "kernel", Initrd: "ramdisk",
				Cmdline: "root=/dev/vda console=tty0 console=ttyS0", Ephemeral: true, Swap: true, ConfigDrive: "iso9660", VNCListen: "0.0.0.0"}
		},
		// A rescue drops the ephemeral and swap disks: the rescue disk is
		// vda, the root disk vdb, the config drive stays vdd.
		"rescue": func() domainConfig {
			return domainConfig{VirtType: "qemu", Spec: spec(), Dir: dir, Ephemeral: true, Swap: true, ConfigDrive: "iso9660",
				VNCListen: "127.0.0.1", Rescue: true}
		},
		"rescue-kernel": func() domainConfig {
			return domainConfig{VirtType: "kvm", Spec: spec(), Dir: dir, Kernel: "kernel.rescue", Initrd: "ramdisk.rescue",
				Cmdline: "root=/dev/vda console=tty0 console=ttyS0", VNCListen: "127.0.0.1", Rescue: true}
		},
		"vfat-config-drive": func() domainConfig {
			return domainConfig{VirtType: "qemu", Spec: spec(), Dir: dir, ConfigDrive: "vfat", VNCListen: "::1"}
		},
	}
	for name, mk := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := domain(mk()).Marshal()
			if err != nil {
				t.Fatal(err)
			}
			got += "\n"
			path := filepath.Join("testdata", name+".xml")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (go test -run TestDomainXMLGolden -update writes it)", err)
			}
			if got != string(want) {
				t.Errorf("domain xml differs from %s:\n got:\n%s\nwant:\n%s", path, got, want)
			}
		})
	}
}

func TestVNCPortFromLiveXML(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, doc string
		want      int
		err       bool
	}{
		{"autoport chosen", `<domain><devices><graphics type='vnc' port='5907' autoport='yes' listen='127.0.0.1'/></devices></domain>`, 5907, false},
		{"not running", `<domain><devices><graphics type='vnc' port='-1' autoport='yes'/></devices></domain>`, 0, false},
		{"no graphics", `<domain><devices/></domain>`, 0, false},
		{"garbage", `<domain`, 0, true},
	}
	for _, tc := range cases {
		got, err := vncPort(tc.doc)
		if got != tc.want || (err != nil) != tc.err {
			t.Errorf("%s: port %d, err %v; want %d, error %v", tc.name, got, err, tc.want, tc.err)
		}
	}
}

func TestTransitions(t *testing.T) {
	t.Parallel()
	cases := []struct {
		from, to virt.PowerState
		want     virt.Transition
		ok       bool
	}{
		{virt.Shutdown, virt.Running, virt.EventStarted, true},
		{virt.NoState, virt.Running, virt.EventStarted, true},
		{virt.Paused, virt.Running, virt.EventResumed, true},
		{virt.Suspended, virt.Running, virt.EventResumed, true},
		{virt.Running, virt.Paused, virt.EventPaused, true},
		{virt.Running, virt.Suspended, virt.EventSuspended, true},
		{virt.Running, virt.Shutdown, virt.EventStopped, true},
		{virt.Running, virt.Crashed, virt.EventStopped, true},
		{virt.Paused, virt.Shutdown, virt.EventStopped, true},
		{virt.Shutdown, virt.Crashed, 0, false},
		{virt.Running, virt.Running, 0, false},
		{virt.Running, virt.NoState, 0, false},
	}
	for _, tc := range cases {
		got, ok := transition(tc.from, tc.to)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s to %s: %s, %v; want %s, %v", tc.from, tc.to, got, ok, tc.want, tc.ok)
		}
	}
}

func TestRetargetMovesTheInstanceFolder(t *testing.T) {
	t.Parallel()
	const from, to = "/srv/a/instances/6f1c0c36-8d32-4b1e-9a57-0f4a3e0c9b21", "/srv/b/instances/6f1c0c36-8d32-4b1e-9a57-0f4a3e0c9b21"
	s := &virt.InstanceSpec{UUID: "6f1c0c36-8d32-4b1e-9a57-0f4a3e0c9b21", Name: "instance-00000001", Flavor: virt.Flavor{VCPUs: 1, MemoryMB: 64}}
	src := domain(domainConfig{VirtType: "qemu", Spec: s, Dir: from, Kernel: "kernel", ConfigDrive: "iso9660", VNCListen: "127.0.0.1"})
	src.Devices.Disks[0].BackingStore = &libvirtxml.DomainDiskBackingStore{Format: &libvirtxml.DomainDiskFormat{Type: "raw"}}
	src.Devices.Disks[0].Address = &libvirtxml.DomainAddress{PCI: &libvirtxml.DomainAddressPCI{Slot: ptr(uint(4))}}
	doc, err := src.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := retarget(doc, from, to, "10.0.0.2")
	if err != nil {
		t.Fatal(err)
	}
	want := domain(domainConfig{VirtType: "qemu", Spec: s, Dir: to, Kernel: "kernel", ConfigDrive: "iso9660", VNCListen: "10.0.0.2"})
	want.Devices.Disks[0].Address = src.Devices.Disks[0].Address
	want.Devices.Graphics[0].VNC.Listen = "10.0.0.2"
	wantDoc, _ := want.Marshal()
	if got != wantDoc {
		t.Errorf("retargeted:\n%s\nwant:\n%s", got, wantDoc)
	}
	if strings.Contains(got, from) {
		t.Errorf("the source folder stayed in the domain:\n%s", got)
	}
	if _, err := retarget("<domain", from, to, ""); err == nil {
		t.Error("garbage was retargeted")
	}
}

func ptr[T any](v T) *T { return &v }
