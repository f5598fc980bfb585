package fernet

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	fernetgo "github.com/fernet/fernet-go"
)

// DefaultMaxActiveKeys is keystone's default [fernet_tokens] max_active_keys.
const DefaultMaxActiveKeys = 3

// ErrNoKeys means the key repository holds no key files.
var ErrNoKeys = errors.New("key repository has no keys")

const (
	// tempPrefix names key files being written; the loader ignores them
	// because they are not integers.
	tempPrefix = ".tmp-key-"
	// maxKeyFileSize bounds what we read from a key file; a key is 44 bytes.
	maxKeyFileSize = 1024
	// loadAttempts bounds rereads when a file vanishes under a concurrent
	// rotation between listing the directory and reading the file.
	loadAttempts = 3
)

// Key is one Fernet key from a repository, tagged with its file index.
type Key struct {
	Index  int           // 0 is the staged key; the highest index is the primary
	Fernet *fernetgo.Key // key material: never log or print it
}

// String names the key by index only, so key material never reaches a log.
func (k Key) String() string { return "fernet key " + strconv.Itoa(k.Index) }

// GoString names the key by index only, so %#v never prints key material.
func (k Key) GoString() string { return "fernet.Key{Index: " + strconv.Itoa(k.Index) + "}" }

// Rotation reports what KeyRepository.Rotate changed.
type Rotation struct {
	Primary int   // index the staged key was promoted to
	Removed []int // indexes of pruned keys, oldest first
}

// KeyRepository is a directory of Fernet keys managed the way keystone does.
// Its methods are safe to call from several processes on the same directory:
// writers serialize on a lock file, and readers only ever see whole key files.
type KeyRepository struct {
	dir       string
	maxActive int
}

// NewKeyRepository returns the repository in dir keeping at most maxActiveKeys
// keys (staged and primary included); 0 means DefaultMaxActiveKeys.
func NewKeyRepository(dir string, maxActiveKeys int) (*KeyRepository, error) {
	if dir == "" {
		return nil, errors.New("new key repository: empty directory")
	}
	if maxActiveKeys == 0 {
		maxActiveKeys = DefaultMaxActiveKeys
	}
	if maxActiveKeys < 2 {
		return nil, fmt.Errorf("new key repository %s: max active keys is %d, need at least 2 (staged and primary)", dir, maxActiveKeys)
	}
	return &KeyRepository{dir: dir, maxActive: maxActiveKeys}, nil
}

// Dir returns the repository directory.
func (r *KeyRepository) Dir() string { return r.dir }

// MaxActiveKeys returns how many keys Rotate keeps.
func (r *KeyRepository) MaxActiveKeys() int { return r.maxActive }

// Setup creates the directory (0700) and, when it holds no keys, a staged key 0
// and a primary key 1, like keystone-manage fernet_setup. On an initialized
// repository it only checks the keys, and writes a staged key 0 if a crash
// left none.
func (r *KeyRepository) Setup() error {
	if err := os.MkdirAll(r.dir, 0o700); err != nil {
		return fmt.Errorf("set up key repository: %w", err)
	}
	unlock, err := lockDir(r.dir)
	if err != nil {
		return fmt.Errorf("set up key repository %s: %w", r.dir, err)
	}
	defer unlock()
	if err := r.removeTemps(); err != nil {
		return fmt.Errorf("set up key repository %s: %w", r.dir, err)
	}
	keys, _, err := r.load()
	if err != nil {
		return fmt.Errorf("set up key repository: %w", err)
	}
	if len(keys) == 0 {
		if err := r.writeNewKey(1); err != nil {
			return fmt.Errorf("set up key repository %s: %w", r.dir, err)
		}
	}
	if len(keys) == 0 || keys[len(keys)-1].Index != 0 {
		if err := r.writeNewKey(0); err != nil {
			return fmt.Errorf("set up key repository %s: %w", r.dir, err)
		}
	}
	return nil
}

// Rotate promotes the staged key 0 to primary (the next highest index), writes
// a new staged key 0 and prunes the oldest secondaries so at most
// MaxActiveKeys remain, like keystone-manage fernet_rotate.
func (r *KeyRepository) Rotate() (Rotation, error) {
	unlock, err := lockDir(r.dir)
	if err != nil {
		return Rotation{}, fmt.Errorf("rotate key repository %s: %w", r.dir, err)
	}
	defer unlock()
	if err := r.removeTemps(); err != nil {
		return Rotation{}, fmt.Errorf("rotate key repository %s: %w", r.dir, err)
	}
	keys, _, err := r.load()
	if err != nil {
		return Rotation{}, fmt.Errorf("rotate: %w", err)
	}
	if len(keys) == 0 {
		return Rotation{}, fmt.Errorf("rotate key repository %s: %w: run fernet setup", r.dir, ErrNoKeys)
	}
	if keys[len(keys)-1].Index != 0 {
		return Rotation{}, fmt.Errorf("rotate key repository %s: no staged key 0: run fernet setup to create one", r.dir)
	}
	rot := Rotation{Primary: keys[0].Index + 1}
	// Write the next staged key before moving 0, so the window without a
	// staged key is one rename long.
	tmp, err := writeTemp(r.dir)
	if err != nil {
		return Rotation{}, fmt.Errorf("rotate key repository %s: %w", r.dir, err)
	}
	if err := os.Rename(r.path(0), r.path(rot.Primary)); err != nil {
		_ = os.Remove(tmp)
		return Rotation{}, fmt.Errorf("rotate: promote staged key: %w", err)
	}
	if err := os.Rename(tmp, r.path(0)); err != nil {
		_ = os.Remove(tmp)
		return Rotation{}, fmt.Errorf("rotate: install new staged key: %w", err)
	}
	// keys[:len-1] are the old primary and secondaries, newest first; the new
	// primary and staged key take two of the maxActive places.
	old := keys[:len(keys)-1]
	for i := len(old) - 1; i >= r.maxActive-2; i-- {
		if err := os.Remove(r.path(old[i].Index)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return rot, fmt.Errorf("rotate: prune key: %w", err)
		}
		rot.Removed = append(rot.Removed, old[i].Index)
	}
	if err := syncDir(r.dir); err != nil {
		return rot, fmt.Errorf("rotate key repository %s: %w", r.dir, err)
	}
	return rot, nil
}

// Keys returns the repository's keys, primary (highest index) first, then the
// secondaries newest first, then the staged key 0. A repository without keys
// returns an empty slice and no error.
func (r *KeyRepository) Keys() ([]Key, error) {
	keys, _, err := r.load()
	return keys, err
}

// keyFile is one key file as listed, before its content is read.
type keyFile struct {
	index int
	path  string
	info  fs.FileInfo
}

// scan lists the key files, primary first and staged last. It follows
// symlinks, so keys mounted as symlinks (a Kubernetes secret) are seen, and a
// swapped target shows as a changed stamp.
func (r *KeyRepository) scan() ([]keyFile, error) {
	entries, err := os.ReadDir(r.dir)
	if err != nil {
		return nil, fmt.Errorf("read key repository: %w", err)
	}
	files := make([]keyFile, 0, len(entries))
	for _, e := range entries {
		idx, ok := keyIndex(e.Name())
		if !ok {
			continue
		}
		path := filepath.Join(r.dir, e.Name())
		info, err := os.Stat(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue // pruned or renamed by a rotation since ReadDir
		}
		if err != nil {
			return nil, fmt.Errorf("read key repository: %w", err)
		}
		if !info.Mode().IsRegular() {
			continue
		}
		files = append(files, keyFile{index: idx, path: path, info: info})
	}
	slices.SortFunc(files, func(a, b keyFile) int { return b.index - a.index })
	return files, nil
}

// stampOf summarizes a listing so a changed repository compares unequal.
func stampOf(files []keyFile) string {
	var b strings.Builder
	for _, f := range files {
		fmt.Fprintf(&b, "%d:%d:%d;", f.index, f.info.Size(), f.info.ModTime().UnixNano())
	}
	return b.String()
}

// load reads every key and returns them with the stamp of the listing they
// were read from. A file that vanishes mid-read (a concurrent rotation)
// restarts the read.
func (r *KeyRepository) load() ([]Key, string, error) {
	for attempt := 1; ; attempt++ {
		keys, stamp, err := r.loadOnce()
		if err == nil || !errors.Is(err, fs.ErrNotExist) || attempt == loadAttempts {
			return keys, stamp, err
		}
	}
}

func (r *KeyRepository) loadOnce() ([]Key, string, error) {
	files, err := r.scan()
	if err != nil {
		return nil, "", err
	}
	keys := make([]Key, 0, len(files))
	for _, f := range files {
		k, err := readKeyFile(f.path, f.info.Size())
		if err != nil {
			return nil, "", err
		}
		keys = append(keys, Key{Index: f.index, Fernet: k})
	}
	return keys, stampOf(files), nil
}

// readKeyFile decodes one key file. Errors name the file and never quote its
// content.
func readKeyFile(path string, size int64) (*fernetgo.Key, error) {
	if size > maxKeyFileSize {
		return nil, fmt.Errorf("key file %s: %d bytes, a Fernet key is 44", path, size)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read key file: %w", err)
	}
	s := strings.TrimRight(strings.TrimSpace(string(b)), "=")
	if s == "" {
		return nil, fmt.Errorf("key file %s: empty", path)
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("key file %s: not urlsafe base64: %w", path, err)
	}
	var k fernetgo.Key
	if len(raw) != len(k) {
		return nil, fmt.Errorf("key file %s: decodes to %d bytes, want %d", path, len(raw), len(k))
	}
	copy(k[:], raw)
	clear(raw)
	return &k, nil
}

// keyIndex parses a key file name; only canonical non-negative integers count,
// as temp and lock files must be ignored.
func keyIndex(name string) (int, bool) {
	n, err := strconv.Atoi(name)
	if err != nil || n < 0 || strconv.Itoa(n) != name {
		return 0, false
	}
	return n, true
}

func (r *KeyRepository) path(index int) string {
	return filepath.Join(r.dir, strconv.Itoa(index))
}

// writeNewKey atomically writes a fresh key as file index.
func (r *KeyRepository) writeNewKey(index int) error {
	tmp, err := writeTemp(r.dir)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, r.path(index)); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("install key %d: %w", index, err)
	}
	return syncDir(r.dir)
}

// writeTemp writes a fresh key to a synced 0600 temp file in dir and returns
// its path.
func writeTemp(dir string) (path string, err error) {
	var k fernetgo.Key
	if err := k.Generate(); err != nil {
		return "", fmt.Errorf("generate key: %w", err)
	}
	f, err := os.CreateTemp(dir, tempPrefix+"*")
	if err != nil {
		return "", fmt.Errorf("create key file: %w", err)
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return "", fmt.Errorf("create key file: %w", err)
	}
	if _, err := f.WriteString(k.Encode()); err != nil {
		return "", fmt.Errorf("write key file: %w", err)
	}
	if err := f.Sync(); err != nil {
		return "", fmt.Errorf("sync key file: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("close key file: %w", err)
	}
	return f.Name(), nil
}

// removeTemps deletes key files a crashed writer left behind; callers hold the
// directory lock, so no live writer owns them.
func (r *KeyRepository) removeTemps() error {
	entries, err := os.ReadDir(r.dir)
	if err != nil {
		return fmt.Errorf("read key repository: %w", err)
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), tempPrefix) {
			continue
		}
		if err := os.Remove(filepath.Join(r.dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove stale temp key file: %w", err)
		}
	}
	return nil
}
