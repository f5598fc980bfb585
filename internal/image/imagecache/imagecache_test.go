package imagecache

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/image"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 4, 5, 6, 7, 800_000_000, time.UTC)} }

func newCache(t testing.TB, dir string, maxSize int64, clk *clock) *Cache {
	t.Helper()
	c, err := New(dir, Options{MaxSize: maxSize, Now: clk.now})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func md5hex(b []byte) string {
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}

// fill caches data as id with its true size and checksum.
func fill(t testing.TB, c *Cache, id string, data []byte) image.CacheEntry {
	t.Helper()
	e, err := c.Fill(context.Background(), id, bytes.NewReader(data), int64(len(data)), md5hex(data))
	if err != nil {
		t.Fatalf("Fill %s: %v", id, err)
	}
	return e
}

// names lists a cache subdirectory.
func names(t testing.TB, c *Cache, sub string) []string {
	t.Helper()
	des, err := os.ReadDir(filepath.Join(c.Dir(), sub))
	if err != nil {
		t.Fatal(err)
	}
	out := []string{}
	for _, de := range des {
		out = append(out, de.Name())
	}
	return out
}

func cachedIDs(t testing.TB, c *Cache) []string {
	t.Helper()
	es, err := c.Cached(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := []string{}
	for _, e := range es {
		out = append(out, e.ImageID)
	}
	sort.Strings(out)
	return out
}

func queuedIDs(t testing.TB, c *Cache) []string {
	t.Helper()
	q, err := c.Queued(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func equal(a, b []string) bool { return fmt.Sprint(a) == fmt.Sprint(b) }

func TestQueue(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newCache(t, t.TempDir(), 1<<30, newClock())
	for _, id := range []string{"b", "a", "c"} {
		if added, err := c.Queue(ctx, id); err != nil || !added {
			t.Fatalf("Queue %s = %v, %v; want added", id, added, err)
		}
	}
	if added, err := c.Queue(ctx, "a"); err != nil || added {
		t.Errorf("Queue of a queued id = %v, %v; want not added", added, err)
	}
	fill(t, c, "d", []byte("data"))
	if added, err := c.Queue(ctx, "d"); err != nil || added {
		t.Errorf("Queue of a cached id = %v, %v; want not added", added, err)
	}
	if q := queuedIDs(t, c); !equal(q, []string{"b", "a", "c"}) {
		t.Errorf("Queued = %v, want queue order [b a c]", q)
	}
	if removed, err := c.Dequeue(ctx, "a"); err != nil || !removed {
		t.Errorf("Dequeue a = %v, %v", removed, err)
	}
	if removed, err := c.Dequeue(ctx, "a"); err != nil || removed {
		t.Errorf("second Dequeue a = %v, %v; want false", removed, err)
	}
	if n, err := c.DequeueAll(ctx); err != nil || n != 2 {
		t.Errorf("DequeueAll = %d, %v; want 2", n, err)
	}
	if q := queuedIDs(t, c); len(q) != 0 {
		t.Errorf("Queued after DequeueAll = %v", q)
	}
	for _, id := range []string{"", "../x", ".hidden", "a/b", "a b"} {
		if _, err := c.Queue(ctx, id); !errors.Is(err, image.ErrValidation) {
			t.Errorf("Queue(%q) = %v, want ErrValidation", id, err)
		}
	}
}

func TestFillInstallsVerifiedCopy(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := newClock()
	c := newCache(t, t.TempDir(), 1<<30, clk)
	data := bytes.Repeat([]byte("nimbus cache "), 200000)
	if _, err := c.Queue(ctx, "img"); err != nil {
		t.Fatal(err)
	}
	e := fill(t, c, "img", data)
	want := image.CacheEntry{ImageID: "img", Size: int64(len(data)), Checksum: md5hex(data),
		LastAccessed: clk.now(), LastModified: clk.now()}
	if e != want {
		t.Errorf("Fill = %+v, want %+v", e, want)
	}
	if q := queuedIDs(t, c); len(q) != 0 {
		t.Errorf("a filled image stays queued: %v", q)
	}
	got, err := os.ReadFile(filepath.Join(c.Dir(), "data", "img"))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("cached file: %d bytes, %v; want the %d bytes filled", len(got), err, len(data))
	}
	if inc := names(t, c, "incomplete"); len(inc) != 0 {
		t.Errorf("incomplete/ keeps %v after a fill", inc)
	}
	es, err := c.Cached(ctx)
	if err != nil || len(es) != 1 || es[0] != want {
		t.Errorf("Cached = %+v, %v; want [%+v]", es, err, want)
	}
	if n, err := c.Size(ctx); err != nil || n != int64(len(data)) {
		t.Errorf("Size = %d, %v", n, err)
	}
}

// failAfter returns its data, then fails.
type failAfter struct{ r io.Reader }

func (f failAfter) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, errors.New("backend connection reset")
	}
	return n, err
}

func TestFillFailureLeavesNothing(t *testing.T) {
	t.Parallel()
	data := []byte("the image data")
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name     string
		ctx      context.Context
		r        io.Reader
		size     int64
		checksum string
	}{
		{"short", context.Background(), bytes.NewReader(data[:5]), int64(len(data)), md5hex(data)},
		{"long", context.Background(), bytes.NewReader(append(data, 'x')), int64(len(data)), ""},
		{"checksum", context.Background(), bytes.NewReader([]byte("the image DATA")), int64(len(data)), md5hex(data)},
		{"read error", context.Background(), failAfter{bytes.NewReader(data)}, -1, ""},
		{"canceled", canceled, bytes.NewReader(data), int64(len(data)), md5hex(data)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newCache(t, t.TempDir(), 1<<30, newClock())
			if _, err := c.Queue(context.Background(), "img"); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Fill(tt.ctx, "img", tt.r, tt.size, tt.checksum); err == nil {
				t.Fatal("Fill succeeded")
			}
			if d, inc := names(t, c, "data"), names(t, c, "incomplete"); len(d)+len(inc) != 0 {
				t.Errorf("a failed fill left data %v, incomplete %v", d, inc)
			}
			if ids := cachedIDs(t, c); len(ids) != 0 {
				t.Errorf("a failed fill is cached: %v", ids)
			}
			if q := queuedIDs(t, c); !equal(q, []string{"img"}) {
				t.Errorf("Queued = %v; a failed fill leaves the queue to its caller", q)
			}
		})
	}
}

func TestFillAnySizeAndChecksum(t *testing.T) {
	t.Parallel()
	c := newCache(t, t.TempDir(), 1<<30, newClock())
	e, err := c.Fill(context.Background(), "img", bytes.NewReader([]byte("12345")), -1, "")
	if err != nil || e.Size != 5 || e.Checksum != "" {
		t.Fatalf("Fill without size and checksum = %+v, %v", e, err)
	}
}

func TestFillBusy(t *testing.T) {
	t.Parallel()
	c := newCache(t, t.TempDir(), 1<<30, newClock())
	// Another writer holds the incomplete copy's lock.
	f, err := os.OpenFile(filepath.Join(c.Dir(), "incomplete", "img"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := tryLock(f); err != nil || !ok {
		t.Fatalf("tryLock = %v, %v", ok, err)
	}
	if _, err := f.WriteString("half a copy"); err != nil {
		t.Fatal(err)
	}
	_, err = c.Fill(context.Background(), "img", bytes.NewReader([]byte("data")), 4, "")
	if !errors.Is(err, image.ErrConflict) {
		t.Fatalf("Fill while another writer fills = %v, want ErrConflict", err)
	}
	if inc := names(t, c, "incomplete"); !equal(inc, []string{"img"}) {
		t.Errorf("the other writer's copy was touched: incomplete = %v", inc)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Fill(context.Background(), "img", bytes.NewReader([]byte("data")), 4, ""); err != nil {
		t.Fatalf("Fill after the other writer died: %v", err)
	}
	if got, _ := os.ReadFile(filepath.Join(c.Dir(), "data", "img")); string(got) != "data" {
		t.Errorf("cached copy %q: the dead writer's bytes were kept", got)
	}
}

func TestFillOfCopyJustInstalled(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newCache(t, t.TempDir(), 1<<30, newClock())
	data := []byte("data")
	fill(t, c, "img", data)
	if f, _, err := c.Open(ctx, "img"); err != nil {
		t.Fatal(err)
	} else if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	// A second writer that queued before the first finished finds the copy.
	e, err := c.Fill(ctx, "img", bytes.NewReader(data), 4, md5hex(data))
	if err != nil || e.Hits != 1 {
		t.Fatalf("Fill of an installed copy = %+v, %v; want the existing entry with its hit", e, err)
	}
	// Other data for the id replaces the copy.
	e, err = c.Fill(ctx, "img", bytes.NewReader([]byte("new data")), 8, md5hex([]byte("new data")))
	if err != nil || e.Hits != 0 || e.Size != 8 {
		t.Fatalf("Fill of changed data = %+v, %v; want a fresh entry", e, err)
	}
}

func TestOpenCountsHits(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := newClock()
	c := newCache(t, t.TempDir(), 1<<30, clk)
	data := []byte("0123456789")
	filled := fill(t, c, "img", data)
	if _, _, err := c.Open(ctx, "missing"); !errors.Is(err, image.ErrNotFound) {
		t.Errorf("Open of an id not cached = %v, want ErrNotFound", err)
	}
	for i := 1; i <= 3; i++ {
		clk.advance(time.Minute)
		f, e, err := c.Open(ctx, "img")
		if err != nil {
			t.Fatal(err)
		}
		if e.Hits != int64(i) || !e.LastAccessed.Equal(clk.now()) || !e.LastModified.Equal(filled.LastModified) {
			t.Errorf("hit %d: entry %+v", i, e)
		}
		if _, ok := f.(*os.File); !ok {
			t.Errorf("Open returns %T; downloads need the *os.File for sendfile", f)
		}
		if _, err := f.Seek(4, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(f)
		if err != nil || string(got) != "456789" {
			t.Errorf("read after seek = %q, %v", got, err)
		}
		_ = f.Close()
	}
	es, _ := c.Cached(ctx)
	if len(es) != 1 || es[0].Hits != 3 {
		t.Errorf("Cached = %+v, want 3 hits", es)
	}
}

func TestLostStatsStartAgain(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := newClock()
	c := newCache(t, t.TempDir(), 1<<30, clk)
	filled := fill(t, c, "img", []byte("data"))
	if err := os.Remove(filepath.Join(c.Dir(), "stats", "img")); err != nil {
		t.Fatal(err)
	}
	es, _ := c.Cached(ctx)
	if len(es) != 1 || es[0].Hits != 0 || !es[0].LastAccessed.Equal(filled.LastModified) {
		t.Errorf("entry without stats = %+v; want no hits, accessed when installed", es)
	}
	clk.advance(time.Hour)
	f, e, err := c.Open(ctx, "img")
	if err != nil {
		t.Fatal(err)
	}
	_ = f.Close()
	if e.Hits != 1 || !e.LastAccessed.Equal(clk.now()) {
		t.Errorf("hit after lost stats = %+v", e)
	}
}

func TestOpenDropsDamagedCopy(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newCache(t, t.TempDir(), 1<<30, newClock())
	fill(t, c, "trunc", []byte("0123456789"))
	fill(t, c, "gone", []byte("0123456789"))
	if err := os.Truncate(filepath.Join(c.Dir(), "data", "trunc"), 3); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(c.Dir(), "data", "gone")); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"trunc", "gone"} {
		if _, _, err := c.Open(ctx, id); !errors.Is(err, image.ErrNotFound) {
			t.Errorf("Open of a damaged copy %s = %v, want ErrNotFound", id, err)
		}
	}
	if ids := cachedIDs(t, c); len(ids) != 0 {
		t.Errorf("damaged copies stay listed: %v", ids)
	}
	if d := names(t, c, "data"); len(d) != 0 {
		t.Errorf("damaged copies stay on disk: %v", d)
	}
}

func TestDelete(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newCache(t, t.TempDir(), 1<<30, newClock())
	for _, id := range []string{"a", "b", "c"} {
		fill(t, c, id, []byte(id))
	}
	if ok, err := c.Delete(ctx, "b"); err != nil || !ok {
		t.Errorf("Delete b = %v, %v", ok, err)
	}
	if ok, err := c.Delete(ctx, "b"); err != nil || ok {
		t.Errorf("second Delete b = %v, %v; want false", ok, err)
	}
	if ids, d := cachedIDs(t, c), names(t, c, "data"); !equal(ids, []string{"a", "c"}) || !equal(d, []string{"a", "c"}) {
		t.Errorf("after Delete b: cached %v, files %v", ids, d)
	}
	if n, err := c.DeleteAll(ctx); err != nil || n != 2 {
		t.Errorf("DeleteAll = %d, %v; want 2", n, err)
	}
	if ids, d := cachedIDs(t, c), names(t, c, "data"); len(ids)+len(d) != 0 {
		t.Errorf("after DeleteAll: cached %v, files %v", ids, d)
	}
}

func TestPruneLeastRecentlyAccessed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := newClock()
	c := newCache(t, t.TempDir(), 250, clk)
	for _, id := range []string{"a", "b", "c"} {
		clk.advance(time.Second)
		fill(t, c, id, bytes.Repeat([]byte(id), 100))
	}
	// a is used again, so b is now the least recently accessed.
	clk.advance(time.Second)
	f, _, err := c.Open(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	_ = f.Close()
	files, freed, err := c.Prune(ctx)
	if err != nil || files != 1 || freed != 100 {
		t.Fatalf("Prune = %d files, %d bytes, %v; want 1, 100", files, freed, err)
	}
	if ids := cachedIDs(t, c); !equal(ids, []string{"a", "c"}) {
		t.Errorf("after Prune: %v, want [a c]", ids)
	}
	if files, freed, err := c.Prune(ctx); err != nil || files != 0 || freed != 0 {
		t.Errorf("Prune within the limit = %d, %d, %v", files, freed, err)
	}
	small := newCache(t, t.TempDir(), 0, clk)
	fill(t, small, "x", []byte("x"))
	if files, _, err := small.Prune(ctx); err != nil || files != 1 {
		t.Errorf("Prune with image_cache_max_size 0 = %d, %v; want everything pruned", files, err)
	}
}

func TestRestartKeepsEntriesAndQueue(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	clk := newClock()
	c := newCache(t, dir, 1<<30, clk)
	fill(t, c, "img", []byte("cached bytes"))
	f, _, err := c.Open(ctx, "img")
	if err != nil {
		t.Fatal(err)
	}
	_ = f.Close()
	for _, id := range []string{"q2", "q1"} {
		if _, err := c.Queue(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	again := newCache(t, dir, 1<<30, clk)
	es, err := again.Cached(ctx)
	if err != nil || len(es) != 1 || es[0].ImageID != "img" || es[0].Hits != 1 || es[0].Size != 12 {
		t.Errorf("Cached after a restart = %+v, %v", es, err)
	}
	if q := queuedIDs(t, again); !equal(q, []string{"q2", "q1"}) {
		t.Errorf("Queued after a restart = %v", q)
	}
}

func TestNewRepairs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	clk := newClock()
	c := newCache(t, dir, 1<<30, clk)
	fill(t, c, "kept", []byte("kept"))
	fill(t, c, "lost", []byte("lost"))
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Remove(filepath.Join(dir, "data", "lost")))
	must(os.WriteFile(filepath.Join(dir, "data", "orphan"), []byte("no entry"), 0o600))
	must(os.WriteFile(filepath.Join(dir, "stats", "orphan"), make([]byte, 16), 0o600))
	old := clk.now().Add(-time.Hour)
	stale := filepath.Join(dir, "incomplete", "stale")
	must(os.WriteFile(stale, []byte("abandoned"), 0o600))
	must(os.Chtimes(stale, old, old))
	live := filepath.Join(dir, "incomplete", "live")
	must(os.WriteFile(live, []byte("being written"), 0o600))
	must(os.Chtimes(live, old, old))
	lf, err := os.OpenFile(live, os.O_RDWR, 0)
	must(err)
	defer lf.Close()
	if ok, err := tryLock(lf); err != nil || !ok {
		t.Fatalf("tryLock = %v, %v", ok, err)
	}
	again := newCache(t, dir, 1<<30, clk)
	if ids := cachedIDs(t, again); !equal(ids, []string{"kept"}) {
		t.Errorf("entries after repair: %v, want [kept]", ids)
	}
	if d, st := names(t, again, "data"), names(t, again, "stats"); !equal(d, []string{"kept"}) || !equal(st, []string{"kept"}) {
		t.Errorf("files after repair: data %v, stats %v; want [kept] in both", d, st)
	}
	if inc := names(t, again, "incomplete"); !equal(inc, []string{"live"}) {
		t.Errorf("incomplete after repair: %v, want only the locked [live]", inc)
	}
}

func TestCorruptIndexStartsAfresh(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c := newCache(t, dir, 1<<30, newClock())
	fill(t, c, "img", []byte("data"))
	if err := os.WriteFile(filepath.Join(dir, "index.json"), []byte(`{"cached": {`), 0o600); err != nil {
		t.Fatal(err)
	}
	again := newCache(t, dir, 1<<30, newClock())
	if ids, d := cachedIDs(t, again), names(t, again, "data"); len(ids)+len(d) != 0 {
		t.Errorf("after a corrupt index: cached %v, files %v; want both empty", ids, d)
	}
	fill(t, again, "img", []byte("data"))
	if ids := cachedIDs(t, again); !equal(ids, []string{"img"}) {
		t.Errorf("cache unusable after a corrupt index: %v", ids)
	}
}

// TestSharedDirectory runs two Caches on one directory, as two processes on
// one host would be: flock keeps every hit and queue change.
func TestSharedDirectory(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	clk := newClock()
	a, b := newCache(t, dir, 1<<30, clk), newCache(t, dir, 1<<30, clk)
	fill(t, a, "img", []byte("shared"))
	const perCache = 50
	var wg sync.WaitGroup
	errs := make(chan error, 4*perCache)
	for _, c := range []*Cache{a, b} {
		for w := 0; w < 2; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < perCache/2; i++ {
					f, _, err := c.Open(ctx, "img")
					if err != nil {
						errs <- err
						return
					}
					_ = f.Close()
					if _, err := c.Queue(ctx, fmt.Sprintf("q-%p-%d-%d", c, w, i)); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	es, err := b.Cached(ctx)
	if err != nil || len(es) != 1 || es[0].Hits != 2*perCache {
		t.Errorf("hits after concurrent opens = %+v, %v; want %d", es, err, 2*perCache)
	}
	if q := queuedIDs(t, a); len(q) != 2*perCache {
		t.Errorf("queue holds %d ids, want %d", len(q), 2*perCache)
	}
}

func BenchmarkOpenHit(b *testing.B) {
	c := newCache(b, b.TempDir(), 1<<30, newClock())
	for i := 0; i < 50; i++ {
		fill(b, c, fmt.Sprintf("img-%d", i), []byte("data"))
	}
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f, _, err := c.Open(ctx, "img-7")
		if err != nil {
			b.Fatal(err)
		}
		_ = f.Close()
	}
}

func BenchmarkFill(b *testing.B) {
	c := newCache(b, b.TempDir(), 1<<40, newClock())
	data := bytes.Repeat([]byte{0x5a}, 64<<20)
	sum := md5hex(data)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.Fill(context.Background(), "img", bytes.NewReader(data), int64(len(data)), sum); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if _, err := c.Delete(context.Background(), "img"); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}
