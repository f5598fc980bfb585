// Package imagecache is the local image cache glance keeps on an API host
// (image_cache_dir): verified copies of images' data, served to downloads
// instead of the backend, and the queue of images waiting to be copied in.
//
// Several processes on one host may share a directory. Its layout:
//
//	index.json        every cached entry and the queue, replaced whole by a
//	                  rename, so a reader never sees half of it
//	lock              flock'd by whoever changes the index
//	data/<id>         a cached copy, complete and verified
//	stats/<id>        the copy's hit count and last access, rewritten in
//	                  place under its own flock, so a download costs no
//	                  index rewrite
//	incomplete/<id>   a copy being written, flock'd by its writer so that
//	                  two processes never fill one image at once
//
// A copy is written to incomplete/, synced, and renamed into data/ together
// with its index entry, so an entry always names a complete file; a copy
// that fails verification, or a writer that dies, leaves nothing in data/.
package imagecache

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/image"
)

const (
	indexName     = "index.json"
	indexTempName = ".index.json.tmp"
	lockName      = "lock"
	dataDir       = "data"
	statsDir      = "stats"
	incompleteDir = "incomplete"
	// bufSize is the copy chunk of fills.
	bufSize = 1 << 20
	// staleAfter is the age past which an unlocked incomplete copy is
	// abandoned: its writer died.
	staleAfter = 5 * time.Minute
	// maxIDLen bounds image ids used as file names.
	maxIDLen = 255
)

// Options tune a Cache.
type Options struct {
	// MaxSize is image_cache_max_size: Prune removes copies beyond it.
	MaxSize int64
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Log receives what the cache repairs; discarded when nil.
	Log *slog.Logger
}

// Cache is an image cache directory. It is safe for concurrent use, also by
// several processes sharing the directory.
type Cache struct {
	dir     string
	maxSize int64
	now     func() time.Time
	log     *slog.Logger
	// mu serializes this process's index writers, so they queue on a mutex
	// rather than each blocking a thread in flock.
	mu   sync.Mutex
	bufs sync.Pool // *[]byte of bufSize
}

var _ image.Cache = (*Cache)(nil)

// index is the content of index.json.
type index struct {
	Cached map[string]record `json:"cached"`
	Queued []queued          `json:"queued"`
}

// record is one cached copy; its hits and last access are in its stats file.
type record struct {
	Size         int64     `json:"size"`
	Checksum     string    `json:"checksum"`
	LastModified time.Time `json:"last_modified"`
}

// queued is one queue place.
type queued struct {
	ImageID  string    `json:"image_id"`
	QueuedAt time.Time `json:"queued_at"`
}

// New opens the cache in dir, creating it with mode 0700 when missing. It
// repairs what a crash may have left: entries whose file is missing or of the
// wrong size, files without an entry, and abandoned incomplete copies.
func New(dir string, o Options) (*Cache, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("resolve image cache directory %s: %w", dir, err)
	}
	for _, d := range []string{abs, filepath.Join(abs, dataDir), filepath.Join(abs, statsDir), filepath.Join(abs, incompleteDir)} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("create image cache directory: %w", err)
		}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	c := &Cache{dir: abs, maxSize: o.MaxSize, now: o.Now, log: o.Log}
	c.bufs.New = func() any { b := make([]byte, bufSize); return &b }
	if err := c.repair(); err != nil {
		return nil, err
	}
	return c, nil
}

// Dir returns the absolute directory of the cache.
func (c *Cache) Dir() string { return c.dir }

// MaxSize returns the size Prune keeps the cache to.
func (c *Cache) MaxSize() int64 { return c.maxSize }

// validID refuses ids that could not be a plain file name in the cache.
func validID(id string) error {
	if id == "" || len(id) > maxIDLen || id[0] == '.' {
		return fmt.Errorf("invalid image id %q: %w", id, image.ErrValidation)
	}
	for _, r := range id {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.'
		if !ok {
			return fmt.Errorf("invalid image id %q: %w", id, image.ErrValidation)
		}
	}
	return nil
}

func (c *Cache) dataPath(id string) string       { return filepath.Join(c.dir, dataDir, id) }
func (c *Cache) incompletePath(id string) string { return filepath.Join(c.dir, incompleteDir, id) }
func (c *Cache) statsPath(id string) string      { return filepath.Join(c.dir, statsDir, id) }

// load reads the index; a missing one is empty. An unreadable one is empty
// too, logged: New's repair then drops the files it named, which is safer
// than trusting them.
func (c *Cache) load() (*index, error) {
	ix := &index{Cached: map[string]record{}}
	raw, err := os.ReadFile(filepath.Join(c.dir, indexName))
	if errors.Is(err, fs.ErrNotExist) {
		return ix, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read image cache index: %w", err)
	}
	if err := json.Unmarshal(raw, ix); err != nil {
		c.log.Warn("image cache index is unreadable; starting it afresh", "error", err)
		return &index{Cached: map[string]record{}}, nil
	}
	if ix.Cached == nil {
		ix.Cached = map[string]record{}
	}
	return ix, nil
}

// save replaces the index. durable syncs it and the directory, for changes
// that must survive a crash (entries, the queue); hit counts need not.
func (c *Cache) save(ix *index, durable bool) error {
	raw, err := json.Marshal(ix)
	if err != nil {
		return fmt.Errorf("encode image cache index: %w", err)
	}
	tmp := filepath.Join(c.dir, indexTempName)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("write image cache index: %w", err)
	}
	_, err = f.Write(raw)
	if err == nil && durable {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(c.dir, indexName))
	}
	if err == nil && durable {
		err = syncDir(c.dir)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write image cache index: %w", err)
	}
	return nil
}

// update runs fn on the index under both locks and saves it when fn reports
// a change.
func (c *Cache) update(durable bool, fn func(ix *index) (changed bool, err error)) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	unlock, err := lockPath(filepath.Join(c.dir, lockName))
	if err != nil {
		return fmt.Errorf("lock image cache: %w", err)
	}
	defer unlock()
	ix, err := c.load()
	if err != nil {
		return err
	}
	changed, err := fn(ix)
	if err != nil || !changed {
		return err
	}
	return c.save(ix, durable)
}

// snapshot reads the index without locking: renames make every read whole.
func (c *Cache) snapshot(ctx context.Context) (*index, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return c.load()
}

func entryOf(id string, r record, st stats) image.CacheEntry {
	return image.CacheEntry{ImageID: id, Size: r.Size, Checksum: r.Checksum, Hits: st.hits,
		LastAccessed: st.lastAccessed, LastModified: r.LastModified}
}

// Cached lists the cached images, oldest copy first.
func (c *Cache) Cached(ctx context.Context) ([]image.CacheEntry, error) {
	ix, err := c.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]image.CacheEntry, 0, len(ix.Cached))
	for id, r := range ix.Cached {
		out = append(out, entryOf(id, r, c.readStats(id, r)))
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].LastModified.Equal(out[j].LastModified) {
			return out[i].LastModified.Before(out[j].LastModified)
		}
		return out[i].ImageID < out[j].ImageID
	})
	return out, nil
}

// Queued lists the queued image ids, first queued first.
func (c *Cache) Queued(ctx context.Context) ([]string, error) {
	ix, err := c.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(ix.Queued))
	for _, q := range ix.Queued {
		out = append(out, q.ImageID)
	}
	return out, nil
}

// Size returns the bytes the cached copies hold.
func (c *Cache) Size(ctx context.Context) (int64, error) {
	ix, err := c.snapshot(ctx)
	if err != nil {
		return 0, err
	}
	var total int64
	for _, r := range ix.Cached {
		total += r.Size
	}
	return total, nil
}

// Queue appends id to the queue unless it is queued or cached already.
func (c *Cache) Queue(ctx context.Context, id string) (bool, error) {
	if err := validID(id); err != nil {
		return false, err
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}
	added := false
	err := c.update(true, func(ix *index) (bool, error) {
		if _, ok := ix.Cached[id]; ok || slices.ContainsFunc(ix.Queued, func(q queued) bool { return q.ImageID == id }) {
			return false, nil
		}
		ix.Queued = append(ix.Queued, queued{ImageID: id, QueuedAt: c.now().UTC()})
		added = true
		return true, nil
	})
	return added, err
}

// dequeue removes id from ix's queue and reports whether it was there.
func dequeue(ix *index, id string) bool {
	n := len(ix.Queued)
	ix.Queued = slices.DeleteFunc(ix.Queued, func(q queued) bool { return q.ImageID == id })
	return len(ix.Queued) != n
}

// Dequeue removes id from the queue.
func (c *Cache) Dequeue(ctx context.Context, id string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	removed := false
	err := c.update(true, func(ix *index) (bool, error) {
		removed = dequeue(ix, id)
		return removed, nil
	})
	return removed, err
}

// DequeueAll empties the queue.
func (c *Cache) DequeueAll(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	n := 0
	err := c.update(true, func(ix *index) (bool, error) {
		n = len(ix.Queued)
		ix.Queued = nil
		return n > 0, nil
	})
	return n, err
}

// Open opens id's cached copy and counts a hit. The file is returned as it
// is, so downloads keep their sendfile path. A copy whose file has gone or
// changed size is dropped and reported as not cached.
func (c *Cache) Open(ctx context.Context, id string) (io.ReadSeekCloser, image.CacheEntry, error) {
	notCached := fmt.Errorf("image %s is not cached: %w", id, image.ErrNotFound)
	if err := validID(id); err != nil {
		return nil, image.CacheEntry{}, notCached
	}
	ix, err := c.snapshot(ctx)
	if err != nil {
		return nil, image.CacheEntry{}, err
	}
	r, ok := ix.Cached[id]
	if !ok {
		return nil, image.CacheEntry{}, notCached
	}
	f, err := openSized(c.dataPath(id), r.Size)
	if err != nil {
		c.dropDamaged(id, r, err)
		return nil, image.CacheEntry{}, notCached
	}
	st, err := c.hit(id)
	if err != nil {
		// A lost hit must not cost the download its copy.
		c.log.Warn("count a cache hit", "image_id", id, "error", err)
		st = c.readStats(id, r)
	}
	return f, entryOf(id, r, st), nil
}

// dropDamaged removes id's copy, found damaged by cause, unless it was
// replaced meanwhile.
func (c *Cache) dropDamaged(id string, seen record, cause error) {
	err := c.update(true, func(ix *index) (bool, error) {
		r, ok := ix.Cached[id]
		if !ok || r != seen {
			return false, nil
		}
		if f, err := openSized(c.dataPath(id), r.Size); err == nil {
			_ = f.Close()
			return false, nil
		}
		c.log.Warn("cached image file is missing or damaged; dropping it", "image_id", id, "error", cause)
		delete(ix.Cached, id)
		return true, c.removeCopy(id)
	})
	if err != nil {
		c.log.Error("drop a damaged cached image", "image_id", id, "error", err)
	}
}

// openSized opens path for reading when it is a regular file of size bytes.
func openSized(path string, size int64) (*os.File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	switch {
	case err != nil:
	case !fi.Mode().IsRegular():
		err = errors.New("not a regular file")
	case fi.Size() != size:
		err = fmt.Errorf("size %d, recorded %d", fi.Size(), size)
	}
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	return f, nil
}

// Delete removes id's cached copy.
func (c *Cache) Delete(ctx context.Context, id string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	deleted := false
	err := c.update(true, func(ix *index) (bool, error) {
		if _, ok := ix.Cached[id]; !ok {
			return false, nil
		}
		if err := c.removeCopy(id); err != nil {
			return false, err
		}
		delete(ix.Cached, id)
		deleted = true
		return true, nil
	})
	return deleted, err
}

// DeleteAll removes every cached copy.
func (c *Cache) DeleteAll(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	n := 0
	err := c.update(true, func(ix *index) (bool, error) {
		for id := range ix.Cached {
			if err := c.removeCopy(id); err != nil {
				return n > 0, err
			}
			delete(ix.Cached, id)
			n++
		}
		return n > 0, nil
	})
	return n, err
}

// removeCopy removes id's data and stats files.
func (c *Cache) removeCopy(id string) error {
	if err := removeFile(c.dataPath(id)); err != nil {
		return err
	}
	return removeFile(c.statsPath(id))
}

// removeFile removes path; a file already gone is not an error.
func removeFile(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove cached image: %w", err)
	}
	return nil
}

// Prune removes the least recently accessed copies until the cache holds at
// most MaxSize bytes: glance's cache pruner.
func (c *Cache) Prune(ctx context.Context) (int, int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, 0, err
	}
	var (
		files int
		freed int64
	)
	err := c.update(true, func(ix *index) (bool, error) {
		var total int64
		ids := make([]string, 0, len(ix.Cached))
		for id, r := range ix.Cached {
			total += r.Size
			ids = append(ids, id)
		}
		if total <= c.maxSize {
			return false, nil
		}
		accessed := make(map[string]time.Time, len(ids))
		for _, id := range ids {
			accessed[id] = c.readStats(id, ix.Cached[id]).lastAccessed
		}
		sort.Slice(ids, func(i, j int) bool {
			a, b := accessed[ids[i]], accessed[ids[j]]
			if !a.Equal(b) {
				return a.Before(b)
			}
			return ids[i] < ids[j]
		})
		for _, id := range ids {
			if total <= c.maxSize {
				break
			}
			size := ix.Cached[id].Size
			if err := c.removeCopy(id); err != nil {
				return files > 0, err
			}
			delete(ix.Cached, id)
			total -= size
			files++
			freed += size
		}
		return files > 0, nil
	})
	return files, freed, err
}

// errBusy is a fill of an image another writer is filling.
var errBusy = fmt.Errorf("image is being cached by another writer: %w", image.ErrConflict)

// Fill copies r into the cache as id's copy, checking that it is size bytes
// (any when size < 0) with md5 checksum (any when ""), then installs it
// and takes id off the queue. A failed fill leaves no file behind.
func (c *Cache) Fill(ctx context.Context, id string, r io.Reader, size int64, checksum string) (image.CacheEntry, error) {
	if err := validID(id); err != nil {
		return image.CacheEntry{}, err
	}
	path := c.incompletePath(id)
	// O_TRUNC would clobber a live writer's copy before the lock says so.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return image.CacheEntry{}, fmt.Errorf("cache image %s: %w", id, err)
	}
	defer f.Close() // releases the flock, after the rename or removal
	locked, err := tryLock(f)
	if err != nil {
		return image.CacheEntry{}, fmt.Errorf("cache image %s: lock: %w", id, err)
	}
	if !locked {
		return image.CacheEntry{}, fmt.Errorf("cache image %s: %w", id, errBusy)
	}
	if e, ok, err := c.alreadyCached(ctx, id, size, checksum); err != nil || ok {
		_ = os.Remove(path)
		return e, err
	}
	e, err := c.fill(ctx, id, f, r, size, checksum)
	if err != nil {
		_ = os.Remove(path)
		return image.CacheEntry{}, fmt.Errorf("cache image %s: %w", id, err)
	}
	return e, nil
}

// alreadyCached reports whether id holds a copy of this data already (a
// writer that finished just before this one took the lock), taking id off
// the queue if so.
func (c *Cache) alreadyCached(ctx context.Context, id string, size int64, checksum string) (image.CacheEntry, bool, error) {
	ix, err := c.snapshot(ctx)
	if err != nil {
		return image.CacheEntry{}, false, err
	}
	r, ok := ix.Cached[id]
	if !ok || checksum == "" || r.Checksum != checksum || size >= 0 && r.Size != size {
		return image.CacheEntry{}, false, nil
	}
	if _, err := c.Dequeue(ctx, id); err != nil {
		return image.CacheEntry{}, false, err
	}
	return entryOf(id, r, c.readStats(id, r)), true, nil
}

// fill writes r to f, verifies it, and installs f as id's copy.
func (c *Cache) fill(ctx context.Context, id string, f *os.File, r io.Reader, size int64, checksum string) (image.CacheEntry, error) {
	if err := f.Truncate(0); err != nil {
		return image.CacheEntry{}, err
	}
	sum := md5.New()
	bp := c.bufs.Get().(*[]byte)
	n, err := io.CopyBuffer(io.MultiWriter(f, sum), ctxReader{ctx, r}, *bp)
	c.bufs.Put(bp)
	if err != nil {
		return image.CacheEntry{}, fmt.Errorf("copy after %d bytes: %w", n, err)
	}
	if size >= 0 && n != size {
		return image.CacheEntry{}, fmt.Errorf("data is %d bytes, the image %d", n, size)
	}
	got := hex.EncodeToString(sum.Sum(nil))
	if checksum != "" && got != checksum {
		return image.CacheEntry{}, fmt.Errorf("checksum verification failed: data md5 %s, the image %s", got, checksum)
	}
	if err := f.Sync(); err != nil {
		return image.CacheEntry{}, fmt.Errorf("sync: %w", err)
	}
	now := c.now().UTC()
	rec := record{Size: n, Checksum: checksum, LastModified: now}
	st := stats{lastAccessed: now}
	err = c.update(true, func(ix *index) (bool, error) {
		if err := c.writeStats(id, st); err != nil {
			return false, err
		}
		if err := os.Rename(c.incompletePath(id), c.dataPath(id)); err != nil {
			return false, fmt.Errorf("install: %w", err)
		}
		ix.Cached[id] = rec
		dequeue(ix, id)
		return true, nil
	})
	if err != nil {
		return image.CacheEntry{}, err
	}
	return entryOf(id, rec, st), nil
}

// ctxReader stops a copy when its context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (r ctxReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}

// repair brings the index and the files back into agreement.
func (c *Cache) repair() error {
	c.reapIncomplete()
	return c.update(true, func(ix *index) (bool, error) {
		changed := false
		for id, r := range ix.Cached {
			fi, err := os.Stat(c.dataPath(id))
			if err == nil && fi.Mode().IsRegular() && fi.Size() == r.Size {
				continue
			}
			c.log.Warn("cached image file is missing or damaged; dropping it", "image_id", id)
			_ = c.removeCopy(id)
			delete(ix.Cached, id)
			changed = true
		}
		for _, sub := range []string{dataDir, statsDir} {
			des, err := os.ReadDir(filepath.Join(c.dir, sub))
			if err != nil {
				return changed, fmt.Errorf("read image cache directory: %w", err)
			}
			for _, de := range des {
				if _, ok := ix.Cached[de.Name()]; ok {
					continue
				}
				c.log.Warn("removing a cache file without an index entry", "file", filepath.Join(sub, de.Name()))
				if err := os.RemoveAll(filepath.Join(c.dir, sub, de.Name())); err != nil {
					return changed, fmt.Errorf("remove orphan cache file: %w", err)
				}
			}
		}
		return changed, nil
	})
}

// reapIncomplete removes incomplete copies no writer holds any more.
func (c *Cache) reapIncomplete() {
	dir := filepath.Join(c.dir, incompleteDir)
	des, err := os.ReadDir(dir)
	if err != nil {
		c.log.Warn("read incomplete cached images", "error", err)
		return
	}
	for _, de := range des {
		path := filepath.Join(dir, de.Name())
		fi, err := de.Info()
		if err != nil || c.now().Sub(fi.ModTime()) < staleAfter {
			continue
		}
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			continue
		}
		if locked, err := tryLock(f); err == nil && locked {
			c.log.Info("removing an abandoned incomplete cached image", "file", de.Name())
			_ = os.Remove(path)
		}
		_ = f.Close()
	}
}
