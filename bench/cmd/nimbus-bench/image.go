package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// patternChunk is the period of the generated image data: the generator keeps
// one such buffer and repeats it, so no image is ever held in memory.
const patternChunk = 1 << 20

// pattern is a deterministic reader of size bytes: the same seeded 1 MiB of
// pseudo-random bytes over and over.
type pattern struct {
	buf       []byte
	off       int
	remaining int64
}

// newPattern returns a reader of size deterministic bytes.
func newPattern(size int64) *pattern {
	buf := make([]byte, patternChunk)
	r := rand.New(rand.NewChaCha8([32]byte{'n', 'i', 'm', 'b', 'u', 's'}))
	for i := 0; i < len(buf); i += 8 {
		v := r.Uint64()
		for j := range 8 {
			buf[i+j] = byte(v >> (8 * j))
		}
	}
	return &pattern{buf: buf, remaining: size}
}

// Read implements io.Reader.
func (p *pattern) Read(b []byte) (int, error) {
	if p.remaining <= 0 {
		return 0, io.EOF
	}
	if int64(len(b)) > p.remaining {
		b = b[:p.remaining]
	}
	n := 0
	for n < len(b) {
		c := copy(b[n:], p.buf[p.off:])
		n += c
		p.off = (p.off + c) % len(p.buf)
	}
	p.remaining -= int64(n)
	return n, nil
}

// parseSize reads sizes such as 64MiB, 2GiB, 512M, 1048576.
func parseSize(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}, {"B", 1}}
	mult := int64(1)
	num := s
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			mult, num = u.mult, strings.TrimSuffix(s, u.suffix)
			break
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("size %q: want a positive number of bytes, KiB, MiB or GiB", s)
	}
	return n * mult, nil
}

// mbps is a rate in MB/s (10^6 bytes, as upstream's tool reports it).
func mbps(size int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return round3(float64(size) / 1e6 / d.Seconds())
}

// glance talks to one image endpoint with one token.
type glance struct {
	client   *http.Client
	endpoint string // without /v2
	token    string
}

// login issues a project-scoped token and finds the public image endpoint in
// its catalog, unless endpoint is given.
func login(creds credentials, client *http.Client, endpoint string) (*glance, error) {
	req, err := http.NewRequest(http.MethodPost, creds.AuthURL+"/auth/tokens", bytes.NewReader(creds.passwordBody()))
	if err != nil {
		return nil, fmt.Errorf("build token request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	k := &keystone{creds: creds, client: client}
	status, body, hdr, err := k.do(req)
	if err != nil {
		return nil, fmt.Errorf("issue token: %w", err)
	}
	if status != http.StatusCreated {
		return nil, fmt.Errorf("issue token: HTTP %d: %.200s", status, body)
	}
	g := &glance{client: client, endpoint: strings.TrimRight(endpoint, "/"), token: hdr.Get("X-Subject-Token")}
	if g.endpoint == "" {
		if g.endpoint, err = imageEndpoint(body); err != nil {
			return nil, err
		}
	}
	return g, nil
}

// tokenCatalog is the part of a token answer that names the endpoints.
type tokenCatalog struct {
	Token struct {
		Catalog []struct {
			Type      string `json:"type"`
			Endpoints []struct {
				Interface string `json:"interface"`
				URL       string `json:"url"`
			} `json:"endpoints"`
		} `json:"catalog"`
	} `json:"token"`
}

// imageEndpoint finds the public image endpoint of a token answer.
func imageEndpoint(body []byte) (string, error) {
	var tc tokenCatalog
	if err := json.Unmarshal(body, &tc); err != nil {
		return "", fmt.Errorf("decode token catalog: %w", err)
	}
	for _, s := range tc.Token.Catalog {
		if s.Type != "image" {
			continue
		}
		for _, e := range s.Endpoints {
			if e.Interface == "public" {
				u := strings.TrimRight(e.URL, "/")
				return strings.TrimSuffix(u, "/v2"), nil
			}
		}
	}
	return "", fmt.Errorf("no public image endpoint in the catalog (give -endpoint)")
}

// request builds a request on the image API with the token.
func (g *glance) request(method, path string, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequest(method, g.endpoint+path, body)
	if err != nil {
		return nil, fmt.Errorf("build %s %s: %w", method, path, err)
	}
	req.Header.Set("X-Auth-Token", g.token)
	return req, nil
}

// send does req, reads the whole answer and checks its status.
func (g *glance) send(req *http.Request, want int, out any) error {
	resp, err := g.client.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", req.Method, req.URL.Path, err)
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: HTTP %d: %.300s", req.Method, req.URL.Path, resp.StatusCode, body)
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			return fmt.Errorf("%s %s: decode answer: %w", req.Method, req.URL.Path, err)
		}
	}
	return nil
}

// imageInfo is the part of an image the benchmark reads.
type imageInfo struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	Size   *int64 `json:"size"`
}

// create makes a raw, bare, private image.
func (g *glance) create(name string) (imageInfo, error) {
	var img imageInfo
	req, err := g.request(http.MethodPost, "/v2/images", bytes.NewReader(mustJSON(map[string]any{
		"name": name, "disk_format": "raw", "container_format": "bare", "visibility": "private"})))
	if err != nil {
		return img, err
	}
	req.Header.Set("Content-Type", "application/json")
	return img, g.send(req, http.StatusCreated, &img)
}

// upload streams size bytes of the pattern to the image's data.
func (g *glance) upload(id string, size int64) error {
	req, err := g.request(http.MethodPut, "/v2/images/"+id+"/file", newPattern(size))
	if err != nil {
		return err
	}
	req.ContentLength = size
	req.Header.Set("Content-Type", "application/octet-stream")
	return g.send(req, http.StatusNoContent, nil)
}

// get reads an image.
func (g *glance) get(id string) (imageInfo, error) {
	var img imageInfo
	req, err := g.request(http.MethodGet, "/v2/images/"+id, nil)
	if err != nil {
		return img, err
	}
	return img, g.send(req, http.StatusOK, &img)
}

// waitActive polls the image until it is active, for at most limit.
func (g *glance) waitActive(id string, limit time.Duration) (imageInfo, error) {
	deadline := time.Now().Add(limit)
	for {
		img, err := g.get(id)
		if err != nil || img.Status == "active" {
			return img, err
		}
		if img.Status != "saving" && img.Status != "queued" && img.Status != "importing" {
			return img, fmt.Errorf("image %s went %s", id, img.Status)
		}
		if time.Now().After(deadline) {
			return img, fmt.Errorf("image %s still %s after %v", id, img.Status, limit)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// download reads the image's data, discarding it, and returns its length.
func (g *glance) download(id string) (int64, error) {
	req, err := g.request(http.MethodGet, "/v2/images/"+id+"/file", nil)
	if err != nil {
		return 0, err
	}
	resp, err := g.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("GET %s: %w", req.URL.Path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		return 0, fmt.Errorf("GET %s: HTTP %d: %s", req.URL.Path, resp.StatusCode, body)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil {
		return n, fmt.Errorf("GET %s: read data: %w", req.URL.Path, err)
	}
	return n, nil
}

// remove deletes the image.
func (g *glance) remove(id string) error {
	req, err := g.request(http.MethodDelete, "/v2/images/"+id, nil)
	if err != nil {
		return err
	}
	return g.send(req, http.StatusNoContent, nil)
}
