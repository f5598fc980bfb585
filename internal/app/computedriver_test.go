package app

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/config"
	"github.com/nimbus-cloud/nimbus/internal/virt"
	"github.com/nimbus-cloud/nimbus/internal/virt/fake"
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
	}{
		{"one fake host", map[string]string{"compute.compute_driver": "fake"}, []string{"h"}, false},
		{"fake hosts", map[string]string{"compute.compute_driver": "fake", "compute.fake_host_count": "3",
			"compute.qemu_host_count": "2"}, []string{"h-1", "h-2", "h-3"}, false},
		{"one qemu host", map[string]string{"compute.compute_driver": "qemu", "compute.fake_host_count": "3"},
			[]string{"h"}, true},
		{"qemu hosts", map[string]string{"compute.compute_driver": "qemu", "compute.qemu_host_count": "2"},
			[]string{"h-1", "h-2"}, true},
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
				if isQEMU != tc.wantQEMU || isFake == tc.wantQEMU {
					t.Errorf("driver of %s is %T", h, drv)
				}
			}
			if err := ds.Close(); err != nil {
				t.Errorf("close: %v", err)
			}
		})
	}
}

// TestQEMUPeers: a live migration finds a destination of this process and
// is refused, naming it, for any other.
func TestQEMUPeers(t *testing.T) {
	t.Parallel()
	ds := newDrivers(loadConfig(t, map[string]string{"compute.compute_driver": "qemu", "compute.qemu_host_count": "2",
		"DEFAULT.state_path": t.TempDir()}), nil, nil, slog.New(slog.DiscardHandler))
	for _, h := range ds.hosts("h") {
		if _, err := ds.newDriver(h); err != nil {
			t.Fatal(err)
		}
	}
	// h-2 knows no incoming migration of the instance: its own error.
	_, err := ds.peers.IncomingMigration(context.Background(), "h-2", "c0000000-0000-4000-8000-000000000001")
	if err == nil || errors.Is(err, virt.ErrNotSupported) {
		t.Errorf("to a host of this process: %v, want the driver's answer", err)
	}
	_, err = ds.peers.IncomingMigration(context.Background(), "elsewhere", "c0000000-0000-4000-8000-000000000001")
	if !errors.Is(err, virt.ErrNotSupported) {
		t.Errorf("to a host of another process: %v, want ErrNotSupported", err)
	}
}
