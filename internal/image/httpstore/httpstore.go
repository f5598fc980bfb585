// Package httpstore is a read-only image store over HTTP: the data of images
// whose locations are http(s) URLs, as glance_store's http driver reads it.
// It never writes or deletes: the data belongs to the server that has it.
package httpstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/nimbus-cloud/nimbus/internal/image"
)

// Store reads image data from http and https URLs on the allowed hosts.
type Store struct {
	name    string
	client  *http.Client
	allowed []string
}

var _ image.Backend = (*Store)(nil)

// New returns a store named name that fetches with client from the hosts in
// allowed only (the client should refuse redirects elsewhere too).
func New(name string, client *http.Client, allowed []string) *Store {
	return &Store{name: name, client: client, allowed: allowed}
}

// Name is the store's id.
func (s *Store) Name() string { return s.name }

// ReadOnly is true: images cannot be uploaded or imported to this store.
func (s *Store) ReadOnly() bool { return true }

// Handles reports whether location is an http(s) URL on an allowed host.
func (s *Store) Handles(location string) bool {
	u, err := url.Parse(location)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return false
	}
	return slices.ContainsFunc(s.allowed, func(h string) bool { return strings.EqualFold(h, u.Hostname()) })
}

// Put refuses: the store is read-only.
func (s *Store) Put(context.Context, string, io.Reader) (string, error) {
	return "", fmt.Errorf("store %s is read-only: %w", s.name, image.ErrForbidden)
}

// Delete does nothing: the data is the remote server's.
func (s *Store) Delete(context.Context, string) error { return nil }

// Open starts reading location and returns its size, which the server must
// state. Seeking reopens the URL with a Range request at the new offset.
func (s *Store) Open(ctx context.Context, location string) (io.ReadSeekCloser, int64, error) {
	if !s.Handles(location) {
		return nil, 0, fmt.Errorf("location %q is not an http(s) URL on an allowed host: %w", redact(location), image.ErrValidation)
	}
	r := &reader{ctx: ctx, client: s.client, url: location}
	resp, err := r.get(0)
	if err != nil {
		return nil, 0, err
	}
	if resp.ContentLength < 0 {
		resp.Body.Close()
		return nil, 0, fmt.Errorf("%s states no Content-Length", redact(location))
	}
	r.body, r.size = resp.Body, resp.ContentLength
	return r, r.size, nil
}

// reader reads a URL from an offset; Seek drops the open response and the
// next Read asks for the rest from the new offset.
type reader struct {
	ctx    context.Context
	client *http.Client
	url    string
	size   int64
	off    int64
	body   io.ReadCloser
}

func (r *reader) get(off int64) (*http.Response, error) {
	req, err := http.NewRequestWithContext(r.ctx, http.MethodGet, r.url, nil)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	want := http.StatusOK
	if off > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(off, 10)+"-")
		want = http.StatusPartialContent
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", redact(r.url), err)
	}
	if resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone {
		resp.Body.Close()
		return nil, fmt.Errorf("%s answered %s: %w", redact(r.url), resp.Status, image.ErrNotFound)
	}
	if resp.StatusCode != want {
		resp.Body.Close()
		return nil, fmt.Errorf("%s answered %s", redact(r.url), resp.Status)
	}
	return resp, nil
}

func (r *reader) Read(p []byte) (int, error) {
	if r.off >= r.size {
		return 0, io.EOF
	}
	if r.body == nil {
		resp, err := r.get(r.off)
		if err != nil {
			return 0, err
		}
		r.body = resp.Body
	}
	n, err := r.body.Read(p)
	r.off += int64(n)
	if errors.Is(err, io.EOF) && r.off < r.size {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

func (r *reader) Seek(offset int64, whence int) (int64, error) {
	var off int64
	switch whence {
	case io.SeekStart:
		off = offset
	case io.SeekCurrent:
		off = r.off + offset
	case io.SeekEnd:
		off = r.size + offset
	default:
		return 0, errors.New("httpstore: bad whence")
	}
	if off < 0 {
		return 0, errors.New("httpstore: negative position")
	}
	if off != r.off && r.body != nil {
		r.body.Close()
		r.body = nil
	}
	r.off = off
	return off, nil
}

func (r *reader) Close() error {
	if r.body == nil {
		return nil
	}
	err := r.body.Close()
	r.body = nil
	return err
}

// redact drops a URL's credentials and query for messages.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	u.User, u.RawQuery = nil, ""
	return u.String()
}
