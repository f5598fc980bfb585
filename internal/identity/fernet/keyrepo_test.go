package fernet

import (
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
)

// newTestRepo returns a set-up repository in a fresh temp dir.
func newTestRepo(t *testing.T, maxActive int) *KeyRepository {
	t.Helper()
	repo, err := NewKeyRepository(filepath.Join(t.TempDir(), "fernet-keys"), maxActive)
	if err != nil {
		t.Fatalf("NewKeyRepository: %v", err)
	}
	if err := repo.Setup(); err != nil {
		t.Fatalf("Setup: %v", err)
	}
	return repo
}

func indexes(t *testing.T, repo *KeyRepository) []int {
	t.Helper()
	keys, err := repo.Keys()
	if err != nil {
		t.Fatalf("Keys: %v", err)
	}
	var idx []int
	for _, k := range keys {
		idx = append(idx, k.Index)
	}
	return idx
}

func readKeyText(t *testing.T, repo *KeyRepository, index int) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repo.Dir(), fmt.Sprint(index)))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestNewKeyRepository(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		dir     string
		max     int
		wantMax int
		wantErr string
	}{
		{name: "default", dir: "/keys", max: 0, wantMax: DefaultMaxActiveKeys},
		{name: "explicit", dir: "/keys", max: 5, wantMax: 5},
		{name: "staged and primary only", dir: "/keys", max: 2, wantMax: 2},
		{name: "one key", dir: "/keys", max: 1, wantErr: "at least 2"},
		{name: "negative", dir: "/keys", max: -3, wantErr: "at least 2"},
		{name: "no dir", dir: "", max: 3, wantErr: "empty directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			repo, err := NewKeyRepository(tt.dir, tt.max)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if repo.MaxActiveKeys() != tt.wantMax {
				t.Errorf("MaxActiveKeys = %d, want %d", repo.MaxActiveKeys(), tt.wantMax)
			}
		})
	}
}

func TestSetup(t *testing.T) {
	t.Parallel()
	repo := newTestRepo(t, 0)
	if got, want := indexes(t, repo), []int{1, 0}; !slices.Equal(got, want) {
		t.Fatalf("keys after setup = %v, want %v", got, want)
	}
	if runtime.GOOS != "windows" {
		info, err := os.Stat(repo.Dir())
		if err != nil {
			t.Fatal(err)
		}
		if perm := info.Mode().Perm(); perm != 0o700 {
			t.Errorf("dir mode = %o, want 700", perm)
		}
		for _, name := range []string{"0", "1"} {
			info, err := os.Stat(filepath.Join(repo.Dir(), name))
			if err != nil {
				t.Fatal(err)
			}
			if perm := info.Mode().Perm(); perm != 0o600 {
				t.Errorf("key %s mode = %o, want 600", name, perm)
			}
		}
	}
	text := readKeyText(t, repo, 1)
	if raw, err := base64.URLEncoding.DecodeString(text); err != nil || len(raw) != 32 {
		t.Errorf("key file is not urlsafe base64 of 32 bytes (err %v)", err)
	}

	// A second Setup keeps the keys.
	before := readKeyText(t, repo, 1)
	if err := repo.Setup(); err != nil {
		t.Fatalf("second Setup: %v", err)
	}
	if readKeyText(t, repo, 1) != before {
		t.Error("second Setup replaced the primary key")
	}
	assertNoTempFiles(t, repo)
}

func TestSetupRepairsMissingStagedKey(t *testing.T) {
	t.Parallel()
	repo := newTestRepo(t, 0)
	if err := os.Remove(filepath.Join(repo.Dir(), "0")); err != nil {
		t.Fatal(err)
	}
	if _, err := repo.Rotate(); err == nil || !strings.Contains(err.Error(), "no staged key 0") {
		t.Fatalf("Rotate without staged key: err = %v", err)
	}
	primary := readKeyText(t, repo, 1)
	if err := repo.Setup(); err != nil {
		t.Fatalf("Setup: %v", err)
	}
	if got, want := indexes(t, repo), []int{1, 0}; !slices.Equal(got, want) {
		t.Fatalf("keys = %v, want %v", got, want)
	}
	if readKeyText(t, repo, 1) != primary {
		t.Error("Setup replaced the primary key")
	}
}

func TestSetupRemovesStaleTempFiles(t *testing.T) {
	t.Parallel()
	repo := newTestRepo(t, 0)
	stale := filepath.Join(repo.Dir(), tempPrefix+"123")
	if err := os.WriteFile(stale, []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := repo.Setup(); err != nil {
		t.Fatal(err)
	}
	assertNoTempFiles(t, repo)
}

func TestRotate(t *testing.T) {
	t.Parallel()
	type step struct {
		primary int
		removed []int
		keys    []int
	}
	tests := []struct {
		name  string
		max   int
		steps []step
	}{
		{name: "max 2", max: 2, steps: []step{
			{primary: 2, removed: []int{1}, keys: []int{2, 0}},
			{primary: 3, removed: []int{2}, keys: []int{3, 0}},
		}},
		{name: "max 3", max: 3, steps: []step{
			{primary: 2, keys: []int{2, 1, 0}},
			{primary: 3, removed: []int{1}, keys: []int{3, 2, 0}},
			{primary: 4, removed: []int{2}, keys: []int{4, 3, 0}},
		}},
		{name: "max 5", max: 5, steps: []step{
			{primary: 2, keys: []int{2, 1, 0}},
			{primary: 3, keys: []int{3, 2, 1, 0}},
			{primary: 4, keys: []int{4, 3, 2, 1, 0}},
			{primary: 5, removed: []int{1}, keys: []int{5, 4, 3, 2, 0}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			repo := newTestRepo(t, tt.max)
			for i, want := range tt.steps {
				staged := readKeyText(t, repo, 0)
				rot, err := repo.Rotate()
				if err != nil {
					t.Fatalf("rotation %d: %v", i+1, err)
				}
				if rot.Primary != want.primary || !slices.Equal(rot.Removed, want.removed) {
					t.Errorf("rotation %d = %+v, want primary %d removed %v", i+1, rot, want.primary, want.removed)
				}
				if got := indexes(t, repo); !slices.Equal(got, want.keys) {
					t.Errorf("rotation %d: keys = %v, want %v", i+1, got, want.keys)
				}
				if readKeyText(t, repo, want.primary) != staged {
					t.Errorf("rotation %d: new primary is not the former staged key", i+1)
				}
				if readKeyText(t, repo, 0) == staged {
					t.Errorf("rotation %d: staged key not replaced", i+1)
				}
			}
			assertNoTempFiles(t, repo)
		})
	}
}

func TestRotateEmpty(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	repo, err := NewKeyRepository(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := repo.Rotate(); !errors.Is(err, ErrNoKeys) {
		t.Fatalf("Rotate on empty repository: err = %v, want ErrNoKeys", err)
	}
}

// TestRotateConcurrent runs rotations from several repositories on one
// directory at once, as separate processes would; the lock must keep every
// rotation whole.
func TestRotateConcurrent(t *testing.T) {
	t.Parallel()
	first := newTestRepo(t, 4)
	const workers, each = 4, 5
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for range workers {
		repo, err := NewKeyRepository(first.Dir(), 4)
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			for range each {
				if _, err := repo.Rotate(); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("Rotate: %v", err)
	}
	last := 1 + workers*each
	if got, want := indexes(t, first), []int{last, last - 1, last - 2, 0}; !slices.Equal(got, want) {
		t.Errorf("keys = %v, want %v", got, want)
	}
}

func TestKeysIgnoresOtherFiles(t *testing.T) {
	t.Parallel()
	repo := newTestRepo(t, 0)
	for _, name := range []string{"README", "01", "-1", "+2", tempPrefix + "x", ".lock"} {
		if err := os.WriteFile(filepath.Join(repo.Dir(), name), []byte("junk"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(repo.Dir(), "7"), 0o700); err != nil {
		t.Fatal(err)
	}
	if got, want := indexes(t, repo), []int{1, 0}; !slices.Equal(got, want) {
		t.Fatalf("keys = %v, want %v", got, want)
	}
}

func TestKeysFollowsSymlinks(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("symlinks need privileges on windows")
	}
	src := newTestRepo(t, 0)
	dir := t.TempDir()
	for _, name := range []string{"0", "1"} {
		if err := os.Symlink(filepath.Join(src.Dir(), name), filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	repo, err := NewKeyRepository(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := indexes(t, repo), []int{1, 0}; !slices.Equal(got, want) {
		t.Fatalf("keys = %v, want %v", got, want)
	}
}

func TestBadKeyFiles(t *testing.T) {
	t.Parallel()
	const secret = "SECRETMATERIAL"
	valid := make([]byte, 32)
	for i := range valid {
		valid[i] = 0xff // standard base64 of this uses '/', urlsafe uses '_'
	}
	tests := []struct {
		name    string
		content string
		wantErr string // empty: the file loads
	}{
		{name: "empty", content: "", wantErr: "empty"},
		{name: "blank", content: " \n", wantErr: "empty"},
		{name: "not base64", content: secret + "!!!!", wantErr: "not urlsafe base64"},
		{name: "standard base64", content: base64.StdEncoding.EncodeToString(valid), wantErr: "not urlsafe base64"},
		{name: "short key", content: base64.URLEncoding.EncodeToString([]byte(secret + "00")), wantErr: "decodes to 16 bytes, want 32"},
		{name: "too large", content: strings.Repeat(secret, 100), wantErr: "a Fernet key is 44"},
		{name: "trailing newline", content: base64.URLEncoding.EncodeToString(valid) + "\n"},
		{name: "unpadded", content: base64.RawURLEncoding.EncodeToString(valid)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			repo := newTestRepo(t, 0)
			path := filepath.Join(repo.Dir(), "5")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			keys, err := repo.Keys()
			if tt.wantErr == "" {
				if err != nil || len(keys) != 3 || *keys[0].Fernet != [32]byte(valid) {
					t.Fatalf("Keys = %v, %v; want key 5 loaded", keys, err)
				}
				return
			}
			if err == nil {
				t.Fatal("Keys succeeded, want an error")
			}
			msg := err.Error()
			if !strings.Contains(msg, path) || !strings.Contains(msg, tt.wantErr) {
				t.Errorf("err = %q, want it to name %s and say %q", msg, path, tt.wantErr)
			}
			if strings.Contains(msg, secret) || (len(tt.content) > 8 && strings.Contains(msg, tt.content)) {
				t.Errorf("err %q quotes key file content", msg)
			}
			if _, err := NewProvider(repo, ProviderConfig{}); err == nil {
				t.Error("NewProvider succeeded over a bad key file")
			}
			if _, err := repo.Rotate(); err == nil {
				t.Error("Rotate succeeded over a bad key file")
			}
		})
	}
}

func TestKeyFormattingHidesMaterial(t *testing.T) {
	t.Parallel()
	repo := newTestRepo(t, 0)
	keys, err := repo.Keys()
	if err != nil {
		t.Fatal(err)
	}
	k := keys[0]
	for format, want := range map[string]string{
		"%v":  "fernet key 1",
		"%+v": "fernet key 1",
		"%s":  "fernet key 1",
		"%#v": "fernet.Key{Index: 1}",
	} {
		if out := fmt.Sprintf(format, k); out != want {
			t.Errorf("Sprintf(%q) = %q, want %q", format, out, want)
		}
	}
	if out := fmt.Sprintf("%v", keys); out != "[fernet key 1 fernet key 0]" {
		t.Errorf("Sprintf of keys = %q", out)
	}
}

func assertNoTempFiles(t *testing.T, repo *KeyRepository) {
	t.Helper()
	entries, err := os.ReadDir(repo.Dir())
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), tempPrefix) {
			t.Errorf("temp file %s left behind", e.Name())
		}
	}
}
