// Package filestore is the "file" image Backend, glance_store's filesystem
// store: each image's data is one file named by the image id in a single
// directory, its location "file://<dir>/<id>".
//
// A Put writes a hidden temporary file in the same directory, fsyncs it and
// links it to its final name only when every byte is on disk, so a reader
// never sees a partial image and an interrupted upload leaves nothing behind.
// Every file operation goes through an os.Root, so no location, id or
// symbolic link reaches outside the directory.
package filestore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/image"
)

const (
	// bufSize is the copy chunk: large writes keep the upload at disk speed.
	bufSize = 1 << 20
	// tempPrefix starts the name of every file still being written.
	tempPrefix = ".upload-"
	// staleAfter is the age past which New removes a leftover temporary file.
	staleAfter = time.Hour
	// scheme prefixes every location this store returns.
	scheme = "file://"
)

// Store keeps image data as files in one directory. It is safe for
// concurrent use; Puts of different ids proceed in parallel.
type Store struct {
	name string
	dir  string
	root *os.Root
	bufs sync.Pool // *[]byte of bufSize
}

var _ image.Backend = (*Store)(nil)

// New opens the store in dir, creating it with mode 0700 when missing, and
// removes temporary files that uploads interrupted more than an hour ago left.
func New(dir string) (*Store, error) {
	return NewNamed("file", dir)
}

// NewNamed is New for a store with its own id, one of several a site has
// (glance's enabled_backends).
func NewNamed(name, dir string) (*Store, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("resolve image directory %s: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("create image directory: %w", err)
	}
	root, err := os.OpenRoot(abs)
	if err != nil {
		return nil, fmt.Errorf("open image directory: %w", err)
	}
	s := &Store{name: name, dir: abs, root: root}
	s.bufs.New = func() any { b := make([]byte, bufSize); return &b }
	if err := s.removeStale(time.Now().Add(-staleAfter)); err != nil {
		_ = root.Close()
		return nil, err
	}
	return s, nil
}

// Close releases the directory handle; the Store is unusable afterwards.
func (s *Store) Close() error {
	return s.root.Close()
}

// Dir returns the absolute directory the store keeps its files in.
func (s *Store) Dir() string { return s.dir }

// Name returns the store's id: "file" unless NewNamed named it.
func (s *Store) Name() string { return s.name }

// Put streams r into <dir>/<id> and returns "file://<dir>/<id>". The data
// is durable when Put returns. It fails with image.ErrConflict when id
// already has data and with image.ErrValidation for an id that is not a
// plain file name; on any failure, including cancellation of ctx (checked
// between chunks), nothing is left behind.
func (s *Store) Put(ctx context.Context, id string, r io.Reader) (string, error) {
	if err := checkID(id); err != nil {
		return "", err
	}
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("store image %s: %w", id, err)
	}
	tmp, f, err := s.createTemp(id)
	if err != nil {
		return "", fmt.Errorf("store image %s: %w", id, err)
	}
	linked := false
	defer func() {
		if f != nil {
			_ = f.Close()
		}
		if !linked {
			_ = s.root.Remove(tmp)
		}
	}()
	if err := s.copy(ctx, f, r); err != nil {
		return "", fmt.Errorf("store image %s: %w", id, err)
	}
	if err := f.Sync(); err != nil {
		return "", fmt.Errorf("store image %s: sync: %w", id, err)
	}
	err = f.Close()
	f = nil
	if err != nil {
		return "", fmt.Errorf("store image %s: close: %w", id, err)
	}
	// A link, unlike a rename, refuses to replace existing data.
	if err := s.root.Link(tmp, id); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return "", fmt.Errorf("store image %s: data exists: %w", id, image.ErrConflict)
		}
		return "", fmt.Errorf("store image %s: %w", id, err)
	}
	linked = true
	if err := s.root.Remove(tmp); err != nil {
		return "", fmt.Errorf("store image %s: remove temporary file: %w", id, err)
	}
	if err := s.syncDir(); err != nil {
		return "", fmt.Errorf("store image %s: %w", id, err)
	}
	return s.location(id), nil
}

// createTemp creates a fresh hidden file for the upload of id.
func (s *Store) createTemp(id string) (string, *os.File, error) {
	var rnd [8]byte
	for range 3 {
		if _, err := rand.Read(rnd[:]); err != nil {
			return "", nil, fmt.Errorf("temporary name: %w", err)
		}
		name := tempPrefix + id + "." + hex.EncodeToString(rnd[:])
		f, err := s.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", nil, fmt.Errorf("create temporary file: %w", err)
		}
		return name, f, nil
	}
	return "", nil, errors.New("create temporary file: names exhausted")
}

// copy writes r to w in chunks of up to bufSize, checking ctx between chunks.
func (s *Store) copy(ctx context.Context, w io.Writer, r io.Reader) error {
	// Two buffers in flight: one is filled (and hashed, by an image.Tee
	// source) while the other is written, so the disk and the hashes overlap.
	type chunk struct {
		bp  *[]byte
		n   int
		eof bool
	}
	full := make(chan chunk, 1)
	free := make(chan *[]byte, 2)
	for i := 0; i < 2; i++ {
		free <- s.bufs.Get().(*[]byte)
	}
	readErr := make(chan error, 1)
	stop := make(chan struct{})
	go func() {
		defer close(full)
		for {
			var bp *[]byte
			select {
			case bp = <-free:
			case <-stop:
				readErr <- nil
				return
			}
			if err := ctx.Err(); err != nil {
				readErr <- err
				return
			}
			n, eof, err := fill(r, *bp)
			if err != nil {
				readErr <- fmt.Errorf("read: %w", err)
				return
			}
			full <- chunk{bp: bp, n: n, eof: eof}
			if eof {
				readErr <- nil
				return
			}
		}
	}()
	var werr error
	for c := range full {
		if werr == nil && c.n > 0 {
			if _, err := w.Write((*c.bp)[:c.n]); err != nil {
				werr = fmt.Errorf("write: %w", err)
				close(stop)
			}
		}
		free <- c.bp
	}
	err := <-readErr
	for len(free) > 0 {
		s.bufs.Put(<-free)
	}
	if err != nil && werr == nil {
		return err
	}
	if werr != nil {
		return werr
	}
	return ctx.Err()
}

// fill reads from r until buf is full or r reports io.EOF. Unlike
// io.ReadFull it passes on every other error, io.ErrUnexpectedEOF included:
// that is how a request body cut short ends, and such data is incomplete.
func fill(r io.Reader, buf []byte) (n int, eof bool, err error) {
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if errors.Is(err, io.EOF) {
			return n, true, nil
		}
		if err != nil {
			return n, false, err
		}
	}
	return n, false, nil
}

// syncDir makes the directory entries of a finished upload durable.
func (s *Store) syncDir() error {
	d, err := s.root.Open(".")
	if err != nil {
		return fmt.Errorf("open directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory: %w", err)
	}
	return nil
}

// Open returns the data at location, which must name a file directly inside
// the store's directory, and its size. A location elsewhere, of another
// scheme or with a traversal is image.ErrValidation; missing data is
// image.ErrNotFound.
func (s *Store) Open(ctx context.Context, location string) (io.ReadSeekCloser, int64, error) {
	id, err := s.parse(location)
	if err != nil {
		return nil, 0, err
	}
	if err := ctx.Err(); err != nil {
		return nil, 0, fmt.Errorf("open image data %s: %w", id, err)
	}
	f, err := s.root.Open(id)
	if err != nil {
		return nil, 0, fmt.Errorf("open image data %s: %w", id, notFound(err))
	}
	fi, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, 0, fmt.Errorf("stat image data %s: %w", id, err)
	}
	if !fi.Mode().IsRegular() {
		_ = f.Close()
		return nil, 0, fmt.Errorf("image data %s is not a regular file: %w", id, image.ErrValidation)
	}
	return f, fi.Size(), nil
}

// Delete removes the data at location; data already gone is not an error.
// A location outside the store is image.ErrValidation.
func (s *Store) Delete(ctx context.Context, location string) error {
	id, err := s.parse(location)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("delete image data %s: %w", id, err)
	}
	if err := s.root.Remove(id); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete image data %s: %w", id, err)
	}
	return nil
}

// location is the URL Put returns for id.
func (s *Store) location(id string) string {
	return scheme + filepath.ToSlash(filepath.Join(s.dir, id))
}

// parse returns the id a location of this store names. It accepts exactly
// "file://<dir>/<id>", as glance_store's file driver writes it (the path
// unescaped), and nothing that would resolve elsewhere.
func (s *Store) parse(location string) (string, error) {
	bad := func(why string) (string, error) {
		return "", fmt.Errorf("image location %q %s: %w", location, why, image.ErrValidation)
	}
	rest, ok := strings.CutPrefix(location, scheme)
	if !ok {
		return bad("is not a file:// location")
	}
	p := filepath.FromSlash(rest)
	if !filepath.IsAbs(p) || filepath.Clean(p) != p {
		return bad("is not a clean absolute path")
	}
	if filepath.Dir(p) != s.dir {
		return bad("is outside the image directory")
	}
	id := filepath.Base(p)
	if checkID(id) != nil {
		return bad("does not name image data")
	}
	return id, nil
}

// checkID refuses ids that are not a plain, visible file name.
func checkID(id string) error {
	switch {
	case id == "", id == ".", id == "..", strings.HasPrefix(id, "."),
		strings.ContainsAny(id, "/\\\x00"), len(id) > 200:
		return fmt.Errorf("image id %q is not a valid file name: %w", id, image.ErrValidation)
	}
	return nil
}

// notFound classifies a missing file as image.ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %w", image.ErrNotFound, err)
	}
	return err
}

// removeStale deletes temporary files last modified before cutoff: uploads
// a crash interrupted. Newer ones may belong to an upload in progress.
func (s *Store) removeStale(cutoff time.Time) error {
	d, err := s.root.Open(".")
	if err != nil {
		return fmt.Errorf("open image directory: %w", err)
	}
	entries, err := d.ReadDir(-1)
	_ = d.Close()
	if err != nil {
		return fmt.Errorf("list image directory: %w", err)
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), tempPrefix) || !e.Type().IsRegular() {
			continue
		}
		fi, err := e.Info()
		if err != nil || !fi.ModTime().Before(cutoff) {
			continue
		}
		if err := s.root.Remove(e.Name()); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove stale upload %s: %w", e.Name(), err)
		}
	}
	return nil
}
