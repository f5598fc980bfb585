package image

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// AddTag tags an image (PUT /v2/images/{id}/tags/{tag}); a tag it has already
// is no change.
func (s *Service) AddTag(ctx context.Context, id, tag string) error {
	if err := ValidateTag(tag); err != nil {
		return err
	}
	return s.editTags(ctx, id, func(img *Image) error {
		if slices.Contains(img.Tags, tag) {
			return nil
		}
		if len(img.Tags) >= MaxTags {
			return errorf(ErrTooLarge, "Maximum number of tags (%d) reached.", MaxTags)
		}
		img.Tags = append(img.Tags, tag)
		return nil
	})
}

// DeleteTag removes a tag from an image (DELETE /v2/images/{id}/tags/{tag}).
func (s *Service) DeleteTag(ctx context.Context, id, tag string) error {
	return s.editTags(ctx, id, func(img *Image) error {
		i := slices.Index(img.Tags, tag)
		if i < 0 {
			return errorf(ErrNotFound, "Tag %s not found", tag)
		}
		img.Tags = slices.Delete(img.Tags, i, i+1)
		return nil
	})
}

// editTags applies edit to a visible image under modify_image and writes it
// with a compare-and-set on its status.
func (s *Service) editTags(ctx context.Context, id string, edit func(*Image) error) error {
	for attempt := 0; ; attempt++ {
		orig, member, err := s.visibleImage(ctx, id)
		if err != nil {
			return err
		}
		if err := s.authorizeImage(ctx, RuleModifyImage, orig, member); err != nil {
			return err
		}
		img := cloneImage(orig)
		if err := edit(&img); err != nil {
			return err
		}
		if slices.Equal(img.Tags, orig.Tags) {
			return nil
		}
		img.UpdatedAt = s.now().UTC().Truncate(1e9)
		err = s.store.UpdateImage(ctx, img, orig.Status)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, ErrNotFound):
			return errorf(ErrNotFound, "No image found with ID %s", id)
		case errors.Is(err, ErrConflict) && attempt < 3:
			continue
		}
		return fmt.Errorf("update tags of image %s: %w", id, err)
	}
}
