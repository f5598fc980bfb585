package image

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/auth"
)

// fakeCache is an in-memory Cache that keeps its contract: Fill verifies
// size and checksum, installs and dequeues, or keeps nothing.
type fakeCache struct {
	mu      sync.Mutex
	data    map[string][]byte
	entries map[string]CacheEntry
	queue   []string
	maxSize int64
	prunes  int
	// beforeFill runs before each Fill (to delete an image mid-copy);
	// fillErr, when set, fails it.
	beforeFill func(id string)
	fillErr    error
	// fills receives "id ok" or "id <error>" after each Fill.
	fills chan string
}

func newFakeCache() *fakeCache {
	return &fakeCache{data: map[string][]byte{}, entries: map[string]CacheEntry{}, maxSize: 1 << 30,
		fills: make(chan string, 64)}
}

func (c *fakeCache) Cached(context.Context) ([]CacheEntry, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := []CacheEntry{}
	for _, e := range c.entries {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b CacheEntry) int { return strings.Compare(a.ImageID, b.ImageID) })
	return out, nil
}

func (c *fakeCache) Queued(context.Context) ([]string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.queue), nil
}

func (c *fakeCache) Queue(_ context.Context, id string) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[id]; ok || slices.Contains(c.queue, id) {
		return false, nil
	}
	c.queue = append(c.queue, id)
	return true, nil
}

func (c *fakeCache) Dequeue(_ context.Context, id string) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(c.queue)
	c.queue = slices.DeleteFunc(c.queue, func(q string) bool { return q == id })
	return len(c.queue) != n, nil
}

func (c *fakeCache) DequeueAll(context.Context) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(c.queue)
	c.queue = nil
	return n, nil
}

func (c *fakeCache) Open(_ context.Context, id string) (io.ReadSeekCloser, CacheEntry, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[id]
	if !ok {
		return nil, CacheEntry{}, ErrNotFound
	}
	e.Hits++
	c.entries[id] = e
	return nopSeekCloser{bytes.NewReader(c.data[id])}, e, nil
}

func (c *fakeCache) Fill(_ context.Context, id string, r io.Reader, size int64, checksum string) (CacheEntry, error) {
	e, err := c.fill(id, r, size, checksum)
	res := "ok"
	if err != nil {
		res = err.Error()
	}
	c.fills <- id + " " + res
	return e, err
}

func (c *fakeCache) fill(id string, r io.Reader, size int64, checksum string) (CacheEntry, error) {
	if c.beforeFill != nil {
		c.beforeFill(id)
	}
	if c.fillErr != nil {
		return CacheEntry{}, c.fillErr
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return CacheEntry{}, err
	}
	sum := md5.Sum(b)
	if size >= 0 && int64(len(b)) != size || checksum != "" && hex.EncodeToString(sum[:]) != checksum {
		return CacheEntry{}, errors.New("verification failed")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e := CacheEntry{ImageID: id, Size: int64(len(b)), Checksum: checksum}
	c.data[id], c.entries[id] = b, e
	c.queue = slices.DeleteFunc(c.queue, func(q string) bool { return q == id })
	return e, nil
}

func (c *fakeCache) Delete(_ context.Context, id string) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.entries[id]
	delete(c.entries, id)
	delete(c.data, id)
	return ok, nil
}

func (c *fakeCache) DeleteAll(context.Context) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(c.entries)
	c.entries, c.data = map[string]CacheEntry{}, map[string][]byte{}
	return n, nil
}

func (c *fakeCache) Prune(context.Context) (int, int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.prunes++
	return 0, 0, nil
}

func (c *fakeCache) MaxSize() int64 { return c.maxSize }

// put installs a copy directly, as an earlier run would have left it.
func (c *fakeCache) put(id string, data []byte, checksum string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.data[id] = data
	c.entries[id] = CacheEntry{ImageID: id, Size: int64(len(data)), Checksum: checksum}
}

func (c *fakeCache) state() (cached, queued []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cached = []string{}
	for id := range c.entries {
		cached = append(cached, id)
	}
	slices.Sort(cached)
	return cached, append([]string{}, c.queue...)
}

// entry returns id's entry and data.
func (c *fakeCache) entry(id string) (CacheEntry, []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.entries[id], c.data[id]
}

// waitFor polls cond until it holds; the deadline only stops a hung test.
func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited in vain for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitFill waits for the prefetcher's next Fill and returns its result.
func (c *fakeCache) waitFill(t *testing.T) string {
	t.Helper()
	select {
	case r := <-c.fills:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("the prefetcher did not fill the cache")
		return ""
	}
}

// cacheAuthz is glance's default for the cache rules: admins only; every
// other rule passes.
type cacheAuthz struct{}

func (cacheAuthz) Authorize(ctx context.Context, rule string, _ map[string]any) error {
	c, _ := auth.FromContext(ctx)
	if strings.HasPrefix(rule, "cache_") && !c.HasRole("admin") {
		return auth.ErrForbidden
	}
	return nil
}

func adminCtx() context.Context {
	return auth.WithCaller(context.Background(), &auth.Caller{ProjectID: "p-admin", UserID: "admin",
		Roles: []auth.Role{{Name: "admin"}, {Name: "member"}}})
}

func md5Of(b []byte) string {
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}

// cacheFixture is a service with a fake cache and two images: "img", active
// with data in the backend, and "new", queued.
type cacheFixture struct {
	svc     *Service
	store   *dpStore
	backend *dpBackend
	cache   *fakeCache
	data    []byte
}

// newCacheFixture starts the service with its prefetcher, or, when cache is
// set and prefetch is not, only attached to the cache, so that nothing runs
// behind the test's back.
func newCacheFixture(t *testing.T, cache *fakeCache, prefetch ...bool) *cacheFixture {
	t.Helper()
	f := &cacheFixture{backend: newDPBackend("file"), cache: cache, data: []byte("the backend's image data")}
	loc, err := f.backend.Put(context.Background(), "img", bytes.NewReader(f.data))
	if err != nil {
		t.Fatal(err)
	}
	size := int64(len(f.data))
	f.store = &dpStore{imgs: map[string]Image{
		"img": {ID: "img", Status: Active, Owner: "p1", Visibility: Public, DiskFormat: "raw", ContainerFormat: "bare",
			Size: &size, Checksum: md5Of(f.data), Location: loc},
		"new": {ID: "new", Status: Queued, Owner: "p1", Visibility: Public},
	}}
	f.svc = New(Config{}, Deps{Store: f.store, Backend: f.backend, Authz: cacheAuthz{}})
	switch {
	case cache == nil:
	case len(prefetch) > 0 && !prefetch[0]:
		f.svc.attachCache(cache)
	default:
		f.svc.enableCache(cache, 0)
	}
	t.Cleanup(func() { _ = f.svc.Close() })
	return f
}

// wantErr checks that err is of kind with message.
func wantErr(t *testing.T, what string, err, kind error, message string) {
	t.Helper()
	var ie *Error
	if !errors.Is(err, kind) || !errors.As(err, &ie) || ie.Message != message {
		t.Errorf("%s = %v, want %v %q", what, err, kind, message)
	}
}

func TestCacheAPIOff(t *testing.T) {
	t.Parallel()
	f := newCacheFixture(t, nil)
	const off = "Caching via API is not supported at this site."
	_, err := f.svc.CacheState(adminCtx())
	wantErr(t, "CacheState", err, ErrNotFound, off)
	_, err = f.svc.CacheState(dpCtx())
	wantErr(t, "CacheState of a member", err, ErrForbidden, "You are not authorized to complete cache_list action.")
	wantErr(t, "QueueCacheImage", f.svc.QueueCacheImage(adminCtx(), "img"), ErrNotFound, off)
	wantErr(t, "QueueCacheImage of an unknown image", f.svc.QueueCacheImage(adminCtx(), "nope"), ErrNotFound,
		"Image nope not found.")
	wantErr(t, "DeleteCacheEntry", f.svc.DeleteCacheEntry(adminCtx(), "nope"), ErrNotFound, off)
	_, err = f.svc.ClearCache(adminCtx(), "")
	wantErr(t, "ClearCache", err, ErrNotFound, off)
	d, err := f.svc.DownloadData(adminCtx(), "img")
	if err != nil {
		t.Fatalf("download without a cache: %v", err)
	}
	defer d.Body.Close()
	if got, _ := io.ReadAll(d.Body); !bytes.Equal(got, f.data) {
		t.Errorf("download without a cache = %q", got)
	}
}

func TestQueueCacheImage(t *testing.T) {
	t.Parallel()
	cache := newFakeCache()
	f := newCacheFixture(t, cache)
	wantErr(t, "queue unknown", f.svc.QueueCacheImage(adminCtx(), "non-existing-image-id"), ErrNotFound,
		"Image non-existing-image-id not found.")
	wantErr(t, "queue a queued image", f.svc.QueueCacheImage(adminCtx(), "new"), ErrValidation,
		"Only images with status active can be targeted for queueing")
	wantErr(t, "queue as a member", f.svc.QueueCacheImage(dpCtx(), "img"), ErrForbidden,
		"You are not authorized to complete cache_image action.")
	if err := f.svc.QueueCacheImage(adminCtx(), "img"); err != nil {
		t.Fatalf("queue: %v", err)
	}
	if r := cache.waitFill(t); r != "img ok" {
		t.Fatalf("fill = %q", r)
	}
	cached, queued := cache.state()
	if !slices.Equal(cached, []string{"img"}) || len(queued) != 0 {
		t.Errorf("after the prefetch: cached %v, queued %v", cached, queued)
	}
	if _, got := cache.entry("img"); !bytes.Equal(got, f.data) {
		t.Errorf("cached copy %q, want the backend's data", got)
	}
	if err := f.svc.QueueCacheImage(adminCtx(), "img"); err != nil {
		t.Errorf("queue of a cached image: %v", err)
	}
	if _, queued := cache.state(); len(queued) != 0 {
		t.Errorf("a cached image was queued again: %v", queued)
	}
	st, err := f.svc.CacheState(adminCtx())
	if err != nil || len(st.Cached) != 1 || st.Cached[0].ImageID != "img" || len(st.Queued) != 0 {
		t.Errorf("CacheState = %+v, %v", st, err)
	}
	if err := f.svc.Close(); err != nil {
		t.Fatal(err)
	}
	if cache.prunes == 0 {
		t.Error("the cache was not pruned after the fill")
	}
}

func TestPrefetcherFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// setup breaks something before img is queued.
		setup      func(f *cacheFixture)
		wantFill   bool
		wantQueued bool
	}{
		{"checksum mismatch", func(f *cacheFixture) {
			img := f.store.imgs["img"]
			img.Checksum = md5Of([]byte("other data"))
			f.store.imgs["img"] = img
		}, true, false},
		{"backend data gone", func(f *cacheFixture) { f.backend.data = map[string][]byte{} }, false, false},
		{"fill fails", func(f *cacheFixture) { f.cache.fillErr = errors.New("disk full") }, true, false},
		{"another process fills", func(f *cacheFixture) {
			f.cache.fillErr = fmt.Errorf("busy: %w", ErrConflict)
		}, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newCacheFixture(t, newFakeCache())
			tt.setup(f)
			if err := f.svc.QueueCacheImage(adminCtx(), "img"); err != nil {
				t.Fatal(err)
			}
			if tt.wantFill {
				if r := f.cache.waitFill(t); r == "img ok" {
					t.Fatalf("fill succeeded")
				}
			} else {
				waitFor(t, func() bool { _, q := f.cache.state(); return len(q) == 0 }, "img to leave the queue")
			}
			// Close waits for the prefetcher, which has finished with img.
			if err := f.svc.Close(); err != nil {
				t.Fatal(err)
			}
			cached, queued := f.cache.state()
			if len(cached) != 0 {
				t.Errorf("cached %v after a failed fill", cached)
			}
			if got := slices.Equal(queued, []string{"img"}); got != tt.wantQueued {
				t.Errorf("queued = %v; want img queued: %v", queued, tt.wantQueued)
			}
		})
	}
}

func TestPrefetcherDropsImagesGoneMeanwhile(t *testing.T) {
	t.Parallel()
	cache := newFakeCache()
	f := newCacheFixture(t, cache)
	// Deleted before the prefetcher reads it: dropped from the queue.
	if _, err := cache.Queue(context.Background(), "deleted"); err != nil {
		t.Fatal(err)
	}
	// Deleted while it is copied, after the delete's own cache removal: the
	// fresh copy must not stay.
	cache.beforeFill = func(id string) {
		f.store.mu.Lock()
		delete(f.store.imgs, id)
		f.store.mu.Unlock()
	}
	if err := f.svc.QueueCacheImage(adminCtx(), "img"); err != nil {
		t.Fatal(err)
	}
	if r := cache.waitFill(t); r != "img ok" {
		t.Fatalf("fill = %q", r)
	}
	if err := f.svc.Close(); err != nil {
		t.Fatal(err)
	}
	cached, queued := cache.state()
	if len(cached) != 0 || len(queued) != 0 {
		t.Errorf("after deletes: cached %v, queued %v; want both empty", cached, queued)
	}
}

func TestDownloadFromCache(t *testing.T) {
	t.Parallel()
	cache := newFakeCache()
	f := newCacheFixture(t, cache)
	read := func(ctx context.Context) string {
		t.Helper()
		d, err := f.svc.DownloadData(ctx, "img")
		if err != nil {
			t.Fatalf("download: %v", err)
		}
		defer d.Body.Close()
		b, err := io.ReadAll(d.Body)
		if err != nil || int64(len(b)) != d.Size {
			t.Fatalf("read %d bytes of %d: %v", len(b), d.Size, err)
		}
		return string(b)
	}
	// A miss reads the backend and queues the image; the prefetcher then
	// caches it.
	if got := read(dpCtx()); got != string(f.data) {
		t.Fatalf("download on a miss = %q", got)
	}
	if r := cache.waitFill(t); r != "img ok" {
		t.Fatalf("fill after a miss = %q", r)
	}
	// The cached copy is served (marked, to tell it from the backend's).
	marked := []byte(strings.ToUpper(string(f.data)))
	cache.put("img", marked, md5Of(f.data))
	if got := read(dpCtx()); got != string(marked) {
		t.Errorf("download of a cached image = %q, want the cached copy", got)
	}
	if got := read(adminCtx()); got != string(marked) {
		t.Errorf("second download = %q, want the cached copy", got)
	}
	if e, _ := cache.entry("img"); e.Hits != 2 {
		t.Errorf("hits = %d, want 2", e.Hits)
	}
	// A deactivated image is not served from the cache, and its copy stays.
	if err := f.svc.DeactivateImage(adminCtx(), "img"); err != nil {
		t.Fatal(err)
	}
	if got := read(adminCtx()); got != string(f.data) {
		t.Errorf("admin download of a deactivated image = %q, want the backend's data", got)
	}
	if err := f.svc.ReactivateImage(adminCtx(), "img"); err != nil {
		t.Fatal(err)
	}
	if got := read(dpCtx()); got != string(marked) {
		t.Errorf("download after reactivation = %q, want the kept cached copy", got)
	}
	// A copy that no longer matches the image is dropped, and refilled.
	cache.put("img", marked, md5Of(marked))
	if got := read(dpCtx()); got != string(f.data) {
		t.Errorf("download with a stale copy = %q, want the backend's data", got)
	}
	if r := cache.waitFill(t); r != "img ok" {
		t.Fatalf("refill = %q", r)
	}
	if _, got := cache.entry("img"); !bytes.Equal(got, f.data) {
		t.Errorf("refilled copy = %q", got)
	}
}

func TestDownloadMissOfImageTooLargeToCache(t *testing.T) {
	t.Parallel()
	cache := newFakeCache()
	cache.maxSize = 4
	f := newCacheFixture(t, cache)
	d, err := f.svc.DownloadData(dpCtx(), "img")
	if err != nil {
		t.Fatal(err)
	}
	_ = d.Body.Close()
	if _, queued := cache.state(); len(queued) != 0 {
		t.Errorf("an image larger than image_cache_max_size was queued: %v", queued)
	}
}

func TestImageChangesReachTheCache(t *testing.T) {
	t.Parallel()
	cache := newFakeCache()
	f := newCacheFixture(t, cache, false)
	cache.put("img", f.data, md5Of(f.data))
	if _, err := cache.Queue(context.Background(), "other"); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.DeactivateImage(adminCtx(), "img"); err != nil {
		t.Fatal(err)
	}
	if cached, _ := cache.state(); !slices.Equal(cached, []string{"img"}) {
		t.Errorf("deactivation dropped the cached copy: %v", cached)
	}
	if err := f.svc.DeleteImage(adminCtx(), "img"); err != nil {
		t.Fatal(err)
	}
	if cached, _ := cache.state(); len(cached) != 0 {
		t.Errorf("a deleted image stays cached: %v", cached)
	}
	// An image losing its data (its location removed) loses its copy and its
	// queue place.
	size := int64(3)
	f.store.imgs["other"] = Image{ID: "other", Status: Active, Owner: "p1", Visibility: Public, Size: &size}
	cache.put("other", []byte("abc"), "")
	if err := f.svc.store.UpdateImage(context.Background(), Image{ID: "other", Status: Queued}); err != nil {
		t.Fatal(err)
	}
	if cached, queued := cache.state(); len(cached)+len(queued) != 0 {
		t.Errorf("an image without data stays in the cache: cached %v, queued %v", cached, queued)
	}
}

func TestDeleteCacheEntry(t *testing.T) {
	t.Parallel()
	cache := newFakeCache()
	f := newCacheFixture(t, cache, false)
	cache.put("img", f.data, md5Of(f.data))
	cache.put("gone", []byte("x"), "")
	if _, err := cache.Queue(context.Background(), "gone-queued"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "delete as a member", f.svc.DeleteCacheEntry(dpCtx(), "img"), ErrForbidden,
		"You are not authorized to complete cache_delete action.")
	wantErr(t, "delete unknown", f.svc.DeleteCacheEntry(adminCtx(), "nope"), ErrNotFound, "Image nope not found.")
	for _, id := range []string{"img", "gone", "gone-queued"} {
		if err := f.svc.DeleteCacheEntry(adminCtx(), id); err != nil {
			t.Errorf("delete %s: %v", id, err)
		}
	}
	if cached, queued := cache.state(); len(cached)+len(queued) != 0 {
		t.Errorf("after deletes: cached %v, queued %v", cached, queued)
	}
}

func TestClearCache(t *testing.T) {
	t.Parallel()
	tests := []struct {
		target             string
		wantCache, wantQue int
	}{
		{"", 2, 1},
		{"cache", 2, 0},
		{"CACHE", 2, 0},
		{"queue", 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			t.Parallel()
			cache := newFakeCache()
			f := newCacheFixture(t, cache, false)
			cache.put("img", f.data, md5Of(f.data))
			cache.put("b", []byte("b"), "")
			if _, err := cache.Queue(context.Background(), "q"); err != nil {
				t.Fatal(err)
			}
			res, err := f.svc.ClearCache(adminCtx(), tt.target)
			if err != nil || res.CacheDeleted != tt.wantCache || res.QueueDeleted != tt.wantQue {
				t.Errorf("ClearCache(%q) = %+v, %v", tt.target, res, err)
			}
			cached, queued := cache.state()
			if len(cached) != 2-tt.wantCache || len(queued) != 1-tt.wantQue {
				t.Errorf("left cached %v, queued %v", cached, queued)
			}
		})
	}
	f := newCacheFixture(t, newFakeCache())
	_, err := f.svc.ClearCache(adminCtx(), "both")
	wantErr(t, "ClearCache(both)", err, ErrValidation,
		"If provided 'x-image-cache-clear-target' must be 'cache', 'queue' or empty string.")
	_, err = f.svc.ClearCache(dpCtx(), "invalid")
	wantErr(t, "ClearCache as a member", err, ErrForbidden, "You are not authorized to complete cache_delete action.")
}

func TestSweepAtStart(t *testing.T) {
	t.Parallel()
	cache := newFakeCache()
	data := []byte("the backend's image data")
	cache.put("img", data, md5Of(data))
	cache.put("deleted", []byte("x"), "")
	cache.put("new", []byte("x"), "") // the record says queued: no data
	f := newCacheFixture(t, cache)
	if err := f.svc.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if cached, _ := cache.state(); !slices.Equal(cached, []string{"img"}) {
		t.Errorf("cached after the start sweep = %v, want [img]", cached)
	}
}

func TestPrefetcherKeepsImageDeactivatedMeanwhile(t *testing.T) {
	t.Parallel()
	cache := newFakeCache()
	f := newCacheFixture(t, cache)
	cache.beforeFill = func(id string) {
		f.store.mu.Lock()
		img := f.store.imgs[id]
		img.Status = Deactivated
		f.store.imgs[id] = img
		f.store.mu.Unlock()
	}
	if err := f.svc.QueueCacheImage(adminCtx(), "img"); err != nil {
		t.Fatal(err)
	}
	if r := cache.waitFill(t); r != "img ok" {
		t.Fatalf("fill = %q", r)
	}
	if err := f.svc.Close(); err != nil {
		t.Fatal(err)
	}
	if cached, _ := cache.state(); !slices.Equal(cached, []string{"img"}) {
		t.Errorf("cached after a deactivation during the copy: %v, want [img]", cached)
	}
}

// roStore is a read-only store serving http:// locations from memory.
type roStore struct{ *dpBackend }

func (roStore) ReadOnly() bool               { return true }
func (roStore) Handles(location string) bool { return strings.HasPrefix(location, "http://") }

func TestCacheImageFromLocations(t *testing.T) {
	t.Parallel()
	remote := roStore{newDPBackend("http")}
	data := []byte("data kept by a web server")
	remote.data["http://images.example/cirros"] = data
	size := int64(len(data))
	st := &dpStore{imgs: map[string]Image{"loc": {ID: "loc", Status: Active, Owner: "p1", Visibility: Public,
		Size: &size, Checksum: md5Of(data), Locations: []Location{{URL: "http://images.example/cirros"}}}}}
	cache := newFakeCache()
	svc := New(Config{}, Deps{Store: st, Backend: newDPBackend("file"), OtherStores: []Backend{remote}, Authz: cacheAuthz{}})
	svc.enableCache(cache, 0)
	t.Cleanup(func() { _ = svc.Close() })
	if err := svc.QueueCacheImage(adminCtx(), "loc"); err != nil {
		t.Fatal(err)
	}
	if r := cache.waitFill(t); r != "loc ok" {
		t.Fatalf("fill from a location = %q", r)
	}
	delete(remote.data, "http://images.example/cirros") // only the cache has it now
	d, err := svc.DownloadData(dpCtx(), "loc")
	if err != nil {
		t.Fatalf("download: %v", err)
	}
	defer d.Body.Close()
	if got, _ := io.ReadAll(d.Body); !bytes.Equal(got, data) {
		t.Errorf("download = %q, want the cached copy", got)
	}
}
