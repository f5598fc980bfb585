package image

import (
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
)

// failingBackend is a store whose writes fail.
type failingBackend struct{ *dpBackend }

func (b failingBackend) Put(context.Context, string, io.Reader) (string, error) {
	return "", errors.New("disk full")
}

// storesFixture is a data path fixture whose site has a second store, cheap,
// besides the default one, file.
func storesFixture(cfg Config, status Status, cheap Backend) *dpFixture {
	f := newDPFixture(cfg, status)
	f.svc = New(cfg, Deps{Store: f.store, Backend: f.backend, Staging: f.staging, OtherStores: []Backend{cheap},
		Inspect: func(string) Inspector { return &dpInspector{} }})
	return f
}

func TestInfoStoresListsEveryStoreDefaultFirst(t *testing.T) {
	t.Parallel()
	f := storesFixture(Config{}, Queued, newDPBackend("cheap"))
	got := f.svc.Stores()
	if len(got) != 2 || got[0] != (StoreInfo{ID: "file", Default: true}) || got[1] != (StoreInfo{ID: "cheap"}) {
		t.Fatalf("Stores() = %+v", got)
	}
}

func TestCopyImageToAllStores(t *testing.T) {
	t.Parallel()
	cheap := newDPBackend("cheap")
	f := storesFixture(Config{ImportMethods: []string{MethodCopyImage}}, Queued, cheap)
	ctx := dpCtx()
	if err := f.svc.UploadData(ctx, "img", strings.NewReader("image bytes"), -1); err != nil {
		t.Fatalf("upload: %v", err)
	}
	if err := importSync(ctx, f.svc, "img", ImportRequest{Method: MethodCopyImage, AllStores: true}); err != nil {
		t.Fatalf("copy-image: %v", err)
	}
	img, _ := f.store.GetImage(ctx, "img")
	if img.Status != Active || !slices.Equal(img.Stores, []string{"file", "cheap"}) || len(img.Copies) != 2 ||
		cheap.count() != 1 || img.Properties[propImportingTo] != "" || img.Properties[propImportTask] != "" {
		t.Fatalf("image after copy-image = %+v", img)
	}
	// Every store has it now: all_stores has nothing left to do, naming a
	// store that has it is refused.
	if err := importSync(ctx, f.svc, "img", ImportRequest{Method: MethodCopyImage, AllStores: true}); err != nil {
		t.Errorf("copy-image when every store has the image: %v", err)
	}
	if img, _ := f.store.GetImage(ctx, "img"); img.Properties[propImportingTo] != "" || img.Properties[propFailedImport] != "" ||
		len(img.Properties) != 2 {
		t.Errorf("after a copy with nothing to copy: properties %v, want both import properties empty", img.Properties)
	}
	err := importSync(ctx, f.svc, "img", ImportRequest{Method: MethodCopyImage, Stores: []string{"cheap"}})
	if !errors.Is(err, ErrValidation) || !strings.Contains(err.Error(), "already present at store 'cheap'") {
		t.Errorf("copy-image to a store that has the image: %v", err)
	}
	if err := f.svc.DeleteImage(ctx, "img"); err != nil {
		t.Fatal(err)
	}
	if f.backend.count() != 0 || cheap.count() != 0 {
		t.Errorf("after delete: %d copies in file, %d in cheap; want none", f.backend.count(), cheap.count())
	}
}

func TestImportToNamedStores(t *testing.T) {
	t.Parallel()
	cheap := newDPBackend("cheap")
	f := storesFixture(Config{ImportMethods: []string{MethodGlanceDirect}}, Queued, cheap)
	ctx := dpCtx()
	if err := f.svc.StageData(ctx, "img", strings.NewReader("staged"), -1); err != nil {
		t.Fatal(err)
	}
	if err := importSync(ctx, f.svc, "img", ImportRequest{Method: MethodGlanceDirect, Stores: []string{"cheap", "file"}}); err != nil {
		t.Fatalf("import: %v", err)
	}
	img, _ := f.store.GetImage(ctx, "img")
	if img.Status != Active || !slices.Equal(img.Stores, []string{"cheap", "file"}) || cheap.count() != 1 ||
		f.backend.count() != 1 || f.staging.count() != 0 || !strings.HasPrefix(img.Location, "cheap://") {
		t.Fatalf("image after import to cheap and file = %+v", img)
	}
	d, err := f.svc.DownloadData(ctx, "img")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Body.Close()
	if b, _ := io.ReadAll(d.Body); string(b) != "staged" {
		t.Errorf("download = %q", b)
	}
}

func TestImportStoreFailure(t *testing.T) {
	t.Parallel()
	for _, must := range []bool{true, false} {
		f := storesFixture(Config{ImportMethods: []string{MethodGlanceDirect}}, Queued, failingBackend{newDPBackend("cheap")})
		ctx := dpCtx()
		if err := f.svc.StageData(ctx, "img", strings.NewReader("staged"), -1); err != nil {
			t.Fatal(err)
		}
		err := importSync(ctx, f.svc, "img", ImportRequest{Method: MethodGlanceDirect, AllStores: true,
			AllStoresMustSucceed: &must})
		if err == nil || !strings.Contains(err.Error(), "disk full") {
			t.Fatalf("must succeed %v: import = %v, want the store's failure", must, err)
		}
		img, _ := f.store.GetImage(ctx, "img")
		failed := splitStores(img.Properties[propFailedImport])
		if must {
			if img.Status != Queued || img.Location != "" || f.backend.count() != 0 || !slices.Contains(failed, "cheap") {
				t.Errorf("all stores must succeed: image = %+v, %d copies left", img, f.backend.count())
			}
		} else if img.Status != Active || !slices.Equal(img.Stores, []string{"file"}) || !slices.Equal(failed, []string{"cheap"}) {
			t.Errorf("all stores need not succeed: image = %+v", img)
		}
		if img.Properties[propImportingTo] != "" || img.Properties[propImportTask] != "" {
			t.Errorf("import lock left behind: %+v", img.Properties)
		}
	}
}

func TestImportStoresRefused(t *testing.T) {
	t.Parallel()
	no := false
	cases := []struct {
		name  string
		multi bool
		req   ImportRequest
		kind  error
		msg   string
	}{
		{"unknown store", true, ImportRequest{Stores: []string{"nowhere"}}, ErrConflict, "Unknown store 'nowhere'"},
		{"unknown store header", true, ImportRequest{StoreHeader: "nowhere"}, ErrConflict, "Unknown store"},
		{"all_stores with stores", true, ImportRequest{AllStores: true, Stores: []string{"file"}}, ErrValidation, "can't be used with"},
		{"stores with the header", true, ImportRequest{Stores: []string{"file"}, StoreHeader: "cheap"}, ErrValidation, "can't be both specified"},
		{"no store", true, ImportRequest{Stores: []string{}}, ErrValidation, "names no store"},
		{"must succeed off with one store", false, ImportRequest{AllStoresMustSucceed: &no}, ErrValidation, "enabled_backends"},
	}
	for _, c := range cases {
		cfg := Config{ImportMethods: []string{MethodGlanceDirect}}
		f := newDPFixture(cfg, Queued)
		if c.multi {
			f = storesFixture(cfg, Queued, newDPBackend("cheap"))
		}
		ctx := dpCtx()
		if err := f.svc.StageData(ctx, "img", strings.NewReader("staged"), -1); err != nil {
			t.Fatal(err)
		}
		c.req.Method = MethodGlanceDirect
		err := f.svc.Import(ctx, "img", c.req)
		if !errors.Is(err, c.kind) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: Import = %v, want %v containing %q", c.name, err, c.kind, c.msg)
		}
		if img, _ := f.store.GetImage(ctx, "img"); img.Status != Uploading {
			t.Errorf("%s: status %s after a refused import, want uploading", c.name, img.Status)
		}
	}
}

func TestCopyImageNeedsAnActiveImage(t *testing.T) {
	t.Parallel()
	f := storesFixture(Config{ImportMethods: []string{MethodCopyImage}}, Queued, newDPBackend("cheap"))
	err := f.svc.Import(dpCtx(), "img", ImportRequest{Method: MethodCopyImage, AllStores: true})
	if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "Only images with status active") {
		t.Fatalf("copy-image of a queued image: %v", err)
	}
}

func TestUploadToNamedStore(t *testing.T) {
	t.Parallel()
	cheap := newDPBackend("cheap")
	f := storesFixture(Config{}, Queued, cheap)
	ctx := dpCtx()
	if err := f.svc.UploadDataTo(ctx, "img", "nowhere", strings.NewReader("x"), -1); !errors.Is(err, ErrValidation) {
		t.Fatalf("upload to an unknown store: %v", err)
	}
	if err := f.svc.UploadDataTo(ctx, "img", "cheap", strings.NewReader("x"), -1); err != nil {
		t.Fatal(err)
	}
	if img, _ := f.store.GetImage(ctx, "img"); !slices.Equal(img.Stores, []string{"cheap"}) || cheap.count() != 1 {
		t.Fatalf("image after upload to cheap = %+v", img)
	}
}
