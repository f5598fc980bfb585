package image

import (
	"crypto/md5"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"sync"
)

// chunkSize is the read size of the upload path: large enough that the
// per-call cost of the hashes and the backend's writes disappears.
const chunkSize = 1 << 20

// parallelHashMin is the chunk size from which the two hashes run in parallel.
const parallelHashMin = 64 << 10

// chunks recycles the 1 MiB buffers of uploads and imports. It is a stateless
// cache of scratch memory, not shared state: any buffer may be dropped.
var chunks = sync.Pool{New: func() any { b := make([]byte, chunkSize); return &b }}

// errTooLarge is what a Tee's reads fail with once more than its limit arrived.
var errTooLarge = errors.New("image data exceeds the limit")

// newHash returns the os_hash_algo hash named algo.
func newHash(algo string) (hash.Hash, error) {
	switch algo {
	case "sha512":
		return sha512.New(), nil
	case "sha384":
		return sha512.New384(), nil
	case "sha256":
		return sha256.New(), nil
	}
	return nil, fmt.Errorf("unknown hashing algorithm %q", algo)
}

// Tee reads image data from a source and passes every byte it returns to md5
// (glance's checksum), the os_hash_algo hash and an optional Inspector, counting
// them. It refuses to read more than its limit. Reading through WriteTo (which
// io.Copy prefers) moves the data in 1 MiB chunks.
type Tee struct {
	src     io.Reader
	md5     hash.Hash
	multi   hash.Hash
	inspect Inspector
	limit   int64 // < 0: none
	n       int64
	// readErr is the first error of src other than io.EOF: the client went away.
	readErr error
	// inspectErr is the first error the Inspector's Write returned; it does not
	// stop the data, Result reports it.
	inspectErr error
}

// NewTee returns a Tee over src hashing with algo, feeding insp (may be nil),
// and failing with a too-large error after limit bytes (limit < 0: no limit).
func NewTee(src io.Reader, algo string, insp Inspector, limit int64) (*Tee, error) {
	h, err := newHash(algo)
	if err != nil {
		return nil, err
	}
	return &Tee{src: src, md5: md5.New(), multi: h, inspect: insp, limit: limit}, nil
}

// Read implements io.Reader.
func (t *Tee) Read(p []byte) (int, error) {
	if t.limit >= 0 && int64(len(p)) > t.limit-t.n+1 {
		p = p[:t.limit-t.n+1]
	}
	n, err := t.src.Read(p)
	if n > 0 {
		if werr := t.consume(p[:n]); werr != nil {
			return 0, werr
		}
	}
	if err != nil && err != io.EOF && t.readErr == nil {
		t.readErr = err
	}
	return n, err
}

// consume hashes, inspects and counts b; it fails once the limit is passed.
func (t *Tee) consume(b []byte) error {
	t.n += int64(len(b))
	if t.limit >= 0 && t.n > t.limit {
		return errTooLarge
	}
	var wg sync.WaitGroup
	if len(b) >= parallelHashMin {
		// md5 and the os_hash_algo hash each take a core's worth of time per
		// byte: on large chunks run them side by side.
		wg.Add(1)
		go func() {
			defer wg.Done()
			t.md5.Write(b)
		}()
	} else {
		t.md5.Write(b)
	}
	t.multi.Write(b)
	if t.inspect != nil && t.inspectErr == nil {
		if _, err := t.inspect.Write(b); err != nil {
			t.inspectErr = err
		}
	}
	wg.Wait()
	return nil
}

// WriteTo copies the rest of the data to w in 1 MiB chunks.
func (t *Tee) WriteTo(w io.Writer) (int64, error) {
	bp := chunks.Get().(*[]byte)
	defer chunks.Put(bp)
	buf := *bp
	var total int64
	for {
		n, err := io.ReadFull(t, buf)
		if n > 0 {
			m, werr := w.Write(buf[:n])
			total += int64(m)
			if werr != nil {
				return total, werr
			}
		}
		switch {
		case err == io.EOF || err == io.ErrUnexpectedEOF && t.readErr == nil:
			return total, nil
		case err == io.ErrUnexpectedEOF:
			return total, t.readErr
		case err != nil:
			return total, err
		}
	}
}

// Size is how many bytes passed so far.
func (t *Tee) Size() int64 { return t.n }

// Checksum is the hex md5 of the bytes so far (glance's checksum).
func (t *Tee) Checksum() string { return hex.EncodeToString(t.md5.Sum(nil)) }

// HashValue is the hex os_hash_value of the bytes so far.
func (t *Tee) HashValue() string { return hex.EncodeToString(t.multi.Sum(nil)) }

// ReadErr is the error the source failed with, other than io.EOF, if any.
func (t *Tee) ReadErr() error { return t.readErr }

// Inspection is the Inspector's verdict (nil Inspector: nothing found, no error).
func (t *Tee) Inspection() (InspectResult, error) {
	if t.inspect == nil {
		return InspectResult{}, nil
	}
	if t.inspectErr != nil {
		return InspectResult{}, t.inspectErr
	}
	return t.inspect.Result()
}
