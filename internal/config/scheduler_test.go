package config_test

import (
	"strings"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/config"
)

func TestSchedulerSections(t *testing.T) {
	t.Parallel()
	cfg, err := config.Load(config.Source{})
	if err != nil {
		t.Fatal(err)
	}
	fs := cfg.FilterScheduler
	if fs.RAMWeightMultiplier != 1 || fs.HostSubsetSize != 1 || fs.ShuffleBestSameWeighedHosts || cfg.Scheduler.MaxAttempts != 3 ||
		!strings.HasPrefix(fs.EnabledFilters, "AvailabilityZoneFilter,ComputeFilter,") {
		t.Errorf("defaults = %+v %+v", fs, cfg.Scheduler)
	}
	file := writeFile(t, "[filter_scheduler]\nram_weight_multiplier = -1.5\nimage_properties_default_architecture = aarch64\n[scheduler]\nmax_attempts = 5\n")
	cfg, err = config.Load(config.Source{File: file, Required: true})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.FilterScheduler.RAMWeightMultiplier != -1.5 || cfg.FilterScheduler.ImagePropertiesDefaultArch != "aarch64" || cfg.Scheduler.MaxAttempts != 5 {
		t.Errorf("file values not read: %+v %+v", cfg.FilterScheduler, cfg.Scheduler)
	}
	for body, want := range map[string]string{
		"[scheduler]\nmax_attempts = 0\n":                                   "[scheduler] max_attempts: 0 is below the minimum 1",
		"[filter_scheduler]\nsoft_affinity_weight_multiplier = -1\n":        "[filter_scheduler] soft_affinity_weight_multiplier: -1 is below the minimum 0",
		"[filter_scheduler]\nimage_properties_default_architecture = z80\n": `[filter_scheduler] image_properties_default_architecture: "z80" is not one of`,
		"[filter_scheduler]\nhost_subset_size = 0\n":                        "[filter_scheduler] host_subset_size: 0 is below the minimum 1",
	} {
		_, err := config.Load(config.Source{File: writeFile(t, body), Required: true})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want %q", body, err, want)
		}
	}
}
