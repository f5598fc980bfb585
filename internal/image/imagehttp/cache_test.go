package imagehttp_test

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/cloudtest"
)

// cachedImage is an entry of cached_images.
type cachedImage struct {
	ImageID      string  `json:"image_id"`
	Hits         int64   `json:"hits"`
	LastAccessed float64 `json:"last_accessed"`
	LastModified float64 `json:"last_modified"`
	Size         int64   `json:"size"`
}

// cacheState is the body of GET /v2/cache.
type cacheState struct {
	CachedImages []cachedImage `json:"cached_images"`
	QueuedImages []string      `json:"queued_images"`
}

func (s cacheState) entry(id string) (cachedImage, bool) {
	for _, e := range s.CachedImages {
		if e.ImageID == id {
			return e, true
		}
	}
	return cachedImage{}, false
}

func (s cacheState) queued(id string) bool {
	for _, q := range s.QueuedImages {
		if q == id {
			return true
		}
	}
	return false
}

// startCacheCloud starts a cloud whose image cache is in dir.
func startCacheCloud(t *testing.T, dir string, opts ...cloudtest.Option) *dataCloud {
	t.Helper()
	return startDataCloud(t, append([]cloudtest.Option{cloudtest.WithOption("image.image_cache_dir", dir)}, opts...)...)
}

// cacheState reads GET /v2/cache as the admin.
func (c *dataCloud) cacheState(t *testing.T) cacheState {
	t.Helper()
	resp := c.Do(t, "GET", c.ImageURL+"/v2/cache", c.tok, nil)
	if resp.Status != http.StatusOK {
		t.Fatalf("GET /v2/cache: %d %s", resp.Status, resp.Body)
	}
	var st cacheState
	if err := json.Unmarshal(resp.Body, &st); err != nil {
		t.Fatalf("GET /v2/cache body %s: %v", resp.Body, err)
	}
	return st
}

// activeImage creates a raw image holding data and returns its id.
func (c *dataCloud) activeImage(t *testing.T, data []byte) string {
	t.Helper()
	id := c.create(t, "raw")
	if status, body := c.send(t, "PUT", id, "file", bytes.NewReader(data)); status != http.StatusNoContent {
		t.Fatalf("upload: %d %s", status, body)
	}
	return id
}

// queueCache asks for image id to be cached and waits until it is.
func (c *dataCloud) queueCache(t *testing.T, id string) cachedImage {
	t.Helper()
	if resp := c.Do(t, "PUT", c.ImageURL+"/v2/cache/"+id, c.tok, nil); resp.Status != http.StatusAccepted {
		t.Fatalf("PUT /v2/cache/%s: %d %s", id, resp.Status, resp.Body)
	}
	return c.waitCached(t, id)
}

// waitCached waits until image id is listed as cached.
func (c *dataCloud) waitCached(t *testing.T, id string) cachedImage {
	t.Helper()
	var e cachedImage
	cloudtest.Eventually(t, 20*time.Second, func() bool {
		var ok bool
		e, ok = c.cacheState(t).entry(id)
		return ok
	}, "image "+id+" cached")
	return e
}

// download reads image id's data with optional headers.
func (c *dataCloud) download(t *testing.T, id string, headers ...string) *cloudtest.Response {
	t.Helper()
	return c.Do(t, "GET", c.ImageURL+"/v2/images/"+id+"/file", c.tok, nil, headers...)
}

// wantError checks a response's status and glance's error message.
func wantError(t *testing.T, what string, resp *cloudtest.Response, status int, message string) {
	t.Helper()
	if resp.Status != status {
		t.Errorf("%s: %d %s, want %d", what, resp.Status, resp.Body, status)
		return
	}
	if got := resp.JSON(t)["message"]; got != message {
		t.Errorf("%s: message %q, want %q", what, got, message)
	}
}

func TestImageCacheCycle(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c := startCacheCloud(t, dir)
	memberCreds, _ := newUser(t, c.Cloud, c.tok, "cacheuser")
	member := c.Token(t, memberCreds)
	cacheURL := c.ImageURL + "/v2/cache"

	wantError(t, "member lists the cache", c.Do(t, "GET", cacheURL, member, nil), http.StatusForbidden,
		"You are not authorized to complete cache_list action.")
	resp := c.Do(t, "GET", cacheURL, c.tok, nil)
	if resp.Status != http.StatusOK || string(bytes.TrimSpace(resp.Body)) != `{"cached_images":[],"queued_images":[]}` {
		t.Errorf("empty cache: %d %s", resp.Status, resp.Body)
	}
	wantError(t, "queue an unknown image", c.Do(t, "PUT", cacheURL+"/non-existing-image-id", c.tok, nil),
		http.StatusNotFound, "Image non-existing-image-id not found.")
	queued := c.create(t, "raw")
	wantError(t, "queue a queued image", c.Do(t, "PUT", cacheURL+"/"+queued, c.tok, nil),
		http.StatusBadRequest, "Only images with status active can be targeted for queueing")

	data := pattern(1<<20 + 3)
	sum := md5.Sum(data)
	id := c.activeImage(t, data)
	wantError(t, "member queues", c.Do(t, "PUT", cacheURL+"/"+id, member, nil), http.StatusNotFound,
		"Image "+id+" not found.") // a private image of another project stays hidden
	before := float64(time.Now().Add(-time.Second).UnixNano()) / 1e9
	e := c.queueCache(t, id)
	if e.Size != int64(len(data)) || e.Hits != 0 || e.LastModified < before || e.LastAccessed != e.LastModified {
		t.Errorf("cached entry %+v; want size %d, no hits, modified after %f", e, len(data), before)
	}
	if st := c.cacheState(t); st.queued(id) {
		t.Errorf("a cached image stays queued: %+v", st)
	}
	if got, err := os.ReadFile(filepath.Join(dir, "data", id)); err != nil || !bytes.Equal(got, data) {
		t.Errorf("cached file: %d bytes, %v", len(got), err)
	}

	// With the backend's copy gone, only the cache can answer.
	if err := os.Remove(filepath.Join(c.Config.ImageDataDir(), id)); err != nil {
		t.Fatal(err)
	}
	dl := c.download(t, id)
	if dl.Status != http.StatusOK || !bytes.Equal(dl.Body, data) {
		t.Fatalf("download from the cache: %d, %d bytes", dl.Status, len(dl.Body))
	}
	if dl.Header.Get("Content-MD5") != hex.EncodeToString(sum[:]) ||
		dl.Header.Get("Content-Length") != strconv.Itoa(len(data)) {
		t.Errorf("download headers %v", dl.Header)
	}
	rg := c.download(t, id, "Range", "bytes=100-199")
	if rg.Status != http.StatusPartialContent || !bytes.Equal(rg.Body, data[100:200]) ||
		rg.Header.Get("Content-Range") != "bytes 100-199/"+strconv.Itoa(len(data)) {
		t.Errorf("range from the cache: %d %q, %d bytes", rg.Status, rg.Header.Get("Content-Range"), len(rg.Body))
	}
	after, _ := c.cacheState(t).entry(id)
	if after.Hits != 2 || after.LastAccessed <= e.LastAccessed || after.LastModified != e.LastModified {
		t.Errorf("after two downloads: %+v; want 2 hits, a later access, the same modification", after)
	}

	// The image is hidden from the member, but the cache holds it: glance
	// then asks the policy, which refuses.
	wantError(t, "member deletes", c.Do(t, "DELETE", cacheURL+"/"+id, member, nil), http.StatusForbidden,
		"You are not authorized to complete cache_delete action.")
	if resp := c.Do(t, "DELETE", cacheURL+"/"+id, c.tok, nil); resp.Status != http.StatusNoContent {
		t.Errorf("DELETE /v2/cache/%s: %d %s", id, resp.Status, resp.Body)
	}
	if st := c.cacheState(t); len(st.CachedImages) != 0 {
		t.Errorf("after DELETE: %+v", st)
	}
	if _, err := os.Stat(filepath.Join(dir, "data", id)); !os.IsNotExist(err) {
		t.Errorf("cached file after DELETE: %v", err)
	}
	wantError(t, "delete an unknown image", c.Do(t, "DELETE", cacheURL+"/no-such-image", c.tok, nil),
		http.StatusNotFound, "Image no-such-image not found.")

	other := c.activeImage(t, pattern(5000))
	c.queueCache(t, other)
	wantError(t, "clear with a bad target", c.Do(t, "DELETE", cacheURL, c.tok, nil, "X-Image-Cache-Clear-Target", "both"),
		http.StatusBadRequest, "If provided 'x-image-cache-clear-target' must be 'cache', 'queue' or empty string.")
	wantError(t, "member clears", c.Do(t, "DELETE", cacheURL, member, nil), http.StatusForbidden,
		"You are not authorized to complete cache_delete action.")
	if resp := c.Do(t, "DELETE", cacheURL, c.tok, nil, "X-Image-Cache-Clear-Target", "queue"); resp.Status != http.StatusNoContent {
		t.Errorf("clear the queue: %d %s", resp.Status, resp.Body)
	}
	if st := c.cacheState(t); len(st.CachedImages) != 1 {
		t.Errorf("clearing the queue emptied the cache: %+v", st)
	}
	if resp := c.Do(t, "DELETE", cacheURL, c.tok, nil); resp.Status != http.StatusNoContent || len(resp.Body) != 0 {
		t.Errorf("clear: %d %s", resp.Status, resp.Body)
	}
	if st := c.cacheState(t); len(st.CachedImages)+len(st.QueuedImages) != 0 {
		t.Errorf("after clearing: %+v", st)
	}
	wantError(t, "list with a body", c.Do(t, "GET", cacheURL, c.tok, map[string]any{}), http.StatusBadRequest,
		"A body is not expected with this request.")
	if resp := c.Do(t, "POST", cacheURL, c.tok, nil); resp.Status != http.StatusMethodNotAllowed {
		t.Errorf("POST /v2/cache: %d, want 405", resp.Status)
	}
}

func TestImageCacheFollowsImages(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c := startCacheCloud(t, dir)
	data := pattern(70000)
	id := c.activeImage(t, data)

	// A download that misses queues the image, so the next one hits.
	if dl := c.download(t, id); dl.Status != http.StatusOK || !bytes.Equal(dl.Body, data) {
		t.Fatalf("download: %d", dl.Status)
	}
	e := c.waitCached(t, id)
	if e.Hits != 0 || e.Size != int64(len(data)) {
		t.Errorf("cached after a download: %+v", e)
	}

	// A deactivated image keeps its copy but is not served from it.
	for _, action := range []string{"deactivate", "reactivate"} {
		if resp := c.Do(t, "POST", c.ImageURL+"/v2/images/"+id+"/actions/"+action, c.tok, nil); resp.Status != http.StatusNoContent {
			t.Fatalf("%s: %d %s", action, resp.Status, resp.Body)
		}
		if dl := c.download(t, id); dl.Status != http.StatusOK || !bytes.Equal(dl.Body, data) {
			t.Fatalf("download after %s: %d", action, dl.Status)
		}
		got, ok := c.cacheState(t).entry(id)
		wantHits := map[string]int64{"deactivate": 0, "reactivate": 1}[action]
		if !ok || got.Hits != wantHits {
			t.Errorf("after %s and a download: %+v (cached %v); want %d hits", action, got, ok, wantHits)
		}
	}

	// A deleted image's copy goes with it.
	if resp := c.Do(t, "DELETE", c.ImageURL+"/v2/images/"+id, c.tok, nil); resp.Status != http.StatusNoContent {
		t.Fatalf("delete image: %d %s", resp.Status, resp.Body)
	}
	if st := c.cacheState(t); len(st.CachedImages)+len(st.QueuedImages) != 0 {
		t.Errorf("cache after the image was deleted: %+v", st)
	}
	if files, err := os.ReadDir(filepath.Join(dir, "data")); err != nil || len(files) != 0 {
		t.Errorf("cache files after the image was deleted: %v, %v", files, err)
	}
}

func TestImageCachePrune(t *testing.T) {
	t.Parallel()
	c := startCacheCloud(t, t.TempDir(), cloudtest.WithOption("image.image_cache_max_size", "3000"))
	first := c.activeImage(t, pattern(2000))
	second := c.activeImage(t, pattern(1999))
	c.queueCache(t, first)
	c.queueCache(t, second)
	// The pruner runs right after the fill that went over the limit.
	var st cacheState
	cloudtest.Eventually(t, 20*time.Second, func() bool {
		st = c.cacheState(t)
		return len(st.CachedImages) < 2
	}, "the cache pruned")
	if len(st.CachedImages) != 1 || st.CachedImages[0].ImageID != second {
		t.Errorf("cache over image_cache_max_size kept %+v; want only the most recent, %s", st.CachedImages, second)
	}
}

func TestImageCacheOff(t *testing.T) {
	t.Parallel()
	c := startDataCloud(t)
	memberCreds, _ := newUser(t, c.Cloud, c.tok, "nocache")
	off := "Caching via API is not supported at this site."
	wantError(t, "list", c.Do(t, "GET", c.ImageURL+"/v2/cache", c.tok, nil), http.StatusNotFound, off)
	wantError(t, "clear", c.Do(t, "DELETE", c.ImageURL+"/v2/cache", c.tok, nil), http.StatusNotFound, off)
	wantError(t, "member lists", c.Do(t, "GET", c.ImageURL+"/v2/cache", c.Token(t, memberCreds), nil),
		http.StatusForbidden, "You are not authorized to complete cache_list action.")
	id := c.activeImage(t, pattern(100))
	wantError(t, "queue", c.Do(t, "PUT", c.ImageURL+"/v2/cache/"+id, c.tok, nil), http.StatusNotFound, off)
}

func TestImageCacheSurvivesRestart(t *testing.T) {
	t.Parallel()
	state, dir := t.TempDir(), t.TempDir()
	opts := []cloudtest.Option{cloudtest.WithOption("DEFAULT.state_path", state)}
	data := pattern(4096)
	var id string
	t.Run("first run", func(t *testing.T) {
		c := startCacheCloud(t, dir, opts...)
		id = c.activeImage(t, data)
		c.queueCache(t, id)
		if dl := c.download(t, id); dl.Status != http.StatusOK {
			t.Fatalf("download: %d", dl.Status)
		}
	})
	if id == "" {
		t.FailNow()
	}
	t.Run("second run", func(t *testing.T) {
		c := startCacheCloud(t, dir, opts...)
		e, ok := c.cacheState(t).entry(id)
		if !ok || e.Hits != 1 || e.Size != int64(len(data)) {
			t.Fatalf("cache after a restart: %+v (cached %v); want the entry with its hit", e, ok)
		}
		if dl := c.download(t, id); dl.Status != http.StatusOK || !bytes.Equal(dl.Body, data) {
			t.Fatalf("download after a restart: %d", dl.Status)
		}
		if e, _ := c.cacheState(t).entry(id); e.Hits != 2 {
			t.Errorf("hits after a restart and a download: %d, want 2", e.Hits)
		}
	})
}
