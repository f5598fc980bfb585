package app

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/config"
)

func TestImageStoreLayout(t *testing.T) {
	t.Parallel()
	load := func(set map[string]string) *config.Config {
		set["DEFAULT.state_path"] = "/srv/nimbus"
		cfg, err := config.Load(config.Source{Set: set})
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	data := filepath.Join("/srv/nimbus", "images")
	got, err := imageStoreLayout(load(map[string]string{}))
	if err != nil || len(got) != 1 || got[0] != (imageStore{"file", "file", data}) {
		t.Fatalf("one store: %+v, %v", got, err)
	}
	got, err = imageStoreLayout(load(map[string]string{"image.enabled_backends": "fast:file, cheap:file",
		"glance_store.default_backend": "cheap"}))
	if err != nil || len(got) != 2 || got[0] != (imageStore{"cheap", "file", data}) ||
		got[1] != (imageStore{"fast", "file", filepath.Join(data, "fast")}) {
		t.Fatalf("two stores, cheap the default: %+v, %v", got, err)
	}
	for set, msg := range map[string]string{
		"fast":                "is not id:type",
		"fast:rbd":            "supports file and http stores",
		"web:http":            "default store must be a file store",
		"staging:file":        "must be letters",
		"a/b:file":            "must be letters",
		"fast:file,fast:file": "listed twice",
	} {
		_, err := imageStoreLayout(load(map[string]string{"image.enabled_backends": set}))
		if err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("enabled_backends %q: %v, want an error containing %q", set, err, msg)
		}
	}
	got, err = imageStoreLayout(load(map[string]string{"image.enabled_backends": "web:http,fast:file"}))
	if err != nil || len(got) != 2 || got[0] != (imageStore{"fast", "file", data}) || got[1] != (imageStore{"web", "http", ""}) {
		t.Fatalf("an http store beside a file store: %+v, %v", got, err)
	}
	_, err = imageStoreLayout(load(map[string]string{"image.enabled_backends": "fast:file",
		"glance_store.default_backend": "slow"}))
	if err == nil || !strings.Contains(err.Error(), "not one of") {
		t.Errorf("unknown default_backend: %v", err)
	}
}
