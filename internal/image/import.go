package image

import (
	"context"
	"errors"
	"io"
	"maps"
	"net/url"
	"slices"
	"strings"
)

// Import method names, as glance's enabled_import_methods names them.
const (
	MethodGlanceDirect = "glance-direct"
	MethodWebDownload  = "web-download"
	// MethodGlanceDownload copies an image from another region's image service.
	MethodGlanceDownload = "glance-download"
)

// ImportRequest is the body of POST /v2/images/{id}/import.
type ImportRequest struct {
	Method string
	// URI is web-download's source.
	URI string
	// Remote names glance-download's source.
	Remote RemoteSource
	// Stores, AllStores and StoreHeader (X-Image-Meta-Store) choose the
	// stores to import to: the default store when none is set.
	Stores      []string
	AllStores   bool
	StoreHeader string
	// AllStoresMustSucceed, true when nil, fails the whole import when one
	// store fails; otherwise the image is active in the stores that worked.
	AllStoresMustSucceed *bool
	// RequestID is the API request's id, recorded on the import's task.
	RequestID string
}

// StoreInfo is one entry of GET /v2/info/stores.
type StoreInfo struct {
	ID       string
	Default  bool
	ReadOnly bool
}

// ImportMethods lists the enabled import methods (GET /v2/info/import).
func (s *Service) ImportMethods() []string { return slices.Clone(s.cfg.ImportMethods) }

// StageData streams body into the staging area as image id's data (PUT
// /v2/images/{id}/stage): queued -> uploading. Format inspection and hashing
// happen at import, when the data moves into the backend. On failure the
// image is back in queued and nothing stays staged.
func (s *Service) StageData(ctx context.Context, id string, body io.Reader, size int64) error {
	if !slices.Contains(s.cfg.ImportMethods, MethodGlanceDirect) || s.staging == nil {
		return errorf(ErrNotFound, "'glance-direct' method is not available at this site.")
	}
	img, member, err := s.visibleImage(ctx, id)
	if err != nil {
		return err
	}
	if err := s.authorizeImage(ctx, RuleModifyImage, img, member); err != nil {
		return err
	}
	if err := readyForData(img, Uploading); err != nil {
		return err
	}
	limit, err := s.uploadLimit(ctx, img.Owner, size)
	if err != nil {
		return err
	}
	img.Status = Uploading
	if err := s.store.UpdateImage(ctx, img, Queued); err != nil {
		return s.casError(err, id, Uploading)
	}
	w, err := s.write(ctx, s.staging, img, body, size, limit, false)
	if err != nil {
		s.restore(ctx, id, Uploading)
		return err
	}
	return s.staged(ctx, id, w)
}

// staged records the staged data's size and location on image id, still
// uploading; an image deleted meanwhile has its staged data removed (410).
func (s *Service) staged(ctx context.Context, id string, w written) error {
	ctx = context.WithoutCancel(ctx)
	img, err := s.store.GetImage(ctx, id)
	if err == nil && img.Status == Uploading {
		size := w.size
		img.Size, img.Location = &size, w.location
		img.UpdatedAt = s.now().UTC()
		err = s.store.UpdateImage(ctx, img, Uploading)
	} else if err == nil {
		err = ErrConflict
	}
	if err == nil {
		return nil
	}
	if derr := s.staging.Delete(ctx, w.location); derr != nil {
		s.log.Error("delete staged data", "image_id", id, "error", derr)
	}
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrConflict) {
		return errorf(ErrGone, "Image %s could not be found after staging. The image may have been deleted during the upload.", id)
	}
	return err
}

// Import starts importing image id's data by req's method (POST
// /v2/images/{id}/import) and returns once the import is accepted: the image
// is claimed (importing, with os_glance_import_task and
// os_glance_importing_to_stores set) and an api_image_import task records the
// work, which runs in the background. When it fails, the image is back where
// it was (queued, with its own properties), the task says why and
// os_glance_failed_import names the store; glance-direct's staged data is
// dropped.
func (s *Service) Import(ctx context.Context, id string, req ImportRequest) error {
	if req.Method == "" {
		return errorf(ErrValidation, "Import request requires a 'name' field.")
	}
	if !slices.Contains(s.cfg.ImportMethods, req.Method) {
		return errorf(ErrValidation, "Unknown import method name '%s'.", req.Method)
	}
	img, member, err := s.visibleImage(ctx, id)
	if err != nil {
		return err
	}
	rule := RuleModifyImage
	if req.Method == MethodCopyImage {
		rule = RuleCopyImage
	}
	if err := s.authorizeImage(ctx, rule, img, member); err != nil {
		return err
	}
	if err := importable(img, req.Method); err != nil {
		return err
	}
	stores, err := s.importStores(img, req)
	if err != nil {
		return err
	}
	var run func(ctx context.Context, img Image, store Backend) error
	switch req.Method {
	case MethodGlanceDirect:
		run = s.importStaged
	case MethodWebDownload:
		if !s.allowedURI(req.URI) {
			return errorf(ErrValidation, "URI for web-download does not pass filtering: %s", req.URI)
		}
		if s.fetch == nil {
			return errorf(ErrNotFound, "'%s' method is not available at this site.", MethodWebDownload)
		}
		run = func(ctx context.Context, img Image, b Backend) error { return s.importWeb(ctx, img, b, req.URI) }
	case MethodGlanceDownload:
		if err := s.checkRemote(&req.Remote); err != nil {
			return err
		}
		run = func(ctx context.Context, img Image, b Backend) error { return s.importRemote(ctx, img, b, req.Remote) }
	case MethodCopyImage:
		if len(stores) == 0 {
			// Every store has the image already: nothing to copy. The
			// image says so the way a finished copy does.
			return s.nothingToCopy(ctx, img)
		}
	default:
		return errorf(ErrValidation, "Unknown import method name '%s'.", req.Method)
	}
	from := img.Status
	taskID := s.newID()
	if req.Method != MethodCopyImage {
		img.Status = Importing
	}
	img.Properties = maps.Clone(img.Properties)
	if img.Properties == nil {
		img.Properties = map[string]string{}
	}
	img.Properties[propImportTask] = taskID
	img.Properties[propImportingTo] = strings.Join(stores, ",")
	img.Properties[propFailedImport] = ""
	img.UpdatedAt = s.now().UTC()
	if err := s.store.UpdateImage(ctx, img, from); err != nil {
		return s.casError(err, img.ID, img.Status)
	}
	t, recorded := s.startTask(ctx, taskID, img, req, stores)
	// The import outlives the request: it keeps the caller (whose token
	// glance-download uses) but not the request's cancellation, and ends when
	// the service closes.
	bctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(s.bgCtx, cancel)
	s.goRun(func() {
		defer cancel()
		defer stop()
		var err error
		rest := stores
		if run != nil {
			err, rest = run(bctx, img, s.stores[stores[0]]), stores[1:]
		}
		if err == nil && len(rest) > 0 {
			err = s.copyToStores(bctx, img.ID, rest, req.mustSucceed())
		}
		if err != nil {
			s.log.Info("image import failed", "image_id", img.ID, "method", req.Method, "error", err)
			if errors.Is(err, context.Canceled) && s.bgCtx.Err() != nil {
				err = errorf(ErrConflict, "The import was interrupted because the image service stopped; import the image again.")
			}
		}
		if recorded {
			s.finishTask(context.WithoutCancel(bctx), t, err)
		}
		if s.onImport != nil {
			s.onImport(img.ID, err)
		}
	})
	return nil
}

// Properties glance keeps on an image while and after it imports.
const (
	propImportTask   = "os_glance_import_task"
	propImportingTo  = "os_glance_importing_to_stores"
	propFailedImport = "os_glance_failed_import"
)

// importable is glance's check of an image's status and formats for method.
func importable(img Image, method string) error {
	switch {
	case method == MethodCopyImage && img.Status != Active:
		return errorf(ErrConflict, "Only images with status active can be targeted for copying")
	case method == MethodCopyImage && img.Properties[propImportTask] != "":
		return errorf(ErrConflict, "Image %s is being copied already; try again when it is done.", img.ID)
	case method == MethodCopyImage:
		return nil
	case img.Status == Active:
		return errorf(ErrConflict, "Image with status active cannot be target for import")
	case (method == MethodWebDownload || method == MethodGlanceDownload) && img.Status != Queued:
		return errorf(ErrConflict, "Image needs to be in 'queued' state to use '%s' method", method)
	case method == MethodGlanceDirect && img.Status != Uploading:
		return errorf(ErrConflict, "Image needs to be staged before 'glance-direct' method can be used")
	case img.ContainerFormat == "":
		return errorf(ErrConflict, "'container_format' needs to be set before import")
	case img.DiskFormat == "":
		return errorf(ErrConflict, "'disk_format' needs to be set before import")
	}
	return nil
}

// importStaged moves img's staged data into the backend; img is importing.
func (s *Service) importStaged(ctx context.Context, img Image, b Backend) error {
	staged := img.Location
	fail := func(err error) error {
		if derr := s.staging.Delete(context.WithoutCancel(ctx), staged); derr != nil {
			s.log.Error("delete staged data", "image_id", img.ID, "error", derr)
		}
		s.restore(ctx, img.ID, Importing)
		return err
	}
	r, size, err := s.staging.Open(ctx, staged)
	if err != nil {
		return fail(errorf(ErrConflict, "The staged data of image %s is gone; stage it again.", img.ID))
	}
	defer r.Close()
	limit := int64(-1)
	if s.cfg.ImageSizeCap > 0 {
		limit = s.cfg.ImageSizeCap
	}
	w, err := s.write(ctx, b, img, r, size, limit, true)
	if err != nil {
		return fail(err)
	}
	if err := s.activate(ctx, img.ID, Importing, w); err != nil {
		return fail(err)
	}
	if err := s.staging.Delete(context.WithoutCancel(ctx), staged); err != nil {
		s.log.Error("delete staged data after import", "image_id", img.ID, "error", err)
	}
	return nil
}

// allowedURI is glance's import filter for web-download: an http(s) URI whose
// host is one of web_download_allowed_hosts.
func (s *Service) allowedURI(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return false
	}
	host := strings.ToLower(u.Hostname())
	return slices.ContainsFunc(s.cfg.WebDownloadAllowedHosts, func(h string) bool { return strings.EqualFold(h, host) })
}
