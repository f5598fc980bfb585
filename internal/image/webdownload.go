package image

import (
	"context"
	"fmt"
)

// importWeb is the web-download import method (glance's web-download task,
// done within the request): it fetches uri into the backend as img's data,
// hashing and inspecting it on the way: queued -> importing -> active. When
// it fails the image is queued again and no data stays. uri has already
// passed allowedURI.
func (s *Service) importWeb(ctx context.Context, img Image, uri string) error {
	if s.fetch == nil {
		return errorf(ErrNotFound, "'%s' method is not available at this site.", MethodWebDownload)
	}
	limit, err := s.uploadLimit(ctx, img.Owner, -1)
	if err != nil {
		return err
	}
	img.Status = Importing
	if err := s.store.UpdateImage(ctx, img, Queued); err != nil {
		return s.casError(err, img.ID, Importing)
	}
	body, err := s.fetch(ctx, uri)
	if err != nil {
		s.restore(ctx, img.ID, Importing)
		s.log.Info("web-download fetch failed", "image_id", img.ID, "error", err)
		return errorf(ErrValidation, "Failed to download the image data from %s: %v", uri, err)
	}
	defer body.Close()
	w, err := s.write(ctx, s.backend, img, body, -1, limit, true)
	if err != nil {
		s.restore(ctx, img.ID, Importing)
		return err
	}
	if err := s.activate(ctx, img.ID, Importing, w); err != nil {
		s.restore(ctx, img.ID, Importing)
		return fmt.Errorf("web-download of image %s: %w", img.ID, err)
	}
	return nil
}
