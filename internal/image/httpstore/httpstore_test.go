package httpstore

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/image"
)

func TestOpenReadSeek(t *testing.T) {
	t.Parallel()
	data := bytes.Repeat([]byte("0123456789"), 10_000)
	var ranges []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/disk.img" {
			http.NotFound(w, r)
			return
		}
		ranges = append(ranges, r.Header.Get("Range"))
		http.ServeContent(w, r, "disk.img", time.Time{}, bytes.NewReader(data))
	}))
	t.Cleanup(srv.Close)
	s := New("web", srv.Client(), []string{"127.0.0.1"})
	if !s.Handles(srv.URL+"/disk.img") || s.Handles("ftp://127.0.0.1/x") || s.Handles("http://elsewhere/x") {
		t.Fatal("Handles accepts the wrong locations")
	}
	r, size, err := s.Open(context.Background(), srv.URL+"/disk.img")
	if err != nil || size != int64(len(data)) {
		t.Fatalf("Open = %d, %v", size, err)
	}
	defer r.Close()
	head := make([]byte, 10)
	if _, err := io.ReadFull(r, head); err != nil || string(head) != "0123456789" {
		t.Fatalf("first bytes %q, %v", head, err)
	}
	if _, err := r.Seek(99_995, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	tail, err := io.ReadAll(r)
	if err != nil || string(tail) != "56789" {
		t.Fatalf("tail %q, %v", tail, err)
	}
	if len(ranges) != 2 || ranges[0] != "" || ranges[1] != "bytes=99995-" {
		t.Errorf("requests asked for ranges %q", ranges)
	}
	if _, _, err := s.Open(context.Background(), srv.URL+"/missing"); !errors.Is(err, image.ErrNotFound) {
		t.Errorf("Open of a missing URL: %v, want not found", err)
	}
	if _, _, err := s.Open(context.Background(), "http://user:secret@elsewhere/x?sig=1"); err == nil ||
		strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "sig=") {
		t.Errorf("Open of a host not allowed: %v", err)
	}
}

func TestReadOnly(t *testing.T) {
	t.Parallel()
	s := New("web", http.DefaultClient, nil)
	if _, err := s.Put(context.Background(), "id", strings.NewReader("x")); !errors.Is(err, image.ErrForbidden) {
		t.Errorf("Put = %v, want forbidden", err)
	}
	if err := s.Delete(context.Background(), "http://h/x"); err != nil {
		t.Errorf("Delete = %v, want nothing done", err)
	}
	if !s.ReadOnly() || s.Name() != "web" {
		t.Error("identity of the store")
	}
}
