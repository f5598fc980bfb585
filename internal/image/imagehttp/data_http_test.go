package imagehttp_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/imagedata"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/imageimport"

	"github.com/nimbus-cloud/nimbus/internal/cloudtest"
)

// dataCloud is a test cloud and an admin token for the data path tests.
type dataCloud struct {
	*cloudtest.Cloud
	tok string
}

func startDataCloud(t *testing.T, opts ...cloudtest.Option) *dataCloud {
	t.Helper()
	c := cloudtest.Start(t, opts...)
	return &dataCloud{Cloud: c, tok: c.Token(t, cloudtest.Admin)}
}

// create makes an image with the disk format and returns its id.
func (c *dataCloud) create(t *testing.T, diskFormat string) string {
	t.Helper()
	resp := c.Do(t, "POST", c.ImageURL+"/v2/images", c.tok,
		map[string]any{"name": "data", "disk_format": diskFormat, "container_format": "bare"})
	if resp.Status != http.StatusCreated {
		t.Fatalf("create image: %d %s", resp.Status, resp.Body)
	}
	return resp.JSON(t)["id"].(string)
}

// image reads the image record.
func (c *dataCloud) image(t *testing.T, id string) map[string]any {
	t.Helper()
	resp := c.Do(t, "GET", c.ImageURL+"/v2/images/"+id, c.tok, nil)
	if resp.Status != http.StatusOK {
		t.Fatalf("get image: %d %s", resp.Status, resp.Body)
	}
	return resp.JSON(t)
}

// send streams body to the image's path (file or stage) with headers and
// returns the status and response body.
func (c *dataCloud) send(t *testing.T, method, id, path string, body io.Reader, headers ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, c.ImageURL+"/v2/images/"+id+"/"+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Auth-Token", c.tok)
	req.Header.Set("Content-Type", "application/octet-stream")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}

// leftovers lists files under the image data directory (staging included)
// whose names mention the image id: data or unfinished uploads.
func (c *dataCloud) leftovers(t *testing.T, id string) []string {
	t.Helper()
	var found []string
	err := filepath.WalkDir(c.Config.ImageDataDir(), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.Contains(d.Name(), id) {
			found = append(found, p)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk image directory: %v", err)
	}
	return found
}

// wantQueuedAndClean checks that image id is queued with no size and no data
// file anywhere.
func (c *dataCloud) wantQueuedAndClean(t *testing.T, id string) {
	t.Helper()
	img := c.image(t, id)
	if img["status"] != "queued" || img["size"] != nil {
		t.Errorf("image after refusal: status %v size %v; want queued, no size", img["status"], img["size"])
	}
	if files := c.leftovers(t, id); len(files) != 0 {
		t.Errorf("data left behind: %v", files)
	}
}

// pattern returns n deterministic bytes.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

func hexSum(b []byte) (md, sha5, sha2 string) {
	m, s5, s2 := md5.Sum(b), sha512.Sum512(b), sha256.Sum256(b)
	return hex.EncodeToString(m[:]), hex.EncodeToString(s5[:]), hex.EncodeToString(s2[:])
}

func TestDataRoundTripAndRefusals(t *testing.T) {
	t.Parallel()
	c := startDataCloud(t)
	ic := c.ImageClient(t, cloudtest.Admin)
	ctx := context.Background()
	data := pattern(3<<20 + 17)
	wantMD5, wantSHA512, wantSHA256 := hexSum(data)

	id := c.create(t, "raw")
	if status, _ := c.send(t, "GET", id, "file", nil); status != http.StatusNoContent {
		t.Errorf("download of an image without data: %d, want 204", status)
	}
	if err := imagedata.Upload(ctx, ic, id, bytes.NewReader(data)).ExtractErr(); err != nil {
		t.Fatalf("upload: %v", err)
	}
	img := c.image(t, id)
	for k, want := range map[string]any{"status": "active", "checksum": wantMD5, "os_hash_algo": "sha512",
		"os_hash_value": wantSHA512, "size": float64(len(data)), "virtual_size": float64(len(data))} {
		if img[k] != want {
			t.Errorf("%s = %v, want %v", k, img[k], want)
		}
	}
	dl := imagedata.Download(ctx, ic, id)
	rc, err := dl.Extract()
	if err != nil {
		t.Fatalf("download: %v", err)
	}
	h := sha256.New()
	n, err := io.Copy(h, rc)
	rc.Close()
	if err != nil || n != int64(len(data)) || hex.EncodeToString(h.Sum(nil)) != wantSHA256 {
		t.Errorf("downloaded %d bytes (%v), sha256 mismatch: %v", n, err, hex.EncodeToString(h.Sum(nil)) != wantSHA256)
	}
	if got := dl.Header.Get("Content-MD5"); got != wantMD5 {
		t.Errorf("Content-MD5 = %q, want %q", got, wantMD5)
	}

	t.Run("ranges", func(t *testing.T) {
		t.Parallel()
		size := len(data)
		cases := []struct {
			name, spec   string
			status       int
			contentRange string
			body         []byte
		}{
			{"first bytes", "bytes=0-9", http.StatusPartialContent, fmt.Sprintf("bytes 0-9/%d", size), data[:10]},
			{"open end", fmt.Sprintf("bytes=%d-", size-5), http.StatusPartialContent,
				fmt.Sprintf("bytes %d-%d/%d", size-5, size-1, size), data[size-5:]},
			{"suffix", "bytes=-3", http.StatusPartialContent, fmt.Sprintf("bytes %d-%d/%d", size-3, size-1, size), data[size-3:]},
			{"past the end", fmt.Sprintf("bytes=%d-", size), http.StatusRequestedRangeNotSatisfiable,
				fmt.Sprintf("bytes */%d", size), nil},
		}
		for _, tc := range cases {
			resp := c.Do(t, "GET", c.ImageURL+"/v2/images/"+id+"/file", c.tok, nil, "Range", tc.spec)
			if resp.Status != tc.status || resp.Header.Get("Content-Range") != tc.contentRange {
				t.Errorf("%s: %d %q, want %d %q", tc.name, resp.Status, resp.Header.Get("Content-Range"), tc.status, tc.contentRange)
			}
			if tc.body != nil && !bytes.Equal(resp.Body, tc.body) {
				t.Errorf("%s: body %x, want %x", tc.name, resp.Body, tc.body)
			}
		}
	})

	t.Run("upload to an active image", func(t *testing.T) {
		t.Parallel()
		if status, body := c.send(t, "PUT", id, "file", strings.NewReader("more")); status != http.StatusConflict {
			t.Errorf("upload to active: %d %s, want 409", status, body)
		}
	})

	refusals := []struct {
		name    string
		body    string
		headers []string
		status  int
		msg     string
	}{
		{"wrong content type", "abc", []string{"Content-Type", "application/json"}, http.StatusUnsupportedMediaType, "Invalid content type"},
		{"declared size larger", strings.Repeat("x", 50), []string{"X-Openstack-Image-Size", "100"}, http.StatusBadRequest, "does not match"},
		{"declared size smaller", strings.Repeat("x", 50), []string{"X-Openstack-Image-Size", "10"}, http.StatusBadRequest, "does not match"},
		{"bad declared size", "abc", []string{"X-Openstack-Image-Size", "-1"}, http.StatusBadRequest, "image size"},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			id := c.create(t, "raw")
			status, body := c.send(t, "PUT", id, "file", strings.NewReader(tc.body), tc.headers...)
			if status != tc.status || !strings.Contains(body, tc.msg) {
				t.Errorf("upload: %d %s; want %d containing %q", status, body, tc.status, tc.msg)
			}
			c.wantQueuedAndClean(t, id)
		})
	}
}

// qemuImg makes an image with qemu-img create and returns its bytes; it
// skips the test when qemu-img is missing.
func qemuImg(t *testing.T, args ...string) []byte {
	t.Helper()
	bin, err := exec.LookPath("qemu-img")
	if err != nil {
		t.Skip("qemu-img is not installed: cannot build qcow2 images")
	}
	out := filepath.Join(t.TempDir(), "disk.qcow2")
	cmd := exec.Command(bin, append(append([]string{"create", "-f", "qcow2"}, args[:len(args)-1]...), out, args[len(args)-1])...)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("qemu-img create: %v: %s", err, msg)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestQcow2Uploads(t *testing.T) {
	t.Parallel()
	c := startDataCloud(t)

	t.Run("plain qcow2", func(t *testing.T) {
		t.Parallel()
		disk := qemuImg(t, "64M")
		id := c.create(t, "qcow2")
		if status, body := c.send(t, "PUT", id, "file", bytes.NewReader(disk)); status != http.StatusNoContent {
			t.Fatalf("upload qcow2: %d %s", status, body)
		}
		img := c.image(t, id)
		if img["status"] != "active" || img["virtual_size"] != float64(64<<20) || img["size"] != float64(len(disk)) {
			t.Errorf("qcow2 image: status %v virtual_size %v size %v; want active, %d, %d",
				img["status"], img["virtual_size"], img["size"], 64<<20, len(disk))
		}
	})

	t.Run("backing file", func(t *testing.T) {
		t.Parallel()
		disk := qemuImg(t, "-u", "-b", "/etc/base.raw", "-F", "raw", "64M")
		id := c.create(t, "qcow2")
		status, body := c.send(t, "PUT", id, "file", bytes.NewReader(disk))
		if status != http.StatusUnsupportedMediaType || !strings.Contains(body, "backing file") {
			t.Errorf("upload qcow2 with a backing file: %d %s; want 415 naming the backing file", status, body)
		}
		c.wantQueuedAndClean(t, id)
	})
}

// halfBody is a request body that sends half of n bytes, waits until
// ready reports true (the server is saving), and then fails.
type halfBody struct {
	sent, n int
	ready   func() bool
}

func (h *halfBody) Read(p []byte) (int, error) {
	if h.sent >= h.n/2 {
		for deadline := time.Now().Add(10 * time.Second); !h.ready() && time.Now().Before(deadline); {
			time.Sleep(10 * time.Millisecond)
		}
		return 0, fmt.Errorf("client gave up")
	}
	k := min(len(p), h.n/2-h.sent)
	clear(p[:k])
	h.sent += k
	return k, nil
}

// status reads image id's status without failing the test: it may run on
// another goroutine. It answers "" when the image cannot be read.
func (c *dataCloud) status(id string) string {
	req, err := http.NewRequest("GET", c.ImageURL+"/v2/images/"+id, nil)
	if err != nil {
		return ""
	}
	req.Header.Set("X-Auth-Token", c.tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var img struct {
		Status string `json:"status"`
	}
	if json.NewDecoder(resp.Body).Decode(&img) != nil {
		return ""
	}
	return img.Status
}

func TestClientDisconnectsMidUpload(t *testing.T) {
	t.Parallel()
	c := startDataCloud(t)
	const size = 8 << 20

	t.Run("body reader fails", func(t *testing.T) {
		t.Parallel()
		id := c.create(t, "raw")
		req, err := http.NewRequest("PUT", c.ImageURL+"/v2/images/"+id+"/file", &halfBody{n: size,
			ready: func() bool { return c.status(id) == "saving" }})
		if err != nil {
			t.Fatal(err)
		}
		req.ContentLength = size
		req.Header.Set("X-Auth-Token", c.tok)
		req.Header.Set("Content-Type", "application/octet-stream")
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			t.Fatalf("upload with a failing body answered %d", resp.StatusCode)
		}
		c.waitQueuedAndClean(t, id)
	})

	t.Run("connection closed", func(t *testing.T) {
		t.Parallel()
		id := c.create(t, "raw")
		u, _ := url.Parse(c.ImageURL)
		conn, err := net.Dial("tcp", u.Host)
		if err != nil {
			t.Fatal(err)
		}
		w := bufio.NewWriter(conn)
		fmt.Fprintf(w, "PUT %s/v2/images/%s/file HTTP/1.1\r\nHost: %s\r\nX-Auth-Token: %s\r\n"+
			"Content-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n", u.Path, id, u.Host, c.tok, size)
		w.Write(make([]byte, size/2))
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		cloudtest.Eventually(t, 10*time.Second, func() bool { return c.image(t, id)["status"] == "saving" },
			"upload to start")
		conn.Close()
		c.waitQueuedAndClean(t, id)
	})
}

// waitQueuedAndClean waits for the server to notice a broken upload, then
// checks that the image is queued and no data stayed.
func (c *dataCloud) waitQueuedAndClean(t *testing.T, id string) {
	t.Helper()
	cloudtest.Eventually(t, 10*time.Second, func() bool { return c.image(t, id)["status"] == "queued" },
		"image back to queued")
	cloudtest.Eventually(t, 10*time.Second, func() bool { return len(c.leftovers(t, id)) == 0 }, "no data left")
	c.wantQueuedAndClean(t, id)
}

func TestQuotas(t *testing.T) {
	t.Parallel()
	t.Run("storage", func(t *testing.T) {
		t.Parallel()
		c := startDataCloud(t, cloudtest.WithOption("image.user_storage_quota", "1000"))
		small := c.create(t, "raw")
		if status, body := c.send(t, "PUT", small, "file", bytes.NewReader(pattern(600))); status != http.StatusNoContent {
			t.Fatalf("upload within quota: %d %s", status, body)
		}
		for _, declared := range []bool{true, false} {
			id := c.create(t, "raw")
			req := io.Reader(bytes.NewReader(pattern(600)))
			if !declared {
				req = io.MultiReader(req) // hides the length: chunked, no Content-Length
			}
			status, body := c.send(t, "PUT", id, "file", req)
			if status != http.StatusRequestEntityTooLarge || !strings.Contains(body, "storage quota") {
				t.Errorf("upload over quota (declared %v): %d %s; want 413", declared, status, body)
			}
			c.wantQueuedAndClean(t, id)
		}
	})
	t.Run("image count", func(t *testing.T) {
		t.Parallel()
		c := startDataCloud(t, cloudtest.WithOption("image.image_count_total", "1"))
		c.create(t, "raw")
		resp := c.Do(t, "POST", c.ImageURL+"/v2/images", c.tok, map[string]any{"name": "second"})
		if resp.Status != http.StatusRequestEntityTooLarge {
			t.Errorf("image over count quota: %d %s; want 413", resp.Status, resp.Body)
		}
	})
}

func TestImport(t *testing.T) {
	t.Parallel()
	data := pattern(1<<20 + 3)
	wantMD5, _, _ := hexSum(data)
	src := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/disk.raw":
			http.ServeContent(w, r, "disk.raw", time.Time{}, bytes.NewReader(data))
		case "/redirect-out":
			http.Redirect(w, r, strings.Replace(srcURL(r), "127.0.0.1", "localhost", 1)+"/disk.raw", http.StatusFound)
		case "/redirect-in":
			http.Redirect(w, r, "/disk.raw", http.StatusFound)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(src.Close)
	c := startDataCloud(t,
		cloudtest.WithOption("image.enabled_import_methods", "glance-direct,web-download"),
		cloudtest.WithOption("image.web_download_allowed_hosts", "127.0.0.1"))
	ic := c.ImageClient(t, cloudtest.Admin)
	ctx := context.Background()

	t.Run("glance-direct", func(t *testing.T) {
		t.Parallel()
		id := c.create(t, "raw")
		if err := imagedata.Stage(ctx, ic, id, bytes.NewReader(data)).ExtractErr(); err != nil {
			t.Fatalf("stage: %v", err)
		}
		if st := c.image(t, id)["status"]; st != "uploading" {
			t.Errorf("status after stage = %v, want uploading", st)
		}
		err := imageimport.Create(ctx, ic, id, imageimport.CreateOpts{Name: imageimport.GlanceDirectMethod}).ExtractErr()
		if err != nil {
			t.Fatalf("import: %v", err)
		}
		c.waitActive(t, id, wantMD5, len(data))
	})

	cases := []struct {
		name, path string
		ok         bool
		msg        string
	}{
		{"web-download", "/disk.raw", true, ""},
		{"redirect on an allowed host", "/redirect-in", true, ""},
		{"redirect to a host not allowed", "/redirect-out", false, "host not allowed"},
		{"source answers 404", "/missing", false, "404 Not Found"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			id := c.create(t, "raw")
			resp := c.Do(t, "POST", c.ImageURL+"/v2/images/"+id+"/import", c.tok,
				map[string]any{"method": map[string]any{"name": "web-download", "uri": src.URL + tc.path}})
			if resp.Status != http.StatusAccepted {
				t.Fatalf("import: %d %s", resp.Status, resp.Body)
			}
			if !tc.ok {
				task := c.waitTask(t, id)
				if task["status"] != "failure" || !strings.Contains(fmt.Sprint(task["message"]), tc.msg) {
					t.Errorf("import task = %v; want a failure containing %q", task, tc.msg)
				}
				c.wantQueuedAndClean(t, id)
				if failed := c.image(t, id)["os_glance_failed_import"]; failed != "file" {
					t.Errorf("os_glance_failed_import = %v, want file", failed)
				}
				return
			}
			c.waitActive(t, id, wantMD5, len(data))
		})
	}

	t.Run("host not allowed", func(t *testing.T) {
		t.Parallel()
		id := c.create(t, "raw")
		uri := strings.Replace(src.URL, "127.0.0.1", "localhost", 1) + "/disk.raw"
		resp := c.Do(t, "POST", c.ImageURL+"/v2/images/"+id+"/import", c.tok,
			map[string]any{"method": map[string]any{"name": "web-download", "uri": uri}})
		if resp.Status != http.StatusBadRequest || !bytes.Contains(resp.Body, []byte("filtering")) {
			t.Errorf("import from a host not allowed: %d %s; want 400", resp.Status, resp.Body)
		}
		c.wantQueuedAndClean(t, id)
	})
}

// srcURL is the scheme and host a request reached.
func srcURL(r *http.Request) string { return "http://" + r.Host }

func TestWebDownloadDisabledByDefault(t *testing.T) {
	t.Parallel()
	c := startDataCloud(t)
	resp := c.Do(t, "GET", c.ImageURL+"/v2/info/import", c.tok, nil)
	if methods := fmt.Sprint(resp.JSON(t)["import-methods"]); strings.Contains(methods, "web-download") {
		t.Errorf("default import methods: %s", methods)
	}
	id := c.create(t, "raw")
	resp = c.Do(t, "POST", c.ImageURL+"/v2/images/"+id+"/import", c.tok,
		map[string]any{"method": map[string]any{"name": "web-download", "uri": "http://127.0.0.1/x"}})
	if resp.Status != http.StatusBadRequest {
		t.Errorf("web-download when disabled: %d %s; want 400", resp.Status, resp.Body)
	}
}

// waitTask waits for the import task of image id to finish and returns it.
func (c *dataCloud) waitTask(t *testing.T, id string) map[string]any {
	t.Helper()
	var task map[string]any
	cloudtest.Eventually(t, 10*time.Second, func() bool {
		resp := c.Do(t, "GET", c.ImageURL+"/v2/images/"+id+"/tasks", c.tok, nil)
		tasks, _ := resp.JSON(t)["tasks"].([]any)
		if len(tasks) != 1 {
			return false
		}
		task, _ = tasks[0].(map[string]any)
		return task["status"] == "success" || task["status"] == "failure"
	}, "import task to finish")
	return task
}

// waitActive waits for image id to become active with the checksum and size.
func (c *dataCloud) waitActive(t *testing.T, id, checksum string, size int) {
	t.Helper()
	cloudtest.Eventually(t, 10*time.Second, func() bool {
		st := c.image(t, id)["status"]
		return st == "active" || st == "queued"
	}, "import to finish")
	img := c.image(t, id)
	if img["status"] != "active" || img["checksum"] != checksum || img["size"] != float64(size) {
		t.Errorf("imported image: status %v checksum %v size %v; want active, %s, %d",
			img["status"], img["checksum"], img["size"], checksum, size)
	}
	if files := c.leftovers(t, id); len(files) != 1 {
		t.Errorf("files of the imported image: %v; want its data only", files)
	}
}

// generator streams n deterministic pseudo-random bytes (xorshift64).
type generator struct {
	state uint64
	left  int64
}

func (g *generator) Read(p []byte) (int, error) {
	if g.left <= 0 {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), g.left)&^7]
	if len(p) == 0 {
		return 0, io.ErrShortBuffer
	}
	for i := 0; i < len(p); i += 8 {
		g.state ^= g.state << 13
		g.state ^= g.state >> 7
		g.state ^= g.state << 17
		s := g.state
		p[i], p[i+1], p[i+2], p[i+3] = byte(s), byte(s>>8), byte(s>>16), byte(s>>24)
		p[i+4], p[i+5], p[i+6], p[i+7] = byte(s>>32), byte(s>>40), byte(s>>48), byte(s>>56)
	}
	g.left -= int64(len(p))
	return len(p), nil
}

// TestLargeRoundTrip streams 1 GiB up and back down without holding it in
// memory, comparing sha256 and md5 of both directions.
func TestLargeRoundTrip(t *testing.T) {
	if testing.Short() {
		t.Skip("1 GiB round trip skipped under -short")
	}
	const size = int64(1 << 30) // about 9 s here, upload and download together
	c := startDataCloud(t)
	id := c.create(t, "raw")
	start := time.Now()
	up, upMD5 := sha256.New(), md5.New()
	body := io.TeeReader(&generator{state: 0x9e3779b97f4a7c15, left: size}, io.MultiWriter(up, upMD5))
	status, msg := c.send(t, "PUT", id, "file", body, "X-Openstack-Image-Size", strconv.FormatInt(size, 10))
	if status != http.StatusNoContent {
		t.Fatalf("upload: %d %s", status, msg)
	}
	uploaded := time.Since(start)
	req, _ := http.NewRequest("GET", c.ImageURL+"/v2/images/"+id+"/file", nil)
	req.Header.Set("X-Auth-Token", c.tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	down := sha256.New()
	n, err := io.Copy(down, resp.Body)
	resp.Body.Close()
	if err != nil || n != size || !bytes.Equal(up.Sum(nil), down.Sum(nil)) {
		t.Fatalf("downloaded %d of %d bytes (%v); sha256 equal: %v", n, size, err, bytes.Equal(up.Sum(nil), down.Sum(nil)))
	}
	img := c.image(t, id)
	if img["size"] != float64(size) || img["checksum"] != hex.EncodeToString(upMD5.Sum(nil)) {
		t.Errorf("image after large upload: size %v checksum %v", img["size"], img["checksum"])
	}
	t.Logf("%d bytes: upload %s, upload+download %s", size, uploaded, time.Since(start))
}
