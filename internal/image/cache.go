package image

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// Policy rules of the cache API (glance's policies/cache.py).
const (
	RuleCacheImage  = "cache_image"
	RuleCacheList   = "cache_list"
	RuleCacheDelete = "cache_delete"
)

// CacheEntry is one image held in the local image cache.
type CacheEntry struct {
	ImageID string
	// Size is the size of the cached copy, in bytes.
	Size int64
	// Checksum is the md5 (hex) the copy was verified against; "" when the
	// image had none.
	Checksum string
	// Hits counts the downloads served from the copy.
	Hits int64
	// LastAccessed is the time of the last hit (the fill, before any);
	// LastModified the time the copy was installed.
	LastAccessed, LastModified time.Time
}

// Cache is the local image cache of image_cache_dir: verified copies of
// active images' data kept on this host, served to downloads instead of the
// backend, and a queue of images waiting to be copied in. It is safe for
// concurrent use, also by several processes sharing one directory.
type Cache interface {
	// Cached lists the cached images.
	Cached(ctx context.Context) ([]CacheEntry, error)
	// Queued lists the queued image ids, in the order they will be copied.
	Queued(ctx context.Context) ([]string, error)
	// Queue adds id to the queue unless it is queued or cached already, and
	// reports whether it did.
	Queue(ctx context.Context, id string) (bool, error)
	// Dequeue removes id from the queue and reports whether it was there.
	Dequeue(ctx context.Context, id string) (bool, error)
	// DequeueAll empties the queue and returns how many ids it held.
	DequeueAll(ctx context.Context) (int, error)
	// Open opens the cached copy of id and counts a hit; ErrNotFound when
	// id is not cached.
	Open(ctx context.Context, id string) (io.ReadSeekCloser, CacheEntry, error)
	// Fill copies r into the cache as id's data and takes id off the queue.
	// The copy must be size bytes (any size when size < 0) with md5
	// checksum (any when ""); a copy that fails leaves nothing. ErrConflict
	// when another writer is filling id.
	Fill(ctx context.Context, id string, r io.Reader, size int64, checksum string) (CacheEntry, error)
	// Delete removes id's cached copy and reports whether there was one.
	Delete(ctx context.Context, id string) (bool, error)
	// DeleteAll removes every cached copy and returns how many there were.
	DeleteAll(ctx context.Context) (int, error)
	// Prune removes the least recently accessed copies until the cache holds
	// at most MaxSize bytes, and returns how many copies and bytes went.
	Prune(ctx context.Context) (files int, bytes int64, err error)
	// MaxSize is the size the cache is pruned to (image_cache_max_size).
	MaxSize() int64
}

// CacheState is what GET /v2/cache shows.
type CacheState struct {
	Cached []CacheEntry
	Queued []string
}

// ClearResult counts what ClearCache removed.
type ClearResult struct {
	CacheDeleted, QueueDeleted int
}

// prefetchDelay is how long the prefetcher lets a newly queued image wait
// before copying it. Clients of glance's cache API, Tempest among them, check
// that an image they have just queued is listed as queued; glance's worker is
// slow enough for that, and a small image copied within a millisecond would
// not be. The wait also gathers a burst of queue requests into one pass.
const prefetchDelay = time.Second

// localCache is a Service's cache and the prefetcher that fills it.
type localCache struct {
	c Cache
	// delay is the prefetchDelay of this cache.
	delay time.Duration
	// wake asks the prefetcher to look at the queue; it holds one pending
	// signal, which is all the prefetcher needs.
	wake chan struct{}
	// stop and done end and await the prefetcher; nil when none runs.
	stop context.CancelFunc
	done chan struct{}
	once sync.Once
}

// enableCache makes s use c and starts the prefetcher that copies queued
// images into it, delay after it is woken. Close stops it.
func (s *Service) enableCache(c Cache, delay time.Duration) {
	s.attachCache(c)
	s.cache.delay = delay
	ctx, cancel := context.WithCancel(context.Background())
	s.cache.stop, s.cache.done = cancel, make(chan struct{})
	s.cache.wake <- struct{}{} // resume what an earlier run left queued
	go s.prefetch(ctx)
}

// attachCache makes s serve downloads from c and keep c free of deleted
// images' data, without a prefetcher.
func (s *Service) attachCache(c Cache) {
	s.cache = &localCache{c: c, wake: make(chan struct{}, 1)}
	s.store = cacheAwareStore{Store: s.store, svc: s}
}

// stopCache stops the prefetcher and waits for it; a copy in progress is
// abandoned and stays queued for the next start.
func (s *Service) stopCache() {
	if s.cache == nil || s.cache.done == nil {
		return
	}
	s.cache.once.Do(s.cache.stop)
	<-s.cache.done
}

// wakePrefetcher tells the prefetcher the queue has grown.
func (s *Service) wakePrefetcher() {
	select {
	case s.cache.wake <- struct{}{}:
	default:
	}
}

// errCacheOff is glance's answer to the cache API without image_cache_dir.
func errCacheOff() error {
	return errorf(ErrNotFound, "Caching via API is not supported at this site.")
}

// cacheEnabled fails with glance's 404 when no cache is configured.
func (s *Service) cacheEnabled() error {
	if s.cache == nil {
		return errCacheOff()
	}
	return nil
}

// CacheState lists the cached and the queued images (GET /v2/cache, API 2.14).
func (s *Service) CacheState(ctx context.Context) (CacheState, error) {
	if err := s.authorize(ctx, RuleCacheList, map[string]any{}); err != nil {
		return CacheState{}, err
	}
	if err := s.cacheEnabled(); err != nil {
		return CacheState{}, err
	}
	cached, err := s.cache.c.Cached(ctx)
	if err != nil {
		return CacheState{}, fmt.Errorf("list cached images: %w", err)
	}
	queued, err := s.cache.c.Queued(ctx)
	if err != nil {
		return CacheState{}, fmt.Errorf("list queued images: %w", err)
	}
	return CacheState{Cached: cached, Queued: queued}, nil
}

// QueueCacheImage queues image id for caching (PUT /v2/cache/{id}, API
// 2.14); the prefetcher copies it in the background. Like glance, only
// active images are taken, and an image queued or cached already is left as
// it is.
func (s *Service) QueueCacheImage(ctx context.Context, id string) error {
	img, member, err := s.visibleImage(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return errorf(ErrNotFound, "Image %s not found.", id)
	}
	if err != nil {
		return err
	}
	if err := s.authorizeImage(ctx, RuleCacheImage, img, member); err != nil {
		return err
	}
	if err := s.cacheEnabled(); err != nil {
		return err
	}
	if img.Status != Active {
		return errorf(ErrValidation, "Only images with status active can be targeted for queueing")
	}
	added, err := s.cache.c.Queue(ctx, id)
	if err != nil {
		return fmt.Errorf("queue image %s for caching: %w", id, err)
	}
	if added {
		s.log.InfoContext(ctx, "image queued for caching", "image_id", id)
		s.wakePrefetcher()
	}
	return nil
}

// DeleteCacheEntry removes image id from the cache and from the queue
// (DELETE /v2/cache/{id}, API 2.14). An image gone from the records may
// still be removed while the cache holds it.
func (s *Service) DeleteCacheEntry(ctx context.Context, id string) error {
	target := map[string]any{}
	img, member, err := s.visibleImage(ctx, id)
	switch {
	case err == nil:
		target = imageTarget(img, memberIDOf(member))
	case errors.Is(err, ErrNotFound):
		held, herr := s.cacheHolds(ctx, id)
		if herr != nil {
			return herr
		}
		if !held && s.cache != nil {
			return errorf(ErrNotFound, "Image %s not found.", id)
		}
	default:
		return err
	}
	if err := s.authorize(ctx, RuleCacheDelete, target); err != nil {
		return err
	}
	if err := s.cacheEnabled(); err != nil {
		return err
	}
	if _, err := s.cache.c.Delete(ctx, id); err != nil {
		return fmt.Errorf("delete cached image %s: %w", id, err)
	}
	if _, err := s.cache.c.Dequeue(ctx, id); err != nil {
		return fmt.Errorf("dequeue image %s: %w", id, err)
	}
	s.log.InfoContext(ctx, "image removed from the cache", "image_id", id)
	return nil
}

// cacheHolds reports whether id is cached or queued.
func (s *Service) cacheHolds(ctx context.Context, id string) (bool, error) {
	if s.cache == nil {
		return false, nil
	}
	queued, err := s.cache.c.Queued(ctx)
	if err != nil {
		return false, fmt.Errorf("list queued images: %w", err)
	}
	for _, q := range queued {
		if q == id {
			return true, nil
		}
	}
	cached, err := s.cache.c.Cached(ctx)
	if err != nil {
		return false, fmt.Errorf("list cached images: %w", err)
	}
	for _, e := range cached {
		if e.ImageID == id {
			return true, nil
		}
	}
	return false, nil
}

// ClearCache empties the cache, the queue or both (DELETE /v2/cache, API
// 2.14). target is the x-image-cache-clear-target header: "cache", "queue",
// or "" for both, in any case.
func (s *Service) ClearCache(ctx context.Context, target string) (ClearResult, error) {
	if err := s.authorize(ctx, RuleCacheDelete, map[string]any{}); err != nil {
		return ClearResult{}, err
	}
	if err := s.cacheEnabled(); err != nil {
		return ClearResult{}, err
	}
	var cache, queue bool
	switch strings.ToLower(target) {
	case "":
		cache, queue = true, true
	case "cache":
		cache = true
	case "queue":
		queue = true
	default:
		return ClearResult{}, errorf(ErrValidation,
			"If provided 'x-image-cache-clear-target' must be 'cache', 'queue' or empty string.")
	}
	var res ClearResult
	var err error
	if cache {
		if res.CacheDeleted, err = s.cache.c.DeleteAll(ctx); err != nil {
			return res, fmt.Errorf("clear the image cache: %w", err)
		}
	}
	if queue {
		if res.QueueDeleted, err = s.cache.c.DequeueAll(ctx); err != nil {
			return res, fmt.Errorf("clear the image cache queue: %w", err)
		}
	}
	s.log.InfoContext(ctx, "image cache cleared", "cache_deleted", res.CacheDeleted, "queue_deleted", res.QueueDeleted)
	return res, nil
}

// cachedData opens img's cached copy for a download, if there is a valid one.
// Only active images are served from the cache, as glance does: a
// deactivated image's copy stays, unused, until the image is reactivated. A
// copy that no longer matches the image's checksum or size is dropped. A
// miss queues the image, so the next download finds it cached; a cache that
// fails only logs, and the download reads the backend.
func (s *Service) cachedData(ctx context.Context, img Image) (Data, bool) {
	if s.cache == nil || img.Status != Active || !hasData(img) {
		return Data{}, false
	}
	body, e, err := s.cache.c.Open(ctx, img.ID)
	switch {
	case errors.Is(err, ErrNotFound):
		s.queueMiss(ctx, img)
		return Data{}, false
	case err != nil:
		s.log.WarnContext(ctx, "open cached image", "image_id", img.ID, "error", err)
		return Data{}, false
	}
	if e.Checksum != img.Checksum || img.Size != nil && e.Size != *img.Size {
		_ = body.Close()
		s.log.WarnContext(ctx, "cached copy does not match its image; dropping it", "image_id", img.ID)
		if _, err := s.cache.c.Delete(ctx, img.ID); err != nil {
			s.log.WarnContext(ctx, "delete stale cached image", "image_id", img.ID, "error", err)
		}
		s.queueMiss(ctx, img)
		return Data{}, false
	}
	return Data{Image: img, Body: body, Size: e.Size}, true
}

// queueMiss queues an image a download did not find cached, unless it could
// never stay in the cache.
func (s *Service) queueMiss(ctx context.Context, img Image) {
	if img.Size != nil && *img.Size > s.cache.c.MaxSize() {
		return
	}
	added, err := s.cache.c.Queue(ctx, img.ID)
	if err != nil {
		s.log.WarnContext(ctx, "queue downloaded image for caching", "image_id", img.ID, "error", err)
		return
	}
	if added {
		s.wakePrefetcher()
	}
}

// prefetch is the prefetcher: it drops copies of images gone while the
// service was down, then copies queued images into the cache whenever woken,
// until ctx ends.
func (s *Service) prefetch(ctx context.Context) {
	defer close(s.cache.done)
	s.sweepCache(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.cache.wake:
		}
		if s.cache.delay > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(s.cache.delay):
			}
		}
		s.drainQueue(ctx)
	}
}

// drainQueue fills each queued image once, oldest first, re-reading the
// queue between images since other requests and processes change it. An
// image another process is filling is left to it.
func (s *Service) drainQueue(ctx context.Context) {
	tried := map[string]bool{}
	for ctx.Err() == nil {
		queued, err := s.cache.c.Queued(ctx)
		if err != nil {
			s.log.ErrorContext(ctx, "read the image cache queue", "error", err)
			return
		}
		next := ""
		for _, id := range queued {
			if !tried[id] {
				next = id
				break
			}
		}
		if next == "" {
			return
		}
		tried[next] = true
		s.fillCache(ctx, next)
	}
}

// fillCache copies image id from the backend into the cache, verifying its
// size and checksum, then prunes the cache. An image that cannot be cached
// leaves the queue; one interrupted by shutdown stays queued.
func (s *Service) fillCache(ctx context.Context, id string) {
	log := s.log.With("image_id", id)
	drop := func(msg string, args ...any) {
		log.WarnContext(ctx, msg, args...)
		if _, err := s.cache.c.Dequeue(context.WithoutCancel(ctx), id); err != nil {
			log.ErrorContext(ctx, "dequeue image", "error", err)
		}
	}
	img, err := s.store.GetImage(ctx, id)
	switch {
	case errors.Is(err, ErrNotFound):
		drop("image to cache not found; not caching")
		return
	case err != nil:
		drop("read image to cache; not caching", "error", err)
		return
	case img.Status != Active || !hasData(img):
		drop("image is not active; not caching", "status", string(img.Status))
		return
	}
	size := int64(-1)
	if img.Size != nil {
		size = *img.Size
	}
	body, err := s.openData(ctx, img)
	if err != nil {
		drop("open image data to cache; not caching", "error", err)
		return
	}
	start := s.now()
	e, err := s.cache.c.Fill(ctx, id, body, size, img.Checksum)
	_ = body.Close()
	switch {
	case err == nil:
	case ctx.Err() != nil:
		return
	case errors.Is(err, ErrConflict):
		log.InfoContext(ctx, "image is being cached by another process")
		return
	default:
		drop("cache image; not caching", "error", err)
		return
	}
	log.InfoContext(ctx, "image cached", "size", e.Size, "seconds", s.now().Sub(start).Seconds())
	s.recheckCached(ctx, img)
	s.pruneCache(ctx)
}

// recheckCached drops a fresh copy of img when img was deleted or lost its
// data while it was copied: the delete's own cache removal may have run
// before the copy was installed. A deactivation keeps the copy.
func (s *Service) recheckCached(ctx context.Context, img Image) {
	cur, err := s.store.GetImage(ctx, img.ID)
	if err == nil && (cur.Status == Active || cur.Status == Deactivated) && sameData(cur, img) {
		return
	}
	if err != nil && !errors.Is(err, ErrNotFound) {
		s.log.WarnContext(ctx, "re-read cached image", "image_id", img.ID, "error", err)
		return
	}
	if _, err := s.cache.c.Delete(context.WithoutCancel(ctx), img.ID); err != nil {
		s.log.ErrorContext(ctx, "delete cached copy of a changed image", "image_id", img.ID, "error", err)
	}
}

// hasData reports whether img has data to cache: in a store, or at
// locations a read-only store reads.
func hasData(img Image) bool { return img.Location != "" || len(img.Locations) > 0 }

// sameData reports whether a and b name the same data.
func sameData(a, b Image) bool {
	if a.Checksum != b.Checksum || a.Location != b.Location || len(a.Locations) != len(b.Locations) {
		return false
	}
	for i := range a.Locations {
		if a.Locations[i].URL != b.Locations[i].URL {
			return false
		}
	}
	return true
}

// openData opens img's data where a download would read it.
func (s *Service) openData(ctx context.Context, img Image) (io.ReadCloser, error) {
	if img.Location == "" {
		r, _, err := s.locationData(ctx, img)
		return r, err
	}
	r, _, err := s.dataBackend(img).Open(ctx, img.Location)
	return r, err
}

// pruneCache applies image_cache_max_size, as glance's cache pruner does.
func (s *Service) pruneCache(ctx context.Context) {
	files, bytes, err := s.cache.c.Prune(context.WithoutCancel(ctx))
	if err != nil {
		s.log.ErrorContext(ctx, "prune the image cache", "error", err)
		return
	}
	if files > 0 {
		s.log.InfoContext(ctx, "image cache pruned", "files", files, "bytes", bytes)
	}
}

// sweepCache drops cached copies of images deleted, or given other data,
// while this service was not running.
func (s *Service) sweepCache(ctx context.Context) {
	cached, err := s.cache.c.Cached(ctx)
	if err != nil {
		s.log.ErrorContext(ctx, "list cached images", "error", err)
		return
	}
	for _, e := range cached {
		img, err := s.store.GetImage(ctx, e.ImageID)
		switch {
		case errors.Is(err, ErrNotFound):
		case err != nil:
			s.log.WarnContext(ctx, "read cached image", "image_id", e.ImageID, "error", err)
			continue
		case img.Checksum == e.Checksum && hasData(img) && (img.Status == Active || img.Status == Deactivated):
			continue
		}
		if _, err := s.cache.c.Delete(ctx, e.ImageID); err != nil {
			s.log.ErrorContext(ctx, "delete stale cached image", "image_id", e.ImageID, "error", err)
		}
	}
}

// cacheAwareStore keeps the cache in step with the records: whatever deletes
// an image, or takes its data away, also removes its cached copy and its
// place in the queue.
type cacheAwareStore struct {
	Store
	svc *Service
}

// DeleteImage deletes the record, then the cached copy.
func (st cacheAwareStore) DeleteImage(ctx context.Context, id string) error {
	if err := st.Store.DeleteImage(ctx, id); err != nil {
		return err
	}
	st.forget(ctx, id)
	return nil
}

// UpdateImage writes the record, then forgets the cached copy of an image
// left without data.
func (st cacheAwareStore) UpdateImage(ctx context.Context, img Image, from ...Status) error {
	if err := st.Store.UpdateImage(ctx, img, from...); err != nil {
		return err
	}
	if !hasData(img) || img.Status != Active && img.Status != Deactivated {
		st.forget(ctx, img.ID)
	}
	return nil
}

// forget removes id from the cache and the queue; the record is already
// written, so failures are only logged.
func (st cacheAwareStore) forget(ctx context.Context, id string) {
	ctx = context.WithoutCancel(ctx)
	c := st.svc.cache.c
	deleted, err := c.Delete(ctx, id)
	if err != nil {
		st.svc.log.ErrorContext(ctx, "delete cached image", "image_id", id, "error", err)
	}
	if _, err := c.Dequeue(ctx, id); err != nil {
		st.svc.log.ErrorContext(ctx, "dequeue image", "image_id", id, "error", err)
	}
	if deleted {
		st.svc.log.InfoContext(ctx, "cached copy removed", "image_id", id)
	}
}
