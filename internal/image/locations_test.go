package image_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/image"
)

func locOp(op, path string, value any) image.PatchOp {
	return image.PatchOp{Op: op, Path: path, Value: value}
}

func loc(url string, meta map[string]any) map[string]any {
	return map[string]any{"url": url, "metadata": meta}
}

func TestLocationsAddReplaceRemove(t *testing.T) {
	s := newService(t, image.Config{ShowMultipleLocations: true, ShowDirectURL: true})
	img := mustCreate(t, s, alice, `{"disk_format": "raw", "container_format": "bare"}`)
	if v := s.ViewLocations(alice, img); !v.Show || len(v.Locations) != 0 || v.DirectURL != "" {
		t.Fatalf("queued view = %+v", v)
	}
	got, err := s.UpdateImage(alice, img.ID, []image.PatchOp{
		locOp("add", "/locations/-", loc("http://example.com/a.img", map[string]any{"foo": "bar"}))})
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != image.Active || got.HashValue != "" {
		t.Fatalf("after add: status %s hash %q", got.Status, got.HashValue)
	}
	if _, err := s.UpdateImage(alice, img.ID, []image.PatchOp{
		locOp("add", "/locations/-", loc("http://example.com/a.img#new", map[string]any{}))}); err != nil {
		t.Fatal(err)
	}
	got, err = s.GetImage(alice, img.ID)
	if err != nil {
		t.Fatal(err)
	}
	v := s.ViewLocations(alice, got)
	if len(v.Locations) != 2 || v.Locations[1].URL != "http://example.com/a.img#new" ||
		v.Locations[0].Metadata["foo"] != "bar" || v.DirectURL != "http://example.com/a.img" {
		t.Fatalf("stored view = %+v", v)
	}

	same := []any{loc(v.Locations[0].URL, map[string]any{"foo": "baz"}), loc(v.Locations[1].URL, map[string]any{})}
	if _, err := s.UpdateImage(alice, img.ID, []image.PatchOp{locOp("replace", "/locations", same)}); err != nil {
		t.Fatalf("replace metadata: %v", err)
	}
	for _, bad := range [][]any{same[:1], {same[0], loc("http://example.com/other", map[string]any{})}} {
		_, err := s.UpdateImage(alice, img.ID, []image.PatchOp{locOp("replace", "/locations", bad)})
		if !errors.Is(err, image.ErrValidation) {
			t.Errorf("replace %v: err = %v, want ErrValidation", bad, err)
		}
	}
	if _, err := s.UpdateImage(admin, img.ID, []image.PatchOp{locOp("remove", "/locations/0", nil)}); err != nil {
		t.Fatalf("remove: %v", err)
	}
	got, _ = s.GetImage(alice, img.ID)
	if ls := image.ImageLocations(got); len(ls) != 1 || ls[0].URL != "http://example.com/a.img#new" {
		t.Fatalf("after remove: %+v", ls)
	}
	_, err = s.UpdateImage(admin, img.ID, []image.PatchOp{locOp("remove", "/locations/0", nil)})
	if !errors.Is(err, image.ErrForbidden) {
		t.Fatalf("remove last: err = %v, want ErrForbidden", err)
	}
}

func TestLocationsRefusals(t *testing.T) {
	s := newService(t, image.Config{ShowMultipleLocations: true})
	img := mustCreate(t, s, alice, `{"disk_format": "raw", "container_format": "bare"}`)
	cases := []struct {
		name string
		op   image.PatchOp
		want error
	}{
		{"bad scheme", locOp("add", "/locations/-", loc("gopher://info.cern.ch", map[string]any{})), image.ErrValidation},
		{"file scheme", locOp("add", "/locations/-", loc("file:///etc/passwd", map[string]any{})), image.ErrValidation},
		{"no metadata", locOp("add", "/locations/-", map[string]any{"url": "http://x/y"}), image.ErrValidation},
		{"bad position", locOp("add", "/locations/5", loc("http://x/y", map[string]any{})), image.ErrValidation},
		{"remove from queued", locOp("remove", "/locations/0", nil), image.ErrConflict},
		{"member may not delete", locOp("remove", "/locations/0", nil), image.ErrForbidden},
	}
	for i, c := range cases {
		ctx := alice
		if i == 4 { // delete_image_location is admin-only by default
			ctx = admin
		}
		if _, err := s.UpdateImage(ctx, img.ID, []image.PatchOp{c.op}); !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
		}
	}

	hidden := newService(t, image.Config{})
	img = mustCreate(t, hidden, alice, `{}`)
	_, err := hidden.UpdateImage(alice, img.ID, []image.PatchOp{
		locOp("add", "/locations/-", loc("http://x/y", map[string]any{}))})
	if !errors.Is(err, image.ErrForbidden) {
		t.Errorf("locations invisible: err = %v, want ErrForbidden", err)
	}
	if v := hidden.ViewLocations(alice, img); v.Show || v.DirectURL != "" {
		t.Errorf("hidden view = %+v", v)
	}
}

func TestLocationsValidationData(t *testing.T) {
	s := newService(t, image.Config{ShowMultipleLocations: true})
	img := mustCreate(t, s, alice, `{"disk_format": "raw", "container_format": "bare"}`)
	val := map[string]any{"checksum": strings.Repeat("1", 32), "os_hash_algo": "sha512",
		"os_hash_value": strings.Repeat("deadbeef", 16)}
	withVal := func(url string, v map[string]any) map[string]any {
		l := loc(url, map[string]any{})
		l["validation_data"] = v
		return l
	}
	got, err := s.UpdateImage(alice, img.ID, []image.PatchOp{locOp("add", "/locations/-", withVal("http://x/a", val))})
	if err != nil {
		t.Fatal(err)
	}
	if got.Checksum != val["checksum"] || got.HashAlgo != "sha512" || got.HashValue != val["os_hash_value"] {
		t.Fatalf("hashes not set: %+v", got)
	}
	if _, err := s.UpdateImage(alice, img.ID, []image.PatchOp{
		locOp("add", "/locations/-", withVal("http://x/b", val))}); err != nil {
		t.Fatalf("matching validation data: %v", err)
	}
	for k, v := range map[string]string{"checksum": strings.Repeat("2", 32), "os_hash_algo": "sha256",
		"os_hash_value": strings.Repeat("beefdead", 16)} {
		bad := map[string]any{}
		for kk, vv := range val {
			bad[kk] = vv
		}
		bad[k] = v
		_, err := s.UpdateImage(alice, img.ID, []image.PatchOp{locOp("add", "/locations/-", withVal("http://x/c", bad))})
		if !errors.Is(err, image.ErrConflict) {
			t.Errorf("mismatched %s: err = %v, want ErrConflict", k, err)
		}
	}
	img = mustCreate(t, s, alice, `{}`)
	short := map[string]any{"os_hash_algo": "sha512", "os_hash_value": "abc"}
	_, err = s.UpdateImage(alice, img.ID, []image.PatchOp{locOp("add", "/locations/-", withVal("http://x/d", short))})
	if !errors.Is(err, image.ErrValidation) {
		t.Errorf("short hash: err = %v, want ErrValidation", err)
	}
}
