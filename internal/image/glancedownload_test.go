package image

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/auth"
)

// fakeRemote is an image service of another region holding one image.
type fakeRemote struct {
	img    RemoteImage
	data   string
	getErr error
	tokens []string
}

func (r *fakeRemote) Get(_ context.Context, token string, src RemoteSource) (RemoteImage, error) {
	r.tokens = append(r.tokens, token)
	if r.getErr != nil {
		return RemoteImage{}, r.getErr
	}
	return r.img, nil
}

func (r *fakeRemote) Open(_ context.Context, token string, src RemoteSource) (io.ReadCloser, error) {
	r.tokens = append(r.tokens, token)
	return io.NopCloser(strings.NewReader(r.data)), nil
}

func remoteFixture(r *fakeRemote) *dpFixture {
	f := newDPFixture(Config{ImportMethods: []string{MethodGlanceDownload},
		DiskFormats: []string{"raw", "qcow2", "iso"}, ContainerFormats: []string{"bare", "ovf"},
		GlanceDownloadProperties: []string{"hw_", "trait:", "os_distro"}}, Queued)
	f.svc.remote = r
	img := f.store.imgs["img"]
	img.Properties = map[string]string{"hw_cpu_cores": "1", "os_distro": "windows", "mine": "kept"}
	f.store.imgs["img"] = img
	return f
}

func remoteCtx() context.Context {
	return auth.WithCaller(context.Background(), &auth.Caller{Token: "user-token", ProjectID: "p1", UserID: "u1",
		Roles: []auth.Role{{Name: "member"}}})
}

const remoteID = "36d4b546-64a2-4bb9-bdd0-ba676aa48f2c"

func TestGlanceDownloadImport(t *testing.T) {
	t.Parallel()
	r := &fakeRemote{data: "remote image data", img: RemoteImage{Status: "active", DiskFormat: "iso",
		ContainerFormat: "ovf", Properties: map[string]string{"hw_cpu_cores": "5", "trait:STORAGE_DISK_SSD": "required",
			"os_distro": "rhel", "speed": "88mph", "os_glance_import_task": "x"}}}
	f := remoteFixture(r)
	err := importSync(remoteCtx(), f.svc, "img", ImportRequest{Method: MethodGlanceDownload,
		Remote: RemoteSource{ImageID: remoteID, Region: "RegionOne"}})
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	img, _ := f.store.GetImage(context.Background(), "img")
	want := map[string]string{"hw_cpu_cores": "5", "trait:STORAGE_DISK_SSD": "required", "os_distro": "rhel", "mine": "kept",
		propImportingTo: "", propFailedImport: ""}
	if img.Status != Active || img.DiskFormat != "iso" || img.ContainerFormat != "ovf" || *img.Size != int64(len(r.data)) ||
		len(img.Properties) != len(want) {
		t.Fatalf("image after glance-download = %+v", img)
	}
	for k, v := range want {
		if img.Properties[k] != v {
			t.Errorf("property %s = %q, want %q", k, img.Properties[k], v)
		}
	}
	if len(r.tokens) != 2 || r.tokens[0] != "user-token" || r.tokens[1] != "user-token" {
		t.Errorf("remote called with tokens %v, want the caller's twice", r.tokens)
	}
}

func TestGlanceDownloadFailureRestoresImage(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name   string
		remote *fakeRemote
		msg    string
	}{
		{"no such region", &fakeRemote{getErr: errors.New("no suitable endpoint")}, "no suitable endpoint"},
		{"source not active", &fakeRemote{img: RemoteImage{Status: "queued", DiskFormat: "raw", ContainerFormat: "bare"}}, "only active images"},
		{"format not accepted", &fakeRemote{img: RemoteImage{Status: "active", DiskFormat: "vhd", ContainerFormat: "bare"}}, "does not accept"},
		{"unsafe data", &fakeRemote{data: "UNSAFE", img: RemoteImage{Status: "active", DiskFormat: "raw",
			ContainerFormat: "bare", Properties: map[string]string{"hw_cpu_cores": "8"}}}, "not acceptable"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := remoteFixture(c.remote)
			err := importSync(remoteCtx(), f.svc, "img", ImportRequest{Method: MethodGlanceDownload,
				Remote: RemoteSource{ImageID: remoteID, Region: "RegionOne", Interface: "public"}})
			if err == nil || !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("import = %v, want a failure containing %q", err, c.msg)
			}
			img, _ := f.store.GetImage(context.Background(), "img")
			if img.Status != Queued || img.DiskFormat != "raw" || img.Properties["hw_cpu_cores"] != "1" ||
				img.Properties["os_distro"] != "windows" || img.Properties[propFailedImport] != "file" ||
				img.Properties[propImportingTo] != "" || img.Properties[propImportTask] != "" || f.backend.count() != 0 {
				t.Fatalf("image after failed glance-download = %+v", img)
			}
		})
	}
}

func TestGlanceDownloadRefusedAtOnce(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		src RemoteSource
		msg string
	}{
		{RemoteSource{ImageID: "foo", Region: "RegionOne"}, "image id does not look like a UUID"},
		{RemoteSource{ImageID: remoteID}, "'glance_region' needs to be set"},
		{RemoteSource{Region: "RegionOne"}, "'glance_image_id' needs to be set"},
	} {
		f := remoteFixture(&fakeRemote{})
		err := f.svc.Import(remoteCtx(), "img", ImportRequest{Method: MethodGlanceDownload, Remote: c.src})
		if !errors.Is(err, ErrValidation) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("import from %+v = %v, want a validation error containing %q", c.src, err, c.msg)
		}
		if img, _ := f.store.GetImage(context.Background(), "img"); img.Status != Queued {
			t.Errorf("status %s after a refused import", img.Status)
		}
	}
}

// blockingFetch is a web-download source that sends nothing until its
// request is cancelled.
func blockingFetch(started chan<- struct{}) func(ctx context.Context, uri string) (io.ReadCloser, error) {
	return func(ctx context.Context, uri string) (io.ReadCloser, error) {
		close(started)
		<-ctx.Done()
		return nil, ctx.Err()
	}
}

func TestImportRunsAfterTheAnswerAndCloseEndsIt(t *testing.T) {
	t.Parallel()
	f := newDPFixture(Config{ImportMethods: []string{MethodWebDownload}, WebDownloadAllowedHosts: []string{"h"}}, Queued)
	started := make(chan struct{})
	f.svc.fetch = blockingFetch(started)
	if err := f.svc.Import(dpCtx(), "img", ImportRequest{Method: MethodWebDownload, URI: "http://h/x"}); err != nil {
		t.Fatalf("Import: %v", err)
	}
	<-started
	if img, _ := f.store.GetImage(context.Background(), "img"); img.Status != Importing {
		t.Fatalf("status %s while the import runs, want importing", img.Status)
	}
	if err := f.svc.Import(dpCtx(), "img", ImportRequest{Method: MethodWebDownload, URI: "http://h/x"}); !errors.Is(err, ErrConflict) {
		t.Errorf("second import while the first runs: %v, want conflict", err)
	}
	if err := f.svc.Close(); err != nil {
		t.Fatal(err)
	}
	img, _ := f.store.GetImage(context.Background(), "img")
	if img.Status != Queued || img.Properties[propFailedImport] != "file" || f.backend.count() != 0 {
		t.Fatalf("image after Close interrupted its import = %+v", img)
	}
}
