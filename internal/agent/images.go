package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sync"
)

// ImageFetcher downloads image data from the image service.
type ImageFetcher interface {
	// Download streams an image's data; a missing image is an error
	// matching ErrImageNotFound.
	Download(ctx context.Context, imageID string) (io.ReadCloser, error)
}

// ErrImageNotFound is an image the image service does not have (any
// more): no other host could build from it either.
var ErrImageNotFound = errors.New("image not found")

// imageCache keeps the images instances boot from in one directory, one
// file per image id, as nova's instances/_base: each is downloaded once,
// however many builds ask for it at once.
type imageCache struct {
	dir   string
	fetch ImageFetcher

	mu       sync.Mutex
	inflight map[string]*download
}

type download struct {
	done chan struct{}
	path string
	err  error
}

func newImageCache(dir string, fetch ImageFetcher) *imageCache {
	return &imageCache{dir: dir, fetch: fetch, inflight: map[string]*download{}}
}

// imageIDPattern is what an image id may look like, so that an id never
// names a path outside the cache.
var imageIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$`)

// Path returns the local file of an image, downloading it first if needed.
func (c *imageCache) Path(ctx context.Context, id string) (string, error) {
	if !imageIDPattern.MatchString(id) {
		return "", fmt.Errorf("%w: %q is not an image id", ErrImageNotFound, id)
	}
	path := filepath.Join(c.dir, id)
	if st, err := os.Stat(path); err == nil && st.Mode().IsRegular() {
		return path, nil
	}
	c.mu.Lock()
	d, ok := c.inflight[id]
	if !ok {
		d = &download{done: make(chan struct{})}
		c.inflight[id] = d
		go func() {
			// Detached from the first caller: others may be waiting.
			d.path, d.err = c.download(context.WithoutCancel(ctx), id, path)
			c.mu.Lock()
			delete(c.inflight, id)
			c.mu.Unlock()
			close(d.done)
		}()
	}
	c.mu.Unlock()
	select {
	case <-d.done:
		return d.path, d.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// download writes an image to a temporary file and renames it into place,
// so a file in the cache is always complete.
func (c *imageCache) download(ctx context.Context, id, path string) (string, error) {
	if c.fetch == nil {
		return "", fmt.Errorf("download image %s: no image service configured", id)
	}
	if err := os.MkdirAll(c.dir, 0o700); err != nil {
		return "", fmt.Errorf("create image cache: %w", err)
	}
	rc, err := c.fetch.Download(ctx, id)
	if err != nil {
		return "", fmt.Errorf("download image %s: %w", id, err)
	}
	defer rc.Close()
	tmp, err := os.CreateTemp(c.dir, id+".part-*")
	if err != nil {
		return "", fmt.Errorf("download image %s: %w", id, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, rc); err != nil {
		tmp.Close()
		return "", fmt.Errorf("download image %s: %w", id, err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("download image %s: %w", id, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "", fmt.Errorf("download image %s: %w", id, err)
	}
	return path, nil
}
