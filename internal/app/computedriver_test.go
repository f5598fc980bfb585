package app

import (
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/config"
	"github.com/nimbus-cloud/nimbus/internal/virt/fake"
	"github.com/nimbus-cloud/nimbus/internal/virt/libvirt"
	"github.com/nimbus-cloud/nimbus/internal/virt/qemu"
)

func loadConfig(t *testing.T, set map[string]string) *config.Config {
	t.Helper()
	cfg, err := config.Load(config.Source{Set: set})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestComputeDriverName: an empty compute_driver is qemu where
// qemu-system-x86_64 is on PATH and fake elsewhere; a set one is kept.
func TestComputeDriverName(t *testing.T) {
	withQEMU := t.TempDir()
	if err := os.WriteFile(filepath.Join(withQEMU, "qemu-system-x86_64"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, path, option, want string
	}{
		{"qemu installed", withQEMU, "", "qemu"},
		{"qemu missing", t.TempDir(), "", "fake"},
		{"fake asked for", withQEMU, "fake", "fake"},
		{"qemu asked for", t.TempDir(), "qemu", "qemu"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("PATH", tc.path)
			cfg := loadConfig(t, map[string]string{"compute.compute_driver": tc.option})
			if got := computeDriverName(cfg, slog.New(slog.DiscardHandler)); got != tc.want {
				t.Errorf("driver = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestDriversOfHosts(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		set       map[string]string
		wantHosts []string
		wantQEMU  bool
		// wantLibvirt: libvirt drivers (neither qemu nor fake).
		wantLibvirt bool
	}{
		{"one fake host", map[string]string{"compute.compute_driver": "fake"}, []string{"h"}, false, false},
		{"fake hosts", map[string]string{"compute.compute_driver": "fake", "compute.fake_host_count": "3",
			"compute.qemu_host_count": "2"}, []string{"h-1", "h-2", "h-3"}, false, false},
		{"one qemu host", map[string]string{"compute.compute_driver": "qemu", "compute.fake_host_count": "3"},
			[]string{"h"}, true, false},
		{"qemu hosts", map[string]string{"compute.compute_driver": "qemu", "compute.qemu_host_count": "2"},
			[]string{"h-1", "h-2"}, true, false},
		{"libvirt hosts", map[string]string{"compute.compute_driver": "libvirt", "compute.qemu_host_count": "2"},
			[]string{"h-1", "h-2"}, false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ds := newDrivers(loadConfig(t, tc.set), nil, nil, slog.New(slog.DiscardHandler))
			hosts := ds.hosts("h")
			if !slices.Equal(hosts, tc.wantHosts) {
				t.Fatalf("hosts %v, want %v", hosts, tc.wantHosts)
			}
			for _, h := range hosts {
				drv, err := ds.newDriver(h)
				if err != nil {
					t.Fatal(err)
				}
				_, isQEMU := drv.(*qemu.Driver)
				_, isFake := drv.(*fake.Driver)
				_, isLibvirt := drv.(*libvirt.Driver)
				if isQEMU != tc.wantQEMU || isLibvirt != tc.wantLibvirt || isFake != (!tc.wantQEMU && !tc.wantLibvirt) {
					t.Errorf("driver of %s is %T", h, drv)
				}
			}
			if err := ds.Close(); err != nil {
				t.Errorf("close: %v", err)
			}
		})
	}
}

// TestQEMUOptions: compute_driver qemu takes live migrations on [qemu]
// live_migration_inbound_addr, else my_ip, never [libvirt]'s.
func TestQEMUOptions(t *testing.T) {
	t.Parallel()
	o := qemuOptions(loadConfig(t, map[string]string{"DEFAULT.my_ip": "192.0.2.1", "qemu.live_migration_inbound_addr": "192.0.2.9",
		"libvirt.live_migration_inbound_addr": "198.51.100.1", "qemu.virt_type": "qemu", "qemu.wait_soft_reboot_seconds": "7",
		"qemu.live_migration_bandwidth": "3"}))
	if o.MigrationListen != "192.0.2.9" || o.Accel != "tcg" || o.SoftRebootTimeout != 7*time.Second || o.LiveMigrationBandwidth != 3<<20 {
		t.Errorf("options %+v", o)
	}
	o = qemuOptions(loadConfig(t, map[string]string{"DEFAULT.my_ip": "192.0.2.1", "libvirt.live_migration_inbound_addr": "198.51.100.1"}))
	if o.MigrationListen != "192.0.2.1" {
		t.Errorf("migration listen %q, want my_ip", o.MigrationListen)
	}
}

// TestLibvirtOptions: compute_driver libvirt takes nova's [libvirt]
// options, not the qemu driver's [qemu] ones.
func TestLibvirtOptions(t *testing.T) {
	t.Parallel()
	cfg := loadConfig(t, map[string]string{"compute.compute_driver": "libvirt", "DEFAULT.my_ip": "192.0.2.1",
		"libvirt.connection_uri": "qemu+unix:///system?socket=/run/lv/sock", "libvirt.virt_type": "qemu",
		"libvirt.wait_soft_reboot_seconds": "7", "libvirt.live_migration_inbound_addr": "192.0.2.9",
		"libvirt.live_migration_uri": "qemu+ssh://%s/system", "qemu.wait_soft_reboot_seconds": "99",
		"qemu.live_migration_inbound_addr": "198.51.100.1", "compute.shutdown_timeout": "5"})
	o := libvirtOptions(cfg)
	if o.ConnectionURI != "qemu+unix:///system?socket=/run/lv/sock" || o.VirtType != "qemu" ||
		o.SoftRebootTimeout != 7*time.Second || o.MigrationAddress != "192.0.2.9" ||
		o.LiveMigrationURI != "qemu+ssh://192.0.2.9/system" || o.CleanShutdownTimeout != 5*time.Second {
		t.Errorf("options %+v", o)
	}
	// Unset: nova's defaults, the inbound address my_ip.
	o = libvirtOptions(loadConfig(t, map[string]string{"DEFAULT.my_ip": "192.0.2.1"}))
	if o.SoftRebootTimeout != 120*time.Second || o.MigrationAddress != "192.0.2.1" || o.LiveMigrationURI != "" ||
		o.VirtType != "kvm" {
		t.Errorf("default options %+v", o)
	}
}
