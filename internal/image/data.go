package image

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
)

// Policy rules of the data path, as glance's policies name them.
const (
	RuleUploadImage   = "upload_image"
	RuleDownloadImage = "download_image"
)

// ErrGone is an image deleted while its data was being written (410).
var ErrGone = errors.New("gone")

// Data is an image's data opened for download.
type Data struct {
	Image Image
	// Body reads and seeks the data; the caller closes it.
	Body io.ReadSeekCloser
	Size int64
}

// UploadData streams body into the backend as image id's data (PUT
// /v2/images/{id}/file). size is the size the client declared, -1 when it
// declared none. On any failure the image is back in queued and no data stays.
func (s *Service) UploadData(ctx context.Context, id string, body io.Reader, size int64) error {
	return s.UploadDataTo(ctx, id, "", body, size)
}

// UploadDataTo is UploadData into the named store (X-Image-Meta-Store); ""
// is the default store.
func (s *Service) UploadDataTo(ctx context.Context, id, store string, body io.Reader, size int64) error {
	b := s.backend
	if store != "" {
		var err error
		if b, err = s.storeOf(store); err != nil {
			if _, exists := s.stores[store]; exists {
				return err
			}
			return errorf(ErrValidation, "Store for identifier %s not found", store)
		}
	}
	img, member, err := s.visibleImage(ctx, id)
	if err != nil {
		return err
	}
	if err := s.authorizeImage(ctx, RuleUploadImage, img, member); err != nil {
		return err
	}
	if err := readyForData(img, Saving); err != nil {
		return err
	}
	limit, err := s.uploadLimit(ctx, img.Owner, size)
	if err != nil {
		return err
	}
	img.Status = Saving
	if err := s.store.UpdateImage(ctx, img, Queued); err != nil {
		return s.casError(err, id, Saving)
	}
	w, err := s.write(ctx, b, img, body, size, limit, true)
	if err != nil {
		s.restore(ctx, id, Saving)
		return err
	}
	return s.activate(ctx, id, Saving, w)
}

// written is what write stored and learned on the way.
type written struct {
	location    string
	size        int64
	virtualSize int64
	checksum    string
	hashValue   string
	store       string
}

// write streams body through a Tee into b under img's id, then checks the
// size against want (-1: any) and, when inspect is set, the format. Data that
// fails a check is deleted before write returns.
func (s *Service) write(ctx context.Context, b Backend, img Image, body io.Reader, want, limit int64, inspect bool) (written, error) {
	var insp Inspector
	if inspect && s.inspect != nil {
		insp = s.inspect(img.DiskFormat)
	}
	tee, err := NewTee(body, s.cfg.HashAlgo, insp, limit)
	if err != nil {
		return written{}, fmt.Errorf("upload image %s: %w", img.ID, err)
	}
	loc, err := b.Put(ctx, img.ID, tee)
	if err != nil {
		return written{}, s.putError(img.ID, tee, err)
	}
	cleanup := func(err error) (written, error) {
		if derr := b.Delete(context.WithoutCancel(ctx), loc); derr != nil {
			s.log.Error("delete refused image data", "image_id", img.ID, "error", derr)
		}
		return written{}, err
	}
	if want >= 0 && tee.Size() != want {
		return cleanup(errorf(ErrValidation, "Size of the uploaded data (%d bytes) does not match the declared size (%d bytes).",
			tee.Size(), want))
	}
	w := written{location: loc, size: tee.Size(), checksum: tee.Checksum(), hashValue: tee.HashValue(), store: b.Name()}
	if insp != nil {
		res, err := tee.Inspection()
		if err != nil {
			return cleanup(errorf(ErrUnsupported, "Image data is not acceptable: %v", err))
		}
		w.virtualSize = res.VirtualSize
	}
	if err := s.checkQuota(ctx, img.Owner, w.size); err != nil {
		return cleanup(err)
	}
	return w, nil
}

// putError classifies a failed Put: over the limit, a client gone mid-upload,
// or the backend's own failure.
func (s *Service) putError(id string, tee *Tee, err error) error {
	switch {
	case errors.Is(err, errTooLarge) && s.cfg.UserStorageQuota > 0 && (s.cfg.ImageSizeCap <= 0 || tee.limit < s.cfg.ImageSizeCap):
		return quotaError(tee.Size(), tee.limit)
	case errors.Is(err, errTooLarge):
		return errorf(ErrTooLarge, "The incoming image is too large: more than %d bytes.", tee.limit)
	case tee.ReadErr() != nil:
		if errors.Is(tee.ReadErr(), io.ErrUnexpectedEOF) {
			return errorf(ErrValidation, "Image data ended after %d bytes, before the declared size.", tee.Size())
		}
		return errorf(ErrValidation, "Reading the image data failed after %d bytes: %v", tee.Size(), tee.ReadErr())
	}
	return fmt.Errorf("store data of image %s: %w", id, err)
}

// readyForData checks that img may take data, moving to status to: it must be
// queued, and have its disk and container formats.
func readyForData(img Image, to Status) error {
	if img.Status != Queued {
		return errorf(ErrConflict, "Image status transition from %s to %s is not allowed", img.Status, to)
	}
	var missing []string
	if img.DiskFormat == "" {
		missing = append(missing, "disk_format")
	}
	if img.ContainerFormat == "" {
		missing = append(missing, "container_format")
	}
	switch len(missing) {
	case 1:
		return errorf(ErrValidation, "Property %s must be set prior to saving data.", missing[0])
	case 2:
		return errorf(ErrValidation, "Properties %s, %s must be set prior to saving data.", missing[0], missing[1])
	}
	return nil
}

// uploadLimit is the most bytes an upload of owner's may bring: the size cap,
// lowered to what the owner's storage quota leaves. A declared size already
// over it is refused before any byte is read.
func (s *Service) uploadLimit(ctx context.Context, owner string, declared int64) (int64, error) {
	limit := int64(-1)
	if s.cfg.ImageSizeCap > 0 {
		limit = s.cfg.ImageSizeCap
	}
	if declared > 0 && limit >= 0 && declared > limit {
		return 0, errorf(ErrTooLarge, "The incoming image is too large: %d bytes is more than the limit of %d bytes.", declared, limit)
	}
	if s.cfg.UserStorageQuota <= 0 {
		return limit, nil
	}
	_, used, err := s.store.Usage(ctx, owner)
	if err != nil {
		return 0, fmt.Errorf("storage usage of %s: %w", owner, err)
	}
	left := max(s.cfg.UserStorageQuota-used, 0)
	if declared > left {
		return 0, quotaError(declared, left)
	}
	if limit < 0 || left < limit {
		limit = left
	}
	return limit, nil
}

// checkQuota refuses size more bytes for owner when they pass the storage quota.
func (s *Service) checkQuota(ctx context.Context, owner string, size int64) error {
	if s.cfg.UserStorageQuota <= 0 {
		return nil
	}
	_, used, err := s.store.Usage(ctx, owner)
	if err != nil {
		return fmt.Errorf("storage usage of %s: %w", owner, err)
	}
	if left := max(s.cfg.UserStorageQuota-used, 0); size > left {
		return quotaError(size, left)
	}
	return nil
}

// quotaError is glance's StorageQuotaFull message.
func quotaError(size, left int64) error {
	return errorf(ErrTooLarge, "Image exceeds the storage quota: The size of the data %d will exceed the limit. %d bytes remaining.", size, left)
}

// casError turns a failed compare-and-set into from -> to into glance's answer.
func (s *Service) casError(err error, id string, to Status) error {
	switch {
	case errors.Is(err, ErrNotFound):
		return errorf(ErrNotFound, "No image found with ID %s", id)
	case errors.Is(err, ErrConflict):
		return errorf(ErrConflict, "Image status transition to %s is not allowed: the image changed status meanwhile.", to)
	}
	return fmt.Errorf("set image %s %s: %w", id, to, err)
}

// activate records w on image id and makes it active, if it is still in
// status from. An image deleted or changed meanwhile gets its new data
// removed and the upload fails with glance's 410.
func (s *Service) activate(ctx context.Context, id string, from Status, w written) error {
	ctx = context.WithoutCancel(ctx)
	gone := func() error {
		if err := s.stores[w.store].Delete(ctx, w.location); err != nil {
			s.log.Error("delete data of an image deleted during upload", "image_id", id, "error", err)
		}
		return errorf(ErrGone, "Image %s could not be found after upload. The image may have been deleted during the upload, cleaning up the chunks uploaded.", id)
	}
	img, err := s.store.GetImage(ctx, id)
	if errors.Is(err, ErrNotFound) || err == nil && img.Status != from {
		return gone()
	}
	if err != nil {
		_ = gone()
		return fmt.Errorf("read image %s after upload: %w", id, err)
	}
	size := w.size
	img.Size = &size
	if w.virtualSize > 0 {
		vs := w.virtualSize
		img.VirtualSize = &vs
	}
	img.Checksum, img.HashAlgo, img.HashValue = w.checksum, s.cfg.HashAlgo, w.hashValue
	img.Location, img.Stores, img.Copies = w.location, []string{w.store}, map[string]string{w.store: w.location}
	if _, importing := img.Properties[propImportingTo]; importing {
		doneImporting(&img, w.store, false)
	}
	img.Status = Active
	img.UpdatedAt = s.now().UTC()
	if err := s.store.UpdateImage(ctx, img, from); err != nil {
		if errors.Is(err, ErrNotFound) || errors.Is(err, ErrConflict) {
			return gone()
		}
		_ = gone()
		return fmt.Errorf("activate image %s: %w", id, err)
	}
	return nil
}

// restore puts image id back in queued after a failed upload in status from,
// as glance's _restore: size and virtual size cleared. It only logs failures.
func (s *Service) restore(ctx context.Context, id string, from Status) {
	s.revert(ctx, id, from, nil)
}

// revert is restore that also puts back orig's formats and properties, which
// an import may have changed on the way. An import that fails leaves
// os_glance_failed_import naming the stores it was importing to.
func (s *Service) revert(ctx context.Context, id string, from Status, orig *Image) {
	ctx = context.WithoutCancel(ctx)
	img, err := s.store.GetImage(ctx, id)
	if err != nil || img.Status != from {
		return
	}
	if orig != nil {
		img.DiskFormat, img.ContainerFormat = orig.DiskFormat, orig.ContainerFormat
		img.Properties = maps.Clone(orig.Properties)
	}
	if stores, ok := img.Properties[propImportingTo]; ok {
		for _, st := range splitStores(stores) {
			doneImporting(&img, st, true)
		}
	}
	delete(img.Properties, propImportTask)
	img.Status, img.Size, img.VirtualSize, img.Location, img.Stores, img.Copies = Queued, nil, nil, "", nil, nil
	img.UpdatedAt = s.now().UTC()
	if err := s.store.UpdateImage(ctx, img, from); err != nil && !errors.Is(err, ErrNotFound) {
		s.log.Error("restore image to queued", "image_id", id, "error", err)
	}
}

// DownloadData opens image id's data (GET /v2/images/{id}/file). An image
// without data is ErrNoData; a deactivated one is forbidden to non-admins.
// An active image's data comes from the local image cache when it holds it.
func (s *Service) DownloadData(ctx context.Context, id string) (Data, error) {
	img, member, err := s.visibleImage(ctx, id)
	if err != nil {
		return Data{}, err
	}
	c, err := caller(ctx)
	if err != nil {
		return Data{}, err
	}
	if img.Status == Deactivated && !isAdmin(c) {
		return Data{}, errorf(ErrForbidden, "The requested image has been deactivated. Image data download is forbidden.")
	}
	if err := s.authorizeImage(ctx, RuleDownloadImage, img, member); err != nil {
		return Data{}, err
	}
	if img.Status != Active && img.Status != Deactivated {
		return Data{}, errorf(ErrNoData, "Image %s has no data.", id)
	}
	if d, ok := s.cachedData(ctx, img); ok {
		return d, nil
	}
	if img.Location == "" {
		// An image made from locations: a read-only store may read one.
		body, size, err := s.locationData(ctx, img)
		if errors.Is(err, ErrNotFound) {
			return Data{}, errorf(ErrNoData, "Image %s has no data.", id)
		}
		if err != nil {
			return Data{}, fmt.Errorf("open the locations of image %s: %w", id, err)
		}
		return Data{Image: img, Body: body, Size: size}, nil
	}
	body, size, err := s.dataBackend(img).Open(ctx, img.Location)
	if errors.Is(err, ErrNotFound) {
		return Data{}, errorf(ErrNoData, "Image %s has no data.", id)
	}
	if err != nil {
		return Data{}, fmt.Errorf("open data of image %s: %w", id, err)
	}
	return Data{Image: img, Body: body, Size: size}, nil
}
