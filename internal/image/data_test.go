package image

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/auth"
)

// dpStore is an in-memory Store of images for the data path tests.
type dpStore struct {
	Store // members and lists are not used here
	mu    sync.Mutex
	imgs  map[string]Image
	// beforeUpdate runs before each UpdateImage (to delete mid-upload).
	beforeUpdate func(img Image)
}

func (s *dpStore) GetImage(_ context.Context, id string) (Image, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	img, ok := s.imgs[id]
	if !ok {
		return Image{}, ErrNotFound
	}
	return img, nil
}

func (s *dpStore) UpdateImage(_ context.Context, img Image, from ...Status) error {
	if s.beforeUpdate != nil {
		s.beforeUpdate(img)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.imgs[img.ID]
	if !ok {
		return ErrNotFound
	}
	if len(from) > 0 && !containsStatus(from, cur.Status) {
		return ErrConflict
	}
	s.imgs[img.ID] = img
	return nil
}

func containsStatus(list []Status, s Status) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (s *dpStore) DeleteImage(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.imgs, id)
	return nil
}

func (s *dpStore) Usage(_ context.Context, owner string) (int64, int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n, total int64
	for _, img := range s.imgs {
		if img.Owner == owner {
			n++
			if img.Size != nil {
				total += *img.Size
			}
		}
	}
	return n, total, nil
}

func (s *dpStore) GetMember(context.Context, string, string) (Member, error) {
	return Member{}, ErrNotFound
}

// dpBackend keeps data in memory; Put fails without keeping anything when
// its reader fails, as the contract says.
type dpBackend struct {
	name string
	mu   sync.Mutex
	data map[string][]byte
}

func newDPBackend(name string) *dpBackend { return &dpBackend{name: name, data: map[string][]byte{}} }

func (b *dpBackend) Name() string { return b.name }

func (b *dpBackend) Put(ctx context.Context, id string, r io.Reader) (string, error) {
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, r); err != nil {
		return "", fmt.Errorf("put %s: %w", id, err)
	}
	loc := b.name + "://" + id
	b.mu.Lock()
	defer b.mu.Unlock()
	b.data[loc] = buf.Bytes()
	return loc, nil
}

func (b *dpBackend) Open(_ context.Context, loc string) (io.ReadSeekCloser, int64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	d, ok := b.data[loc]
	if !ok {
		return nil, 0, ErrNotFound
	}
	return nopSeekCloser{bytes.NewReader(d)}, int64(len(d)), nil
}

func (b *dpBackend) Delete(_ context.Context, loc string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.data, loc)
	return nil
}

func (b *dpBackend) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.data)
}

type nopSeekCloser struct{ *bytes.Reader }

func (nopSeekCloser) Close() error { return nil }

// dpInspector refuses data containing "UNSAFE" and reports twice the size as
// the virtual size.
type dpInspector struct {
	n      int64
	unsafe bool
}

func (i *dpInspector) Write(p []byte) (int, error) {
	i.n += int64(len(p))
	if bytes.Contains(p, []byte("UNSAFE")) {
		i.unsafe = true
	}
	return len(p), nil
}

func (i *dpInspector) Result() (InspectResult, error) {
	if i.unsafe {
		return InspectResult{}, errors.New("qcow2 image has a backing file")
	}
	return InspectResult{Format: "raw", VirtualSize: 2 * i.n}, nil
}

// failingReader returns its data, then fails: a client gone mid-upload.
type failingReader struct {
	r io.Reader
}

func (f *failingReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, errors.New("connection reset by peer")
	}
	return n, err
}

type dpFixture struct {
	svc              *Service
	store            *dpStore
	backend, staging *dpBackend
}

func newDPFixture(cfg Config, status Status) *dpFixture {
	st := &dpStore{imgs: map[string]Image{
		"img": {ID: "img", Status: status, Owner: "p1", Visibility: Private, DiskFormat: "raw", ContainerFormat: "bare"},
	}}
	f := &dpFixture{store: st, backend: newDPBackend("file"), staging: newDPBackend("staging")}
	f.svc = New(cfg, Deps{Store: st, Backend: f.backend, Staging: f.staging,
		Inspect: func(string) Inspector { return &dpInspector{} }})
	return f
}

func dpCtx() context.Context {
	return auth.WithCaller(context.Background(), &auth.Caller{ProjectID: "p1", UserID: "u1",
		Roles: []auth.Role{{Name: "member"}}})
}

func TestUploadData(t *testing.T) {
	t.Parallel()
	data := strings.Repeat("nimbus image data ", 100000)
	md := md5.Sum([]byte(data))
	sh := sha512.Sum512([]byte(data))
	f := newDPFixture(Config{ImageSizeCap: 1 << 30}, Queued)
	if err := f.svc.UploadData(dpCtx(), "img", strings.NewReader(data), int64(len(data))); err != nil {
		t.Fatalf("UploadData: %v", err)
	}
	img, _ := f.store.GetImage(context.Background(), "img")
	if img.Status != Active || img.Size == nil || *img.Size != int64(len(data)) ||
		img.VirtualSize == nil || *img.VirtualSize != 2*int64(len(data)) ||
		img.Checksum != hex.EncodeToString(md[:]) || img.HashAlgo != "sha512" ||
		img.HashValue != hex.EncodeToString(sh[:]) || img.Location == "" || len(img.Stores) != 1 {
		t.Fatalf("image after upload = %+v", img)
	}
	d, err := f.svc.DownloadData(dpCtx(), "img")
	if err != nil {
		t.Fatalf("DownloadData: %v", err)
	}
	got, _ := io.ReadAll(d.Body)
	if string(got) != data {
		t.Fatal("downloaded data differ")
	}
	if err := f.svc.UploadData(dpCtx(), "img", strings.NewReader("x"), 1); !errors.Is(err, ErrConflict) {
		t.Fatalf("upload to active image: %v, want conflict", err)
	}
}

func TestUploadDataRefused(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		cfg    Config
		status Status
		body   io.Reader
		size   int64
		kind   error
		msg    string
	}{
		{"short of declared size", Config{}, Queued, strings.NewReader("abc"), 10, ErrValidation, "does not match"},
		{"over declared size", Config{}, Queued, strings.NewReader("abcdef"), 3, ErrValidation, "does not match"},
		{"declared over cap", Config{ImageSizeCap: 5}, Queued, strings.NewReader("abc"), 10, ErrTooLarge, "too large"},
		{"stream over cap", Config{ImageSizeCap: 5}, Queued, strings.NewReader("abcdefgh"), -1, ErrTooLarge, "too large"},
		{"over quota", Config{UserStorageQuota: 4}, Queued, strings.NewReader("abcdefgh"), -1, ErrTooLarge, "storage quota"},
		{"declared over quota", Config{UserStorageQuota: 4}, Queued, strings.NewReader("abcdefgh"), 8, ErrTooLarge, "storage quota"},
		{"unsafe image", Config{}, Queued, strings.NewReader("QFI UNSAFE backing"), -1, ErrUnsupported, "backing file"},
		{"disconnect", Config{}, Queued, &failingReader{strings.NewReader("partial")}, -1, ErrValidation, "connection reset"},
		{"active image", Config{}, Active, strings.NewReader("abc"), -1, ErrConflict, "from active to saving"},
		{"saving image", Config{}, Saving, strings.NewReader("abc"), -1, ErrConflict, "not allowed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := newDPFixture(c.cfg, c.status)
			err := f.svc.UploadData(dpCtx(), "img", c.body, c.size)
			if !errors.Is(err, c.kind) || !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("UploadData = %v; want %v containing %q", err, c.kind, c.msg)
			}
			img, _ := f.store.GetImage(context.Background(), "img")
			if img.Status != c.status || img.Size != nil || img.Location != "" {
				t.Errorf("image after refusal = %+v; want status %s and no data", img, c.status)
			}
			if n := f.backend.count(); n != 0 {
				t.Errorf("%d data objects left behind", n)
			}
		})
	}
}

func TestUploadDeletedDuringUpload(t *testing.T) {
	t.Parallel()
	f := newDPFixture(Config{}, Queued)
	f.store.beforeUpdate = func(img Image) {
		if img.Status == Active {
			_ = f.store.DeleteImage(context.Background(), img.ID)
		}
	}
	err := f.svc.UploadData(dpCtx(), "img", strings.NewReader("data"), -1)
	if !errors.Is(err, ErrGone) {
		t.Fatalf("UploadData = %v; want gone", err)
	}
	if n := f.backend.count(); n != 0 {
		t.Errorf("%d data objects left behind", n)
	}
}

func TestDownloadData(t *testing.T) {
	t.Parallel()
	f := newDPFixture(Config{}, Queued)
	if _, err := f.svc.DownloadData(dpCtx(), "img"); !errors.Is(err, ErrNoData) {
		t.Fatalf("download of queued image: %v", err)
	}
	if err := f.svc.UploadData(dpCtx(), "img", strings.NewReader("data"), -1); err != nil {
		t.Fatal(err)
	}
	img, _ := f.store.GetImage(context.Background(), "img")
	img.Status = Deactivated
	_ = f.store.UpdateImage(context.Background(), img)
	if _, err := f.svc.DownloadData(dpCtx(), "img"); !errors.Is(err, ErrForbidden) {
		t.Fatalf("download of deactivated image: %v", err)
	}
	admin := auth.WithCaller(context.Background(), &auth.Caller{ProjectID: "p2", Roles: []auth.Role{{Name: "admin"}}})
	d, err := f.svc.DownloadData(admin, "img")
	if err != nil || d.Size != 4 {
		t.Fatalf("admin download of deactivated image: %v", err)
	}
	other := auth.WithCaller(context.Background(), &auth.Caller{ProjectID: "p2", Roles: []auth.Role{{Name: "member"}}})
	if _, err := f.svc.DownloadData(other, "img"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("download of another project's private image: %v", err)
	}
}

func TestStageAndImport(t *testing.T) {
	t.Parallel()
	cfg := Config{ImportMethods: []string{MethodGlanceDirect}}
	f := newDPFixture(cfg, Queued)
	ctx := dpCtx()
	if err := importSync(ctx, f.svc, "img", ImportRequest{Method: MethodGlanceDirect}); !errors.Is(err, ErrConflict) {
		t.Fatalf("import before staging: %v", err)
	}
	if err := f.svc.StageData(ctx, "img", strings.NewReader("staged data"), -1); err != nil {
		t.Fatalf("StageData: %v", err)
	}
	img, _ := f.store.GetImage(ctx, "img")
	if img.Status != Uploading || *img.Size != 11 || f.staging.count() != 1 {
		t.Fatalf("after stage: %+v", img)
	}
	if err := importSync(ctx, f.svc, "img", ImportRequest{Method: MethodWebDownload}); !errors.Is(err, ErrValidation) {
		t.Fatalf("disabled method: %v", err)
	}
	if err := importSync(ctx, f.svc, "img", ImportRequest{Method: MethodGlanceDirect}); err != nil {
		t.Fatalf("Import: %v", err)
	}
	img, _ = f.store.GetImage(ctx, "img")
	if img.Status != Active || img.Checksum == "" || f.staging.count() != 0 || f.backend.count() != 1 {
		t.Fatalf("after import: %+v, staged %d, stored %d", img, f.staging.count(), f.backend.count())
	}
}

func TestImportUnsafeStagedData(t *testing.T) {
	t.Parallel()
	f := newDPFixture(Config{ImportMethods: []string{MethodGlanceDirect}}, Queued)
	ctx := dpCtx()
	if err := f.svc.StageData(ctx, "img", strings.NewReader("UNSAFE"), -1); err != nil {
		t.Fatal(err)
	}
	if err := importSync(ctx, f.svc, "img", ImportRequest{Method: MethodGlanceDirect}); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("import of unsafe data: %v", err)
	}
	img, _ := f.store.GetImage(ctx, "img")
	if img.Status != Queued || f.staging.count() != 0 || f.backend.count() != 0 {
		t.Fatalf("after refused import: %+v", img)
	}
}

func TestStageDisabled(t *testing.T) {
	t.Parallel()
	f := newDPFixture(Config{}, Queued)
	if err := f.svc.StageData(dpCtx(), "img", strings.NewReader("x"), -1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("stage with glance-direct off: %v", err)
	}
}

func TestWebDownloadFilter(t *testing.T) {
	t.Parallel()
	s := New(Config{WebDownloadAllowedHosts: []string{"images.example.org"}}, Deps{})
	for uri, want := range map[string]bool{
		"https://images.example.org/cirros.img": true,
		"http://IMAGES.example.org:8080/x":      true,
		"https://evil.example.org/x":            false,
		"file:///etc/passwd":                    false,
		"ftp://images.example.org/x":            false,
		"not a uri":                             false,
	} {
		if got := s.allowedURI(uri); got != want {
			t.Errorf("allowedURI(%q) = %v, want %v", uri, got, want)
		}
	}
}
