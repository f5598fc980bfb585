package filestore

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/image"
)

func newStore(t testing.TB) *Store {
	t.Helper()
	s, err := New(filepath.Join(t.TempDir(), "images"))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func randomBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// entries lists the names in the store's directory.
func entries(t *testing.T, s *Store) []string {
	t.Helper()
	des, err := os.ReadDir(s.Dir())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range des {
		names = append(names, d.Name())
	}
	return names
}

func TestNewCreatesPrivateDir(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	fi, err := os.Stat(s.Dir())
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o700 {
		t.Errorf("directory mode %o, want 700", perm)
	}
	if s.Name() != "file" {
		t.Errorf("Name() = %q, want file", s.Name())
	}
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := newStore(t)
	for _, size := range []int{0, 1, bufSize - 1, bufSize, 3*bufSize + 17} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			id := fmt.Sprintf("img-%d", size)
			data := randomBytes(t, size)
			// iotest-style one-byte-at-a-time reads would be slow at these
			// sizes; a plain reader without WriterTo exercises fill.
			loc, err := s.Put(ctx, id, struct{ io.Reader }{bytes.NewReader(data)})
			if err != nil {
				t.Fatalf("Put: %v", err)
			}
			if want := "file://" + filepath.Join(s.Dir(), id); loc != want {
				t.Errorf("location %q, want %q", loc, want)
			}
			rc, n, err := s.Open(ctx, loc)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer rc.Close()
			if n != int64(size) {
				t.Errorf("size %d, want %d", n, size)
			}
			got, err := io.ReadAll(rc)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, data) {
				t.Fatal("data read back differs from data written")
			}
			if _, err := rc.Seek(int64(size/2), io.SeekStart); err != nil {
				t.Fatalf("Seek: %v", err)
			}
			if err := s.Delete(ctx, loc); err != nil {
				t.Fatalf("Delete: %v", err)
			}
			if err := s.Delete(ctx, loc); err != nil {
				t.Fatalf("second Delete: %v, want nil", err)
			}
			if _, _, err := s.Open(ctx, loc); !errors.Is(err, image.ErrNotFound) {
				t.Fatalf("Open after Delete: %v, want ErrNotFound", err)
			}
		})
	}
}

func TestPutExistingIsConflict(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := newStore(t)
	loc, err := s.Put(ctx, "a", bytes.NewReader([]byte("first")))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(ctx, "a", bytes.NewReader([]byte("second"))); !errors.Is(err, image.ErrConflict) {
		t.Fatalf("second Put: %v, want ErrConflict", err)
	}
	rc, _, err := s.Open(ctx, loc)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if got, _ := io.ReadAll(rc); string(got) != "first" {
		t.Errorf("data %q, want the first upload kept", got)
	}
	if names := entries(t, s); len(names) != 1 {
		t.Errorf("directory holds %v, want only a", names)
	}
}

// failingReader yields n bytes, then err.
type failingReader struct {
	n   int
	err error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, r.err
	}
	k := min(len(p), r.n, 64<<10)
	r.n -= k
	return k, nil
}

func TestInterruptedUploadLeavesNothing(t *testing.T) {
	t.Parallel()
	boom := errors.New("connection reset")
	tests := []struct {
		name string
		err  error
	}{
		{"reader error", boom},
		// A request body cut short ends this way; it is not a clean end.
		{"unexpected EOF", io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newStore(t)
			_, err := s.Put(t.Context(), "img", &failingReader{n: 3*bufSize + 5, err: tt.err})
			if !errors.Is(err, tt.err) {
				t.Fatalf("Put: %v, want %v", err, tt.err)
			}
			if names := entries(t, s); len(names) != 0 {
				t.Fatalf("directory holds %v after a failed upload", names)
			}
		})
	}
}

// cancelAfter cancels its context once it has yielded n bytes.
type cancelAfter struct {
	n      int
	cancel context.CancelFunc
}

func (r *cancelAfter) Read(p []byte) (int, error) {
	if r.n <= 0 {
		r.cancel()
	}
	k := min(len(p), 32<<10)
	r.n -= k
	return k, nil
}

func TestCancelledUploadLeavesNothing(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	_, err := s.Put(ctx, "img", &cancelAfter{n: 2 * bufSize, cancel: cancel})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Put: %v, want context.Canceled", err)
	}
	if names := entries(t, s); len(names) != 0 {
		t.Fatalf("directory holds %v after a cancelled upload", names)
	}
}

func TestLocationsOutsideRefused(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := newStore(t)
	if _, err := s.Put(ctx, "img", bytes.NewReader([]byte("x"))); err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(filepath.Dir(s.Dir()), "secret")
	if err := os.WriteFile(outside, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(s.Dir(), "link")); err != nil {
		t.Fatal(err)
	}
	tests := map[string]string{
		"traversal":          "file://" + s.Dir() + "/../secret",
		"unclean":            "file://" + s.Dir() + "/./img",
		"other directory":    "file://" + outside,
		"the directory":      "file://" + s.Dir(),
		"relative":           "file://images/img",
		"other scheme":       "http://example.com/img",
		"swift":              "swift+https://user:key@keystone/v3/glance/img",
		"no scheme":          filepath.Join(s.Dir(), "img"),
		"temporary file":     "file://" + s.Dir() + "/" + tempPrefix + "img.0",
		"escaped traversal":  "file://" + s.Dir() + "/%2e%2e",
		"symlink out of dir": "file://" + s.Dir() + "/link",
	}
	for name, loc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			rc, _, err := s.Open(ctx, loc)
			if err == nil {
				rc.Close()
				t.Fatalf("Open(%q) succeeded", loc)
			}
			if err := s.Delete(ctx, loc); err != nil && !errors.Is(err, image.ErrValidation) {
				t.Fatalf("Delete(%q): %v, want nil or ErrValidation", loc, err)
			}
		})
	}
	if _, err := os.Stat(outside); err != nil {
		t.Fatalf("file outside the store: %v", err)
	}
}

func TestBadIDsRefused(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	for _, id := range []string{"", ".", "..", "../x", "a/b", ".hidden", tempPrefix + "x"} {
		if _, err := s.Put(t.Context(), id, bytes.NewReader(nil)); !errors.Is(err, image.ErrValidation) {
			t.Errorf("Put(%q): %v, want ErrValidation", id, err)
		}
	}
}

func TestConcurrentPuts(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := newStore(t)
	const n = 16
	data := make([][]byte, n)
	for i := range data {
		data[i] = randomBytes(t, bufSize+i*4099)
	}
	var wg sync.WaitGroup
	locs := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			locs[i], errs[i] = s.Put(ctx, fmt.Sprintf("img-%02d", i), bytes.NewReader(data[i]))
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("Put %d: %v", i, errs[i])
		}
		got, err := os.ReadFile(filepath.Join(s.Dir(), fmt.Sprintf("img-%02d", i)))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, data[i]) {
			t.Errorf("image %d holds another upload's data", i)
		}
	}
	if names := entries(t, s); len(names) != n {
		t.Errorf("directory holds %d entries, want %d", len(names), n)
	}
}

func TestNewRemovesStaleUploads(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	old := time.Now().Add(-2 * time.Hour)
	files := map[string]time.Time{
		tempPrefix + "a.1": old,        // crashed upload: removed
		tempPrefix + "b.2": time.Now(), // may be in progress: kept
		"c":                old,        // image data: kept
	}
	for name, mtime := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	s, err := New(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got := entries(t, s)
	want := []string{tempPrefix + "b.2", "c"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("after New: %v, want %v", got, want)
	}
}

// zeroReader is a fast source without WriterTo, as a request body is.
type zeroReader struct{ n int64 }

func (r *zeroReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, io.EOF
	}
	k := int(min(int64(len(p)), r.n))
	clear(p[:k])
	r.n -= int64(k)
	return k, nil
}

// BenchmarkPut256MiB measures the upload hot path, fsyncs included; the
// MB/s column is the figure to compare with the disk's sequential write.
func BenchmarkPut256MiB(b *testing.B) {
	const size = 256 << 20
	s := newStore(b)
	ctx := b.Context()
	b.SetBytes(size)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		id := fmt.Sprintf("bench-%d", i)
		i++
		loc, err := s.Put(ctx, id, &zeroReader{n: size})
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := s.Delete(ctx, loc); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}
