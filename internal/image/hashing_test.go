package image

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestTee(t *testing.T) {
	t.Parallel()
	data := bytes.Repeat([]byte("0123456789"), 300000)
	md := md5.Sum(data)
	sh := sha512.Sum512(data)
	for _, c := range []struct {
		name string
		copy func(io.Writer, *Tee) error
	}{
		{"WriteTo", func(w io.Writer, t *Tee) error { _, err := io.Copy(w, t); return err }},
		{"Read", func(w io.Writer, t *Tee) error { _, err := io.Copy(w, struct{ io.Reader }{t}); return err }},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			insp := &dpInspector{}
			tee, err := NewTee(bytes.NewReader(data), "sha512", insp, -1)
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			if err := c.copy(&out, tee); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out.Bytes(), data) || tee.Size() != int64(len(data)) || insp.n != int64(len(data)) ||
				tee.Checksum() != hex.EncodeToString(md[:]) || tee.HashValue() != hex.EncodeToString(sh[:]) {
				t.Fatalf("tee: size %d checksum %s", tee.Size(), tee.Checksum())
			}
		})
	}
}

func TestTeeLimitAndErrors(t *testing.T) {
	t.Parallel()
	tee, _ := NewTee(strings.NewReader("abcdef"), "sha256", nil, 6)
	if n, err := io.Copy(io.Discard, tee); err != nil || n != 6 {
		t.Fatalf("exactly at the limit: %d, %v", n, err)
	}
	tee, _ = NewTee(strings.NewReader("abcdefg"), "sha256", nil, 6)
	if _, err := io.Copy(io.Discard, tee); !errors.Is(err, errTooLarge) {
		t.Fatalf("over the limit: %v", err)
	}
	tee, _ = NewTee(&failingReader{strings.NewReader("abc")}, "sha384", nil, -1)
	if _, err := io.Copy(io.Discard, tee); err == nil || tee.ReadErr() == nil {
		t.Fatalf("source failure: %v", err)
	}
	if _, err := NewTee(strings.NewReader(""), "md4", nil, -1); err == nil {
		t.Fatal("unknown algorithm accepted")
	}
}

// BenchmarkTee measures md5+sha512 over 64 MiB: the bound of upload speed.
func BenchmarkTee(b *testing.B) {
	data := make([]byte, 64<<20)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		tee, _ := NewTee(bytes.NewReader(data), "sha512", nil, -1)
		if _, err := io.Copy(io.Discard, tee); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHashesAlone is md5 and sha512 over the same 64 MiB without the tee.
func BenchmarkHashesAlone(b *testing.B) {
	data := make([]byte, 64<<20)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		m, s := md5.New(), sha512.New()
		for off := 0; off < len(data); off += chunkSize {
			m.Write(data[off : off+chunkSize])
			s.Write(data[off : off+chunkSize])
		}
		_ = m.Sum(nil)
		_ = s.Sum(nil)
	}
}

// discardBackend keeps nothing: it measures the upload path without a disk.
type discardBackend struct{}

func (discardBackend) Name() string { return "file" }
func (discardBackend) Put(_ context.Context, id string, r io.Reader) (string, error) {
	buf := make([]byte, chunkSize)
	for {
		_, err := io.ReadFull(r, buf)
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return "discard://" + id, nil
		}
		if err != nil {
			return "", err
		}
	}
}
func (discardBackend) Open(context.Context, string) (io.ReadSeekCloser, int64, error) {
	return nil, 0, ErrNotFound
}
func (discardBackend) Delete(context.Context, string) error { return nil }

// BenchmarkUploadPath runs UploadData of 64 MiB into a backend that discards.
func BenchmarkUploadPath(b *testing.B) {
	data := make([]byte, 64<<20)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		f := newDPFixture(Config{}, Queued)
		f.svc.backend = discardBackend{}
		if err := f.svc.UploadData(dpCtx(), "img", bytes.NewReader(data), int64(len(data))); err != nil {
			b.Fatal(err)
		}
	}
}
