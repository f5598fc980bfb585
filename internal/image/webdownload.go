package image

import (
	"context"
	"fmt"
)

// importWeb fetches uri (already checked against the allowed hosts) into the
// backend as img's data; img is importing. The data is hashed and inspected on
// the way, and counted against the size cap and the owner's quota. On failure
// the image is queued again and nothing is stored.
func (s *Service) importWeb(ctx context.Context, img Image, b Backend, uri string) error {
	limit, err := s.uploadLimit(ctx, img.Owner, -1)
	if err != nil {
		s.restore(ctx, img.ID, Importing)
		return err
	}
	body, err := s.fetch(ctx, uri)
	if err != nil {
		s.restore(ctx, img.ID, Importing)
		return errorf(ErrValidation, "Failed to download the image data from %s: %v", uri, err)
	}
	defer body.Close()
	w, err := s.write(ctx, b, img, body, -1, limit, true)
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
