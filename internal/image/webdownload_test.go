package image

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"
)

// webFixture is a data path fixture with web-download enabled for
// images.example.org and a fetcher serving body (or failing with fetchErr).
func webFixture(cfg Config, body io.Reader, fetchErr error) (*dpFixture, *[]string) {
	var fetched []string
	cfg.ImportMethods = []string{MethodWebDownload}
	cfg.WebDownloadAllowedHosts = []string{"images.example.org"}
	f := newDPFixture(cfg, Queued)
	f.svc.fetch = func(_ context.Context, uri string) (io.ReadCloser, error) {
		fetched = append(fetched, uri)
		if fetchErr != nil {
			return nil, fetchErr
		}
		return io.NopCloser(body), nil
	}
	return f, &fetched
}

func TestWebDownloadImport(t *testing.T) {
	t.Parallel()
	data := strings.Repeat("web image ", 5000)
	f, fetched := webFixture(Config{}, strings.NewReader(data), nil)
	req := ImportRequest{Method: MethodWebDownload, URI: "https://images.example.org/cirros.img"}
	if err := importSync(dpCtx(), f.svc, "img", req); err != nil {
		t.Fatalf("Import: %v", err)
	}
	img, _ := f.store.GetImage(context.Background(), "img")
	md := md5.Sum([]byte(data))
	if img.Status != Active || img.Size == nil || *img.Size != int64(len(data)) ||
		img.Checksum != hex.EncodeToString(md[:]) || img.VirtualSize == nil || f.backend.count() != 1 {
		t.Fatalf("image after web-download = %+v", img)
	}
	if len(*fetched) != 1 || (*fetched)[0] != req.URI {
		t.Errorf("fetched %v", *fetched)
	}
	if err := importSync(dpCtx(), f.svc, "img", req); !errors.Is(err, ErrConflict) {
		t.Errorf("second import of an active image: %v, want conflict", err)
	}
}

func TestWebDownloadRefused(t *testing.T) {
	t.Parallel()
	good := "https://images.example.org/x.img"
	cases := []struct {
		name     string
		cfg      Config
		uri      string
		body     io.Reader
		fetchErr error
		kind     error
		msg      string
		fetches  int
	}{
		{"host not allowed", Config{}, "https://evil.example.org/x", strings.NewReader("x"), nil, ErrValidation, "does not pass filtering", 0},
		{"fetch fails", Config{}, good, nil, errors.New("source answered 404 Not Found"), ErrValidation, "404", 1},
		{"source over cap", Config{ImageSizeCap: 5}, good, strings.NewReader("abcdefgh"), nil, ErrTooLarge, "too large", 1},
		{"source over quota", Config{UserStorageQuota: 4}, good, strings.NewReader("abcdefgh"), nil, ErrTooLarge, "storage quota", 1},
		{"unsafe data", Config{}, good, strings.NewReader("QFI UNSAFE"), nil, ErrUnsupported, "backing file", 1},
		{"source breaks off", Config{}, good, &failingReader{strings.NewReader("part")}, nil, ErrValidation, "connection reset", 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f, fetched := webFixture(c.cfg, c.body, c.fetchErr)
			err := importSync(dpCtx(), f.svc, "img", ImportRequest{Method: MethodWebDownload, URI: c.uri})
			if !errors.Is(err, c.kind) || !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("Import = %v; want %v containing %q", err, c.kind, c.msg)
			}
			img, _ := f.store.GetImage(context.Background(), "img")
			if img.Status != Queued || img.Size != nil || img.Location != "" || f.backend.count() != 0 {
				t.Errorf("image after refusal = %+v, %d objects stored; want queued and no data", img, f.backend.count())
			}
			if len(*fetched) != c.fetches {
				t.Errorf("fetched %d times, want %d", len(*fetched), c.fetches)
			}
		})
	}
}

func TestWebDownloadWithoutFetcher(t *testing.T) {
	t.Parallel()
	f := newDPFixture(Config{ImportMethods: []string{MethodWebDownload}, WebDownloadAllowedHosts: []string{"h"}}, Queued)
	err := importSync(dpCtx(), f.svc, "img", ImportRequest{Method: MethodWebDownload, URI: "http://h/x"})
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("Import without a fetcher = %v; want not found", err)
	}
	if img, _ := f.store.GetImage(context.Background(), "img"); img.Status != Queued {
		t.Errorf("status %s after refusal", img.Status)
	}
}
